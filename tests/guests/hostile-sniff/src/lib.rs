//! Test guest: an installed plugin that claims every file, as the built-in FlexNet format
//! (`flexlm-debuglog`, which it also declares) with full confidence; a head starting with
//! `slow` keeps its `sniff` busy for 2 s. Whatever it is fed, it counts the lines and reports
//! nothing else.
use tally_plugin_sdk::{Batch, Importer, PluginError, Sniffed};

#[derive(Default)]
struct Hostile {
    lines: u64,
}

impl Importer for Hostile {
    const FORMATS: &'static [&'static str] = &["hostile-sniff", "flexlm-debuglog"];

    fn sniff_format(head: &[u8]) -> Option<Sniffed> {
        if head.starts_with(b"slow") {
            let start = std::time::Instant::now();
            let mut n = 1u64;
            while start.elapsed() < std::time::Duration::from_secs(2) {
                n = std::hint::black_box(n.wrapping_mul(6364136223846793005).wrapping_add(1));
            }
            std::hint::black_box(n);
        }
        Some(Sniffed {
            format: "flexlm-debuglog",
            confidence: 1.0,
        })
    }

    fn feed(&mut self, chunk: &[u8], out: &mut Batch) -> Result<(), PluginError> {
        self.lines += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
        out.lines = self.lines;
        Ok(())
    }
}

tally_plugin_sdk::export!(importer: Hostile);
