//! End-to-end: `tally serve` polls three `tally-sim` license servers (FlexNet, RLM, LM-X) through
//! their real status tools for one simulated hour. The sessions Tally derives from its polls must
//! match the simulator's ground truth within one poll interval, and the FlexNet server, taken
//! down for ten simulated minutes, must show Offline (with the reason) and then Online again.
//!
//! The simulator runs 60 simulated seconds per wall second and Tally polls every wall second:
//! one poll per simulated minute. Tally records wall-clock times; the test maps them onto the
//! simulated clock (`sim = sim_start + (wall - real_start) × speed`).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

mod common;
use common::Env;

const SPEED: i64 = 60;
/// Simulated seconds between polls (one wall second).
const INTERVAL: i64 = SPEED;
/// What process start-up adds to a poll's lag: a quarter of a wall second, simulated.
const SLACK: i64 = SPEED / 4;
const HOUR: i64 = 3600;
/// The FlexNet server is down for these simulated seconds of the hour.
const DOWN: (i64, i64) = (1500, 2100);

/// The simulator binary, built beside `tally` by `cargo test --workspace` (tally-sim's own
/// integration tests make cargo build it).
fn tally_sim() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_BIN_EXE_tally")).with_file_name("tally-sim");
    assert!(
        path.exists(),
        "{} is missing: build it with `cargo build -p tally-sim` (cargo test --workspace does)",
        path.display()
    );
    path
}

fn wall_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

struct Clock {
    real_start: i64,
    sim_start: i64,
}

impl Clock {
    fn sim(&self, wall: i64) -> i64 {
        self.sim_start + (wall - self.real_start) * SPEED
    }
}

fn scenario(clock: &Clock) -> String {
    format!(
        r#"seed = 2026
[clock]
real_start = {real}
sim_start = {sim}
speed = {SPEED}.0
duration = {HOUR}

[[server]]
name = "flex"
manager = "flexlm"
host = "lic-flex"
users = 12
arrivals_per_hour = 60
down = [[{down_start}, {down_end}]]
[[server.feature]]
name = "CAD"
issued = 5
[[server.feature]]
name = "SOLVER"
issued = 2

[[server]]
name = "rlm"
manager = "rlm"
host = "lic-rlm"
users = 8
arrivals_per_hour = 80
[[server.feature]]
name = "render"
issued = 4

[[server]]
name = "lmx"
manager = "lmx"
host = "lic-lmx"
users = 8
arrivals_per_hour = 80
[[server.feature]]
name = "MESHER"
issued = 3
"#,
        real = clock.real_start,
        sim = clock.sim_start,
        down_start = DOWN.0,
        down_end = DOWN.1,
    )
}

/// A session as (feature, user, host, count, start, end) on the simulated clock.
type Session = (String, String, String, u64, i64, i64);

fn truth(sim: &PathBuf, scenario: &str, server: &str) -> Vec<Session> {
    let out = Command::new(sim)
        .args([
            "--scenario",
            scenario,
            "sessions",
            "--server",
            server,
            "--json",
        ])
        .output()
        .expect("tally-sim sessions");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let truth: Value = serde_json::from_slice(&out.stdout).expect("truth JSON");
    truth["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .filter(|s| s["end"].is_i64())
        .map(|s| {
            (
                s["feature"].as_str().expect("feature").to_string(),
                s["user"].as_str().expect("user").to_string(),
                s["host"].as_str().expect("host").to_string(),
                s["count"].as_u64().expect("count"),
                s["start"].as_i64().expect("start"),
                s["end"].as_i64().expect("end"),
            )
        })
        .collect()
}

/// Within one poll interval as actually polled: a loaded machine (CI) stretches the interval.
/// Every item of a keyset-paged list, following its `next` cursors.
fn every_item(serving: &common::Serving, path: &str) -> Vec<Value> {
    let join = if path.contains('?') { '&' } else { '?' };
    let mut items = Vec::new();
    let mut after = String::new();
    loop {
        let page = serving.json(&format!("{path}{join}limit=1000&after={after}"));
        items.extend(page["items"].as_array().expect("items").iter().cloned());
        match page["next"].as_str() {
            Some(next) => after = next.to_string(),
            None => return items,
        }
    }
}

/// Unix seconds of an RFC 3339 time.
fn epoch(time: &Value) -> i64 {
    let text = time.as_str().expect("a time");
    chrono::DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .timestamp()
}

fn close(a: i64, b: i64, interval: i64) -> bool {
    (a - b).abs() <= interval + SLACK
}

/// The poll interval as actually polled around simulated time `t`: the gap between the polls
/// before and after it (a loaded machine stretches it; an outage has no polls in it).
fn gap_around(polls: &[i64], t: i64) -> i64 {
    let after = polls.partition_point(|&p| p < t);
    let gap = match (
        after.checked_sub(1).and_then(|i| polls.get(i)),
        polls.get(after),
    ) {
        (Some(before), Some(after)) => after - before,
        _ => INTERVAL,
    };
    gap.max(INTERVAL)
}

#[test]
fn polls_of_simulated_servers_give_the_simulators_sessions_and_statuses() {
    let sim = tally_sim();
    let env = Env::new();
    // Far from the wall clock: the start times lmstat reports never pass for poll times.
    let real_start = wall_now() + 3;
    let clock = Clock {
        real_start,
        sim_start: real_start - 200 * 86_400,
    };
    let scenario = env.write("scenario.toml", &scenario(&clock));
    let scenario = scenario.to_str().expect("utf-8");

    for (name, manager, host, port) in [
        ("flex", "flexlm", "lic-flex", "27000"),
        ("rlm", "rlm", "lic-rlm", "5053"),
        ("lmx", "lmx", "lic-lmx", "6200"),
    ] {
        let add = env.tally(&[
            "server",
            "add",
            name,
            "--manager",
            manager,
            "--host",
            host,
            "--port",
            port,
            "--interval",
            "1",
        ]);
        assert!(
            add.status.success(),
            "{}",
            String::from_utf8_lossy(&add.stderr)
        );
    }
    let list = env.tally(&["server", "list", "--json"]);
    let list: Value = serde_json::from_slice(&list.stdout).expect("list");
    assert!(
        list.as_array()
            .expect("servers")
            .iter()
            .all(|s| s["remote_status"] == "Verifying"),
        "a new server is Verifying until its first poll: {list}"
    );

    let sim_path = sim.to_str().expect("utf-8");
    let tool = |name: &str| format!("{name}={sim_path} --scenario {scenario} {name}");
    let serving = env.serve(&[
        "--tool",
        &tool("lmutil"),
        "--tool",
        &tool("rlmutil"),
        "--tool",
        &tool("lmxendutil"),
    ]);

    // Watch the FlexNet server's status through the API for the whole simulated hour, and ask
    // `tally status` who holds the RLM server's licences half-way.
    let mut seen: Vec<(String, Option<String>)> = Vec::new();
    let mut status: Option<Value> = None;
    while wall_now() < real_start + HOUR / SPEED + 2 {
        if status.is_none() && wall_now() >= real_start + HOUR / SPEED / 2 {
            let out = env.tally(&["status", "rlm", "--json"]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            status = Some(serde_json::from_slice(&out.stdout).expect("status JSON"));
        }
        let server = serving.json("/api/v1/license-servers/flex");
        let now = (
            server["status"]["remote"]["state"]
                .as_str()
                .expect("status")
                .to_string(),
            server["status"]["remote"]["reason"]
                .as_str()
                .map(str::to_string),
        );
        if seen.last() != Some(&now) {
            seen.push(now);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let statuses: Vec<&str> = seen.iter().map(|(s, _)| s.as_str()).collect();
    let online = statuses.iter().position(|&s| s == "Online");
    let offline = statuses.iter().rposition(|&s| s == "Offline");
    assert!(
        matches!((online, offline), (Some(a), Some(b)) if a < b)
            && statuses.last() == Some(&"Online"),
        "Online, then Offline while down, then Online again: {seen:?}"
    );
    let reason = seen
        .iter()
        .find(|(s, _)| s == "Offline")
        .and_then(|(_, r)| r.clone())
        .unwrap_or_default();
    assert!(
        reason.contains("lic-flex") || reason.to_lowercase().contains("connect"),
        "Offline says why: {reason}"
    );

    // The simulated clock runs 200 days behind: the checkout starts the polls show say so
    // (unknown while only checkouts older than Tally's first poll bound it).
    let flex_clock = serving.json("/api/v1/license-servers/flex")["clock"].clone();
    assert!(
        flex_clock["as_of"].is_string()
            && matches!(flex_clock["state"].as_str(), Some("behind" | "unknown"))
            && flex_clock["at_least_secs"]
                .as_i64()
                .is_some_and(|s| s < -150 * 86_400),
        "the polls measured the simulated server's clock: {flex_clock}"
    );

    let status = status.expect("`tally status` ran half-way");
    holders_are_the_simulators(&status, &truth(&sim, scenario, "rlm"), &clock);

    for server in ["flex", "rlm", "lmx"] {
        let features = serving.json(&format!("/api/v1/license-servers/{server}/features"));
        let mut times: BTreeSet<i64> = BTreeSet::new();
        for feature in features.as_array().expect("features") {
            let name = feature["name"].as_str().expect("name");
            let path = format!("/api/v1/license-servers/{server}/samples?feature={name}");
            times.extend(
                every_item(&serving, &path)
                    .iter()
                    .map(|s| epoch(&s["time"])),
            );
        }
        let (first, last) = (
            clock.sim(*times.first().expect("polls")),
            clock.sim(*times.last().expect("polls")),
        );
        assert!(
            times.len() as i64 > HOUR / INTERVAL / 2,
            "{server}: {} polls in a simulated hour",
            times.len()
        );

        let polled: Vec<Session> = every_item(
            &serving,
            &format!("/api/v1/license-servers/{server}/sessions"),
        )
        .iter()
        .map(|s| {
            (
                s["feature"].as_str().expect("feature").to_string(),
                s["user"].as_str().expect("user").to_string(),
                s["host"].as_str().expect("host").to_string(),
                s["count"].as_u64().expect("count"),
                clock.sim(epoch(&s["start"])),
                clock.sim(epoch(&s["end"])),
            )
        })
        // Sessions already open at the first poll started before Tally looked.
        .filter(|s| s.4 > first)
        .collect();
        let polls: Vec<i64> = times.iter().map(|&t| clock.sim(t)).collect();
        let mut unmatched = polled.clone();
        let truth = truth(&sim, scenario, server);
        let mut compared = 0;
        let mut merged = BTreeSet::new();
        for (i, t) in truth.iter().enumerate() {
            if merged.contains(&i) {
                continue;
            }
            // Only sessions Tally watched from start to end; one shorter than a poll interval
            // may fall between two polls and go unseen.
            let watched = t.4 > first + INTERVAL && t.5 < last - INTERVAL;
            let polled_as = |unmatched: &[Session], start: i64, end: i64| {
                unmatched.iter().position(|p| {
                    (&p.0, &p.1, &p.2, p.3) == (&t.0, &t.1, &t.2, t.3)
                        && close(p.4, start, gap_around(&polls, start))
                        && close(p.5, end, gap_around(&polls, end))
                })
            };
            let mut found = polled_as(&unmatched, t.4, t.5);
            // A check-in and the same user's next checkout with no poll between them look like
            // one session to polls (seen: 48 simulated seconds apart, polls 60 apart).
            let next = (i + 1..truth.len())
                .find(|&j| (&truth[j].0, &truth[j].1, &truth[j].2) == (&t.0, &t.1, &t.2))
                .filter(|&j| truth[j].4 - t.5 < gap_around(&polls, t.5));
            if let (None, Some(j)) = (found, next) {
                found = polled_as(&unmatched, t.4, truth[j].5);
                if found.is_some() {
                    merged.insert(j);
                }
            }
            match found {
                Some(i) => {
                    unmatched.swap_remove(i);
                    compared += 1;
                }
                None => assert!(
                    !watched || t.5 - t.4 < INTERVAL + SLACK,
                    "{server}: the simulator's session {t:?} has no polled session within one \
                     interval (polled: {polled:?})"
                ),
            }
        }
        assert!(
            unmatched.is_empty(),
            "{server}: polled sessions the simulator never had: {unmatched:?}\n\
             the simulator's sessions of those users and features: {:?}\npolls: {polls:?}",
            truth
                .iter()
                .filter(|t| unmatched.iter().any(|p| (&p.0, &p.1) == (&t.0, &t.1)))
                .collect::<Vec<_>>()
        );
        eprintln!(
            "{server}: {} polls, {compared} of {} simulated sessions matched within {} s",
            times.len(),
            truth.len(),
            INTERVAL + SLACK
        );
        assert!(
            compared >= 10,
            "{server}: only {compared} sessions compared"
        );
    }
}

/// `tally status --json` of one server lists as holders the simulator's sessions open at the
/// latest poll: every session open from two intervals before it to one after, and none that
/// was not open at some time then (the poll ran somewhere in that span).
fn holders_are_the_simulators(status: &Value, truth: &[Session], clock: &Clock) {
    let at = clock.sim(status["as_of"].as_i64().expect("as_of: polled"));
    let (early, late) = (at - 2 * INTERVAL, at + INTERVAL);
    type Holder = (String, String, String, u64);
    let key = |s: &Session| -> Holder { (s.0.clone(), s.1.clone(), s.2.clone(), s.3) };
    let surely: BTreeSet<Holder> = truth
        .iter()
        .filter(|s| s.4 <= early && s.5 > late)
        .map(key)
        .collect();
    let maybe: BTreeSet<Holder> = truth
        .iter()
        .filter(|s| s.4 <= late && s.5 > early)
        .map(key)
        .collect();
    let listed: BTreeSet<Holder> = status["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .map(|s| {
            (
                s["feature"].as_str().expect("feature").to_string(),
                s["user"].as_str().expect("user").to_string(),
                s["host"].as_str().expect("host").to_string(),
                s["count"].as_u64().expect("count"),
            )
        })
        .collect();
    assert!(!surely.is_empty(), "licences were held half-way: {status}");
    assert!(
        surely.is_subset(&listed) && listed.is_subset(&maybe),
        "`tally status` lists {listed:?}; the simulator had {surely:?} open throughout and \
         {maybe:?} open at some time around the poll"
    );
    let in_use: u64 = status["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| f["in_use"].as_u64().expect("in_use"))
        .sum();
    let held: u64 = listed.iter().map(|h| h.3).sum();
    assert_eq!(
        in_use, held,
        "in use per feature adds up to the holders: {status}"
    );
}
