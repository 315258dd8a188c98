//! Which watched applications run on this host: one scan of the process table per report.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Instant, SystemTime};

use sysinfo::{ProcessRefreshKind, ProcessStatus, ProcessesToUpdate, System, UpdateKind, Users};
use tally_core::Timestamp;
use tally_core::agent::{AgentConfig, ProcessReport};

use crate::idle;

/// A process, told apart from a later one that reuses its pid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProcessKey {
    pub pid: u32,
    pub started: Timestamp,
}

/// The CPU time a process had used at a scan.
#[derive(Debug, Clone, Copy)]
struct CpuMark {
    at: Instant,
    wall: Timestamp,
    cpu_time_ms: u64,
}

pub struct Scanner {
    system: System,
    users: Users,
    marks: HashMap<ProcessKey, CpuMark>,
}

impl std::fmt::Debug for Scanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scanner")
            .field("watched", &self.marks.len())
            .finish()
    }
}

impl Default for Scanner {
    fn default() -> Self {
        Scanner::new()
    }
}

impl Scanner {
    pub fn new() -> Scanner {
        Scanner {
            system: System::new(),
            users: Users::new_with_refreshed_list(),
            marks: HashMap::new(),
        }
    }

    /// The watched processes running now. `suspended` says which the agent has stopped.
    pub fn scan(
        &mut self,
        config: &AgentConfig,
        suspended: &dyn Fn(ProcessKey) -> bool,
    ) -> Vec<ProcessReport> {
        // Threads are not processes to watch; the executable path is read once per process.
        let kind = ProcessRefreshKind::nothing()
            .without_tasks()
            .with_cpu()
            .with_exe(UpdateKind::OnlyIfNotSet)
            .with_user(UpdateKind::OnlyIfNotSet);
        self.system
            .refresh_processes_specifics(ProcessesToUpdate::All, true, kind);
        let now = Instant::now();
        let wall_now = SystemTime::now();
        let wall = unix_secs(wall_now);
        let mut reports = Vec::new();
        let mut marks = HashMap::with_capacity(self.marks.len());
        let mut users_refreshed = false;
        for (pid, process) in self.system.processes() {
            if matches!(
                process.status(),
                ProcessStatus::Zombie | ProcessStatus::Dead
            ) {
                continue;
            }
            let path = process.exe().and_then(Path::to_str);
            let file_name = process
                .exe()
                .and_then(Path::file_name)
                .and_then(|n| n.to_str());
            let comm = process.name().to_str().unwrap_or_default();
            // Without permission to read its executable link, the process name is all there is.
            let name = file_name.unwrap_or(comm);
            let Some(app) = config.application_of(name, path).or_else(|| {
                (name != comm)
                    .then(|| config.application_of(comm, path))
                    .flatten()
            }) else {
                continue;
            };
            let key = ProcessKey {
                pid: pid.as_u32(),
                started: i64::try_from(process.start_time()).unwrap_or(0),
            };
            let cpu_time_ms = process.accumulated_cpu_time();
            // Over the interval since the previous scan; on first sight, over the process's life.
            let (since, wall_ms) = match self.marks.get(&key) {
                Some(mark) => (mark.wall, now.duration_since(mark.at).as_millis()),
                None => (
                    key.started,
                    u128::try_from((wall - key.started).max(0) * 1000).unwrap_or(0),
                ),
            };
            let used_ms = match self.marks.get(&key) {
                Some(mark) => cpu_time_ms.saturating_sub(mark.cpu_time_ms),
                None => cpu_time_ms,
            };
            let cpu_percent = if wall_ms == 0 {
                0.0
            } else {
                used_ms as f64 * 100.0 / wall_ms as f64
            };
            marks.insert(
                key,
                CpuMark {
                    at: now,
                    wall,
                    cpu_time_ms,
                },
            );
            let mut user = process
                .user_id()
                .and_then(|uid| self.users.get_user_by_id(uid))
                .map(|u| u.name().to_string());
            if user.is_none() && process.user_id().is_some() && !users_refreshed {
                // A user created since the agent started.
                self.users.refresh();
                users_refreshed = true;
                user = process
                    .user_id()
                    .and_then(|uid| self.users.get_user_by_id(uid))
                    .map(|u| u.name().to_string());
            }
            reports.push(ProcessReport {
                application: app.name.clone(),
                pid: key.pid,
                user,
                executable: name.to_string(),
                path: path.map(String::from),
                started: key.started,
                cpu_time_ms,
                cpu_percent: (cpu_percent * 100.0).round() / 100.0,
                cpu_since: since,
                input_idle_secs: idle::process_input_idle(key.pid, wall_now).map(|d| d.as_secs()),
                suspended: suspended(key),
            });
        }
        // Processes gone since are forgotten, so the map stays the size of what runs.
        self.marks = marks;
        reports.sort_by_key(|r| r.pid);
        reports
    }
}

pub fn unix_secs(t: SystemTime) -> Timestamp {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tally_core::agent::{ExecutableMatch, WatchedApplication};

    fn watching(matcher: ExecutableMatch) -> AgentConfig {
        AgentConfig {
            report_interval_secs: 30,
            applications: vec![WatchedApplication {
                name: "Test app".into(),
                matcher,
                license_server: "srv".into(),
                feature: "f".into(),
                harvest: None,
            }],
        }
    }

    /// A copy of `sleep` under a name no other process has.
    fn unique_sleeper(dir: &Path, name: &str) -> std::process::Child {
        let exe = dir.join(name);
        std::fs::copy("/bin/sleep", &exe).expect("copy sleep");
        spawn_retrying(std::process::Command::new(&exe).arg("30"))
    }

    /// Spawns, retrying while another test thread's fork still holds a fresh copy open for
    /// writing (ETXTBSY).
    fn spawn_retrying(command: &mut std::process::Command) -> std::process::Child {
        for _ in 0..50 {
            match command.spawn() {
                Ok(child) => return child,
                Err(e) if e.raw_os_error() == Some(26) => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(e) => panic!("cannot spawn: {e}"),
            }
        }
        panic!("the executable stayed busy");
    }

    #[cfg(unix)]
    #[test]
    fn watched_processes_are_found_by_name_and_by_path_and_others_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut a = unique_sleeper(dir.path(), "tally-scan-a");
        let mut b = unique_sleeper(dir.path(), "tally-scan-b");
        let mut scanner = Scanner::new();
        let none = |_| false;

        let by_name = scanner.scan(
            &watching(ExecutableMatch::Name("tally-scan-a".into())),
            &none,
        );
        assert_eq!(
            by_name.iter().map(|r| r.pid).collect::<Vec<_>>(),
            vec![a.id()]
        );
        let report = &by_name[0];
        assert_eq!(report.application, "Test app");
        assert_eq!(report.executable, "tally-scan-a");
        assert!(report.user.is_some(), "the owner's name is known");
        assert!(report.started > 0);

        let pattern = format!("{}/tally-scan-*", dir.path().display());
        let by_path = scanner.scan(&watching(ExecutableMatch::Path(pattern)), &none);
        let mut pids: Vec<u32> = by_path.iter().map(|r| r.pid).collect();
        pids.sort_unstable();
        let mut want = vec![a.id(), b.id()];
        want.sort_unstable();
        assert_eq!(pids, want);

        // An exited process is no longer reported.
        a.kill().expect("kill");
        a.wait().expect("wait");
        let after = scanner.scan(
            &watching(ExecutableMatch::Name("tally-scan-a".into())),
            &none,
        );
        assert!(after.is_empty(), "{after:?}");
        b.kill().expect("kill");
        b.wait().expect("wait");
    }

    #[cfg(unix)]
    #[test]
    fn cpu_use_is_measured_between_scans() {
        let dir = tempfile::tempdir().expect("tempdir");
        let exe = dir.path().join("tally-scan-busy");
        std::fs::copy("/bin/sh", &exe).expect("copy sh");
        let mut busy =
            spawn_retrying(std::process::Command::new(&exe).args(["-c", "while :; do :; done"]));
        let config = watching(ExecutableMatch::Name("tally-scan-busy".into()));
        let mut scanner = Scanner::new();
        scanner.scan(&config, &|_| false);
        std::thread::sleep(std::time::Duration::from_millis(1500));
        let reports = scanner.scan(&config, &|_| false);
        busy.kill().expect("kill");
        busy.wait().expect("wait");
        let report = reports.first().expect("the busy process is watched");
        // A spinning shell uses a good part of a core even on a loaded machine.
        assert!(report.cpu_percent > 10.0, "{report:?}");
        assert!(report.cpu_time_ms > 0, "{report:?}");
    }
}
