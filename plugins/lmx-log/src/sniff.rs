//! Format detection on the first ≤ 4 KiB of a file.

use crate::line::prefix;

/// Confidence that `head` is an LM-X server log: the share of non-blank lines with a
/// `[YYYY-MM-DD HH:MM:SS]` prefix (up to 0.75), plus 0.25 when one of them names LM-X (the
/// banner, X-Formation, the vendor and feature lines of the start-up report).
pub fn sniff(head: &[u8]) -> f32 {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    // The head is cut at 4 KiB: its last line is whole only when a newline ends it.
    let head = match memchr::memrchr(b'\n', head) {
        Some(nl) if nl + 1 < head.len() => &head[..nl],
        _ => head,
    };
    let (mut lines, mut timed, mut strong) = (0u32, 0u32, false);
    for l in head.split(|&b| b == b'\n') {
        let l = l.strip_suffix(b"\r").unwrap_or(l);
        if l.iter().all(|&b| b == b' ' || b == b'\t') {
            continue;
        }
        lines += 1;
        if let Ok(p) = prefix(l) {
            timed += 1;
            strong |= p.msg.starts_with(b"LM-X License Server v")
                || p.msg.starts_with(b"Serving licenses for vendor ")
                || p.msg == b"Serving following features:"
                || memchr::memmem::find(p.msg, b"X-Formation").is_some();
        }
    }
    if timed == 0 {
        return 0.0;
    }
    (0.75 * timed as f32 / lines as f32 + if strong { 0.25 } else { 0.0 }).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::sniff;

    #[test]
    fn lmx_logs_score_high() {
        let log = "\u{feff}[2021-05-26 13:38:30] LM-X License Server v4.9.23 build 74220bf8 on h (Linux_x64)\r\n[2021-05-26 13:38:30]\n";
        assert!((sniff(log.as_bytes()) - 1.0).abs() < 1e-6);
        // An excerpt without the banner, cut in its last line.
        assert!(
            sniff(b"[2021-05-26 13:38:30] Ready to serve...\n[2021-05-26 13:38:31] x\n[2021-0")
                >= 0.75
        );
    }

    #[test]
    fn other_text_scores_low() {
        assert_eq!(sniff(b""), 0.0);
        assert_eq!(sniff(b"LM-X End-user Utility v3.32\nCopyright (C) 2002-2010 X-Formation. All rights reserved.\n"), 0.0);
        assert_eq!(sniff(b"10:00:00 (v) OUT: \"f\" u@h\n"), 0.0);
        assert!(sniff(b"[2021-05-26 13:38:30] some other tool\nplain line\n") < 0.5);
    }
}
