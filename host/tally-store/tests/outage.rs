//! The database server going away and coming back (a restart, a network cut), on PostgreSQL and
//! MariaDB: the store reaches it through a TCP relay the test cuts. While it is away each write
//! fails with a clear error (nothing half-written); once it is back, writes resume on a new
//! connection without restarting Tally, and what was committed before and after is all there,
//! once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tally_core::{Batch, EndReason, Session};
use tally_store::testing::{Backend, TestDb};
use tally_store::{Checkpoint, FileIdentity, NewImport, Store};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

/// Relays connections to `target` until cut: cutting drops every open connection and refuses
/// new ones (accepted, then closed at once) until restored.
struct Relay {
    port: u16,
    cut: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Relay {
    async fn start(target: String) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let cut = Arc::new(AtomicBool::new(false));
        let links: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (is_cut, all) = (cut.clone(), links.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if is_cut.load(Ordering::SeqCst) {
                    continue; // dropped: closed at once
                }
                let target = target.clone();
                all.lock().await.push(tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                }));
            }
        });
        Relay { port, cut, links }
    }

    async fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for link in self.links.lock().await.drain(..) {
            link.abort();
        }
    }

    fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

/// `url`'s `host:port`, and `url` with them replaced by the relay's.
fn through(url: &str, port: u16) -> (String, String) {
    let (scheme, rest) = url.split_once("://").expect("scheme");
    let (credentials, rest) = rest.rsplit_once('@').expect("credentials");
    let (address, path) = rest.split_once('/').unwrap_or((rest, ""));
    (
        address.to_string(),
        format!("{scheme}://{credentials}@127.0.0.1:{port}/{path}"),
    )
}

fn batch(start: i64) -> Batch {
    Batch {
        strings: ["acme", "solver", "ann", "ws1"].map(String::from).to_vec(),
        sessions: vec![Session {
            vendor: 0,
            feature: 1,
            user: 2,
            host: 3,
            count: 1,
            start,
            end: start + 600,
            end_reason: EndReason::Checkin,
            project: None,
        }],
        lines: 2,
        ..Batch::default()
    }
}

async fn commit(store: &Store, run: i64, server: i64, start: i64) -> Result<(), String> {
    let checkpoint = Checkpoint {
        offset: start as u64,
        last_line_hash: format!("{start}"),
        state: vec![],
        lines: 2,
    };
    let answer = store
        .commit_batch(run, server, batch(start), checkpoint)
        .await
        .map_err(|e| e.to_string())?;
    match answer.await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the writer dropped the answer".into()),
    }
}

async fn the_database_going_away_and_back(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let relay = Relay::start(through(&db.url, 0).0).await;
    let (_, url) = through(&db.url, relay.port);
    let store = Store::open(url.as_str())
        .await
        .expect("open through the relay");
    let server = store
        .ensure_server("lic1", "flexlm-debuglog")
        .await
        .expect("server");
    let run = store
        .start_import(NewImport {
            server_id: server,
            format: "flexlm-debuglog".into(),
            plugin: "flexlm-log".into(),
            plugin_version: "0.1.0".into(),
            path: "/var/log/lmgrd.log".into(),
            identity: FileIdentity {
                head_len: 4,
                head_hash: "h".into(),
            },
        })
        .await
        .expect("run");
    commit(&store, run, server, 1_000).await.expect("before");

    relay.cut().await;
    let away = commit(&store, run, server, 2_000).await;
    let error = away.expect_err("the database is away");
    assert!(error.contains("database error"), "{error}");
    assert!(!error.contains(&db.url), "no URL, no password: {error}");
    // Still away: failing again, at once.
    assert!(commit(&store, run, server, 2_000).await.is_err());

    relay.restore();
    let mut outcome = Err(String::new());
    for _ in 0..3 {
        outcome = commit(&store, run, server, 2_000).await;
        if outcome.is_ok() {
            break;
        }
    }
    outcome.expect("writes resume once the database is back");
    commit(&store, run, server, 3_000).await.expect("and go on");

    let sessions = store.sessions(server).await.expect("sessions");
    let starts: Vec<i64> = sessions.iter().map(|s| s.start).collect();
    assert_eq!(starts, [1_000, 2_000, 3_000], "each batch once");
    store.close().await;
    relay.cut().await;
    db.remove().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_going_away_and_back_loses_and_doubles_nothing() {
    the_database_going_away_and_back(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mariadb_going_away_and_back_loses_and_doubles_nothing() {
    the_database_going_away_and_back(Backend::MySql).await;
}
