//! `tally server …`, `tally serve` and `tally probe`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use tally_plugin_host::{Registry, SNIFF_BYTES, World};
use tally_server::poll::Tools;
use tally_server::{App, now};
use tally_store::{Server, ServerConfig};

use crate::cli::{Global, data_dir, parse_utc_offset};

#[derive(Debug, Subcommand)]
pub enum ServerCommand {
    /// Add a license server. With --host it is polled by the poller of its manager; with
    /// --follow its log files are imported as they grow.
    Add {
        name: String,
        #[command(flatten)]
        settings: Settings,
    },
    /// Change a server's settings (only those given). Its statuses start over (Verifying).
    Edit {
        name: String,
        /// New name.
        #[arg(long, value_name = "NAME")]
        rename: Option<String>,
        /// Stop following any log files.
        #[arg(long, conflicts_with = "follow")]
        no_follow: bool,
        #[command(flatten)]
        settings: Settings,
    },
    /// Remove a server and all its history.
    Remove {
        name: String,
        /// Confirms that its history goes too.
        #[arg(long)]
        yes: bool,
    },
    /// List the servers with their Remote and Import statuses.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Enable monitoring and importing of a server.
    Enable { name: String },
    /// Disable monitoring and importing of a server (status Disabled).
    Disable { name: String },
}

#[derive(Debug, Args)]
pub struct Settings {
    /// License manager: flexlm, rlm, lmx, dsls, sentinel, … (`tally plugin list` shows the
    /// plugins' managers). Default: the manager of the --poll format.
    #[arg(long)]
    manager: Option<String>,
    /// Vendor daemon monitored (denials-only imports must come from it).
    #[arg(long)]
    vendor: Option<String>,
    /// License server host name.
    #[arg(long)]
    host: Option<String>,
    /// License server port.
    #[arg(long)]
    port: Option<u16>,
    /// Poller format (default: the manager's poller when --host is given).
    #[arg(long, value_name = "FORMAT")]
    poll: Option<String>,
    /// Do not poll this server.
    #[arg(long, conflicts_with = "poll")]
    no_poll: bool,
    /// Seconds between polls (default 60).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u32).range(1..=86_400))]
    interval: Option<u32>,
    /// Log file or directory to follow (repeat for several).
    #[arg(long, value_name = "PATH")]
    follow: Vec<PathBuf>,
    /// Log format of the followed files (default: detected per file).
    #[arg(long, value_name = "FORMAT")]
    import_format: Option<String>,
    /// The server's offset from UTC, e.g. -5 or +5:30 (its logs are in local time).
    #[arg(long, value_name = "±H[:MM]", value_parser = parse_utc_offset, allow_hyphen_values = true)]
    utc_offset: Option<i32>,
    /// Add it disabled.
    #[arg(long)]
    disabled: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address of the REST API.
    #[arg(long, default_value = "127.0.0.1:8080", env = "TALLY_LISTEN")]
    listen: SocketAddr,
    /// Where a license-manager tool is: `NAME=PROGRAM [ARGS]`, e.g. `lmutil=/opt/flexlm/lmutil`
    /// (repeat for several; tools not given are looked up on PATH).
    #[arg(long = "tool", value_name = "NAME=PROGRAM")]
    tools: Vec<String>,
    /// Longest a status command may run, seconds.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    command_timeout: u64,
    /// How often followed log files are checked, milliseconds.
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    follow_every: u64,
    /// Shortest poll interval honoured, milliseconds (tests and demos poll fast).
    #[arg(long, default_value_t = 1000, hide = true)]
    min_interval_ms: u64,
    #[command(flatten)]
    admin: crate::plugins::AdminArgs,
}

pub async fn server(global: &Global, command: ServerCommand) -> anyhow::Result<ExitCode> {
    let store = global.store().await?;
    match command {
        ServerCommand::Add { name, settings } => {
            let registry = global.plugins()?;
            let config = settings.apply(ServerConfig::imported(&name, ""), &registry)?;
            store.add_server(config).await?;
            println!("added license server `{name}`");
        }
        ServerCommand::Edit {
            name,
            rename,
            no_follow,
            settings,
        } => {
            let registry = global.plugins()?;
            let mut config = find(&store, &name).await?.config;
            if let Some(new) = rename {
                config.name = new;
            }
            if no_follow {
                config.follow.clear();
            }
            let config = settings.apply(config, &registry)?;
            store.update_server(&name, config).await?;
            println!("changed license server `{name}`");
        }
        ServerCommand::Remove { name, yes } => {
            find(&store, &name).await?;
            if !yes {
                bail!("removing `{name}` deletes its whole history; add --yes to confirm");
            }
            store.remove_server(&name).await?;
            println!("removed license server `{name}` and its history");
        }
        ServerCommand::Enable { name } => set_enabled(&store, &name, true).await?,
        ServerCommand::Disable { name } => set_enabled(&store, &name, false).await?,
        ServerCommand::List { json } => list(&store.servers().await?, json)?,
    }
    Ok(ExitCode::SUCCESS)
}

async fn find(store: &tally_store::Store, name: &str) -> anyhow::Result<Server> {
    store.server(name).await?.with_context(|| {
        format!("no license server is called `{name}` (`tally server list` shows them)")
    })
}

async fn set_enabled(store: &tally_store::Store, name: &str, enabled: bool) -> anyhow::Result<()> {
    let mut config = find(store, name).await?.config;
    config.enabled = enabled;
    store.update_server(name, config).await?;
    println!(
        "{} license server `{name}`",
        if enabled { "enabled" } else { "disabled" }
    );
    Ok(())
}

impl Settings {
    /// Applies the given settings onto `config` and checks the result against the plugins.
    fn apply(self, mut c: ServerConfig, registry: &Registry) -> anyhow::Result<ServerConfig> {
        let Settings {
            manager,
            vendor,
            host,
            port,
            poll,
            no_poll,
            interval,
            follow,
            import_format,
            utc_offset,
            disabled,
        } = self;
        let manager_of = |world: World, format: &str| {
            registry
                .for_format(world, format)
                .map(|p| p.manifest.manager().to_string())
                .with_context(|| {
                    format!(
                        "no {} plugin reads `{format}`; known: {}",
                        world.as_str(),
                        registry.formats(world).join(", ")
                    )
                })
        };
        if let Some(m) = manager {
            c.manager = m;
        }
        c.vendor = vendor.or(c.vendor);
        c.host = host.or(c.host);
        c.port = port.or(c.port);
        c.query_interval = interval.unwrap_or(c.query_interval);
        c.utc_offset = utc_offset.or(c.utc_offset);
        c.enabled = !disabled && c.enabled;
        if let Some(format) = poll {
            let m = manager_of(World::Poller, &format)?;
            if c.manager.is_empty() {
                c.manager = m.clone();
            }
            if m != c.manager {
                bail!(
                    "`{format}` is a {m} poller, and the server's manager is {}",
                    c.manager
                );
            }
            c.poll_format = Some(format);
        }
        if no_poll {
            c.poll_format = None;
        }
        if c.manager.is_empty() {
            bail!("say which license manager the server runs: --manager (or --poll FORMAT)");
        }
        let managers: Vec<String> = registry
            .list()
            .iter()
            .map(|p| p.manifest.manager().to_string())
            .collect();
        if !managers.contains(&c.manager) {
            let mut known = managers;
            known.sort();
            known.dedup();
            bail!(
                "no plugin speaks for license manager `{}`; known: {}",
                c.manager,
                known.join(", ")
            );
        }
        if c.poll_format.is_none() && c.host.is_some() && !no_poll {
            c.poll_format = registry
                .list()
                .iter()
                .find(|p| p.manifest.world == World::Poller && p.manifest.manager() == c.manager)
                .map(|p| p.manifest.formats[0].clone());
        }
        if c.poll_format.is_some() && c.host.is_none() {
            bail!("a polled server needs --host (and usually --port)");
        }
        if let Some(format) = import_format {
            let m = manager_of(World::Importer, &format)?;
            if m != c.manager {
                bail!(
                    "`{format}` is a {m} log, and the server's manager is {}",
                    c.manager
                );
            }
            c.import_format = Some(format);
        }
        for path in follow {
            let parent = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            if !path.exists() && !parent.is_dir() {
                bail!(
                    "cannot follow {}: neither it nor its directory exists",
                    path.display()
                );
            }
            let absolute = std::path::absolute(&path).unwrap_or(path);
            c.follow.push(absolute.display().to_string());
        }
        Ok(c)
    }
}

fn list(servers: &[Server], json: bool) -> anyhow::Result<()> {
    if json {
        #[derive(serde::Serialize)]
        struct Row<'a> {
            #[serde(flatten)]
            server: &'a Server,
            remote_status_now: tally_core::RemoteStatus,
        }
        let rows: Vec<Row> = servers
            .iter()
            .map(|server| Row {
                server,
                remote_status_now: server.remote_status_now(),
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!(
        "{:<20} {:<9} {:<28} {:<12} {:<8} REASON",
        "NAME", "MANAGER", "ADDRESS", "REMOTE", "IMPORT"
    );
    for s in servers {
        let c = &s.config;
        let address = match (&c.host, c.port) {
            (Some(h), Some(p)) => format!("{p}@{h}"),
            (Some(h), None) => h.clone(),
            _ => "-".into(),
        };
        let reason = s
            .remote_reason
            .as_deref()
            .or(s.import_reason.as_deref())
            .unwrap_or("");
        println!(
            "{:<20} {:<9} {:<28} {:<12} {:<8} {reason}",
            c.name,
            c.manager,
            address,
            s.remote_status_now().as_str(),
            s.import_status.as_str()
        );
    }
    Ok(())
}

pub async fn serve(global: &Global, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let store = global.store().await?;
    let plugins = Arc::new(global.plugin_dir_handle()?);
    let registry = plugins.registry().clone();
    let mut tools = Tools::default();
    tools.timeout = Some(Duration::from_secs(args.command_timeout.max(1)));
    for spec in &args.tools {
        tools.add(spec)?;
    }
    let mut app = App::new(store, registry, tools, data_dir().join("spool"));
    app.follow_every = Duration::from_millis(args.follow_every.max(10));
    app.min_interval = Duration::from_millis(args.min_interval_ms.max(10));
    app.admin = Some(crate::plugins::admin(&args.admin, plugins)?);
    eprintln!("tally: database {}", global.db_url());
    tally_server::serve(Arc::new(app), args.listen).await?;
    Ok(ExitCode::SUCCESS)
}

pub async fn probe(
    global: &Global,
    format: Option<String>,
    json: bool,
    file: &Path,
) -> anyhow::Result<ExitCode> {
    let output = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let registry = global.plugins()?;
    let plugin = match format {
        Some(format) => registry
            .for_format(World::Poller, &format)
            .with_context(|| {
                format!(
                    "no poller reads `{format}`; known: {}",
                    registry.formats(World::Poller).join(", ")
                )
            })?,
        None => {
            let head = &output[..output.len().min(SNIFF_BYTES)];
            registry
                .detect(World::Poller, head)
                .map(|(p, _)| p)
                .with_context(|| {
                    format!(
                        "cannot tell which status output {} is; pass --format (known: {})",
                        file.display(),
                        registry.formats(World::Poller).join(", ")
                    )
                })?
        }
    };
    let snapshot = tokio::task::block_in_place(|| plugin.parse_status(&output, now()))
        .with_context(|| format!("{} cannot read {}", plugin.id(), file.display()))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&snapshot)?);
        return Ok(ExitCode::SUCCESS);
    }
    for s in &snapshot.servers {
        let port = s.port.map(|p| format!("{p}@")).unwrap_or_default();
        let why = s
            .message
            .as_deref()
            .map(|m| format!(" ({m})"))
            .unwrap_or_default();
        println!("server {port}{}: {}{why}", s.host, s.status);
        for d in &s.vendor_daemons {
            println!("  vendor daemon {}: {}", d.name, d.status);
        }
    }
    println!(
        "{:<32} {:<14} {:>7} {:>7}",
        "FEATURE", "VENDOR", "ISSUED", "IN USE"
    );
    for f in &snapshot.features {
        let issued = f.issued.map_or("-".into(), |n| n.to_string());
        println!(
            "{:<32} {:<14} {:>7} {:>7}",
            f.name, f.vendor, issued, f.in_use
        );
    }
    println!(
        "{} checkouts, {} queued, {} lines not understood",
        snapshot.checkouts.len(),
        snapshot.queued.len(),
        snapshot.diagnostics.len()
    );
    Ok(ExitCode::SUCCESS)
}
