//! Parses a debug log the way the host does (whole-line chunks of ~64 KiB) and prints a summary,
//! or every record with `-v`. `cargo run --release -p flexlm-log --example flexlm_dump -- [-v] FILE…`
use flexlm_log::FlexlmLog;
use tally_plugin_sdk::civil::format_utc;
use tally_plugin_sdk::{Batch, DiagnosticKind, ImportConfig, Importer};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let verbose = args.iter().any(|a| a == "-v");
    for path in args.iter().filter(|a| *a != "-v") {
        let data = std::fs::read(path)?;
        let mut p = FlexlmLog::default();
        p.begin(&ImportConfig {
            utc_offset: 0,
            modified: None,
            resume: None,
            local_times: false,
        })?;
        let mut out = Batch::default();
        let mut rest = &data[..];
        while !rest.is_empty() {
            let cut = if rest.len() <= 65_536 {
                rest.len()
            } else {
                rest[..65_536]
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(rest.len(), |i| i + 1)
            };
            let mut b = Batch::default();
            p.feed(&rest[..cut], &mut b)?;
            out.append(b);
            rest = &rest[cut..];
        }
        let mut b = Batch::default();
        p.finish(&mut b)?;
        out.append(b);
        let n = |k| out.diagnostics.iter().filter(|d| d.kind == k).count();
        println!(
            "{path}: lines={} sessions={} denials={} queued={} events={} malformed={} unrecognised={} assumption={}",
            out.lines,
            out.sessions.len(),
            out.denials.len(),
            out.queued.len(),
            out.server_events.len(),
            n(DiagnosticKind::Malformed),
            n(DiagnosticKind::Unrecognised),
            n(DiagnosticKind::Assumption)
        );
        if verbose {
            for s in &out.sessions {
                println!(
                    "S {} {} {}@{} x{} {} → {} {:?} {:?}",
                    s.vendor,
                    s.feature,
                    s.user,
                    s.host,
                    s.count,
                    format_utc(s.start),
                    format_utc(s.end),
                    s.end_reason,
                    s.project
                );
            }
            for d in &out.denials {
                println!(
                    "D {} {:?} {} {}@{} x{} {:?} {:?} {:?}",
                    format_utc(d.time),
                    d.kind,
                    d.feature,
                    d.user,
                    d.host,
                    d.count,
                    d.reason,
                    d.code,
                    d.requested_version
                );
            }
            for e in &out.server_events {
                println!(
                    "E {} {:?} ({}) {}",
                    format_utc(e.time),
                    e.kind,
                    e.daemon,
                    e.text
                );
            }
            for d in &out.diagnostics {
                println!("G {} {:?} {}", d.line, d.kind, d.text);
            }
        }
    }
    Ok(())
}
