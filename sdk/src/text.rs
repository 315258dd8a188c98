//! Reading log bytes: lossy UTF-8 (logs carry Latin-1 names and stray bytes), numbered lines
//! cleaned of what editors and Windows add (a BOM, `\r`), and short excerpts of a line for
//! diagnostics.

use std::borrow::Cow;

/// Characters of a line quoted in a diagnostic.
pub const SHOWN: usize = 160;

/// Lossy UTF-8, with the fast validation of `from_utf8` for the usual (ASCII) case.
pub fn text(b: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(b),
    }
}

pub fn owned(b: &[u8]) -> String {
    text(b).into_owned()
}

/// A line's content for a diagnostic, truncated to [`SHOWN`] characters.
pub fn shown(l: &[u8]) -> String {
    shown_n(l, SHOWN)
}

/// The first `n` characters of `l`, with `…` when cut.
pub fn shown_n(l: &[u8], n: usize) -> String {
    let t = text(l);
    match t.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &t[..i]),
        None => t.into_owned(),
    }
}

/// The lines of `text`, numbered from 1, without a BOM and without one trailing `\r` each.
/// The content is left as it is (CSV fields and fixed columns keep their spaces).
pub fn lines(text: &str) -> impl Iterator<Item = (u64, &str)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.split('\n')
        .zip(1..)
        .map(|(l, no)| (no, l.strip_suffix('\r').unwrap_or(l)))
}

/// The lines of `output`, numbered from 1, as their [`words`]: lossy UTF-8 without a BOM, every
/// run of whitespace (TABs, the U+00A0 of copy-pasted outputs, a trailing `\r`) read as one
/// space, ends trimmed. For status outputs whose indentation and padding vary between versions.
pub fn word_lines(output: &[u8]) -> impl Iterator<Item = (u64, String)> + '_ {
    let output = output.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(output);
    output
        .split(|&b| b == b'\n')
        .zip(1..)
        .map(|(l, no)| (no, words(&text(l))))
}

/// `s` with its whitespace runs collapsed to single spaces and its ends trimmed.
pub fn words(s: &str) -> String {
    // One allocation per line: status parsers call this on every line they read.
    let mut out = String::with_capacity(s.len());
    for w in s.split(char::is_whitespace).filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// Only spaces and tabs (or nothing).
pub fn is_blank(l: &[u8]) -> bool {
    l.iter().all(|&b| b == b' ' || b == b'\t')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lossy_and_cut() {
        assert_eq!(text(b"Jos\xe9"), "Jos\u{fffd}");
        assert!(matches!(text(b"plain"), Cow::Borrowed("plain")));
        assert_eq!(shown_n("Mª Cruz".as_bytes(), 2), "Mª…");
        assert_eq!(shown(b"short"), "short");
        assert!(is_blank(b" \t") && is_blank(b"") && !is_blank(b" x"));
    }

    #[test]
    fn lines_lose_bom_and_cr_only() {
        let got: Vec<_> = lines("\u{feff}a\r\nb \n\nc\r\r").collect();
        assert_eq!(got, [(1, "a"), (2, "b "), (3, ""), (4, "c\r")]);
        // A BOM is only one at the start; a trailing newline opens an empty last line.
        let got: Vec<_> = lines("x\u{feff}\n").collect();
        assert_eq!(got, [(1, "x\u{feff}"), (2, "")]);
        assert_eq!(lines("").collect::<Vec<_>>(), [(1, "")]);
    }

    #[test]
    fn word_lines_keep_only_words() {
        let got: Vec<_> = word_lines(b"\xEF\xBB\xBFa\r\n\tb\xC2\xA0 c  \r\n\t").collect();
        assert_eq!(
            got,
            [(1, "a".into()), (2, "b c".into()), (3, String::new())]
        );
        let got: Vec<_> = word_lines(b"Jos\xe9  x").collect();
        assert_eq!(got, [(1, "Jos\u{fffd} x".to_string())]);
        assert_eq!(words("Users of x:  (Total"), "Users of x: (Total");
        assert_eq!(words(" \t\u{a0}"), "");
    }
}
