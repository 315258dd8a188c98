//! End-to-end: `tally serve` and three real `tally-agent` processes on loopback, each with its
//! own settings and queue, watching real test processes (copies of `sleep`).
//!
//! - The server's End User status is Online (3) while the three report;
//! - the server is restarted in the middle: every report is applied once (each agent's report
//!   ids are contiguous, its counters match what was stored) and the sessions stored are those
//!   of the processes the agents saw, started and ended while the server was away included;
//! - a process that ignores SIGTERM is harvested: Dry run records it and leaves it running,
//!   Graceful leaves it running, Force kills it;
//! - a killed agent turns Online (3) into Online (2), and the End User status is Offline once
//!   no agent reported within the window.
//!
//! The agent binary is the workspace's `tally-agent`, built beside `tally` by
//! `cargo test --workspace` (alone: `cargo build -p tally-agent` first).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

mod common;
use common::{Env, Serving, until};

/// Seconds an agent stays online after its latest report, for this test.
const ONLINE_SECS: &str = "8";

fn agent_binary() -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_BIN_EXE_tally"))
        .with_file_name(format!("tally-agent{}", std::env::consts::EXE_SUFFIX));
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{} is missing: CI builds the whole workspace",
        path.display()
    );
    eprintln!(
        "skipping: {} is missing (cargo build -p tally-agent)",
        path.display()
    );
    None
}

/// A child process killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Running {
    fn pid(&self) -> u32 {
        self.0.id()
    }

    fn alive(&mut self) -> bool {
        self.0.try_wait().expect("wait").is_none()
    }
}

struct Agent {
    process: Running,
    host: String,
    log: PathBuf,
}

fn start_agent(env: &Env, binary: &Path, n: usize, port: u16) -> Agent {
    let dir = env.dir.path().join(format!("agent{n}"));
    std::fs::create_dir_all(&dir).expect("agent dir");
    let host = format!("ws{n}");
    let settings = format!(
        "server = \"http://127.0.0.1:{port}\"\ntoken_file = \"{}\"\nstate_dir = \"{}\"\nhost = \"{host}\"\n\
         report_interval_secs = 1\nconfig_interval_secs = 1\nrequest_timeout_secs = 10\nharvest_close_wait_secs = 1\n",
        env.dir.path().join("agent-token").display(),
        dir.join("state").display(),
    );
    std::fs::write(dir.join("agent.toml"), settings).expect("settings");
    let log = dir.join("agent.log");
    let child = Command::new(binary)
        .args(["--config", dir.join("agent.toml").to_str().expect("path")])
        .env("TALLY_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("tally-agent");
    Agent {
        process: Running(child),
        host,
        log,
    }
}

/// The queue's figures an agent prints when it stops: queued, sent, duplicates, dropped,
/// refused, waiting.
fn stop_agent(mut agent: Agent) -> [u64; 6] {
    let sent = Command::new("kill")
        .args(["-TERM", &agent.process.pid().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
    let status = agent.process.0.wait().expect("wait");
    let log = std::fs::read_to_string(&agent.log).expect("log");
    assert!(status.success(), "{status}: {log}");
    let line = log
        .lines()
        .find(|l| l.starts_with("tally-agent stopped: "))
        .unwrap_or_else(|| panic!("no figures: {log}"));
    let numbers: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    numbers
        .try_into()
        .unwrap_or_else(|n| panic!("{line}: {n:?}"))
}

/// The reports waiting in agent `n`'s queue, oldest first.
fn queued_reports(env: &Env, n: usize) -> Vec<PathBuf> {
    let dir = env.dir.path().join(format!("agent{n}/state/queue"));
    let mut queued: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name().is_some_and(|n| n != "meta.json")
                        && p.extension().is_some_and(|e| e == "json")
                })
                .collect()
        })
        .unwrap_or_default();
    queued.sort();
    queued
}

/// A copy of `sleep` called `name`: its own executable path, for the agents to match.
fn program(env: &Env, name: &str) -> PathBuf {
    let dir = env.dir.path().join("bin");
    std::fs::create_dir_all(&dir).expect("bin");
    let path = dir.join(name);
    let sleep = ["/bin/sleep", "/usr/bin/sleep"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("sleep");
    std::fs::copy(sleep, &path).expect("copy sleep");
    path
}

fn end_user(serving: &Serving) -> (String, Option<u64>) {
    let server = serving.json("/api/v1/license-servers/lic1");
    let end_user = &server["status"]["end_user"];
    (
        end_user["state"].as_str().unwrap_or_default().to_string(),
        end_user["agents"].as_u64(),
    )
}

fn send(serving: &Serving, method: &str, path: &str, body: Value) -> Value {
    let (status, answer) = serving.request(
        method,
        path,
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    );
    assert!(
        (200..300).contains(&status),
        "{method} {path}: {status} {answer}"
    );
    serde_json::from_str(&answer).unwrap_or(Value::Null)
}

fn db(env: &Env) -> rusqlite::Connection {
    rusqlite::Connection::open(env.dir.path().join("tally.db")).expect("db")
}

/// Stored End User sessions of the test processes: (host, pid, ended).
fn sessions(env: &Env, pids: &[u32]) -> Vec<(String, u32, Option<i64>)> {
    let conn = db(env);
    let mut q = conn
        .prepare("SELECT a.host, s.pid, s.ended FROM agent_session s JOIN agent a ON a.id = s.agent_id ORDER BY 1, 2")
        .expect("query");
    q.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("rows")
        .collect::<Result<Vec<(String, u32, Option<i64>)>, _>>()
        .expect("rows")
        .into_iter()
        .filter(|s| pids.contains(&s.1))
        .collect()
}

/// Per agent host: reports stored, their highest sequence, and the agent's own counts.
fn reports(env: &Env) -> Vec<(String, i64, i64, i64, i64)> {
    let conn = db(env);
    let mut q = conn
        .prepare(
            "SELECT a.host, count(r.seq), coalesce(max(r.seq), 0), a.reports, a.duplicates FROM agent a
             LEFT JOIN agent_report r ON r.agent_id = a.id GROUP BY a.id, a.host, a.reports, a.duplicates ORDER BY 1",
        )
        .expect("query");
    q.query_map([], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    })
    .expect("rows")
    .collect::<Result<_, _>>()
    .expect("rows")
}

fn harvests(serving: &Serving) -> Vec<(String, String, u64)> {
    serving.json("/api/v1/agents/harvests?limit=100")["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["application"] == "Stubborn")
        .map(|e| {
            (
                e["method"].as_str().unwrap_or_default().to_string(),
                e["outcome"].as_str().unwrap_or_default().to_string(),
                e["saved_secs"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

fn stubborn_policy(method: Value) -> Value {
    json!({
        "triggers": {"low_cpu": {"below_percent": 50.0, "for_secs": 1}},
        "method": method,
        "busy_cpu_percent": 50.0
    })
}

#[test]
fn three_agents_report_through_a_restart_and_harvest_a_process_that_ignores_sigterm() {
    let Some(agent_bin) = agent_binary() else {
        return;
    };
    let env = Env::new();
    // Room for one harvesting agent.
    env.licence(&[
        "--users",
        "1000",
        "--servers",
        "10",
        "--harvesting-agents",
        "1",
    ]);
    let out = env.tally(&[
        "server",
        "add",
        "lic1",
        "--manager",
        "flexlm",
        "--import-format",
        "flexlm-debuglog",
        "--utc-offset",
        "0",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("free port")
        .local_addr()
        .expect("address")
        .port();
    let listen = format!("127.0.0.1:{port}");
    let serve_args = ["--agent-online-secs", ONLINE_SECS];
    let mut serving = env.serve_at(&listen, &serve_args, &[]);
    assert_eq!(end_user(&serving).0, "N/A", "no agent yet");

    send(
        &serving,
        "POST",
        "/api/v1/accounts",
        json!({"name": "fleet", "role": "viewer", "password": "a long password"}),
    );
    let token = send(
        &serving,
        "POST",
        "/api/v1/tokens",
        json!({"name": "agents", "user": "fleet", "scope": "agent"}),
    );
    std::fs::write(
        env.dir.path().join("agent-token"),
        token["token"].as_str().expect("token"),
    )
    .expect("token file");
    let solver = program(&env, "solver");
    send(
        &serving,
        "PUT",
        "/api/v1/agents/applications/Solver",
        json!({"match": {"path": solver.to_str().expect("path")}, "license_server": "lic1", "feature": "solve"}),
    );
    let s1 = Running(Command::new(&solver).arg("1000").spawn().expect("s1"));
    let mut s2 = Running(Command::new(&solver).arg("1000").spawn().expect("s2"));

    let mut agents: Vec<Agent> = (1..=3)
        .map(|n| start_agent(&env, &agent_bin, n, port))
        .collect();
    // The server's page and the grid (the dashboard's data) alike.
    until("Online (3)", || {
        let grid = serving.json("/api/v1/license-servers");
        end_user(&serving) == ("Online".into(), Some(3))
            && grid[0]["status"]["end_user"]["agents"] == 3
    });
    let hosts = ["ws1", "ws2", "ws3"];
    let (p1, p2) = (s1.pid(), s2.pid());
    let pids = |extra: &[u32]| [vec![p1, p2], extra.to_vec()].concat();
    until("each agent's sessions", || {
        sessions(&env, &pids(&[])).len() == 6
    });

    // The server goes away; meanwhile a process starts and another ends.
    let stopped = serving.terminate();
    assert!(stopped.success(), "{stopped}");
    let s3 = Running(Command::new(&solver).arg("1000").spawn().expect("s3"));
    let _ = s2.0.kill();
    let _ = s2.0.wait();
    // Away until every agent has queued reports taken after that (a loaded machine runs them
    // late), the processes' changes among them.
    until("every agent queuing", || {
        (1..=3).all(|n| queued_reports(&env, n).len() >= 2)
    });
    // A report ws1 queued meanwhile, kept to be sent again later.
    let queued = queued_reports(&env, 1);
    let resent = std::fs::read(queued.first().expect("a queued report")).expect("report");
    serving = env.serve_at(&listen, &serve_args, &[]);
    let all = pids(&[s3.pid()]);
    until("the reports queued while the server was away", || {
        let stored = sessions(&env, &all);
        stored.len() == 9
            && stored
                .iter()
                .all(|(_, pid, ended)| ended.is_some() == (*pid == p2))
    });
    let stored = sessions(&env, &all);
    for host in hosts {
        let mut seen: Vec<u32> = stored.iter().filter(|s| s.0 == host).map(|s| s.1).collect();
        seen.sort_unstable();
        let mut expected = all.clone();
        expected.sort_unstable();
        assert_eq!(seen, expected, "{host}: one session per process it saw");
    }
    // Sent again (its answer lost, say): acknowledged as a duplicate, applied once.
    let id = serde_json::from_slice::<Value>(&resent).expect("JSON")["id"]["agent"].clone();
    let bearer = format!("Bearer {}", token["token"].as_str().expect("token"));
    let (status, answer) = serving.request(
        "POST",
        &format!("/api/v1/agents/{id}/reports"),
        &[
            ("Authorization", &bearer),
            ("Content-Type", "application/json"),
        ],
        &resent,
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        serde_json::from_str::<Value>(&answer).expect("JSON")["receipt"],
        "duplicate"
    );
    assert_eq!(sessions(&env, &all), stored, "nothing written twice");
    for (host, count, max_seq, applied, _) in reports(&env) {
        assert_eq!(count, max_seq, "{host}: a report id missing");
        assert_eq!(count, applied, "{host}: applied {applied} of {count} ids");
    }
    until("Online (3) after the restart", || {
        end_user(&serving) == ("Online".into(), Some(3))
    });
    // They did queue while the server was away, and say so on the Agents page.
    let listed = serving.json("/api/v1/agents");
    for agent in listed.as_array().expect("agents") {
        let errors = agent["errors"].to_string();
        assert!(errors.contains("is unreachable"), "{agent}");
    }

    // Harvesting: a process that ignores SIGTERM, harvested by ws1 only.
    let stubborn = program(&env, "stubborn");
    let mut victim = Running(
        Command::new("sh")
            .args([
                "-c",
                &format!("trap '' TERM; exec '{}' 1000", stubborn.display()),
            ])
            .spawn()
            .expect("stubborn"),
    );
    let listed = serving.json("/api/v1/agents");
    let ws1 = listed
        .as_array()
        .expect("agents")
        .iter()
        .find(|a| a["host"] == "ws1")
        .expect("ws1")["id"]
        .as_i64()
        .expect("id");
    let enabled = send(
        &serving,
        "PATCH",
        &format!("/api/v1/agents/{ws1}"),
        json!({"harvesting": true}),
    );
    assert_eq!(enabled["harvesting"], "On", "{enabled}");
    let watch_stubborn = |method: Value| {
        send(
            &serving,
            "PUT",
            "/api/v1/agents/applications/Stubborn",
            json!({
                "match": {"path": stubborn.to_str().expect("path")}, "license_server": "lic1",
                "feature": "solve", "harvest": stubborn_policy(method)
            }),
        );
    };
    watch_stubborn(json!({"kind": "dry-run"}));
    until("the dry run recorded", || {
        harvests(&serving)
            .iter()
            .any(|h| (h.0.as_str(), h.1.as_str()) == ("dry-run", "recorded"))
    });
    assert!(victim.alive(), "a dry run leaves it running");
    // A second harvesting agent is past the licence's limit: "No License", and no orders.
    let ws2 = listed
        .as_array()
        .expect("agents")
        .iter()
        .find(|a| a["host"] == "ws2")
        .expect("ws2")["id"]
        .as_i64()
        .expect("id");
    let refused = send(
        &serving,
        "PATCH",
        &format!("/api/v1/agents/{ws2}"),
        json!({"harvesting": true}),
    );
    assert_eq!(refused["harvesting"], "No License", "{refused}");
    assert!(
        refused["harvesting_reason"]
            .as_str()
            .is_some_and(|r| r.contains("1 agents with License Harvesting")),
        "{refused}"
    );
    watch_stubborn(json!({"kind": "graceful"}));
    until("the graceful harvest", || {
        harvests(&serving).iter().any(|h| h.0 == "graceful")
    });
    assert!(
        harvests(&serving).contains(&("graceful".into(), "still-running".into(), 0)),
        "{:?}",
        harvests(&serving)
    );
    assert!(victim.alive(), "it ignores SIGTERM");
    watch_stubborn(json!({"kind": "force", "grace_secs": 1}));
    until("the forced harvest", || {
        harvests(&serving).iter().any(|h| h.0 == "force")
    });
    let status = victim.0.wait().expect("wait");
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(9), "killed: {status}");
    }
    let done = harvests(&serving);
    assert_eq!(done.len(), 3, "one event each, all by ws1: {done:?}");
    let by: Vec<Value> = serving.json("/api/v1/agents/harvests")["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["host"].clone())
        .collect();
    assert!(by.iter().all(|h| h == "ws1"), "{by:?}");
    let killed = done.iter().find(|h| h.0 == "force").expect("force");
    assert_eq!(killed.1, "killed");
    assert!(killed.2 >= 1, "licence time saved: {killed:?}");

    // An agent killed: Online (2), then Offline once the others stop.
    let third = agents.pop().expect("ws3");
    drop(third);
    until("Online (2)", || {
        end_user(&serving) == ("Online".into(), Some(2))
    });
    let figures: Vec<(String, [u64; 6])> = agents
        .drain(..)
        .map(|a| (a.host.clone(), stop_agent(a)))
        .collect();
    let stored = reports(&env);
    for (host, [queued, sent, duplicates, dropped, refused, waiting]) in &figures {
        let (_, count, _, applied, dups) = stored
            .iter()
            .find(|r| &r.0 == host)
            .expect("stored")
            .clone();
        assert_eq!((*dropped, *refused, *waiting), (0, 0, 0), "{host}");
        assert_eq!(*queued, sent + duplicates, "{host}");
        assert_eq!(count as u64, *sent, "{host}: stored once each");
        assert_eq!(applied as u64, *sent, "{host}");
        assert!(dups as u64 >= *duplicates, "{host}");
        eprintln!(
            "{host}: {queued} reports queued, {sent} sent, {duplicates} duplicates, {dropped} dropped; the server stored {count} and answered {dups} duplicates"
        );
    }
    until("Offline", || end_user(&serving).0 == "Offline");

    // The operator's view from the command line.
    let out = env.tally(&["agent", "list"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = String::from_utf8_lossy(&out.stdout);
    // (Its online window is the seed's 2 minutes: they are still Online there.)
    let ws1_line = listed.lines().find(|l| l.contains(" ws1 ")).expect("ws1");
    assert!(ws1_line.contains(" On "), "{listed}");
    assert!(
        ["ws2", "ws3"].iter().all(|w| listed.contains(w)),
        "{listed}"
    );
    let out = env.tally(&["agent", "harvests"]);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("Stubborn") && shown.contains("killed") && shown.contains("recorded"),
        "{shown}"
    );
    drop((s1, s3));
}
