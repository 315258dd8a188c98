//! One poll of one license server: the host runs the status command the poller's manifest
//! declares (no shell, a timeout, an output cap), hands the output to the plugin, and records the
//! snapshot; an http poller asks the server itself through the host's bounded `http` import.
//! Nothing vendor-specific lives here.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use tally_core::clock::checkout_observations;
use tally_core::status::skipped_by_licence;
use tally_core::{PollResult, Polled, Snapshot, Timestamp};
use tally_plugin_host::{LoadedPlugin, Registry, World};
use tally_store::{PollCounts, Server, StoreError};

use crate::App;
use tokio::io::AsyncReadExt;

/// Longest a status command may run.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest status output read (a big FlexNet site prints a few MB).
pub const MAX_OUTPUT: usize = 16 << 20;
/// Status outputs print checkout starts to the minute (`lmstat`, `rlmutil`).
const START_RESOLUTION_SECS: i64 = 60;

/// Where the operator's license-manager tools are: a tool name from a manifest's command
/// (`lmutil`) to the program and leading arguments that stand for it. A tool not listed is
/// looked up on PATH by its name.
#[derive(Debug, Clone, Default)]
pub struct Tools {
    map: BTreeMap<String, Vec<String>>,
    pub timeout: Option<Duration>,
}

impl Tools {
    /// Parses `NAME=PROGRAM [ARG…]` (arguments split at spaces).
    pub fn add(&mut self, spec: &str) -> anyhow::Result<()> {
        let (name, program) = spec.split_once('=').with_context(|| {
            format!("`{spec}` is not NAME=PROGRAM (e.g. lmutil=/opt/flexlm/lmutil)")
        })?;
        let argv: Vec<String> = program.split_whitespace().map(String::from).collect();
        if name.is_empty() || argv.is_empty() {
            bail!("`{spec}` is not NAME=PROGRAM (e.g. lmutil=/opt/flexlm/lmutil)");
        }
        self.map.insert(name.to_string(), argv);
        Ok(())
    }

    /// Stands `argv` (a program and its leading arguments, taken as they are) for the tool
    /// `name`: for a program whose path has spaces, which `NAME=PROGRAM` cannot say.
    pub fn set(&mut self, name: &str, argv: Vec<String>) {
        self.map.insert(name.to_string(), argv);
    }

    /// The command line for `template` against a server at `host`/`port`.
    pub fn command(&self, template: &[String], host: &str, port: Option<u16>) -> Vec<String> {
        let port = port.map(|p| p.to_string()).unwrap_or_default();
        let fill = |a: &String| a.replace("{host}", host).replace("{port}", &port);
        let Some((tool, args)) = template.split_first() else {
            return vec![];
        };
        let mut argv = self
            .map
            .get(tool)
            .cloned()
            .unwrap_or_else(|| vec![tool.clone()]);
        argv.extend(args.iter().map(fill));
        argv
    }
}

/// The poller plugin a server is polled with.
pub fn poller_for(registry: &Registry, server: &Server) -> anyhow::Result<Arc<LoadedPlugin>> {
    let format = server
        .config
        .poll_format
        .as_deref()
        .context("the server is not polled (no poll format)")?;
    registry.for_format(World::Poller, format).with_context(|| {
        format!(
            "no poller plugin reads `{format}`; known: {}",
            registry.formats(World::Poller).join(", ")
        )
    })
}

/// Polls `server` once at `now` and records what it found (or why it failed). Tally's licence
/// judges an answer before it is saved: when it would exceed the user or host limit, or the
/// license server runs a version released after maintenance ended, its data is skipped and
/// the server shows Offline with the reason.
pub async fn poll_once(
    app: &App,
    server: &Server,
    now: i64,
) -> anyhow::Result<(PollResult, PollCounts)> {
    let started = std::time::Instant::now();
    let polled = match status(&app.registry, &app.tools, server, now).await {
        Ok(snapshot) => {
            let found = app.check_poll_licence(server.id, &snapshot, now).await?;
            if found.is_empty() {
                Polled::from(PollResult::Answered(snapshot))
            } else {
                skipped_by_licence(&found)
            }
        }
        Err(error) => Polled::from(PollResult::Failed(format!("{error:#}"))),
    };
    let result = polled.result.clone();
    let answered = matches!(result, PollResult::Answered(_));
    crate::metrics::METRICS.poll(answered, started.elapsed());
    let counts = app.store.record_poll(server.id, now, polled).await?;
    Ok((result, counts))
}

/// A poll that answered, as the next one compares with: when it started, what it showed.
#[derive(Debug, Clone)]
pub struct Answered {
    pub started: Timestamp,
    pub snapshot: Snapshot,
}

/// Measures `server`'s clock from the checkout starts in `snapshot`, a poll's answer received
/// at `answered_at`; `previous` is the poll before, which tells which checkouts are new. Start
/// times are in the server's configured offset from UTC, else in this machine's (the status
/// tool runs here and prints local time).
pub async fn observe_clock(
    app: &crate::App,
    server: &Server,
    snapshot: &Snapshot,
    answered_at: Timestamp,
    previous: Option<&Answered>,
) -> Result<(), StoreError> {
    let utc_offset = server
        .config
        .utc_offset
        .unwrap_or_else(|| crate::import::local_offset(Some(answered_at)));
    let observations = checkout_observations(
        snapshot,
        answered_at,
        previous.map(|p| (p.started, &p.snapshot)),
        START_RESOLUTION_SECS,
        i64::from(utc_offset),
    );
    app.clocks
        .observe(&app.store, server, &observations)
        .await?;
    Ok(())
}

/// Runs the status command and parses its output; an http poller (a manifest without
/// `command`, WIT 0.2.0) asks the server itself over the hosts it was granted.
async fn status(
    registry: &Registry,
    tools: &Tools,
    server: &Server,
    now: i64,
) -> anyhow::Result<tally_core::Snapshot> {
    let plugin = poller_for(registry, server)?;
    let host = server.config.host.as_deref().unwrap_or("localhost");
    if plugin.manifest.command.is_empty() {
        let (host, port) = (host.to_string(), server.config.port);
        return tokio::task::spawn_blocking(move || plugin.poll(&host, port, now))
            .await?
            .map_err(|e| anyhow::anyhow!("poll failure: {e}"));
    }
    let argv = tools.command(&plugin.manifest.command, host, server.config.port);
    let output = run(&argv, tools.timeout.unwrap_or(DEFAULT_COMMAND_TIMEOUT)).await?;
    tokio::task::spawn_blocking(move || plugin.parse_status(&output, now))
        .await?
        .map_err(|e| anyhow::anyhow!("parse failure: {e}"))
}

/// Runs a command without a shell; its output (stdout, or stderr when stdout is empty: tools
/// print their connection errors there) capped at [`MAX_OUTPUT`].
pub async fn run(argv: &[String], timeout: Duration) -> anyhow::Result<Vec<u8>> {
    let (program, args) = argv.split_first().context("empty command")?;
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot run `{program}` (set its path with --tool)"))?;
    let mut stdout = child.stdout.take().context("stdout")?;
    let mut stderr = child.stderr.take().context("stderr")?;
    let read = async {
        let cap = MAX_OUTPUT as u64 + 1;
        let (read_out, read_err) = (read_capped(&mut stdout, cap), read_capped(&mut stderr, cap));
        tokio::pin!(read_out, read_err);
        let (mut out, mut err) = (None, None);
        // A tool that prints past the cap is killed at once: it would block on the full pipe
        // and be reported as hanging only when the timeout ends.
        while out.is_none() || err.is_none() {
            let read = tokio::select! {
                r = &mut read_out, if out.is_none() => &mut out.insert(r?),
                r = &mut read_err, if err.is_none() => &mut err.insert(r?),
            };
            if read.len() as u64 >= cap {
                child.start_kill()?;
            }
        }
        child.wait().await?;
        anyhow::Ok((out.unwrap_or_default(), err.unwrap_or_default()))
    };
    let (out, err) = tokio::time::timeout(timeout, read)
        .await
        .map_err(|_| anyhow::anyhow!("`{program}` timed out after {} s", timeout.as_secs()))??;
    let output = if out.iter().all(u8::is_ascii_whitespace) {
        err
    } else {
        out
    };
    if output.len() > MAX_OUTPUT {
        bail!("`{program}` printed more than {} MiB", MAX_OUTPUT >> 20);
    }
    Ok(output)
}

/// `pipe` to its end, or its first `cap` bytes.
async fn read_capped(
    pipe: &mut (impl tokio::io::AsyncRead + Unpin),
    cap: u64,
) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    pipe.take(cap).read_to_end(&mut bytes).await?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_fill_the_template_and_map_tools() {
        let template: Vec<String> = ["lmutil", "lmstat", "-a", "-c", "{port}@{host}"]
            .map(String::from)
            .to_vec();
        let mut tools = Tools::default();
        assert_eq!(
            tools.command(&template, "lic1", Some(27000)),
            ["lmutil", "lmstat", "-a", "-c", "27000@lic1"]
        );
        tools
            .add("lmutil=/opt/sim --scenario s.toml lmutil")
            .expect("spec");
        assert_eq!(
            tools.command(&template, "lic1", Some(27000))[..4],
            ["/opt/sim", "--scenario", "s.toml", "lmutil"]
        );
        assert!(tools.add("lmutil").is_err());
    }

    #[tokio::test]
    async fn commands_run_without_a_shell_and_time_out() {
        let echo = ["echo", "a;b", "$HOME"].map(String::from);
        let out = run(&echo, Duration::from_secs(5)).await.expect("echo");
        assert_eq!(out, b"a;b $HOME\n", "no shell expands anything");
        let slow = ["sleep", "5"].map(String::from);
        let err = run(&slow, Duration::from_millis(100))
            .await
            .expect_err("timeout");
        assert!(err.to_string().contains("timed out"), "{err}");
        let missing = ["/nonexistent/lmutil"].map(String::from);
        let err = run(&missing, Duration::from_secs(1))
            .await
            .expect_err("missing");
        assert!(
            err.to_string().contains("cannot run `/nonexistent/lmutil`"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_command_printing_past_the_cap_is_stopped_at_once_not_timed_out() {
        let flood = ["head", "-c", "40000000", "/dev/zero"].map(String::from);
        let err = run(&flood, Duration::from_secs(600))
            .await
            .expect_err("flood");
        assert!(
            err.to_string().contains("printed more than 16 MiB"),
            "{err}"
        );
    }
}
