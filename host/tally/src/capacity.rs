//! `tally capacity`: licences issued per feature, entered by hand for servers whose logs and
//! polls do not say (`tally_app::capacity`, the API's `…/capacity`).

use std::process::ExitCode;

use clap::Subcommand;
use tally_app::access::Actor;
use tally_app::capacity::{self, CapacityEntry};
use tally_core::time::rfc3339;
use tally_store::CapacityRow;

use crate::cli::Global;
use crate::output::Align::{Left, Right};
use crate::output::Table;

#[derive(Debug, Subcommand)]
pub enum CapacityCommand {
    /// Every capacity statement of a server: entered by hand, from its logs, from license
    /// files; where several cover an instant the server's own records win, then license files.
    List {
        #[arg(value_name = "SERVER")]
        server: String,
        /// One JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Enter the licences issued of a feature, from a date to a date (either open): the
    /// reports' utilisation of servers whose logs do not state it. Prints the statement's id.
    Set {
        #[arg(value_name = "SERVER")]
        server: String,
        #[arg(value_name = "FEATURE")]
        feature: String,
        /// Licences issued; `uncounted` for a feature without a count.
        #[arg(value_name = "ISSUED", value_parser = issued)]
        issued: Issued,
        /// The feature's vendor (needed only when the server has no such feature yet, or
        /// several vendors have one).
        #[arg(long, value_name = "NAME")]
        vendor: Option<String>,
        /// From this date (2025-01-01) or time (RFC 3339). Default: since ever.
        #[arg(long, value_name = "TIME")]
        from: Option<String>,
        /// Up to the end of this date, or up to this time (excluded). Default: open-ended.
        #[arg(long, value_name = "TIME")]
        until: Option<String>,
    },
    /// Remove a statement entered by hand, by the id `tally capacity list` shows.
    Remove {
        #[arg(value_name = "SERVER")]
        server: String,
        #[arg(value_name = "ID")]
        id: i64,
    },
}

/// A count, or none.
#[derive(Debug, Clone, Copy)]
pub struct Issued(Option<u32>);

fn issued(text: &str) -> Result<Issued, String> {
    match text {
        "uncounted" => Ok(Issued(None)),
        n => n
            .parse()
            .map(|n| Issued(Some(n)))
            .map_err(|_| format!("`{n}` is neither a number of licences nor `uncounted`")),
    }
}

pub async fn run(global: &Global, command: CapacityCommand) -> anyhow::Result<ExitCode> {
    let app = global.app().await?;
    let by = Actor::operator();
    match command {
        CapacityCommand::List { server, json } => {
            let rows = capacity::list(&app, &server).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                print!("{}", table(&rows));
            }
        }
        CapacityCommand::Set {
            server,
            feature,
            issued,
            vendor,
            from,
            until,
        } => {
            let entry = CapacityEntry {
                feature,
                vendor,
                issued: issued.0,
                from,
                until,
            };
            let row = capacity::enter(&app, &by, &server, entry).await?;
            println!(
                "capacity {} of `{}`: {} licences of {} {}",
                row.id,
                server,
                count(row.range.issued),
                row.vendor,
                row.name
            );
        }
        CapacityCommand::Remove { server, id } => {
            capacity::remove(&app, &by, &server, id).await?;
            println!("removed capacity {id} of `{server}`");
        }
    }
    app.store.close().await;
    Ok(ExitCode::SUCCESS)
}

fn count(n: Option<u32>) -> String {
    n.map_or_else(|| "uncounted".into(), |n| n.to_string())
}

fn table(rows: &[CapacityRow]) -> String {
    let time = |t: Option<i64>, open: &str| t.map_or_else(|| open.to_string(), rfc3339);
    let mut table = Table::new(&[
        ("ID", Right),
        ("VENDOR", Left),
        ("FEATURE", Left),
        ("ISSUED", Right),
        ("SOURCE", Left),
        ("FROM", Left),
        ("UNTIL", Left),
        ("POOL", Left),
    ]);
    for r in rows {
        table.row([
            r.id.to_string(),
            r.vendor.clone(),
            r.name.clone(),
            count(r.range.issued),
            r.range.source.as_str().to_string(),
            time(r.range.from, "since ever"),
            time(r.range.until, "open-ended"),
            r.range.pool.clone(),
        ]);
    }
    table.render()
}
