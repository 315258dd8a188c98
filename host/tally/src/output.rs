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

/// A plain-text table for a terminal: each column as wide as its widest cell, so long names
/// (servers, features, users) never push the columns after them out of line.
pub struct Table {
    columns: Vec<(&'static str, Align)>,
    lines: Vec<Line>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

enum Line {
    Cells(Vec<String>),
    /// Printed as is under the row before it (an import's error).
    Note(String),
}

impl Table {
    pub fn new(columns: &[(&'static str, Align)]) -> Table {
        Table {
            columns: columns.to_vec(),
            lines: Vec::new(),
        }
    }

    /// Adds a row: one cell per column.
    pub fn row(&mut self, cells: impl IntoIterator<Item = impl ToString>) {
        let cells: Vec<String> = cells.into_iter().map(|c| c.to_string()).collect();
        debug_assert_eq!(cells.len(), self.columns.len());
        self.lines.push(Line::Cells(cells));
    }

    pub fn note(&mut self, text: String) {
        self.lines.push(Line::Note(text));
    }

    /// The table with its header line; the last column is not padded.
    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self.columns.iter().map(|(h, _)| h.len()).collect();
        for line in &self.lines {
            if let Line::Cells(cells) = line {
                for (w, c) in widths.iter_mut().zip(cells) {
                    *w = (*w).max(c.chars().count());
                }
            }
        }
        let last = self.columns.len().saturating_sub(1);
        let render = |cells: &mut dyn Iterator<Item = &str>| {
            let mut out = String::new();
            for (i, (c, ((_, align), w))) in cells.zip(self.columns.iter().zip(&widths)).enumerate()
            {
                if i > 0 {
                    out.push_str("  ");
                }
                match (align, i == last) {
                    (Align::Right, _) => out += &format!("{c:>w$}"),
                    (Align::Left, false) => out += &format!("{c:<w$}"),
                    (Align::Left, true) => out += c,
                }
            }
            out.push('\n');
            out
        };
        let mut out = render(&mut self.columns.iter().map(|(h, _)| *h));
        for line in &self.lines {
            match line {
                Line::Cells(cells) => out += &render(&mut cells.iter().map(String::as_str)),
                Line::Note(text) => {
                    out += text;
                    out.push('\n');
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_cell_widens_its_column_for_every_row() {
        let mut t = Table::new(&[
            ("RUN", Align::Right),
            ("SERVER", Align::Left),
            ("PATH", Align::Left),
        ]);
        t.row(["1", "a-very-long-license-server-name", "/a"]);
        t.row(["12", "b", "/b"]);
        t.note("  error: gone".into());
        assert_eq!(
            t.render(),
            "RUN  SERVER                           PATH\n  \
               1  a-very-long-license-server-name  /a\n \
              12  b                                /b\n  \
             error: gone\n"
        );
    }
}
