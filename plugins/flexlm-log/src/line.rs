//! The grammar of one debug-log line, on bytes: the `H:MM:SS (daemon)` prefix, the checkout
//! lines (`OUT:`/`IN:`/`DENIED:`/`UNSUPPORTED:`/`QUEUED:`/`DEQUEUED:`), FlexNet error codes and
//! the dates that anchor the log. Pure functions; no allocation.

use tally_plugin_sdk::ErrorCode;
use tally_plugin_sdk::civil::{DAY, checked_days, month_from_abbrev};

/// A line's time prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefix<'a> {
    /// Seconds since local midnight.
    pub secs: i64,
    pub daemon: &'a [u8],
    /// Everything after `(daemon) `, as written (may start with more spaces or a TAB).
    pub msg: &'a [u8],
}

fn digit(b: u8) -> Option<i64> {
    b.is_ascii_digit().then(|| i64::from(b - b'0'))
}

/// Parses `[ ]H:MM:SS (daemon)[ message]`: hour space- or zero-padded, daemon name without
/// spaces. `None` for anything else (including impossible times like `25:00:00`).
pub fn prefix(line: &[u8]) -> Option<Prefix<'_>> {
    let mut i = 0;
    while i < 2 && line.get(i) == Some(&b' ') {
        i += 1;
    }
    let h1 = digit(*line.get(i)?)?;
    i += 1;
    let hour = match line.get(i).copied().and_then(digit) {
        Some(h2) => {
            i += 1;
            h1 * 10 + h2
        }
        None => h1,
    };
    let t = line.get(i..i + 7)?;
    if t[0] != b':' || t[3] != b':' || t[6] != b' ' {
        return None;
    }
    let min = digit(t[1])? * 10 + digit(t[2])?;
    let sec = digit(t[4])? * 10 + digit(t[5])?;
    if hour > 23 || min > 59 || sec > 59 {
        return None;
    }
    i += 7;
    if line.get(i) != Some(&b'(') {
        return None;
    }
    let name_start = i + 1;
    let close = name_start + memchr::memchr(b')', &line[name_start..])?;
    let daemon = &line[name_start..close];
    if daemon.is_empty()
        || daemon.len() > 64
        || daemon.iter().any(|&b| b == b' ' || b == b'\t' || b == b'(')
    {
        return None;
    }
    let msg = match line.get(close + 1) {
        None => &[][..],
        Some(b' ') => &line[close + 2..],
        Some(_) => return None,
    };
    Some(Prefix {
        secs: hour * 3600 + min * 60 + sec,
        daemon,
        msg,
    })
}

pub fn trim_start(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&b| b == b' ' || b == b'\t').count();
    &s[n..]
}

pub fn trim_end(s: &[u8]) -> &[u8] {
    let n = s
        .iter()
        .rev()
        .take_while(|&&b| b == b' ' || b == b'\t')
        .count();
    &s[..s.len() - n]
}

pub fn trim(s: &[u8]) -> &[u8] {
    trim_end(trim_start(s))
}

/// ASCII-case-insensitive `starts_with`.
pub fn starts_with_ci(s: &[u8], prefix: &[u8]) -> bool {
    s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix)
}

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

/// How an `IN:` line says the license came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    Inactive,
    Shutdown,
    Unknown,
}

/// The fields of a checkout-style line after its keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Request<'a> {
    pub feature: &'a [u8],
    pub user: &'a [u8],
    pub host: &'a [u8],
    /// `(N licenses)`; 1 when absent.
    pub count: u32,
    /// The bracket text of `[MSCONE:NASTRAN]`.
    pub project: Option<&'a [u8]>,
    pub flag: Option<Flag>,
    /// Reason text of DENIED/UNSUPPORTED, without the error code.
    pub reason: Option<&'a [u8]>,
    pub code: Option<ErrorCode>,
    /// The quoted version glued to the reason: `"v2023.12"(…)`.
    pub version: Option<&'a [u8]>,
    /// UNSUPPORTED: the hostid in parentheses before the user.
    pub hostid: Option<&'a [u8]>,
}

/// Which keyword the fields followed; decides which trailing groups are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// OUT, IN, QUEUED, DEQUEUED: `"feature" user@host [ [project] ] [(N licenses)] [(FLAG)]`.
    Checkout,
    /// DENIED: `… [(N licenses)] ["version"](reason (code))`.
    Denied,
    /// UNSUPPORTED: `"feature" (hostid) user@host … (reason (code))`.
    Unsupported,
}

/// Index of the `(` that opens the group closed by the `)` at `s[close]`, skipping quoted text.
fn matching_open(s: &[u8], close: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = close + 1;
    while i > 0 {
        i -= 1;
        match s[i] {
            b')' => depth += 1,
            b'(' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            b'"' => i = memchr::memrchr(b'"', &s[..i])?,
            _ => {}
        }
    }
    None
}

/// `N license` / `N licenses` → N.
fn license_count(inner: &[u8]) -> Option<u32> {
    let sp = memchr::memchr(b' ', inner)?;
    let word = &inner[sp + 1..];
    if word != b"licenses" && word != b"license" {
        return None;
    }
    parse_u32(&inner[..sp])
}

fn parse_u32(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 9 {
        return None;
    }
    let mut n = 0u32;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u32::from(b - b'0');
    }
    Some(n)
}

fn parse_i32(s: &[u8]) -> Option<i32> {
    match s.split_first() {
        Some((b'-', rest)) => parse_u32(rest).map(|n| -(n as i32)),
        _ => parse_u32(s).map(|n| n as i32),
    }
}

/// A FlexNet error code as written inside its parentheses: `-4,342`, `-4,342:10054 ""`,
/// `-15,570:115 "Operation now in progress"`, or a bare `-4`.
pub fn error_code(s: &[u8]) -> Option<ErrorCode> {
    let s = trim(s);
    let end = s.iter().position(|&b| b == b' ').unwrap_or(s.len());
    let (nums, rest) = s.split_at(end);
    if !rest.is_empty() && !trim(rest).starts_with(b"\"") {
        return None;
    }
    let (major, tail) = match memchr::memchr(b',', nums) {
        Some(c) => (parse_i32(&nums[..c])?, Some(&nums[c + 1..])),
        None => (parse_i32(nums)?, None),
    };
    let (minor, errno) = match tail {
        None => (None, None),
        Some(t) => match memchr::memchr(b':', t) {
            Some(c) => (Some(parse_i32(&t[..c])?), Some(parse_i32(&t[c + 1..])?)),
            None => (Some(parse_i32(t)?), None),
        },
    };
    Some(ErrorCode {
        major,
        minor,
        errno,
    })
}

/// Splits `reason text (code)` into the text and the structured code.
fn reason_and_code(inner: &[u8]) -> (Option<&[u8]>, Option<ErrorCode>) {
    let inner = trim(inner);
    if let Some(code) = error_code(inner) {
        return (None, Some(code));
    }
    if inner.last() == Some(&b')')
        && let Some(open) = matching_open(inner, inner.len() - 1)
        && let Some(code) = error_code(&inner[open + 1..inner.len() - 1])
    {
        let text = trim(&inner[..open]);
        return ((!text.is_empty()).then_some(text), Some(code));
    }
    ((!inner.is_empty()).then_some(inner), None)
}

/// Parses what follows `OUT: ` (or another keyword) from the fixed right-hand side: the quoted
/// feature, then trailing groups stripped from the right, and what is left is `user@host` split
/// at its last `@` — so user names with spaces or dots survive.
pub fn request(rest: &[u8], shape: Shape) -> Result<Request<'_>, &'static str> {
    let rest = trim_start(rest);
    let Some(body) = rest.strip_prefix(b"\"") else {
        return Err("no quoted feature name");
    };
    let Some(q) = memchr::memchr(b'"', body) else {
        return Err("unterminated feature name");
    };
    let mut r = Request {
        feature: &body[..q],
        count: 1,
        ..Request::default()
    };
    if r.feature.is_empty() {
        return Err("empty feature name");
    }
    let mut s = trim_start(&body[q + 1..]);
    if shape == Shape::Unsupported && s.first() == Some(&b'(') {
        let Some(c) = memchr::memchr(b')', s) else {
            return Err("unterminated hostid");
        };
        r.hostid = Some(trim(&s[1..c]));
        s = &s[c + 1..];
    }
    // The verbose debug-log format appends ` ^^^ ver user ip pid … ^^^`: not part of the host.
    if let Some(v) = memchr::memchr_iter(b'^', s)
        .find(|&v| v > 0 && s[v - 1] == b' ' && s[v..].starts_with(b"^^^"))
    {
        s = &s[..v];
    }
    s = trim_end(s);
    let mut count_seen = false;
    loop {
        match s.last() {
            Some(b')') => {
                let Some(open) = matching_open(s, s.len() - 1) else {
                    return Err("unbalanced parenthesis");
                };
                let inner = &s[open + 1..s.len() - 1];
                let first_group =
                    !count_seen && r.flag.is_none() && r.reason.is_none() && r.code.is_none();
                let glued = open > 0 && s[open - 1] != b' ' && s[open - 1] != b'\t';
                if shape != Shape::Checkout && first_group && license_count(inner).is_none() {
                    (r.reason, r.code) = reason_and_code(inner);
                    s = &s[..open];
                    // `"v2023.12"(reason …)`: the requested version, glued or spaced.
                    let before = trim_end(s);
                    if before.last() == Some(&b'"')
                        && let Some(q) = memchr::memrchr(b'"', &before[..before.len() - 1])
                    {
                        r.version = Some(&before[q + 1..before.len() - 1]);
                        s = &before[..q];
                    }
                } else if glued {
                    // `host(…)` is part of the name, not a group.
                    break;
                } else if let (false, Some(n)) = (count_seen, license_count(inner)) {
                    if n == 0 {
                        // The host takes no record of 0 licenses.
                        return Err("a count of 0 licenses");
                    }
                    r.count = n;
                    count_seen = true;
                    s = &s[..open];
                } else if r.flag.is_none() && !count_seen && shape == Shape::Checkout {
                    r.flag = match inner {
                        b"INACTIVE" => Some(Flag::Inactive),
                        b"SHUTDOWN" => Some(Flag::Shutdown),
                        b"UNKNOWN" => Some(Flag::Unknown),
                        _ => return Err("unrecognised parenthesised suffix"),
                    };
                    s = &s[..open];
                } else {
                    return Err("unrecognised parenthesised suffix");
                }
            }
            Some(b']') if r.project.is_none() => {
                let Some(open) = memchr::memrchr(b'[', s) else {
                    return Err("unbalanced bracket");
                };
                if open == 0 || (s[open - 1] != b' ' && s[open - 1] != b'\t') {
                    break;
                }
                r.project = Some(&s[open + 1..s.len() - 1]);
                s = &s[..open];
            }
            _ => break,
        }
        s = trim_end(s);
    }
    let Some(at) = memchr::memrchr(b'@', s) else {
        return Err("no user@host");
    };
    r.user = trim(&s[..at]);
    r.host = trim(&s[at + 1..]);
    if r.host.is_empty() {
        return Err("empty host");
    }
    if r.host.iter().any(|&b| b == b'(' || b == b'"') {
        return Err("unexpected text after user@host");
    }
    Ok(r)
}

/// `M/D/YYYY` (the whole of `s`) → day count.
pub fn slash_date(s: &[u8]) -> Option<i64> {
    let mut it = s.split(|&b| b == b'/');
    let m = parse_u32(it.next()?)?;
    let d = parse_u32(it.next()?)?;
    let y = parse_u32(it.next()?)?;
    if it.next().is_some() {
        return None;
    }
    checked_days(i64::from(y), m, d)
}

/// The day of a `TIMESTAMP M/D/YYYY` message.
pub fn timestamp(msg: &[u8]) -> Option<i64> {
    slash_date(trim(msg.strip_prefix(b"TIMESTAMP")?))
}

/// lmgrd's start line, `FlexNet Licensing (v11.18.0.0 build … x64_n6) started on HOST (IBM PC) (5/5/2022)`:
/// `Some(date)` where the trailing date parses, `Some(None)` for a start line without one.
pub fn lmgrd_start(msg: &[u8]) -> Option<Option<i64>> {
    find(msg, b") started on ")?;
    let m = trim_end(msg);
    let date = (m.last() == Some(&b')'))
        .then(|| memchr::memrchr(b'(', m))
        .flatten()
        .and_then(|o| slash_date(&m[o + 1..m.len() - 1]));
    Some(date)
}

/// `Thu May 05 2022 08:42:20 <zone>` (SLOG `Time:`/`Start-Date:`, `Server's System Date and Time:`)
/// → (day count, seconds since midnight).
pub fn long_date(s: &[u8]) -> Option<(i64, i64)> {
    let mut it = s.split(|&b| b == b' ').filter(|w| !w.is_empty());
    let _dow = it.next()?;
    let mon = it.next()?;
    if mon.len() != 3 {
        return None;
    }
    let m = month_from_abbrev(mon)?;
    let d = parse_u32(it.next()?)?;
    let y = parse_u32(it.next()?)?;
    let days = checked_days(i64::from(y), m, d)?;
    let t = it.next()?;
    let p = prefix_time(t)?;
    Some((days, p))
}

/// `H:MM:SS` / `HH:MM:SS` → seconds.
fn prefix_time(t: &[u8]) -> Option<i64> {
    let mut it = t.split(|&b| b == b':');
    let h = i64::from(parse_u32(it.next()?)?);
    let m = i64::from(parse_u32(it.next()?)?);
    let s = i64::from(parse_u32(it.next()?)?);
    (it.next().is_none() && h < 24 && m < 60 && s < 60).then_some(h * 3600 + m * 60 + s)
}

/// The date a dated anchor gives to the line that carries it: `date` holds at `text_secs`; the
/// line's own clock says `line_secs`. They are the same instant, so a difference of more than
/// half a day means the two sit on either side of a midnight.
pub fn anchor_day(date: i64, text_secs: i64, line_secs: i64) -> i64 {
    let diff = line_secs - text_secs;
    if diff > DAY / 2 {
        date - 1
    } else if diff < -DAY / 2 {
        date + 1
    } else {
        date
    }
}

/// The date of an SLOG line `(@vd-SLOG@) Time: …` or `(@vd-SLOG@) Start-Date: …`.
pub fn slog_date(msg: &[u8]) -> Option<(i64, i64)> {
    let rest = msg.strip_prefix(b"(@")?;
    // `adskflex-SLOG@) …`: daemon names hold no `@`, so the first one closes the tag.
    let end = memchr::memchr(b'@', rest)?;
    if !rest[..end].ends_with(b"-SLOG") || rest.get(end + 1) != Some(&b')') {
        return None;
    }
    let body = trim_start(&rest[end + 2..]);
    let text = body
        .strip_prefix(b"Time: ")
        .or_else(|| body.strip_prefix(b"Start-Date: "))?;
    long_date(text)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn p(s: &str) -> Option<(i64, &str, &str)> {
        prefix(s.as_bytes()).map(|p| {
            (
                p.secs,
                std::str::from_utf8(p.daemon).unwrap_or("?"),
                std::str::from_utf8(p.msg).unwrap_or("?"),
            )
        })
    }

    #[test]
    fn time_prefix() {
        assert_eq!(
            p(" 9:49:41 (lmgrd) hello"),
            Some((9 * 3600 + 49 * 60 + 41, "lmgrd", "hello"))
        );
        assert_eq!(
            p("08:42:25 (adskflex_pluggin) INFO: x"),
            Some((8 * 3600 + 42 * 60 + 25, "adskflex_pluggin", "INFO: x"))
        );
        assert_eq!(p("23:59:59 (MSC)  INFO"), Some((86_399, "MSC", " INFO")));
        assert_eq!(p("0:00:00 (x)"), Some((0, "x", "")));
        assert_eq!(
            p("16:03:21 (lmgrd) \tThis"),
            Some((57_801, "lmgrd", "\tThis"))
        );
        assert_eq!(p("12:49:3a9 (ugslmd) OUT:"), None);
        assert_eq!(p("12:49:5a3 (ugslmd) IN:"), None);
        assert_eq!(p("24:00:00 (lmgrd) x"), None);
        assert_eq!(p("12:60:00 (lmgrd) x"), None);
        assert_eq!(p("12:00:00 lmgrd x"), None);
        assert_eq!(p("12:00:00 () x"), None);
        assert_eq!(p("12:00:00 (a b) x"), None);
        assert_eq!(p("12:00:00 (lmgrd)x"), None);
        assert_eq!(p("12:00:00 (lmgrd"), None);
        assert_eq!(p(" (@MSC-INFO@)    16:12:08 (MSC) C:\\"), None);
        assert_eq!(p("# THIS IS A TEST LOG FILE"), None);
        assert_eq!(p(""), None);
        assert_eq!(p("123:00:00 (x) y"), None);
    }

    fn req(s: &str, shape: Shape) -> Result<Request<'_>, &'static str> {
        request(s.as_bytes(), shape)
    }

    #[test]
    fn out_in_grammar() {
        let r = req(
            "\"acfd_par_proc\" linlei@gridhpc.org  (4 licenses) ",
            Shape::Checkout,
        )
        .unwrap();
        assert_eq!(
            (r.feature, r.user, r.host, r.count),
            (
                &b"acfd_par_proc"[..],
                &b"linlei"[..],
                &b"gridhpc.org"[..],
                4
            )
        );
        let r = req("\"MATLAB\" José Juan Galera@Plasmon  ", Shape::Checkout).unwrap();
        assert_eq!(r.user, "José Juan Galera".as_bytes());
        assert_eq!((r.host, r.count, r.flag), (&b"Plasmon"[..], 1, None));
        let r = req("\"f\" John Doe@host  (INACTIVE)", Shape::Checkout).unwrap();
        assert_eq!((r.user, r.flag), (&b"John Doe"[..], Some(Flag::Inactive)));
        let r = req(
            "\"MSCONE\" user_01@machine_01 [MSCONE:ODYSSEE_CAE] (60 licenses) (SHUTDOWN)",
            Shape::Checkout,
        )
        .unwrap();
        assert_eq!(
            (r.count, r.flag, r.project),
            (60, Some(Flag::Shutdown), Some(&b"MSCONE:ODYSSEE_CAE"[..]))
        );
        assert_eq!(r.host, b"machine_01");
        let r = req(
            "\"MSCONE\" user_01@machine_01 [MSCONE:ADAMS_Car_Plugin]",
            Shape::Checkout,
        )
        .unwrap();
        assert_eq!(
            (r.count, r.project),
            (1, Some(&b"MSCONE:ADAMS_Car_Plugin"[..]))
        );
        let r = req("\"f\" a@b@c  (1 license) (UNKNOWN)", Shape::Checkout).unwrap();
        assert_eq!(
            (r.user, r.host, r.count, r.flag),
            (&b"a@b"[..], &b"c"[..], 1, Some(Flag::Unknown))
        );
        let r = req(
            "\"f1\" ADas@BLR-LT-104276 ^^^ 1.0 ADas 127.0.0.1 29865 0x12CE ^^^",
            Shape::Checkout,
        )
        .unwrap();
        assert_eq!(r.host, b"BLR-LT-104276");
        let r = req("\"f\" 58000@10.0.0.1", Shape::Checkout).unwrap();
        assert_eq!(r.user, b"58000");
    }

    #[test]
    fn out_in_errors() {
        assert_eq!(
            req("acfd linlei@host", Shape::Checkout),
            Err("no quoted feature name")
        );
        assert_eq!(
            req("\"acfd linlei@host", Shape::Checkout),
            Err("unterminated feature name")
        );
        assert_eq!(req("\"\" u@h", Shape::Checkout), Err("empty feature name"));
        assert_eq!(
            req("\"f\" userhost  ", Shape::Checkout),
            Err("no user@host")
        );
        assert_eq!(req("\"f\" user@", Shape::Checkout), Err("empty host"));
        assert_eq!(
            req("\"f\" u@h  (BOGUS)", Shape::Checkout),
            Err("unrecognised parenthesised suffix")
        );
        assert_eq!(
            req("\"f\" u@h  (3 licenses", Shape::Checkout),
            Err("unexpected text after user@host")
        );
        assert_eq!(
            req("\"f\" u@h  3 licenses)", Shape::Checkout),
            Err("unbalanced parenthesis")
        );
    }

    #[test]
    fn denied_grammar() {
        let r = req("\"64300ACD_F\" TonyMontana@ANOTHERONE  (Licensed number of users already reached. (-4,342))", Shape::Denied)
            .unwrap();
        assert_eq!((r.user, r.host), (&b"TonyMontana"[..], &b"ANOTHERONE"[..]));
        assert_eq!(
            r.reason,
            Some(&b"Licensed number of users already reached."[..])
        );
        assert_eq!(
            r.code,
            Some(ErrorCode {
                major: -4,
                minor: Some(342),
                errno: None
            })
        );
        assert_eq!(r.version, None);
        let r = req(
            "\"NS5010_iges\" teenarit.p@AH21ITPC0520  \"v2023.12\"(License server system does not support this version of this feature. (-25,334))",
            Shape::Denied,
        )
        .unwrap();
        assert_eq!(r.version, Some(&b"v2023.12"[..]));
        assert_eq!(r.host, b"AH21ITPC0520");
        assert_eq!(
            r.code,
            Some(ErrorCode {
                major: -25,
                minor: Some(334),
                errno: None
            })
        );
        let r = req("\"f\" Jane Doe Jr.@pc 7  (3 licenses) (Licensed number of users already reached. (-4,342:10054 \"\"))", Shape::Denied)
            .unwrap();
        assert_eq!(
            (r.user, r.host, r.count),
            (&b"Jane Doe Jr."[..], &b"pc 7"[..], 3)
        );
        assert_eq!(
            r.code,
            Some(ErrorCode {
                major: -4,
                minor: Some(342),
                errno: Some(10054)
            })
        );
        let r = req("\"f\" u@h  (-4,342)", Shape::Denied).unwrap();
        assert_eq!((r.reason, r.code.map(|c| c.major)), (None, Some(-4)));
        let r = req(
            "\"f\" u@h  (Users are queued for this feature.)",
            Shape::Denied,
        )
        .unwrap();
        assert_eq!(
            (r.reason, r.code),
            (Some(&b"Users are queued for this feature."[..]), None)
        );
        // Found by fuzzing: a record of 0 licenses, which the host refuses.
        assert!(req("\"f\" u@h  (0 licenses)", Shape::Checkout).is_err());
        assert!(
            req(
                "\"f\" u@h  (0 licenses) (Licensed number of users already reached. (-4,342))",
                Shape::Denied
            )
            .is_err()
        );
        let r = req("\"f\" u@h  (3 licenses)", Shape::Denied).unwrap();
        assert_eq!((r.count, r.reason, r.code), (3, None, None));
        let r = req("\"f\" u@h", Shape::Denied).unwrap();
        assert_eq!((r.reason, r.code), (None, None));
        assert_eq!(
            req("\"f\" u@h  (Licensed number of users", Shape::Denied),
            Err("unexpected text after user@host")
        );
    }

    #[test]
    fn unsupported_grammar() {
        let r = req(
            "\"87537INVPROSA_2022_0F\" (00B0 EF6E AFC6 B280 ) UPM@upm00243  (No such feature exists. (-5,346))",
            Shape::Unsupported,
        )
        .unwrap();
        assert_eq!(
            (r.feature, r.user, r.host),
            (&b"87537INVPROSA_2022_0F"[..], &b"UPM"[..], &b"upm00243"[..])
        );
        assert_eq!(r.hostid, Some(&b"00B0 EF6E AFC6 B280"[..]));
        assert_eq!(r.reason, Some(&b"No such feature exists."[..]));
        assert_eq!(
            r.code,
            Some(ErrorCode {
                major: -5,
                minor: Some(346),
                errno: None
            })
        );
        let r = req("\"gateway\" (PORT_AT_HOST_PLUS   ) Ekkachai.K@AH23ITNB0410  (No such feature exists. (-5,346))", Shape::Unsupported)
            .unwrap();
        assert_eq!(
            (r.hostid, r.user),
            (Some(&b"PORT_AT_HOST_PLUS"[..]), &b"Ekkachai.K"[..])
        );
        assert_eq!(
            req("\"gateway\" (PORT_AT_HOST_PLUS u@h", Shape::Unsupported),
            Err("unterminated hostid")
        );
    }

    #[test]
    fn error_codes() {
        let c = |s: &str| error_code(s.as_bytes());
        assert_eq!(
            c("-4,342"),
            Some(ErrorCode {
                major: -4,
                minor: Some(342),
                errno: None
            })
        );
        assert_eq!(
            c("-4,342:10054 \"\""),
            Some(ErrorCode {
                major: -4,
                minor: Some(342),
                errno: Some(10054)
            })
        );
        assert_eq!(
            c("-15,570:115 \"Operation now in progress\""),
            Some(ErrorCode {
                major: -15,
                minor: Some(570),
                errno: Some(115)
            })
        );
        assert_eq!(
            c("0,353:10054 \"\""),
            Some(ErrorCode {
                major: 0,
                minor: Some(353),
                errno: Some(10054)
            })
        );
        assert_eq!(
            c("4,342"),
            Some(ErrorCode {
                major: 4,
                minor: Some(342),
                errno: None
            })
        );
        assert_eq!(
            c("-7"),
            Some(ErrorCode {
                major: -7,
                minor: None,
                errno: None
            })
        );
        assert_eq!(c("No such feature"), None);
        assert_eq!(c("-4,x"), None);
        assert_eq!(c(""), None);
        assert_eq!(c("-"), None);
        assert_eq!(c("-4,342 trailing"), None);
        assert_eq!(c("99999999999,1"), None);
    }

    #[test]
    fn dates() {
        use tally_plugin_sdk::civil::days_from_civil as d;
        assert_eq!(timestamp(b"TIMESTAMP 3/31/2016"), Some(d(2016, 3, 31)));
        assert_eq!(timestamp(b"TIMESTAMP 3/31/2016  "), Some(d(2016, 3, 31)));
        assert_eq!(timestamp(b"TIMESTAMP 2/30/2016"), None);
        assert_eq!(timestamp(b"TIMESTAMP 3/31"), None);
        assert_eq!(
            lmgrd_start(b"FlexNet Licensing (v11.18.0.0 build 275847 x64_n6) started on flexlm02 (IBM PC) (5/5/2022)"),
            Some(Some(d(2022, 5, 5)))
        );
        assert_eq!(lmgrd_start(b"FLEXnet Licensing (v10.8.5.0 build 31891 amd64_s8) started on gridhpc.org (linux) (2/9/2009)"), Some(Some(d(2009, 2, 9))));
        assert_eq!(
            lmgrd_start(b"FlexNet Licensing (v11) started on x (linux)"),
            Some(None)
        );
        assert_eq!(lmgrd_start(b"Server started on flexlm02 for:\t"), None);
        assert_eq!(
            long_date(b"Thu May 05 2022 08:42:20 Hora de verano romance"),
            Some((d(2022, 5, 5), 8 * 3600 + 42 * 60 + 20))
        );
        assert_eq!(
            long_date(b"Sun Mar 21 2021 11:58:22 W. Europe Standard Time"),
            Some((d(2021, 3, 21), 43_102))
        );
        assert_eq!(long_date(b"Sun Mar 21 2021"), None);
        assert_eq!(long_date(b"Sun Foo 21 2021 11:58:22"), None);
        assert_eq!(
            slog_date(b"(@adskflex-SLOG@) Time: Thu May 05 2022 12:42:25 Hora de verano romance"),
            Some((d(2022, 5, 5), 45_745))
        );
        assert_eq!(
            slog_date(b"(@MSC-SLOG@) Start-Date: Sun Mar 08 2026 16:11:47 Romance Standard Time"),
            Some((d(2026, 3, 8), 58_307))
        );
        assert_eq!(slog_date(b"(@saltd-SLOG@) Peak active connections #21 attempted at Fri Aug 29 2025 11:33:36 X"), None);
        assert_eq!(
            slog_date(b"(@MSC-INFO@) Time: Thu May 05 2022 12:42:25"),
            None
        );
    }

    #[test]
    fn anchor_day_across_midnight() {
        assert_eq!(anchor_day(100, 10, 20), 100);
        // Text says 00:00:01 on day 100, the line prefix still shows 23:59:59 (day 99).
        assert_eq!(anchor_day(100, 1, 86_399), 99);
        // Text says 23:59:59 on day 100, the prefix already shows 00:00:01 (day 101).
        assert_eq!(anchor_day(100, 86_399, 1), 101);
    }
}
