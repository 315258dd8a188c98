//! The harness: the real `tally` binary running `tally demo` (real SQLite, data made by the
//! simulator, `tally gen`'s model and an import) on a loopback port, chromedriver, and a
//! headless Chromium session per test.

use std::io::{BufRead, BufReader, Write as _};
use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

/// How long a page may take to show what a test waits for (a cold Chromium on a busy 2-core
/// machine takes seconds for its first page).
const WAIT: Duration = Duration::from_secs(30);

pub const DESKTOP: (u32, u32) = (1366, 900);
pub const PHONE: (u32, u32) = (390, 844);

/// chromedriver from `TALLY_TEST_CHROMEDRIVER` or /usr/bin; `None` (with the reason printed)
/// when absent outside CI. In CI a missing driver fails the test.
pub fn chromedriver() -> Option<PathBuf> {
    let path = std::env::var_os("TALLY_TEST_CHROMEDRIVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromedriver"));
    if path.is_file() {
        return Some(path);
    }
    let reason = format!(
        "no chromedriver at {} (install Debian's chromium and chromium-driver, or set TALLY_TEST_CHROMEDRIVER)",
        path.display()
    );
    assert!(
        std::env::var_os("CI").is_none(),
        "CI runs the browser tests: {reason}"
    );
    eprintln!("skipped: {reason}");
    None
}

/// Where screenshots go: `TALLY_TEST_ARTEFACTS`, else `<target>/test-artefacts/web`.
pub fn artefact_dir() -> PathBuf {
    let dir = std::env::var_os("TALLY_TEST_ARTEFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
            target.join("test-artefacts").join("web")
        });
    std::fs::create_dir_all(&dir).expect("artefact dir");
    dir
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One test's world: the demo on a loopback port and a browser looking at it.
pub struct Browser {
    pub client: Client,
    pub base: String,
    pub demo: Demo,
}

/// Browsers run one at a time: each is a few hundred MB and the machine has two cores.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub async fn with_browser<F, Fut>(size: (u32, u32), phone: bool, test: F)
where
    F: FnOnce(Browser) -> Fut,
    Fut: std::future::Future<Output = Browser> + Send + 'static,
{
    with_browser_and(&[], size, phone, test).await
}

/// As [`with_browser`], the demo started with `env` set.
pub async fn with_browser_and<F, Fut>(env: &[(&str, &str)], size: (u32, u32), phone: bool, test: F)
where
    F: FnOnce(Browser) -> Fut,
    Fut: std::future::Future<Output = Browser> + Send + 'static,
{
    let Some(driver_path) = chromedriver() else {
        return;
    };
    let _turn = ONE_AT_A_TIME.lock().await;

    let demo = Demo::start(env);

    let port = free_port();
    let child = Command::new(&driver_path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", driver_path.display()));
    let driver = Driver(child);
    let profile = tempfile::tempdir().expect("profile dir");

    let mut args = vec![
        "--headless".to_owned(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-quic".into(),
        "--no-first-run".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--disable-dev-shm-usage".into(),
        format!("--user-data-dir={}", profile.path().display()),
        format!("--window-size={},{}", size.0, size.1),
    ];
    if let Some(extra) = std::env::var_os("TALLY_TEST_CHROMIUM_ARGS") {
        args.extend(
            extra
                .to_string_lossy()
                .split_whitespace()
                .map(str::to_owned),
        );
    }
    let mut chrome = json!({ "args": args });
    if phone {
        chrome["mobileEmulation"] = json!({
            "deviceMetrics": { "width": size.0, "height": size.1, "pixelRatio": 2.0, "touch": true, "mobile": true }
        });
    }
    if let Some(binary) = std::env::var_os("TALLY_TEST_CHROMIUM") {
        chrome["binary"] = json!(binary.to_string_lossy());
    }
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("chrome"));
    caps.insert("goog:chromeOptions".into(), chrome);

    let url = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    let client = loop {
        match ClientBuilder::new(HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(c) => break c,
            Err(e) if started.elapsed() < WAIT => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("chromedriver at {url} gives no session: {e}"),
        }
    };
    let browser = Browser {
        client: client.clone(),
        base: demo.base.clone(),
        demo,
    };
    // The test runs in its own task so that a failing one still ends its browser session:
    // chromedriver (alive until the end of this function) closes Chromium, which it would
    // otherwise leave running.
    let outcome = tokio::spawn(test(browser)).await;
    let _ = client.close().await;
    drop(driver);
    drop(profile);
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

impl Browser {
    pub async fn open(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap_or_else(|e| panic!("open {path}: {e}"));
    }

    /// Runs `script` (a function body; `return` its answer) in the page.
    pub async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Waits until `script` returns something truthy, and returns it.
    pub async fn wait_for(&self, what: &str, script: &str) -> Value {
        let started = Instant::now();
        loop {
            let v = self
                .client
                .execute(script, vec![])
                .await
                .unwrap_or(Value::Null);
            let truthy = !matches!(&v, Value::Null | Value::Bool(false))
                && v != json!(0)
                && v != json!("")
                && v != json!([]);
            if truthy {
                return v;
            }
            if started.elapsed() > WAIT {
                let text = self.js("return document.body.innerText").await;
                let errors = self.js("return window.tally && window.tally.errors").await;
                let url = self
                    .client
                    .current_url()
                    .await
                    .map(|u| u.to_string())
                    .unwrap_or_default();
                panic!(
                    "waited {WAIT:?} for {what} at {url}; script errors: {errors}; the page says:\n{}",
                    text.as_str().unwrap_or("")
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits for the text to be on the page.
    pub async fn wait_text(&self, text: &str) {
        let script = format!("return document.body.innerText.includes({})", json!(text));
        self.wait_for(&format!("`{text}`"), &script).await;
    }

    /// Logs in as the demo's administrator.
    pub async fn login_admin(&self) {
        let password = self.demo.password.clone();
        self.login(("admin", &password)).await;
    }

    pub async fn login(&self, (user, password): (&str, &str)) {
        self.open("/login").await;
        self.wait_for(
            "the login form",
            "return document.querySelector('#login-form input[name=username]')",
        )
        .await;
        self.client
            .find(Locator::Css("input[name=username]"))
            .await
            .expect("user field")
            .send_keys(user)
            .await
            .expect("type");
        self.client
            .find(Locator::Css("input[name=password]"))
            .await
            .expect("password field")
            .send_keys(password)
            .await
            .expect("type");
        self.client
            .find(Locator::Css("#login-form button[type=submit]"))
            .await
            .expect("submit")
            .click()
            .await
            .expect("click");
        self.wait_for(
            "the logged-in shell",
            "return !document.querySelector('.user').hidden",
        )
        .await;
    }

    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        let path = artefact_dir().join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        println!("screenshot: {}", path.display());
        path
    }
}

/// The `tally` binary under test: `TALLY_TEST_BIN`, else the one cargo built beside this test
/// (`cargo test --workspace` builds it; alone, `cargo build -p tally` first).
pub fn tally_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("TALLY_TEST_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("test executable");
    // target/<profile>/deps/browser-… → target/<profile>/tally
    let path = exe
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join(format!("tally{}", std::env::consts::EXE_SUFFIX)))
        .expect("target directory");
    assert!(
        path.is_file(),
        "{} is missing: build it with `cargo build -p tally` (cargo test --workspace does)",
        path.display()
    );
    path
}

/// A running `tally demo`, killed when dropped.
pub struct Demo {
    child: Child,
    pub base: String,
    pub password: String,
    pub dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

/// The LM-X server's outage period in the tests: up 12 s, down 8 s.
pub const OUTAGE_EVERY: u32 = 20;

impl Demo {
    pub fn start(env: &[(&str, &str)]) -> Demo {
        let dir = tempfile::tempdir().expect("demo dir");
        let log = std::fs::File::create(dir.path().join("demo.stderr")).expect("stderr file");
        let mut command = Command::new(tally_bin());
        command
            .args([
                "demo",
                "--listen",
                "127.0.0.1:0",
                "--months",
                "2",
                "--interval",
                "2",
            ])
            .arg("--outage-every")
            .arg(OUTAGE_EVERY.to_string())
            .arg("--data")
            .arg(dir.path().join("demo"))
            .env_remove("TALLY_CONFIG")
            .env_remove("TALLY_DB")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log));
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("start tally demo");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    // Nobody listens any more: keep draining so the demo never blocks.
                    continue;
                }
            }
        });
        let (mut base, mut password, mut said) = (None, None, Vec::new());
        let started = Instant::now();
        while base.is_none() || password.is_none() {
            let left = Duration::from_secs(180).saturating_sub(started.elapsed());
            let line = rx.recv_timeout(left).unwrap_or_else(|_| {
                let _ = child.kill();
                let stderr =
                    std::fs::read_to_string(dir.path().join("demo.stderr")).unwrap_or_default();
                panic!("tally demo did not start:\n{}\n{stderr}", said.join("\n"))
            });
            if let Some(url) = line.strip_prefix("dashboard: ") {
                base = Some(url.trim().trim_end_matches('/').to_string());
            }
            if let Some(p) = line.strip_prefix("password: ") {
                password = Some(p.trim().to_string());
            }
            said.push(line);
        }
        Demo {
            child,
            base: base.expect("url"),
            password: password.expect("password"),
            dir,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    /// Runs `tally ARGS` on the demo's database, with `stdin` as its input.
    pub fn tally(&self, args: &[&str], stdin: &str) -> Output {
        let db = format!(
            "sqlite://{}",
            self.dir.path().join("demo").join("tally.db").display()
        );
        let mut child = Command::new(tally_bin())
            .arg("--db")
            .arg(db)
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env_remove("TALLY_CONFIG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run tally");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write stdin");
        let out = child.wait_with_output().expect("tally output");
        assert!(
            out.status.success(),
            "tally {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Adds a viewer account through `tally user add`; returns its login.
    pub fn add_viewer(&self) -> (&'static str, &'static str) {
        let login = ("viewer", "viewer-password-1");
        self.tally(
            &["user", "add", login.0, "--role", "viewer"],
            &format!("{}\n", login.1),
        );
        login
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
