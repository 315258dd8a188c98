//! The command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use tally_app::App;
use tally_app::access::Actor;
use tally_app::import::{self, ImportOptions};
use tally_core::time::UtcOffset;
use tally_store::Store;

use crate::config::{Config, Setting, pick};
use crate::{output, plugins};

/// Tally: who uses your floating licenses, when, how much, and how often they are refused.
#[derive(Debug, Parser)]
#[command(name = "tally", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
// Listed apart in every subcommand's help, after the subcommand's own options.
#[command(next_help_heading = "Global options")]
pub struct Global {
    /// Configuration file (`tally.toml`); its settings give way to flags and the environment.
    #[arg(long, env = "TALLY_CONFIG", global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Database URL. Default: an SQLite file in the data directory.
    #[arg(
        long,
        env = "TALLY_DB",
        hide_env_values = true,
        global = true,
        value_name = "URL"
    )]
    pub db: Option<String>,
    /// Directory of operator-installed plugins (one sub-directory per plugin).
    #[arg(long, env = "TALLY_PLUGIN_DIR", global = true, value_name = "DIR")]
    pub plugin_dir: Option<PathBuf>,
    /// Compile plugins afresh instead of reusing compiled code from the user's cache directory.
    #[arg(long, global = true)]
    pub no_plugin_cache: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import license-server log files (the format is detected unless --format is given).
    ///
    /// A file imported before is recognised by its first bytes: an interrupted import resumes
    /// where it stopped, a file that grew continues, an unchanged file adds nothing.
    Import(ImportArgs),
    /// The import runs so far, newest first: file, format, server, lines, facts and outcome.
    Imports(crate::imports::ImportsArgs),
    /// Show the lines an import could not read (the first 1000 per import are kept).
    Diagnostics {
        /// Import run id, as printed by `tally import`.
        run: i64,
        /// Only lines that were malformed (not merely unrecognised).
        #[arg(long)]
        malformed: bool,
    },
    /// Manage plugins: list, add, remove, reload, enable, disable (on the running server with
    /// --server-url, else in the plugin directory), and the audit log of those changes.
    Plugin(plugins::PluginArgs),
    /// Manage the license servers Tally monitors (polls) and whose logs it follows.
    #[command(subcommand)]
    Server(crate::servers::ServerCommand),
    /// Run Tally: poll every enabled license server at its query interval, follow the log files
    /// servers name, and serve the REST API (/api/v1). Stops on ctrl-c.
    Serve(crate::servers::ServeArgs),
    /// Licences issued per feature entered by hand (list, set, remove), for utilisation where
    /// a server's logs and polls do not state its capacity.
    #[command(subcommand)]
    Capacity(crate::capacity::CapacityCommand),
    /// Who holds licences now: per feature in use, issued, queued and available, and each open
    /// checkout (user, host, since when), as the latest polls saw them.
    Status(crate::status::StatusArgs),
    /// Usage reports over the stored history: `tally report --help` lists them.
    ///
    /// Averages: `usage`, `features` and `heatmap` give the plain time average, licences in use
    /// averaged over every logged hour of the period (nights and weekends included), so that
    /// average ÷ issued is the share of the licences' time that was used. `sflm` follows the SFLM
    /// summary files instead: its Average columns are busy-hours weighted, the mean over each
    /// week's 5 busiest days of each day's 8 busiest hours, the level of use in working time,
    /// higher than the plain average on the same data. Both are right; they answer different
    /// questions.
    Report(crate::report::ReportArgs),
    /// Parse one status-command output (e.g. saved `lmstat -a`) through its poller plugin and
    /// print what it shows: servers, features and checkouts.
    Probe {
        /// Poller format id, e.g. `flexlm-lmstat` (`tally plugin list` shows them); detected if absent.
        #[arg(long, value_name = "ID")]
        format: Option<String>,
        /// Print the snapshot as JSON.
        #[arg(long)]
        json: bool,
        /// The saved output.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// The configuration in force: `tally config check` validates it and says where each
    /// setting comes from (flag, environment, file, default).
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Tally's own licence: show it with usage against each limit, check, install or remove a
    /// licence file, and make keys and licences for self-issued ones.
    License(crate::licence::LicenseArgs),
    /// Make a consistent copy of the database while Tally runs (SQLite; PostgreSQL and MariaDB
    /// use their own tools).
    Backup(crate::backup::BackupArgs),
    /// Check a backup, and restore it into the database.
    Restore(crate::backup::RestoreArgs),
    /// Local accounts of the API and dashboard: add, edit, remove, list.
    #[command(subcommand)]
    User(crate::accounts::UserCommand),
    /// API tokens for scripts and agents: create (printed once), list, revoke.
    #[command(subcommand)]
    Token(crate::accounts::TokenCommand),
    /// End-user agents: list them, the applications they watch (watch, unwatch), License
    /// Harvesting per agent, and the harvests recorded.
    #[command(subcommand)]
    Agent(crate::agents::AgentCommand),
    /// Write a synthetic multi-year usage history (sessions, denials, rollups) into the
    /// database, for trying reports and benchmarking: `tally gen --help` says how big.
    Gen(crate::generator::GenArgs),
    /// Try Tally in one command: a dashboard with live simulated license servers (FlexNet, RLM,
    /// LM-X), an imported log and months of history, on a throw-away SQLite database; prints
    /// the URL and a login. `tally demo --help` says what it sets up.
    Demo(crate::demo::DemoArgs),
    /// The demo's stand-in for a license manager's status tool (lmutil, rlmutil, lmxendutil),
    /// answering from a `tally-sim` scenario.
    #[command(hide = true)]
    SimTool {
        #[arg(long, value_name = "FILE")]
        scenario: PathBuf,
        tool: String,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration and print each setting with where it comes from.
    Check,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// License server the data belongs to (created if new). Default: the file name without extension.
    #[arg(long, value_name = "NAME")]
    pub server: Option<String>,
    /// Log format id, e.g. `flexlm-debuglog` (`tally plugin list` shows them all).
    #[arg(long, value_name = "ID")]
    pub format: Option<String>,
    /// The license server's offset from UTC, e.g. `-5`, `+5:30`, `0`. Logs are written in its
    /// local time. Default: this machine's offset at the file's modification time.
    #[arg(long, value_name = "±H[:MM]", allow_hyphen_values = true)]
    pub utc_offset: Option<UtcOffset>,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Import only the denials ("Denied Requests Log") onto an existing --server of the same
    /// license manager and vendor, e.g. a server Tally polls.
    #[arg(long, requires = "server")]
    pub denials_only: bool,
    /// Read the files again from their start, replacing what earlier imports of them wrote
    /// (their sessions, denials and rollups, in one transaction): to correct a wrong
    /// --utc-offset or --format.
    #[arg(long)]
    pub replace: bool,
    /// Bytes per chunk handed to the importer.
    #[arg(long, hide = true, default_value_t = import::DEFAULT_CHUNK)]
    pub chunk_size: usize,
    /// Test hook: abort after N committed batches, as if killed.
    #[arg(long, hide = true)]
    pub abort_after_commits: Option<u64>,
    /// Log files to import; a directory imports the files it holds, in name order.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("org", "tally", "tally")
}

/// The configuration file in force, read once at start.
static CONFIG: std::sync::OnceLock<Config> = std::sync::OnceLock::new();

pub(crate) fn config() -> &'static Config {
    CONFIG.get_or_init(Config::default)
}

/// Reads the configuration file named by `--config` / `$TALLY_CONFIG`, once.
pub(crate) fn load_config(global: &Global) -> anyhow::Result<&'static Config> {
    let config = Config::load(global.config.as_deref())?;
    Ok(CONFIG.get_or_init(|| config))
}

/// Where Tally keeps its state: the configuration's `data_dir`, else the user's data directory.
pub(crate) fn data_dir() -> PathBuf {
    config().file.data_dir.clone().unwrap_or_else(|| {
        project_dirs()
            .map(|d| d.data_dir().to_path_buf())
            .unwrap_or_else(|| PathBuf::from(".tally"))
    })
}

impl Global {
    pub(crate) fn db_setting(&self) -> Setting<String> {
        pick(
            self.db.clone(),
            Some("TALLY_DB"),
            config().file.database.clone(),
            config(),
            || format!("sqlite://{}", data_dir().join("tally.db").display()),
        )
    }

    pub(crate) fn db_url(&self) -> String {
        self.db_setting().value
    }

    pub(crate) fn plugin_dir_setting(&self) -> Setting<PathBuf> {
        pick(
            self.plugin_dir.clone(),
            Some("TALLY_PLUGIN_DIR"),
            config().file.plugin_dir.clone(),
            config(),
            || data_dir().join("plugins"),
        )
    }

    pub(crate) fn plugin_dir(&self) -> PathBuf {
        self.plugin_dir_setting().value
    }

    /// Compiled plugin code is cached here unless `--no-plugin-cache`.
    pub(crate) fn plugin_cache(&self) -> Option<PathBuf> {
        let cache = project_dirs().map(|d| d.cache_dir().to_path_buf());
        (!self.no_plugin_cache).then(|| {
            cache
                .unwrap_or_else(|| PathBuf::from(".tally-cache"))
                .join("wasm")
        })
    }

    /// The plugins in use (registry of the plugin directory and the built-ins).
    pub(crate) fn plugins(&self) -> anyhow::Result<std::sync::Arc<tally_plugin_host::Registry>> {
        Ok(self.plugin_dir_handle()?.registry().clone())
    }

    /// The plugin directory, loaded, for changes to it.
    pub(crate) fn plugin_dir_handle(&self) -> anyhow::Result<tally_plugin_host::PluginDir> {
        plugins::open(&self.plugin_dir(), self.plugin_cache().as_deref())
    }

    /// The verbs' shared state for a one-shot command: the store, the plugins in use, and the
    /// licence in force assessed (the issuers' keys trusted from `TALLY_LICENSE_KEYS`), so its
    /// writes pass the same gate as the API's.
    pub(crate) async fn app(&self) -> anyhow::Result<App> {
        self.app_trusting(crate::licence::keys_from_env()?).await
    }

    /// As [`Global::app`], trusting `keys` to sign licences.
    pub(crate) async fn app_trusting(
        &self,
        keys: Vec<tally_core::licence::PublicKey>,
    ) -> anyhow::Result<App> {
        let store = self.store().await?;
        let registry = self.plugins()?;
        let mut app = App::new(
            store,
            registry,
            tally_app::poll::Tools::default(),
            data_dir().join("spool"),
        );
        app.licence_keys = keys;
        app.assess_licence().await?;
        Ok(app)
    }

    pub(crate) async fn store(&self) -> anyhow::Result<Store> {
        // The store's error names the database already (password hidden).
        Ok(Store::open(&self.db_url()).await?)
    }

    /// As [`Global::store`] for the commands that only read: an SQLite file that does not
    /// exist is refused rather than created empty, so a mistyped `--db` or a first report
    /// before any import says so instead of answering "no rows".
    pub(crate) async fn store_to_read(&self) -> anyhow::Result<Store> {
        let url = self.db_url();
        if let Ok(path) = tally_store::sqlite_path(&url) {
            // sqlx names an in-memory database `file:sqlx-in-memory-N`: nothing to look for.
            let name = path.to_string_lossy();
            let in_memory =
                name.is_empty() || name.contains(":memory:") || name.starts_with("file:");
            if !in_memory && !path.exists() {
                anyhow::bail!(
                    "no database at {}: nothing was imported or added there yet (`tally import` \
                     or `tally server add` creates it; --db or TALLY_DB names another)",
                    path.display()
                );
            }
        }
        self.store().await
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Config(ConfigCommand::Check) => crate::servers::check(&cli.global, None),
        Command::Server(command) => crate::servers::server(&cli.global, command).await,
        Command::Serve(args) => crate::servers::serve(&cli.global, args).await,
        Command::Probe { format, json, file } => {
            crate::servers::probe(&cli.global, format, json, &file).await
        }
        Command::Import(args) => import(&cli.global, args).await,
        Command::Report(args) => crate::report::run(&cli.global, args).await,
        Command::Status(args) => crate::status::run(&cli.global, args).await,
        Command::Capacity(command) => crate::capacity::run(&cli.global, command).await,
        Command::Imports(args) => crate::imports::run(&cli.global, args).await,
        Command::Diagnostics { run, malformed } => {
            let store = cli.global.store_to_read().await?;
            let kind = malformed.then_some(tally_core::DiagnosticKind::Malformed);
            let import = store.import_run(run).await?;
            for d in store
                .diagnostics(run, kind, tally_store::DIAGNOSTICS_KEPT)
                .await?
            {
                println!("{}:{}: {}: {}", import.path, d.line, d.kind, d.text);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Plugin(args) => plugins::run(&cli.global, args).await,
        Command::License(args) => {
            let app = match args.needs_store() {
                true => Some(
                    cli.global
                        .app_trusting(crate::licence::trusted_keys(&args.trust)?)
                        .await?,
                ),
                false => None,
            };
            crate::licence::run(app.as_ref(), args).await
        }
        Command::Backup(args) => crate::backup::backup(&cli.global.db_url(), &args).await,
        Command::Restore(args) => crate::backup::restore(&cli.global.db_url(), &args).await,
        Command::User(command) => crate::accounts::user(&cli.global, command).await,
        Command::Token(command) => crate::accounts::token(&cli.global, command).await,
        Command::Agent(command) => crate::agents::agent(&cli.global, command).await,
        Command::Gen(args) => crate::generator::run(&cli.global, args)
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::Demo(args) => crate::demo::run(&cli.global, args).await,
        Command::SimTool {
            scenario,
            tool,
            args,
        } => crate::demo::sim_tool(&scenario, &tool, &args),
    }
}

async fn import(global: &Global, args: ImportArgs) -> anyhow::Result<ExitCode> {
    let app = global.app().await?;
    let options = ImportOptions {
        server: args.server,
        format: args.format,
        utc_offset: args.utc_offset.map(UtcOffset::seconds),
        chunk_size: args.chunk_size,
        abort_after_commits: args.abort_after_commits,
        denials_only: args.denials_only,
        replace: args.replace,
        ..ImportOptions::default()
    };
    let bar = output::Bar::new(!args.json);
    let summary =
        import::import_files(&app, &Actor::operator(), &args.paths, &options, &bar).await?;
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        let a = &summary.added;
        let mut servers: Vec<&str> = summary.results.iter().map(|f| f.server.as_str()).collect();
        servers.sort();
        servers.dedup();
        if !servers.is_empty() {
            println!(
                "into {} of {}: `tally report usage --server {}` reads it back",
                match servers.len() {
                    1 => format!("license server `{}`", servers[0]),
                    n => format!("{n} license servers ({})", servers.join(", ")),
                },
                tally_store::redact(&global.db_url()),
                servers[0]
            );
        }
        println!(
            "total: {} files ({} failed), {} lines, {} sessions, {} denials, {} server events, {} queued, {} malformed",
            summary.files,
            summary.failed,
            summary.lines,
            a.sessions,
            a.denials,
            a.server_events,
            a.queued,
            a.malformed
        );
    }
    Ok(if summary.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
