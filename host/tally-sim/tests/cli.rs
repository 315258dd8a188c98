//! The binary as the host and the e2e tests run it.
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use common::*;
use tally_sim::scenario::{GenOptions, generate};
use tally_sim::truth::{Truth, truth};
use tally_sim::{Scenario, Tool, Workload, tools};

const BIN: &str = env!("CARGO_BIN_EXE_tally-sim");

fn sim(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("run tally-sim")
}

fn stdout(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout.clone()).expect("UTF-8")
}

fn write_scenario(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write scenario");
    p
}

#[test]
fn status_commands_as_the_host_runs_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write_scenario(dir.path(), "scenario.toml", SCENARIO);
    let f = file.to_str().expect("path");
    let sc = scenario();
    for t in [START + 3000, START + 14_000] {
        let at = t.to_string();
        for (tool, args) in [
            (Tool::Lmutil, "lmstat -a -c 27000@flex1.example"),
            (Tool::Rlmutil, "rlmstat -a -c 5053@rlm1.example"),
            (Tool::Lmxendutil, "-licstat -host lmx1.example -port 6300"),
        ] {
            let name = match tool {
                Tool::Lmutil => "lmutil",
                Tool::Rlmutil => "rlmutil",
                Tool::Lmxendutil => "lmxendutil",
            };
            let mut argv = vec!["--scenario", f, "--at", &at, name];
            argv.extend(args.split(' '));
            let o = sim(&argv);
            let want = tools::run(
                &sc,
                tool,
                &args.split(' ').map(String::from).collect::<Vec<_>>(),
                t,
            )
            .expect("in-process");
            assert_eq!(stdout(&o), want.stdout, "{name} at {t}");
            assert_eq!(o.status.code(), Some(0));
        }
    }
}

#[test]
fn a_link_named_like_the_tool_acts_as_the_tool() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write_scenario(dir.path(), "scenario.toml", SCENARIO);
    let link = dir.path().join("lmutil");
    if std::os::unix::fs::symlink(BIN, &link).is_err() {
        eprintln!("skipped: cannot make a symlink");
        return;
    }
    let o = Command::new(&link)
        .args(["lmstat", "-a", "-c", "27000@flex1.example"])
        .env("TALLY_SIM_SCENARIO", &file)
        .env("TALLY_SIM_AT", (START + 3000).to_string())
        .output()
        .expect("run link");
    let out = stdout(&o);
    assert!(
        out.contains("Flexible License Manager status on Wed 12/31/2025 20:50"),
        "{out}"
    );
}

#[test]
fn the_clock_follows_the_wall_clock() {
    let dir = tempfile::tempdir().expect("tempdir");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    // Started 100 real seconds ago at 60×: about 6000 simulated seconds in.
    let text = SCENARIO.replace(
        "real_start = 1767211200",
        &format!("real_start = {}\nsim_start = {START}", now - 100),
    );
    let file = write_scenario(dir.path(), "wall-clock.toml", &text);
    let out = stdout(&sim(&[
        "--scenario",
        file.to_str().expect("path"),
        "lmxendutil",
        "-licstat",
        "-host",
        "lmx1.example",
        "-port",
        "6300",
    ]));
    // Uptime 1 h 40 min (give or take the seconds the test takes).
    assert!(out.contains("Uptime: 0 day(s) 1 hour(s) 4"), "{out}");
}

#[test]
fn sessions_json_is_the_ground_truth() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write_scenario(dir.path(), "scenario.toml", SCENARIO);
    let f = file.to_str().expect("path");
    let sc = scenario();
    let w = Workload::simulate(&sc, sc.server("flex1").expect("flex1"), None);
    let got: Truth = serde_json::from_str(&stdout(&sim(&[
        "--scenario",
        f,
        "sessions",
        "--server",
        "flex1",
        "--json",
    ])))
    .expect("JSON");
    assert_eq!(got, truth(&w, None));
    assert!(got.sessions.iter().any(|s| s.end_reason == "shutdown"));
    assert_eq!(got.down.len(), 1);
    // Cut at a time: sessions out then are open.
    let until = (START + 7200).to_string();
    let cut: Truth = serde_json::from_str(&stdout(&sim(&[
        "--scenario",
        f,
        "sessions",
        "--server",
        "flex1",
        "--json",
        "--until",
        &until,
    ])))
    .expect("JSON");
    let open = w.out_at(START + 7200).count();
    assert_eq!(
        cut.sessions
            .iter()
            .filter(|s| s.end.is_none() && s.end_reason == "open")
            .count(),
        open
    );
    assert!(open > 0);
    // The table has one row per session, denial and down period.
    let table = stdout(&sim(&["--scenario", f, "sessions", "--server", "flex1"]));
    assert_eq!(
        table.lines().count(),
        1 + got.sessions.len() + got.denials.len() + 1
    );
    assert!(table.starts_with("kind\tfeature\tuser\thost\tcount\tstart\tend\tend_reason\n"));
}

#[test]
fn same_seed_same_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write_scenario(dir.path(), "scenario.toml", SCENARIO);
    let f = file.to_str().expect("path");
    for server in ["flex1", "rlm1", "lmx1"] {
        let a = stdout(&sim(&["--scenario", f, "log", "--server", server]));
        let b = stdout(&sim(&["--scenario", f, "log", "--server", server]));
        assert_eq!(a, b);
        assert!(a.lines().count() > 100);
    }
    let other = write_scenario(
        dir.path(),
        "other-seed.toml",
        &SCENARIO.replace("seed = 11", "seed = 12"),
    );
    let a = stdout(&sim(&["--scenario", f, "log", "--server", "flex1"]));
    let b = stdout(&sim(&[
        "--scenario",
        other.to_str().expect("path"),
        "log",
        "--server",
        "flex1",
    ]));
    assert_ne!(a, b);
    let generated = [
        "scenario",
        "--servers",
        "20",
        "--seed",
        "5",
        "--real-start",
        "1764000000",
    ];
    assert_eq!(stdout(&sim(&generated)), stdout(&sim(&generated)));
}

#[test]
fn errors_name_the_file_and_the_problem() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = write_scenario(
        dir.path(),
        "bad.toml",
        &SCENARIO.replace("issued = 6", "issued = 6\nseats = 2"),
    );
    let o = sim(&[
        "--scenario",
        bad.to_str().expect("path"),
        "log",
        "--server",
        "flex1",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(".toml") && err.contains("unknown field `seats`"),
        "{err}"
    );
    let o = sim(&["log", "--server", "flex1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--scenario FILE is needed"));
    let good = write_scenario(dir.path(), "good.toml", SCENARIO);
    let o = sim(&[
        "--scenario",
        good.to_str().expect("path"),
        "log",
        "--server",
        "nope",
    ]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("no server named `nope`"));
    let help = stdout(&sim(&["--help"]));
    assert!(help.contains("lmxendutil -licstat") && help.contains("[[server.feature]]"));
}

/// A day of 1,000 servers: one status call parses the whole scenario and simulates one
/// server; the bench needs it well under 50 ms (the release binary takes a few ms).
#[test]
fn a_thousand_servers_answer_one_status_call_quickly() {
    let o = GenOptions {
        servers: 1000,
        seed: 1,
        speed: 60.0,
        duration: 86_400,
        real_start: START,
    };
    let text = generate(&o);
    let t0 = Instant::now();
    let sc = Scenario::parse(&text).expect("generated scenario");
    let s = sc
        .servers
        .iter()
        .rev()
        .find(|s| s.manager == tally_sim::Manager::Flexlm)
        .expect("flexlm");
    let args: Vec<String> = ["lmstat", "-a", "-c", &format!("{}@{}", s.port(), s.host())]
        .iter()
        .map(|a| a.to_string())
        .collect();
    let reply = tools::run(&sc, Tool::Lmutil, &args, START + 86_000).expect("status");
    let took = t0.elapsed();
    eprintln!("1000 servers: parse + one status call in {took:?} (unoptimised test build)");
    assert!(reply.stdout.contains("Users of"), "{}", reply.stdout);
    assert!(took.as_millis() < 500, "{took:?}");

    // The binary, end to end (process start included).
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write_scenario(dir.path(), "thousand.toml", &text);
    let f = file.to_str().expect("path");
    let at = (START + 86_000).to_string();
    let mut argv = vec!["--scenario", f, "--at", &at, "lmutil"];
    argv.extend(args.iter().map(String::as_str));
    let t0 = Instant::now();
    let out = stdout(&sim(&argv));
    eprintln!("1000 servers: the binary answered in {:?}", t0.elapsed());
    assert_eq!(out, reply.stdout);
}
