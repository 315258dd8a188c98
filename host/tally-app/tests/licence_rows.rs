//! Tally's own licence, wired: for each row of seeds 002 and 003 whose outcome the app carries
//! out, a test named after the row builds the database state it describes through the verbs
//! (imports, polls through the first-party poller, servers added) and asserts the outcome:
//! restricted access mode at the write gate (403 text, reads going on, lifted by a licence or
//! by removing data), a poll's data skipped with the server Offline, servers shown "License
//! Exceeded" or Disabled, an import refused creating nothing, and the incident recorded.
//!
//! Rows that need time to pass while Tally runs (a licence expiring, the running version
//! changing) are judged by tally-core's `licence_rows` tests alone.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{Datelike, NaiveDate, Utc};
use tally_app::App;
use tally_app::access::{AccessError, Actor, Role};
use tally_app::import::{ImportOptions, import_files};
use tally_app::licence::{self, Standing};
use tally_app::poll::{Tools, poll_once};
use tally_core::licence::{
    DottedVersion, IssuerKey, LicenceType, Limits, Limits2013, Limits2019, Moment, Terms,
};
use tally_core::users::Counting;
use tally_core::{ImportStatus, RemoteStatus};
use tally_plugin_host::{AuditLog, Builtin, PluginDir, PluginEngine, Registry};
use tally_store::{IncidentScope, ServerConfig};

struct World {
    app: App,
    dir: tempfile::TempDir,
}

fn key() -> IssuerKey {
    IssuerKey::from_seed([7; 32])
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

impl World {
    /// A fresh database with the first-party plugins; `lmutil` prints `status.txt`.
    async fn new() -> World {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("tally.db").display());
        let store = tally_store::Store::open(&url).await.expect("store");
        let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("licence-tests-cache");
        let engine = PluginEngine::new(Some(&cache)).expect("engine");
        let builtins: Vec<Builtin> = tally_plugin_artifacts::FIRST_PARTY
            .iter()
            .map(|p| Builtin {
                id: p.id,
                manifest: p.manifest,
                component: p.component,
            })
            .collect();
        let (plugins, errors) = PluginDir::open(
            &dir.path().join("plugins"),
            Arc::new(Registry::new(engine)),
            &builtins,
            AuditLog::new(dir.path().join("audit.jsonl")),
        );
        assert!(errors.is_empty(), "{errors:?}");
        let lmutil = dir.path().join("lmutil");
        std::fs::write(
            &lmutil,
            format!(
                "#!/bin/sh\ncat {}\n",
                dir.path().join("status.txt").display()
            ),
        )
        .expect("lmutil");
        let mut perms = std::fs::metadata(&lmutil).expect("meta").permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        std::fs::set_permissions(&lmutil, perms).expect("chmod");
        let mut tools = Tools::default();
        tools
            .add(&format!("lmutil={}", lmutil.display()))
            .expect("tool");
        let mut app = App::new(
            store,
            plugins.registry().clone(),
            tools,
            dir.path().join("spool"),
        );
        app.licence_keys = vec![key().public()];
        World { app, dir }
    }

    /// Installs a licence with `limits` (start 2020, the running version, no end) and assesses.
    async fn licence(&self, kind: LicenceType, limits: Limits) -> Arc<Standing> {
        self.licence_terms(Terms {
            licensee: "Example".into(),
            kind,
            start: NaiveDate::from_ymd_opt(2020, 1, 1).expect("day"),
            expiry: None,
            maintenance_end: None,
            version: licence::product().expect("product").version,
            limits,
        })
        .await
    }

    async fn licence_terms(&self, terms: Terms) -> Arc<Standing> {
        licence::install(&self.app, &Actor::operator(), &terms.issue(&key()))
            .await
            .expect("install")
    }

    /// Imports a FlexLM debug log of today in which each of `users` (`user@host`) checks a
    /// license out and in, into `server`.
    async fn import(&self, server: &str, users: &[&str]) -> tally_app::import::ImportSummary {
        self.try_import(server, users).await.expect("import")
    }

    async fn try_import(
        &self,
        server: &str,
        users: &[&str],
    ) -> anyhow::Result<tally_app::import::ImportSummary> {
        let path = self.log(server, users);
        let options = ImportOptions {
            server: Some(server.into()),
            utc_offset: Some(0),
            ..ImportOptions::default()
        };
        import_files(&self.app, &Actor::operator(), &[path], &options, &()).await
    }

    fn log(&self, name: &str, users: &[&str]) -> PathBuf {
        let d = today();
        let mut log = format!(
            " 0:00:00 (lmgrd) FlexNet Licensing (v11.19.0.0 build 1 x64_lsb) started on lic (linux) ({}/{}/{})\n 0:00:00 (acme) FlexNet Licensing version v11.19.0.0 build 1 x64_lsb\n",
            d.month(),
            d.day(),
            d.year()
        );
        for (i, u) in users.iter().enumerate() {
            log.push_str(&format!(" 0:{:02}:00 (acme) OUT: \"f\" {u}  \n", 2 * i + 1));
            log.push_str(&format!(" 0:{:02}:30 (acme) IN: \"f\" {u}  \n", 2 * i + 1));
        }
        let path = self.dir.path().join(format!("{name}.log"));
        std::fs::write(&path, log).expect("log");
        path
    }

    /// A polled FlexLM server.
    async fn polled(&self, name: &str) -> i64 {
        self.app
            .store
            .add_server(ServerConfig {
                host: Some("lic".into()),
                port: Some(27000),
                poll_format: Some("flexlm-lmstat".into()),
                ..ServerConfig::imported(name, "flexlm")
            })
            .await
            .expect("server")
    }

    /// What `lmutil lmstat` prints next: manager `version`, `users` (`user@host`) holding `f`.
    fn status(&self, version: &str, users: &[&str]) {
        let now = Utc::now();
        let mut out = format!(
            "lmutil - Copyright (c) 1989-2018 Flexera. All Rights Reserved.\nFlexible License Manager status on {}\n\nLicense server status: 27000@lic\n    License file(s) on lic: /x.lic:\n\nlic: license server UP (MASTER) v{version}\n\nVendor daemon status (on lic):\n\n    acme: UP v{version}\nFeature usage info:\n\nUsers of f:  (Total of 100 licenses issued;  Total of {} licenses in use)\n\n  \"f\" v2015.0325, vendor: acme, expiry: 1-jan-0\n  floating license\n\n",
            now.format("%a %-m/%-d/%Y %-H:%M"),
            users.len()
        );
        for (i, u) in users.iter().enumerate() {
            let (user, host) = u.split_once('@').expect("user@host");
            out.push_str(&format!(
                "    {user} {host} {host} (v1.0) (lic/27000 {}), start {}\n",
                i + 1,
                now.format("%a %-m/%-d %-H:%M")
            ));
        }
        std::fs::write(self.dir.path().join("status.txt"), out).expect("status");
    }

    async fn poll(&self, server: i64, at: i64) -> tally_core::PollResult {
        let server = self.app.store.server_by_id(server).await.expect("server");
        poll_once(&self.app, &server, at).await.expect("poll").0
    }

    async fn server(&self, id: i64) -> tally_store::Server {
        self.app.store.server_by_id(id).await.expect("server")
    }

    /// The open incidents as (scope, row).
    async fn incidents(&self) -> Vec<(IncidentScope, String)> {
        let mut found: Vec<_> = self
            .app
            .store
            .licence_incidents(true, 100)
            .await
            .expect("incidents")
            .into_iter()
            .map(|i| (i.scope, i.row.name()))
            .collect();
        found.sort_by_key(|(_, row)| row.clone());
        found
    }
}

fn m2019(users: u64, servers: u64) -> Limits {
    Limits::Model2019(Limits2019 {
        users,
        servers,
        hpc: false,
        harvesting_agents: 0,
    })
}

fn m2013(realtime_users: u64, realtime_servers: u64, imported: (u64, u64)) -> Limits {
    Limits::Model2013(Limits2013 {
        counting: Counting::UserHost,
        realtime_users: Some(realtime_users),
        realtime_servers: Some(realtime_servers),
        import: true,
        imported_users: Some(imported.0),
        imported_servers: Some(imported.1),
    })
}

/// The gate refuses a write naming the row's issue and what to do next; reads go on.
async fn assert_restricted(w: &World, standing: &Standing, row: &str, issue: &str) {
    let v = standing.restriction().expect("restricted access mode");
    assert_eq!(v.row.name(), row);
    let err = tally_app::servers::set_hidden(&w.app, &Actor::operator(), "nothing", true)
        .await
        .expect_err("a write in restricted access mode");
    let text = err.to_string();
    assert!(
        matches!(
            err,
            tally_app::servers::ServerError::Refused(AccessError::Restricted(_))
        ),
        "{err:?}"
    );
    assert!(text.contains("restricted access mode"), "{text}");
    assert!(text.contains(issue), "{text}");
    assert!(text.contains(v.next[0]), "{text}");
    // Reading goes on.
    w.app.store.servers().await.expect("reading");
    tally_app::licence::current_status(&w.app)
        .await
        .expect("the licence is read");
    // A viewer is refused for its role first.
    let viewer = Actor {
        name: "vic".into(),
        role: Role::Viewer,
    };
    assert!(matches!(
        w.app.may_write(&viewer, "x"),
        Err(AccessError::Forbidden(_))
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn model_2019_runtime_user_limit_exceeded_restricts_writes_and_a_higher_limit_lifts_it() {
    let w = World::new().await;
    let standing = w.licence(LicenceType::Perpetual, m2019(1, 10)).await;
    assert!(standing.restriction().is_none());
    w.import("lic1", &["ann@ws1", "bob@ws2"]).await;
    let standing = w.app.licence().await.expect("standing");
    assert_eq!(standing.moment, Moment::RunTime);
    assert_restricted(
        &w,
        &standing,
        "model_2019_runtime_user_limit_exceeded",
        "User limit exceeded: 2 users in the database",
    )
    .await;
    // Imports stop: nothing is created.
    let err = w
        .try_import("lic2", &["cat@ws3"])
        .await
        .expect_err("restricted");
    assert!(err.to_string().contains("restricted access mode"), "{err}");
    assert!(w.app.store.server("lic2").await.expect("read").is_none());
    // An import already admitted (a job, a followed file) stops at the licence too.
    let follow = ImportOptions {
        server: Some("lic3".into()),
        utc_offset: Some(0),
        ..ImportOptions::default()
    };
    let err = tally_app::import::import_file(&w.app, &w.log("lic3", &["cat@ws3"]), &follow, &())
        .await
        .expect_err("restricted");
    assert!(
        err.to_string()
            .contains("no log is imported in restricted access mode"),
        "{err}"
    );
    assert!(w.app.store.server("lic3").await.expect("read").is_none());
    // The way out, without a restart.
    let standing = w.licence(LicenceType::Perpetual, m2019(5, 10)).await;
    assert!(standing.restriction().is_none(), "{:?}", standing.status);
    tally_app::servers::set_hidden(&w.app, &Actor::operator(), "lic1", true)
        .await
        .expect("writes again");
}

#[tokio::test(flavor = "multi_thread")]
async fn model_2019_startup_user_limit_exceeded_starts_restricted_and_removing_data_lifts_it() {
    let w = World::new().await;
    w.import("lic1", &["ann@ws1", "bob@ws2"]).await;
    let standing = w.licence(LicenceType::Perpetual, m2019(1, 10)).await;
    assert_eq!(standing.moment, Moment::StartUp);
    assert_restricted(
        &w,
        &standing,
        "model_2019_startup_user_limit_exceeded",
        "User limit exceeded",
    )
    .await;
    // Removing data is allowed to administrators in restricted access mode, and lifts it.
    tally_app::servers::remove(&w.app, &Actor::operator(), "lic1")
        .await
        .expect("removing a server");
    assert!(w.app.licence_restriction().is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn model_2019_startup_host_limit_exceeded_starts_restricted() {
    let w = World::new().await;
    // One user on three hosts: 1 user of 2, 3 hosts of 2 (125 % of 2, rounded down).
    w.import("lic1", &["ann@ws1", "ann@ws2", "ann@ws3"]).await;
    let standing = w.licence(LicenceType::Perpetual, m2019(2, 10)).await;
    assert_restricted(
        &w,
        &standing,
        "model_2019_startup_host_limit_exceeded",
        "Host limit exceeded",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn model_2019_startup_server_limit_exceeded_starts_restricted() {
    let w = World::new().await;
    w.import("lic1", &["ann@ws1"]).await;
    w.import("lic2", &["ann@ws1"]).await;
    let standing = w.licence(LicenceType::Perpetual, m2019(10, 1)).await;
    assert_restricted(
        &w,
        &standing,
        "model_2019_startup_server_limit_exceeded",
        "2 license servers with imported data",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn model_2019_startup_license_expired_starts_restricted() {
    let w = World::new().await;
    let mut terms = Terms {
        licensee: "Example".into(),
        kind: LicenceType::Subscription,
        start: NaiveDate::from_ymd_opt(2020, 1, 1).expect("day"),
        expiry: today().pred_opt(),
        maintenance_end: None,
        version: licence::product().expect("product").version,
        limits: m2019(10, 10),
    };
    let standing = w.licence_terms(terms.clone()).await;
    assert_restricted(
        &w,
        &standing,
        "model_2019_startup_license_expired",
        "the licence expired",
    )
    .await;
    terms.expiry = today().succ_opt();
    assert!(w.licence_terms(terms).await.restriction().is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn model_2019_startup_version_mismatch_starts_restricted() {
    let w = World::new().await;
    let standing = w
        .licence_terms(Terms {
            licensee: "Example".into(),
            kind: LicenceType::Perpetual,
            start: NaiveDate::from_ymd_opt(2020, 1, 1).expect("day"),
            expiry: None,
            maintenance_end: None,
            version: DottedVersion::parse("0.0.1").expect("version"),
            limits: m2019(10, 10),
        })
        .await;
    assert_restricted(
        &w,
        &standing,
        "model_2019_startup_version_mismatch",
        "Version mismatch",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn model_2019_startup_maintenance_expired_starts_restricted() {
    let w = World::new().await;
    let released = licence::product().expect("product").released;
    let standing = w
        .licence_terms(Terms {
            licensee: "Example".into(),
            kind: LicenceType::Perpetual,
            start: NaiveDate::from_ymd_opt(2020, 1, 1).expect("day"),
            expiry: None,
            maintenance_end: released.pred_opt(),
            version: licence::product().expect("product").version,
            limits: m2019(10, 10),
        })
        .await;
    assert_restricted(
        &w,
        &standing,
        "model_2019_startup_maintenance_expired",
        "Maintenance expired",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn model_2019_startup_trial_data_before_start_starts_restricted() {
    let w = World::new().await;
    w.import("lic1", &["ann@ws1"]).await;
    let standing = w
        .licence_terms(Terms {
            licensee: "Example".into(),
            kind: LicenceType::Trial,
            start: today().succ_opt().expect("tomorrow"),
            expiry: today().checked_add_days(chrono::Days::new(30)),
            maintenance_end: None,
            version: licence::product().expect("product").version,
            limits: m2019(10, 10),
        })
        .await;
    assert_restricted(
        &w,
        &standing,
        "model_2019_startup_trial_data_before_start",
        "data from before the trial started",
    )
    .await;
}

/// Ann is counted; a poll brings Bob too, past a one-user limit.
async fn user_limit_about_to_exceed(limits: Limits, row: &str, issue: &str) {
    let w = World::new().await;
    let server = w.polled("lic1").await;
    w.licence(LicenceType::Perpetual, limits).await;
    w.status("11.13.0", &["ann@ws1"]);
    assert!(matches!(
        w.poll(server, tally_core::time::now()).await,
        tally_core::PollResult::Answered(_)
    ));
    assert_eq!(w.server(server).await.remote_status, RemoteStatus::Online);
    // Bob on Ann's host: only the user limit is at stake.
    w.status("11.13.0", &["ann@ws1", "bob@ws1"]);
    let result = w.poll(server, tally_core::time::now()).await;
    assert!(
        matches!(&result, tally_core::PollResult::Failed(r) if r.contains("this poll would add 1")),
        "{result:?}"
    );
    let shown = w.server(server).await;
    assert_eq!(shown.remote_status, RemoteStatus::Offline);
    let reason = shown.remote_reason.expect("reason");
    assert!(reason.contains(issue), "{reason}");
    assert!(
        reason.contains("What to do next: Load a licence with a higher"),
        "{reason}"
    );
    // Bob's data was skipped: only Ann counts.
    let standing = w.app.assess_licence().await.expect("assess");
    assert_eq!(standing.status.limits[0].used, 1, "{:?}", standing.status);
    assert_eq!(
        w.incidents().await,
        [(IncidentScope::Poll(server), row.into())]
    );
    // Bob leaves: the poll is saved again, the incident closes.
    w.status("11.13.0", &["ann@ws1"]);
    w.poll(server, tally_core::time::now()).await;
    assert_eq!(w.server(server).await.remote_status, RemoteStatus::Online);
    assert!(w.incidents().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn model_2019_runtime_user_limit_about_to_exceed_skips_poll_and_sets_offline() {
    user_limit_about_to_exceed(
        m2019(1, 10),
        "model_2019_runtime_user_limit_about_to_exceed",
        "User limit about to exceed: this poll would add 1 users to 1",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn model_2013_runtime_user_limit_about_to_exceed_skips_poll_and_sets_offline() {
    user_limit_about_to_exceed(
        m2013(1, 5, (5, 5)),
        "model_2013_runtime_user_limit_about_to_exceed",
        "User limit exceeded: this poll would add 1 realtime users to 1",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn model_2019_runtime_host_limit_about_to_exceed_skips_poll_and_sets_offline() {
    let w = World::new().await;
    let server = w.polled("lic1").await;
    // Two users allow two hosts (125 %, rounded down).
    w.licence(LicenceType::Perpetual, m2019(2, 10)).await;
    w.status("11.13.0", &["ann@ws1", "ann@ws2"]);
    w.poll(server, tally_core::time::now()).await;
    w.status("11.13.0", &["ann@ws1", "ann@ws2", "ann@ws3"]);
    w.poll(server, tally_core::time::now()).await;
    let shown = w.server(server).await;
    assert_eq!(shown.remote_status, RemoteStatus::Offline);
    assert!(
        shown.remote_reason.as_deref().is_some_and(
            |r| r.contains("Host limit about to exceed: this poll would add 1 hosts to 2")
        ),
        "{shown:?}"
    );
    assert_eq!(
        w.incidents().await,
        [(
            IncidentScope::Poll(server),
            "model_2019_runtime_host_limit_about_to_exceed".into()
        )]
    );
}

/// Polled on the last day of maintenance with 11.13, then after it with 11.19.
async fn server_version_after_maintenance(limits: Limits, row: &str) {
    let w = World::new().await;
    let server = w.polled("lic1").await;
    w.licence_terms(Terms {
        licensee: "Example".into(),
        kind: LicenceType::Perpetual,
        start: NaiveDate::from_ymd_opt(2020, 1, 1).expect("day"),
        expiry: None,
        // Covers this Tally (released before), ends today.
        maintenance_end: Some(today()),
        version: licence::product().expect("product").version,
        limits,
    })
    .await;
    let now = tally_core::time::now();
    w.status("11.13.0", &["ann@ws1"]);
    w.poll(server, now).await;
    assert_eq!(w.server(server).await.remote_status, RemoteStatus::Online);
    // Two days later the license server runs a newer version.
    let later = now + 2 * 86_400;
    w.status("11.19.0", &["ann@ws1"]);
    w.poll(server, later).await;
    let shown = w.server(server).await;
    assert_eq!(shown.remote_status, RemoteStatus::Offline);
    let reason = shown.remote_reason.expect("reason");
    assert!(
        reason.contains("runs version 11.19.0") && reason.contains("it had 11.13.0 before"),
        "{reason}"
    );
    assert!(reason.contains("Revert the license server"), "{reason}");
    assert_eq!(
        w.incidents().await,
        [(IncidentScope::Poll(server), row.into())]
    );
    // Reverted: polled again.
    w.status("11.13.0", &["ann@ws1"]);
    w.poll(server, later + 60).await;
    assert_eq!(w.server(server).await.remote_status, RemoteStatus::Online);
}

#[tokio::test(flavor = "multi_thread")]
async fn model_2019_runtime_server_version_after_maintenance_skips_poll_and_sets_offline() {
    server_version_after_maintenance(
        m2019(10, 10),
        "model_2019_runtime_server_version_after_maintenance",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn model_2013_runtime_server_version_after_maintenance_skips_poll_and_sets_offline() {
    server_version_after_maintenance(
        m2013(10, 5, (5, 5)),
        "model_2013_runtime_server_version_after_maintenance",
    )
    .await;
}

/// Three polled servers, two allowed: the newest shows "License Exceeded", is not monitored,
/// and is freed by disabling another.
async fn new_server_past_limit(limits: Limits, row: &str) {
    let w = World::new().await;
    let a = w.polled("a").await;
    let b = w.polled("b").await;
    let c = w.polled("c").await;
    w.licence(LicenceType::Perpetual, limits).await;
    w.app.hold_servers().await.expect("hold");
    assert!(w.app.licence_monitors(a) && w.app.licence_monitors(b));
    assert!(!w.app.licence_monitors(c));
    let shown = w.server(c).await;
    assert_eq!(shown.remote_status, RemoteStatus::LicenseExceeded);
    assert!(
        shown
            .remote_reason
            .as_deref()
            .is_some_and(|r| r.contains("allows 2 monitored license servers")),
        "{shown:?}"
    );
    assert_eq!(w.server(a).await.remote_status, RemoteStatus::Verifying);
    assert_eq!(w.incidents().await, [(IncidentScope::Servers, row.into())]);
    // Disabling another frees the licence.
    tally_app::servers::set_enabled(&w.app, &Actor::operator(), "a", false)
        .await
        .expect("disable");
    w.app.hold_servers().await.expect("hold");
    assert!(w.app.licence_monitors(c));
    assert_eq!(w.server(c).await.remote_status, RemoteStatus::Verifying);
    assert!(w.incidents().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn model_2019_runtime_new_server_past_limit_shows_license_exceeded_and_is_not_monitored() {
    new_server_past_limit(m2019(10, 2), "model_2019_runtime_new_server_past_limit").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn model_2013_runtime_new_server_past_limit_shows_license_exceeded_and_is_not_monitored() {
    new_server_past_limit(
        m2013(10, 2, (5, 5)),
        "model_2013_runtime_new_server_past_limit",
    )
    .await;
}

/// One imported server of one allowed: importing into a new one is refused, creating nothing.
async fn import_past_server_limit(limits: Limits, row: &str) {
    let w = World::new().await;
    w.licence(LicenceType::Perpetual, limits).await;
    let first = w.import("lic1", &["ann@ws1"]).await;
    assert_eq!(first.failed, 0, "{:?}", first.errors);
    let refused = w.import("lic2", &["ann@ws1"]).await;
    assert_eq!(refused.failed, 1);
    let error = &refused.errors[0].error;
    assert!(error.contains("refused: License server limit"), "{error}");
    assert!(error.contains("Nothing was imported"), "{error}");
    assert!(w.app.store.server("lic2").await.expect("read").is_none());
    assert_eq!(w.incidents().await, [(IncidentScope::Import, row.into())]);
    // The server counted already takes more.
    let again = w.import("lic1", &["bob@ws2"]).await;
    assert_eq!(again.failed, 0, "{:?}", again.errors);
}

#[tokio::test(flavor = "multi_thread")]
async fn model_2019_runtime_import_past_server_limit_refuses_import_and_creates_nothing() {
    import_past_server_limit(m2019(10, 1), "model_2019_runtime_import_past_server_limit").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn model_2013_runtime_import_past_server_limit_refuses_import_and_creates_nothing() {
    import_past_server_limit(
        m2013(10, 5, (10, 1)),
        "model_2013_runtime_import_past_server_limit",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn model_2013_runtime_user_limit_exceeded_restricts_and_disables_all_servers() {
    let w = World::new().await;
    let polled = w.polled("rt").await;
    let standing = w.licence(LicenceType::Perpetual, m2013(1, 5, (5, 5))).await;
    assert!(standing.restriction().is_none());
    w.app.hold_servers().await.expect("hold");
    // Two realtime users of today land on the polled server (its log imported).
    w.import("rt", &["ann@ws1", "bob@ws2"]).await;
    // No more logs are imported.
    let err = w
        .try_import("logs", &["ann@ws1"])
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("restricted access mode"), "{err}");
    let standing = w.app.licence().await.expect("standing");
    assert_eq!(standing.moment, Moment::RunTime);
    assert_restricted(
        &w,
        &standing,
        "model_2013_runtime_user_limit_exceeded",
        "2 realtime users in the last 14 days",
    )
    .await;
    w.app.hold_servers().await.expect("hold");
    let shown = w.server(polled).await;
    assert_eq!(shown.remote_status, RemoteStatus::Disabled);
    assert_eq!(shown.import_status, ImportStatus::Disabled);
    assert!(
        shown
            .remote_reason
            .as_deref()
            .is_some_and(|r| r.contains("Load a licence with a higher realtime user limit")),
        "{shown:?}"
    );
    assert!(w.app.store.server("logs").await.expect("read").is_none());
    // A licence with room lifts it, and the servers start over.
    w.licence(LicenceType::Perpetual, m2013(5, 5, (5, 5))).await;
    w.app.hold_servers().await.expect("hold");
    let shown = w.server(polled).await;
    assert_eq!(shown.remote_status, RemoteStatus::Verifying);
    assert_eq!(shown.import_status, ImportStatus::Ready);
}

#[tokio::test(flavor = "multi_thread")]
async fn model_2013_startup_user_limit_exceeded_starts_restricted() {
    let w = World::new().await;
    w.polled("rt").await;
    w.import("rt", &["ann@ws1", "bob@ws2"]).await;
    let standing = w.licence(LicenceType::Perpetual, m2013(1, 5, (5, 5))).await;
    assert_eq!(standing.moment, Moment::StartUp);
    assert_restricted(
        &w,
        &standing,
        "model_2013_startup_user_limit_exceeded",
        "User limit exceeded",
    )
    .await;
    // At start-up the servers are not shown Disabled (that is the run-time rows' outcome).
    w.app.hold_servers().await.expect("hold");
    let shown = w.app.store.server("rt").await.expect("read").expect("rt");
    assert_ne!(shown.remote_status, RemoteStatus::Disabled);
}

#[tokio::test(flavor = "multi_thread")]
async fn model_2013_startup_imported_user_limit_exceeded_starts_restricted() {
    let w = World::new().await;
    w.import("logs", &["ann@ws1", "bob@ws2"]).await;
    let standing = w.licence(LicenceType::Perpetual, m2013(5, 5, (1, 5))).await;
    assert_restricted(
        &w,
        &standing,
        "model_2013_startup_imported_user_limit_exceeded",
        "2 imported users over all history",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn model_2013_startup_server_limit_exceeded_starts_restricted() {
    let w = World::new().await;
    w.import("a", &["ann@ws1"]).await;
    w.import("b", &["ann@ws1"]).await;
    let standing = w.licence(LicenceType::Perpetual, m2013(5, 5, (5, 1))).await;
    assert_restricted(
        &w,
        &standing,
        "model_2013_startup_server_limit_exceeded",
        "2 license servers imported in the last 3 months",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn model_2013_startup_no_realtime_license_starts_restricted() {
    let w = World::new().await;
    let standing = w
        .licence(
            LicenceType::Perpetual,
            Limits::Model2013(Limits2013 {
                counting: Counting::Username,
                realtime_users: None,
                realtime_servers: None,
                import: true,
                imported_users: Some(5),
                imported_servers: Some(5),
            }),
        )
        .await;
    assert_restricted(
        &w,
        &standing,
        "model_2013_startup_no_realtime_license",
        "no realtime user and license server limits",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn model_2013_startup_invalid_license_starts_restricted() {
    let w = World::new().await;
    let standing = w
        .licence(
            LicenceType::Perpetual,
            Limits::Model2013(Limits2013 {
                counting: Counting::UserHost,
                realtime_users: Some(5),
                realtime_servers: Some(5),
                import: true,
                imported_users: None,
                imported_servers: Some(5),
            }),
        )
        .await;
    assert_restricted(
        &w,
        &standing,
        "model_2013_startup_invalid_license",
        "Import add-on is on but the imported user and server limits are not both given",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_licence_file_is_not_installed_and_the_community_licence_stays() {
    let w = World::new().await;
    let stranger = IssuerKey::from_seed([9; 32]);
    let text = Terms {
        licensee: "Example".into(),
        kind: LicenceType::Perpetual,
        start: NaiveDate::from_ymd_opt(2020, 1, 1).expect("day"),
        expiry: None,
        maintenance_end: None,
        version: licence::product().expect("product").version,
        limits: m2019(1, 1),
    }
    .issue(&stranger);
    let err = licence::install(&w.app, &Actor::operator(), &text)
        .await
        .expect_err("wrongly keyed");
    assert!(
        matches!(err, licence::LicenceChangeError::Refused(_)),
        "{err:?}"
    );
    assert!(
        w.app
            .store
            .installed_licence()
            .await
            .expect("read")
            .is_none()
    );
    assert!(
        w.app
            .licence()
            .await
            .expect("standing")
            .licence
            .is_community()
    );
    // A viewer may not install one.
    let viewer = Actor {
        name: "vic".into(),
        role: Role::Viewer,
    };
    let err = licence::install(&w.app, &viewer, &text)
        .await
        .expect_err("viewer");
    assert!(
        matches!(err, licence::LicenceChangeError::Access(_)),
        "{err:?}"
    );
}

/// The scheduler carries the decisions out: the server past the limit shows "License
/// Exceeded" and is never polled while the other is; in restricted access mode nothing is.
#[tokio::test(flavor = "multi_thread")]
async fn the_scheduler_polls_admitted_servers_only_and_nothing_in_restricted_access_mode() {
    let w = World::new().await;
    let every_second = |name: &str| ServerConfig {
        host: Some("lic".into()),
        port: Some(27000),
        poll_format: Some("flexlm-lmstat".into()),
        query_interval: 1,
        ..ServerConfig::imported(name, "flexlm")
    };
    let a = w.app.store.add_server(every_second("a")).await.expect("a");
    let b = w.app.store.add_server(every_second("b")).await.expect("b");
    w.licence(LicenceType::Perpetual, m2019(10, 1)).await;
    w.status("11.13.0", &["ann@ws1"]);
    let World { mut app, dir } = w;
    app.min_interval = std::time::Duration::from_millis(100);
    let app = Arc::new(app);
    let scheduler = tokio::spawn(tally_app::scheduler::run(
        app.clone(),
        std::future::pending(),
    ));
    let server = |id| {
        let app = app.clone();
        async move { app.store.server_by_id(id).await.expect("server") }
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while server(a).await.last_poll.is_none() {
        assert!(std::time::Instant::now() < deadline, "a was never polled");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let b_now = server(b).await;
    assert_eq!(b_now.remote_status, RemoteStatus::LicenseExceeded);
    assert_eq!(b_now.last_poll, None);

    // No user allowed: restricted access mode (installed as an administrator may, always).
    let standing = licence::install(
        &app,
        &Actor::operator(),
        &Terms {
            licensee: "Example".into(),
            kind: LicenceType::Perpetual,
            start: NaiveDate::from_ymd_opt(2020, 1, 1).expect("day"),
            expiry: None,
            maintenance_end: None,
            version: licence::product().expect("product").version,
            limits: m2019(0, 1),
        }
        .issue(&key()),
    )
    .await
    .expect("install");
    assert!(standing.restriction().is_some());
    // A poll already under way may still land; then nothing more.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let polled = server(a).await.last_poll;
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(
        server(a).await.last_poll,
        polled,
        "polled in restricted access mode"
    );
    assert_eq!(server(b).await.last_poll, None);
    scheduler.abort();
    drop(dir);
}

/// A licence of `limits` with its dates and version changed by `change`.
async fn installed_with(
    w: &World,
    limits: Limits,
    change: impl FnOnce(&mut Terms),
) -> Arc<Standing> {
    let mut terms = Terms {
        licensee: "Example".into(),
        kind: LicenceType::Perpetual,
        start: NaiveDate::from_ymd_opt(2020, 1, 1).expect("day"),
        expiry: None,
        maintenance_end: None,
        version: licence::product().expect("product").version,
        limits,
    };
    change(&mut terms);
    w.licence_terms(terms).await
}

#[tokio::test(flavor = "multi_thread")]
async fn model_2013_startup_version_mismatch_starts_restricted() {
    let w = World::new().await;
    let standing = installed_with(&w, m2013(5, 5, (5, 5)), |t| {
        t.version = DottedVersion::parse("0.0.1").expect("version");
    })
    .await;
    assert_restricted(
        &w,
        &standing,
        "model_2013_startup_version_mismatch",
        "Version mismatch",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn model_2013_startup_maintenance_expired_starts_restricted() {
    let w = World::new().await;
    let released = licence::product().expect("product").released;
    let standing = installed_with(&w, m2013(5, 5, (5, 5)), |t| {
        t.maintenance_end = released.pred_opt();
    })
    .await;
    assert_restricted(
        &w,
        &standing,
        "model_2013_startup_maintenance_expired",
        "Maintenance expired",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn model_2013_startup_trial_data_before_start_starts_restricted() {
    let w = World::new().await;
    w.import("logs", &["ann@ws1"]).await;
    let standing = installed_with(&w, m2013(5, 5, (5, 5)), |t| {
        t.kind = LicenceType::Trial;
        t.start = today().succ_opt().expect("tomorrow");
        t.expiry = today().checked_add_days(chrono::Days::new(30));
    })
    .await;
    assert_restricted(
        &w,
        &standing,
        "model_2013_startup_trial_data_before_start",
        "data from before the trial started",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn model_2013_startup_license_expired_starts_restricted() {
    let w = World::new().await;
    let standing = installed_with(&w, m2013(5, 5, (5, 5)), |t| {
        t.kind = LicenceType::University;
        t.expiry = today().pred_opt();
    })
    .await;
    assert_restricted(
        &w,
        &standing,
        "model_2013_startup_license_expired",
        "the licence expired",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn model_2019_runtime_host_limit_exceeded_restricts() {
    let w = World::new().await;
    assert!(
        w.licence(LicenceType::Perpetual, m2019(2, 10))
            .await
            .restriction()
            .is_none()
    );
    // Imports are not judged against the host limit: one user on three hosts passes it.
    w.import("lic1", &["ann@ws1", "ann@ws2", "ann@ws3"]).await;
    let standing = w.app.licence().await.expect("standing");
    assert_eq!(standing.moment, Moment::RunTime);
    assert_restricted(
        &w,
        &standing,
        "model_2019_runtime_host_limit_exceeded",
        "3 hosts in the database",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn model_2013_runtime_imported_user_limit_exceeded_restricts_and_disables_all_servers() {
    let w = World::new().await;
    let polled = w.polled("rt").await;
    assert!(
        w.licence(LicenceType::Perpetual, m2013(5, 5, (1, 5)))
            .await
            .restriction()
            .is_none()
    );
    w.import("logs", &["ann@ws1", "bob@ws2"]).await;
    let standing = w.app.licence().await.expect("standing");
    assert_restricted(
        &w,
        &standing,
        "model_2013_runtime_imported_user_limit_exceeded",
        "2 imported users over all history",
    )
    .await;
    w.app.hold_servers().await.expect("hold");
    assert_eq!(w.server(polled).await.remote_status, RemoteStatus::Disabled);
    let logs = w
        .app
        .store
        .server("logs")
        .await
        .expect("read")
        .expect("logs");
    assert_eq!(logs.import_status, ImportStatus::Disabled);
}
