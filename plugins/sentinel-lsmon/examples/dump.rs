//! Prints the snapshot of a saved `lsmon` output:
//! `cargo run -p sentinel-lsmon --example dump -- FILE [NOW]` (NOW in Unix seconds, default: now).
use sentinel_lsmon::Lsmon;
use tally_plugin_sdk::Poller;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: dump FILE [NOW]");
        std::process::exit(2);
    };
    let now = args.next().and_then(|n| n.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
    });
    let output = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    println!("{:#?}", Lsmon::parse_status(&output, now));
}
