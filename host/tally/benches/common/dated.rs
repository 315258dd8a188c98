//! The 20× FlexNet log of the import and pages benches: 20 copies of the corpus's biggest
//! FlexNet debug log, copy k with every `M/D/YYYY` and `Dow Mon DD YYYY` date moved k × 111 days
//! on (the log's span plus one day: copies never overlap).

#![allow(dead_code)]

use chrono::{Datelike, NaiveDate};

/// The corpus log the 20× file is made of, and what the result must hash to.
pub const CORPUS_LOG: &str = "flexlm-debuglog/flexlm_reporter__umich_ansyslmd_2017-02-18.log";
pub const COPIES: i64 = 20;
/// The log's span plus one day: copies never overlap.
pub const SHIFT_DAYS: i64 = 111;
pub const SHA256_20X: &str = "85ce2ba4546c11d1ebe4c8ba68aa07c6a0939d8f46815558c7afb209ad63bbfa";

/// The corpus log beside the repository, when it is there.
pub fn corpus_log() -> Option<std::path::PathBuf> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus")
        .join(CORPUS_LOG);
    path.is_file().then_some(path)
}

/// The 20× file: `log` 20 times, copy k with its dates moved k × 111 days on.
pub fn twenty_times(log: &[u8]) -> Vec<u8> {
    copies(log, 0..COPIES)
}

/// Copies `ks` of `log`, copy k with its dates moved k × 111 days on: copies past the 20th
/// continue the 20× file's history.
pub fn copies(log: &[u8], ks: std::ops::Range<i64>) -> Vec<u8> {
    let n = usize::try_from(ks.end - ks.start).unwrap_or(0);
    let mut out = Vec::with_capacity(log.len() * n + 1024);
    for k in ks {
        shift_dates(log, k * SHIFT_DAYS, &mut out);
    }
    out
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Appends `log` to `out` with every `M/D/YYYY` and `Dow Mon DD YYYY` date (whole words) moved
/// `days` on; the weekday is the new date's.
fn shift_dates(log: &[u8], days: i64, out: &mut Vec<u8>) {
    let mut i = 0;
    while i < log.len() {
        let at_word_start = i == 0 || !is_word(log[i - 1]);
        if at_word_start && let Some((date, len, kind)) = date_at(&log[i..]) {
            let shifted = date + chrono::Duration::days(days);
            let text = match kind {
                DateForm::Slashes => {
                    format!("{}/{}/{}", shifted.month(), shifted.day(), shifted.year())
                }
                DateForm::Words => shifted.format("%a %b %d %Y").to_string(),
            };
            out.extend_from_slice(text.as_bytes());
            i += len;
        } else {
            out.push(log[i]);
            i += 1;
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum DateForm {
    /// `2/18/2017`
    Slashes,
    /// `Sat Feb 18 2017`
    Words,
}

/// The date `s` starts with, its length and form; the byte after it must end the word.
fn date_at(s: &[u8]) -> Option<(NaiveDate, usize, DateForm)> {
    let digits = |from: usize| {
        s[from.min(s.len())..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let number = |from: usize, len: usize| -> u32 {
        s[from..from + len]
            .iter()
            .fold(0, |n, b| n * 10 + u32::from(b - b'0'))
    };
    let ends_word = |at: usize| s.get(at).is_none_or(|&b| !is_word(b));
    // M/D/YYYY
    let m = digits(0);
    if (1..=2).contains(&m) && s.get(m) == Some(&b'/') {
        let d = digits(m + 1);
        let y_at = m + 1 + d + 1;
        if (1..=2).contains(&d)
            && s.get(m + 1 + d) == Some(&b'/')
            && digits(y_at) == 4
            && ends_word(y_at + 4)
        {
            let date =
                NaiveDate::from_ymd_opt(number(y_at, 4) as i32, number(0, m), number(m + 1, d))?;
            return Some((date, y_at + 4, DateForm::Slashes));
        }
        return None;
    }
    // Dow Mon DD YYYY
    const DAYS: [&[u8]; 7] = [b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun"];
    const MONTHS: [&[u8]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    if s.len() < 15 || !DAYS.contains(&&s[..3]) || s[3] != b' ' || s[7] != b' ' || s[10] != b' ' {
        return None;
    }
    let month = MONTHS.iter().position(|m| *m == &s[4..7])?;
    if digits(8) != 2 || digits(11) != 4 || !ends_word(15) {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(number(11, 4) as i32, month as u32 + 1, number(8, 2))?;
    Some((date, 15, DateForm::Words))
}
