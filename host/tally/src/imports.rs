//! `tally imports`: the import runs so far, newest first — what was read, as what, into which
//! server, and how it ended (`tally diagnostics RUN` shows the lines it could not read).

use std::process::ExitCode;

use clap::Args;
use tally_app::runs;
use tally_core::time::rfc3339;

use crate::cli::Global;
use crate::output::Align::{Left, Right};
use crate::output::Table;

#[derive(Debug, Args)]
pub struct ImportsArgs {
    /// Only the imports into this license server.
    #[arg(long, value_name = "NAME")]
    pub server: Option<String>,
    /// How many, newest first (at most 1000).
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub limit: u32,
    /// One JSON array.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(global: &Global, args: ImportsArgs) -> anyhow::Result<ExitCode> {
    let store = global.store_to_read().await?;
    let runs = runs::list(&store, args.server.as_deref(), args.limit).await;
    store.close().await;
    let runs = runs?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&runs)?);
        return Ok(ExitCode::SUCCESS);
    }
    if runs.is_empty() {
        println!("no import yet: `tally import FILE…` imports logs");
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = Table::new(&[
        ("RUN", Right),
        ("SERVER", Left),
        ("FORMAT", Left),
        ("STATUS", Left),
        ("LINES", Right),
        ("SESSIONS", Right),
        ("DENIALS", Right),
        ("MALFORMED", Right),
        ("STARTED", Left),
        ("PATH", Left),
    ]);
    for r in &runs {
        table.row([
            r.id.to_string(),
            r.server.clone(),
            r.format.clone(),
            r.status.as_str().to_string(),
            r.lines.to_string(),
            r.counts.sessions.to_string(),
            r.counts.denials.to_string(),
            r.counts.malformed.to_string(),
            rfc3339(r.started),
            r.path.clone(),
        ]);
        if let Some(error) = &r.error {
            table.note(format!("       error: {error}"));
        }
    }
    print!("{}", table.render());
    Ok(ExitCode::SUCCESS)
}
