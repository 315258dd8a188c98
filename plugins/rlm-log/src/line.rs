//! The grammar of one report-log line, on bytes: tokens (a `"quoted field"` is one token even
//! with spaces inside), times and dates, and the layout of each record type.
//!
//! Every record with a user and a host is read from the right: the fields after the host have a
//! fixed count, anchored on the `MM/DD HH:MM[:SS[.tenths_of_msec]]` pair (std and detailed
//! formats) or on the final `HH:MM` (small format). What is left between the fixed left-hand
//! fields (product, version[, pool]) and the host is the user, so a user name with spaces
//! survives. RLM writes user and host without quotes, or `""` when empty. Pure functions; no
//! allocation.

/// Tokens per line kept (a PRODUCT line has 29; user names with spaces add a few).
pub const MAX_TOKENS: usize = 64;

/// The whitespace-separated tokens of the rest of a line (after its keyword).
pub struct Tokens<'a> {
    line: &'a [u8],
    spans: [(u32, u32); MAX_TOKENS],
    pub n: usize,
}

/// Length of the field separator at `s[i]`: a space or TAB, or U+00A0 NO-BREAK SPACE (`C2 A0`,
/// from copy-pasted text); 0 for anything else.
fn sep_at(s: &[u8], i: usize) -> usize {
    match s[i] {
        b' ' | b'\t' => 1,
        0xC2 if s.get(i + 1) == Some(&0xA0) => 2,
        _ => 0,
    }
}

/// `s` without leading and trailing separators.
pub fn trim(s: &[u8]) -> &[u8] {
    let mut a = 0;
    while a < s.len() {
        match sep_at(s, a) {
            0 => break,
            n => a += n,
        }
    }
    let mut b = s.len();
    loop {
        if b > a && (s[b - 1] == b' ' || s[b - 1] == b'\t') {
            b -= 1;
        } else if b >= a + 2 && s[b - 2] == 0xC2 && s[b - 1] == 0xA0 {
            b -= 2;
        } else {
            break;
        }
    }
    &s[a..b]
}

/// The first word of a trimmed line, and what follows its separator.
pub fn split_first(l: &[u8]) -> (&[u8], &[u8]) {
    let mut i = 0;
    while i < l.len() {
        match sep_at(l, i) {
            0 => i += 1,
            n => return (&l[..i], &l[i + n..]),
        }
    }
    (l, &[])
}

impl<'a> Tokens<'a> {
    /// Splits `line` on spaces and TABs; a token that starts with `"` runs to the next `"`
    /// followed by whitespace or the end of the line. `None` past [`MAX_TOKENS`] tokens.
    pub fn new(line: &'a [u8]) -> Option<Self> {
        let mut t = Tokens {
            line,
            spans: [(0, 0); MAX_TOKENS],
            n: 0,
        };
        let mut i = 0;
        let len = line.len();
        while i < len {
            let sep = sep_at(line, i);
            if sep > 0 {
                i += sep;
                continue;
            }
            let start = i;
            if line[i] == b'"' {
                i += 1;
                loop {
                    match memchr::memchr(b'"', &line[i..]) {
                        Some(q) => {
                            i += q + 1;
                            if i >= len || sep_at(line, i) > 0 {
                                break;
                            }
                        }
                        None => {
                            i = len;
                            break;
                        }
                    }
                }
            } else {
                while i < len && sep_at(line, i) == 0 {
                    i += 1;
                }
            }
            if t.n == MAX_TOKENS {
                return None;
            }
            t.spans[t.n] = (start as u32, i as u32);
            t.n += 1;
        }
        Some(t)
    }

    pub fn get(&self, i: usize) -> &'a [u8] {
        let (s, e) = self.spans[i];
        &self.line[s as usize..e as usize]
    }

    /// The text from token `a` through token `b - 1`, spacing as written.
    pub fn span(&self, a: usize, b: usize) -> &'a [u8] {
        &self.line[self.spans[a].0 as usize..self.spans[b - 1].1 as usize]
    }

    fn quoted(&self, i: usize) -> bool {
        self.get(i).first() == Some(&b'"')
    }
}

/// A field without its surrounding quotes (`""` is the empty string).
pub fn unquote(t: &[u8]) -> &[u8] {
    match t {
        [b'"', inner @ .., b'"'] => inner,
        [b'"', rest @ ..] => rest,
        _ => t,
    }
}

fn num(t: &[u8]) -> Option<u32> {
    if t.is_empty() || t.len() > 2 || !t.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(t.iter().fold(0, |v, &b| v * 10 + u32::from(b - b'0')))
}

/// A decimal `u32` (counts).
pub fn count(t: &[u8]) -> Option<u32> {
    if t.is_empty() || t.len() > 9 || !t.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(t.iter().fold(0, |v, &b| v * 10 + u32::from(b - b'0')))
}

/// The license count of a checkout, denial or queued request: a [`count`] of at least one (the
/// host takes no record of 0 licenses).
fn licenses(t: &[u8]) -> Res<u32> {
    count(t)
        .filter(|&n| n > 0)
        .ok_or("count is not a positive number")
}

/// A signed decimal (status codes, minutes).
pub fn int(t: &[u8]) -> Option<i32> {
    let (neg, digits) = match t {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, t),
    };
    let v = i32::try_from(count(digits)?).ok()?;
    Some(if neg { -v } else { v })
}

/// `H:MM`, `HH:MM:SS` or `HH:MM:SS.tenths_of_msec` → seconds since midnight (the fraction is
/// dropped: Tally counts whole seconds).
pub fn time(t: &[u8]) -> Option<i64> {
    let (hms, frac) = match memchr::memchr(b'.', t) {
        Some(dot) => (&t[..dot], Some(&t[dot + 1..])),
        None => (t, None),
    };
    if let Some(f) = frac
        && (f.is_empty() || f.len() > 9 || !f.iter().all(u8::is_ascii_digit))
    {
        return None;
    }
    let mut parts = hms.split(|&b| b == b':');
    let h = num(parts.next()?)?;
    let m = parts.next()?;
    let s = parts.next();
    if parts.next().is_some() || m.len() != 2 || s.is_some_and(|s| s.len() != 2) {
        return None;
    }
    let m = num(m)?;
    let s = match s {
        Some(s) => num(s)?,
        None if frac.is_some() => return None,
        None => 0,
    };
    (h < 24 && m < 60 && s < 60).then(|| i64::from(h * 3600 + m * 60 + s))
}

/// `MM/DD` → (month, day), ranges checked loosely (the calendar checks the rest).
pub fn month_day(t: &[u8]) -> Option<(u32, u32)> {
    let slash = memchr::memchr(b'/', t)?;
    let m = num(&t[..slash])?;
    let d = num(&t[slash + 1..])?;
    ((1..=12).contains(&m) && (1..=31).contains(&d)).then_some((m, d))
}

/// `MM/DD/YYYY` → (year, month, day).
pub fn full_date(t: &[u8]) -> Option<(i64, u32, u32)> {
    let slash = memchr::memrchr(b'/', t)?;
    let (m, d) = month_day(&t[..slash])?;
    let y = &t[slash + 1..];
    if y.len() != 4 {
        return None;
    }
    let y = i64::from(count(y)?);
    Some((y, m, d))
}

/// When a record happened, as far as its own fields tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// std and detailed formats: month, day and time; the year comes from the log.
    MonthDay { m: u32, d: u32, secs: i64 },
    /// small format: time of day only; the date comes from the log.
    TimeOnly { secs: i64 },
}

/// The index of the `MM/DD` of the last `MM/DD time` pair at or after `from`.
fn find_date(t: &Tokens<'_>, from: usize) -> Option<usize> {
    (from..t.n.saturating_sub(1))
        .rev()
        .find(|&i| month_day(t.get(i)).is_some() && time(t.get(i + 1)).is_some())
}

fn when_at(t: &Tokens<'_>, d: usize) -> Option<When> {
    let (m, day) = month_day(t.get(d))?;
    Some(When::MonthDay {
        m,
        d: day,
        secs: time(t.get(d + 1))?,
    })
}

/// The small format's final `HH:MM`.
fn final_time(t: &Tokens<'_>) -> Option<When> {
    let secs = time(t.get(t.n.checked_sub(1)?))?;
    Some(When::TimeOnly { secs })
}

type Res<T> = Result<T, &'static str>;

fn need<T>(v: Option<T>, what: &'static str) -> Res<T> {
    v.ok_or(what)
}

/// Where the user/host part ends: the host token is `host`, the user spans `user..host`.
fn user_host<'a>(t: &Tokens<'a>, user: usize, host: usize) -> Res<(&'a [u8], &'a [u8])> {
    if host <= user {
        return Err("too few fields before the host");
    }
    Ok((unquote(t.span(user, host)), unquote(t.get(host))))
}

/// OUT (checkout) and INUSE (checkout in progress when the log starts or is reread).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkout<'a> {
    pub product: &'a [u8],
    pub version: &'a [u8],
    pub user: &'a [u8],
    pub host: &'a [u8],
    pub count: u32,
    pub handle: &'a [u8],
    /// OUT std/detailed: the `"project"` field, unquoted (may be empty).
    pub project: Option<&'a [u8]>,
    pub when: When,
}

/// `OUT product version pool# user host "isv_def" count cur_use cur_resuse server_handle
/// share_handle process_id "project" "requested product" "requested version" MM/DD HH:MM:SS`,
/// detailed: time with `.tenths_of_msec` and five more fields (client OS, argv0, roam days,
/// roam handle, client IP) after it; small: `OUT product version user host "isv_def" count
/// server_handle share_handle HH:MM`.
pub fn checkout<'a>(t: &Tokens<'a>) -> Res<Checkout<'a>> {
    if t.n < 2 {
        return Err("too few fields");
    }
    let (product, version) = (t.get(0), t.get(1));
    if let Some(d) = find_date(t, 2) {
        if d < 15 {
            return Err("too few fields before the date");
        }
        if !(t.quoted(d - 10) && t.quoted(d - 3) && t.quoted(d - 2) && t.quoted(d - 1)) {
            return Err("isv_def, project or requested product/version not quoted");
        }
        let (user, host) = user_host(t, 3, d - 11)?;
        return Ok(Checkout {
            product,
            version,
            user,
            host,
            count: licenses(t.get(d - 9))?,
            handle: t.get(d - 6),
            project: Some(unquote(t.get(d - 3))),
            when: need(when_at(t, d), "bad date")?,
        });
    }
    let when = need(final_time(t), "no MM/DD HH:MM:SS nor final HH:MM")?;
    let n = t.n;
    if n < 9 {
        return Err("too few fields for the small format");
    }
    if !t.quoted(n - 5) {
        return Err("isv_def not quoted");
    }
    let (user, host) = user_host(t, 2, n - 6)?;
    Ok(Checkout {
        product,
        version,
        user,
        host,
        count: licenses(t.get(n - 4))?,
        handle: t.get(n - 3),
        project: None,
        when,
    })
}

/// `INUSE product version pool# user host "isv_def" count server_handle share_handle
/// process_id MM/DD HH:MM:SS`.
pub fn inuse<'a>(t: &Tokens<'a>) -> Res<Checkout<'a>> {
    if t.n < 2 {
        return Err("too few fields");
    }
    let d = need(find_date(t, 2), "no MM/DD HH:MM:SS")?;
    if d < 10 {
        return Err("too few fields before the date");
    }
    if !t.quoted(d - 5) {
        return Err("isv_def not quoted");
    }
    let (user, host) = user_host(t, 3, d - 6)?;
    Ok(Checkout {
        product: t.get(0),
        version: t.get(1),
        user,
        host,
        count: licenses(t.get(d - 4))?,
        handle: t.get(d - 3),
        project: None,
        when: need(when_at(t, d), "bad date")?,
    })
}

/// IN (check-in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkin<'a> {
    pub why: i32,
    /// Absent in the small format.
    pub product: Option<&'a [u8]>,
    pub handle: &'a [u8],
    pub when: When,
}

/// `IN why product version user host "isv_def" count cur_use cur_resuse server_handle MM/DD
/// HH:MM:SS[.tenths_of_msec]`; small: `IN why count server_handle HH:MM`.
pub fn checkin<'a>(t: &Tokens<'a>) -> Res<Checkin<'a>> {
    if t.n < 4 {
        return Err("too few fields");
    }
    let why = need(int(t.get(0)), "reason code is not a number")?;
    if let Some(d) = find_date(t, 1) {
        if d < 10 {
            return Err("too few fields before the date");
        }
        if !t.quoted(d - 5) {
            return Err("isv_def not quoted");
        }
        user_host(t, 3, d - 6)?;
        need(count(t.get(d - 4)), "count is not a number")?;
        return Ok(Checkin {
            why,
            product: Some(t.get(1)),
            handle: t.get(d - 1),
            when: need(when_at(t, d), "bad date")?,
        });
    }
    if t.n != 4 {
        return Err("no MM/DD HH:MM:SS, and not the small format");
    }
    need(count(t.get(1)), "count is not a number")?;
    Ok(Checkin {
        why,
        product: None,
        handle: t.get(2),
        when: need(final_time(t), "no final HH:MM")?,
    })
}

/// DENY (license denial).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deny<'a> {
    pub product: &'a [u8],
    pub version: &'a [u8],
    pub user: &'a [u8],
    pub host: &'a [u8],
    pub count: u32,
    /// RLM status code (`RLM_EL_…`).
    pub why: i32,
    /// 0: the client will try again (elsewhere); non-zero: its last attempt.
    pub last_attempt: bool,
    pub when: When,
}

/// `DENY product version user host "isv_def" count why last_attempt [pid] MM/DD HH:MM[:SS[.f]]`
/// (the process id is in RLM 14 logs, not in the manual's layout).
pub fn deny<'a>(t: &Tokens<'a>) -> Res<Deny<'a>> {
    let d = need(find_date(t, 2), "no MM/DD HH:MM")?;
    // `count` right after isv_def is never quoted; a quoted host (`""`) may precede isv_def.
    let isv = if d >= 4 && t.quoted(d - 4) {
        d - 4
    } else if d >= 5 && t.quoted(d - 5) {
        d - 5
    } else {
        return Err("isv_def not quoted");
    };
    let (user, host) = user_host(t, 2, isv - 1)?;
    Ok(Deny {
        product: t.get(0),
        version: t.get(1),
        user,
        host,
        count: licenses(t.get(isv + 1))?,
        why: need(int(t.get(isv + 2)), "status is not a number")?,
        last_attempt: need(int(t.get(isv + 3)), "last_attempt is not a number")? != 0,
        when: need(when_at(t, d), "bad date")?,
    })
}

/// QUE (queued for a license).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Queue<'a> {
    pub product: &'a [u8],
    pub user: &'a [u8],
    pub host: &'a [u8],
    pub count: u32,
    pub when: When,
}

/// `QUE product version user host "isv_def" count server_handle "project" "requested product"
/// "requested version" MM/DD HH:MM:SS[.f]`; small: `QUE product version user host "isv_def"
/// count server_handle HH:MM`.
pub fn queue<'a>(t: &Tokens<'a>) -> Res<Queue<'a>> {
    if t.n < 2 {
        return Err("too few fields");
    }
    if let Some(d) = find_date(t, 2) {
        if d < 10 {
            return Err("too few fields before the date");
        }
        if !(t.quoted(d - 6) && t.quoted(d - 3)) {
            return Err("isv_def or project not quoted");
        }
        let (user, host) = user_host(t, 2, d - 7)?;
        return Ok(Queue {
            product: t.get(0),
            user,
            host,
            count: licenses(t.get(d - 5))?,
            when: need(when_at(t, d), "bad date")?,
        });
    }
    let when = need(final_time(t), "no MM/DD HH:MM:SS nor final HH:MM")?;
    let n = t.n;
    if n < 8 || !t.quoted(n - 4) {
        return Err("not the small format");
    }
    let (user, host) = user_host(t, 2, n - 5)?;
    Ok(Queue {
        product: t.get(0),
        user,
        host,
        count: licenses(t.get(n - 3))?,
        when,
    })
}

/// `DEQUE why product version user host "isv_def" count server_handle MM/DD HH:MM:SS[.f]`;
/// small: `DEQUE why count server_handle HH:MM`. Only the time is needed.
pub fn dequeue(t: &Tokens<'_>) -> Res<When> {
    if t.n < 4 {
        return Err("too few fields");
    }
    need(int(t.get(0)), "reason code is not a number")?;
    if let Some(d) = find_date(t, 1) {
        if d < 8 || !t.quoted(d - 3) {
            return Err("isv_def not where expected");
        }
        user_host(t, 3, d - 4)?;
        need(count(t.get(d - 2)), "count is not a number")?;
        return need(when_at(t, d), "bad date");
    }
    if t.n != 4 {
        return Err("no MM/DD HH:MM:SS, and not the small format");
    }
    need(count(t.get(1)), "count is not a number")?;
    need(final_time(t), "no final HH:MM")
}

/// `SHUTDOWN user host MM/DD HH:MM:SS`, `REREAD user host MM/DD HH:MM:SS`,
/// `TIMEJUMP ±minutes MM/DD HH:MM:SS`: fields, then the date pair at the end.
pub fn trailing_date(t: &Tokens<'_>, min_before: usize) -> Res<When> {
    let d = need(find_date(t, 0), "no MM/DD HH:MM:SS")?;
    if d < min_before || d + 2 != t.n {
        return Err("unexpected fields around the date");
    }
    need(when_at(t, d), "bad date")
}

/// `START hostname MM/DD/YYYY HH:MM[:SS]`, `END MM/DD/YYYY HH:MM[:SS]`, and the periodic
/// `MM/DD/YYYY HH:MM`: the last two tokens → (year, month, day, seconds).
pub fn full_stamp(t: &Tokens<'_>) -> Option<(i64, u32, u32, i64)> {
    if t.n < 2 {
        return None;
    }
    let (y, m, d) = full_date(t.get(t.n - 2))?;
    Some((y, m, d, time(t.get(t.n - 1))?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Tokens<'_> {
        Tokens::new(s.as_bytes()).expect("tokens")
    }

    #[test]
    fn tokens_keep_quoted_fields_whole() {
        let t = toks("a  \"b c\" \"\" d\t\"e\"f\" g");
        let all: Vec<&[u8]> = (0..t.n).map(|i| t.get(i)).collect();
        assert_eq!(
            all,
            vec![&b"a"[..], b"\"b c\"", b"\"\"", b"d", b"\"e\"f\"", b"g"]
        );
        assert_eq!(t.span(0, 3), b"a  \"b c\" \"\"");
        assert_eq!(unquote(b"\"\""), b"");
        assert_eq!(unquote(b"\"x y\""), b"x y");
        assert_eq!(unquote(b"\"open"), b"open");
        // An unterminated quote runs to the end of the line.
        assert_eq!(toks("\"a b").n, 1);
        let many = "x ".repeat(MAX_TOKENS + 1);
        assert!(Tokens::new(many.as_bytes()).is_none());
    }

    #[test]
    fn no_break_spaces_separate_fields() {
        let t = toks("a\u{a0}b \u{a0}\"c\u{a0}d\"\u{a0}é\u{a0}");
        let all: Vec<&[u8]> = (0..t.n).map(|i| t.get(i)).collect();
        assert_eq!(
            all,
            vec![&b"a"[..], b"b", "\"c\u{a0}d\"".as_bytes(), "é".as_bytes()]
        );
        assert_eq!(trim("\u{a0} x y\t\u{a0} ".as_bytes()), b"x y");
        assert_eq!(trim(b"  "), b"");
        assert_eq!(trim("\u{a0}".as_bytes()), b"");
        assert_eq!(
            split_first("OUT\u{a0}p 1".as_bytes()),
            (&b"OUT"[..], &b"p 1"[..])
        );
        assert_eq!(split_first(b"END"), (&b"END"[..], &b""[..]));
    }

    #[test]
    fn times_and_dates() {
        assert_eq!(time(b"00:00:04"), Some(4));
        assert_eq!(time(b"9:05"), Some(9 * 3600 + 300));
        assert_eq!(time(b"23:59:59.9999"), Some(86_399));
        assert_eq!(time(b"14:19:58.0"), Some(14 * 3600 + 19 * 60 + 58));
        for bad in [
            &b"24:00"[..],
            b"12:60",
            b"12:5",
            b"12:00:6",
            b"12:00:00.",
            b"12:00.5",
            b"1a:00",
            b"12:00:00:00",
            b"",
        ] {
            assert_eq!(time(bad), None, "{}", String::from_utf8_lossy(bad));
        }
        assert_eq!(month_day(b"09/04"), Some((9, 4)));
        assert_eq!(month_day(b"13/04"), None);
        assert_eq!(month_day(b"09/04/2025"), None);
        assert_eq!(full_date(b"09/04/2025"), Some((2025, 9, 4)));
        assert_eq!(full_date(b"09/04/25"), None);
        assert_eq!(int(b"-22"), Some(-22));
        assert_eq!(int(b"+15"), Some(15));
        assert_eq!(int(b"-"), None);
    }

    #[test]
    fn checkout_std_detailed_small() {
        let std = toks(
            "af_solver_addon 5.0 3 piyaphong.t ah18itpc0060 \"34E3\" 1 1 0 2a4 2a4 17a14 \"proj x\" \"\" \"\" 09/04 14:19:58",
        );
        let c = checkout(&std).expect("std");
        assert_eq!(c.product, b"af_solver_addon");
        assert_eq!(
            (c.user, c.host),
            (&b"piyaphong.t"[..], &b"ah18itpc0060"[..])
        );
        assert_eq!((c.count, c.handle), (1, &b"2a4"[..]));
        assert_eq!(c.project, Some(&b"proj x"[..]));
        assert_eq!(
            c.when,
            When::MonthDay {
                m: 9,
                d: 4,
                secs: 51_598
            }
        );
        let detailed = toks(
            "p 2.0 1 John Doe ws-7 \"\" 3 1 0 1f 1f 4c2 \"\" \"p\" \"2.0\" 12/31 23:59:59.5000 \"x64_w4 10.0\" \"C:\\Program Files\\p.exe\" 0 0 10.0.0.7",
        );
        let c = checkout(&detailed).expect("detailed");
        assert_eq!(
            (c.user, c.host, c.count),
            (&b"John Doe"[..], &b"ws-7"[..], 3)
        );
        assert_eq!(c.handle, b"1f");
        assert_eq!(
            c.when,
            When::MonthDay {
                m: 12,
                d: 31,
                secs: 86_399
            }
        );
        let small = toks("p 2.0 u h \"\" 2 1f 1f 10:05");
        let c = checkout(&small).expect("small");
        assert_eq!(
            (c.user, c.host, c.count, c.handle),
            (&b"u"[..], &b"h"[..], 2, &b"1f"[..])
        );
        assert_eq!(c.project, None);
        assert_eq!(c.when, When::TimeOnly { secs: 36_300 });
        // Empty user written as `""`.
        let c = checkout(&toks(
            "p 2.0 1 \"\" h \"\" 1 1 0 a a 1 \"\" \"\" \"\" 01/02 03:04:05",
        ))
        .expect("empty user");
        assert_eq!((c.user, c.host), (&b""[..], &b"h"[..]));
        assert!(
            checkout(&toks(
                "p 2.0 1 h \"\" 1 1 0 a a 1 \"\" \"\" \"\" 01/02 03:04:05"
            ))
            .is_err()
        );
        assert!(
            checkout(&toks(
                "p 2.0 1 u h \"\" x 1 0 a a 1 \"\" \"\" \"\" 01/02 03:04:05"
            ))
            .is_err()
        );
        assert!(checkout(&toks("p 2.0 1 u h \"\" 1 1 0 a a 1 \"\" \"\" \"\" 01/02")).is_err());
    }

    #[test]
    fn checkin_inuse_deny_queue() {
        let i = checkin(&toks(
            "1 af_company_string 5.0 piyaphong.t ah18itpc0060 \"x\" 1 3 0 465 09/04 01:00:01",
        ))
        .expect("in");
        assert_eq!(
            (i.why, i.product, i.handle),
            (1, Some(&b"af_company_string"[..]), &b"465"[..])
        );
        let i = checkin(&toks("4 1 1f 10:05")).expect("small in");
        assert_eq!((i.why, i.product, i.handle), (4, None, &b"1f"[..]));
        assert!(checkin(&toks("4 1 1f 10:05 x")).is_err());

        let u = inuse(&toks(
            "af_company_string 5.0 1 apichart.c aits25a1nb0300 \"5sW6\" 1 5e 5e a754 09/04 00:00:04",
        ))
        .expect("inuse");
        assert_eq!(
            (u.user, u.handle, u.count),
            (&b"apichart.c"[..], &b"5e"[..], 1)
        );

        let d = deny(&toks(
            "af_solver_addon 5.0 apichart.c aits25a1nb0300 \"FDF3\" 1 -22 1 485c 09/04 00:00",
        ))
        .expect("deny with pid");
        assert_eq!(
            (d.user, d.host, d.count, d.why, d.last_attempt),
            (&b"apichart.c"[..], &b"aits25a1nb0300"[..], 1, -22, true)
        );
        let d = deny(&toks("p 1.0 Jane Q Public \"\" \"\" 2 -25 0 01/02 03:04")).expect("no pid");
        assert_eq!(
            (d.user, d.host, d.count, d.why, d.last_attempt),
            (&b"Jane Q Public"[..], &b""[..], 2, -25, false)
        );

        let q = queue(&toks("p 1.0 u h \"\" 2 1a \"\" \"\" \"\" 01/02 03:04:05")).expect("que");
        assert_eq!((q.user, q.host, q.count), (&b"u"[..], &b"h"[..], 2));
        let q = queue(&toks("p 1.0 u h \"\" 2 1a 03:04")).expect("small que");
        assert_eq!(q.when, When::TimeOnly { secs: 11_040 });
        assert!(dequeue(&toks("6 p 1.0 u h \"\" 2 1a 01/02 03:04:05")).is_ok());
        assert!(dequeue(&toks("6 2 1a 03:04")).is_ok());
        assert!(dequeue(&toks("6 p 1.0 u h 2 1a 01/02 03:04:05")).is_err());
    }

    #[test]
    fn stamps() {
        assert_eq!(
            full_stamp(&toks("AITS25A1PC0040 09/04/2025 00:00:04")),
            Some((2025, 9, 4, 4))
        );
        assert_eq!(
            full_stamp(&toks("09/04/2025 23:36")),
            Some((2025, 9, 4, 84_960))
        );
        assert_eq!(full_stamp(&toks("09/04/2025")), None);
        assert!(trailing_date(&toks("automatic midnight 09/04 00:00:06"), 2).is_ok());
        assert!(trailing_date(&toks("+61 09/04 00:00:06"), 1).is_ok());
        assert!(trailing_date(&toks("09/04 00:00:06"), 1).is_err());
    }
}
