//! FlexNet: `lmutil lmstat -a -c port@host` output and the lmgrd/vendor-daemon debug log, in
//! the 2024-era shapes of the corpus (`flexlm_exporter__lmstat_app5_matlab.txt`,
//! `flexlm_reporter__umich_ansyslmd_*.log`; FORMATS.md §1–2).

use std::fmt::Write as _;

use crate::time::Civil;
use crate::workload::{Ev, Workload};

const VERSION: &str = "v11.19.6";
const BUILD: &str = "v11.19.6.0 build 306866 x64_lsb";
/// lmgrd and the vendor daemon write `TIMESTAMP` lines this often (seconds).
pub const STAMP_EVERY: i64 = 6 * 3600;

fn banner(out: &mut String, now: i64) {
    let c = Civil::of(now);
    let _ = write!(
        out,
        "lmutil - Copyright (c) 1989-2024 Flexera. All Rights Reserved.\n\
         Flexible License Manager status on {} {}/{}/{} {:02}:{:02}\n\n",
        c.wkd(),
        c.month,
        c.day,
        c.year,
        c.hour,
        c.min
    );
}

/// What `lmstat` prints when nothing answers at the address
/// (`license_manager_omnivector__flexlm_output_bad_cannot_connect.txt`). lmutil exits 0.
pub fn cannot_connect(now: i64) -> String {
    let mut out = String::new();
    banner(&mut out, now);
    out.push_str(
        "Error getting status: Cannot connect to license server (-15,570:111 \"Connection refused\")\n",
    );
    out
}

pub fn license_file(w: &Workload<'_>) -> String {
    format!("/opt/flexlm/licenses/{}.lic", w.server.vendor())
}

/// `lmstat -a` at `now` (the server is up).
pub fn status(w: &Workload<'_>, now: i64) -> String {
    let s = w.server;
    let (host, port, vendor) = (s.host(), s.port(), s.vendor());
    let mut out = String::new();
    banner(&mut out, now);
    let _ = write!(
        out,
        "License server status: {port}@{host}\n    License file(s) on {host}: {}:\n\n\
         {host}: license server UP (MASTER) {VERSION}\n\n\
         Vendor daemon status (on {host}):\n\n  {vendor}: UP {VERSION}\n\
         Feature usage info:\n\n",
        license_file(w)
    );
    for (i, f) in s.features.iter().enumerate() {
        let users: Vec<_> = w.out_at(now).filter(|x| x.feature == i).collect();
        let in_use: u32 = users.iter().map(|x| x.count).sum();
        let _ = writeln!(
            out,
            "Users of {}:  (Total of {} license{} issued;  Total of {in_use} license{} in use)\n",
            f.name,
            f.issued,
            plural(f.issued),
            plural(in_use)
        );
        if users.is_empty() {
            continue;
        }
        let _ = write!(
            out,
            "\n\"{}\" v{}, vendor: {vendor}, expiry: permanent(no expiration date)\n  floating license\n\n",
            f.name,
            f.version()
        );
        for x in users {
            let c = Civil::of(x.start);
            let _ = write!(
                out,
                "    {} {} /dev/tty (v{}) ({host}/{port} {}), start {} {}/{} {}:{:02}",
                w.user(x.user),
                w.host(x.user),
                f.version(),
                handle(x.id),
                c.wkd(),
                c.month,
                c.day,
                c.hour,
                c.min
            );
            if x.count > 1 {
                let _ = write!(out, ", {} licenses", x.count);
            }
            out.push('\n');
        }
        out.push('\n');
    }
    out
}

fn plural(n: u32) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// lmgrd's handle of a checkout.
pub fn handle(id: u32) -> u32 {
    100 + id
}

/// The debug log from the start up to `until` (inclusive). Times are written as UTC.
pub fn log(w: &Workload<'_>, until: i64) -> String {
    let s = w.server;
    let (host, vendor) = (s.host(), s.vendor());
    let mut out = String::new();
    let mut line = |t: i64, daemon: &str, msg: &str| {
        let c = Civil::of(t);
        let _ = writeln!(
            out,
            "{:2}:{:02}:{:02} ({daemon}) {msg}",
            c.hour, c.min, c.sec
        );
    };
    let mut starts = 0u32;
    for (t, ev) in w.timeline(until, STAMP_EVERY) {
        match ev {
            Ev::Start { .. } => {
                starts += 1;
                let c = Civil::of(t);
                let pid = 1900 + 113 * starts;
                let tcp = 40_000 + (starts * 977) % 20_000;
                for msg in [
                    format!(
                        "FlexNet Licensing ({BUILD}) started on {host} (linux) ({}/{}/{})",
                        c.month, c.day, c.year
                    ),
                    "Copyright (c) 1988-2024 Flexera. All Rights Reserved.".into(),
                    "World Wide Web:  http://www.flexera.com".into(),
                    format!("License file(s): {}", license_file(w)),
                    format!("lmgrd tcp-port {}", s.port()),
                    "Starting vendor daemons ... ".into(),
                    format!("Started {vendor} (internet tcp_port {tcp} pid {pid})"),
                ] {
                    line(t, "lmgrd", &msg);
                }
                line(t, vendor, &format!("FlexNet Licensing version {BUILD}"));
                let names: Vec<&str> = s.features.iter().map(|f| f.name.as_str()).collect();
                line(
                    t,
                    vendor,
                    &format!("Server started on {host} for:\t{}", names.join("\t")),
                );
                line(t, vendor, "EXTERNAL FILTERS are OFF");
                line(t, "lmgrd", &format!("{vendor} using TCP-port {tcp}"));
                line(
                    t,
                    vendor,
                    &format!("TIMESTAMP {}/{}/{}", c.month, c.day, c.year),
                );
            }
            Ev::Stop(i) => {
                let pid = 1900 + 113 * starts;
                line(
                    t,
                    "lmgrd",
                    &format!("SHUTDOWN request from root at node {host}"),
                );
                line(
                    t,
                    "lmgrd",
                    "lmgrd will now shut down all the vendor daemons",
                );
                line(
                    t,
                    "lmgrd",
                    &format!("Shutting down {vendor} pid={pid} because of signal 15"),
                );
                line(t, vendor, "daemon shutdown requested - shutting down");
                for k in w.ended_by(i) {
                    let x = &w.sessions[k];
                    line(
                        t,
                        vendor,
                        &format!("IN: {}(SHUTDOWN)", request(w, x.feature, x.user, x.count)),
                    );
                }
                line(t, "lmgrd", "EXITING DUE TO SIGNAL 15");
            }
            Ev::Out(k) => {
                let x = &w.sessions[k];
                line(
                    t,
                    vendor,
                    &format!("OUT: {}", request(w, x.feature, x.user, x.count)),
                );
            }
            Ev::In(k) => {
                let x = &w.sessions[k];
                line(
                    t,
                    vendor,
                    &format!("IN: {}", request(w, x.feature, x.user, x.count)),
                );
            }
            Ev::Deny(k) => {
                let d = &w.denials[k];
                line(
                    t,
                    vendor,
                    &format!(
                        "DENIED: {}(Licensed number of users already reached. (-4,342))",
                        request(w, d.feature, d.user, d.count)
                    ),
                );
            }
            Ev::Stamp if w.is_up(t) => {
                let c = Civil::of(t);
                let date = format!("TIMESTAMP {}/{}/{}", c.month, c.day, c.year);
                line(t, "lmgrd", &date);
                line(t, vendor, &date);
            }
            Ev::Stamp => {}
        }
    }
    out
}

/// `"feature" user@host  ` with `(N licenses) ` when more than one.
fn request(w: &Workload<'_>, feature: usize, user: u32, count: u32) -> String {
    let mut r = format!(
        "\"{}\" {}@{}  ",
        w.server.features[feature].name,
        w.user(user),
        w.host(user)
    );
    if count > 1 {
        let _ = write!(r, "({count} licenses) ");
    }
    r
}
