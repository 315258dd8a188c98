//! `tally-sim`: the command line. The simulation lives in the library.
#![forbid(unsafe_code)]

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use tally_sim::scenario::{GenOptions, generate};
use tally_sim::{Scenario, Tool, Workload, tools, truth};

const AFTER_HELP: &str = "\
Status commands (what Tally's pollers run; map the tool name to `tally-sim --scenario FILE <tool>`):
  tally-sim --scenario s.toml [--at UNIX] lmutil lmstat -a -c 27000@flex1.example
  tally-sim --scenario s.toml [--at UNIX] rlmutil rlmstat -a -c 5053@rlm1.example
  tally-sim --scenario s.toml [--at UNIX] lmxendutil -licstat -host lmx1.example -port 6200
A server that is down (or not started yet) or an unknown address gets the tool's own
cannot-connect output, with exit code 0 (the real tools' codes are not known).
Invoked through a link named lmutil, rlmutil or lmxendutil, tally-sim acts as that tool and takes
the scenario from $TALLY_SIM_SCENARIO (and a fixed time from $TALLY_SIM_AT).

Simulated time = sim_start + (now - real_start) * speed, written as UTC everywhere.

Scenario file (TOML; unknown keys are errors):
  seed = 7
  [clock]
  real_start = 1764000000   # wall-clock Unix seconds at which the simulation starts
  sim_start = 1764000000    # simulated Unix time at real_start (default: real_start)
  speed = 60.0              # simulated seconds per real second (default 1)
  duration = 3600           # simulated seconds with arrivals
  [[server]]
  name = \"flex1\"
  manager = \"flexlm\"        # flexlm | rlm | lmx
  host = \"flex1.example\"    # default: name
  port = 27000              # default: 27000 | 5053 | 6200
  vendor = \"ansyslmd\"       # vendor daemon / ISV / LM-X vendor (default demo, DEMO for lmx)
  users = 20                # user01@pc01 ... (default 20)
  mean_session = 600        # seconds, >= 60 (default 600)
  arrivals_per_hour = 60    # (default 60)
  down = [[1200, 1500]]     # [start, end) seconds after sim_start (default none)
  [[server.feature]]
  name = \"solver\"
  issued = 5
  version = \"1.0\"           # default 1.0";

/// A license-manager simulator standing in for lmutil, rlmutil and lmxendutil.
#[derive(Debug, Parser)]
#[command(name = "tally-sim", version, after_help = AFTER_HELP)]
struct Cli {
    /// The scenario file (TOML), or a directory of them named after each server's host
    /// (`HOST.toml`): a status command then reads only its server's file, so thousands of
    /// simulated servers cost a small file each per command.
    #[arg(long, global = true, env = "TALLY_SIM_SCENARIO", value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// Answer for this simulated Unix time instead of the clock's.
    #[arg(long, global = true, env = "TALLY_SIM_AT", value_name = "UNIX")]
    at: Option<i64>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// FlexNet status: `lmutil lmstat -a -c PORT@HOST`.
    Lmutil {
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "ARGS"
        )]
        args: Vec<String>,
    },
    /// RLM status: `rlmutil rlmstat -a -c PORT@HOST`.
    Rlmutil {
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "ARGS"
        )]
        args: Vec<String>,
    },
    /// LM-X status: `lmxendutil -licstat -host HOST -port PORT`.
    Lmxendutil {
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "ARGS"
        )]
        args: Vec<String>,
    },
    /// Write a server's own log to stdout: FlexNet debug log, RLM report log (detailed format)
    /// or LM-X server log.
    Log {
        /// The server's `name` in the scenario.
        #[arg(long)]
        server: String,
        /// Stop at this simulated Unix time (inclusive); default: the whole scenario.
        #[arg(long, value_name = "UNIX")]
        until: Option<i64>,
    },
    /// Print the ground truth: every session, denial and down period of a server.
    Sessions {
        #[arg(long)]
        server: String,
        /// Only what happened up to this simulated Unix time; later check-ins show as open.
        #[arg(long, value_name = "UNIX")]
        until: Option<i64>,
        /// JSON (times as Unix seconds) instead of a tab-separated table (times as UTC).
        #[arg(long)]
        json: bool,
    },
    /// Print a generated scenario (a mix of managers, a few features each, one down period on
    /// about a quarter of the servers).
    Scenario {
        #[arg(long)]
        servers: u32,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Simulated seconds per real second.
        #[arg(long, default_value_t = 60.0)]
        speed: f64,
        /// Simulated seconds with arrivals.
        #[arg(long, default_value_t = 86_400)]
        duration: i64,
        /// Wall-clock Unix seconds at which the simulation starts (default: now).
        #[arg(long, value_name = "UNIX")]
        real_start: Option<i64>,
    },
}

fn main() -> ExitCode {
    let mut argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // Called through a link named like a tool: act as that tool.
    let stem = argv
        .first()
        .and_then(|a| std::path::Path::new(a).file_stem())
        .and_then(|s| s.to_str())
        .map(str::to_owned);
    if let Some(stem) = stem.filter(|s| Tool::from_name(s).is_some()) {
        argv.insert(1, stem.into());
    }
    let cli = Cli::parse_from(argv);
    match run(cli) {
        Ok((stdout, code)) => {
            let mut out = std::io::stdout().lock();
            // A closed pipe (`| head`) is not an error worth reporting.
            let _ = out.write_all(stdout.as_bytes()).and_then(|()| out.flush());
            ExitCode::from(code)
        }
        Err(e) => {
            eprintln!("tally-sim: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<(String, u8)> {
    let load = || -> anyhow::Result<Scenario> {
        let path = cli
            .scenario
            .as_deref()
            .context("--scenario FILE is needed (or $TALLY_SIM_SCENARIO)")?;
        Scenario::load(path)
    };
    let tool = |tool, args: &[String]| -> anyhow::Result<(String, u8)> {
        let scenario = match cli.scenario.as_deref().filter(|p| p.is_dir()) {
            Some(dir) => {
                let (_, addresses) = tools::addresses(tool, args)?;
                let file = addresses
                    .iter()
                    // A host is a file name here, never a path.
                    .filter(|(host, _)| !host.contains(['/', '\\']) && !host.starts_with('.'))
                    .map(|(host, _)| dir.join(format!("{host}.toml")))
                    .find(|f| f.is_file())
                    .with_context(|| {
                        format!("no HOST.toml in {} for {addresses:?}", dir.display())
                    })?;
                Scenario::load(&file)?
            }
            None => load()?,
        };
        let now = match cli.at {
            Some(t) => t,
            None => scenario.sim_time(wall_now()),
        };
        let reply = tools::run(&scenario, tool, args, now)?;
        Ok((reply.stdout, reply.code))
    };
    match &cli.command {
        Command::Lmutil { args } => tool(Tool::Lmutil, args),
        Command::Rlmutil { args } => tool(Tool::Rlmutil, args),
        Command::Lmxendutil { args } => tool(Tool::Lmxendutil, args),
        Command::Log { server, until } => {
            let scenario = load()?;
            let s = find(&scenario, server)?;
            Ok((tally_sim::log(&scenario, s, *until), 0))
        }
        Command::Sessions {
            server,
            until,
            json,
        } => {
            let scenario = load()?;
            let w = Workload::simulate(&scenario, find(&scenario, server)?, *until);
            let out = if *json {
                let mut s = serde_json::to_string_pretty(&truth::truth(&w, *until))?;
                s.push('\n');
                s
            } else {
                truth::table(&w, *until)
            };
            Ok((out, 0))
        }
        Command::Scenario {
            servers,
            seed,
            speed,
            duration,
            real_start,
        } => {
            let o = GenOptions {
                servers: *servers,
                seed: *seed,
                speed: *speed,
                duration: *duration,
                real_start: real_start.unwrap_or_else(|| wall_now() as i64),
            };
            let text = generate(&o);
            // Never print a scenario that `--scenario` would refuse.
            Scenario::parse(&text).context("generated an invalid scenario (bad options?)")?;
            Ok((text, 0))
        }
    }
}

fn find<'a>(scenario: &'a Scenario, name: &str) -> anyhow::Result<&'a tally_sim::scenario::Server> {
    scenario.server(name).with_context(|| {
        let names: Vec<&str> = scenario
            .servers
            .iter()
            .take(10)
            .map(|s| s.name.as_str())
            .collect();
        format!(
            "no server named `{name}` in the scenario (servers: {} …)",
            names.join(", ")
        )
    })
}

fn wall_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
