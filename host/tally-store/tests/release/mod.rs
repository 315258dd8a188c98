//! The previous release's history and figures: what `tests/upgrade.rs` upgrades. Uses only the
//! store API that release had, so that [`make`] can run on it (see there).
#![allow(dead_code)]

use std::path::Path;

use serde_json::{Value, json};
use tally_core::snapshot::{Checkout, Feature, FeatureKind, LicenseServer, ServerStatus, Snapshot};
use tally_core::{
    Batch, Denial, DenialKind, EndReason, PollResult, Queued, ServerEvent, ServerEventKind, Session,
};
use tally_store::testing::{Backend, TestDb};
use tally_store::{
    Checkpoint, FileIdentity, NewImport, RollupFilter, RunStatus, ServerConfig, Store,
};

pub const RELEASE: &str = "release-f80905b";
/// The last migration of that release.
pub const RELEASE_SCHEMA: i64 = 8;
/// 2024-03-04T00:00:00Z, a Monday.
pub const T0: i64 = 1_709_510_400;

pub fn file_stem(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
        Backend::MySql => "mysql",
    }
}

/// The history the fixture holds: a log imported in three batches over three days (sessions,
/// a denial, a queued request, server events), and a polled server seen by six polls.
pub async fn write_history(store: &Store) {
    let imported = store
        .ensure_server("lic-import", "flexlm")
        .await
        .expect("server");
    let run = store
        .start_import(NewImport {
            server_id: imported,
            format: "flexlm-debuglog".into(),
            plugin: "flexlm-log".into(),
            plugin_version: "0.1.0".into(),
            path: "/var/log/lmgrd.log".into(),
            identity: FileIdentity {
                head_len: 64,
                head_hash: "f".repeat(64),
            },
        })
        .await
        .expect("run");
    for day in 0..3_i64 {
        let at = |h: i64, m: i64| T0 + day * 86_400 + h * 3600 + m * 60;
        let users = ["ann", "bob", "cat", "dan"];
        let mut strings: Vec<String> = [
            "acme",
            "solver",
            "mesher",
            "ws1",
            "ws2",
            "all licenses in use",
        ]
        .map(String::from)
        .to_vec();
        strings.extend(users.map(String::from));
        strings.push("lmgrd started".into());
        let session = |feature, user, host, start, end, count| Session {
            vendor: 0,
            feature,
            user,
            host,
            count,
            start,
            end,
            end_reason: EndReason::Checkin,
            project: None,
        };
        let batch = Batch {
            sessions: vec![
                session(1, 6, 3, at(8, 0), at(12, 30), 1),
                session(1, 7, 4, at(9, 15), at(17, 45), 2),
                session(2, 8, 3, at(10, 0), at(10, 50), 1),
                session(1, 9, 4, at(23, 10), at(23, 10) + 7200, 1),
                session(2, 6, 3, at(13, 0), at(16, 0), 1),
            ],
            denials: vec![Denial {
                vendor: 0,
                feature: 1,
                user: 8,
                host: 4,
                count: 1,
                time: at(11, 5),
                kind: DenialKind::Denied,
                code: None,
                reason: Some(5),
                requested_version: None,
                until: None,
            }],
            queued: vec![Queued {
                vendor: 0,
                feature: 2,
                user: 9,
                host: 3,
                count: 1,
                time: Some(at(10, 20)),
            }],
            server_events: vec![ServerEvent {
                time: at(7, 0),
                kind: ServerEventKind::ServerStart,
                daemon: 0,
                text: 10,
            }],
            strings,
            ..Batch::default()
        };
        store
            .commit_batch(
                run,
                imported,
                batch,
                Checkpoint {
                    offset: 1000 * (day as u64 + 1),
                    last_line_hash: format!("line-{day}"),
                    state: vec![day as u8, 0xff],
                    lines: 100 * (day as u64 + 1),
                },
            )
            .await
            .expect("queued")
            .await
            .expect("writer")
            .expect("commit");
    }
    store
        .finish_import(run, RunStatus::Complete, None)
        .await
        .expect("finish");

    let polled = store
        .add_server(ServerConfig {
            host: Some("lic2.example".into()),
            port: Some(27000),
            poll_format: Some("flexlm-lmstat".into()),
            ..ServerConfig::imported("lic-poll", "flexlm")
        })
        .await
        .expect("polled server");
    let holders: [&[&str]; 6] = [
        &["ann"],
        &["ann", "bob"],
        &["bob"],
        &[],
        &["cat", "dan", "ann"],
        &["dan"],
    ];
    for (i, who) in holders.iter().enumerate() {
        let at = T0 + 3600 * 9 + 300 * i as i64;
        store
            .record_poll(polled, at, PollResult::Answered(snapshot(who)).into())
            .await
            .expect("poll");
    }
}

pub fn snapshot(holders: &[&str]) -> Snapshot {
    Snapshot {
        servers: vec![LicenseServer {
            host: "lic2.example".into(),
            port: Some(27000),
            status: ServerStatus::Up,
            version: Some("v11.19.0".into()),
            vendor_daemons: vec![],
            message: None,
        }],
        features: vec![Feature {
            name: "cad".into(),
            vendor: "acme".into(),
            version: None,
            pool: None,
            issued: Some(4),
            in_use: holders.len() as u32,
            expiry: None,
            kind: FeatureKind::Floating,
        }],
        checkouts: holders
            .iter()
            .map(|u| Checkout {
                feature: "cad".into(),
                vendor: "acme".into(),
                user: (*u).into(),
                host: format!("pc-{u}"),
                display: None,
                count: 1,
                start: None,
                handle: None,
                linger: None,
                borrowed: false,
            })
            .collect(),
        ..Snapshot::default()
    }
}

/// What the store reports on the history: row counts, hourly and per-user rollups, the hours
/// logging was on, the runs and the polled server's sessions and samples.
pub async fn figures(store: &Store) -> Value {
    let all = RollupFilter::default();
    let mut servers = serde_json::Map::new();
    for name in ["lic-import", "lic-poll"] {
        let server = store
            .server(name)
            .await
            .expect("read server")
            .expect("the fixture's server");
        let logged = store
            .logged_hours(server.id, None, None)
            .await
            .expect("logged hours");
        servers.insert(
            name.into(),
            json!({
                "id": server.id,
                "logged_hours": logged.hours().collect::<Vec<_>>(),
                "runs": store.import_runs(server.id).await.expect("runs"),
                "sessions": store.sessions(server.id).await.expect("sessions"),
                "samples": store.usage_samples(server.id).await.expect("samples"),
            }),
        );
    }
    let (hour_totals, hour_keys) = store.hour_totals(&all).await.expect("hour totals");
    json!({
        "totals": store.row_counts().await.expect("totals"),
        "hour_rollups": store.hour_rollups(&all).await.expect("hour rollups"),
        "hour_totals": hour_totals,
        "hour_total_keys": hour_keys,
        "user_totals": store.user_totals(&all).await.expect("user totals"),
        "features": store.features(None).await.expect("features"),
        "servers": servers,
    })
}

/// Makes the fixture of a release into `out`: each backend gets the history of
/// [`write_history`]; its dump (`sqlite3 .dump`, `pg_dump`, `mariadb-dump`) and the figures that
/// release reports on it (the same on all three) are written there. Run on that release's code, with this folder and a
/// test calling it copied into its `host/tally-store/tests/`, all three backends up
/// (`eval "$(bash .ci/run databases)"`), `sqlite3`, `pg_dump` and `mariadb-dump` installed.
pub async fn make(out: &Path) {
    std::fs::create_dir_all(out).expect("fixture dir");
    let mut reported: Option<Value> = None;
    for backend in [Backend::Sqlite, Backend::Postgres, Backend::MySql] {
        let name = format!("tally_fixture_{}", file_stem(backend));
        let db = TestDb::named(backend, &name).await.expect("every backend");
        let store = Store::open(&db.url).await.expect("open");
        write_history(&store).await;
        let figures = figures(&store).await;
        store.close().await;
        // One set of figures: every backend reports the same history the same.
        match &reported {
            Some(first) => assert_eq!(&figures, first, "{backend:?} reports otherwise"),
            None => reported = Some(figures),
        }
        let dump = dump(backend, &db.url);
        std::fs::write(out.join(format!("{}.sql", file_stem(backend))), dump).expect("write dump");
        db.remove().await;
    }
    let figures = reported.expect("figures");
    std::fs::write(
        out.join("figures.json"),
        serde_json::to_string_pretty(&figures).expect("JSON") + "\n",
    )
    .expect("write figures");
}

fn dump(backend: Backend, url: &str) -> String {
    use std::process::Command;
    let mut cmd = match backend {
        Backend::Sqlite => {
            let mut c = Command::new("sqlite3");
            c.arg(url.strip_prefix("sqlite://").expect("path"))
                .arg(".dump");
            c
        }
        Backend::Postgres => {
            let mut c = Command::new("pg_dump");
            c.args([
                "--no-owner",
                "--no-privileges",
                "--no-comments",
                "--inserts",
            ])
            .arg(format!("--dbname={url}"));
            c
        }
        Backend::MySql => {
            // mysql://USER:PASSWORD@HOST:PORT/DATABASE, as tally_store::testing makes them.
            let rest = url.strip_prefix("mysql://").expect("a mysql:// URL");
            let (login, place) = rest.rsplit_once('@').expect("USER:PASSWORD@");
            let (user, password) = login.split_once(':').unwrap_or((login, ""));
            let (host_port, database) = place.split_once('/').expect("/DATABASE");
            let (host, port) = host_port.split_once(':').unwrap_or((host_port, "3306"));
            let mut c = Command::new("mariadb-dump");
            c.args([
                "--protocol=tcp",
                "--skip-comments",
                "--skip-dump-date",
                "--hex-blob",
                "--skip-add-locks",
                "--skip-disable-keys",
                "--skip-set-charset",
                "--skip-tz-utc",
            ])
            .arg(format!("--host={host}"))
            .arg(format!("--port={port}"))
            .arg(format!("--user={user}"))
            .arg(format!("--password={password}"))
            .arg(database.split('?').next().unwrap_or(database));
            c
        }
    };
    let out = cmd.output().expect("running the dump tool");
    assert!(
        out.status.success(),
        "{:?}: {}",
        cmd.get_program(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 dump")
}
