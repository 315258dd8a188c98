//! The plugins a `tally` process uses (the operator's plugin directory first: a plugin there
//! replaces the built-in one of the same id; then the first-party plugins compiled in), and
//! `tally plugin …`: with `--server-url` it changes the running server through its admin API,
//! otherwise the plugin directory itself (audited as `cli-offline:$USER`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use tally_plugin_host::{
    AuditEntry, AuditLog, Builtin, Package, PluginDir, PluginEngine, PluginView, Registry,
};
use tally_server::Token;

use crate::cli::{Global, data_dir};
use crate::remote::{Client, multipart};

#[derive(Debug, Args)]
pub struct PluginArgs {
    #[command(flatten)]
    remote: Remote,
    #[command(subcommand)]
    command: PluginCommand,
}

/// Where `tally plugin` makes its changes.
#[derive(Debug, Args)]
struct Remote {
    /// The running server to change (its admin API), e.g. http://127.0.0.1:8080. Without it
    /// the plugin directory is changed directly; a running server sees that at its next start.
    #[arg(long, env = "TALLY_SERVER_URL", global = true, value_name = "URL")]
    server_url: Option<String>,
    /// File holding the admin token. Default: $TALLY_ADMIN_TOKEN, then <data dir>/admin-token
    /// (which `tally serve` writes).
    #[arg(
        long,
        env = "TALLY_ADMIN_TOKEN_FILE",
        global = true,
        value_name = "FILE"
    )]
    token_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// List the plugins: version, world, state, health (ok, traps in a row, quarantined), sha256.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Install a plugin, or a new version of one: a directory holding plugin.toml and its
    /// component (or the plugin.toml itself), or a plugin crate's directory once cargo built its
    /// component (`component` and `sha256` are filled in). It must load (hash, grants, WIT,
    /// formats) before it replaces the running version.
    Add {
        #[arg(value_name = "FILE|DIR")]
        path: PathBuf,
    },
    /// Uninstall a plugin (a built-in plugin of the same id takes its place again).
    Remove { id: String },
    /// Load a plugin again: ends a quarantine, applies changed grants.
    Reload { id: String },
    /// Let a disabled plugin take calls again.
    Enable { id: String },
    /// Keep a plugin loaded but give it no new calls (remembered across restarts).
    Disable { id: String },
    /// Show the audit log of plugin changes.
    Audit {
        #[arg(long)]
        json: bool,
    },
    /// Start a new plugin: a crate that builds into a component with one
    /// `cargo build --release --target wasm32-wasip2`, with a working parser, a fixture and
    /// tests (docs/plugin-authoring.md).
    New(crate::scaffold::NewArgs),
}

/// `tally serve`'s admin token.
#[derive(Debug, Args)]
pub struct AdminArgs {
    /// File of admin tokens, one a line: `TOKEN` or `NAME TOKEN`. Default: $TALLY_ADMIN_TOKEN,
    /// else <data dir>/admin-token (created with a random token on first start, mode 0600).
    #[arg(long, env = "TALLY_ADMIN_TOKEN_FILE", value_name = "FILE")]
    pub admin_token_file: Option<PathBuf>,
}

pub fn builtins() -> Vec<Builtin> {
    tally_plugin_artifacts::FIRST_PARTY
        .iter()
        .map(|p| Builtin {
            id: p.id,
            manifest: p.manifest,
            component: p.component,
        })
        .collect()
}

fn audit_log() -> AuditLog {
    AuditLog::new(data_dir().join("plugin-audit.jsonl"))
}

/// Opens the plugin directory and loads every plugin.
pub fn open(plugin_dir: &Path, cache_dir: Option<&Path>) -> anyhow::Result<PluginDir> {
    open_auditing(plugin_dir, cache_dir, audit_log())
}

/// As [`open`], keeping the audit log of plugin changes in `audit`.
pub fn open_auditing(
    plugin_dir: &Path,
    cache_dir: Option<&Path>,
    audit: AuditLog,
) -> anyhow::Result<PluginDir> {
    let engine = PluginEngine::new(cache_dir)
        .map_err(|e| anyhow::anyhow!("cannot start the plugin engine: {e}"))?;
    let registry = Arc::new(Registry::new(engine));
    let (dir, errors) = PluginDir::open(plugin_dir, registry, &builtins(), audit);
    for error in errors {
        // One broken plugin must not take the others down: say why and go on without it.
        eprintln!("warning: plugin not loaded: {error}");
    }
    Ok(dir)
}

/// `tally serve`'s admin tokens, from the file given or the data directory's (made if new).
pub fn admin_tokens(file: Option<&Path>, plugins: &PluginDir) -> anyhow::Result<Vec<Token>> {
    let (tokens, origin, path) = match file {
        Some(path) => (
            read_tokens(path)?,
            path.display().to_string(),
            Some(path.to_path_buf()),
        ),
        None => match std::env::var("TALLY_ADMIN_TOKEN") {
            Ok(text) => (Token::parse_all(&text), "$TALLY_ADMIN_TOKEN".into(), None),
            Err(_) => {
                let path = data_dir().join("admin-token");
                if !path.exists() {
                    create_token_file(&path)?;
                    eprintln!("tally: created an admin token in {}", path.display());
                }
                (read_tokens(&path)?, path.display().to_string(), Some(path))
            }
        },
    };
    if tokens.is_empty() {
        bail!("no admin token in {origin}");
    }
    for warning in weak_tokens(&tokens, &origin, path.and_then(file_mode)) {
        tracing::warn!("{warning}");
        eprintln!("tally: warning: {warning}");
    }
    eprintln!(
        "tally: admin API at /api/v1/admin, token from {origin}; plugin changes audited in {}",
        plugins.audit().path().display()
    );
    Ok(tokens)
}

/// Shortest admin token taken without a warning: 128 random bits as hex.
const MIN_TOKEN_CHARS: usize = 32;

/// What is weak about the admin tokens from `origin` (a file with permission bits `mode`):
/// a file other users may read, tokens short enough to guess. Never the tokens themselves.
fn weak_tokens(tokens: &[Token], origin: &str, mode: Option<u32>) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(mode) = mode
        && mode & 0o077 != 0
    {
        out.push(format!(
            "the admin token file {origin} may be read by other users (mode {:o}): `chmod 600 {origin}`",
            mode & 0o777
        ));
    }
    for t in tokens
        .iter()
        .filter(|t| t.secret.chars().count() < MIN_TOKEN_CHARS)
    {
        out.push(format!(
            "the admin token `{}` in {origin} has {} characters: use at least {MIN_TOKEN_CHARS} random ones",
            t.name,
            t.secret.chars().count()
        ));
    }
    out
}

#[cfg(unix)]
fn file_mode(path: PathBuf) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).ok().map(|m| m.permissions().mode())
}

#[cfg(not(unix))]
fn file_mode(_: PathBuf) -> Option<u32> {
    None
}

fn read_tokens(path: &Path) -> anyhow::Result<Vec<Token>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the admin token file {}", path.display()))?;
    Ok(Token::parse_all(&text))
}

/// Writes a fresh random token readable by this user only.
fn create_token_file(path: &Path) -> anyhow::Result<()> {
    use std::io::{Read, Write};
    let mut secret = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut secret))
        .context("cannot read random bytes for an admin token (pass --admin-token-file)")?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    writeln!(file, "{}", hex::encode(secret))?;
    Ok(())
}

/// The token the CLI presents.
fn client_token(remote: &Remote) -> anyhow::Result<String> {
    let tokens = match (&remote.token_file, std::env::var("TALLY_ADMIN_TOKEN")) {
        (Some(path), _) => read_tokens(path)?,
        (None, Ok(text)) => Token::parse_all(&text),
        (None, Err(_)) => {
            let path = data_dir().join("admin-token");
            if !path.exists() {
                bail!("no admin token: pass --token-file FILE or set TALLY_ADMIN_TOKEN");
            }
            read_tokens(&path)?
        }
    };
    tokens
        .into_iter()
        .next()
        .map(|t| t.secret)
        .context("the admin token file holds no token")
}

pub async fn run(global: &Global, args: PluginArgs) -> anyhow::Result<ExitCode> {
    // Writes files for the author; neither the server nor the plugin directory is involved.
    if let PluginCommand::New(new) = args.command {
        return crate::scaffold::run(new).map(|()| ExitCode::SUCCESS);
    }
    match &args.remote.server_url {
        Some(url) => {
            let client = Client::new(url, client_token(&args.remote)?)?;
            remote(&client, args.command).await
        }
        None => tokio::task::block_in_place(|| offline(global, args.command)),
    }
    .map(|()| ExitCode::SUCCESS)
}

const PLUGINS: &str = "/api/v1/admin/plugins";

async fn remote(client: &Client, command: PluginCommand) -> anyhow::Result<()> {
    match command {
        PluginCommand::List { json } => {
            let views: Vec<PluginView> = client.get(PLUGINS).await?;
            print_list(&views, json)
        }
        PluginCommand::Add { path } => {
            let package = Package::read(&path)?;
            let body = multipart(&[
                ("manifest", "plugin.toml", package.manifest.as_bytes()),
                ("component", "component.wasm", &package.component),
            ]);
            let view = client.post(PLUGINS, Some(body)).await?;
            print_change("added", &view);
            Ok(())
        }
        PluginCommand::Remove { id } => {
            let answer: serde_json::Value = client.delete(&format!("{PLUGINS}/{id}")).await?;
            let now: Option<PluginView> = serde_json::from_value(answer["now"].clone())?;
            print_removed(&id, now.as_ref());
            Ok(())
        }
        PluginCommand::Reload { id } => {
            let view = client.post(&format!("{PLUGINS}/{id}/reload"), None).await?;
            print_change("reloaded", &view);
            Ok(())
        }
        PluginCommand::Enable { id } => {
            let view = client.post(&format!("{PLUGINS}/{id}/enable"), None).await?;
            print_change("enabled", &view);
            Ok(())
        }
        PluginCommand::Disable { id } => {
            let view = client
                .post(&format!("{PLUGINS}/{id}/disable"), None)
                .await?;
            print_change("disabled", &view);
            Ok(())
        }
        PluginCommand::Audit { json } => {
            let entries: Vec<AuditEntry> = client.get("/api/v1/admin/audit").await?;
            print_audit(&entries, json)
        }
        PluginCommand::New(_) => unreachable!("handled in run"),
    }
}

fn offline(global: &Global, command: PluginCommand) -> anyhow::Result<()> {
    if let PluginCommand::Audit { json } = command {
        return print_audit(&audit_log().read()?, json);
    }
    let dir = global.plugin_dir_handle()?;
    let who = format!(
        "cli-offline:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    );
    match command {
        PluginCommand::List { json } => print_list(&dir.list(), json)?,
        PluginCommand::Add { path } => {
            print_change("added", &dir.add(&Package::read(&path)?, &who)?)
        }
        PluginCommand::Remove { id } => print_removed(&id, dir.remove(&id, &who)?.as_ref()),
        PluginCommand::Reload { id } => print_change("reloaded", &dir.reload(&id, &who)?),
        PluginCommand::Enable { id } => print_change("enabled", &dir.set_enabled(&id, true, &who)?),
        PluginCommand::Disable { id } => {
            print_change("disabled", &dir.set_enabled(&id, false, &who)?)
        }
        PluginCommand::Audit { .. } | PluginCommand::New(_) => {}
    }
    Ok(())
}

fn short(sha256: &str) -> &str {
    &sha256[..sha256.len().min(12)]
}

fn print_change(what: &str, view: &PluginView) {
    println!(
        "{what} {} {} (sha256 {}) from {}",
        view.id,
        view.version,
        short(&view.sha256),
        view.source
    );
}

fn print_removed(id: &str, now: Option<&PluginView>) {
    match now {
        Some(builtin) => println!(
            "removed {id}; the built-in version {} is used again",
            builtin.version
        ),
        None => println!("removed {id}"),
    }
}

fn print_list(views: &[PluginView], json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(views)?);
        return Ok(());
    }
    println!(
        "{:<16} {:<8} {:<9} {:<6} {:<8} {:<18} {:>8} {:<12} {:<24} SOURCE",
        "ID", "VERSION", "WORLD", "WIT", "ENABLED", "HEALTH", "ANSWERS", "SHA256", "FORMATS"
    );
    for v in views {
        println!(
            "{:<16} {:<8} {:<9} {:<6} {:<8} {:<18} {:>8} {:<12} {:<24} {}",
            v.id,
            v.version,
            v.world,
            v.wit,
            if v.enabled { "yes" } else { "no" },
            v.health.summary(),
            v.health.answers,
            short(&v.sha256),
            v.formats.join(","),
            v.source
        );
        if let Some(reason) = &v.health.quarantined {
            println!("  quarantined: {reason} (`tally plugin reload {}`)", v.id);
        }
    }
    Ok(())
}

fn print_audit(entries: &[AuditEntry], json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(entries)?);
        return Ok(());
    }
    for e in entries {
        println!(
            "{} {} {} {} {} sha256 {} {}{}",
            e.time,
            e.who,
            e.action,
            e.plugin,
            e.version.as_deref().unwrap_or("-"),
            e.sha256.as_deref().map_or("-", short),
            e.outcome,
            e.error
                .as_deref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(name: &str, secret: &str) -> Token {
        Token {
            name: name.into(),
            secret: secret.into(),
        }
    }

    #[test]
    fn a_readable_file_and_short_tokens_are_warned_of_without_the_tokens() {
        let strong = "3f".repeat(16);
        assert!(
            weak_tokens(
                &[token("admin", &strong)],
                "/etc/tally/admin-token",
                Some(0o100600)
            )
            .is_empty()
        );
        let warnings = weak_tokens(
            &[token("admin", &strong), token("ci", "hunter2")],
            "/etc/tally/admin-token",
            Some(0o100644),
        );
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("mode 644") && warnings[0].contains("chmod 600"));
        assert!(warnings[1].contains("`ci`") && warnings[1].contains("7 characters"));
        assert!(
            warnings
                .iter()
                .all(|w| !w.contains("hunter2") && !w.contains(&strong))
        );
    }
}
