//! Prints what the poller reads from an lmstat output: `cargo run --example lmstat_dump -- FILE [NOW]`
//! (NOW in Unix seconds, default the current time).
use std::time::{SystemTime, UNIX_EPOCH};

use flexlm_lmstat::FlexlmLmstat;
use tally_plugin_sdk::Poller;
use tally_plugin_sdk::civil::format_utc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: lmstat_dump FILE [NOW]")?;
    let now = match args.next() {
        Some(n) => n.parse()?,
        None => SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() as i64,
    };
    let snap = FlexlmLmstat::parse_status(&std::fs::read(&path)?, now)?;
    let t = |t: Option<i64>| t.map_or("-".into(), format_utc);
    for s in &snap.servers {
        println!(
            "server {}:{:?} {:?} v{:?} {:?}",
            s.host, s.port, s.status, s.version, s.message
        );
        for d in &s.vendor_daemons {
            println!(
                "  daemon {} {:?} v{:?} {:?}",
                d.name, d.status, d.version, d.message
            );
        }
    }
    for f in &snap.features {
        println!(
            "feature {} [{}] v{:?} pool {:?} {:?}/{} exp {} {:?}",
            f.name,
            f.vendor,
            f.version,
            f.pool,
            f.issued,
            f.in_use,
            t(f.expiry),
            f.kind
        );
    }
    for c in &snap.checkouts {
        println!(
            "checkout {} [{}] {:?}@{:?} {:?} x{} {} #{:?} linger {:?}{}",
            c.feature,
            c.vendor,
            c.user,
            c.host,
            c.display,
            c.count,
            t(c.start),
            c.handle,
            c.linger,
            if c.borrowed { " borrowed" } else { "" }
        );
    }
    for r in &snap.reservations {
        println!(
            "reservation {} [{}] {} {:?} {}",
            r.feature, r.vendor, r.count, r.target_kind, r.target
        );
    }
    for q in &snap.queued {
        println!(
            "queued {} [{}] {}@{} x{}",
            q.feature, q.vendor, q.user, q.host, q.count
        );
    }
    for d in &snap.diagnostics {
        println!("diag {} {:?} {}", d.line, d.kind, d.text);
    }
    Ok(())
}
