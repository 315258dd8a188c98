//! The grammar of one DSLS log entry (a line of `LicenseServer*.log`, or one row of the cloud
//! `getlogs` JSON): `YYYY/MM/DD HH:MM:SS:mmm <level> <CATEGORY> <message>`, and the messages that
//! carry facts. Everything borrows from the entry: nothing allocates.

use tally_plugin_sdk::civil::{DAY, checked_days};

/// The fixed head of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefix<'a> {
    /// Milliseconds since 1970-01-01T00:00:00 of the server's clock (local time or UTC, as the
    /// source says).
    pub ms: i64,
    /// `I`, `W`, `E`.
    pub level: u8,
    /// `STARTSERVER`, `LICENSESERV`, `USGTRACING`, ...
    pub category: &'a [u8],
    /// The rest, leading spaces removed (`STATISTICS` and `USGTRACING` are followed by two).
    pub msg: &'a [u8],
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // Checked: a run of digits longer than a `u32` holds is no number either.
    b.iter().try_fold(0u32, |n, &d| {
        n.checked_mul(10)?.checked_add(u32::from(d - b'0'))
    })
}

/// Parses the head of an entry; `None` when it does not start with a valid DSLS time stamp,
/// level and category.
pub fn prefix(l: &[u8]) -> Option<Prefix<'_>> {
    // 2025/08/18 08:28:06:989 I STARTSERVER …
    // 0123456789012345678901234567
    if l.len() < 28 {
        return None;
    }
    let seps = [
        (4, b'/'),
        (7, b'/'),
        (10, b' '),
        (13, b':'),
        (16, b':'),
        (19, b':'),
        (23, b' '),
        (25, b' '),
    ];
    if seps.iter().any(|&(i, c)| l[i] != c) {
        return None;
    }
    let y = digits(&l[0..4])?;
    let mo = digits(&l[5..7])?;
    let d = digits(&l[8..10])?;
    let (h, mi, s, ms) = (
        digits(&l[11..13])?,
        digits(&l[14..16])?,
        digits(&l[17..19])?,
        digits(&l[20..23])?,
    );
    if h > 23 || mi > 59 || s > 59 {
        return None;
    }
    let day = checked_days(i64::from(y), mo, d)?;
    let level = l[24];
    if !level.is_ascii_uppercase() {
        return None;
    }
    let rest = &l[26..];
    let end = rest
        .iter()
        .position(|&b| !(b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'))
        .unwrap_or(rest.len());
    if end < 2 || (end < rest.len() && rest[end] != b' ') {
        return None;
    }
    let msg = &rest[end..];
    let msg = &msg[msg.iter().take_while(|&&b| b == b' ').count()..];
    let secs = day * DAY + i64::from(h * 3600 + mi * 60 + s);
    Some(Prefix {
        ms: secs * 1000 + i64::from(ms),
        level,
        category: &rest[..end],
        msg,
    })
}

/// The `USGTRACING` events that open and close a license grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Grant,
    /// The client released the license.
    Detachment,
    /// The server reclaimed it from a client that stopped answering.
    TimeOut,
}

/// One `USGTRACING` record:
/// `<event>!!<feature>!<customer>!<session>!<editor>!<model>!<qty>!<STD>!<HOST (id)>!<ip>!<user>!<user id>!<exe>!<client ver>!<ALC>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage<'a> {
    pub event: Event,
    pub feature: &'a [u8],
    pub session: &'a [u8],
    pub editor: &'a [u8],
    pub count: u32,
    pub host: &'a [u8],
    pub user: &'a [u8],
}

/// What a `USGTRACING` message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tracing<'a> {
    Usage(Usage<'a>),
    /// Well-formed, but an event name this importer does not know.
    Other(&'a [u8]),
}

const USAGE_FIELDS: usize = 16;

/// Parses a `USGTRACING` message. The fields used are read from the left; the executable path
/// near the end is the only free text, so extra `!` there do no harm.
pub fn tracing(msg: &[u8]) -> Result<Tracing<'_>, &'static str> {
    let mut f: [&[u8]; 12] = [&[]; 12];
    let mut n = 0;
    for part in msg.split(|&b| b == b'!') {
        if n < f.len() {
            f[n] = part;
        }
        n += 1;
    }
    if n < USAGE_FIELDS {
        return Err("fewer than 16 `!`-separated fields");
    }
    if !f[1].is_empty() {
        return Err("no `!!` after the event name");
    }
    let event = match f[0] {
        b"Grant" => Event::Grant,
        b"Detachment" => Event::Detachment,
        b"TimeOut" => Event::TimeOut,
        other => return Ok(Tracing::Other(other)),
    };
    let (feature, session) = (trim(f[2]), trim(f[4]));
    if feature.is_empty() {
        return Err("empty feature");
    }
    if session.is_empty() {
        return Err("empty session id");
    }
    // The host takes no record of 0 licenses.
    let count = digits(trim(f[7]))
        .filter(|&n| n > 0)
        .ok_or("quantity is not a positive number")?;
    Ok(Tracing::Usage(Usage {
        event,
        feature,
        session,
        editor: trim(f[5]),
        count,
        host: client_host(f[9]),
        user: trim(f[11]),
    }))
}

/// `AH21ITNB0540 (420A1478276AA058-0a0a145f.4)` → `AH21ITNB0540`.
fn client_host(c: &[u8]) -> &[u8] {
    let c = trim(c);
    if c.ends_with(b")")
        && let Some(open) = memchr::memmem::rfind(c, b" (")
    {
        return trim(&c[..open]);
    }
    c
}

/// A refused request:
/// `<FEATURE>[(<customer>)] not granted, <reason> ( from client <HOST> (<id>)/<ip>|<user>|<user id>|<exe> )`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal<'a> {
    pub feature: &'a [u8],
    pub reason: &'a [u8],
    pub host: &'a [u8],
    pub user: &'a [u8],
}

/// `None` when the message is not a refusal at all; `Err` when it is one but cannot be read.
pub fn refusal(msg: &[u8]) -> Option<Result<Refusal<'_>, &'static str>> {
    let at = memchr::memmem::find(msg, b" not granted")?;
    let mut feature = &msg[..at];
    if feature.is_empty() || feature.contains(&b' ') {
        return None;
    }
    // The cloud names the customer after the feature: `CAC(R1132103523417)`.
    if feature.ends_with(b")")
        && let Some(open) = memchr::memchr(b'(', feature)
        && open > 0
    {
        feature = &feature[..open];
    }
    let rest = &msg[at + b" not granted".len()..];
    let rest = rest.strip_prefix(b",").unwrap_or(rest);
    Some((|| {
        let from =
            memchr::memmem::find(rest, b"( from client ").ok_or("no `( from client …)` part")?;
        let reason = trim(&rest[..from]);
        let client = trim(&rest[from + b"( from client ".len()..]);
        let client = trim(client.strip_suffix(b")").unwrap_or(client));
        let mut parts = client.split(|&b| b == b'|');
        let machine = parts.next().unwrap_or_default();
        let user = trim(parts.next().ok_or("no `|user|` after the client")?);
        if user.is_empty() {
            return Err("empty user name");
        }
        // `<HOST> (<id>)/<ip>`: the address follows the last slash.
        let machine = match memchr::memrchr(b'/', machine) {
            Some(slash) => &machine[..slash],
            None => machine,
        };
        Ok(Refusal {
            feature,
            reason,
            host: client_host(machine),
            user,
        })
    })())
}

/// A UTC offset in seconds from a time-zone name the cloud may report: `UTC`, `GMT`, `Z`,
/// `Etc/UTC`, `UTC+7`, `GMT-05:00`, `+0530`. Region names (`Europe/Paris`) need a zone database
/// the guest does not carry: `None`.
pub fn zone_offset(z: &[u8]) -> Option<i64> {
    let z = trim(z);
    let z = z.strip_prefix(b"Etc/").unwrap_or(z);
    let rest = [&b"UTC"[..], b"GMT", b"Z"]
        .iter()
        .find_map(|p| z.strip_prefix(*p))
        .unwrap_or(z);
    if rest.is_empty() {
        return (!z.is_empty()).then_some(0);
    }
    let sign = match rest[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let t = &rest[1..];
    let (h, m) = match t.len() {
        1 | 2 => (digits(t)?, 0),
        4 => (digits(&t[..2])?, digits(&t[2..])?),
        5 if t[2] == b':' => (digits(&t[..2])?, digits(&t[3..])?),
        _ => return None,
    };
    (h <= 14 && m < 60).then(|| sign * i64::from(h * 3600 + m * 60))
}

pub fn trim(b: &[u8]) -> &[u8] {
    let s = b.iter().take_while(|c| c.is_ascii_whitespace()).count();
    let e = b.len()
        - b[s..]
            .iter()
            .rev()
            .take_while(|c| c.is_ascii_whitespace())
            .count();
    &b[s..e]
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tally_plugin_sdk::civil::days_from_civil;

    #[test]
    fn prefixes() {
        let p = prefix(b"2025/08/18 08:28:06:989 I STARTSERVER Server version 6.426.0").unwrap();
        assert_eq!(
            p.ms,
            (days_from_civil(2025, 8, 18) * DAY + 8 * 3600 + 28 * 60 + 6) * 1000 + 989
        );
        assert_eq!((p.level, p.category), (b'I', &b"STARTSERVER"[..]));
        assert_eq!(p.msg, b"Server version 6.426.0");
        // Two spaces after the category; a category with nothing after it.
        let p = prefix(b"2025/09/01 00:00:00:063 I STATISTICS  File x").unwrap();
        assert_eq!((p.category, p.msg), (&b"STATISTICS"[..], &b"File x"[..]));
        assert_eq!(
            prefix(b"2025/09/01 00:00:00:063 W RUNTIMEDATA")
                .unwrap()
                .msg,
            b""
        );
        for bad in [
            &b"2025/02/29 00:00:00:063 I STATISTICS x"[..], // no such day
            b"2025/09/01 24:00:00:063 I STATISTICS x",
            b"2025/09/01 00:00:00.063 I STATISTICS x",
            b"2025-09-01 00:00:00:063 I STATISTICS x",
            b"2025/09/01 00:00:00:063 i STATISTICS x",
            b"2025/09/01 00:00:00:063 I statistics x",
            b"2025/09/01 00:00:00:063 I STATISTICS:x",
            b"2025/09/01 00:00:0a:063 I STATISTICS x",
            b"2025/09/01 00:00:00:063",
            b"10:00:00 (lmgrd) TIMESTAMP 1/2/2024",
        ] {
            assert_eq!(prefix(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn usage_records() {
        let m = b"Grant!!CAC-MCE!R1!48000!Dassault Systemes V5!ConcurrentUser!2!STD!PC 7 (4328-0a0a.18)!1.2.3.4!j.doe!J.DOE@X!C:\\a!b\\CNEXT.exe!5.34!ALC";
        let Tracing::Usage(u) = tracing(m).unwrap() else {
            panic!()
        };
        assert_eq!(u.event, Event::Grant);
        assert_eq!(
            (u.feature, u.session, u.editor, u.count, u.host, u.user),
            (
                &b"CAC-MCE"[..],
                &b"48000"[..],
                &b"Dassault Systemes V5"[..],
                2,
                &b"PC 7"[..],
                &b"j.doe"[..]
            )
        );
        assert_eq!(
            tracing(b"Recovery!!F!R!S!E!M!1!STD!H!ip!u!uid!exe!v!ALC").unwrap(),
            Tracing::Other(b"Recovery")
        );
        assert!(tracing(b"Grant!!F!R!S!E!M!1!STD!H").is_err());
        assert!(tracing(b"Grant!x!F!R!S!E!M!1!STD!H!ip!u!uid!exe!v!ALC").is_err());
        assert!(tracing(b"Grant!!F!R!S!E!M!one!STD!H!ip!u!uid!exe!v!ALC").is_err());
        // Found by fuzzing: a grant of 0 licenses, which the host refuses.
        assert!(tracing(b"Grant!!F!R!S!E!M!0!STD!H!ip!u!uid!exe!v!ALC").is_err());
        // And a quantity past `u32::MAX`, which overflowed.
        assert!(tracing(b"Grant!!F!R!S!E!M!99999999999!STD!H!ip!u!uid!exe!v!ALC").is_err());
        assert_eq!(digits(b"4294967295"), Some(u32::MAX));
        assert!(tracing(b"Grant!!F!R!!E!M!1!STD!H!ip!u!uid!exe!v!ALC").is_err());
    }

    #[test]
    fn refusals() {
        let r = refusal(b"CAC-MCE not granted, no more available license ( from client AH21-1 (420A-0a0a145f.4)/10.10.20.95|kanakorn.t|K@A|C:\\P\\CNEXT.exe )")
            .unwrap()
            .unwrap();
        assert_eq!(
            (r.feature, r.reason, r.host, r.user),
            (
                &b"CAC-MCE"[..],
                &b"no more available license"[..],
                &b"AH21-1"[..],
                &b"kanakorn.t"[..]
            )
        );
        let r = refusal(
            b"CAC(R113) not granted, user x.y not authorized ( from client H (1)/ip|x.y|X|e )",
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (r.feature, r.reason),
            (&b"CAC"[..], &b"user x.y not authorized"[..])
        );
        assert!(refusal(b"Licensing service started").is_none());
        assert!(
            refusal(b"CAC not granted, no more available license")
                .unwrap()
                .is_err()
        );
        assert!(
            refusal(b"CAC not granted, x ( from client H (1)/ip )")
                .unwrap()
                .is_err()
        );
    }

    #[test]
    fn zones() {
        for (z, off) in [
            ("UTC", 0),
            ("GMT", 0),
            ("Z", 0),
            ("Etc/UTC", 0),
            ("UTC+7", 25_200),
            ("GMT-05:00", -18_000),
            ("+0530", 19_800),
            ("UTC+05:45", 20_700),
        ] {
            assert_eq!(zone_offset(z.as_bytes()), Some(off), "{z}");
        }
        for z in ["", "Asia/Bangkok", "UTC+", "UTC+25", "CEST", "UTC+7:3"] {
            assert_eq!(zone_offset(z.as_bytes()), None, "{z}");
        }
    }
}
