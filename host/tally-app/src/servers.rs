//! License servers: add, edit, remove, enable, disable, with the validation every caller (the
//! CLI, the API, a configuration file) passes through. The settings are checked against the
//! plugins in use: the manager must have a plugin, a poll format must be a poller of that
//! manager, a polled server needs a host.

use std::path::Path;

use serde::Deserialize;
use tally_core::time::UtcOffset;
use tally_core::zone::Zone;
use tally_plugin_host::{Registry, World};
use tally_store::{Server, ServerConfig, StoreError, VendorDaemonRow};

use crate::App;
use crate::access::{AccessError, Actor};

/// A change to a server's settings: what is `None` (or empty) stays as it is.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// License manager: flexlm, rlm, lmx, dsls, sentinel, …; defaults to the poll format's.
    pub manager: Option<String>,
    /// Vendor daemon monitored (denials-only imports must come from it).
    pub vendor: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
    /// Poller format; defaults to the manager's poller when a host is given.
    pub poll_format: Option<String>,
    /// Stop polling the server.
    #[serde(default)]
    pub no_poll: bool,
    /// Seconds between polls, 1 to 86,400.
    pub interval_secs: Option<u32>,
    /// Log files or directories to follow, added to those followed.
    #[serde(default)]
    pub follow: Vec<String>,
    /// Stop following the files followed before (those in `follow` are then the only ones).
    #[serde(default)]
    pub no_follow: bool,
    /// Log format of the followed files; detected per file when absent.
    pub import_format: Option<String>,
    /// The server's offset from UTC (its logs are in local time).
    pub utc_offset: Option<UtcOffset>,
    /// The server's time zone, an IANA name (`America/Chicago`, daylight saving included) or a
    /// fixed offset: its logs are read, and its usage and heatmap reported, in local time.
    pub time_zone: Option<String>,
    pub enabled: Option<bool>,
    /// A new name.
    pub rename: Option<String>,
}

/// Why a change to the license servers was refused.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("no license server is called `{0}`")]
    NotFound(String),
    #[error("a license server called `{0}` exists already")]
    Exists(String),
    /// The settings are wrong; the text says how.
    #[error("{0}")]
    Invalid(String),
    /// The actor may not make this change.
    #[error(transparent)]
    Refused(AccessError),
    #[error(transparent)]
    Store(StoreError),
}

impl From<AccessError> for ServerError {
    fn from(e: AccessError) -> ServerError {
        ServerError::Refused(e)
    }
}

impl From<StoreError> for ServerError {
    fn from(e: StoreError) -> ServerError {
        match e {
            StoreError::NoSuchServer(name) => ServerError::NotFound(name),
            StoreError::ServerExists(name) => ServerError::Exists(name),
            other => ServerError::Store(other),
        }
    }
}

/// Longest server name kept (it names files, URLs and report rows).
pub const MAX_NAME: usize = 128;
/// Longest query interval, seconds (a day).
pub const MAX_INTERVAL: u32 = 86_400;

/// A server with what its latest polls said beyond its statuses.
#[derive(Debug, Clone)]
pub struct Overview {
    pub server: Server,
    pub vendor_daemons: Vec<VendorDaemonRow>,
    /// The license manager's version the server showed last.
    pub manager_version: Option<String>,
    /// The End User status, the agents online, and their latest activity.
    pub end_user: (tally_core::EndUserStatus, Option<usize>, Option<i64>),
}

/// Every server, by name, or the one called `name`, with its vendor daemons and manager version.
pub async fn overviews(app: &App, name: Option<&str>) -> Result<Vec<Overview>, ServerError> {
    let servers = match name {
        Some(name) => vec![find(app, name).await?],
        None => app.store.servers().await?,
    };
    let only = name.and(servers.first().map(|s| s.id));
    let mut daemons = app.store.vendor_daemons(only).await?;
    let mut versions = app.store.latest_manager_versions().await?;
    let board = crate::agents::EndUserBoard::load(app).await?;
    let now = crate::now();
    Ok(servers
        .into_iter()
        .map(|server| Overview {
            end_user: board.status(server.id, server.config.enabled, now),
            vendor_daemons: daemons
                .extract_if(.., |d| d.server_id == server.id)
                .collect(),
            manager_version: versions.remove(&server.id),
            server,
        })
        .collect())
}

/// The server called `name`, with its vendor daemons and manager version.
pub async fn overview(app: &App, name: &str) -> Result<Overview, ServerError> {
    overviews(app, Some(name))
        .await?
        .pop()
        .ok_or_else(|| ServerError::NotFound(name.to_string()))
}

/// The server called `name`.
pub async fn find(app: &App, name: &str) -> Result<Server, ServerError> {
    app.store
        .server(name)
        .await?
        .ok_or_else(|| ServerError::NotFound(name.to_string()))
}

/// Adds a server called `name` with `settings`.
pub async fn add(
    app: &App,
    by: &Actor,
    name: &str,
    settings: Settings,
) -> Result<Server, ServerError> {
    app.may_write(by, "adding a license server")?;
    let zone = time_zone(&settings)?;
    let config = apply(ServerConfig::imported(name, ""), settings, &app.registry)?;
    check_name(&config.name)?;
    app.store.add_server(config).await?;
    if zone.is_some() {
        app.store.set_time_zone(name, zone).await?;
    }
    find(app, name).await
}

/// Changes the settings given; the server's statuses start over (Verifying).
pub async fn edit(
    app: &App,
    by: &Actor,
    name: &str,
    settings: Settings,
) -> Result<Server, ServerError> {
    app.may_write(by, "changing a license server")?;
    let zone = time_zone(&settings)?;
    let config = apply(find(app, name).await?.config, settings, &app.registry)?;
    check_name(&config.name)?;
    let new_name = config.name.clone();
    app.store.update_server(name, config).await?;
    if zone.is_some() {
        app.store.set_time_zone(&new_name, zone).await?;
    }
    find(app, &new_name).await
}

/// Removes a server and its whole history. Allowed to administrators in restricted access
/// mode (removing data is a way out the seeds name), which lifts at once when it was the cause.
pub async fn remove(app: &App, by: &Actor, name: &str) -> Result<(), ServerError> {
    app.needs_administrator(by, "removing a license server")?;
    find(app, name).await?;
    app.store.remove_server(name).await?;
    // The server is gone whatever the assessment does; a failed one is retried by the
    // scheduler.
    if let Err(error) = app.assess_licence().await {
        tracing::error!("cannot assess the licence after removing `{name}`: {error:#}");
        app.licence_data_added();
    }
    Ok(())
}

/// Enables or disables monitoring and importing of a server (status Disabled). Only that
/// changes: the other settings are not applied again (an edit would, for example, give a
/// server with a host but no poll format its manager's poller).
pub async fn set_enabled(
    app: &App,
    by: &Actor,
    name: &str,
    enabled: bool,
) -> Result<Server, ServerError> {
    app.may_write(by, "enabling or disabling a license server")?;
    let mut config = find(app, name).await?.config;
    config.enabled = enabled;
    app.store.update_server(name, config).await?;
    find(app, name).await
}

/// Hides a server from the grid, or shows it again; its monitoring goes on.
pub async fn set_hidden(
    app: &App,
    by: &Actor,
    name: &str,
    hidden: bool,
) -> Result<Server, ServerError> {
    app.may_write(by, "hiding a license server")?;
    app.store.set_hidden(name, hidden).await?;
    find(app, name).await
}

/// The time zone `settings` set, checked before anything is written.
fn time_zone(settings: &Settings) -> Result<Option<Zone>, ServerError> {
    settings
        .time_zone
        .as_deref()
        .map(Zone::parse)
        .transpose()
        .map_err(|e| ServerError::Invalid(e.to_string()))
}

fn check_name(name: &str) -> Result<(), ServerError> {
    let invalid = |why: &str| Err(ServerError::Invalid(format!("server name `{name}` {why}")));
    if name.trim().is_empty() {
        return Err(ServerError::Invalid("a server needs a name".into()));
    }
    if name.len() > MAX_NAME {
        return invalid(&format!("is longer than {MAX_NAME} bytes"));
    }
    if name.chars().any(|c| c.is_control() || c == '/') {
        return invalid("holds a control character or `/`");
    }
    Ok(())
}

/// Applies `settings` onto `c` and checks the result against the plugins.
pub fn apply(
    mut c: ServerConfig,
    settings: Settings,
    registry: &Registry,
) -> Result<ServerConfig, ServerError> {
    let invalid = |text: String| Err(ServerError::Invalid(text));
    let Settings {
        manager,
        vendor,
        host,
        port,
        poll_format,
        no_poll,
        interval_secs,
        follow,
        no_follow,
        import_format,
        utc_offset,
        // Stored apart from the configuration (`time_zone` above).
        time_zone: _,
        enabled,
        rename,
    } = settings;
    let manager_of = |world: World, format: &str| {
        registry
            .for_format(world, format)
            .map(|p| p.manifest.manager().to_string())
            .ok_or_else(|| {
                ServerError::Invalid(format!(
                    "no {} plugin reads `{format}`; known: {}",
                    world.as_str(),
                    registry.formats(world).join(", ")
                ))
            })
    };
    if let Some(name) = rename {
        c.name = name;
    }
    if let Some(m) = manager {
        c.manager = m;
    }
    c.vendor = vendor.or(c.vendor);
    if let Some(host) = host {
        // The host is put into status commands: one that could read as an option or end the
        // argument is refused here, for the CLI, the API and the configuration alike.
        tally_core::address::check_host(&host).map_err(|e| ServerError::Invalid(e.to_string()))?;
        c.host = Some(host);
    }
    c.port = port.or(c.port);
    if let Some(interval) = interval_secs {
        if !(1..=MAX_INTERVAL).contains(&interval) {
            return invalid(format!(
                "the query interval must be 1 to {MAX_INTERVAL} seconds, not {interval}"
            ));
        }
        c.query_interval = interval;
    }
    if let Some(offset) = utc_offset {
        c.utc_offset = Some(offset.seconds());
    }
    if let Some(enabled) = enabled {
        c.enabled = enabled;
    }
    if let Some(format) = poll_format {
        let m = manager_of(World::Poller, &format)?;
        if c.manager.is_empty() {
            c.manager = m.clone();
        }
        if m != c.manager {
            return invalid(format!(
                "`{format}` is a {m} poller, and the server's manager is {}",
                c.manager
            ));
        }
        c.poll_format = Some(format);
    }
    if no_poll {
        c.poll_format = None;
    }
    if c.manager.is_empty() {
        return invalid(
            "say which license manager the server runs (its manager, or a poll format)".into(),
        );
    }
    let mut managers: Vec<String> = registry
        .list()
        .iter()
        .map(|p| p.manifest.manager().to_string())
        .collect();
    if !managers.contains(&c.manager) {
        managers.sort();
        managers.dedup();
        return invalid(format!(
            "no plugin speaks for license manager `{}`; known: {}",
            c.manager,
            managers.join(", ")
        ));
    }
    if c.poll_format.is_none() && c.host.is_some() && !no_poll {
        c.poll_format = registry
            .list()
            .iter()
            .find(|p| p.manifest.world == World::Poller && p.manifest.manager() == c.manager)
            .map(|p| p.manifest.formats[0].clone());
    }
    if c.poll_format.is_some() && c.host.is_none() {
        return invalid("a polled server needs a host (and usually a port)".into());
    }
    if let Some(format) = import_format {
        let m = manager_of(World::Importer, &format)?;
        if m != c.manager {
            return invalid(format!(
                "`{format}` is a {m} log, and the server's manager is {}",
                c.manager
            ));
        }
        c.import_format = Some(format);
    }
    if no_follow {
        c.follow.clear();
    }
    for path in follow {
        let path = Path::new(&path);
        let parent = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !path.exists() && !parent.is_dir() {
            return invalid(format!(
                "cannot follow {}: neither it nor its directory exists",
                path.display()
            ));
        }
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        c.follow.push(absolute.display().to_string());
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use tally_plugin_host::PluginEngine;

    use super::*;

    #[test]
    fn a_host_that_could_become_an_option_or_a_command_is_refused() {
        let registry = Registry::new(PluginEngine::new(None).expect("engine"));
        let with_host = |host: &str| Settings {
            host: Some(host.into()),
            ..Settings::default()
        };
        for (host, why) in [
            ("-file=/etc/shadow", "starts with `-`"),
            ("x 4085; stopServer -force; connect y", "contains"),
            ("lic1\nconnect", "contains"),
        ] {
            let refused =
                apply(ServerConfig::imported("s", ""), with_host(host), &registry).expect_err(host);
            assert!(
                matches!(&refused, ServerError::Invalid(text) if text.contains(why)),
                "{host}: {refused}"
            );
        }
        let kept = apply(
            ServerConfig::imported("s", ""),
            with_host("lic-1.example.com"),
            &registry,
        )
        .map(|c| c.host);
        assert!(
            !matches!(&kept, Err(ServerError::Invalid(text)) if text.contains("host")),
            "{kept:?}"
        );
    }
}
