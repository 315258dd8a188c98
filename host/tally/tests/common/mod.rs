//! What the end-to-end tests share: a temporary home for the real binary.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub struct Env {
    pub dir: tempfile::TempDir,
    /// A database other than this home's SQLite file ([`Env::on`]).
    database: Option<String>,
}

/// `XDG_CACHE_HOME` of every test: compiled plugins are shared across tests (the cache keys
/// them by component hash and replaces files atomically), so each test binary does not spend
/// seconds compiling the same 13 plugins again.
pub fn cache_home() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("xdg-cache")
}

impl Env {
    pub fn new() -> Env {
        Env {
            dir: tempfile::tempdir().expect("temp dir"),
            database: None,
        }
    }

    /// A home whose commands and `tally serve` use the database at `url`.
    pub fn on(url: &str) -> Env {
        Env {
            database: Some(url.to_string()),
            ..Env::new()
        }
    }

    pub fn db(&self) -> String {
        match &self.database {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.dir.path().join("tally.db").display()),
        }
    }

    /// The binary with this home's database, plugin directory and the shared cache (and the
    /// issuer key of [`Env::roomy_licence`] trusted, once there is one).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tally"));
        cmd.args(args)
            .env("TALLY_DB", self.db())
            .env("TALLY_PLUGIN_DIR", self.dir.path().join("plugins"))
            .env("XDG_CACHE_HOME", cache_home());
        if let Some(key) = self.trusted_key() {
            cmd.env("TALLY_LICENSE_KEYS", key);
        }
        cmd
    }

    fn trusted_key(&self) -> Option<String> {
        std::fs::read_to_string(self.dir.path().join("issuer.pub")).ok()
    }

    /// Installs a licence with room for the big corpora (the built-in Community licence allows
    /// 100 users and 10 servers, and puts Tally in restricted access mode past them), signed
    /// by a key of this home that every later command and `tally serve` trust.
    pub fn roomy_licence(&self) {
        self.licence(&["--users", "1000000", "--servers", "100000", "--hpc"]);
    }

    /// Issues a licence with `limits` (`tally license issue` options) under a key of this
    /// home, trusted by every later command and `tally serve`, and installs it.
    pub fn licence(&self, limits: &[&str]) {
        let key = self.dir.path().join("issuer.key");
        let out = self.tally(&["license", "keygen", "--out", key.to_str().expect("path")]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let public = String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("public key: ").map(str::to_owned))
            .expect("the public key");
        std::fs::write(self.dir.path().join("issuer.pub"), public.trim()).expect("key");
        let licence = self.dir.path().join("licence.toml");
        let mut issue = vec![
            "license",
            "issue",
            "--key",
            key.to_str().expect("path"),
            "--licensee",
            "Tests",
        ];
        issue.extend_from_slice(limits);
        issue.extend(["--out", licence.to_str().expect("path")]);
        let out = self.tally(&issue);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = self.tally(&["license", "install", licence.to_str().expect("path")]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn tally(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("running tally")
    }

    /// `tally import --json --utc-offset 0 ARGS…`, which must succeed; returns its summary.
    pub fn import(&self, args: &[&str]) -> Value {
        let mut all = vec!["import", "--json", "--utc-offset", "0"];
        all.extend_from_slice(args);
        let out = self.tally(&all);
        assert!(
            out.status.success(),
            "tally {all:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("JSON summary")
    }

    pub fn write(&self, name: &str, content: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, content).expect("writing a test file");
        path
    }

    /// Adds `flex`, a FlexNet server polled every second whose `lmutil` is `tally-sim` playing
    /// 30 users coming and going at 60× real time; returns the `--tool` of `tally serve` that
    /// makes it answer.
    pub fn simulated_flexnet(&self, seed: u64) -> String {
        let sim = PathBuf::from(env!("CARGO_BIN_EXE_tally")).with_file_name("tally-sim");
        assert!(
            sim.exists(),
            "{} is missing: `cargo test --workspace` builds it",
            sim.display()
        );
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs();
        let scenario = self.write(
            "scenario.toml",
            &format!(
                "seed = {seed}\n[clock]\nreal_start = {now}\nsim_start = {}\nspeed = 60.0\nduration = 86400\n\
                 [[server]]\nname = \"flex\"\nmanager = \"flexlm\"\nhost = \"lic-flex\"\nusers = 30\n\
                 mean_session = 120\narrivals_per_hour = 900\n\
                 [[server.feature]]\nname = \"CAD\"\nissued = 20\n",
                now - 200 * 86_400
            ),
        );
        let add = self.tally(&[
            "server",
            "add",
            "flex",
            "--manager",
            "flexlm",
            "--host",
            "lic-flex",
            "--port",
            "27000",
            "--interval",
            "1",
        ]);
        assert!(
            add.status.success(),
            "{}",
            String::from_utf8_lossy(&add.stderr)
        );
        format!(
            "lmutil={} --scenario {} lmutil",
            sim.display(),
            scenario.display()
        )
    }

    /// `tally serve` on a free port with fast follow checks; killed when dropped.
    pub fn serve(&self, extra: &[&str]) -> Serving {
        self.serve_with_env(extra, &[])
    }

    /// [`Env::serve`] with `vars` in its environment.
    pub fn serve_with_env(&self, extra: &[&str], vars: &[(&str, &str)]) -> Serving {
        self.serve_at("127.0.0.1:0", extra, vars)
    }

    /// [`Env::serve_with_env`] listening on `listen` (a restarted server keeps its port).
    pub fn serve_at(&self, listen: &str, extra: &[&str], vars: &[(&str, &str)]) -> Serving {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tally"))
            .args(["serve", "--listen", listen, "--follow-every", "50"])
            .args(extra)
            .envs(
                self.trusted_key()
                    .map(|k| ("TALLY_LICENSE_KEYS".to_string(), k)),
            )
            .envs(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())))
            .env("TALLY_DB", self.db())
            .env("TALLY_PLUGIN_DIR", self.dir.path().join("plugins"))
            .env("XDG_CACHE_HOME", cache_home())
            .env("XDG_DATA_HOME", self.dir.path().join("data"))
            .stdout(Stdio::piped())
            .spawn()
            .expect("tally serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("first line");
        let url = line.trim().rsplit(' ').next().expect("address").to_string();
        assert!(url.starts_with("http://"), "{line}");
        // The admin token `tally serve` made on its first start: requests act as the operator.
        let token = std::fs::read_to_string(self.dir.path().join("data/tally/admin-token"))
            .ok()
            .and_then(|text| text.split_whitespace().last().map(String::from));
        Serving { child, url, token }
    }

    /// Every session as (start, end, user, feature, end reason), in that order.
    pub fn sessions(&self) -> Vec<(i64, i64, String, String, String)> {
        let conn = rusqlite::Connection::open(self.dir.path().join("tally.db")).expect("open db");
        let mut q = conn
            .prepare(
                "SELECT s.start, s.\"end\", u.name, f.name, s.end_reason FROM session s
                 JOIN user u ON u.id = s.user_id JOIN feature f ON f.id = s.feature_id
                 ORDER BY 1, 2, 3, 4",
            )
            .expect("query");
        q.query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows")
    }

    /// Every row of `table` (a rollup, say), each as text, in the order of its columns.
    pub fn dump(&self, table: &str) -> Vec<String> {
        let conn = rusqlite::Connection::open(self.dir.path().join("tally.db")).expect("open db");
        let mut q = conn
            .prepare(&format!("SELECT * FROM {table}"))
            .expect("query");
        let columns = q.column_count();
        let mut rows: Vec<String> = q
            .query_map([], |r| {
                (0..columns)
                    .map(|i| {
                        r.get::<_, rusqlite::types::Value>(i)
                            .map(|v| format!("{v:?}"))
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(|cells| cells.join("|"))
            })
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("rows");
        rows.sort();
        rows
    }

    /// Rows per table, straight from the database file.
    pub fn rows(&self, table: &str) -> i64 {
        let conn = rusqlite::Connection::open(self.dir.path().join("tally.db")).expect("open db");
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .expect("count")
    }
}

/// A folder of the shared corpus, when it is there (CI always has it).
pub fn corpus_dir(folder: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus")
        .join(folder);
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: the corpus ({}) is absent", dir.display());
        None
    }
}

pub fn corpus() -> Option<PathBuf> {
    corpus_dir("flexlm-debuglog")
}

/// A running `tally serve`, killed when dropped.
pub struct Serving {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub url: String,
    /// The operator's admin token, sent with every request but [`Serving::anonymous`] ones.
    pub token: Option<String>,
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Serving {
    /// Stops the server as systemd does (SIGTERM) and waits for it: it must exit within 30 s.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(sent.success(), "cannot send SIGTERM");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "tally serve still runs 30 s after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `GET path`: the status code and the body.
    pub fn get(&self, path: &str) -> (u16, String) {
        self.request("GET", path, &[], b"")
    }

    /// One request as the operator (the admin token), unless `headers` authorise it otherwise.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, String) {
        let bearer = self.token.as_ref().map(|t| format!("Bearer {t}"));
        let mut all = headers.to_vec();
        if let Some(bearer) = &bearer
            && !headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("authorization"))
        {
            all.push(("Authorization", bearer));
        }
        self.anonymous(method, path, &all, body)
    }

    /// One HTTP/1.1 request on a fresh connection with only `headers` (enough for tests; no
    /// client crate needed).
    pub fn anonymous(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, String) {
        let address = self.url.trim_start_matches("http://");
        let mut stream = TcpStream::connect(address).expect("connect to tally serve");
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).expect("send");
        stream.write_all(body).expect("send body");
        let mut response = Vec::new();
        stream.read_to_end(&mut response).expect("response");
        let text = String::from_utf8_lossy(&response);
        let (head, body) = text.split_once("\r\n\r\n").expect("HTTP response");
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status code");
        let body = if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            unchunk(body)
        } else {
            body.to_string()
        };
        (status, body)
    }

    /// `GET path` that must answer 200 with JSON.
    pub fn json(&self, path: &str) -> Value {
        let (status, body) = self.get(path);
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).expect("JSON")
    }
}

fn unchunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// Waits until `check` holds (the server works in the background); fails after a minute.
pub fn until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
