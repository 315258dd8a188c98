//! `tally demo`: Tally on its embedded SQLite default with something to show, in one command.
//!
//! Into a demo directory emptied at each start it writes a few months of generated history
//! (`tally gen`'s model, ending at today's midnight), imports a FlexNet debug log that the
//! simulator writes for the last week, adds three simulated license servers of different
//! managers polled live (the simulator answers as their status tools, through this same binary's
//! hidden `sim-tool` command; the LM-X one goes down and up again periodically), makes an
//! administrator with a random password, and serves the dashboard and the API until ctrl-c.
//! Everything goes through the verbs `tally serve`, `tally import` and `tally user` use, so the
//! Community licence's limits and the write gate apply as they would anywhere.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use tally_app::access::{self, Actor, Role};
use tally_app::import::{self, ImportOptions};
use tally_app::{App, servers};
use tally_core::period::DAY;
use tally_store::Store;

use crate::cli::Global;
use crate::generator::{self, Plan};

/// Marks a directory as the demo's own, so a later start may empty it.
const MARKER: &str = ".tally-demo";
/// Simulated servers have been running this long when the demo starts: they have sessions open.
const WARM_UP: i64 = 3600;
/// Simulated arrivals go on this long after the start.
const RUNS_FOR: i64 = 30 * DAY;
/// The imported log covers this many days before the start.
const LOG_DAYS: i64 = 7;

#[derive(Debug, Args)]
#[command(after_help = "\
What it sets up (in a few seconds), in a directory emptied at each start:
  hist-01..03   a few months of generated history (imported-only servers)
  plant-log     a FlexNet debug log of the last week, imported
  flex-live     FlexNet, polled live (a simulated lmgrd)
  rlm-live      RLM, polled live
  lmx-live      LM-X, polled live; it goes down and comes back every --outage-every seconds
and an account `admin` whose random password is printed once, with the dashboard's URL.
The demo stays within the Community licence (10 servers, 100 users, 125 hosts): check with
`tally --db sqlite://DIR/tally.db license show`. Ctrl-C stops it; the directory stays until the
next start. --db and --plugin-dir do not apply: the demo keeps its database and plugins in DIR.")]
pub struct DemoArgs {
    /// Address of the dashboard and the REST API.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// The demo's directory (database, scenario, log), emptied at each start. Default:
    /// `tally-demo` in the system's temporary directory.
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Months of generated history before today.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=36))]
    pub months: u32,
    /// Seconds between two polls of a live server.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=3600))]
    pub interval: u32,
    /// The LM-X server is up for the first three fifths of every period of this many seconds,
    /// then down until the next.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u32).range(10..=86_400))]
    pub outage_every: u32,
    /// Random seed of the history and the simulation.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// The live servers: (name, manager, manager's name for people, host, port).
const LIVE: [(&str, &str, &str, &str, u16); 3] = [
    ("flex-live", "flexlm", "FlexNet", "flex-lic.demo", 27000),
    ("rlm-live", "rlm", "RLM", "rlm-lic.demo", 5053),
    ("lmx-live", "lmx", "LM-X", "lmx-lic.demo", 6200),
];
const FLAPPING: &str = "lmx-live";
const LOG_SERVER: &str = "plant-log";

pub async fn run(global: &Global, args: DemoArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let dir = args
        .data
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("tally-demo"));
    prepare(&dir)?;
    println!(
        "tally demo: data in {} (emptied at each start)",
        dir.display()
    );
    let now = tally_app::now();
    let today = now - now.rem_euclid(DAY);

    let db = format!("sqlite://{}", dir.join("tally.db").display());
    let store = Store::open(&db)
        .await
        .with_context(|| format!("cannot open the demo database in {}", dir.display()))?;
    let plugins = Arc::new(crate::plugins::open_auditing(
        &dir.join("plugins"),
        global.plugin_cache().as_deref(),
        tally_plugin_host::AuditLog::new(dir.join("plugin-audit.jsonl")),
    )?);
    let mut tools = tally_app::poll::Tools::default();
    tools.timeout = Some(tally_app::poll::DEFAULT_COMMAND_TIMEOUT);
    let scenario = dir.join("scenario.toml");
    std::fs::write(&scenario, live_scenario(&args, now))
        .with_context(|| format!("cannot write {}", scenario.display()))?;
    let exe = std::env::current_exe().context("cannot find this program to simulate the tools")?;
    for tool in ["lmutil", "rlmutil", "lmxendutil"] {
        let argv = [exe.as_os_str(), "sim-tool".as_ref(), "--scenario".as_ref()]
            .into_iter()
            .chain([scenario.as_os_str(), tool.as_ref()])
            .map(|a| a.to_str().map(str::to_owned))
            .collect::<Option<Vec<String>>>()
            .context("the demo's paths must be UTF-8")?;
        tools.set(tool, argv);
    }
    let mut app = App::new(store, plugins.registry().clone(), tools, dir.join("spool"));
    app.licence_keys = crate::licence::keys_from_env()?;
    app.assess_licence().await?;
    let operator = Actor::operator();

    // 1. History: imported-only servers, ending where today's live polling takes over.
    let step = Instant::now();
    let plan = Plan {
        servers: 3,
        features: 8,
        users: 40,
        days: i64::from(args.months) * 30,
        seed: args.seed,
        end: today,
        // Users on their own machines only: the host count stays far from the licence's.
        nodes: 0,
        prefix: "hist-".into(),
        clip: true,
    };
    println!(
        "[1/4] generating {} days of history for {} users on {} servers…",
        plan.days, plan.users, plan.servers
    );
    let history = generator::generate(&app.store, &plan, false).await?;
    println!(
        "      {} sessions and {} denials in {:.1} s",
        history.sessions,
        history.denials,
        step.elapsed().as_secs_f64()
    );

    // 2. A sample log, written by the simulator, imported as `tally import` does.
    let step = Instant::now();
    let log = dir.join("logs").join("plant.log");
    std::fs::create_dir_all(dir.join("logs"))?;
    std::fs::write(&log, sample_log(args.seed, now)?)
        .with_context(|| format!("cannot write {}", log.display()))?;
    println!("[2/4] importing a FlexNet debug log of the last {LOG_DAYS} days…");
    let options = ImportOptions {
        server: Some(LOG_SERVER.into()),
        // The simulator writes UTC.
        utc_offset: Some(0),
        ..ImportOptions::default()
    };
    let summary = import::import_files(&app, &operator, &[log], &options, &()).await?;
    if let Some(e) = summary.errors.first() {
        bail!("the demo's log was not imported: {}", e.error);
    }
    println!(
        "      {LOG_SERVER}: {} sessions, {} denials in {:.1} s",
        summary.added.sessions,
        summary.added.denials,
        step.elapsed().as_secs_f64()
    );

    // 3. The live servers.
    println!(
        "[3/4] adding simulated license servers, polled every {} s…",
        args.interval
    );
    for (name, manager, people, host, port) in LIVE {
        let settings = servers::Settings {
            manager: Some(manager.into()),
            host: Some(host.into()),
            port: Some(port),
            interval_secs: Some(args.interval),
            time_zone: Some("UTC".into()),
            ..servers::Settings::default()
        };
        servers::add(&app, &operator, name, settings).await?;
        let note = match name == FLAPPING {
            true => format!(
                ", down {} s in every {} s",
                args.outage_every - up_secs(args.outage_every),
                args.outage_every
            ),
            false => String::new(),
        };
        println!("      {name}: {people} at {port}@{host}{note}");
    }

    // 4. The administrator.
    let password = random_password()?;
    access::add_account(&app, &operator, "admin", Role::Administrator, &password).await?;
    println!("[4/4] added the administrator `admin`");

    let standing = app.assess_licence().await?;
    let limits: Vec<String> = standing
        .status
        .limits
        .iter()
        .map(|l| {
            let kind = serde_json::to_value(l.limit)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            match l.allowed {
                Some(allowed) => format!("{} {kind} of {allowed}", l.used),
                None => format!("{} {kind}", l.used),
            }
        })
        .collect();
    println!("licence: {} ({})", standing.status.title, limits.join(", "));
    if let Some(violation) = standing.restriction() {
        println!("warning: restricted access mode: {}", violation.explain());
    }

    app.plugins = Some(plugins);
    let api = Arc::new(tally_server::Api::new(Arc::new(app)));
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let address = listener.local_addr()?;
    println!();
    println!("Ready in {:.1} s.", started.elapsed().as_secs_f64());
    println!("dashboard: http://{address}/");
    println!("login:     admin");
    println!("password:  {password}");
    println!("Ctrl-C stops the demo.");
    tally_server::serve(api, listener, tally_server::shutdown_signal()).await?;
    println!("tally demo: stopped");
    Ok(ExitCode::SUCCESS)
}

/// Makes `dir` an empty demo directory: a new or empty one, or one a demo made before.
fn prepare(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        let mut entries =
            std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
        if entries.next().is_some() {
            if !dir.join(MARKER).is_file() {
                bail!(
                    "{} is not empty and was not made by `tally demo`: give another --data",
                    dir.display()
                );
            }
            std::fs::remove_dir_all(dir)
                .with_context(|| format!("cannot empty {}", dir.display()))?;
        }
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    std::fs::write(
        dir.join(MARKER),
        "made by `tally demo`, which empties this directory at each start\n",
    )?;
    Ok(())
}

/// Seconds the flapping server is up in each period.
fn up_secs(period: u32) -> u32 {
    period * 3 / 5
}

/// The live servers' scenario: simulated time is wall-clock time, starting [`WARM_UP`] before
/// now so they have sessions open at once.
fn live_scenario(args: &DemoArgs, now: i64) -> String {
    let period = i64::from(args.outage_every);
    let up = i64::from(up_secs(args.outage_every));
    // Down periods for a day from the start; after that it stays up.
    let downs: Vec<String> = (0..DAY / period)
        .map(|k| {
            let cycle = WARM_UP + k * period;
            format!("[{}, {}]", cycle + up, cycle + period)
        })
        .collect();
    format!(
        r#"seed = {seed}
[clock]
real_start = {start}
speed = 1.0
duration = {duration}

[[server]]
name = "flex-live"
manager = "flexlm"
host = "flex-lic.demo"
port = 27000
vendor = "acmecad"
users = 30
mean_session = 1800
arrivals_per_hour = 40
[[server.feature]]
name = "cad_modeler"
issued = 10
[[server.feature]]
name = "solver"
issued = 4
[[server.feature]]
name = "mesher"
issued = 3

[[server]]
name = "rlm-live"
manager = "rlm"
host = "rlm-lic.demo"
port = 5053
vendor = "renderco"
users = 20
mean_session = 1200
arrivals_per_hour = 30
[[server.feature]]
name = "render"
issued = 6
[[server.feature]]
name = "composer"
issued = 2

[[server]]
name = "lmx-live"
manager = "lmx"
host = "lmx-lic.demo"
port = 6200
vendor = "OPTIX"
users = 15
mean_session = 900
arrivals_per_hour = 25
down = [{downs}]
[[server.feature]]
name = "OPTICS"
issued = 3
[[server.feature]]
name = "RAYTRACE"
issued = 2
"#,
        seed = args.seed,
        start = now - WARM_UP,
        duration = WARM_UP + RUNS_FOR,
        downs = downs.join(", "),
    )
}

/// A FlexNet debug log of the [`LOG_DAYS`] days before `now`, with denials (few licences).
fn sample_log(seed: u64, now: i64) -> anyhow::Result<String> {
    let start = now - LOG_DAYS * DAY;
    let text = format!(
        r#"seed = {seed}
[clock]
real_start = {start}
duration = {duration}

[[server]]
name = "plant"
manager = "flexlm"
host = "plant-lic"
vendor = "structix"
users = 25
mean_session = 2400
arrivals_per_hour = 12
[[server.feature]]
name = "fem_solver"
issued = 4
[[server.feature]]
name = "pre_post"
issued = 5
"#,
        duration = LOG_DAYS * DAY,
    );
    let scenario = tally_sim::Scenario::parse(&text)?;
    let server = scenario
        .server("plant")
        .context("the sample log's scenario has its server")?;
    Ok(tally_sim::log(&scenario, server, Some(now)))
}

/// 16 random characters, easy to type: no 0/O or 1/l/I.
fn random_password() -> anyhow::Result<String> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness from the OS: {e}"))?;
    // 256 is not a multiple of 56: the bias (under 2 %) costs far less than a password
    // this long holds.
    Ok(bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect())
}

/// `tally sim-tool`: answers a status command from the demo's scenario, as the real tool would.
pub fn sim_tool(scenario: &Path, tool: &str, args: &[String]) -> anyhow::Result<ExitCode> {
    use std::io::Write as _;
    let tool = tally_sim::Tool::from_name(tool).with_context(|| {
        format!("`{tool}` is not a simulated tool (lmutil, rlmutil, lmxendutil)")
    })?;
    let scenario = tally_sim::Scenario::load(scenario)?;
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs_f64();
    let reply = tally_sim::tools::run(&scenario, tool, args, scenario.sim_time(wall))?;
    let mut out = std::io::stdout().lock();
    let _ = out
        .write_all(reply.stdout.as_bytes())
        .and_then(|()| out.flush());
    Ok(ExitCode::from(reply.code))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> DemoArgs {
        use clap::Parser;
        #[derive(Parser)]
        struct Only {
            #[command(flatten)]
            args: DemoArgs,
        }
        Only::parse_from(["tally"]).args
    }

    #[test]
    fn the_live_scenario_parses_and_the_lmx_server_flaps_after_the_warm_up() {
        let now = 1_800_000_000;
        let a = args();
        let scenario = tally_sim::Scenario::parse(&live_scenario(&a, now)).expect("scenario");
        assert_eq!(scenario.sim_time(now as f64), now);
        let lmx = scenario.server(FLAPPING).expect("lmx");
        let up = i64::from(up_secs(a.outage_every));
        assert_eq!(lmx.down.first(), Some(&[WARM_UP + up, WARM_UP + 300]));
        assert_eq!(lmx.down.len() as i64, DAY / 300);
        let w = tally_sim::Workload::simulate(&scenario, lmx, Some(now + up + 10));
        assert!(w.is_up(now + 10) && !w.is_up(now + up + 10));
        // Every live server has sessions open when the demo starts.
        for s in &scenario.servers {
            let w = tally_sim::Workload::simulate(&scenario, s, Some(now));
            assert!(
                w.sessions.iter().any(|x| x.start <= now && now < x.end),
                "{}",
                s.name
            );
        }
    }

    #[test]
    fn the_sample_log_is_a_flexnet_debug_log_with_denials() {
        let log = sample_log(1, 1_800_000_000).expect("log");
        assert!(
            log.contains("OUT: \"fem_solver\""),
            "{}",
            &log[..log.len().min(2000)]
        );
        assert!(log.contains("DENIED"));
    }

    #[test]
    fn a_directory_not_made_by_the_demo_is_never_emptied() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(dir.path().join("precious"), "x").expect("write");
        let e = prepare(dir.path()).expect_err("refused");
        assert!(e.to_string().contains("not made by `tally demo`"), "{e}");
        assert!(dir.path().join("precious").exists());
        let demo = dir.path().join("demo");
        prepare(&demo).expect("new");
        std::fs::write(demo.join("tally.db"), "old").expect("write");
        prepare(&demo).expect("again");
        assert!(!demo.join("tally.db").exists() && demo.join(MARKER).exists());
    }

    #[test]
    fn passwords_are_random_and_typeable() {
        let (a, b) = (random_password().expect("a"), random_password().expect("b"));
        assert_ne!(a, b);
        assert_eq!(a.len(), 16);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() && !"0O1lI".contains(c))
        );
    }
}
