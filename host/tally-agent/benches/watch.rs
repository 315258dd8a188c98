//! The agent's CPU and memory while watching N processes, against a baseline of the same run
//! watching none (the scan still walks every process of the machine).
//!
//! `cargo bench -p tally-agent --bench watch [-- PROCESSES [SECONDS [INTERVAL]]]`
//! (default 500 processes, 60 s, a report every 5 s). Linux only: reads `/proc/PID/stat`
//! and `/proc/PID/status` of the agent.

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("skipped: the watch bench reads /proc (Linux)");
}

#[cfg(target_os = "linux")]
fn main() {
    linux::main();
}

#[cfg(target_os = "linux")]
mod linux {
    use std::path::Path;
    use std::process::{Child, Command, Stdio};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    use axum::routing::{get, post};
    use axum::{Json, Router};
    use tally_core::agent::{
        AgentConfig, AgentId, EnrolAnswer, ExecutableMatch, Receipt, Report, ReportAnswer,
        WatchedApplication,
    };

    const APP: &str = "tally-bench-app";

    pub fn main() {
        let args: Vec<String> = std::env::args()
            .skip(1)
            .filter(|a| !a.starts_with('-'))
            .collect();
        let n: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(500);
        let secs: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(60);
        let interval: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(5);
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let dir = tempfile::tempdir().expect("tempdir");
        let exe = dir.path().join(APP);
        std::fs::copy("/bin/sleep", &exe).expect("copy sleep");

        let baseline = runtime.block_on(measure(dir.path(), 0, secs, interval, &exe));
        let watched = runtime.block_on(measure(dir.path(), n, secs, interval, &exe));
        for (label, m) in [("baseline (0 watched)", &baseline), ("watching", &watched)] {
            println!(
                "{label:>22}: {} processes in reports, {} reports in {secs} s, CPU {:.1} ms/report ({:.3} % of a core at the 30 s default, {:.2} % at {interval} s), RSS {} KiB (peak {} KiB), {} bytes/report",
                m.processes,
                m.reports,
                m.cpu_ms_per_report(),
                m.cpu_ms_per_report() / 30_000.0 * 100.0,
                m.cpu_ms_per_report() / (interval as f64 * 1000.0) * 100.0,
                m.rss_kib,
                m.peak_kib,
                m.bytes_per_report,
            );
        }
        println!(
            "watching {n} processes costs {:+.1} ms CPU per report and {:+} KiB RSS over the baseline",
            watched.cpu_ms_per_report() - baseline.cpu_ms_per_report(),
            i64::try_from(watched.rss_kib).unwrap_or(0)
                - i64::try_from(baseline.rss_kib).unwrap_or(0)
        );
    }

    #[derive(Debug)]
    struct Measure {
        reports: u64,
        processes: usize,
        cpu_ms: f64,
        rss_kib: u64,
        peak_kib: u64,
        bytes_per_report: u64,
    }

    impl Measure {
        fn cpu_ms_per_report(&self) -> f64 {
            self.cpu_ms / self.reports.max(1) as f64
        }
    }

    #[derive(Default)]
    struct Seen {
        reports: AtomicU64,
        bytes: AtomicU64,
        processes: AtomicU64,
    }

    async fn measure(dir: &Path, n: usize, secs: u64, interval: u64, exe: &Path) -> Measure {
        let mut sleepers: Vec<Child> = (0..n)
            .map(|_| {
                Command::new(exe)
                    .arg("3600")
                    .spawn()
                    .expect("spawn sleeper")
            })
            .collect();
        let seen = Arc::new(Seen::default());
        let app = {
            let seen = Arc::clone(&seen);
            Router::new()
                .route(
                    "/api/v1/agents/enrol",
                    post(|| async {
                        Json(EnrolAnswer {
                            agent_id: AgentId(1),
                        })
                    }),
                )
                .route(
                    "/api/v1/agents/{id}/config",
                    get(|| async {
                        Json(AgentConfig {
                            report_interval_secs: 30,
                            applications: vec![WatchedApplication {
                                name: "Bench".into(),
                                matcher: ExecutableMatch::Name(APP.into()),
                                license_server: "srv".into(),
                                feature: "f".into(),
                                harvest: None,
                            }],
                        })
                    }),
                )
                .route(
                    "/api/v1/agents/{id}/reports",
                    post(move |body: axum::body::Bytes| async move {
                        let report: Report = serde_json::from_slice(&body).expect("report");
                        seen.reports.fetch_add(1, Ordering::Relaxed);
                        seen.bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
                        seen.processes
                            .store(report.processes.len() as u64, Ordering::Relaxed);
                        Json(ReportAnswer {
                            receipt: Receipt::Accepted,
                            orders: vec![],
                        })
                    }),
                )
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });

        let state = dir.join(format!("state-{n}"));
        let token = dir.join("token");
        std::fs::write(&token, "bench-token").expect("token");
        let settings = dir.join(format!("agent-{n}.toml"));
        std::fs::write(
            &settings,
            format!(
                "server = \"http://{addr}\"\ntoken_file = \"{}\"\nstate_dir = \"{}\"\nreport_interval_secs = {interval}\n",
                token.display(),
                state.display()
            ),
        )
        .expect("settings");
        let mut agent = Command::new(env!("CARGO_BIN_EXE_tally-agent"))
            .arg("--config")
            .arg(&settings)
            .env("TALLY_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("start tally-agent");
        // Past start-up (enrolment, first scan of every process's executable and user).
        tokio::time::sleep(Duration::from_secs(interval + 2)).await;
        let cpu_before = cpu_ms(agent.id());
        let reports_before = seen.reports.load(Ordering::Relaxed);
        let bytes_before = seen.bytes.load(Ordering::Relaxed);
        tokio::time::sleep(Duration::from_secs(secs)).await;
        let cpu_after = cpu_ms(agent.id());
        let (rss_kib, peak_kib) = memory_kib(agent.id());
        let reports = seen.reports.load(Ordering::Relaxed) - reports_before;
        let bytes = seen.bytes.load(Ordering::Relaxed) - bytes_before;
        let processes = seen.processes.load(Ordering::Relaxed) as usize;

        Command::new("kill")
            .args(["-TERM", &agent.id().to_string()])
            .status()
            .expect("kill");
        agent.wait().expect("wait agent");
        server.abort();
        for sleeper in &mut sleepers {
            let _ = sleeper.kill();
            let _ = sleeper.wait();
        }
        assert_eq!(processes, n, "the agent reported every watched process");
        Measure {
            reports,
            processes,
            cpu_ms: cpu_after - cpu_before,
            rss_kib,
            peak_kib,
            bytes_per_report: bytes / reports.max(1),
        }
    }

    /// utime + stime of a process, in ms (clock ticks of 10 ms on Linux).
    fn cpu_ms(pid: u32) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
        let rest = &stat[stat.rfind(')').expect("comm") + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 =
            fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
        ticks as f64 * 10.0
    }

    /// VmRSS and VmHWM.
    fn memory_kib(pid: u32) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
                .unwrap_or(0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}
