use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use tally_agent::settings::Settings;

/// Tally's end-user agent.
///
/// Reports the licensed applications running on this machine (PID, user, start time, CPU
/// time and use, input-idle time where the OS tells it) to the Tally server every report
/// interval (30 s unless configured), and carries out the server's harvest orders (close,
/// kill after a grace time, or suspend until the user is back).
///
/// What to watch comes from the server, pulled every minute and kept in the state directory
/// for when the server is unreachable; reports wait in an on-disk queue meanwhile, and are
/// sent in order when it returns.
///
/// The settings file (TOML; unknown keys are refused):
///
///   server = "http://tally.example.com:8080"   # plain HTTP; TLS in a reverse proxy
///   token_file = "/etc/tally-agent/token"      # an agent-scoped token, never logged
///   state_dir = "/var/lib/tally-agent"         # identity, kept configuration, queue
///   # host = "ws-042"                          # default: this machine's host name
///   # report_interval_secs = 30                # default: the server's configuration
///   # config_interval_secs = 60                # 1..=60
///   # queue_max_reports = 20160                # a week of 30 s reports; oldest dropped past it
///   # queue_max_bytes = 67108864
///   # request_timeout_secs = 10
///   # harvest_close_wait_secs = 10             # how long Graceful waits to see it close
///
/// Logging: TALLY_LOG=info (tracing filter syntax), on standard error.
#[derive(Debug, Parser)]
#[command(name = "tally-agent", version, verbatim_doc_comment)]
struct Cli {
    /// The settings file.
    #[arg(
        long,
        short,
        env = "TALLY_AGENT_CONFIG",
        default_value = "/etc/tally-agent/agent.toml"
    )]
    config: PathBuf,
    /// Check the settings file and the token file, print the settings, and exit.
    #[arg(long)]
    check: bool,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TALLY_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let settings = Settings::load(&cli.config)?;
    let token = settings.token()?;
    if cli.check {
        println!(
            "{settings:#?}\ntoken: read from {} (not shown)",
            settings.token_file.display()
        );
        return Ok(());
    }
    // One thread: the agent idles between reports and must stay light on the user's machine.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let counters = runtime.block_on(tally_agent::service::run(settings, token, shutdown()))?;
    eprintln!(
        "tally-agent stopped: {} reports queued, {} sent, {} duplicates, {} dropped, {} refused, {} waiting",
        counters.queued,
        counters.sent,
        counters.duplicates,
        counters.dropped,
        counters.rejected,
        counters.queued.saturating_sub(
            counters.sent + counters.duplicates + counters.dropped + counters.rejected
        )
    );
    Ok(())
}

/// Completes on Ctrl-C, or SIGTERM from the service manager.
async fn shutdown() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(e) => {
                    tracing::warn!("cannot listen for SIGTERM: {e}");
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
