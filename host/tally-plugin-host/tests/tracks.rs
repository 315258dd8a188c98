//! The WIT tracks: components built on 0.1.0, 0.2.0 and 0.3.0 keep loading and importing
//! through the adapters onto 0.4.0; importers state capacity (0.4.0); a run in a server's time
//! zone reads every track's times in it; `sniff` (0.2.0 on) names the format it saw; http pollers (0.2.0 on)
//! reach the hosts declared and granted, and nothing else.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tally_core::capacity::CapacitySource;
use tally_core::zone::Zone;
use tally_plugin_artifacts as artifacts;
use tally_plugin_host::{
    CallError, Capabilities, ImportConfig, ImportRun, LoadError, LoadedPlugin, Manifest,
    PluginEngine, Registry, Sniff, World,
};

fn registry_with(dirs: &[&str]) -> Registry {
    let registry = Registry::new(PluginEngine::new(None).expect("engine"));
    for dir in dirs {
        registry
            .add_dir(Path::new(dir))
            .unwrap_or_else(|e| panic!("loading {dir}: {e}"));
    }
    registry
}

#[test]
fn a_0_1_0_component_loads_sniffs_and_imports_through_the_adapter() {
    let registry = registry_with(&[artifacts::TRACK_V010, artifacts::FLEXLM_LOG]);
    let plugin = registry.get("track-v010").expect("loaded");
    assert_eq!(plugin.track.to_string(), "0.1.0");
    assert_eq!(plugin.info.formats, ["v010-log", "v010-other"]);

    let log = "V010\nalice solver 1700000000 1700003600\nnot a session\nbob mesher 1700000100 1700000200\n";
    // 0.1.0's sniff gives only a confidence: it names the plugin's first format.
    let expected = Sniff {
        format: "v010-log".into(),
        confidence: 0.8,
    };
    assert_eq!(plugin.sniff(log.as_bytes()), Ok(Some(expected.clone())));
    assert_eq!(plugin.sniff(b"something else\n"), Ok(None));
    let (detected, sniffed) = registry
        .detect(World::Importer, log.as_bytes())
        .expect("claimed");
    assert_eq!((detected.id(), sniffed), ("track-v010", expected));

    let mut run = ImportRun::begin(plugin.clone(), &ImportConfig::default()).expect("begin");
    let batch = run.feed(log.as_bytes()).expect("feed");
    let sessions: Vec<_> = batch
        .sessions
        .iter()
        .map(|s| (batch.str(s.user), batch.str(s.feature), s.end - s.start))
        .collect();
    assert_eq!(
        sessions,
        [("alice", "solver", 3600), ("bob", "mesher", 100)]
    );
    assert_eq!(batch.lines, 4);
    assert_eq!(batch.diagnostics.len(), 1);
    assert_eq!(batch.diagnostics[0].line, 3);
    assert_eq!(run.finish().expect("finish").lines, 4);
    // A guest's own refusal crosses the adapter as itself.
    let resume = ImportConfig {
        resume: Some(vec![1]),
        ..ImportConfig::default()
    };
    let refused = ImportRun::begin(plugin.clone(), &resume).map(|_| ());
    assert_eq!(
        refused,
        Err(CallError::Unsupported {
            plugin: "track-v010".into(),
            message: "no resume".into()
        })
    );
    // A 0.1.0 component has no `poll`: refused by the host, not the guest.
    let error = plugin.poll("127.0.0.1", Some(1), 0).expect_err("no poll");
    assert_eq!(
        error.to_string(),
        "plugin `track-v010` cannot be used: only a poller on WIT 0.2.0 or later can poll over http (this is importer on WIT 0.1.0)"
    );
}

#[test]
fn a_0_2_0_component_imports_its_denials_as_instants() {
    let registry = registry_with(&[artifacts::TRACK_V020]);
    let plugin = registry.get("track-v020").expect("loaded");
    assert_eq!(plugin.track.to_string(), "0.2.0");
    let log = "V020\nalice solver 1700000000\nnot a denial\n";
    let (detected, sniffed) = registry
        .detect(World::Importer, log.as_bytes())
        .expect("claimed");
    assert_eq!(
        (detected.id(), sniffed.format.as_str()),
        ("track-v020", "v020-log")
    );

    let mut run = ImportRun::begin(plugin.clone(), &ImportConfig::default()).expect("begin");
    let batch = run.feed(log.as_bytes()).expect("feed");
    let denials: Vec<_> = batch
        .denials
        .iter()
        .map(|d| (batch.str(d.user), batch.str(d.feature), d.time, d.until))
        .collect();
    // 0.2.0 has no `until`: every denial is a refusal at its time.
    assert_eq!(denials, [("alice", "solver", 1_700_000_000, None)]);
    assert_eq!((batch.lines, batch.diagnostics.len()), (3, 1));
    assert_eq!(run.finish().expect("finish").lines, 3);
}

/// 2026-07-01T09:00 as wall-clock seconds (read as UTC), and 10:00.
const JULY_9: i64 = 1_782_896_400;
/// 2026-01-15T12:00Z: a winter modification time (New York at −05:00).
const WINTER: i64 = 1_768_478_400;

#[test]
fn a_0_3_0_component_imports_through_the_adapter_and_in_a_zone() {
    let registry = registry_with(&[artifacts::TRACK_V030]);
    let plugin = registry.get("track-v030").expect("loaded");
    assert_eq!(plugin.track.to_string(), "0.3.0");
    let log = format!(
        "V030\nalice solver {JULY_9} {}\nnot a session\n",
        JULY_9 + 3_600
    );
    let config = ImportConfig {
        utc_offset: 3_600,
        modified: Some(WINTER),
        ..ImportConfig::default()
    };
    let mut run = ImportRun::begin(plugin.clone(), &config).expect("begin");
    let batch = run.feed(log.as_bytes()).expect("feed");
    // Converted by the guest with the offset it was told; a 0.3.0 batch states no capacity.
    assert_eq!(batch.sessions[0].start, JULY_9 - 3_600);
    assert!(batch.capacities.is_empty());
    assert_eq!((batch.lines, batch.diagnostics.len()), (3, 1));

    // In New York: the guest is told the zone's offset at the file's date (winter, −05:00)
    // and the host re-reads its times in the zone: 09:00 EDT is 13:00Z.
    let zone = Zone::parse("America/New_York").expect("zone");
    let mut run = ImportRun::begin_in_zone(plugin.clone(), &config, zone).expect("begin");
    let batch = run.feed(log.as_bytes()).expect("feed");
    assert_eq!(
        (batch.sessions[0].start, batch.sessions[0].end),
        (JULY_9 + 4 * 3_600, JULY_9 + 5 * 3_600)
    );
}

#[test]
fn a_0_4_0_importer_states_capacity_and_reads_local_times_in_a_zone() {
    let registry = registry_with(&[artifacts::LICENSE_FILE]);
    let plugin = registry.get("license-file").expect("loaded");
    assert_eq!(plugin.track.to_string(), "0.4.0");
    let file = "SERVER lic1 ANY 27000\nVENDOR demo\nINCREMENT solver demo 1.0 30-jun-2026 5 START=1-jan-2026 SIGN=X\n";
    let (detected, sniffed) = registry
        .detect(World::Importer, file.as_bytes())
        .expect("claimed");
    assert_eq!(
        (detected.id(), sniffed.format.as_str()),
        ("license-file", "flexlm-license")
    );
    let config = ImportConfig {
        modified: Some(WINTER),
        ..ImportConfig::default()
    };
    let mut run = ImportRun::begin(plugin.clone(), &config).expect("begin");
    let mut batch = run.feed(file.as_bytes()).expect("feed");
    batch
        .capacities
        .extend(run.finish().expect("finish").capacities);
    let c = &batch.capacities[0];
    assert_eq!(
        (
            batch.str(c.feature),
            batch.str(c.vendor),
            c.issued,
            c.source
        ),
        ("solver", "demo", Some(5), CapacitySource::LicenseFile)
    );
    // Local midnights, read as UTC without a zone: 2026-01-01 and 2026-07-01.
    assert_eq!(
        (c.from, c.expiry),
        (Some(1_767_225_600), Some(1_782_864_000))
    );

    // In New York: local midnight of 1 January is 05:00Z (EST), of 1 July 04:00Z (EDT).
    let zone = Zone::parse("America/New_York").expect("zone");
    let mut run = ImportRun::begin_in_zone(plugin, &config, zone).expect("begin");
    let batch = run.feed(file.as_bytes()).expect("feed");
    let c = &batch.capacities[0];
    assert_eq!(
        (c.from, c.expiry),
        (
            Some(1_767_225_600 + 5 * 3_600),
            Some(1_782_864_000 + 4 * 3_600)
        )
    );
}

#[test]
fn a_0_2_0_poller_loads_and_parses_through_the_adapter() {
    let granted = Capabilities {
        commands: vec!["v020stat".into()],
        http: vec![],
    };
    let plugin = load(artifacts::TRACK_V020_POLLER, &granted, |manifest| manifest).expect("loaded");
    assert_eq!(plugin.track.to_string(), "0.2.0");
    let snapshot = plugin
        .parse_status(b"solver 4 1\nmesher 2 0\n", 1_700_000_000)
        .expect("parsed");
    assert_eq!(
        features(&snapshot),
        [("solver", Some(4), 1), ("mesher", Some(2), 0)]
    );
    // Its own `poll` answers `unsupported`: 0.2.0 pollers may poll over http.
    let error = plugin
        .poll("127.0.0.1", Some(1), 0)
        .expect_err("a command poller");
    assert_eq!(
        error,
        CallError::Unsupported {
            plugin: "track-v020-poller".into(),
            message: "a command poller".into()
        }
    );
}

#[test]
fn sniff_names_the_format_of_a_multi_format_plugin() {
    let registry = registry_with(&[artifacts::DSLS_LOG, artifacts::FLEXLM_LOG]);
    let cloud =
        r#"{"result":{"firstDate":1,"rows":["2025/09/06 04:39:56:281 I USGTRACING  Grant!! ...", "#;
    let lines =
        "2025/08/18 08:28:06:989 I STARTSERVER Server version 6.426.0 built on Sep 5, 2023\n";
    for (head, format) in [(cloud, "dsls-cloud-json"), (lines, "dsls-log")] {
        let (plugin, sniffed) = registry
            .detect(World::Importer, head.as_bytes())
            .unwrap_or_else(|| panic!("{format} is claimed"));
        assert_eq!(
            (plugin.id(), plugin.track.to_string()),
            ("dsls-log", "0.4.0".into())
        );
        assert_eq!(sniffed.format, format);
        assert!(sniffed.confidence >= 0.9, "{sniffed:?}");
    }
}

/// How a test server's `/status` answers.
#[derive(Clone, Copy)]
enum Page {
    /// Two features.
    Good,
    /// Not within any deadline.
    Slow,
    /// One byte more than the host accepts.
    Big,
    /// A redirect to another server.
    Redirect,
}

/// A license manager's status web server on 127.0.0.1 that counts its requests.
struct StatusServer {
    port: u16,
    hits: Arc<AtomicUsize>,
    _runtime: tokio::runtime::Runtime,
}

impl StatusServer {
    fn start(page: Page) -> StatusServer {
        use axum::response::{IntoResponse, Redirect, Response};
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = hits.clone();
        let handler = move || {
            counted.fetch_add(1, Ordering::SeqCst);
            async move {
                let response: Response = match page {
                    Page::Good => "solver 4 1\nmesher 2 0\n".into_response(),
                    Page::Slow => {
                        tokio::time::sleep(Duration::from_secs(30)).await;
                        "late".into_response()
                    }
                    Page::Big => {
                        vec![b'x'; tally_plugin_host::MAX_RESPONSE_BODY + 1].into_response()
                    }
                    Page::Redirect => {
                        Redirect::temporary("http://elsewhere.invalid/status").into_response()
                    }
                };
                response
            }
        };
        let app = axum::Router::new().route("/status", axum::routing::get(handler));
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let port = listener.local_addr().expect("address").port();
        runtime.spawn(async move { axum::serve(listener, app).await });
        StatusServer {
            port,
            hits,
            _runtime: runtime,
        }
    }

    fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Polls it with the http-poller guest, declared and granted this server's address.
    fn poll(&self) -> Result<tally_core::Snapshot, CallError> {
        let address = self.address();
        let plugin = http_poller(&address, std::slice::from_ref(&address)).expect("granted");
        plugin.poll("127.0.0.1", Some(self.port), 1_700_000_000)
    }
}

/// The http-poller test guest, its manifest declaring `declared`, loaded with `granted`.
fn http_poller(declared: &str, granted: &[String]) -> Result<Arc<LoadedPlugin>, LoadError> {
    let granted = Capabilities {
        commands: vec![],
        http: granted.to_vec(),
    };
    load(artifacts::HTTP_POLLER, &granted, |text| {
        assert!(text.contains("status.invalid:8080"), "{text}");
        text.replace("status.invalid:8080", declared)
    })
    .inspect(|plugin| {
        assert!(
            plugin.manifest.command.is_empty(),
            "an http poller runs no command"
        )
    })
}

/// The packaged plugin in `dir`, its manifest text changed by `edit`, loaded with `granted`.
fn load(
    dir: &str,
    granted: &Capabilities,
    edit: impl FnOnce(String) -> String,
) -> Result<Arc<LoadedPlugin>, LoadError> {
    let dir = Path::new(dir);
    let text = std::fs::read_to_string(dir.join("plugin.toml")).expect("manifest");
    let manifest = Manifest::parse(&edit(text), "test").expect("valid manifest");
    let component = std::fs::read(dir.join(&manifest.component)).expect("component");
    LoadedPlugin::load(
        &PluginEngine::new(None).expect("engine"),
        manifest,
        &component,
        granted,
    )
}

/// A snapshot's features as (name, issued, in use).
fn features(snapshot: &tally_core::Snapshot) -> Vec<(&str, Option<u32>, u32)> {
    snapshot
        .features
        .iter()
        .map(|f| (f.name.as_str(), f.issued, f.in_use))
        .collect()
}

#[test]
fn an_http_poller_reaches_its_granted_host_and_nothing_else() {
    let server = StatusServer::start(Page::Good);
    let address = server.address();
    let plugin = http_poller(&address, std::slice::from_ref(&address)).expect("granted");
    assert_eq!(plugin.track.to_string(), "0.4.0");

    let snapshot = plugin
        .poll("127.0.0.1", Some(server.port), 1_700_000_000)
        .expect("polled");
    assert_eq!(
        features(&snapshot),
        [("solver", Some(4), 1), ("mesher", Some(2), 0)]
    );
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);

    // The same server under another name is another host: refused before any connection.
    let error = plugin
        .poll("localhost", Some(server.port), 1_700_000_000)
        .expect_err("not granted");
    assert_eq!(
        error.to_string(),
        format!(
            "plugin `http-poller` does not support this: http: http `localhost:{port}` is not granted to plugin `http-poller`: declare it under [capabilities] http in plugin.toml and have the operator grant it under [http-poller] in grants.toml",
            port = server.port
        )
    );
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
    // A refusal is an answer, not a trap.
    assert_eq!(plugin.health().consecutive_traps, 0);
}

#[test]
fn an_http_poller_without_its_grant_does_not_load() {
    let address = "127.0.0.1:5054";
    let error = http_poller(address, &[]).map(|_| ()).expect_err("no grant");
    assert!(matches!(error, LoadError::NotGranted { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "plugin `http-poller` needs http `127.0.0.1:5054`, not granted to it (the operator grants it under [http-poller] in grants.toml)"
    );
    // Granting another host is no grant either.
    let error = http_poller(address, &["127.0.0.1:5055".into()])
        .map(|_| ())
        .expect_err("another grant");
    assert!(matches!(error, LoadError::NotGranted { .. }), "{error:?}");
}

#[test]
fn http_is_bounded_in_time_and_size_and_follows_no_redirect() {
    // A redirect reaches the guest as it is: following it could leave the granted hosts.
    let redirect = StatusServer::start(Page::Redirect);
    assert_eq!(
        redirect.poll().map_err(|e| e.to_string()),
        Err("plugin `http-poller` rejected the input: http: answered HTTP 307".into())
    );
    assert_eq!(redirect.hits.load(Ordering::SeqCst), 1);

    let big = StatusServer::start(Page::Big);
    assert_eq!(
        big.poll().map_err(|e| e.to_string()),
        Err(format!(
            "plugin `http-poller` rejected the input: http: answer larger than {} bytes",
            tally_plugin_host::MAX_RESPONSE_BODY
        ))
    );

    // The request ends at the call's deadline (the manifest's 2,000 ms): the guest is told
    // `timeout`, or stopped by the deadline if it runs on past it.
    let slow = StatusServer::start(Page::Slow);
    let started = Instant::now();
    let outcome = slow.poll();
    let elapsed = started.elapsed();
    let timed_out = CallError::BadInput {
        plugin: "http-poller".into(),
        message: "http: no answer in time".into(),
    };
    let stopped = CallError::Deadline {
        plugin: "http-poller".into(),
        limit_ms: 2000,
    };
    match outcome {
        Err(e) if e == timed_out || e == stopped => {}
        other => panic!("{other:?}"),
    }
    assert!(
        elapsed >= Duration::from_millis(1900) && elapsed < Duration::from_secs(10),
        "{elapsed:?}"
    );
}
