//! `tally status [SERVER]`: who holds licences now, as the latest polls saw it
//! (`tally_app::usage::current`, the API's current usage).

use std::process::ExitCode;

use chrono::DateTime;
use clap::Args;
use tally_app::usage::{self, Usage};

use crate::cli::Global;
use crate::output::Align::{Left, Right};
use crate::output::Table;

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Only this license server (default: every polled one).
    #[arg(value_name = "SERVER")]
    pub server: Option<String>,
    /// Only this feature.
    #[arg(long, value_name = "NAME")]
    pub feature: Option<String>,
    /// Print what the API's current usage answers, as one JSON object.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(global: &Global, args: StatusArgs) -> anyhow::Result<ExitCode> {
    let store = global.store_to_read().await?;
    let usage = usage::current(&store, args.server.as_deref(), args.feature.as_deref()).await;
    store.close().await;
    let usage = usage?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&usage)?);
    } else {
        print!("{}", table(&usage));
    }
    Ok(ExitCode::SUCCESS)
}

fn utc(t: i64) -> String {
    DateTime::from_timestamp(t, 0).map_or_else(
        || t.to_string(),
        |d| d.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

fn table(usage: &Usage) -> String {
    let Some(as_of) = usage.as_of else {
        return "nothing polled yet: `tally serve` polls the servers `tally server add` names; \
                imported logs show in `tally report`\n"
            .into();
    };
    let count = |n: Option<u32>| n.map_or_else(|| "unknown".into(), |n| n.to_string());
    let mut out = format!("as of the latest poll, {}\n\n", utc(as_of));
    let mut features = Table::new(&[
        ("SERVER", Left),
        ("FEATURE", Left),
        ("IN USE", Right),
        ("ISSUED", Right),
        ("RESERVED", Right),
        ("BORROWED", Right),
        ("QUEUED", Right),
        ("AVAILABLE", Right),
    ]);
    for f in &usage.features {
        features.row([
            f.server.clone(),
            f.feature.clone(),
            f.in_use.to_string(),
            count(f.issued),
            f.reserved.to_string(),
            f.borrowed.to_string(),
            f.queued.to_string(),
            count(f.available),
        ]);
    }
    out += &features.render();
    if usage.sessions.is_empty() {
        out += "\nnobody holds a licence\n";
        return out;
    }
    let mut sessions = Table::new(&[
        ("SERVER", Left),
        ("FEATURE", Left),
        ("USER", Left),
        ("HOST", Left),
        ("COUNT", Right),
        ("SINCE", Left),
        ("FOR", Right),
    ]);
    for s in &usage.sessions {
        sessions.row([
            s.server.clone(),
            s.feature.clone(),
            s.user.clone(),
            s.host.clone(),
            s.count.to_string(),
            utc(s.since),
            tally_core::clock::human(as_of.saturating_sub(s.since).max(0)),
        ]);
    }
    out.push('\n');
    out += &sessions.render();
    out
}
