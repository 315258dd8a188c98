//! `tally`: license-usage statistics. The commands live in their modules; this file only parses
//! the command line and dispatches.
#![forbid(unsafe_code)]

mod accounts;
mod agents;
mod backup;
mod capacity;
mod cli;
mod config;
mod demo;
// `tally gen` (`gen` is a reserved word since edition 2024).
#[path = "gen.rs"]
mod generator;
mod imports;
mod licence;
mod output;
mod plugins;
mod remote;
mod report;
mod scaffold;
mod servers;
mod status;

use clap::Parser;

fn main() -> std::process::ExitCode {
    tally_app::memory::return_freed_memory();
    quiet_on_closed_stdout();
    let args = cli::Cli::parse();
    let config = match cli::load_config(&args.global) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("error: {error:#}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("TALLY_LOG").unwrap_or_else(|_| "warn".into());
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    match config.file.log.format.unwrap_or_default() {
        config::LogFormat::Json => logs.json().init(),
        config::LogFormat::Text => logs.init(),
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(args)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `tally report … | head` closes stdout early: that is the reader's choice, not a crash, so
/// the panic `println!` raises on a broken pipe ends the process quietly, as `cat` would.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}
