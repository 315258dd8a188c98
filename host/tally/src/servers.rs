//! `tally server …`, `tally serve` and `tally probe`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use tally_app::access::Actor;
use tally_app::clock::ClockView;
use tally_app::import::choose_plugin;
use tally_app::poll::Tools;
use tally_app::{App, now, servers};
use tally_core::time::UtcOffset;
use tally_plugin_host::{SNIFF_BYTES, World};
use tally_store::Server;

use crate::cli::{Global, data_dir};
use crate::config::{Setting, Source, pick};
use crate::output::Align::Left;
use crate::output::Table;

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
    #[arg(long, value_name = "±H[:MM]", allow_hyphen_values = true)]
    utc_offset: Option<UtcOffset>,
    /// The server's time zone: an IANA name such as America/Chicago (daylight saving
    /// included) or an offset such as +05:30. Its logs are read and its usage reported in it.
    #[arg(long, value_name = "ZONE", allow_hyphen_values = true)]
    time_zone: Option<String>,
    /// Add it disabled.
    #[arg(long)]
    disabled: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address of the REST API [default: 127.0.0.1:8080].
    #[arg(long, env = "TALLY_LISTEN")]
    listen: Option<SocketAddr>,
    /// Where a license-manager tool is: `NAME=PROGRAM [ARGS]`, e.g. `lmutil=/opt/flexlm/lmutil`
    /// (repeat for several; added to the configuration's [tools]; tools named nowhere are
    /// looked up on PATH).
    #[arg(long = "tool", value_name = "NAME=PROGRAM")]
    tools: Vec<String>,
    /// Longest a status command may run, seconds [default: 30].
    #[arg(long, value_name = "SECS")]
    command_timeout: Option<u64>,
    /// Largest log accepted through the API (an upload), MiB [default: 4096]. Uploads also
    /// need this much free disk beyond 256 MiB.
    #[arg(long, value_name = "MIB")]
    max_upload_mb: Option<u64>,
    /// Longest a read through the API (a report, a history, a list) may take, seconds,
    /// waiting for its turn included; past it the client gets a 503 [default: 30].
    #[arg(long, value_name = "SECS")]
    read_timeout: Option<u64>,
    /// Validate the configuration, print what is in force and exit.
    #[arg(long)]
    check: bool,
    /// How often followed log files are checked, milliseconds.
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    follow_every: u64,
    /// Shortest poll interval honoured, milliseconds (tests and demos poll fast).
    #[arg(long, default_value_t = 1000, hide = true)]
    min_interval_ms: u64,
    /// How long an agent's latest report keeps it online, seconds (the End User status; seed
    /// 001 says 2 minutes, tests shorten it).
    #[arg(long, default_value_t = tally_core::status::AGENT_ONLINE_SECS, hide = true)]
    agent_online_secs: i64,
    /// Let anyone read (the API's GETs and the dashboard) without logging in; changes still
    /// need an administrator.
    #[arg(long, env = "TALLY_ANONYMOUS_READ")]
    anonymous_read: bool,
    #[command(flatten)]
    admin: crate::plugins::AdminArgs,
}

pub async fn server(global: &Global, command: ServerCommand) -> anyhow::Result<ExitCode> {
    let app = global.app().await?;
    let operator = Actor::operator();
    match command {
        ServerCommand::Add { name, settings } => {
            servers::add(&app, &operator, &name, settings.into()).await?;
            println!("added license server `{name}`");
        }
        ServerCommand::Edit {
            name,
            rename,
            no_follow,
            settings,
        } => {
            let settings = servers::Settings {
                rename,
                no_follow,
                ..settings.into()
            };
            servers::edit(&app, &operator, &name, settings).await?;
            println!("changed license server `{name}`");
        }
        ServerCommand::Remove { name, yes } => {
            servers::find(&app, &name).await?;
            if !yes {
                bail!("removing `{name}` deletes its whole history; add --yes to confirm");
            }
            servers::remove(&app, &operator, &name).await?;
            println!("removed license server `{name}` and its history");
        }
        ServerCommand::Enable { name } => {
            servers::set_enabled(&app, &operator, &name, true).await?;
            println!("enabled license server `{name}`");
        }
        ServerCommand::Disable { name } => {
            servers::set_enabled(&app, &operator, &name, false).await?;
            println!("disabled license server `{name}`");
        }
        ServerCommand::List { json } => list(&app.store.servers().await?, json)?,
    }
    Ok(ExitCode::SUCCESS)
}

impl From<Settings> for servers::Settings {
    fn from(s: Settings) -> servers::Settings {
        servers::Settings {
            manager: s.manager,
            vendor: s.vendor,
            host: s.host,
            port: s.port,
            poll_format: s.poll,
            no_poll: s.no_poll,
            interval_secs: s.interval,
            follow: s.follow.iter().map(|p| p.display().to_string()).collect(),
            import_format: s.import_format,
            utc_offset: s.utc_offset,
            time_zone: s.time_zone,
            enabled: s.disabled.then_some(false),
            ..servers::Settings::default()
        }
    }
}

fn list(servers: &[Server], json: bool) -> anyhow::Result<()> {
    if json {
        #[derive(serde::Serialize)]
        struct Row<'a> {
            #[serde(flatten)]
            server: &'a Server,
            remote_status_now: tally_core::RemoteStatus,
            clock_warning: Option<String>,
        }
        let rows: Vec<Row> = servers
            .iter()
            .map(|server| Row {
                server,
                remote_status_now: server.remote_status_now(),
                clock_warning: ClockView::of(server).and_then(|c| c.warning),
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    let mut table = Table::new(&[
        ("NAME", Left),
        ("MANAGER", Left),
        ("ADDRESS", Left),
        ("REMOTE", Left),
        ("IMPORT", Left),
        ("CLOCK", Left),
        ("REASON", Left),
    ]);
    let mut warnings = Vec::new();
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
        let clock = ClockView::of(s);
        warnings.extend(clock.as_ref().and_then(|c| c.warning.clone()));
        table.row([
            c.name.clone(),
            c.manager.clone(),
            address,
            s.remote_status_now().as_str().to_string(),
            s.import_status.as_str().to_string(),
            clock.map_or_else(|| "-".into(), |c| c.brief()),
            reason.to_string(),
        ]);
    }
    print!("{}", table.render());
    for warning in warnings {
        eprintln!("warning: {warning}");
    }
    Ok(())
}

/// What `tally serve` runs with, each setting with where it comes from.
struct ServeSettings {
    listen: Setting<SocketAddr>,
    command_timeout: Setting<u64>,
    max_upload_mb: Setting<u64>,
    read_timeout: Setting<u64>,
    anonymous_read: Setting<bool>,
    admin_token_file: Setting<Option<PathBuf>>,
    tools: Tools,
    /// Each tool with where it was named.
    tool_sources: Vec<(String, Source)>,
}

fn serve_settings(args: &ServeArgs) -> anyhow::Result<ServeSettings> {
    let config = crate::cli::config();
    let file = &config.file;
    let listen = pick(
        args.listen,
        Some("TALLY_LISTEN"),
        file.listen.as_deref().map(str::parse).transpose()?,
        config,
        || SocketAddr::from(([127, 0, 0, 1], 8080)),
    );
    let command_timeout = pick(
        args.command_timeout,
        None,
        file.command_timeout_secs,
        config,
        || 30,
    );
    let max_upload_mb = pick(args.max_upload_mb, None, file.max_upload_mb, config, || {
        tally_app::spool::DEFAULT_MAX_UPLOAD >> 20
    });
    let read_timeout = pick(
        args.read_timeout,
        None,
        file.read_timeout_secs,
        config,
        || tally_server::budget::DEFAULT_READ_TIMEOUT.as_secs(),
    );
    let anonymous_read = pick(
        args.anonymous_read.then_some(true),
        Some("TALLY_ANONYMOUS_READ"),
        file.auth.anonymous_read,
        config,
        || false,
    );
    let admin_token_file = pick(
        args.admin.admin_token_file.clone().map(Some),
        Some("TALLY_ADMIN_TOKEN_FILE"),
        file.auth.admin_token_file.clone().map(Some),
        config,
        || None,
    );
    let mut tools = Tools::default();
    tools.timeout = Some(Duration::from_secs(command_timeout.value.max(1)));
    let mut tool_sources = Vec::new();
    for (name, program) in &file.tools {
        tools.add(&format!("{name}={program}"))?;
        tool_sources.push((name.clone(), config.source()));
    }
    for spec in &args.tools {
        tools.add(spec)?;
        let name = spec.split_once('=').map_or(spec.as_str(), |(n, _)| n);
        tool_sources.retain(|(n, _)| n != name);
        tool_sources.push((name.to_string(), Source::Flag));
    }
    Ok(ServeSettings {
        listen,
        command_timeout,
        max_upload_mb,
        read_timeout,
        anonymous_read,
        admin_token_file,
        tools,
        tool_sources,
    })
}

/// `tally config check` and `tally serve --check`: validates the configuration (the file, the
/// database URL, the tools) and prints every setting in force with where it comes from.
pub fn check(global: &Global, args: Option<&ServeArgs>) -> anyhow::Result<ExitCode> {
    let config = crate::cli::config();
    match &config.path {
        Some(path) => println!("configuration file: {} (valid)", path.display()),
        None => println!("configuration file: none (--config FILE or $TALLY_CONFIG)"),
    }
    let db = global.db_setting();
    let scheme = db.value.split_once("://").map(|(s, _)| s).unwrap_or("");
    if !matches!(
        scheme,
        "sqlite" | "postgres" | "postgresql" | "mysql" | "mariadb"
    ) {
        bail!(
            "database `{}` is not a sqlite://, postgres:// or mysql:// URL",
            tally_store::redact(&db.value)
        );
    }
    let show =
        |key: &str, value: String, source: &Source| println!("{key:<20} {value:<44} ({source})");
    show("database", tally_store::redact(&db.value), &db.source);
    let plugin_dir = global.plugin_dir_setting();
    show(
        "plugin_dir",
        plugin_dir.value.display().to_string(),
        &plugin_dir.source,
    );
    let data = match &config.file.data_dir {
        Some(_) => config.source(),
        None => Source::Default,
    };
    show("data_dir", data_dir().display().to_string(), &data);
    let default_args;
    let args = match args {
        Some(args) => args,
        None => {
            default_args = ServeArgs::default_for_check();
            &default_args
        }
    };
    let s = serve_settings(args)?;
    show("listen", s.listen.value.to_string(), &s.listen.source);
    show(
        "command_timeout_secs",
        s.command_timeout.value.to_string(),
        &s.command_timeout.source,
    );
    show(
        "max_upload_mb",
        s.max_upload_mb.value.to_string(),
        &s.max_upload_mb.source,
    );
    show(
        "read_timeout_secs",
        s.read_timeout.value.to_string(),
        &s.read_timeout.source,
    );
    show(
        "anonymous_read",
        s.anonymous_read.value.to_string(),
        &s.anonymous_read.source,
    );
    let token_file = s
        .admin_token_file
        .value
        .clone()
        .unwrap_or_else(|| data_dir().join("admin-token"));
    show(
        "admin_token_file",
        token_file.display().to_string(),
        &s.admin_token_file.source,
    );
    let log = config.file.log.format.unwrap_or_default();
    let log_source = match config.file.log.format {
        Some(_) => config.source(),
        None => Source::Default,
    };
    show("log.format", format!("{log:?}").to_lowercase(), &log_source);
    for (name, source) in &s.tool_sources {
        let argv = s.tools.command(std::slice::from_ref(name), "", None);
        show(&format!("tools.{name}"), argv.join(" "), source);
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn serve(global: &Global, args: ServeArgs) -> anyhow::Result<ExitCode> {
    if args.check {
        return check(global, Some(&args));
    }
    let settings = serve_settings(&args)?;
    let store = global.store().await?;
    let plugins = Arc::new(global.plugin_dir_handle()?);
    let registry = plugins.registry().clone();
    let mut app = App::new(store, registry, settings.tools, data_dir().join("spool"));
    app.follow_every = Duration::from_millis(args.follow_every.max(10));
    app.min_interval = Duration::from_millis(args.min_interval_ms.max(10));
    app.agents.online_secs = args.agent_online_secs.max(1);
    app.licence_keys = crate::licence::keys_from_env()?;
    app.spool.max_upload = settings.max_upload_mb.value.saturating_mul(1 << 20);
    // Uploads of a process that died: their jobs are failed, nothing will read them.
    match app.spool.clean_up() {
        Ok(0) => {}
        Ok(n) => tracing::info!("removed {n} uploads an earlier run left in the spool"),
        Err(e) => tracing::warn!("cannot clean the spool {}: {e}", app.spool.dir.display()),
    }
    // The start-up checks, before the first request reaches the write gate.
    let standing = app.assess_licence().await?;
    if let Some(violation) = standing.restriction() {
        tracing::warn!(
            "Tally starts in restricted access mode: {}",
            violation.explain()
        );
    }
    let admin_tokens =
        crate::plugins::admin_tokens(settings.admin_token_file.value.as_deref(), &plugins)?;
    app.plugins = Some(plugins);
    let api = tally_server::Api {
        admin_tokens,
        anonymous_read: settings.anonymous_read.value,
        read_budget: Arc::new(tally_server::budget::ReadBudget::new(Duration::from_secs(
            settings.read_timeout.value.max(1),
        ))),
        ..tally_server::Api::new(Arc::new(app))
    };
    eprintln!("tally: database {}", tally_store::redact(&global.db_url()));
    let listen = settings.listen.value;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let address = listener.local_addr()?;
    tracing::info!("listening on http://{address}");
    // Tests and scripts read the address from here (port 0 picks a free one).
    println!("tally: listening on http://{address}");
    tally_server::serve(Arc::new(api), listener, tally_server::shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}

impl ServeArgs {
    /// No flags: what `tally config check` reports for `tally serve`.
    fn default_for_check() -> ServeArgs {
        use clap::Parser;
        #[derive(Parser)]
        struct Only {
            #[command(flatten)]
            args: ServeArgs,
        }
        Only::parse_from(["tally"]).args
    }
}

pub async fn probe(
    global: &Global,
    format: Option<String>,
    json: bool,
    file: &Path,
) -> anyhow::Result<ExitCode> {
    let output = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let registry = global.plugins()?;
    let head = &output[..output.len().min(SNIFF_BYTES)];
    let (plugin, _) = choose_plugin(
        &registry,
        World::Poller,
        format.as_deref(),
        head,
        &file.display().to_string(),
    )?;
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
