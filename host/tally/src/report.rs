//! `tally report NAME`: the reports of `tally_app::reports`, printed as a table, CSV or JSON
//! (the JSON is what `GET /api/v1/reports/NAME` answers).

use std::process::ExitCode;

use clap::builder::PossibleValue;
use clap::{Args, ValueEnum};
use tally_app::reports::{self, Cell, ReportName, ReportQuery, ReportRequest, ReportRows};

use crate::cli::Global;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The report.
    #[arg(value_name = "NAME", value_enum)]
    pub name: Name,
    /// Only this license server (default: all, each over its own logged hours).
    #[arg(long, value_name = "NAME")]
    pub server: Option<String>,
    /// Only this feature.
    #[arg(long, value_name = "NAME")]
    pub feature: Option<String>,
    /// From this date (2024-03-01, UTC) or time (RFC 3339, 2024-03-01T08:00:00Z).
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// Up to this time (excluded), or to the end of this date (included).
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
    /// `usage`: hour, day, week (ISO), sunday-week, month, quarter or year (default day). `sflm`: day,
    /// week (Sunday to Saturday), month or year (default day).
    #[arg(long, value_name = "PERIOD")]
    pub period: Option<String>,
    /// `users`, `hosts`: group by user, host or user-host.
    #[arg(long, value_name = "GROUPING")]
    pub by: Option<String>,
    /// `underused`: peak below this % of the issued licenses (default 50).
    #[arg(long, value_name = "PCT")]
    pub below: Option<f64>,
    /// `sflm`: also a line per user and product.
    #[arg(long)]
    pub per_user: bool,
    /// `sflm`: the period's seven figures only, without the per-hour and per-weekday columns.
    #[arg(long)]
    pub compact: bool,
    /// `user-count`: a user is a user-host pair or a username (default username).
    #[arg(long, value_name = "HOW")]
    pub counting: Option<String>,
    /// `user-count`: the last N days (e.g. 14d) up to --to or now, or all (default all).
    #[arg(long, value_name = "WINDOW")]
    pub window: Option<String>,
    /// `user-count`: also count users seen only in denials.
    #[arg(long)]
    pub denied: bool,
    /// Sort the rows by this column (numbers largest first), e.g. `used_hours`.
    #[arg(long, value_name = "COLUMN")]
    pub sort: Option<String>,
    /// Only the first N rows (after --sort).
    #[arg(long, value_name = "N")]
    pub top: Option<u32>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// A report name, with its one-line description in `--help`.
#[derive(Debug, Clone, Copy)]
pub struct Name(ReportName);

const NAMES: [Name; 10] = {
    let all = ReportName::ALL;
    [
        Name(all[0]),
        Name(all[1]),
        Name(all[2]),
        Name(all[3]),
        Name(all[4]),
        Name(all[5]),
        Name(all[6]),
        Name(all[7]),
        Name(all[8]),
        Name(all[9]),
    ]
};

impl ValueEnum for Name {
    fn value_variants<'a>() -> &'a [Self] {
        &NAMES
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.0.as_str()).help(self.0.about()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns, figures rounded for reading.
    Table,
    /// Comma-separated, exact figures, a header line.
    Csv,
    /// An array of objects, as the REST API answers.
    Json,
}

pub async fn run(global: &Global, args: ReportArgs) -> anyhow::Result<ExitCode> {
    let query = ReportQuery {
        server: args.server,
        feature: args.feature,
        from: args.from,
        to: args.to,
        period: args.period,
        by: args.by,
        below: args.below,
        per_user: Some(args.per_user),
        compact: Some(args.compact),
        counting: args.counting,
        window: args.window,
        denied: Some(args.denied),
        sort: args.sort,
        top: args.top,
    };
    let request = ReportRequest::parse(args.name.0.as_str(), &query)?;
    let store = global.store_to_read().await?;
    let rows = reports::run(&store, &request).await;
    store.close().await;
    let rows = rows?;
    let text = match args.format {
        Format::Json => serde_json::to_string(&rows)? + "\n",
        Format::Csv => csv(&rows),
        Format::Table => table(&rows),
    };
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

fn csv(rows: &ReportRows) -> String {
    let mut out = tally_core::csv::record(&rows.columns) + "\n";
    for r in &rows.rows {
        out.push_str(&tally_core::csv::record(r.iter().map(Cell::to_string)));
        out.push('\n');
    }
    out
}

fn table(rows: &ReportRows) -> String {
    if rows.rows.is_empty() {
        return "(no rows: nothing in the stored history matches this report, its filters and window)\n".into();
    }
    let shown = |c: &Cell| match c {
        // Two decimals are enough to read; --format csv or json has the exact figures.
        Cell::Num(x) => format!("{x:.2}"),
        c => c.to_string(),
    };
    let mut cells: Vec<Vec<String>> = rows
        .rows
        .iter()
        .map(|r| r.iter().map(shown).collect())
        .collect();
    // The columns that add up, summed on a last line (--format csv and json have rows only).
    if let Some(totals) = rows.totals() {
        let total = |(i, sum): (usize, &Option<f64>)| match sum {
            Some(x) if x.fract() == 0.0 => format!("{x:.0}"),
            Some(x) => format!("{x:.2}"),
            None if i == 0 => "total".into(),
            None => String::new(),
        };
        cells.push(totals.iter().enumerate().map(total).collect());
    }
    let widths: Vec<usize> = rows
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            cells
                .iter()
                .map(|r| r[i].chars().count())
                .chain([c.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let numeric: Vec<bool> = (0..rows.columns.len())
        .map(|i| {
            rows.rows
                .iter()
                .all(|r| matches!(r[i], Cell::Int(_) | Cell::Num(_) | Cell::Empty))
        })
        .collect();
    let mut out = String::new();
    let mut line = |cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if numeric[i] {
                    format!("{c:>w$}", w = widths[i])
                } else {
                    format!("{c:<w$}", w = widths[i])
                }
            })
            .collect();
        out.push_str(padded.join("  ").trim_end());
        out.push('\n');
    };
    line(&rows.columns);
    for r in &cells {
        line(r);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ReportRows {
        ReportRows {
            columns: vec!["feature".into(), "used_hours".into()],
            rows: vec![
                vec!["solver, pro".into(), Cell::Num(2.0 / 3.0)],
                vec!["mesher".into(), Cell::Int(12)],
            ],
        }
    }

    #[test]
    fn csv_quotes_and_keeps_exact_figures() {
        assert_eq!(
            csv(&sample()),
            "feature,used_hours\n\"solver, pro\",0.6666666666666666\nmesher,12\n"
        );
    }

    #[test]
    fn tables_align_and_round() {
        assert_eq!(
            table(&sample()),
            "feature      used_hours\nsolver, pro        0.67\nmesher               12\ntotal             12.67\n"
        );
    }
}
