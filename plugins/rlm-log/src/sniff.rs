//! Format detection on the first ≤ 4 KiB of a file.

use crate::line::{self, Tokens};

/// Confidence that `head` is an RLM report log: certain with the `RLM Report Log Format`
/// header; otherwise 0.95 × the share of non-blank lines that parse as report-log records
/// (a keyword *and* the fields and times that keyword needs, so a stray `OUT` or `END` word
/// in other text counts for nothing).
pub fn sniff(head: &[u8]) -> f32 {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    // The head is cut at 4 KiB: its last line is whole only when a newline ends it.
    let head = match memchr::memrchr(b'\n', head) {
        Some(nl) if nl + 1 < head.len() => &head[..nl],
        _ => head,
    };
    let (mut lines, mut ok, mut in_header) = (0u32, 0u32, false);
    for l in head.split(|&b| b == b'\n') {
        let l = l.strip_suffix(b"\r").unwrap_or(l);
        let l = line::trim(l);
        if l.is_empty() {
            continue;
        }
        lines += 1;
        if l.starts_with(b"RLM Report Log Format") {
            return 1.0;
        }
        let (kw, rest) = line::split_first(l);
        if kw == b"START" {
            in_header = false;
        }
        if record(kw, rest, l) || in_header {
            ok += 1;
        }
        if kw == b"ISV:" {
            in_header = true;
        }
    }
    if lines == 0 {
        return 0.0;
    }
    0.95 * ok as f32 / lines as f32
}

/// Whether a line parses as one of the report log's records.
fn record(kw: &[u8], rest: &[u8], l: &[u8]) -> bool {
    let Some(t) = Tokens::new(if kw[0].is_ascii_digit() { l } else { rest }) else {
        return false;
    };
    match kw {
        b"OUT" => line::checkout(&t).is_ok(),
        b"IN" => line::checkin(&t).is_ok(),
        b"INUSE" => line::inuse(&t).is_ok(),
        b"DENY" => line::deny(&t).is_ok(),
        b"QUE" => line::queue(&t).is_ok(),
        b"DEQUE" => line::dequeue(&t).is_ok(),
        b"START" => line::full_stamp(&t).is_some(),
        b"END" => t.n == 2 && line::full_stamp(&t).is_some(),
        b"SHUTDOWN" | b"REREAD" => line::trailing_date(&t, 1).is_ok(),
        b"TIMEZONE" => t.n >= 2 && line::int(t.get(0)).is_some() && line::int(t.get(1)).is_some(),
        b"SWITCH" => t.n >= 2 && (t.get(0) == b"from" || t.get(0) == b"to"),
        b"PRODUCT" => t.n >= 10,
        b"AUTH:" | b"AUTH" => t.n == 2 && line::count(t.get(0)).is_some(),
        b"LICENSE" => t.n >= 1 && t.get(0) == b"FILE",
        b"ISV:" => t.n >= 1 && rest.windows(12).any(|w| w == b"RLM version "),
        _ if kw[0].is_ascii_digit() => t.n == 2 && line::full_stamp(&t).is_some(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::sniff;

    #[test]
    fn report_logs_score_high() {
        let log =
            "SWITCH from C:\\old.rlog\nRLM Report Log Format 0, version 14.1, authenticated\n";
        assert!((sniff(log.as_bytes()) - 1.0).abs() < 1e-6);
        // An excerpt without the header.
        let log = "09/04/2025 00:30\r\nOUT p 5.0 3 u h \"\" 1 1 0 1dc 1dc 485c \"\" \"\" \"\" 09/04 00:04:48\n\
                   IN 1 p 5.0 u h \"\" 1 0 0 1dc 09/04 01:15:58\nDENY p 5.0 u h \"\" 1 -22 1 485c 09/04 00:00\n\
                   AUTH: 2 60p04536hn11uckkum19mwg7\n";
        assert!(sniff(log.as_bytes()) >= 0.9, "{}", sniff(log.as_bytes()));
        // Small format.
        let log = "START srv 01/02/2024 09:00\nOUT p 1.0 u h \"\" 1 1f 1f 09:05\nIN 1 1 1f 09:10\n";
        assert!(sniff(log.as_bytes()) >= 0.9);
        // Cut in the middle of the last line.
        assert!(sniff(b"START srv 01/02/2024 09:00\nOUT p 1.0 u") >= 0.9);
    }

    #[test]
    fn other_text_scores_low() {
        assert_eq!(sniff(b""), 0.0);
        assert_eq!(sniff(b"hello world\nthis is a README\n"), 0.0);
        let flexnet = " 9:49:41 (lmgrd) FlexNet Licensing started\n10:00:00 (v) OUT: \"f\" u@h\n10:00:00 (lmgrd) TIMESTAMP 3/5/2022\n";
        assert_eq!(sniff(flexnet.as_bytes()), 0.0);
        let rlmstat = "\trlm status on srv (port 5053), up 00:03:51\n\trlm software version v12.2 (build:2)\n\
                       \tprod v1.0: user@host 1/0 at 09/04 10:00  (handle: 1a)\n";
        assert_eq!(sniff(rlmstat.as_bytes()), 0.0);
        // Words that are keywords, without the record's fields.
        assert_eq!(
            sniff(b"IN the beginning\nOUT of order\nEND of story\n"),
            0.0
        );
    }
}
