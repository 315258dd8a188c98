//! The grammar of one line of an SFLM usage log.
//!
//! The seed (`004`) documents twelve columns and their titles but not the separator:
//!
//! ```text
//! UserName HostName ProcessId ProductId ProductName StartTime(InSeconds) EndTime(inSeconds)
//! NumberDesired NumberGranted Date StartTime EndTime
//! ```
//!
//! Names can hold spaces (product names certainly, user names sometimes), so a single space
//! cannot be the separator of a well-formed file. We therefore accept, in this order:
//!
//! 1. **TAB**-separated columns (a TAB in the line decides): each TAB separates, spaces around a
//!    field are trimmed; when that does not give 12 columns, runs of TABs count as one separator
//!    (TAB-aligned output).
//! 2. Columns separated by **runs of 2 or more spaces** (space-aligned output); single spaces
//!    stay inside a name.
//! 3. As a last resort, single spaces, but only when that gives exactly 12 columns (no name
//!    holds a space, so the split is unambiguous).
//!
//! Anything else is malformed. Both time representations on a line must agree (see
//! [`record`]).

use crate::date::unix_from_ce;
use tally_plugin_sdk::civil::{DAY, checked_days};

pub const COLUMNS: usize = 12;
/// One more than a line may have, so that "too many" is still told apart.
const CAP: usize = COLUMNS + 1;

/// Column titles, lower case without spaces, as the seed's table names them.
const TITLES: [&str; COLUMNS] = [
    "username",
    "hostname",
    "processid",
    "productid",
    "productname",
    "starttime(inseconds)",
    "endtime(inseconds)",
    "numberdesired",
    "numbergranted",
    "date",
    "starttime",
    "endtime",
];

/// The fields of a line: at most `CAP` kept, `n` counts them all.
pub struct Fields<'a> {
    pub f: [&'a [u8]; CAP],
    pub n: usize,
}

impl<'a> Fields<'a> {
    fn new() -> Self {
        Fields {
            f: [&[]; CAP],
            n: 0,
        }
    }
    fn push(&mut self, v: &'a [u8]) {
        if self.n < CAP {
            self.f[self.n] = v;
        }
        self.n += 1;
    }
}

pub fn trim(b: &[u8]) -> &[u8] {
    let s = b.iter().take_while(|&&c| c == b' ' || c == b'\t').count();
    let e = b[s..]
        .iter()
        .rev()
        .take_while(|&&c| c == b' ' || c == b'\t')
        .count();
    &b[s..b.len() - e]
}

fn trim_spaces(b: &[u8]) -> &[u8] {
    let s = b.iter().take_while(|&&c| c == b' ').count();
    let e = b[s..].iter().rev().take_while(|&&c| c == b' ').count();
    &b[s..b.len() - e]
}

/// Splits on every TAB (`collapse`: on runs of TABs, dropping empty fields at the edges too).
fn split_tabs(l: &[u8], collapse: bool) -> Fields<'_> {
    let mut out = Fields::new();
    for f in l.split(|&b| b == b'\t') {
        let f = trim_spaces(f);
        if collapse && f.is_empty() {
            continue;
        }
        out.push(f);
    }
    out
}

/// Splits a trimmed line on runs of at least `min` spaces.
fn split_spaces(l: &[u8], min: usize) -> Fields<'_> {
    let mut out = Fields::new();
    let (mut start, mut i) = (0, 0);
    while i < l.len() {
        if l[i] == b' ' {
            let run = l[i..].iter().take_while(|&&b| b == b' ').count();
            if run >= min {
                out.push(&l[start..i]);
                start = i + run;
            }
            i += run;
        } else {
            i += 1;
        }
    }
    out.push(&l[start..]);
    out
}

/// The columns of a line by the rules of the module documentation.
pub fn columns(l: &[u8]) -> Fields<'_> {
    // Spaces only: a leading TAB is an empty first column.
    let l = trim_spaces(l);
    if memchr::memchr(b'\t', l).is_some() {
        let f = split_tabs(l, false);
        if f.n == COLUMNS {
            return f;
        }
        return split_tabs(l, true);
    }
    let f = split_spaces(l, 2);
    if f.n == COLUMNS {
        return f;
    }
    let single = split_spaces(l, 1);
    if single.n == COLUMNS { single } else { f }
}

fn lower_no_spaces(b: &[u8]) -> impl Iterator<Item = u8> + '_ {
    b.iter()
        .filter(|&&c| c != b' ')
        .map(|c| c.to_ascii_lowercase())
}

fn title_is(b: &[u8], title: &str) -> bool {
    lower_no_spaces(b).eq(title.bytes())
}

/// What a line starting with the `UserName` title is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Header {
    /// The twelve titles of the usage log.
    Log,
    /// The title line of a Summary file (`NrHours`, `AverageDesired`, ...): not a usage log.
    Summary,
    /// Some other list of titles.
    Other,
}

/// `Some` when the line is a title line (its first column is `UserName`).
pub fn header(l: &[u8]) -> Option<Header> {
    let t = trim(l);
    let first = t
        .split(|&b| b == b' ' || b == b'\t')
        .next()
        .unwrap_or_default();
    if !first.eq_ignore_ascii_case(b"username") {
        return None;
    }
    let f = columns(t);
    if f.n == COLUMNS && f.f.iter().zip(TITLES).all(|(c, t)| title_is(c, t)) {
        return Some(Header::Log);
    }
    let lower: Vec<u8> = t.iter().map(u8::to_ascii_lowercase).collect();
    if memchr::memmem::find(&lower, b"nrhours").is_some()
        || memchr::memmem::find(&lower, b"averagedesired").is_some()
    {
        return Some(Header::Summary);
    }
    Some(Header::Other)
}

/// One check-out line, times in UTC seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    pub user: &'a [u8],
    pub host: &'a [u8],
    pub pid: &'a [u8],
    pub product_id: &'a [u8],
    pub product_name: &'a [u8],
    pub start: i64,
    pub end: i64,
    pub desired: u32,
    pub granted: u32,
    /// The line's `Date` as days since 1970-01-01.
    pub day: i64,
}

impl Record<'_> {
    /// The line starts at 00:00:00 of its date: it may continue a check-out from the day before.
    pub fn starts_day(&self) -> bool {
        self.start == self.day * DAY
    }

    /// When the line ends its date (23:59:59 or 24:00:00), the midnight at which its next-day
    /// half must start.
    pub fn day_end(&self) -> Option<i64> {
        let midnight = (self.day + 1) * DAY;
        (self.end == midnight - 1 || self.end == midnight).then_some(midnight)
    }
}

fn number(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 18 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0u64, |v, &d| v * 10 + u64::from(d - b'0')))
}

fn small(b: &[u8]) -> Option<u32> {
    number(b).and_then(|v| u32::try_from(v).ok())
}

/// `YYYY/MM/DD` (the seed's form; `YYYY-MM-DD` is accepted too) as days since 1970-01-01.
fn date(b: &[u8]) -> Option<i64> {
    let sep = *b.get(4)?;
    if sep != b'/' && sep != b'-' {
        return None;
    }
    let mut parts = b.split(|&c| c == sep);
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || m.len() > 2 || d.len() > 2 {
        return None;
    }
    checked_days(i64::try_from(number(y)?).ok()?, small(m)?, small(d)?)
}

/// `H:MM:SS` / `HH:MM:SS` as seconds since midnight; `24:00:00` (the end of the day) only when
/// `end_of_day` allows it.
fn time_of_day(b: &[u8], end_of_day: bool) -> Option<i64> {
    let mut parts = b.split(|&c| c == b':');
    let (h, m, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || h.len() > 2 || m.len() != 2 || s.len() != 2 {
        return None;
    }
    let (h, m, s) = (number(h)? as i64, number(m)? as i64, number(s)? as i64);
    if h == 24 && m == 0 && s == 0 && end_of_day {
        return Some(DAY);
    }
    (h < 24 && m < 60 && s < 60).then_some(h * 3600 + m * 60 + s)
}

/// `23:59:59` and `24:00:00` both mean "the end of the day" (the seed: "an EndTime for the end
/// of day will be specified" without saying which).
fn same_instant_or_day_end(ce: i64, human: i64, midnight: i64) -> bool {
    let end_of_day = |t: i64| t == midnight - 1 || t == midnight;
    ce == human || (end_of_day(ce) && end_of_day(human))
}

/// Parses a data line. The absolute `…(InSeconds)` columns give the times; the human-readable
/// `Date`/`StartTime`/`EndTime` describe the same instants in UTC, and a line where they
/// disagree contradicts itself and is refused (we cannot tell which half is wrong).
pub fn record(l: &[u8]) -> Result<Record<'_>, String> {
    let c = columns(l);
    if c.n != COLUMNS {
        return Err(format!(
            "expected {COLUMNS} columns separated by TABs or runs of 2+ spaces, found {}",
            c.n
        ));
    }
    let f = &c.f;
    let [user, host, pid, product_id, product_name] = [f[0], f[1], f[2], f[3], f[4]];
    if user.is_empty() {
        return Err("empty UserName".into());
    }
    if host.is_empty() {
        return Err("empty HostName".into());
    }
    if number(pid).is_none() {
        return Err("ProcessId is not a number".into());
    }
    if product_id.is_empty() && product_name.is_empty() {
        return Err("neither ProductId nor ProductName".into());
    }
    let ce = |b: &[u8], what: &str| {
        number(b)
            .map(|v| unix_from_ce(v as i64))
            .ok_or_else(|| format!("{what} is not a number of seconds"))
    };
    let start = ce(f[5], "StartTime(InSeconds)")?;
    let end = ce(f[6], "EndTime(inSeconds)")?;
    let desired = small(f[7]).ok_or("NumberDesired is not a number")?;
    let granted = small(f[8]).ok_or("NumberGranted is not a number")?;
    let day = date(f[9]).ok_or("Date is not a valid YYYY/MM/DD date")?;
    let start_tod = time_of_day(f[10], false).ok_or("StartTime is not HH:MM:SS")?;
    let end_tod = time_of_day(f[11], true).ok_or("EndTime is not HH:MM:SS")?;
    let midnight = (day + 1) * DAY;
    if start != day * DAY + start_tod {
        return Err(format!(
            "StartTime(InSeconds) is {} but Date and StartTime say {}",
            tally_plugin_sdk::civil::format_utc(start),
            tally_plugin_sdk::civil::format_utc(day * DAY + start_tod)
        ));
    }
    if !same_instant_or_day_end(end, day * DAY + end_tod, midnight) {
        return Err(format!(
            "EndTime(inSeconds) is {} but Date and EndTime say {}",
            tally_plugin_sdk::civil::format_utc(end),
            tally_plugin_sdk::civil::format_utc(day * DAY + end_tod)
        ));
    }
    if end < start {
        return Err("EndTime is before StartTime".into());
    }
    Ok(Record {
        user,
        host,
        pid,
        product_id,
        product_name,
        start,
        end,
        desired,
        granted,
        day,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tally_plugin_sdk::civil::{days_from_civil, format_utc};

    const JULY1: i64 = 13_695; // 2007-07-01

    fn cols(l: &str) -> Vec<String> {
        let f = columns(l.as_bytes());
        f.f[..f.n.min(CAP)]
            .iter()
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect()
    }

    #[test]
    fn separators() {
        let tabs = "Jane Doe\tws 1\t42\tP1\tSolver Pro\t1\t2\t1\t1\t2007/07/01\t00:00:01\t00:00:02";
        assert_eq!(cols(tabs)[0], "Jane Doe");
        assert_eq!(cols(tabs)[4], "Solver Pro");
        assert_eq!(cols(tabs).len(), 12);
        // TAB-aligned: runs of TABs, trailing TAB, spaces around fields.
        let aligned =
            "jd\t\tws1\t42\t\tP1\tSolver Pro \t1\t2\t1\t1\t2007/07/01\t00:00:01\t00:00:02\t";
        assert_eq!(cols(aligned).len(), 12);
        assert_eq!(cols(aligned)[4], "Solver Pro");
        let spaced =
            "Jane Doe  ws1   42  P1  Solver Pro  1  2  1  1  2007/07/01  00:00:01  00:00:02";
        assert_eq!(cols(spaced)[0], "Jane Doe");
        assert_eq!(cols(spaced).len(), 12);
        let single = "jd ws1 42 P1 Solver 1 2 1 1 2007/07/01 00:00:01 00:00:02";
        assert_eq!(cols(single).len(), 12);
        // Single spaces with a name holding a space: ambiguous, so not 12.
        let ambiguous = "jd ws1 42 P1 Solver Pro 1 2 1 1 2007/07/01 00:00:01 00:00:02";
        assert_ne!(columns(ambiguous.as_bytes()).n, 12);
    }

    #[test]
    fn headers() {
        let h = "UserName\tHostName\tProcessId\tProductId\tProductName\tStartTime(InSeconds)\tEndTime(inSeconds)\tNumberDesired\tNumberGranted\tDate\tStartTime\tEndTime";
        assert_eq!(header(h.as_bytes()), Some(Header::Log));
        assert_eq!(
            header(h.replace('\t', " ").to_lowercase().as_bytes()),
            Some(Header::Log)
        );
        assert_eq!(
            header(b"UserName ProductId ProductName NrHours AverageDesired AverageUsed"),
            Some(Header::Summary)
        );
        assert_eq!(header(b"UserName Foo Bar"), Some(Header::Other));
        assert_eq!(header(b"usernameX\tHostName"), None);
        assert_eq!(header(b"jdoe\tws1"), None);
    }

    #[test]
    fn fields_and_times() {
        assert_eq!(date(b"2007/07/01"), Some(JULY1));
        assert_eq!(date(b"2007-7-1"), Some(JULY1));
        assert_eq!(date(b"2007/02/29"), None);
        assert_eq!(date(b"07/01/2007"), None);
        assert_eq!(time_of_day(b"8:15:00", false), Some(29_700));
        assert_eq!(time_of_day(b"24:00:00", false), None);
        assert_eq!(time_of_day(b"24:00:00", true), Some(DAY));
        assert_eq!(time_of_day(b"23:60:00", true), None);
        assert_eq!(number(b"63318844800"), Some(63_318_844_800));
        assert_eq!(number(b"-1"), None);
        assert_eq!(small(b"4294967296"), None);
    }

    fn line(start: &str, end: &str, s: i64, e: i64) -> String {
        let ce = |t: i64| t + crate::date::CE_TO_UNIX;
        format!(
            "u\th\t7\tP\tName\t{}\t{}\t2\t1\t2007/07/01\t{start}\t{end}",
            ce(JULY1 * DAY + s),
            ce(JULY1 * DAY + e)
        )
    }

    #[test]
    fn records_cross_check_both_clocks() {
        let l = line("08:15:00", "09:00:00", 29_700, 32_400);
        let r = record(l.as_bytes()).unwrap();
        assert_eq!(format_utc(r.start), "2007-07-01T08:15:00Z");
        assert_eq!(format_utc(r.end), "2007-07-01T09:00:00Z");
        assert_eq!((r.desired, r.granted, r.day), (2, 1, JULY1));
        assert!(!r.starts_day() && r.day_end().is_none());
        // The end of the day, written either way, with the absolute clock either way.
        for (end, e) in [
            ("23:59:59", DAY - 1),
            ("24:00:00", DAY),
            ("23:59:59", DAY),
            ("24:00:00", DAY - 1),
        ] {
            let l = line("00:00:00", end, 0, e);
            let r = record(l.as_bytes()).unwrap();
            assert!(r.starts_day());
            assert_eq!(r.day_end(), Some(days_from_civil(2007, 7, 2) * DAY));
        }
        // Disagreements.
        let e = record(line("08:15:01", "09:00:00", 29_700, 32_400).as_bytes()).unwrap_err();
        assert!(
            e.contains("StartTime(InSeconds) is 2007-07-01T08:15:00Z"),
            "{e}"
        );
        let e = record(line("08:15:00", "09:00:00", 29_700, 32_401).as_bytes()).unwrap_err();
        assert!(e.starts_with("EndTime(inSeconds)"), "{e}");
        let e = record(line("09:00:00", "08:15:00", 32_400, 29_700).as_bytes()).unwrap_err();
        assert_eq!(e, "EndTime is before StartTime");
    }

    #[test]
    fn malformed_fields() {
        let ok = line("08:15:00", "09:00:00", 29_700, 32_400);
        let with = |i: usize, v: &str| {
            let mut f: Vec<&str> = ok.split('\t').collect();
            f[i] = v;
            record(f.join("\t").as_bytes()).unwrap_err()
        };
        assert_eq!(with(0, ""), "empty UserName");
        assert_eq!(with(1, ""), "empty HostName");
        assert_eq!(with(2, "x1"), "ProcessId is not a number");
        assert!(with(5, "12a").starts_with("StartTime(InSeconds) is not"));
        assert_eq!(with(7, "-1"), "NumberDesired is not a number");
        assert_eq!(with(8, ""), "NumberGranted is not a number");
        assert_eq!(with(9, "2007/13/01"), "Date is not a valid YYYY/MM/DD date");
        assert_eq!(with(10, "8h15"), "StartTime is not HH:MM:SS");
        assert_eq!(with(11, "25:00:00"), "EndTime is not HH:MM:SS");
        assert!(record(b"a\tb\tc").unwrap_err().contains("found 3"));
    }
}
