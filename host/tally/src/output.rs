//! Printing for people: a progress bar on a terminal and the closing summary.

use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};

use tally_app::import::{FileSummary, Progress};

/// A byte-based progress bar, drawn only when stderr is a terminal; with `print_files`, each
/// file's outcome is printed as it ends.
pub struct Bar {
    bar: ProgressBar,
    print_files: bool,
}

impl Bar {
    pub fn new(print_files: bool) -> Bar {
        let bar = ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        Bar { bar, print_files }
    }
}

impl Progress for Bar {
    fn start(&self, path: &Path, total: u64) {
        self.bar.reset();
        self.bar.set_length(total);
        self.bar.set_message(
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
    }
    fn advance(&self, bytes: u64) {
        self.bar.inc(bytes);
    }
    fn done(&self) {
        self.bar.finish_and_clear();
    }
    fn file_ended(&self, path: &Path, result: Result<&FileSummary, &anyhow::Error>) {
        match result {
            Ok(file) if self.print_files => print_file(file),
            // Named like the files imported: a refusal of the licence does not name its file.
            Err(error) if self.print_files => eprintln!("{}: error: {error:#}", path.display()),
            _ => {}
        }
    }
}

pub fn print_file(s: &FileSummary) {
    let a = &s.added;
    println!(
        "{}: {} ({} via {}, server `{}`, UTC{:+}h): {} lines, {} sessions, {} denials, {} server events, {} queued, {} malformed",
        s.path,
        s.outcome,
        s.format,
        s.plugin,
        s.server,
        f64::from(s.utc_offset) / 3600.0,
        s.lines,
        a.sessions,
        a.denials,
        a.server_events,
        a.queued,
        a.malformed
    );
    if !s.malformed_lines.is_empty() {
        let lines: Vec<String> = s.malformed_lines.iter().map(u64::to_string).collect();
        let more = if a.malformed > s.malformed_lines.len() as u64 {
            ", …"
        } else {
            ""
        };
        // Line numbers, not a count: "at line 91" cannot be read as "91 malformed lines".
        let noun = if lines.len() == 1 { "line" } else { "lines" };
        println!(
            "  malformed at {noun} {}{more} (all of them: `tally diagnostics {}`)",
            lines.join(", "),
            s.run
        );
    }
}
