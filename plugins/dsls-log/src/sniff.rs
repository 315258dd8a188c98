//! Format detection on the first ≤ 4 KiB of a file.

use tally_plugin_sdk::Sniffed;

use crate::line::prefix;

/// Categories only a DSLS license server writes.
const CATEGORIES: [&[u8]; 7] = [
    b"STARTSERVER",
    b"LICENSESERV",
    b"LICENSEDATA",
    b"USGTRACING",
    b"STATISTICS",
    b"RUNTIMEDATA",
    b"ADMINSERVER",
];

/// Confidence that `head` is a DSLS LicenseServer log or a cloud `getlogs` document.
///
/// Log lines: the share of non-blank lines with a valid `YYYY/MM/DD HH:MM:SS:mmm L CATEGORY`
/// head (up to 0.75), plus 0.25 when one of them has a DSLS category. JSON: 0.95 when the
/// document has a `"rows"` member and a string in the head is such a line. The `DSLicSrv -admin`
/// status outputs (banner, `admin >` prompt, CSV) have neither.
pub fn sniff(head: &[u8]) -> f32 {
    sniff_format(head).map_or(0.0, |s| s.confidence)
}

/// [`sniff`] naming the format: `dsls-cloud-json` for a JSON document, `dsls-log` for lines.
pub fn sniff_format(head: &[u8]) -> Option<Sniffed> {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = head.iter().position(|b| !b.is_ascii_whitespace())?;
    let (format, confidence) = if matches!(head[start], b'{' | b'[') {
        ("dsls-cloud-json", json(head))
    } else {
        ("dsls-log", lines(head))
    };
    (confidence > 0.0).then_some(Sniffed { format, confidence })
}

fn lines(head: &[u8]) -> f32 {
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
            strong |= CATEGORIES.contains(&p.category);
        }
    }
    if timed == 0 {
        return 0.0;
    }
    let share = timed as f32 / lines as f32;
    (0.75 * share + if strong { 0.25 } else { 0.0 }).min(1.0)
}

fn json(head: &[u8]) -> f32 {
    if memchr::memmem::find(head, b"\"rows\"").is_none() {
        return 0.0;
    }
    // A string that opens with a DSLS line head (escapes come later in the line, if at all).
    let rows = memchr::memchr_iter(b'"', head)
        .filter_map(|q| prefix(&head[q + 1..]))
        .take(4)
        .filter(|p| CATEGORIES.contains(&p.category))
        .count();
    if rows > 0 { 0.95 } else { 0.3 }
}

#[cfg(test)]
mod tests {
    use super::{sniff, sniff_format};

    #[test]
    fn names_the_format_it_saw() {
        let log = "2025/08/18 08:28:06:989 I STARTSERVER Server version 6.426.0\n";
        let doc = "{\"result\":{\"rows\":[\"2025/09/06 04:39:56:281 I USGTRACING  Grant!!";
        let format = |head: &str| sniff_format(head.as_bytes()).map(|s| s.format);
        assert_eq!(format(log), Some("dsls-log"));
        assert_eq!(format(doc), Some("dsls-cloud-json"));
        assert_eq!(format("{\"other\": 1}"), None);
        assert_eq!(format("  \n"), None);
    }

    #[test]
    fn dsls_scores_high() {
        let log = "2025/08/18 08:28:06:989 I STARTSERVER Server version 6.426.0 built on Sep 5, 2023 8:04:34 PM\r\n\
                   2025/08/18 08:28:08:650 I LICENSESERV Licensing service started\n";
        assert!((sniff(log.as_bytes()) - 1.0).abs() < 1e-6);
        // Cut in the middle of the last line.
        assert!(sniff(&log.as_bytes()[..120]) > 0.9);
        let doc = "{\n  \"result\": {\n    \"rows\": [\n      \"2025/09/06 04:39:56:281 I ADMINSERVER GetLogs command issued from R1\",\n";
        assert!(sniff(doc.as_bytes()) >= 0.9);
        let one_line = "\u{feff}{\"result\":{\"firstDate\":1,\"rows\":[\"2025/09/06 04:39:56:281 I USGTRACING  Grant!!";
        assert!(sniff(one_line.as_bytes()) >= 0.9);
    }

    #[test]
    fn other_text_scores_low() {
        assert_eq!(sniff(b""), 0.0);
        assert_eq!(sniff(b"\n  \n"), 0.0);
        assert_eq!(sniff(b"hello world\n"), 0.0);
        let admin = "License Administration Tool Version 6.425.4 Built on May 2, 2023, 6:45:36 PM.\n\
                     admin >\tSoftware version: 6.425.4\n\
                     Editor,EditorId,Feature,Model,Commercial Type,Max Release Number,\n\
                     Dassault Systemes,5E756A80,PAC,Token,STD,8,2025-01-01 00:59:00,YLC,0,2025-01-01 00:59:00,10001723,1,0,\n";
        assert_eq!(sniff(admin.as_bytes()), 0.0);
        assert_eq!(sniff(b"10:00:00 (lmgrd) TIMESTAMP 1/2/2024\n"), 0.0);
        assert!(sniff(b"{\"rows\": [1, 2]}") < 0.5);
        assert_eq!(sniff(b"{\"name\": \"x\"}"), 0.0);
        // Another program's lines in the same shape, without a DSLS category.
        assert!(sniff(b"2025/08/18 08:28:06:989 I MYAPP started\n") <= 0.75);
    }
}
