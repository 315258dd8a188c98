//! Status outputs at many times equal the ground truth, read back by Tally's own pollers
//! (`parse_status` called natively). The poll times cross midnight and a year end, so the
//! pollers must infer the year of start dates that carry none.
mod common;

use common::*;
use flexlm_lmstat::FlexlmLmstat;
use lmx_status::LmxStatus;
use rlm_rlmstat::RlmStat;
use tally_plugin_sdk::{Poller, ServerStatus, Snapshot};
use tally_sim::{Tool, Workload, tools};

fn args(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

/// `feature|user|host|count|start-minute` of what is out at `t`, sorted.
fn truth(w: &Workload<'_>, t: i64) -> Vec<String> {
    let mut v: Vec<String> = w
        .out_at(t)
        .map(|s| {
            format!(
                "{}|{}|{}|{}|{}",
                w.server.features[s.feature].name,
                w.user(s.user),
                w.host(s.user),
                s.count,
                minute(s.start)
            )
        })
        .collect();
    v.sort();
    v
}

/// `feature|issued|in_use` per feature at `t`.
fn truth_features(w: &Workload<'_>, t: i64) -> Vec<String> {
    w.server
        .features
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let n: u32 = w
                .out_at(t)
                .filter(|s| s.feature == i)
                .map(|s| s.count)
                .sum();
            format!("{}|{}|{n}", f.name, f.issued)
        })
        .collect()
}

fn checkouts(s: &Snapshot) -> Vec<String> {
    let mut v: Vec<String> = s
        .checkouts
        .iter()
        .map(|c| {
            format!(
                "{}|{}|{}|{}|{}",
                c.feature,
                c.user,
                c.host,
                c.count,
                c.start.unwrap_or(-1)
            )
        })
        .collect();
    v.sort();
    v
}

fn features(s: &Snapshot) -> Vec<String> {
    s.features
        .iter()
        .map(|f| format!("{}|{}|{}", f.name, f.issued.unwrap_or(0), f.in_use))
        .collect()
}

/// Polls `server` at every test time through `tool` and checks what `P` reads against the truth.
fn check<P: Poller>(server: &str, tool: Tool, command: &str) {
    let sc = scenario();
    let w = workload(&sc, server);
    let (mut up, mut down, mut busy) = (0, 0, 0);
    for t in poll_times() {
        let reply = tools::run(&sc, tool, &args(command), t).expect("status");
        assert_eq!(reply.code, 0);
        let snap = P::parse_status(reply.stdout.as_bytes(), t).expect("parse_status");
        let at = tally_plugin_sdk::civil::format_utc(t);
        assert!(
            snap.diagnostics.is_empty(),
            "{at}: {:?}\n{}",
            snap.diagnostics,
            reply.stdout
        );
        assert_eq!(snap.servers.len(), 1, "{at}");
        if w.is_up(t) {
            up += 1;
            let server = &snap.servers[0];
            assert_eq!(server.status, ServerStatus::Up, "{at}");
            assert_eq!(
                (server.host.as_str(), server.port),
                (w.server.host(), Some(w.server.port()))
            );
            assert_eq!(checkouts(&snap), truth(&w, t), "{at}\n{}", reply.stdout);
            assert_eq!(features(&snap), truth_features(&w, t), "{at}");
            busy += usize::from(!snap.checkouts.is_empty());
        } else {
            down += 1;
            assert_eq!(snap.servers[0].status, ServerStatus::Down, "{at}");
            assert!(snap.features.is_empty() && snap.checkouts.is_empty());
        }
    }
    assert!(up > 50 && down >= 3 && busy > 40, "{up} {down} {busy}");
}

#[test]
fn rlmstat_equals_the_truth_at_every_poll() {
    check::<RlmStat>("rlm1", Tool::Rlmutil, "rlmstat -a -c 5053@rlm1.example");
}

#[test]
fn lmx_licstat_equals_the_truth_at_every_poll() {
    check::<LmxStatus>(
        "lmx1",
        Tool::Lmxendutil,
        "-licstat -host lmx1.example -port 6300",
    );
}

#[test]
fn lmstat_equals_the_truth_at_every_poll() {
    check::<FlexlmLmstat>("flex1", Tool::Lmutil, "lmstat -a -c 27000@flex1.example");
}

#[test]
fn unknown_addresses_get_the_tools_cannot_connect_output() {
    let sc = scenario();
    let t = START + 600;
    let run = |tool, a: &str| tools::run(&sc, tool, &args(a), t).expect("status");
    // Wrong port, wrong host, or the right address for another manager.
    for a in [
        "lmstat -a -c 27001@flex1.example",
        "lmstat -a -c 5053@rlm1.example",
        "lmstat -a -c x@y",
    ] {
        assert!(
            run(Tool::Lmutil, a)
                .stdout
                .contains("Error getting status: Cannot connect"),
            "{a}"
        );
    }
    let r = run(Tool::Rlmutil, "rlmstat -a -c 5053@nowhere");
    assert!(r.stdout.contains("Error connecting to \"rlm\" server\n\nConnection attempted to host: \"nowhere\" on port 5053"));
    assert_eq!(
        run(Tool::Lmxendutil, "-licstat -host lmx1.example").stdout,
        "Cannot connect to server.\n"
    );
    // A license path with several servers: the one that answers.
    let r = run(Tool::Lmutil, "lmstat -a -c 1@a:27000@FLEX1.EXAMPLE");
    assert!(r.stdout.contains("license server UP (MASTER)"));
    // Before the simulation starts nothing listens.
    let r = tools::run(
        &sc,
        Tool::Lmxendutil,
        &args("-licstat -host lmx1.example -port 6300"),
        START - 1,
    );
    assert_eq!(r.expect("status").stdout, "Cannot connect to server.\n");
    // Command lines the tool would refuse are errors.
    assert!(tools::run(&sc, Tool::Lmutil, &args("lmdiag -c 27000@flex1.example"), t).is_err());
}

/// The cannot-connect outputs are the corpus's, byte for byte where the address allows.
#[test]
fn cannot_connect_outputs_match_the_corpus() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus");
    let read = |p: &str| std::fs::read_to_string(format!("{dir}/{p}"));
    let Ok(lmx) = read("lmx-status/license_manager_omnivector__lmx_cannot_connect.txt") else {
        eprintln!("skipped: no corpus at {dir}");
        return;
    };
    assert_eq!(tally_sim::lmx::cannot_connect(), lmx);
    let rlm = read("rlm-rlmstat/license_manager_omnivector__rlm_output_bad_error_connecting.txt")
        .expect("rlm corpus file");
    let ours = tally_sim::rlm::cannot_connect("", 5053);
    // After the banner (the corpus's rlmutil is v12.2, ours v15.2).
    let body = |s: &str| {
        s.split_once("reserved.\n")
            .map(|x| x.1.trim_end().to_string())
    };
    assert_eq!(body(&ours), body(&rlm));
    assert!(body(&ours).is_some());
    let flex =
        read("flexlm-lmstat/license_manager_omnivector__flexlm_output_bad_cannot_connect.txt")
            .expect("flexlm corpus file");
    let ours = tally_sim::flexlm::cannot_connect(START);
    assert_eq!(ours.lines().nth(3), flex.lines().nth(3));
    assert_eq!(ours.lines().count(), flex.lines().count());
}
