//! Format detection on the first ≤ 4 KiB of a file.

use crate::line::{self, Header};

/// Confidence that `head` is an SFLM usage log: 0 unless some line is the log's title line or a
/// complete data line (twelve columns whose two clocks agree — nothing else looks like that),
/// then 0.5 plus half the share of non-blank lines that are.
pub fn sniff(head: &[u8]) -> f32 {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    // The head is cut at 4 KiB: its last line is whole only when a newline ends it.
    let head = match memchr::memrchr(b'\n', head) {
        Some(nl) if nl + 1 < head.len() => &head[..nl],
        _ => head,
    };
    let (mut lines, mut known) = (0u32, 0u32);
    for l in head.split(|&b| b == b'\n') {
        let l = l.strip_suffix(b"\r").unwrap_or(l);
        if l.iter().all(|&b| b == b' ' || b == b'\t') {
            continue;
        }
        lines += 1;
        if line::header(l) == Some(Header::Log) || line::record(l).is_ok() {
            known += 1;
        }
    }
    if known == 0 {
        return 0.0;
    }
    0.5 + 0.5 * known as f32 / lines as f32
}

#[cfg(test)]
mod tests {
    use super::sniff;

    const HEADER: &str = "UserName\tHostName\tProcessId\tProductId\tProductName\tStartTime(InSeconds)\tEndTime(inSeconds)\tNumberDesired\tNumberGranted\tDate\tStartTime\tEndTime\n";
    const LINE: &str = "jdoe\tws1\t42\tP1\tSolver\t63318874500\t63318877200\t1\t1\t2007/07/01\t08:15:00\t09:00:00\n";

    #[test]
    fn logs_score_high() {
        assert!((sniff(format!("{HEADER}{LINE}").as_bytes()) - 1.0).abs() < 1e-6);
        assert!((sniff(LINE.as_bytes()) - 1.0).abs() < 1e-6);
        // Cut in the middle of the last line.
        assert!(sniff(format!("{LINE}{}", &LINE[..20]).as_bytes()) >= 0.9);
        assert!(sniff(format!("# note\n{LINE}{LINE}{LINE}{LINE}").as_bytes()) >= 0.9);
    }

    #[test]
    fn other_text_scores_low() {
        assert_eq!(sniff(b""), 0.0);
        assert_eq!(sniff(b"hello world\n"), 0.0);
        assert_eq!(sniff(b"10:00:00 (v) OUT: \"f\" u@h\n"), 0.0);
        // A Summary file's title line is not a usage log.
        assert_eq!(
            sniff(b"UserName\tProductId\tProductName\tNrHours\tAverageDesired\n"),
            0.0
        );
        // Columns that look right but whose clocks disagree.
        assert_eq!(sniff(LINE.replace("08:15:00", "08:15:01").as_bytes()), 0.0);
    }
}
