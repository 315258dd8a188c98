//! Reprise RLM: `rlmutil rlmstat -a -c port@host` output (TAB-indented, as real output is:
//! `license_manager_omnivector__rlm_output_2021_tabs_original.txt`) and the ISV's report log in
//! the "detailed" format (FORMATS.md §3–4; RLM manual "Reportlog File Format").

use std::fmt::Write as _;

use crate::time::{Civil, rlm_duration};
use crate::workload::{Ev, Workload};

const RLMUTIL: &str =
    "rlmutil v15.2\nCopyright (C) 2006-2023, Reprise Software, Inc. All rights reserved.\n";
/// The report log's bare `MM/DD/YYYY HH:MM` lines come this often (seconds), as in the corpus.
pub const STAMP_EVERY: i64 = 30 * 60;

/// The ISV server's port (rlm itself listens on the scenario's port).
pub fn isv_port(port: u16) -> u16 {
    port.wrapping_add(44_000).max(1024)
}

/// What `rlmstat` prints when the rlm server does not answer
/// (`license_manager_omnivector__rlm_output_bad_error_connecting.txt`, with the address filled
/// in). rlmutil exits 0.
pub fn cannot_connect(host: &str, port: u16) -> String {
    format!(
        "Setting license file path to {port}@{host}\n{RLMUTIL}\n\n\
         Error connecting to \"rlm\" server\n\n\
         Connection attempted to host: \"{host}\" on port {port}\n\nNo error\n"
    )
}

fn long_date(t: i64) -> String {
    let c = Civil::of(t);
    format!(
        "{} {} {:2} {:02}:{:02}:{:02} {}",
        c.wkd(),
        c.mon(),
        c.day,
        c.hour,
        c.min,
        c.sec,
        c.year
    )
}

/// The statistics block both servers print; counts are what happened since the (re)start.
fn stats(out: &mut String, now: i64, up: i64, checkouts: Option<(u64, u64)>) {
    let midnight = now - now.rem_euclid(86_400);
    let today_init = midnight.max(now - up);
    let recent_init = now - (now - today_init).min(16 * 60 + 8);
    let _ = write!(
        out,
        "\tStartup time: {}\n\
         \tTodays Statistics ({}), init time: {}\n\
         \tRecent Statistics ({}), init time: {}\n\n\
         \t             Recent Stats         Todays Stats         Total Stats\n\
         \t              {}             {}         {}\n",
        long_date(now - up),
        rlm_duration(now - today_init),
        long_date(today_init),
        rlm_duration(now - recent_init),
        long_date(recent_init),
        rlm_duration(now - recent_init),
        rlm_duration(now - today_init),
        rlm_duration(up),
    );
    let (c, d) = checkouts.unwrap_or((0, 0));
    let msgs = 40 + 6 * (c + d);
    let _ = write!(
        out,
        "\tMessages:    {} (0/sec)           {} (0/sec)          {} (0/sec)\n\
         \tConnections: {} (0/sec)           {} (0/sec)          {} (0/sec)\n",
        msgs / 20,
        msgs / 2,
        msgs,
        msgs / 40,
        msgs / 4,
        msgs / 2
    );
    if checkouts.is_some() {
        let _ = write!(
            out,
            "\tCheckouts:   0 (0/sec)           {c} (0/sec)          {c} (0/sec)\n\
             \tDenials:     0 (0/sec)           {d} (0/sec)          {d} (0/sec)\n\
             \tRemovals:    0 (0/sec)           0 (0/sec)          0 (0/sec)\n"
        );
    }
}

/// `rlmstat -a` at `now` (the server is up).
pub fn status(w: &Workload<'_>, now: i64) -> String {
    let s = w.server;
    let (host, port, isv) = (s.host(), s.port(), s.vendor());
    let started = w.started_at(now);
    let up = now - started;
    let checkouts = w
        .sessions
        .iter()
        .filter(|x| x.start >= started && x.start <= now)
        .count() as u64;
    let denials = w
        .denials
        .iter()
        .filter(|x| x.time >= started && x.time <= now)
        .count() as u64;
    let mut out = format!("Setting license file path to {port}@{host}\n{RLMUTIL}\n\n");
    let _ = writeln!(
        out,
        "\trlm status on {host} (port {port}), up {}\n\
         \trlm software version v15.2 (build:1)\n\trlm comm version: v1.2",
        rlm_duration(up)
    );
    stats(&mut out, now, up, None);
    let _ = write!(
        out,
        "\n\t--------- ISV servers ----------\n\t   Name           Port Running Restarts\n\
         \t{isv:<16} {:>5}   Yes      {}\n\n\t------------------------\n\n",
        isv_port(port),
        w.downs.iter().filter(|d| d.1 <= now).count()
    );
    let _ = writeln!(
        out,
        "\t{isv} ISV server status on {host} (port {}), up {}\n\
         \t{isv} software version v15.2 (build: 1)\n\t{isv} comm version: v1.2\n\
         \t{isv} Debug log filename: /var/rlm/{isv}.dlog\n\
         \t{isv} Report log filename: /var/rlm/{isv}.rlog",
        isv_port(port),
        rlm_duration(up)
    );
    stats(&mut out, now, up, Some((checkouts, denials)));
    let _ = write!(
        out,
        "\n\n\t------------------------\n\n\t{isv} license pool status on {host} (port {})\n\n",
        isv_port(port)
    );
    for (i, f) in s.features.iter().enumerate() {
        let in_use: u32 = w
            .out_at(now)
            .filter(|x| x.feature == i)
            .map(|x| x.count)
            .sum();
        let total = w
            .sessions
            .iter()
            .filter(|x| x.feature == i && x.start >= started && x.start <= now)
            .count();
        let _ = write!(
            out,
            "\t{} v{}\n\t\tcount: {}, # reservations: 0, inuse: {in_use}, exp: permanent\n\
             \t\tobsolete: 0, min_remove: 120, total checkouts: {total}\n",
            f.name,
            f.version(),
            f.issued
        );
    }
    let _ = write!(
        out,
        "\n\n\t------------------------\n\n\t{isv} license usage status on {host} (port {})\n\n",
        isv_port(port)
    );
    for x in w.out_at(now) {
        let f = &s.features[x.feature];
        let c = Civil::of(x.start);
        let _ = writeln!(
            out,
            "\t{} v{}: {}@{} {}/0 at {:02}/{:02} {:02}:{:02}  (handle: {}) ",
            f.name,
            f.version(),
            w.user(x.user),
            w.host(x.user),
            x.count,
            c.month,
            c.day,
            c.hour,
            c.min,
            handle(x.id)
        );
    }
    out.push('\n');
    out
}

/// The server's handle of a checkout (hex, as RLM writes it).
pub fn handle(id: u32) -> String {
    format!("{:x}", 0x40 + id)
}

/// `MM/DD HH:MM:SS.tttt` (detailed format: tenths of milliseconds, made up but stable).
fn when(t: i64, salt: u32) -> String {
    let c = Civil::of(t);
    format!(
        "{:02}/{:02} {:02}:{:02}:{:02}.{:04}",
        c.month,
        c.day,
        c.hour,
        c.min,
        c.sec,
        salt.wrapping_mul(7919) % 10_000
    )
}

fn full(t: i64) -> String {
    let c = Civil::of(t);
    format!(
        "{:02}/{:02}/{} {:02}:{:02}:{:02}",
        c.month, c.day, c.year, c.hour, c.min, c.sec
    )
}

/// The report log from the start up to `until` (inclusive), times written as UTC.
pub fn log(w: &Workload<'_>, until: i64) -> String {
    let s = w.server;
    let (host, isv) = (s.host(), s.vendor());
    let mut out = String::new();
    let mut in_use = vec![0u32; s.features.len()];
    let pid = |user: u32| 0x1000 + user * 37;
    for (t, ev) in w.timeline(until, STAMP_EVERY) {
        match ev {
            Ev::Start { restart } => {
                if !restart {
                    let _ = write!(
                        out,
                        "RLM Report Log Format 2, version 15.2\nISV: {isv}, RLM version 15.2 BL1\n\
                         Logfile format Copyright (C) 2006-2023 Reprise Software, Inc.\n\
                         For documentation on this format, email info@reprisesoftware.com\n\
                         You are encouraged to build tools to process this data.\n\n"
                    );
                }
                let _ = writeln!(
                    out,
                    "START {host} {}\nTIMEZONE 0 0 # Coordinated Universal Time, 0 minutes west of UTC, daylight: 0\n\
                     LICENSE FILE /var/rlm/{isv}.lic",
                    full(t)
                );
                for (i, f) in s.features.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "PRODUCT {} {} {} {} 0 {} \"\" \"\" \"\" \"\" \"\" \"\" 0 0 0 0 0 0 0 0 0",
                        f.name,
                        f.version(),
                        i + 1,
                        f.issued,
                        f.issued
                    );
                }
                in_use.iter_mut().for_each(|n| *n = 0);
            }
            Ev::Stop(_) => {
                let _ = writeln!(out, "SHUTDOWN root {host} {}\nEND {}", when(t, 0), full(t));
            }
            Ev::Out(k) => {
                let x = &w.sessions[k];
                let f = &s.features[x.feature];
                in_use[x.feature] += x.count;
                let h = handle(x.id);
                let _ = writeln!(
                    out,
                    "OUT {} {} {} {} {} \"\" {} {} 0 {h} {h} {:x} \"\" \"{}\" \"{}\" {} \"x64_l1 6.8\" \"/opt/{isv}/bin/{}\" 0 0 10.0.{}.{}",
                    f.name,
                    f.version(),
                    x.feature + 1,
                    w.user(x.user),
                    w.host(x.user),
                    x.count,
                    in_use[x.feature],
                    pid(x.user),
                    f.name,
                    f.version(),
                    when(t, x.id),
                    f.name,
                    x.user / 250,
                    x.user % 250 + 1
                );
            }
            Ev::In(k) => {
                let x = &w.sessions[k];
                let f = &s.features[x.feature];
                in_use[x.feature] = in_use[x.feature].saturating_sub(x.count);
                let _ = writeln!(
                    out,
                    "IN 1 {} {} {} {} \"\" {} {} 0 {} {}",
                    f.name,
                    f.version(),
                    w.user(x.user),
                    w.host(x.user),
                    x.count,
                    in_use[x.feature],
                    handle(x.id),
                    when(t, x.id + 1)
                );
            }
            Ev::Deny(k) => {
                let d = &w.denials[k];
                let f = &s.features[d.feature];
                // -22: RLM_EL_ALL_INUSE ("All licenses in use").
                let _ = writeln!(
                    out,
                    "DENY {} {} {} {} \"\" {} -22 1 {:x} {}",
                    f.name,
                    f.version(),
                    w.user(d.user),
                    w.host(d.user),
                    d.count,
                    pid(d.user),
                    when(t, d.arrival)
                );
            }
            Ev::Stamp if w.is_up(t) => {
                let c = Civil::of(t);
                let _ = writeln!(
                    out,
                    "{:02}/{:02}/{} {:02}:{:02}",
                    c.month, c.day, c.year, c.hour, c.min
                );
            }
            Ev::Stamp => {}
        }
    }
    out
}
