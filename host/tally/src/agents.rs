//! `tally agent …`: end-user agents, the applications they watch and the harvests recorded, on
//! the database directly (the operator at the machine is an administrator).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use tally_app::access::Actor;
use tally_app::agents::{self, ApplicationSettings};
use tally_core::agent::ExecutableMatch;
use tally_core::harvest::Policy;

use crate::cli::Global;

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// List the enrolled agents: host, version, last seen, harvesting, errors.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Watch an application (or change the one of that name): its processes are recognised by
    /// executable name or path pattern and hold licences of FEATURE on SERVER.
    Watch {
        /// Shown on the Agents page and in reports (`MATLAB`).
        name: String,
        /// The executable's file name, exactly (`matlab`, `abaqus.exe`).
        #[arg(
            long,
            value_name = "NAME",
            conflicts_with = "path",
            required_unless_present = "path"
        )]
        executable: Option<String>,
        /// A pattern over the executable's full path: `?` one character, `*` within one path
        /// component, `**` across components (`/opt/*/bin/matlab`).
        #[arg(long, value_name = "PATTERN")]
        path: Option<String>,
        /// The license server it takes its licences from.
        #[arg(long, value_name = "NAME")]
        server: String,
        #[arg(long)]
        feature: String,
        /// Its harvesting policy, a JSON file (triggers, method, busy_cpu_percent); without
        /// it, the application is watched and never harvested.
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
    },
    /// Stop watching an application.
    Unwatch { name: String },
    /// The watched applications.
    Applications {
        #[arg(long)]
        json: bool,
    },
    /// Enable (`on`) or disable (`off`) License Harvesting for the agent ID.
    Harvesting {
        id: i64,
        #[arg(value_parser = ["on", "off"])]
        state: String,
    },
    /// Record (`on`) or ignore (`off`) the agents' data of the license server SERVER; off, its
    /// End User status is Disabled.
    Receive {
        server: String,
        #[arg(value_parser = ["on", "off"])]
        state: String,
    },
    /// The harvests recorded, newest first.
    Harvests {
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
}

fn time(t: Option<i64>) -> String {
    t.map(tally_core::time::rfc3339)
        .unwrap_or_else(|| "never".into())
}

pub async fn agent(global: &Global, command: AgentCommand) -> anyhow::Result<ExitCode> {
    let app = global.app().await?;
    let operator = Actor::operator();
    match command {
        AgentCommand::List { json } => {
            let list = agents::list(&app).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                println!(
                    "{:>4} {:<20} {:<10} {:<8} {:<12} {:<21} LATEST ERROR",
                    "ID", "HOST", "VERSION", "STATUS", "HARVESTING", "LAST SEEN"
                );
                for a in list {
                    println!(
                        "{:>4} {:<20} {:<10} {:<8} {:<12} {:<21} {}",
                        a.agent.id,
                        a.agent.host,
                        a.agent.version,
                        if a.online { "Online" } else { "Offline" },
                        serde_json::to_value(a.harvesting)?
                            .as_str()
                            .unwrap_or_default(),
                        time(a.agent.last_seen),
                        a.agent.errors.last().map_or("", String::as_str)
                    );
                }
            }
        }
        AgentCommand::Watch {
            name,
            executable,
            path,
            server,
            feature,
            policy,
        } => {
            let matcher = match (executable, path) {
                (Some(name), _) => ExecutableMatch::Name(name),
                (None, Some(pattern)) => ExecutableMatch::Path(pattern),
                (None, None) => anyhow::bail!("give --executable NAME or --path PATTERN"),
            };
            let harvest = match policy {
                Some(file) => {
                    let text = std::fs::read_to_string(&file)
                        .with_context(|| format!("cannot read {}", file.display()))?;
                    Some(serde_json::from_str::<Policy>(&text).with_context(|| {
                        format!("{} is not a harvesting policy", file.display())
                    })?)
                }
                None => None,
            };
            let settings = ApplicationSettings {
                matcher,
                license_server: server,
                feature,
                harvest,
            };
            agents::put_application(&app, &operator, &name, settings).await?;
            println!("agents watch `{name}`");
        }
        AgentCommand::Unwatch { name } => {
            agents::remove_application(&app, &operator, &name).await?;
            println!("agents no longer watch `{name}`");
        }
        AgentCommand::Applications { json } => {
            let watched = agents::watched(&app).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&watched)?);
            } else {
                println!(
                    "{:<20} {:<40} {:<20} {:<20} HARVEST",
                    "NAME", "EXECUTABLE", "SERVER", "FEATURE"
                );
                for w in watched {
                    let executable = match &w.matcher {
                        ExecutableMatch::Name(n) => format!("name {n}"),
                        ExecutableMatch::Path(p) => format!("path {p}"),
                    };
                    println!(
                        "{:<20} {:<40} {:<20} {:<20} {}",
                        w.name,
                        executable,
                        w.license_server,
                        w.feature,
                        w.harvest.as_ref().map_or("never", |p| p.method.kind())
                    );
                }
            }
        }
        AgentCommand::Harvesting { id, state } => {
            let view = agents::set_harvesting(&app, &operator, id, state == "on").await?;
            println!(
                "agent {id} ({}): harvesting {}{}",
                view.agent.host,
                serde_json::to_value(view.harvesting)?
                    .as_str()
                    .unwrap_or_default(),
                view.harvesting_reason
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            );
        }
        AgentCommand::Receive { server, state } => {
            let source = agents::set_agent_data(&app, &operator, &server, state == "on").await?;
            println!(
                "{server}: agent data {}, End User {}",
                if source.receiving {
                    "recorded"
                } else {
                    "ignored"
                },
                source.state
            );
        }
        AgentCommand::Harvests { limit, json } => {
            let events = agents::harvests(&app, None, limit).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&events)?);
            } else {
                println!(
                    "{:<21} {:<16} {:<12} {:<16} {:<9} {:<14} SAVED",
                    "TIME", "HOST", "USER", "APPLICATION", "METHOD", "OUTCOME"
                );
                for e in events {
                    println!(
                        "{:<21} {:<16} {:<12} {:<16} {:<9} {:<14} {} s",
                        tally_core::time::rfc3339(e.time),
                        e.host,
                        e.user.as_deref().unwrap_or("-"),
                        e.application,
                        e.method,
                        e.outcome,
                        e.saved_secs
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
