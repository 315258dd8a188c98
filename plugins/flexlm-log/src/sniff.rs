//! Format detection on the first ≤ 4 KiB of a file.

use crate::line::prefix;

/// Confidence that `head` is a FlexNet debug log: the share of non-blank lines with a
/// `H:MM:SS (daemon)` prefix (up to 0.75), plus 0.25 when some of them are lmgrd lines or
/// checkout lines, which nothing but a FlexNet debug log writes under such a prefix.
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
        if let Some(p) = prefix(l) {
            timed += 1;
            strong |= p.daemon == b"lmgrd"
                || [
                    "OUT: \"",
                    "IN: \"",
                    "DENIED: \"",
                    "UNSUPPORTED: \"",
                    "TIMESTAMP ",
                ]
                .iter()
                .any(|k| p.msg.starts_with(k.as_bytes()));
        }
    }
    if timed == 0 {
        return 0.0;
    }
    let share = timed as f32 / lines as f32;
    (0.75 * share + if strong { 0.25 } else { 0.0 }).min(1.0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::sniff;

    #[test]
    fn debug_logs_score_high() {
        let log = "\u{feff} 9:49:41 (lmgrd) -----\r\n 9:49:41 (lmgrd) FlexNet Licensing started\n\n10:00:00 (ansyslmd) OUT: \"a\" u@h  \n";
        assert!((sniff(log.as_bytes()) - 1.0).abs() < 1e-6);
        // Excerpt with a stray header line: still clearly FlexNet.
        let log = "# exported\n00:00:00 (TEST) OUT: \"Testprod1\" test@test \n00:00:30 (TEST) IN: \"Testprod1\" test@test\n";
        assert!(sniff(log.as_bytes()) > 0.7);
        // Cut in the middle of the last line.
        assert!(sniff(b"10:00:00 (saltd) OUT: \"f\" u@h\n10:00:0") > 0.9);
    }

    #[test]
    fn other_text_scores_low() {
        assert_eq!(sniff(b""), 0.0);
        assert_eq!(sniff(b"hello world\nthis is a README\n"), 0.0);
        let rlm = "RLM Report Log Format 2, version 15.1 BL1, authentication flag 0\n\
                   START server1 10/21/2023 09:00:00\nOUT foo 1.0 1 user host \"\" 1 1 0 10/21 09:01:00\n";
        assert_eq!(sniff(rlm.as_bytes()), 0.0);
        let lmstat = "lmutil - Copyright (c) 1989-2017 Flexera Software LLC. All Rights Reserved.\n\
                      Flexible License Manager status on Fri 10/20/2017 17:02\n\
                      Users of f:  (Total of 4 licenses issued;  Total of 1 license in use)\n\
                      \x20   u h d (v1.0) (srv/27000 101), start Fri 10/20 9:00\n";
        assert!(sniff(lmstat.as_bytes()) < 0.5);
        // Other tools' `HH:MM:SS (x)` lines without any FlexNet marker stay below certainty.
        assert!(sniff(b"12:00:00 (cron) job ran\n") <= 0.75);
    }
}
