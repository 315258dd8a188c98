//! The grammar of one line of an LM-X server log: `[YYYY-MM-DD HH:MM:SS] <message>`, an empty
//! message written as `[YYYY-MM-DD HH:MM:SS]` with no trailing space.
//!
//! Messages verified against the corpus sample (LM-X License Server v4.9.23, "Log format:
//! Normal"): the banner `LM-X License Server v<version> build <build> on <host> (<platform>)`,
//! `Copyright …`, `Website: …`, `License server has pid <n>.`, `Serving licenses for vendor
//! <VENDOR>.`, `WARNING: …`, `License server using <TCP|UDP> <IPv4|IPv6> port <n>.`,
//! `Reading licenses...`, `License file(s):` followed by one path per line, `Log file path: …`,
//! `Log to stdout: …`, `Log format: …`, `Configuration file path: …`, `Serving following
//! features:` followed by one feature per line (`<name> (v<version>) (<n> license(s)) shared
//! on: <share> license type: <type>`) and an empty message, `HostId: …`, `To administrate the
//! license server …`, `Ready to serve...`.

use tally_plugin_sdk::civil::checked_days;

/// A line's time and message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefix<'a> {
    /// Days since 1970-01-01 (the server's local date).
    pub day: i64,
    /// Seconds since local midnight.
    pub secs: i64,
    /// The message, without the separating space and trailing blanks.
    pub msg: &'a [u8],
}

fn digits<const N: usize>(b: &[u8]) -> Option<u32> {
    (b.len() == N && b.iter().all(u8::is_ascii_digit))
        .then(|| b.iter().fold(0u32, |v, &d| v * 10 + u32::from(d - b'0')))
}

pub fn trim_end(b: &[u8]) -> &[u8] {
    let e = b
        .iter()
        .rev()
        .take_while(|&&c| c == b' ' || c == b'\t')
        .count();
    &b[..b.len() - e]
}

/// `Ok` with the prefix; `Err(None)` when the line has no `[` prefix at all, `Err(Some(why))`
/// when it has one that is not a valid time.
pub fn prefix(l: &[u8]) -> Result<Prefix<'_>, Option<&'static str>> {
    if l.first() != Some(&b'[') {
        return Err(None);
    }
    // `[2021-05-26 13:38:30]`: 21 bytes.
    let ts = l.get(1..20).ok_or(Some("timestamp cut short"))?;
    if l.get(20) != Some(&b']') {
        return Err(Some("not `[YYYY-MM-DD HH:MM:SS]`"));
    }
    let shape_ok =
        ts[4] == b'-' && ts[7] == b'-' && ts[10] == b' ' && ts[13] == b':' && ts[16] == b':';
    let parts = (
        digits::<4>(&ts[0..4]),
        digits::<2>(&ts[5..7]),
        digits::<2>(&ts[8..10]),
        digits::<2>(&ts[11..13]),
        digits::<2>(&ts[14..16]),
        digits::<2>(&ts[17..19]),
    );
    let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(s)) = parts else {
        return Err(Some("not `[YYYY-MM-DD HH:MM:SS]`"));
    };
    if !shape_ok {
        return Err(Some("not `[YYYY-MM-DD HH:MM:SS]`"));
    }
    let day = checked_days(i64::from(y), mo, d).ok_or(Some("no such date"))?;
    if h > 23 || mi > 59 || s > 59 {
        return Err(Some("no such time of day"));
    }
    let rest = &l[21..];
    let msg = rest.strip_prefix(b" ").unwrap_or(rest);
    Ok(Prefix {
        day,
        secs: i64::from(h * 3600 + mi * 60 + s),
        msg: trim_end(msg),
    })
}

/// What a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Msg<'a> {
    /// `[ts]` alone: ends a list.
    Empty,
    /// `LM-X License Server v4.9.23 build 74220bf8 on softing_licsrv (Linux_x64)`.
    Banner,
    /// `Serving licenses for vendor SOFTING.` (the vendor name).
    Vendor(&'a [u8]),
    /// `WARNING: …` (verified); `ERROR: …` (UNVERIFIED: by analogy, not seen in a sample).
    Warning,
    /// `License file(s):`, with what follows the colon on the same line (normally nothing).
    LicenseFiles(&'a [u8]),
    /// `Serving following features:`.
    Features,
    /// A known informational line without a fact to keep.
    Info,
    /// UNVERIFIED: a message saying the server shuts down. No sample shows LM-X's wording; any
    /// message mentioning `shut down`, `shutting down` or `shutdown` is taken for it.
    Stop,
    /// UNVERIFIED: a message about a checkout, checkin, denial, borrow or queue (by keyword).
    /// No sample shows LM-X's grammar for them: reported, not imported.
    Usage,
    Unknown,
}

/// Informational messages of the sample, matched at the start of the message.
const INFO: &[&[u8]] = &[
    b"Copyright ",
    b"Website:",
    b"License server has pid ",
    b"License server using ",
    b"Reading licenses",
    b"Log file path:",
    b"Log to stdout:",
    b"Log format:",
    b"Configuration file path:",
    b"HostId:",
    b"To administrate the license server",
    b"Ready to serve",
];

/// UNVERIFIED keywords of usage lines, matched in the lower-cased message.
const USAGE: &[&[u8]] = &[
    b"checkout",
    b"check-out",
    b"check out",
    b"checked out",
    b"checkin",
    b"check-in",
    b"check in",
    b"checked in",
    b"denied",
    b"denial",
    b"borrow",
    b"queued",
];

/// UNVERIFIED keywords of a server stop, matched in the lower-cased message.
const STOP: &[&[u8]] = &[b"shut down", b"shutting down", b"shutdown"];

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(hay, needle).is_some()
}

pub fn classify(msg: &[u8]) -> Msg<'_> {
    if msg.is_empty() {
        return Msg::Empty;
    }
    if msg.starts_with(b"LM-X License Server v") {
        return Msg::Banner;
    }
    if let Some(v) = msg.strip_prefix(b"Serving licenses for vendor ") {
        let v = v.strip_suffix(b".").unwrap_or(v);
        if !v.is_empty() && !v.contains(&b' ') {
            return Msg::Vendor(v);
        }
    }
    if let Some(rest) = msg.strip_prefix(b"License file(s):") {
        return Msg::LicenseFiles(rest.strip_prefix(b" ").unwrap_or(rest));
    }
    if msg == b"Serving following features:" {
        return Msg::Features;
    }
    if msg.starts_with(b"WARNING:") {
        return Msg::Warning;
    }
    if INFO.iter().any(|p| msg.starts_with(p)) {
        return Msg::Info;
    }
    let lower = msg.to_ascii_lowercase();
    if USAGE.iter().any(|k| contains(&lower, k)) {
        return Msg::Usage;
    }
    if msg.starts_with(b"ERROR:") {
        return Msg::Warning;
    }
    if STOP.iter().any(|k| contains(&lower, k)) {
        return Msg::Stop;
    }
    Msg::Unknown
}

/// An entry of the `License file(s):` list: a path (`/`, `\`, `.lic`) or a `port@host`.
pub fn is_license_location(msg: &[u8]) -> bool {
    msg.contains(&b'/')
        || msg.contains(&b'\\')
        || msg.to_ascii_lowercase().ends_with(b".lic")
        || msg
            .iter()
            .position(|&b| b == b'@')
            .is_some_and(|at| at > 0 && msg[..at].iter().all(u8::is_ascii_digit))
}

/// An entry of the `Serving following features:` list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Feature<'a> {
    pub name: &'a [u8],
    pub version: &'a [u8],
    pub count: u64,
}

/// `<name> (v<version>) (<n> license(s))[ <more>]`.
pub fn feature(msg: &[u8]) -> Option<Feature<'_>> {
    let at = memchr::memmem::find(msg, b" (v")?;
    let name = &msg[..at];
    let rest = &msg[at + 3..];
    let close = memchr::memchr(b')', rest)?;
    let version = &rest[..close];
    let rest = rest[close + 1..].strip_prefix(b" (")?;
    let sp = memchr::memchr(b' ', rest)?;
    let n = &rest[..sp];
    let tail = rest[sp..].strip_prefix(b" license(s))")?;
    if name.is_empty()
        || name.contains(&b' ')
        || version.is_empty()
        || n.is_empty()
        || n.len() > 19
        || !n.iter().all(u8::is_ascii_digit)
        || !(tail.is_empty() || tail.starts_with(b" "))
    {
        return None;
    }
    let count = n.iter().fold(0u64, |v, &d| v * 10 + u64::from(d - b'0'));
    Some(Feature {
        name,
        version,
        count,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tally_plugin_sdk::civil::days_from_civil;

    #[test]
    fn prefixes() {
        let p = prefix(b"[2021-05-26 13:38:30] Ready to serve...  ").unwrap();
        assert_eq!(p.day, days_from_civil(2021, 5, 26));
        assert_eq!(p.secs, 13 * 3600 + 38 * 60 + 30);
        assert_eq!(p.msg, b"Ready to serve...");
        assert_eq!(prefix(b"[2021-05-26 13:38:30]").unwrap().msg, b"");
        assert_eq!(prefix(b"Ready"), Err(None));
        assert_eq!(prefix(b""), Err(None));
        assert_eq!(
            prefix(b"[2021-05-26 13:38]"),
            Err(Some("timestamp cut short"))
        );
        assert_eq!(
            prefix(b"[2021-05-26 13:38] Ready"),
            Err(Some("not `[YYYY-MM-DD HH:MM:SS]`"))
        );
        assert_eq!(prefix(b"[2021-05-26"), Err(Some("timestamp cut short")));
        assert_eq!(
            prefix(b"[2021-13-26 13:38:30] x"),
            Err(Some("no such date"))
        );
        assert_eq!(
            prefix(b"[2021-05-26 24:00:00] x"),
            Err(Some("no such time of day"))
        );
        assert_eq!(
            prefix(b"[2021/05/26 13:38:30] x"),
            Err(Some("not `[YYYY-MM-DD HH:MM:SS]`"))
        );
        assert_eq!(
            prefix(b"[2021-05-26 1a:38:30] x"),
            Err(Some("not `[YYYY-MM-DD HH:MM:SS]`"))
        );
    }

    #[test]
    fn messages() {
        assert_eq!(
            classify(b"LM-X License Server v4.9.23 build 74220bf8 on softing_licsrv (Linux_x64)"),
            Msg::Banner
        );
        assert_eq!(
            classify(b"Serving licenses for vendor SOFTING."),
            Msg::Vendor(b"SOFTING")
        );
        assert_eq!(classify(b"License file(s):"), Msg::LicenseFiles(b""));
        assert_eq!(classify(b"Serving following features:"), Msg::Features);
        assert_eq!(
            classify(b"WARNING: It is not recommended to run license server as root."),
            Msg::Warning
        );
        assert_eq!(
            classify(b"License server using TCP IPv6 port 6200."),
            Msg::Info
        );
        assert_eq!(classify(b"Ready to serve..."), Msg::Info);
        assert_eq!(classify(b"Checkout by jdoe@ws1"), Msg::Usage);
        assert_eq!(classify(b"ERROR: cannot bind port"), Msg::Warning);
        assert_eq!(classify(b"License server shutting down"), Msg::Stop);
        assert_eq!(classify(b"Something new"), Msg::Unknown);
        assert_eq!(classify(b""), Msg::Empty);
    }

    #[test]
    fn license_locations() {
        assert!(is_license_location(b"/licsrv/licenses/<license_file>.lic"));
        assert!(is_license_location(
            b"C:\\Program Files\\X-Formation\\a.lic"
        ));
        assert!(is_license_location(b"license.LIC"));
        assert!(is_license_location(b"6200@licsrv"));
        assert!(!is_license_location(b"Something new"));
        assert!(!is_license_location(b"user@host"));
    }

    #[test]
    fn features() {
        let f = feature(b"edgeConnector (v1.0) (5 license(s)) shared on: HOST USER VIRTUAL license type: additive")
            .unwrap();
        assert_eq!(
            (f.name, f.version, f.count),
            (&b"edgeConnector"[..], &b"1.0"[..], 5)
        );
        let f = feature(b"HWUnits (v2023.1) (2147483647 license(s))").unwrap();
        assert_eq!(f.count, 2_147_483_647);
        assert_eq!(feature(b"edgeConnector (v1.0) (five license(s))"), None);
        assert_eq!(feature(b"edgeConnector (v1.0)"), None);
        assert_eq!(feature(b"HostId: abc"), None);
        assert_eq!(feature(b" (v1.0) (5 license(s))"), None);
    }
}
