//! LM-X: `lmxendutil -licstat -host H -port P` output and the server log (FORMATS.md §5).
//!
//! The log's start-up block follows the corpus sample. No checkout, checkin, denial or shutdown
//! line of a real LM-X log is known publicly (FORMATS.md §10); the ones written here are
//! UNVERIFIED stand-ins using the wording of the lmx-log importer's own fixture, which reports
//! them as unrecognised rather than guessing sessions from them.

use std::fmt::Write as _;

use crate::time::Civil;
use crate::workload::{Ev, Workload};

/// What `lmxendutil -licstat` prints when the server does not answer
/// (`license_manager_omnivector__lmx_cannot_connect.txt`). Exit code unknown: 0.
pub fn cannot_connect() -> String {
    "Cannot connect to server.\n".to_string()
}

fn minute(t: i64) -> String {
    let c = Civil::of(t);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        c.year, c.month, c.day, c.hour, c.min
    )
}

/// A stable made-up client address for user `k`.
fn ip(k: u32) -> String {
    format!("10.0.{}.{}", k / 250, k % 250 + 1)
}

/// `-licstat` at `now` (the server is up).
pub fn status(w: &Workload<'_>, now: i64) -> String {
    let s = w.server;
    let up = now - w.started_at(now);
    let start_date = Civil::of(w.start);
    let mut out = format!(
        "LM-X End-user Utility v3.32\nCopyright (C) 2002-2010 X-Formation. All rights reserved.\n\n\
         ++++++++++++++++++++++++++++++++++++++++\nLM-X License Server on {}@{}:\n\n\
         Server version: v5.1 Uptime: {} day(s) {} hour(s) {} min(s) {} sec(s)\n",
        s.port(),
        s.host(),
        up / 86_400,
        up % 86_400 / 3600,
        up % 3600 / 60,
        up % 60
    );
    for (i, f) in s.features.iter().enumerate() {
        let users: Vec<_> = w.out_at(now).filter(|x| x.feature == i).collect();
        let used: u32 = users.iter().map(|x| x.count).sum();
        let _ = write!(
            out,
            "----------------------------------------\n\
             Feature: {} Version: {} Vendor: {}\n\
             Start date: {:04}-{:02}-{:02} Expire date: {}-12-31\n\
             Key type: EXCLUSIVE License sharing: HOST USER VIRTUAL\n\n\
             {used} of {} license(s) used{}\n",
            f.name,
            f.version(),
            s.vendor(),
            start_date.year - 1,
            start_date.month,
            start_date.day,
            start_date.year + 2,
            f.issued,
            if used > 0 { ":" } else { "" }
        );
        for x in users {
            let (user, host) = (w.user(x.user), w.host(x.user));
            let _ = write!(
                out,
                "\n{} license(s) used by {user}@{host} [{}]\n\
                 \x20   Login time: {}   Checkout time: {} \n\
                 \x20   Shared on username: {user}   Shared on hostname: {host} \n",
                x.count,
                ip(x.user),
                minute(x.start),
                minute(x.start)
            );
        }
    }
    out
}

/// The server log from the start up to `until` (inclusive), times written as UTC.
pub fn log(w: &Workload<'_>, until: i64) -> String {
    let s = w.server;
    let mut out = String::new();
    let mut line = |t: i64, msg: &str| {
        let stamp = Civil::of(t).iso();
        if msg.is_empty() {
            let _ = writeln!(out, "[{stamp}]");
        } else {
            let _ = writeln!(out, "[{stamp}] {msg}");
        }
    };
    let mut starts = 0u32;
    for (t, ev) in w.timeline(until, 0x7fff_ffff) {
        match ev {
            Ev::Start { .. } => {
                starts += 1;
                let mut block = vec![
                    format!(
                        "LM-X License Server v5.1 build 1a2b3c4d on {} (Linux_x64)",
                        s.host()
                    ),
                    "Copyright (C) 2002-2022 X-Formation. All rights reserved.".into(),
                    "Website: https://www.lm-x.com https://www.x-formation.com".into(),
                    format!("License server has pid {}.", 1200 + 71 * starts),
                    format!("Serving licenses for vendor {}.", s.vendor()),
                    String::new(),
                    format!("License server using TCP IPv4 port {}.", s.port()),
                    format!("License server using UDP IPv4 port {}.", s.port()),
                    "Reading licenses...".into(),
                    "License file(s):".into(),
                    format!("/opt/lmx/licenses/{}.lic", s.vendor().to_ascii_lowercase()),
                    "Log file path: /opt/lmx/lmx-serv.log".into(),
                    "Log to stdout: No".into(),
                    "Log format: Normal".into(),
                    "Configuration file path: /opt/lmx/lmx-serv.cfg".into(),
                    "Serving following features:".into(),
                ];
                block.extend(s.features.iter().map(|f| {
                    format!(
                        "{} (v{}) ({} license(s)) shared on: HOST USER VIRTUAL license type: exclusive",
                        f.name,
                        f.version(),
                        f.issued
                    )
                }));
                block.extend([
                    String::new(),
                    "HostId: 00-16-3e-5a-7c-01".into(),
                    "To administrate the license server go to your enduser directory and run the License Server Client.".into(),
                    "Ready to serve...".into(),
                ]);
                for msg in block {
                    line(t, &msg);
                }
            }
            Ev::Stop(_) => line(t, "License server shutting down..."),
            Ev::Out(k) => {
                let x = &w.sessions[k];
                let f = &s.features[x.feature];
                line(
                    t,
                    &format!(
                        "Checkout of {} v{} by {}@{} ({} license(s))",
                        f.name,
                        f.version(),
                        w.user(x.user),
                        w.host(x.user),
                        x.count
                    ),
                );
            }
            Ev::In(k) => {
                let x = &w.sessions[k];
                let f = &s.features[x.feature];
                line(
                    t,
                    &format!(
                        "Checkin of {} v{} by {}@{}",
                        f.name,
                        f.version(),
                        w.user(x.user),
                        w.host(x.user)
                    ),
                );
            }
            Ev::Deny(k) => {
                let d = &w.denials[k];
                line(
                    t,
                    &format!(
                        "License request DENIED for {} by {}@{}",
                        s.features[d.feature].name,
                        w.user(d.user),
                        w.host(d.user)
                    ),
                );
            }
            Ev::Stamp => {}
        }
    }
    out
}
