//! Importing log files: pick the importer, recognise a file seen before, stream it through the
//! plugin in whole-line chunks, and commit each batch with its checkpoint. The CLI, the API and
//! followed files all call [`import_files`], [`import_file`] or [`import_open`]; nothing here
//! prints.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tally_core::zone::Zone;
use tally_core::{Batch, DiagnosticKind, ImportStatus};
use tally_plugin_host::{ImportConfig, ImportRun, LoadedPlugin, Registry, SNIFF_BYTES, World};
use tally_store::{
    Checkpoint, FactCounts, FileClaim, FileIdentity, NewImport, RunId, RunStatus, ServerId, Store,
};
use tokio::sync::oneshot;

/// Chunks handed to the importer: ≤ 1 MiB, cut after a newline (DESIGN §2).
pub const DEFAULT_CHUNK: usize = 1 << 20;
/// Consecutive chunks whose batches are committed as one, with the checkpoint after the last:
/// a transaction's fixed costs (the commit's log writes, rollup pages written again, the
/// heatmap cells of the year, the months' totals) paid once per four chunks. Measured on the
/// 20x FlexNet log: the import's CPU 15 % lower than a commit per chunk; memory grows with the
/// parsed batches held, a few hundred KB per chunk.
pub const CHUNKS_PER_COMMIT: usize = 4;
/// Malformed line numbers reported per file.
const MALFORMED_SHOWN: usize = 5;

#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// License server the facts belong to; defaults to the file's stem.
    pub server: Option<String>,
    /// Format id; detected through the plugins' `sniff` when absent.
    pub format: Option<String>,
    /// Offset of the license server's local time from UTC, seconds; the file's local offset if absent.
    pub utc_offset: Option<i32>,
    pub chunk_size: usize,
    /// Test hook: abort the process after this many committed batches, as a kill would.
    pub abort_after_commits: Option<u64>,
    /// Keep only the denials, onto an existing server of the same manager and vendor ("Denied
    /// Requests Log", seed 000).
    pub denials_only: bool,
    /// The file is being followed: an unterminated last line is still being written, so it is
    /// left for later, and the import stays open (no `finish`) to continue when the file grows.
    pub follow: bool,
    /// Importer state to start a new file from: the log rotated, and checkouts open in the old
    /// file are checked in in the new one.
    pub carry: Option<Vec<u8>>,
    /// The next file continues this log (SFLM day files, a rotated log given with its
    /// successor): checkouts still open at the end stay in the importer's state, handed to the
    /// next file as `carry`, instead of ending with this file.
    pub continued: bool,
    /// Read the file again from its start, replacing what earlier imports of it wrote (their
    /// facts and rollups go in the transaction that starts the new run): a correction of the
    /// offset or the format.
    pub replace: bool,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            server: None,
            format: None,
            utc_offset: None,
            chunk_size: DEFAULT_CHUNK,
            abort_after_commits: None,
            denials_only: false,
            follow: false,
            carry: None,
            continued: false,
            replace: false,
        }
    }
}

/// What happened to one file.
#[derive(Debug, Clone, Serialize)]
pub struct FileSummary {
    pub path: String,
    pub server: String,
    pub format: String,
    pub plugin: String,
    pub run: i64,
    /// `imported`, `resumed`, `continued` (the file grew), or `unchanged`.
    pub outcome: &'static str,
    pub utc_offset: i32,
    /// Lines read by this invocation.
    pub lines: u64,
    pub bytes: u64,
    #[serde(flatten)]
    pub added: FactCounts,
    /// First malformed line numbers (1-based).
    pub malformed_lines: Vec<u64>,
    /// The latest time stamp among the facts read: about when the newest line was written
    /// (a followed log's clock, `clock.rs`).
    #[serde(skip)]
    pub latest: Option<i64>,
}

/// Progress callbacks: bytes of the current file consumed, and each file's end.
pub trait Progress: Sync {
    fn start(&self, _path: &Path, _total: u64) {}
    fn advance(&self, _bytes: u64) {}
    fn done(&self) {}
    /// A file of [`import_files`] ended, imported or not.
    fn file_ended(&self, _path: &Path, _result: Result<&FileSummary, &anyhow::Error>) {}
}

impl Progress for () {}

/// What [`import_files`] did: totals over the files and each file's outcome.
#[derive(Debug, Default, Serialize)]
pub struct ImportSummary {
    pub files: u64,
    pub failed: u64,
    pub lines: u64,
    #[serde(flatten)]
    pub added: FactCounts,
    /// First malformed lines, as `file:line`.
    pub malformed_lines: Vec<String>,
    pub results: Vec<FileSummary>,
    pub errors: Vec<FileError>,
}

/// A file that could not be imported, and why.
#[derive(Debug, Serialize)]
pub struct FileError {
    pub path: String,
    pub error: String,
}

/// The files to import: each path given, and in place of a directory the files it holds, in
/// name order (rotated logs sort in time order that way: `lmgrd.log.2024-03-01`, …). Hidden
/// files are left out.
fn files_of(paths: &[std::path::PathBuf]) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if !path.is_dir() {
            files.push(path.clone());
            continue;
        }
        let mut held: Vec<std::path::PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("cannot read the directory {}", path.display()))?
            .filter_map(|e| e.ok())
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .filter(|e| e.file_type().is_ok_and(|t| !t.is_dir()))
            .map(|e| e.path())
            .collect();
        if held.is_empty() {
            bail!("the directory {} holds no file to import", path.display());
        }
        held.sort();
        files.extend(held);
    }
    Ok(files)
}

/// Imports `paths` in the order given (a directory: the files it holds, by name). With a
/// server named in `options`, the files are one log:
/// checkouts open at the end of one file continue into the next when the same importer reads it
/// (an SFLM session crossing midnight is split across two day files; a rotated log is followed
/// by its successor). A file that fails is reported and the others go on.
pub async fn import_files(
    app: &crate::App,
    by: &crate::access::Actor,
    paths: &[std::path::PathBuf],
    options: &ImportOptions,
    progress: &dyn Progress,
) -> anyhow::Result<ImportSummary> {
    app.may_write(by, "importing logs")?;
    let paths = &files_of(paths)?;
    let (store, registry) = (&app.store, &app.registry);
    let importers: Vec<Option<String>> = paths
        .iter()
        .map(|path| {
            options.server.as_ref()?;
            let plugin = importer_of(registry, options.format.as_deref(), path).ok()?;
            Some(plugin.id().to_string())
        })
        .collect();
    let mut summary = ImportSummary::default();
    let mut carry = None;
    // Whether imported data has not been counted against the licence yet.
    let mut uncounted = false;
    for (i, path) in paths.iter().enumerate() {
        summary.files += 1;
        // A file that needs a new license server is admitted against what the files before it
        // added (counting reads every user row: only then, not after every file).
        let server = options
            .server
            .clone()
            .unwrap_or_else(|| default_server_name(path));
        if uncounted && store.server(&server).await?.is_none() {
            app.assess_licence().await?;
            uncounted = false;
        }
        let options = ImportOptions {
            continued: importers[i].is_some() && importers.get(i + 1) == Some(&importers[i]),
            carry: carry.take(),
            ..options.clone()
        };
        match import_file(app, path, &options, progress).await {
            Ok(file) => {
                progress.file_ended(path, Ok(&file));
                uncounted |= file.lines > 0;
                // A file imported before ended its own checkouts then: nothing to carry.
                if options.continued && file.outcome != "unchanged" {
                    carry = Some(store.import_run(file.run).await?.checkpoint.state);
                }
                summary.lines += file.lines;
                summary.added += file.added;
                let room = MALFORMED_SHOWN.saturating_sub(summary.malformed_lines.len());
                summary.malformed_lines.extend(
                    file.malformed_lines
                        .iter()
                        .take(room)
                        .map(|l| format!("{}:{l}", file.path)),
                );
                summary.results.push(file);
            }
            Err(error) => {
                progress.file_ended(path, Err(&error));
                summary.failed += 1;
                summary.errors.push(FileError {
                    path: path.display().to_string(),
                    error: format!("{error:#}"),
                });
            }
        }
    }
    // What was imported counts against the licence: the gate judges it from now on.
    if uncounted {
        app.assess_licence().await?;
    }
    Ok(summary)
}

/// The plugin of `world` for `format`, or the one whose `sniff` claims `head`, with the format
/// it reads the input as (the one given, or the one `sniff` named). `what` names the input in
/// the error ("the log x.log").
pub fn choose_plugin(
    registry: &Registry,
    world: World,
    format: Option<&str>,
    head: &[u8],
    what: &str,
) -> anyhow::Result<(Arc<LoadedPlugin>, String)> {
    let known = registry.formats(world).join(", ");
    match format {
        Some(format) => registry
            .for_format(world, format)
            .map(|plugin| (plugin, format.to_string()))
            .with_context(|| {
                format!(
                    "no {} reads format `{format}`; known formats: {known}",
                    world.as_str()
                )
            }),
        None => match registry.detect(world, head) {
            Some((plugin, sniffed)) => Ok((plugin, sniffed.format)),
            None => bail!(
                "cannot tell the format of {what}: no {} recognises it. Known formats: {known}. Give the format to choose one (`--format ID` on the command line, `format=ID` in the API).",
                world.as_str()
            ),
        },
    }
}

/// The importer that would read the file at `path` (as [`import_file`] chooses it).
pub fn importer_of(
    registry: &Registry,
    format: Option<&str>,
    path: &Path,
) -> anyhow::Result<Arc<LoadedPlugin>> {
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    open_log(path)?
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut head)
        .with_context(|| format!("cannot read {}", path.display()))?;
    choose_plugin(
        registry,
        World::Importer,
        format,
        &head,
        &path.display().to_string(),
    )
    .map(|(plugin, _)| plugin)
}

/// Opens the log at `path`, which must be a regular file: opening a FIFO blocks until a writer
/// comes, and reading a device never ends, so either would hang the importer (or, followed,
/// a worker of `tally serve`) for ever.
pub fn open_log(path: &Path) -> anyhow::Result<File> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if !meta.is_file() {
        bail!(
            "{} is not a regular file: only files can be imported (not a pipe, device or directory)",
            path.display()
        );
    }
    File::open(path).with_context(|| format!("cannot open {}", path.display()))
}

/// Imports the file at `path` (see [`import_open`]).
pub async fn import_file(
    app: &crate::App,
    path: &Path,
    options: &ImportOptions,
    progress: &dyn Progress,
) -> anyhow::Result<FileSummary> {
    let file = open_log(path)?;
    import_open(app, file, path, options, progress).await
}

/// Imports an open file (`path` names it in the database and in messages): a follower holds the
/// handle of a log that may be renamed away while it still reads it. Tally's licence is asked
/// first: in restricted access mode, or when the import needs a license server past the limit,
/// it is refused and nothing is created.
pub async fn import_open(
    app: &crate::App,
    file: File,
    path: &Path,
    options: &ImportOptions,
    progress: &dyn Progress,
) -> anyhow::Result<FileSummary> {
    let started = std::time::Instant::now();
    let result = import_read(app, file, path, options, progress).await;
    let lines = result.as_ref().ok().map(|s| s.lines);
    crate::metrics::METRICS.import(lines, started.elapsed());
    result
}

async fn import_read(
    app: &crate::App,
    mut file: File,
    path: &Path,
    options: &ImportOptions,
    progress: &dyn Progress,
) -> anyhow::Result<FileSummary> {
    let (store, registry) = (&app.store, &*app.registry);
    file.seek(SeekFrom::Start(0))?;
    let meta = file
        .metadata()
        .with_context(|| format!("cannot read {}", path.display()))?;
    if !meta.is_file() {
        bail!("{} is not a regular file", path.display());
    }
    let len = meta.len();
    let mut head = vec![0; SNIFF_BYTES.min(len as usize)];
    file.read_exact(&mut head)
        .with_context(|| format!("cannot read {}", path.display()))?;

    let (plugin, format) = choose_plugin(
        registry,
        World::Importer,
        options.format.as_deref(),
        &head,
        &path.display().to_string(),
    )?;
    let server_name = match &options.server {
        Some(s) => s.clone(),
        None => default_server_name(path),
    };
    let manager = plugin.manifest.manager().to_string();
    app.admit_import(&server_name, options.denials_only).await?;
    let server = if options.denials_only {
        denials_target(store, &server_name, &manager).await?
    } else {
        store.ensure_server(&server_name, &manager).await?
    };
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64);
    let utc_offset = options.utc_offset.unwrap_or_else(|| local_offset(modified));
    // An offset given for this import wins over the server's time zone.
    let zone = match options.utc_offset {
        Some(_) => None,
        None => store.time_zone(server).await?,
    };

    // One importer per file and server at a time, across processes and nodes: a second one
    // would take the first's unfinished run for a resumable one and write its facts twice.
    let head_hash = hex::encode(Sha256::digest(&head));
    let claim = store
        .claim_file(server, &head_hash, &path.display().to_string())
        .await?;

    // A file seen before: same head bytes. Resume from its checkpoint if the file still holds
    // what was read up to there.
    let mut outcome = "imported";
    let mut resume: Option<(i64, Checkpoint)> = None;
    let runs = store.import_runs(server).await?;
    let replaced: Vec<RunId> = match options.replace {
        true => runs
            .iter()
            .filter(|r| same_head(r, &head))
            .map(|r| r.id)
            .collect(),
        false => vec![],
    };
    for run in runs.into_iter().filter(|_| !options.replace) {
        if !same_file(&run, &head, &format) {
            continue;
        }
        if run.checkpoint.offset > len && head.len() == SNIFF_BYTES {
            // The whole head is the same, so it is this file, cut shorter: reading it as a new
            // one would write again every line imported from it.
            bail!(
                "{} is shorter ({len} bytes) than when it was imported ({} bytes read): it was truncated. Its lines are in the database already; to read it again from scratch, remove the server's data first.",
                path.display(),
                run.checkpoint.offset
            );
        }
        if !checkpoint_holds(&mut file, len, &run.checkpoint)? {
            continue; // rewritten: a new file for our purposes
        }
        if run.status == RunStatus::Complete {
            if run.checkpoint.offset == len {
                claim.release().await?;
                return Ok(FileSummary {
                    path: path.display().to_string(),
                    server: server_name,
                    format,
                    plugin: plugin.id().into(),
                    run: run.id,
                    outcome: "unchanged",
                    utc_offset,
                    lines: 0,
                    bytes: 0,
                    added: FactCounts::default(),
                    malformed_lines: vec![],
                    latest: None,
                });
            }
            store.reopen_import(run.id).await?;
            outcome = "continued";
        } else {
            outcome = "resumed";
        }
        resume = Some((run.id, run.checkpoint));
        break;
    }

    let (run_id, start) = match resume {
        Some((id, checkpoint)) => (id, checkpoint),
        None => {
            let identity = FileIdentity {
                head_len: head.len() as i64,
                head_hash,
            };
            let new = NewImport {
                server_id: server,
                format: format.clone(),
                plugin: plugin.id().into(),
                plugin_version: plugin.manifest.version.to_string(),
                path: path.display().to_string(),
                identity,
            };
            let run = if replaced.is_empty() {
                store.start_import(new).await?
            } else {
                outcome = "replaced";
                store.start_import_replacing(new, replaced).await?
            };
            (run, Checkpoint::default())
        }
    };

    let mut summary = FileSummary {
        path: path.display().to_string(),
        server: server_name,
        format,
        plugin: plugin.id().into(),
        run: run_id,
        outcome,
        utc_offset,
        lines: 0,
        bytes: 0,
        added: FactCounts::default(),
        malformed_lines: vec![],
        latest: None,
    };
    let config = ImportConfig {
        utc_offset,
        modified,
        resume: if start.offset > 0 {
            Some(start.state.clone())
        } else {
            options.carry.clone()
        },
        consumed_lines: start.lines,
        consumed_bytes: start.offset,
    };
    progress.start(path, len);
    progress.advance(start.offset);
    let start_offset = start.offset;
    let target = Target {
        server,
        run: run_id,
        zone,
        claim,
        vendor: if options.denials_only {
            store.server_by_id(server).await?.config.vendor
        } else {
            None
        },
    };
    let result = stream(
        store,
        plugin,
        &mut file,
        &target,
        start,
        config,
        options,
        progress,
        &mut summary,
    )
    .await;
    progress.done();
    target.claim.release().await?;
    let read = start_offset + summary.bytes;
    let result = result.and_then(|()| {
        if !options.follow && read < len {
            bail!("the file was truncated while it was read ({read} of its {len} bytes)")
        }
        // A followed file's few new lines judge no format.
        match options.follow {
            true => Ok(()),
            false => check_forced_format(options.format.as_deref(), &summary),
        }
    });
    match result {
        Ok(()) => {
            if !options.follow {
                store
                    .finish_import(run_id, RunStatus::Complete, None)
                    .await?;
            }
            store
                .set_import_status(server, ImportStatus::Success, None)
                .await?;
            Ok(summary)
        }
        Err(error) => {
            let message = format!("{error:#}");
            store
                .finish_import(run_id, RunStatus::Failed, Some(message.clone()))
                .await?;
            store
                .set_import_status(server, ImportStatus::Failure, Some(message))
                .await?;
            Err(error.context(format!(
                "importing {} stopped after {} lines",
                path.display(),
                summary.lines
            )))
        }
    }
}

/// A format the user chose that most lines do not follow was the wrong one: the import ends
/// failed, not "imported" with most of the file counted malformed.
fn check_forced_format(forced: Option<&str>, summary: &FileSummary) -> anyhow::Result<()> {
    let (lines, malformed) = (summary.lines, summary.added.malformed);
    match forced {
        Some(format) if malformed * 2 > lines => bail!(
            "{malformed} of its {lines} lines are not {format} lines: it is another format. Import it again as the right one, replacing this import."
        ),
        _ => Ok(()),
    }
}

/// Whether `run` read the file whose first bytes are `head`, as `format`. An empty head names
/// no file (every file starts with it), and a file read as another format is read anew.
fn same_file(run: &tally_store::ImportRun, head: &[u8], format: &str) -> bool {
    run.format == format && same_head(run, head)
}

/// Whether `run` read a file starting with `head`, whatever it read it as.
fn same_head(run: &tally_store::ImportRun, head: &[u8]) -> bool {
    let head_len = run.identity.head_len as usize;
    head_len > 0
        && head_len <= head.len()
        && hex::encode(Sha256::digest(&head[..head_len])) == run.identity.head_hash
}

/// Where a file's facts go.
struct Target {
    server: ServerId,
    run: i64,
    /// The server's time zone, when its logs are read in it.
    zone: Option<Zone>,
    /// This process's claim on the file, checked before every commit.
    claim: FileClaim,
    /// Denials-only: the vendor daemon the server monitors, when it names one.
    vendor: Option<String>,
}

/// The server a denials-only import goes to: it must exist and run the log's license manager.
async fn denials_target(store: &Store, name: &str, manager: &str) -> anyhow::Result<ServerId> {
    let Some(server) = store.server(name).await? else {
        bail!(
            "a denials-only import goes onto an existing license server, and none is called `{name}` (`tally server list` shows them)"
        );
    };
    if server.config.manager != manager {
        bail!(
            "refused: `{name}` is a {} license server, and this is a {manager} log; a denials-only import must come from the server's own license manager",
            server.config.manager
        );
    }
    Ok(server.id)
}

/// Denials-only: keeps the batch's denials (and its diagnostics) after checking they come from
/// the server's vendor daemon.
fn denials_of(mut batch: Batch, vendor: Option<&str>) -> anyhow::Result<Batch> {
    if let Some(expected) = vendor
        && let Some(d) = batch
            .denials
            .iter()
            .find(|d| batch.str(d.vendor) != expected)
    {
        bail!(
            "refused: the log's denials come from vendor daemon `{}`, and the server monitors `{expected}`",
            batch.str(d.vendor)
        );
    }
    batch.sessions.clear();
    batch.queued.clear();
    batch.server_events.clear();
    Ok(batch)
}

/// Feeds the file from the checkpoint on and commits every batch with the checkpoint after it.
#[allow(clippy::too_many_arguments)]
async fn stream(
    store: &Store,
    plugin: Arc<LoadedPlugin>,
    file: &mut File,
    target: &Target,
    start: Checkpoint,
    config: ImportConfig,
    options: &ImportOptions,
    progress: &dyn Progress,
    summary: &mut FileSummary,
) -> anyhow::Result<()> {
    let mut importer = tokio::task::block_in_place(|| match target.zone {
        Some(zone) => ImportRun::begin_in_zone(plugin, &config, zone),
        None => ImportRun::begin(plugin, &config),
    })?;
    file.seek(SeekFrom::Start(start.offset))?;
    let mut checkpoint = start;
    let lines_before = checkpoint.lines;
    let mut pending: Pending = Default::default();
    let mut commits = 0u64;
    let mut group: Option<Held> = None;
    let mut buf = vec![0u8; options.chunk_size.max(1024)];
    let mut filled = 0usize;
    let mut eof = false;

    loop {
        // Fill the buffer, then cut after its last newline (or take everything at EOF). The
        // reads may block (a network file system): off the async workers.
        tokio::task::block_in_place(|| -> std::io::Result<()> {
            while !eof && filled < buf.len() {
                let n = file.read(&mut buf[filled..])?;
                if n == 0 {
                    eof = true;
                }
                filled += n;
            }
            Ok(())
        })?;
        let cut = match memchr::memrchr(b'\n', &buf[..filled]) {
            Some(i) if !eof || i + 1 == filled || options.follow => i + 1,
            // A followed file's last line is still being written: it waits for its newline.
            None if eof && options.follow => 0,
            _ if eof => filled,
            // One line longer than the chunk: grow the buffer and read on.
            _ => {
                buf.resize(buf.len() * 2, 0);
                continue;
            }
        };
        if cut == 0 {
            break;
        }
        let chunk = &buf[..cut];
        let mut batch = tokio::task::block_in_place(|| importer.feed(chunk))?;
        if options.denials_only {
            batch = denials_of(batch, target.vendor.as_deref())?;
        }
        let state = tokio::task::block_in_place(|| importer.checkpoint())?;
        collect_malformed(&batch, &mut summary.malformed_lines);
        summary.latest = summary.latest.max(batch.latest_time());
        checkpoint = Checkpoint {
            offset: checkpoint.offset + cut as u64,
            last_line_hash: last_line_hash(chunk),
            state,
            lines: batch.lines,
        };
        summary.lines = batch.lines - lines_before;
        summary.bytes += cut as u64;
        target.claim.check(&summary.path)?;
        let chunks = hold(&mut group, batch, &checkpoint, store, target, &mut pending).await?;
        if chunks >= CHUNKS_PER_COMMIT {
            send_held(&mut group, store, target, &mut pending).await?;
        }
        if pending.len() >= 2 {
            await_commit(&mut pending, summary, &mut commits, options).await?;
        }
        progress.advance(cut as u64);
        buf.copy_within(cut..filled, 0);
        filled -= cut;
    }

    if !options.follow && !options.continued {
        let mut batch = tokio::task::block_in_place(|| importer.finish())?;
        if options.denials_only {
            batch = denials_of(batch, target.vendor.as_deref())?;
        }
        collect_malformed(&batch, &mut summary.malformed_lines);
        summary.latest = summary.latest.max(batch.latest_time());
        // The checkpoint stays the one before `finish`: a file that grows later continues from it.
        hold(&mut group, batch, &checkpoint, store, target, &mut pending).await?;
    }
    send_held(&mut group, store, target, &mut pending).await?;
    while !pending.is_empty() {
        await_commit(&mut pending, summary, &mut commits, options).await?;
    }
    Ok(())
}

/// The batches of up to CHUNKS_PER_COMMIT chunks read since the last commit, as one, with the
/// checkpoint after them.
struct Held {
    batch: Batch,
    at: Checkpoint,
    chunks: usize,
}

/// Joins `batch`, with the checkpoint `at` after it, to the chunks held; when the two cannot be
/// joined, what was held is queued for commit first. Returns how many chunks are held.
async fn hold(
    group: &mut Option<Held>,
    batch: Batch,
    at: &Checkpoint,
    store: &Store,
    target: &Target,
    pending: &mut Pending,
) -> anyhow::Result<usize> {
    let (batch, chunks) = match group.take() {
        None => (batch, 1),
        Some(mut held) => match held.batch.append(batch) {
            Ok(()) => (held.batch, held.chunks + 1),
            Err(batch) => {
                send(store, target, held.batch, held.at, pending).await?;
                (batch, 1)
            }
        },
    };
    *group = Some(Held {
        batch,
        at: at.clone(),
        chunks,
    });
    Ok(chunks)
}

/// Queues the chunks held, if any, for commit.
async fn send_held(
    group: &mut Option<Held>,
    store: &Store,
    target: &Target,
    pending: &mut Pending,
) -> anyhow::Result<()> {
    match group.take() {
        Some(held) => send(store, target, held.batch, held.at, pending).await,
        None => Ok(()),
    }
}

/// Queues `batch` for commit with the checkpoint after it.
async fn send(
    store: &Store,
    target: &Target,
    batch: Batch,
    at: Checkpoint,
    pending: &mut Pending,
) -> anyhow::Result<()> {
    pending.push_back(
        store
            .commit_batch(target.run, target.server, batch, at)
            .await?,
    );
    Ok(())
}

/// Commits queued on the writer, oldest first.
type Pending =
    std::collections::VecDeque<oneshot::Receiver<Result<FactCounts, tally_store::StoreError>>>;

async fn await_commit(
    pending: &mut Pending,
    summary: &mut FileSummary,
    commits: &mut u64,
    options: &ImportOptions,
) -> anyhow::Result<()> {
    if let Some(receiver) = pending.pop_front() {
        let counts = receiver
            .await
            .map_err(|_| tally_store::StoreError::WriterGone)??;
        summary.added += counts;
        *commits += 1;
        if options.abort_after_commits == Some(*commits) {
            // Simulates a kill: no cleanup, no finish.
            std::process::abort();
        }
    }
    Ok(())
}

fn collect_malformed(batch: &tally_core::Batch, lines: &mut Vec<u64>) {
    let room = MALFORMED_SHOWN.saturating_sub(lines.len());
    lines.extend(
        batch
            .diagnostics
            .iter()
            .filter(|d| d.kind == DiagnosticKind::Malformed)
            .map(|d| d.line)
            .take(room),
    );
}

/// sha256 of the last line of a chunk (without its newline).
fn last_line_hash(chunk: &[u8]) -> String {
    let body = chunk.strip_suffix(b"\n").unwrap_or(chunk);
    let start = memchr::memrchr(b'\n', body).map_or(0, |i| i + 1);
    hex::encode(Sha256::digest(&body[start..]))
}

/// Does the file still hold, just before the checkpoint's offset, the line it ended on?
pub(crate) fn checkpoint_holds(
    file: &mut File,
    len: u64,
    checkpoint: &Checkpoint,
) -> anyhow::Result<bool> {
    if checkpoint.offset == 0 {
        return Ok(true);
    }
    if checkpoint.offset > len {
        return Ok(false);
    }
    // The last line is at most the chunk size long in practice; look back far enough for it.
    let back = checkpoint.offset.min(DEFAULT_CHUNK as u64 * 4);
    let mut tail = vec![0; back as usize];
    file.seek(SeekFrom::Start(checkpoint.offset - back))?;
    file.read_exact(&mut tail)?;
    Ok(last_line_hash(&tail) == checkpoint.last_line_hash)
}

/// `stats_logs_flexlm__matlab_mlm.log` → `stats_logs_flexlm__matlab_mlm`.
pub fn default_server_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "default".into())
}

/// The local UTC offset at the file's modification time: where the log was most likely written.
pub(crate) fn local_offset(at: Option<i64>) -> i32 {
    use chrono::{Local, Offset, TimeZone};
    let when = at
        .and_then(|t| Local.timestamp_opt(t, 0).single())
        .unwrap_or_else(Local::now);
    when.offset().fix().local_minus_utc()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_line_hash_ignores_the_final_newline() {
        assert_eq!(last_line_hash(b"a\nbb\n"), last_line_hash(b"bb"));
        assert_ne!(last_line_hash(b"a\nbb\n"), last_line_hash(b"a\n"));
    }

    #[test]
    fn server_name_is_the_file_stem() {
        assert_eq!(default_server_name(Path::new("/x/lmgrd.log")), "lmgrd");
    }
}
