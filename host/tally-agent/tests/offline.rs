//! The real `tally-agent` binary against an in-test server that records what it receives: the
//! server loses one answer, goes away for a while and comes back, and gives one harvest order.
//! Nothing the agent queued is lost, nothing is stored twice, reports arrive in order, and the
//! harvested process is really gone.
#![cfg(unix)]

use std::collections::{BTreeSet, HashSet};
use std::net::SocketAddr;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use tally_core::agent::{
    AgentConfig, AgentId, EnrolAnswer, EnrolRequest, ExecutableMatch, HarvestOrder, HarvestOutcome,
    OrderId, Receipt, Report, ReportAnswer, ReportId, WatchedApplication,
};
use tally_core::harvest::{Reasons, ReleaseMethod};

const TOKEN: &str = "agent-token-for-the-test";
const APP: &str = "tally-e2e-app";

#[derive(Debug, Default)]
struct Recorded {
    /// Reports stored, in arrival order.
    stored: Vec<Report>,
    ids: HashSet<ReportId>,
    duplicates: u64,
    /// Store the next report but answer 503, as if the answer were lost.
    lose_next_answer: bool,
    lost_answers: u64,
    /// Order a Force harvest of this pid once it is reported.
    harvest_pid: Option<u32>,
    ordered: bool,
    bad_tokens: u64,
}

type Shared = Arc<Mutex<Recorded>>;

fn authorised(recorded: &Shared, headers: &HeaderMap) -> bool {
    let ok = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {TOKEN}"));
    if !ok {
        recorded.lock().expect("lock").bad_tokens += 1;
    }
    ok
}

fn app(recorded: Shared) -> Router {
    Router::new()
        .route(
            "/api/v1/agents/enrol",
            post(
                |State(r): State<Shared>, headers: HeaderMap, Json(request): Json<EnrolRequest>| async move {
                    if !authorised(&r, &headers) {
                        return Err(StatusCode::UNAUTHORIZED);
                    }
                    assert!(!request.host.is_empty());
                    Ok(Json(EnrolAnswer {
                        agent_id: AgentId(7),
                    }))
                },
            ),
        )
        .route(
            "/api/v1/agents/{id}/config",
            get(
                |State(r): State<Shared>, headers: HeaderMap, UrlPath(id): UrlPath<i64>| async move {
                    if !authorised(&r, &headers) || id != 7 {
                        return Err(StatusCode::UNAUTHORIZED);
                    }
                    Ok(Json(AgentConfig {
                        report_interval_secs: 1,
                        applications: vec![WatchedApplication {
                            name: "E2E app".into(),
                            matcher: ExecutableMatch::Name(APP.into()),
                            license_server: "srv".into(),
                            feature: "feat".into(),
                            harvest: None,
                        }],
                    }))
                },
            ),
        )
        .route(
            "/api/v1/agents/{id}/reports",
            post(
                |State(r): State<Shared>, headers: HeaderMap, UrlPath(id): UrlPath<i64>, Json(report): Json<Report>| async move {
                    if !authorised(&r, &headers) || id != 7 {
                        return Err(StatusCode::UNAUTHORIZED);
                    }
                    let mut r = r.lock().expect("lock");
                    if !r.ids.insert(report.id) {
                        r.duplicates += 1;
                        return Ok(Json(ReportAnswer {
                            receipt: Receipt::Duplicate,
                            orders: vec![],
                        }));
                    }
                    let mut orders = vec![];
                    if let Some(pid) = r.harvest_pid
                        && !r.ordered
                        && let Some(process) = report.processes.iter().find(|p| p.pid == pid)
                    {
                        r.ordered = true;
                        orders.push(HarvestOrder {
                            id: OrderId(1),
                            pid,
                            started: process.started,
                            application: process.application.clone(),
                            method: ReleaseMethod::Force { grace_secs: 1 },
                            reasons: Reasons {
                                user_idle_secs: None,
                                low_cpu_secs: Some(600),
                                outside_hours: false,
                            },
                        });
                    }
                    r.stored.push(report);
                    if r.lose_next_answer {
                        r.lose_next_answer = false;
                        r.lost_answers += 1;
                        return Err(StatusCode::SERVICE_UNAVAILABLE);
                    }
                    Ok(Json(ReportAnswer {
                        receipt: Receipt::Accepted,
                        orders,
                    }))
                },
            ),
        )
        .with_state(recorded)
}

/// Serves on `addr` (port 0 for any) until the task is aborted; answers the address bound.
async fn serve(addr: SocketAddr, recorded: Shared) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    // The same port again after a restart, as a real server comes back.
    socket.set_reuseaddr(true).expect("reuseaddr");
    socket.bind(addr).expect("bind");
    let listener = socket.listen(64).expect("listen");
    let bound = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        axum::serve(listener, app(recorded)).await.expect("serve");
    });
    (bound, task)
}

/// A copy of `sleep` named like the watched application; spawning retries while another test
/// thread's fork still holds the fresh copy open for writing.
fn spawn_app(exe: &Path, ignore_term: bool) -> Child {
    for _ in 0..50 {
        let spawned = if ignore_term {
            Command::new("sh")
                .arg("-c")
                .arg(format!("trap '' TERM; exec '{}' 300", exe.display()))
                .spawn()
        } else {
            Command::new(exe).arg("300").spawn()
        };
        match spawned {
            Ok(child) => return child,
            Err(e) if e.raw_os_error() == Some(26) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("cannot spawn {}: {e}", exe.display()),
        }
    }
    panic!("{} stayed busy", exe.display());
}

fn counters(state: &Path) -> tally_agent::queue::Counters {
    let bytes = std::fs::read(state.join("queue/meta.json")).expect("queue meta");
    serde_json::from_slice(&bytes).expect("counters")
}

async fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_lost_nothing_doubled_across_an_outage_and_a_harvest_is_carried_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = dir.path().join(APP);
    std::fs::copy("/bin/sleep", &exe).expect("copy sleep");
    let mut sleepers: Vec<Child> = (0..3).map(|_| spawn_app(&exe, false)).collect();
    let mut stubborn = spawn_app(&exe, true);
    let sleeper_pids: BTreeSet<u32> = sleepers.iter().map(Child::id).collect();

    let recorded = Shared::default();
    let (addr, server) = serve("127.0.0.1:0".parse().expect("addr"), recorded.clone()).await;

    let state = dir.path().join("state");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).expect("token");
    let settings = dir.path().join("agent.toml");
    std::fs::write(
        &settings,
        format!(
            "server = \"http://{addr}\"\ntoken_file = \"{}\"\nstate_dir = \"{}\"\n\
             report_interval_secs = 1\nconfig_interval_secs = 1\nrequest_timeout_secs = 2\n",
            token_file.display(),
            state.display()
        ),
    )
    .expect("settings");
    let log_path = dir.path().join("agent.log");
    let mut agent = Command::new(env!("CARGO_BIN_EXE_tally-agent"))
        .arg("--config")
        .arg(&settings)
        .env("TALLY_LOG", "debug")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).expect("log"))
        .spawn()
        .expect("start tally-agent");

    let stored = |r: &Shared| r.lock().expect("lock").stored.len();
    wait_until(
        "three reports with the watched processes",
        Duration::from_secs(60),
        || {
            let r = recorded.lock().expect("lock");
            r.stored
                .iter()
                .filter(|rep| rep.processes.len() == 4)
                .count()
                >= 3
        },
    )
    .await;

    // A harvest: Force on the process that ignores SIGTERM.
    recorded.lock().expect("lock").harvest_pid = Some(stubborn.id());
    let status = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::task::spawn_blocking(move || stubborn.wait()),
    )
    .await
    .expect("the stubborn process is harvested within a minute")
    .expect("join")
    .expect("wait");
    assert_eq!(
        status.signal(),
        Some(9),
        "killed after ignoring SIGTERM: {status:?}"
    );

    // An answer lost after the report was stored: the agent resends, the server says duplicate.
    recorded.lock().expect("lock").lose_next_answer = true;
    wait_until("a duplicate", Duration::from_secs(30), || {
        recorded.lock().expect("lock").duplicates >= 1
    })
    .await;

    // The server goes away while the agent keeps reporting.
    server.abort();
    let _ = server.await;
    let before = counters(&state);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let during = counters(&state);
    let waiting = |c: &tally_agent::queue::Counters| {
        c.queued - c.sent - c.duplicates - c.dropped - c.rejected
    };
    assert!(
        during.queued >= before.queued + 3 && waiting(&during) >= 3,
        "reports queued while the server is down: {before:?} -> {during:?}"
    );
    let stored_before_return = stored(&recorded);

    // It comes back on the same address.
    let (_, server) = serve(addr, recorded.clone()).await;
    wait_until("the queue drained", Duration::from_secs(60), || {
        let c = counters(&state);
        waiting(&c) == 0 && c.queued > during.queued
    })
    .await;
    assert!(stored(&recorded) > stored_before_return + 3);

    // Stop the agent as systemd does.
    let killed = Command::new("kill")
        .args(["-TERM", &agent.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let exit = tokio::task::spawn_blocking(move || agent.wait())
        .await
        .expect("join")
        .expect("wait");
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    assert!(exit.success(), "tally-agent failed: {exit:?}\n{log}");
    assert!(!log.contains(TOKEN), "the token is never logged");
    server.abort();

    let last = counters(&state);
    let r = recorded.lock().expect("lock");
    eprintln!(
        "agent: {} reports queued, {} sent, {} duplicates, {} dropped; server: {} stored, {} duplicate answers, {} answers lost",
        last.queued,
        last.sent,
        last.duplicates,
        last.dropped,
        r.stored.len(),
        r.duplicates,
        r.lost_answers
    );
    assert_eq!(r.bad_tokens, 0);
    assert_eq!(last.dropped, 0);
    assert_eq!(last.rejected, 0);
    // Reports sent at shutdown (harvest results) may still wait; there were none after the kill.
    assert_eq!(waiting(&last), 0, "{last:?}");

    // Nothing lost, nothing doubled, in order: every number the agent gave, stored once.
    let sequences: Vec<u64> = r.stored.iter().map(|rep| rep.id.sequence).collect();
    let want: Vec<u64> = (1..last.next_sequence).collect();
    assert_eq!(sequences, want, "stored in the order taken, each once");
    assert_eq!(last.queued, r.stored.len() as u64);
    assert_eq!(last.sent + last.duplicates, r.stored.len() as u64);
    assert_eq!(last.duplicates, r.duplicates);
    assert_eq!(r.lost_answers, 1);
    assert!(r.stored.iter().all(|rep| rep.id.agent == AgentId(7)));

    // Reports taken during the outage waited in the queue: their heartbeat says so.
    assert!(r.stored.iter().any(|rep| rep.heartbeat.queued >= 3));

    // Every report taken with the configuration shows the three sleepers, as the agent saw them.
    let with_processes: Vec<&Report> = r
        .stored
        .iter()
        .filter(|rep| !rep.processes.is_empty())
        .collect();
    assert!(
        with_processes.len() >= 10,
        "{} reports",
        with_processes.len()
    );
    for rep in &with_processes {
        let pids: BTreeSet<u32> = rep
            .processes
            .iter()
            .map(|p| p.pid)
            .filter(|pid| sleeper_pids.contains(pid))
            .collect();
        assert_eq!(pids, sleeper_pids, "report {}", rep.id.sequence);
        assert!(
            rep.processes
                .iter()
                .all(|p| p.executable == APP && p.application == "E2E app")
        );
        assert!(
            rep.processes
                .iter()
                .all(|p| p.user.is_some() && p.started > 0)
        );
    }

    // The harvest's result came back in a later report.
    let results: Vec<_> = r
        .stored
        .iter()
        .flat_map(|rep| rep.harvests.iter())
        .collect();
    assert_eq!(results.len(), 1, "{results:?}");
    assert_eq!(results[0].order, OrderId(1));
    assert_eq!(results[0].outcome, HarvestOutcome::Killed);
    drop(r);

    for sleeper in &mut sleepers {
        sleeper.kill().expect("kill");
        sleeper.wait().expect("wait");
    }
}

#[test]
fn help_says_what_the_agent_does_and_how_to_configure_it() {
    let out = Command::new(env!("CARGO_BIN_EXE_tally-agent"))
        .arg("--help")
        .output()
        .expect("run");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "--config",
        "token_file",
        "queue_max_reports",
        "harvest",
        "TALLY_LOG",
    ] {
        assert!(help.contains(needle), "`{needle}` not in:\n{help}");
    }
}

#[test]
fn a_settings_file_with_an_unknown_key_is_refused_by_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let settings: PathBuf = dir.path().join("agent.toml");
    std::fs::write(
        &settings,
        "server = \"http://127.0.0.1:1\"\ncolour = \"red\"\n",
    )
    .expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_tally-agent"))
        .arg("--config")
        .arg(&settings)
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("colour") && err.contains("agent.toml"),
        "{err}"
    );
}
