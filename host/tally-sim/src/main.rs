//! tally-sim: stands in for license-manager status tools (work in progress).

fn main() {
    eprintln!("tally-sim: not built yet");
    std::process::exit(2);
}
