//! End-to-end: `tally serve` running, following a log that grows, rotates and is truncated.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

mod common;
use common::{Env, until};

fn committed_bytes(env: &Env) -> i64 {
    let conn = rusqlite::Connection::open(env.dir.path().join("tally.db")).expect("db");
    conn.query_row("SELECT coalesce(sum(offset), 0) FROM import_run", [], |r| {
        r.get(0)
    })
    .unwrap_or(0)
}

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open");
    f.write_all(text.as_bytes()).expect("append");
}

/// `tally server add NAME` for a FlexNet server whose debug log at `path` is followed.
fn add_followed<'a>(name: &'a str, path: &'a Path) -> [&'a str; 11] {
    [
        "server",
        "add",
        name,
        "--manager",
        "flexlm",
        "--import-format",
        "flexlm-debuglog",
        "--utc-offset",
        "0",
        "--follow",
        path.to_str().expect("utf-8"),
    ]
}

fn tally_ok(env: &Env, args: &[&str]) {
    let out = env.tally(args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Sessions and denials as comparable rows.
fn facts(env: &Env, end_of_log: bool) -> (Vec<(i64, i64, String, String)>, i64) {
    let conn = rusqlite::Connection::open(env.dir.path().join("tally.db")).expect("db");
    let mut q = conn
        .prepare(
            "SELECT s.start, s.\"end\", u.name, f.name FROM session s JOIN user u ON u.id = s.user_id
             JOIN feature f ON f.id = s.feature_id WHERE ?1 OR s.end_reason <> 'end-of-log'
             ORDER BY 1, 2, 3, 4",
        )
        .expect("query");
    let sessions = q
        .query_map([end_of_log], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .expect("rows")
        .collect::<Result<Vec<_>, _>>()
        .expect("rows");
    let denials = conn
        .query_row("SELECT count(*) FROM denial", [], |r| r.get(0))
        .expect("denials");
    (sessions, denials)
}

#[test]
fn a_followed_log_that_grows_rotates_and_is_truncated_imports_every_line_once() {
    let (log, _) = flexlm_log::synth::generate(6_000, 5);
    let lines: Vec<&str> = log.split_inclusive('\n').collect();
    let part = |a: usize, b: usize| lines[a..b].concat();
    let n = lines.len();
    let (p1, p2, p3a, p3b, p4) = (
        part(0, n / 5),
        part(n / 5, 2 * n / 5),
        part(2 * n / 5, 3 * n / 5),
        part(3 * n / 5, 4 * n / 5),
        part(4 * n / 5, n),
    );

    let env = Env::new();
    let logs = env.dir.path().join("logs");
    std::fs::create_dir_all(&logs).expect("logs dir");
    let path = logs.join("lmgrd.log");
    tally_ok(&env, &add_followed("lic1", &path));
    let _serving = env.serve(&[]);

    let mut written = 0i64;
    let mut write = |text: &str, to: &Path| {
        append(to, text);
        written += text.len() as i64;
        written
    };
    let total = write(&p1, &path);
    until("the first part", || committed_bytes(&env) == total);

    // A line arrives in two writes: its first half waits for its newline.
    let (half, rest) = p2.split_at(p2.len() / 2 + 7);
    let so_far = write(half, &path);
    std::thread::sleep(Duration::from_millis(300));
    let held = committed_bytes(&env);
    assert!(held < so_far, "an unterminated line is not read yet");
    let total = write(rest, &path);
    until("the second part", || committed_bytes(&env) == total);

    // Rotation: the log is renamed, the writer finishes its last lines in it, a new log starts.
    let rotated = logs.join("lmgrd.log.1");
    std::fs::rename(&path, &rotated).expect("rotate");
    write(&p3a, &rotated);
    let total = write(&p3b, &path);
    until("the rotated and the new log", || {
        committed_bytes(&env) == total
    });

    // Truncation (copytruncate): the file is emptied in place and written again.
    std::fs::File::create(&path).expect("truncate");
    let total = write(&p4, &path);
    until("the truncated log", || committed_bytes(&env) == total);

    let server = env.tally(&["server", "list", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&server.stdout).expect("list");
    assert_eq!(list[0]["import_status"], "Success", "{list}");
    drop(_serving);

    let once = Env::new();
    let whole = once.write("lmgrd.log", &log);
    once.import(&[whole.to_str().expect("utf-8")]);
    let (followed, followed_denials) = facts(&env, true);
    let (oneshot, oneshot_denials) = facts(&once, false);
    assert!(followed.len() > 100, "{} sessions", followed.len());
    assert_eq!(
        followed, oneshot,
        "the followed log gives the one-shot import's sessions"
    );
    assert_eq!(followed_denials, oneshot_denials);
}

/// The scheduler follows configuration changes another process makes while it runs: a server
/// added, disabled and enabled again with the CLI.
#[test]
fn servers_changed_while_serving_are_followed() {
    let (log, _) = flexlm_log::synth::generate(600, 3);
    let lines: Vec<&str> = log.split_inclusive('\n').collect();
    let (first, second) = (
        lines[..lines.len() / 2].concat(),
        lines[lines.len() / 2..].concat(),
    );
    let env = Env::new();
    let path = env.write("lmgrd.log", &first);
    let _serving = env.serve(&[]);
    tally_ok(&env, &add_followed("lic1", &path));
    let total = first.len() as i64;
    until("the server added", || committed_bytes(&env) == total);

    tally_ok(&env, &["server", "disable", "lic1"]);
    // Longer than the supervisor's round and the follower's period: a disabled server's log
    // is not read.
    std::thread::sleep(Duration::from_secs(5));
    append(&path, &second);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(committed_bytes(&env), total, "disabled");

    tally_ok(&env, &["server", "enable", "lic1"]);
    let total = total + second.len() as i64;
    until("the server enabled again", || {
        committed_bytes(&env) == total
    });
}

/// SIGTERM, as `systemctl stop` sends it, while a followed log grows: `tally serve` exits 0, the
/// database is closed (SQLite's write-ahead log folded back) and consistent, and the next start
/// continues from the last checkpoint, so every line is imported once.
#[test]
fn sigterm_stops_serving_cleanly_and_the_import_continues_at_the_next_start() {
    let (log, _) = flexlm_log::synth::generate(40_000, 11);
    let lines: Vec<&str> = log.split_inclusive('\n').collect();
    let env = Env::new();
    let path = env.dir.path().join("lmgrd.log");
    tally_ok(&env, &add_followed("lic1", &path));
    let mut serving = env.serve(&[]);

    // The log is written in steps while the server follows it; SIGTERM comes half way.
    let steps: Vec<String> = lines.chunks(500).map(|c| c.concat()).collect();
    let (before, after) = steps.split_at(steps.len() / 2);
    for step in before {
        append(&path, step);
        std::thread::sleep(Duration::from_millis(20));
    }
    until("a first checkpoint", || committed_bytes(&env) > 0);
    let status = serving.terminate();
    assert!(
        status.success(),
        "tally serve exited with {status} on SIGTERM"
    );
    let wal = env.dir.path().join("tally.db-wal");
    assert!(
        std::fs::metadata(&wal).map_or(true, |m| m.len() == 0),
        "the database was closed: no write-ahead log left"
    );
    let conn = rusqlite::Connection::open(env.dir.path().join("tally.db")).expect("db");
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    assert_eq!(integrity, "ok");
    drop(conn);
    let stopped_at = committed_bytes(&env);
    assert!(stopped_at > 0 && stopped_at <= log.len() as i64);

    // Written while Tally was stopped, read at the next start from the checkpoint on.
    for step in after {
        append(&path, step);
    }
    let mut serving = env.serve(&[]);
    until("the rest of the log", || {
        committed_bytes(&env) == log.len() as i64
    });
    assert!(serving.terminate().success());

    let once = Env::new();
    let whole = once.write("lmgrd.log", &log);
    once.import(&[whole.to_str().expect("utf-8")]);
    let (followed, followed_denials) = facts(&env, true);
    let (oneshot, oneshot_denials) = facts(&once, false);
    assert!(followed.len() > 1_000, "{} sessions", followed.len());
    assert_eq!(
        followed, oneshot,
        "every line imported once across the stop"
    );
    assert_eq!(followed_denials, oneshot_denials);
}

/// A followed log whose time stamps run 10 minutes ahead of this machine's clock: the server's
/// clock is measured as ahead, shown in `tally server list` with a warning, and in the API.
#[test]
fn a_license_server_clock_ahead_is_measured_from_its_followed_log_and_shown() {
    let ahead = 600;
    let line = |t: i64, daemon: &str, message: &str| {
        let secs = t.rem_euclid(86_400);
        format!(
            "{:2}:{:02}:{:02} ({daemon}) {message}\n",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )
    };
    let server_now = || tally_app::now() + ahead;
    let start = server_now();
    let date = chrono::DateTime::from_timestamp(start, 0)
        .expect("now")
        .format("%-m/%-d/%Y")
        .to_string();
    let env = Env::new();
    let path = env.write(
        "lmgrd.log",
        &[
            line(start, "lmgrd", &format!("FlexNet Licensing (v11.19.0.0 build 1 x64_lsb) started on lic1 (linux) ({date})")),
            line(start, "acme", "FlexNet Licensing version v11.19.0.0 build 1 x64_lsb"),
            line(start, "acme", "OUT: \"solver\" ann@pc1  "),
        ]
        .concat(),
    );
    tally_ok(&env, &add_followed("lic1", &path));
    let serving = env.serve(&[]);
    until("the log read", || committed_bytes(&env) > 0);

    // Lines written while followed bound the skew from both sides.
    for user in ["bob", "cy", "dee"] {
        std::thread::sleep(Duration::from_millis(1_200));
        append(
            &path,
            &line(
                server_now(),
                "acme",
                &format!(
                    "DENIED: \"solver\" {user}@pc2  (Licensed number of users already reached. (-4,342))"
                ),
            ),
        );
    }
    until("the skew bounded from both sides", || {
        let server = serving.json("/api/v1/license-servers/lic1");
        server["clock"]["at_most_secs"].is_i64()
    });
    let clock = serving.json("/api/v1/license-servers/lic1")["clock"].clone();
    assert_eq!(clock["state"], "ahead", "{clock}");
    let (at_least, at_most) = (
        clock["at_least_secs"].as_i64().expect("at least"),
        clock["at_most_secs"].as_i64().expect("at most"),
    );
    assert!(
        at_least <= ahead && ahead <= at_most && at_most - at_least <= 10,
        "{clock}"
    );
    assert!(
        clock["warning"]
            .as_str()
            .is_some_and(|w| w.contains("`lic1`") && w.contains("ahead of")),
        "{clock}"
    );

    let list = env.tally(&["server", "list"]);
    let (table, warnings) = (
        String::from_utf8_lossy(&list.stdout),
        String::from_utf8_lossy(&list.stderr),
    );
    assert!(
        table.contains("CLOCK")
            && (table.contains("≥9 min ahead") || table.contains("≥10 min ahead")),
        "{table}"
    );
    assert!(
        warnings.contains("warning: the clock of license server `lic1` is at least"),
        "{warnings}"
    );
}

/// License-server tools that misbehave: one hangs, one prints more than Tally reads, one prints
/// garbage. Each server goes Offline with its reason, the others' polls and the API go on, and
/// SIGTERM still stops `tally serve` at once (the hung tool is killed).
#[test]
fn status_tools_that_hang_flood_or_print_garbage_leave_only_their_server_offline() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let script = |name: &str, body: &str| -> String {
        let path = env.write(name, &format!("#!/bin/sh\n{body}\n"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        path.display().to_string()
    };
    let hang = script("hang.sh", "exec sleep 3600");
    let flood = script("flood.sh", "exec head -c 20000000 /dev/zero");
    let garbage = script("garbage.sh", "head -c 3000000 /dev/urandom | od -An -tx1");
    for (name, manager, port) in [
        ("hung", "flexlm", "27000"),
        ("flooded", "rlm", "5053"),
        ("garbled", "lmx", "6200"),
    ] {
        tally_ok(
            &env,
            &[
                "server",
                "add",
                name,
                "--manager",
                manager,
                "--host",
                "127.0.0.1",
                "--port",
                port,
                "--interval",
                "1",
            ],
        );
    }
    let mut serving = env.serve(&[
        "--command-timeout",
        "2",
        "--tool",
        &format!("lmutil={hang}"),
        "--tool",
        &format!("rlmutil={flood}"),
        "--tool",
        &format!("lmxendutil={garbage}"),
    ]);
    let state = |name: &str| -> (String, String) {
        let server = serving.json(&format!("/api/v1/license-servers/{name}"));
        let remote = &server["status"]["remote"];
        (
            remote["state"].as_str().unwrap_or_default().to_string(),
            remote["reason"].as_str().unwrap_or_default().to_string(),
        )
    };
    until("every misbehaving server to be Offline", || {
        ["hung", "flooded", "garbled"]
            .iter()
            .all(|name| state(name).0 == "Offline")
    });
    let (_, hung) = state("hung");
    assert!(hung.contains("timed out after 2 s"), "{hung}");
    let (_, flooded) = state("flooded");
    assert!(flooded.contains("more than 16 MiB"), "{flooded}");
    let (_, garbled) = state("garbled");
    assert!(!garbled.is_empty(), "Offline says why");
    let health = serving.json("/api/v1/health");
    assert_eq!(health["store"], "ok", "{health}");

    let started = std::time::Instant::now();
    let status = serving.terminate();
    assert!(status.success(), "{status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "stopped in {:?}",
        started.elapsed()
    );
}
