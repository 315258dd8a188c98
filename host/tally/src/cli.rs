//! The command line.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use serde::Serialize;
use tally_store::{FactCounts, Store};

use crate::{output, plugins};
use tally_server::import::{self, FileSummary, ImportOptions};

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
pub struct Global {
    /// Database URL. Default: an SQLite file in the user's data directory.
    #[arg(long, env = "TALLY_DB", global = true, value_name = "URL")]
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
    /// Usage reports over the stored history: `tally report --help` lists them.
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
    /// Write a synthetic multi-year usage history (sessions, denials, rollups) into the
    /// database, for trying reports and benchmarking: `tally gen --help` says how big.
    Gen(crate::generator::GenArgs),
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
    #[arg(long, value_name = "±H[:MM]", value_parser = parse_utc_offset, allow_hyphen_values = true)]
    pub utc_offset: Option<i32>,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Import only the denials ("Denied Requests Log") onto an existing --server of the same
    /// license manager and vendor, e.g. a server Tally polls.
    #[arg(long, requires = "server")]
    pub denials_only: bool,
    /// Bytes per chunk handed to the importer.
    #[arg(long, hide = true, default_value_t = import::DEFAULT_CHUNK)]
    pub chunk_size: usize,
    /// Test hook: abort after N committed batches, as if killed.
    #[arg(long, hide = true)]
    pub abort_after_commits: Option<u64>,
    /// Log files to import.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

pub(crate) fn parse_utc_offset(text: &str) -> Result<i32, String> {
    let err = || format!("`{text}` is not a UTC offset like -5, +5:30 or 0");
    let (sign, rest) = match text.as_bytes().first() {
        Some(b'-') => (-1, &text[1..]),
        Some(b'+') => (1, &text[1..]),
        _ => (1, text),
    };
    let (hours, minutes) = rest.split_once(':').unwrap_or((rest, "0"));
    let hours: i32 = hours.parse().map_err(|_| err())?;
    let minutes: i32 = minutes.parse().map_err(|_| err())?;
    if !(0..=14).contains(&hours) || !(0..60).contains(&minutes) {
        return Err(err());
    }
    Ok(sign * (hours * 3600 + minutes * 60))
}

fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("org", "tally", "tally")
}

pub(crate) fn data_dir() -> PathBuf {
    project_dirs()
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".tally"))
}

impl Global {
    pub(crate) fn db_url(&self) -> String {
        self.db
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", data_dir().join("tally.db").display()))
    }

    pub(crate) fn plugin_dir(&self) -> PathBuf {
        self.plugin_dir
            .clone()
            .unwrap_or_else(|| data_dir().join("plugins"))
    }

    /// Compiled plugin code is cached here unless `--no-plugin-cache`.
    fn plugin_cache(&self) -> Option<PathBuf> {
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

    pub(crate) async fn store(&self) -> anyhow::Result<Store> {
        let url = self.db_url();
        Store::open(&url)
            .await
            .with_context(|| format!("cannot open the database {url}"))
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Server(command) => crate::servers::server(&cli.global, command).await,
        Command::Serve(args) => crate::servers::serve(&cli.global, args).await,
        Command::Probe { format, json, file } => {
            crate::servers::probe(&cli.global, format, json, &file).await
        }
        Command::Import(args) => import(&cli.global, args).await,
        Command::Report(args) => crate::report::run(&cli.global, args).await,
        Command::Diagnostics { run, malformed } => {
            let store = cli.global.store().await?;
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
        Command::Gen(args) => crate::generator::run(&cli.global, args)
            .await
            .map(|()| ExitCode::SUCCESS),
    }
}

/// The closing summary of `tally import`, also its `--json` output.
#[derive(Debug, Default, Serialize)]
struct ImportSummary {
    files: u64,
    failed: u64,
    lines: u64,
    #[serde(flatten)]
    added: FactCounts,
    /// First malformed lines, as `file:line`.
    malformed_lines: Vec<String>,
    results: Vec<FileSummary>,
    errors: Vec<FileError>,
}

#[derive(Debug, Serialize)]
struct FileError {
    path: String,
    error: String,
}

async fn import(global: &Global, args: ImportArgs) -> anyhow::Result<ExitCode> {
    let store = global.store().await?;
    let registry = global.plugins()?;
    let options = ImportOptions {
        server: args.server,
        format: args.format,
        utc_offset: args.utc_offset,
        chunk_size: args.chunk_size,
        abort_after_commits: args.abort_after_commits,
        denials_only: args.denials_only,
        ..ImportOptions::default()
    };
    // With --server the files are one log, in the order given: checkouts open at the end of a
    // file continue into the next when the same importer reads it (an SFLM session crossing
    // midnight is split across two day files; a rotated log is followed by its successor).
    let importers: Vec<Option<String>> = args
        .paths
        .iter()
        .map(|path| {
            options.server.as_ref()?;
            let plugin = import::importer_of(&registry, options.format.as_deref(), path).ok()?;
            Some(plugin.id().to_string())
        })
        .collect();
    let bar = output::Bar::new();
    let mut summary = ImportSummary::default();
    let mut carry = None;
    for (i, path) in args.paths.iter().enumerate() {
        summary.files += 1;
        let options = ImportOptions {
            continued: importers[i].is_some() && importers.get(i + 1) == Some(&importers[i]),
            carry: carry.take(),
            ..options.clone()
        };
        match import::import_file(&store, &registry, path, &options, &bar).await {
            Ok(file) => {
                // A file imported before ended its own checkouts then: nothing to carry.
                if options.continued && file.outcome != "unchanged" {
                    carry = Some(store.import_run(file.run).await?.checkpoint.state);
                }
                if !args.json {
                    output::print_file(&file);
                }
                summary.lines += file.lines;
                summary.added += file.added;
                let room = 5usize.saturating_sub(summary.malformed_lines.len());
                summary.malformed_lines.extend(
                    file.malformed_lines
                        .iter()
                        .take(room)
                        .map(|l| format!("{}:{l}", file.path)),
                );
                summary.results.push(file);
            }
            Err(error) => {
                summary.failed += 1;
                if !args.json {
                    eprintln!("error: {error:#}");
                }
                summary.errors.push(FileError {
                    path: path.display().to_string(),
                    error: format!("{error:#}"),
                });
            }
        }
    }
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        let a = &summary.added;
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

#[cfg(test)]
mod tests {
    use super::parse_utc_offset;

    #[test]
    fn utc_offsets() {
        assert_eq!(parse_utc_offset("0"), Ok(0));
        assert_eq!(parse_utc_offset("-5"), Ok(-18_000));
        assert_eq!(parse_utc_offset("+5:30"), Ok(19_800));
        assert!(parse_utc_offset("25").is_err());
        assert!(parse_utc_offset("abc").is_err());
    }
}
