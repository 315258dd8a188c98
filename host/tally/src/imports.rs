//! `tally imports`: the import runs so far, newest first — what was read, as what, into which
//! server, and how it ended (`tally diagnostics RUN` shows the lines it could not read).

use std::process::ExitCode;

use clap::Args;
use tally_core::time::rfc3339;

use crate::cli::Global;
use crate::output::Align::{Left, Right};
use crate::output::Table;

#[derive(Debug, Args)]
pub struct ImportsArgs {
    /// Only the imports into this license server.
    #[arg(long, value_name = "NAME")]
    pub server: Option<String>,
    /// How many, newest first.
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub limit: u32,
    /// One JSON array.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(global: &Global, args: ImportsArgs) -> anyhow::Result<ExitCode> {
    let store = global.store_to_read().await?;
    let servers = store.servers().await?;
    let only = match &args.server {
        Some(name) => match servers.iter().find(|s| &s.config.name == name) {
            Some(s) => Some(s.id),
            None => anyhow::bail!("no license server is called `{name}`"),
        },
        None => None,
    };
    let runs = store.recent_import_runs(only, args.limit).await?;
    store.close().await;
    let name = |id: i64| {
        servers
            .iter()
            .find(|s| s.id == id)
            .map_or("?", |s| s.config.name.as_str())
    };
    if args.json {
        let rows: Vec<serde_json::Value> = runs
            .iter()
            .map(|r| {
                let mut row = serde_json::to_value(r).unwrap_or_default();
                row["server"] = name(r.server_id).into();
                row["lines"] = r.checkpoint.lines.into();
                row
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
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
            name(r.server_id).to_string(),
            r.format.clone(),
            r.status.as_str().to_string(),
            r.checkpoint.lines.to_string(),
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
