//! The grammar of one lmstat line (FORMATS.md §1), on a line whose whitespace runs are already
//! single spaces. Pure functions: `None` when the line is not of that kind.

use tally_plugin_sdk::ReservationTarget;
use tally_plugin_sdk::civil::DAY;

/// The counts of a `Users of <feature>: (…)` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Counts<'a> {
    Total {
        issued: u32,
        in_use: u32,
    },
    /// `(Uncounted, node-locked)`.
    Uncounted,
    /// `(Error: 1 licenses, unsupported by licensed server)`: the text after `Error: `.
    Error(&'a str),
}

/// `Users of <feature>: (<counts>)`, or `Users of <feature>: <error> (-5,222)` when the
/// server cannot list it.
pub fn users_of(l: &str) -> Option<(&str, Counts<'_>)> {
    let (name, body) = l.strip_prefix("Users of ")?.split_once(": ")?;
    if name.is_empty() || name.contains(' ') {
        return None;
    }
    let Some(body) = body.strip_prefix('(').and_then(|b| b.strip_suffix(')')) else {
        return has_error_code(body).then_some((name, Counts::Error(body)));
    };
    if body.starts_with("Uncounted") {
        return Some((name, Counts::Uncounted));
    }
    if let Some(e) = body.strip_prefix("Error: ") {
        return Some((name, Counts::Error(e)));
    }
    let (issued, in_use) = body.split_once("; ")?;
    let total = |s: &str, what: &str| {
        let n = s.strip_prefix("Total of ")?;
        let (n, rest) = licenses_and(n)?;
        (rest == what).then_some(n)
    };
    Some((
        name,
        Counts::Total {
            issued: total(issued, "issued")?,
            in_use: total(in_use, "in use")?,
        },
    ))
}

/// `N license[s][ rest]` → `(N, rest)`; singular and plural are both written for any N.
fn licenses_and(s: &str) -> Option<(u32, &str)> {
    let (n, rest) = s.split_once(' ')?;
    let rest = rest
        .strip_prefix("licenses")
        .or_else(|| rest.strip_prefix("license"))?;
    Some((digits(n)?, rest.trim_start()))
}

/// `N license[s]` exactly.
fn licenses(s: &str) -> Option<u32> {
    licenses_and(s).and_then(|(n, rest)| rest.is_empty().then_some(n))
}

fn digits<T: std::str::FromStr>(s: &str) -> Option<T> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// A pool header: `"<feature>" v<version>, vendor: <vendor>[, expiry: <date>]`. One per
/// INCREMENT line the server serves the feature from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header<'a> {
    pub name: &'a str,
    pub version: &'a str,
    pub vendor: Option<&'a str>,
    pub expiry: Option<&'a str>,
}

pub fn header(l: &str) -> Option<Header<'_>> {
    let (name, rest) = l.strip_prefix('"')?.split_once('"')?;
    let mut fields = rest.split(',').map(str::trim);
    let version = fields.next()?.strip_prefix('v')?;
    let mut h = Header {
        name,
        version,
        vendor: None,
        expiry: None,
    };
    for f in fields {
        match f.split_once(": ")? {
            ("vendor", v) => h.vendor = Some(v),
            ("expiry", v) => h.expiry = Some(v),
            _ => {}
        }
    }
    (!name.is_empty() && !version.contains(' ')).then_some(h)
}

/// The license-type line under a pool header.
pub fn license_kind(l: &str) -> Option<tally_plugin_sdk::FeatureKind> {
    use tally_plugin_sdk::FeatureKind as K;
    // Tried on every user line: no copy of the line.
    let starts = |p: &str| l.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p));
    if starts("floating license") {
        Some(K::Floating)
    } else if starts("uncounted nodelocked license") {
        Some(K::Uncounted)
    } else if starts("nodelocked license") {
        Some(K::NodeLocked)
    } else {
        None
    }
}

/// `<N> RESERVATION[s] for <KIND> <target> (<server>/<port>)`.
pub fn reservation(l: &str) -> Option<(u32, ReservationTarget, &str)> {
    let (n, rest) = l.split_once(' ')?;
    let rest = rest
        .strip_prefix("RESERVATIONs for ")
        .or_else(|| rest.strip_prefix("RESERVATION for "))?;
    let (kind, rest) = rest.split_once(' ')?;
    let target = match rest.rfind(" (") {
        Some(i) if rest.ends_with(')') => &rest[..i],
        _ => rest,
    };
    let kind = match kind.to_ascii_uppercase().as_str() {
        "USER" => ReservationTarget::User,
        "HOST" => ReservationTarget::Host,
        "DISPLAY" => ReservationTarget::Display,
        "GROUP" => ReservationTarget::Group,
        "HOST_GROUP" => ReservationTarget::HostGroup,
        "INTERNET" => ReservationTarget::Internet,
        "PROJECT" => ReservationTarget::Project,
        _ => ReservationTarget::Other,
    };
    // The host takes no reservation of 0 licenses.
    Some((digits(n).filter(|&n| n > 0)?, kind, target))
}

/// A user line cut at its fixed part: `<who> (v<version>) (<server>/<port> <handle>)<tail>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserLine<'a> {
    /// User, host, display and whatever the vendor adds, as written.
    pub who: &'a str,
    pub version: &'a str,
    pub handle: &'a str,
    pub tail: &'a str,
}

/// Finds the fixed part from the right: a display may hold anything, even ` (v`.
pub fn user_line(l: &str) -> Option<UserLine<'_>> {
    let mut end = l.len();
    while let Some(i) = l[..end].rfind(" (v") {
        if let Some(u) = user_line_at(l, i) {
            return Some(u);
        }
        end = i;
    }
    None
}

fn user_line_at(l: &str, i: usize) -> Option<UserLine<'_>> {
    let (version, rest) = l[i + 3..].split_once(") (")?;
    let (server, tail) = rest.split_once(')')?;
    let (at, handle) = server.split_once(' ')?;
    let ok = !version.is_empty()
        && !version.contains([' ', '(', ')'])
        && at.contains('/')
        && !handle.is_empty()
        && !handle.contains(' ');
    ok.then_some(UserLine {
        who: &l[..i],
        version,
        handle,
        tail,
    })
}

/// What follows a user line's fixed part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tail<'a> {
    Start {
        /// The weekday lmstat prints before the date (`Thu`), when it does.
        weekday: Option<&'a str>,
        date: &'a str,
        time: &'a str,
        count: u32,
        linger: Option<Linger>,
        /// A part of the tail none of the known suffixes matches.
        unread: Option<&'a str>,
    },
    /// `queued for N license[s]`.
    Queued(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Linger {
    /// Seconds still to run (the first number of `N / M`), or the linger period.
    pub secs: u32,
    pub borrowed: bool,
}

/// `, start <Dow> <M>/<D> <H>:<MM>[, N licenses][, PID: N][ (linger: N[ / M])]` or
/// ` queued for N license[s]`.
pub fn tail(t: &str) -> Option<Tail<'_>> {
    let mut s = t.trim();
    let mut linger = None;
    if let Some(i) = s.rfind("(linger: ").filter(|_| s.ends_with(')')) {
        linger = Some(parse_linger(&s[i + 9..s.len() - 1])?);
        s = s[..i].trim_end();
    }
    // The host takes no checkout or queued request of 0 licenses.
    if let Some(q) = s.strip_prefix("queued for ") {
        return licenses(q).filter(|&n| n > 0).map(Tail::Queued);
    }
    let mut parts = s.strip_prefix(", start ")?.split(", ");
    let when: Vec<&str> = parts.next()?.split(' ').collect();
    let (weekday, date, time) = match when[..] {
        [weekday, date, time] => (Some(weekday), date, time),
        [date, time] => (None, date, time),
        _ => return None,
    };
    let (mut count, mut unread) = (1, None);
    for p in parts {
        if let Some(n) = licenses(p) {
            count = (n > 0).then_some(n)?;
        } else if p.strip_prefix("PID: ").and_then(digits::<u64>).is_none() {
            unread = unread.or(Some(p));
        }
    }
    Some(Tail::Start {
        weekday,
        date,
        time,
        count,
        linger,
        unread,
    })
}

/// `N` or `N / M`. FlexNet borrows a license by checking it out with a linger of the borrow
/// period: newer lmstat shows such a checkout as `remaining / period`, older ones only the
/// period. A LINGER option keeps a license for minutes or hours, so a plain linger of a day or
/// more is a borrow as well.
fn parse_linger(s: &str) -> Option<Linger> {
    match s.split_once(" / ") {
        Some((left, total)) => {
            digits::<u32>(total)?;
            Some(Linger {
                secs: digits(left)?,
                borrowed: true,
            })
        }
        None => {
            let secs: u32 = digits(s)?;
            Some(Linger {
                secs,
                borrowed: i64::from(secs) >= DAY,
            })
        }
    }
}

/// User, host and display of a user line's `who`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Who {
    pub user: String,
    pub host: String,
    pub display: Option<String>,
    /// The split is a guess (a name with spaces and nothing that marks the display).
    pub guessed: bool,
}

/// Splits `user host display [vendor data]`. Names can hold spaces, so the split is read from
/// the fields that cannot be part of a name: a display (`/dev/tty`, `host:0.0`) ends the host
/// before it, whatever the words before; a display equal to the host (Windows) ends the line.
/// See the cases in the tests.
pub fn who(who: &str, version: &str) -> Option<Who> {
    let mut w: Vec<&str> = who.split(' ').filter(|s| !s.is_empty()).collect();
    // Some daemons repeat the requested version before `(v…)`.
    if w.len() >= 4 && w.last() == Some(&version) {
        w.pop();
    }
    let plain = |user: &str, host: &str, display: Option<&str>| Who {
        user: user.into(),
        host: host.into(),
        display: display.map(Into::into),
        guessed: false,
    };
    let n = w.len();
    let display_at = (2..n).find(|&i| is_display(w[i]));
    Some(match (&w[..], display_at) {
        ([] | [_], _) => return None,
        (&[user, host], _) => plain(user, host, None),
        (&[user, host, display], _) => plain(user, host, Some(display)),
        // Windows: the display is the host's name, the user name has spaces.
        _ if w[n - 2].eq_ignore_ascii_case(w[n - 1]) => Who {
            user: w[..n - 2].join(" "),
            ..plain("", w[n - 2], Some(w[n - 1]))
        },
        // The first display-shaped field: the host is the word before it, the user all words
        // before that; what follows is the vendor's data.
        (_, Some(i)) => Who {
            user: w[..i - 1].join(" "),
            ..plain("", w[i - 1], Some(w[i]))
        },
        // Vendor data (`feature=x`, `MSCONE:ADAMS_View`) after the third word: the usual three.
        (&[user, host, display, ..], None) if w[3..].iter().any(|x| x.contains([':', '='])) => {
            plain(user, host, Some(display))
        }
        _ => Who {
            user: w[..n - 2].join(" "),
            guessed: true,
            ..plain("", w[n - 2], Some(w[n - 1]))
        },
    })
}

/// A terminal (`/dev/pts/1`) or an X display (`host:0.0`, `host-01:0895184_3`): never part of
/// a user's or host's name.
fn is_display(s: &str) -> bool {
    s.starts_with('/')
        || s.split_once(':').is_some_and(|(host, d)| {
            !host.is_empty() && d.starts_with(|c: char| c.is_ascii_digit())
        })
}

/// A status line `<name>: <state>` of a license server (`license server UP (MASTER) v11.7`,
/// `Cannot connect to license server system. (-15,570:115 "…")`) or a vendor daemon
/// (`UP v11.6`, `The desired vendor daemon is down. (-97,121)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status<'a> {
    pub name: &'a str,
    pub up: bool,
    pub version: Option<&'a str>,
    /// The state as written, the message when not up.
    pub state: &'a str,
    /// Says `license server`: a server, not a daemon.
    pub server: bool,
}

pub fn status(l: &str) -> Option<Status<'_>> {
    let (name, state) = l.split_once(": ")?;
    if name.is_empty() || name.contains(' ') || state.is_empty() {
        return None;
    }
    let server = state.starts_with("license server ");
    let body = state.strip_prefix("license server ").unwrap_or(state);
    let up = body == "UP" || body.starts_with("UP ");
    let version = body
        .split(' ')
        .filter_map(|w| w.strip_prefix('v'))
        .find(|v| v.starts_with(|c: char| c.is_ascii_digit()));
    Some(Status {
        name,
        up,
        version: version.filter(|_| up),
        state,
        server,
    })
}

/// Whether `l` holds a FlexNet error code `(-major,minor…)`.
pub fn has_error_code(l: &str) -> bool {
    l.match_indices("(-").any(|(i, _)| {
        let rest = &l[i + 2..];
        let n = rest.bytes().take_while(u8::is_ascii_digit).count();
        n > 0 && rest[n..].starts_with([',', ')'])
    })
}

/// `port@host[,port@host…]` of `License server status:` (`port` may be redacted).
pub fn servers(list: &str) -> Vec<(Option<u16>, &str)> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| match s.split_once('@') {
            Some((port, host)) => (digits(port), host),
            None => (None, s),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_of_lines() {
        assert_eq!(
            users_of("Users of ARC/INFO: (Total of 6 licenses issued; Total of 2 licenses in use)"),
            Some((
                "ARC/INFO",
                Counts::Total {
                    issued: 6,
                    in_use: 2
                }
            ))
        );
        assert_eq!(
            users_of("Users of f: (Total of 1 license issued; Total of 1 licenses in use)"),
            Some((
                "f",
                Counts::Total {
                    issued: 1,
                    in_use: 1
                }
            ))
        );
        assert_eq!(
            users_of("Users of SERIAL: (Uncounted, node-locked)"),
            Some(("SERIAL", Counts::Uncounted))
        );
        assert_eq!(
            users_of("Users of S: (Error: 1 licenses, unsupported by licensed server)"),
            Some((
                "S",
                Counts::Error("1 licenses, unsupported by licensed server")
            ))
        );
        assert_eq!(
            users_of("Users of x: Cannot get users of x: No such feature exists. (-5,222)"),
            Some((
                "x",
                Counts::Error("Cannot get users of x: No such feature exists. (-5,222)")
            ))
        );
        for bad in [
            "Users of CETIM-COBRA-DAT",
            "Users of f: something else",
            "Users of f: (Total of x licenses issued; Total of 0 licenses in use)",
            "Users of f: (Total of 1 license issued)",
            "Users of : (Uncounted, node-locked)",
        ] {
            assert_eq!(users_of(bad), None, "{bad}");
        }
    }

    #[test]
    fn headers_and_kinds() {
        assert_eq!(
            header(r#""dvt_e" v2.0, vendor: dvtlmd, expiry: 15-nov-2023"#),
            Some(Header {
                name: "dvt_e",
                version: "2.0",
                vendor: Some("dvtlmd"),
                expiry: Some("15-nov-2023")
            })
        );
        assert_eq!(
            header(r#""SERIAL" v6.3, vendor: LMCOMSOL, expiry: permanent(no expiration date)"#)
                .and_then(|h| h.expiry),
            Some("permanent(no expiration date)")
        );
        assert_eq!(
            header(r#""MATLAB" v31, vendor: MLM"#).map(|h| h.version),
            Some("31")
        );
        assert_eq!(header(r#""x" 2.0"#), None);
        assert_eq!(header(r#""x"#), None);
        use tally_plugin_sdk::FeatureKind as K;
        assert_eq!(license_kind("floating license"), Some(K::Floating));
        assert_eq!(
            license_kind(r#"nodelocked license, locked to "ID=1""#),
            Some(K::NodeLocked)
        );
        assert_eq!(
            license_kind("uncounted nodelocked license locked to NOTHING (hostid=ANY)"),
            Some(K::Uncounted)
        );
        assert_eq!(license_kind("floating lic"), None);
    }

    #[test]
    fn reservations() {
        assert_eq!(
            reservation("10 RESERVATIONs for HOST HOSTPC12 (host3.domain.net/27002)"),
            Some((10, ReservationTarget::Host, "HOSTPC12"))
        );
        assert_eq!(
            reservation("1 RESERVATION for GROUP DED (SERVER1/1713)"),
            Some((1, ReservationTarget::Group, "DED"))
        );
        assert_eq!(
            reservation("2 RESERVATIONs for HOST_GROUP lab (s/1)"),
            Some((2, ReservationTarget::HostGroup, "lab"))
        );
        assert_eq!(reservation("x RESERVATIONs for HOST h (s/1)"), None);
        // Found by fuzzing: a reservation of 0 licenses, which the host refuses.
        assert_eq!(reservation("0 RESERVATIONs for HOST h (s/1)"), None);
    }

    #[test]
    fn user_lines_and_tails() {
        let l =
            "jdoe machine2 8e/^i`qunDiW@tT (v10.1) (MYSERVER-GIS/27000 202), start Fri 7/12 8:46";
        let u = user_line(l).expect("user line");
        assert_eq!(
            (u.who, u.version, u.handle),
            ("jdoe machine2 8e/^i`qunDiW@tT", "10.1", "202")
        );
        assert_eq!(
            tail(u.tail),
            Some(Tail::Start {
                weekday: Some("Fri"),
                date: "7/12",
                time: "8:46",
                count: 1,
                linger: None,
                unread: None
            })
        );
        // A display that itself holds ` (v`.
        let u = user_line("u h d (vx (v1.0) (s/1 7), start Mon 1/2 3:04").expect("user line");
        assert_eq!((u.who, u.version), ("u h d (vx", "1.0"));
        let t = |s| tail(s).expect(s);
        assert!(matches!(
            t(", start Wed 5/23 5:59, 16 licenses (linger: 885098 / 1340160)"),
            Tail::Start {
                count: 16,
                linger: Some(Linger {
                    secs: 885_098,
                    borrowed: true
                }),
                ..
            }
        ));
        assert!(matches!(
            t(", start Mon 9/24 5:34 (linger: 600)"),
            Tail::Start {
                count: 1,
                linger: Some(Linger {
                    secs: 600,
                    borrowed: false
                }),
                ..
            }
        ));
        assert!(matches!(
            t(", start Mon 2/10 0:10, PID: 10088 "),
            Tail::Start {
                count: 1,
                unread: None,
                ..
            }
        ));
        assert!(matches!(
            t(", start Mon 2/10 0:10, priority 3"),
            Tail::Start {
                unread: Some("priority 3"),
                ..
            }
        ));
        assert_eq!(t(" queued for 1 license"), Tail::Queued(1));
        assert_eq!(tail(", stopped"), None);
        assert_eq!(tail(" queued for many"), None);
        // Found by fuzzing: records of 0 licenses, which the host refuses.
        assert_eq!(tail(" queued for 0 licenses"), None);
        assert_eq!(tail(", start Mon 2/10 0:10, 0 licenses"), None);
        assert_eq!(user_line("Users of f: (Total of 1 license issued)"), None);
    }

    #[test]
    fn who_splits() {
        let w = |s, v| {
            who(s, v).map(|w| {
                format!(
                    "{}|{}|{}{}",
                    w.user,
                    w.host,
                    w.display.unwrap_or_else(|| "-".into()),
                    if w.guessed { "?" } else { "" }
                )
            })
        };
        assert_eq!(w("u h /dev/tty", "1"), Some("u|h|/dev/tty".into()));
        assert_eq!(w("user11 server19", "1"), Some("user11|server19|-".into()));
        assert_eq!(
            w("58000 SKIA011 DESKTOP", "1"),
            Some("58000|SKIA011|DESKTOP".into())
        );
        assert_eq!(
            w("usbn12 p-c94.com /dev/tty feature=test_feature", "2023.0"),
            Some("usbn12|p-c94.com|/dev/tty".into())
        );
        assert_eq!(
            w("ABCDKK ER0037 SESOR045 MSCONE:ADAMS_View", "2023.0331"),
            Some("ABCDKK|ER0037|SESOR045".into())
        );
        assert_eq!(
            w("user1 host-01 host-01:0.0 lc80a28012593569_1", "2022.09"),
            Some("user1|host-01|host-01:0.0".into())
        );
        assert_eq!(
            w("user1 host-01 host-01:0895184_3 2029.01", "2029.01"),
            Some("user1|host-01|host-01:0895184_3".into())
        );
        assert_eq!(
            w("Quantenna FAE4 LAPTOP-Q6ADI2G2 LAPTOP-Q6ADI2G2", "1"),
            Some("Quantenna FAE4|LAPTOP-Q6ADI2G2|LAPTOP-Q6ADI2G2".into())
        );
        assert_eq!(
            w("Jane Doe Jr. jane icc&f3rU7|<7R/oW/r`?Fj_K5", "10.1"),
            Some("Jane Doe Jr.|jane|icc&f3rU7|<7R/oW/r`?Fj_K5?".into())
        );
        // A user of several words, then the host: the display after it marks where the host is.
        assert_eq!(
            w("John Doe ws7 /dev/pts/3", "1"),
            Some("John Doe|ws7|/dev/pts/3".into())
        );
        assert_eq!(
            w("José Juan Galera plasmon plasmon:0.0 feature=x", "1"),
            Some("José Juan Galera|plasmon|plasmon:0.0".into())
        );
        assert_eq!(w("alone", "1"), None);
    }

    #[test]
    fn status_lines() {
        let s = status("host2.domain.net: license server UP (MASTER) v11.7").expect("status");
        assert_eq!(
            (s.name, s.up, s.version, s.server),
            ("host2.domain.net", true, Some("11.7"), true)
        );
        let s = status(r#"host3: Cannot connect to license server system. (-15,570:115 "Operation now in progress")"#)
            .expect("status");
        assert!(!s.up && s.version.is_none() && !s.server);
        assert!(s.state.starts_with("Cannot connect") && has_error_code(s.state));
        let s = status("VENDOR1: UP v11.6").expect("status");
        assert_eq!((s.up, s.version, s.server), (true, Some("11.6"), false));
        assert_eq!(
            status("MLM: UP").map(|s| (s.up, s.version)),
            Some((true, None))
        );
        assert_eq!(status("License file(s) on h: /x:"), None);
        assert!(has_error_code("down (-97,121)") && has_error_code("x (-16,287)"));
        assert!(!has_error_code("(-x,1)") && !has_error_code("a - b"));
    }

    #[test]
    fn server_lists() {
        assert_eq!(
            servers("27002@a,27002@b.c, 1@d"),
            vec![(Some(27002), "a"), (Some(27002), "b.c"), (Some(1), "d")]
        );
        assert_eq!(servers("port@h"), vec![(None, "h")]);
    }
}
