//! Reading log bytes: lossy UTF-8 (logs carry Latin-1 names and stray bytes) and short excerpts
//! of a line for diagnostics.

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
}
