//! Hostile guests: each misbehaviour ends in the exact error the host reports, and the same host
//! then imports a good log normally.

use std::path::Path;
use std::sync::Arc;

use tally_core::DiagnosticKind;
use tally_plugin_artifacts as artifacts;
use tally_plugin_host::{
    CallError, Capabilities, Grants, ImportConfig, ImportRun, LoadError, LoadedPlugin, Manifest,
    PluginEngine, PluginHealth, QUARANTINE_AFTER, Registry, World,
};

const GOOD_LOG: &str = "\
 9:00:00 (lmgrd) FlexNet Licensing (v11.16.0.0 build 1 x64_lsb) started on lic1 (linux) (3/5/2021)
 9:00:05 (acme) OUT: \"solver\" alice@ws1  
 9:30:05 (acme) IN: \"solver\" alice@ws1  
";

/// Guests the host must refuse at load; each has its own test.
const UNLOADABLE: &[&str] = &["hostile-track"];

fn registry() -> Registry {
    let registry = Registry::new(PluginEngine::new(None).expect("engine"));
    let mut grants = Grants::default();
    grants.grant(
        "hostile-poller",
        Capabilities {
            commands: vec!["hostile-tool".into()],
            http: vec![],
        },
    );
    grants.grant(
        "track-v020-poller",
        Capabilities {
            commands: vec!["v020stat".into()],
            http: vec![],
        },
    );
    grants.grant(
        "http-poller",
        Capabilities {
            commands: vec![],
            http: vec!["status.invalid:8080".into()],
        },
    );
    registry.set_grants(grants);
    for p in artifacts::FIRST_PARTY {
        registry
            .add(p.manifest, p.id, p.component)
            .unwrap_or_else(|e| panic!("loading {}: {e}", p.id));
    }
    for (id, dir) in artifacts::ALL {
        if !UNLOADABLE.contains(id) && registry.get(id).is_none() {
            registry
                .add_dir(Path::new(dir))
                .unwrap_or_else(|e| panic!("loading {id}: {e}"));
        }
    }
    registry
}

fn plugin(registry: &Registry, id: &str) -> Arc<LoadedPlugin> {
    registry.get(id).unwrap_or_else(|| panic!("{id} is loaded"))
}

/// Feeds `input` as one chunk and returns the error of the first failing call.
fn import_error(plugin: Arc<LoadedPlugin>, input: &str) -> CallError {
    let mut run = ImportRun::begin(plugin, &ImportConfig::default()).expect("begin");
    let error = match run.feed(input.as_bytes()) {
        Ok(_) => run.finish().expect_err("the hostile guest fails somewhere"),
        Err(e) => e,
    };
    assert!(error.is_trap(), "{error}");
    error
}

/// The good importer still works in the same registry (same engine, same pool).
fn good_import_works(registry: &Registry) {
    let mut run =
        ImportRun::begin(plugin(registry, "flexlm-log"), &ImportConfig::default()).expect("begin");
    let mut batch = run.feed(GOOD_LOG.as_bytes()).expect("feed");
    let last = run.finish().expect("finish");
    batch.sessions.extend(last.sessions);
    assert_eq!(batch.lines, 3);
    assert_eq!(batch.sessions.len(), 1, "{batch:?}");
    let session = &batch.sessions[0];
    assert_eq!(
        (batch.str(session.user), session.end - session.start),
        ("alice", 1800)
    );
}

#[test]
fn endless_loop_hits_the_deadline() {
    let registry = registry();
    let error = import_error(plugin(&registry, "hostile-loop"), "one line\n");
    assert_eq!(
        error.to_string(),
        "plugin `hostile-loop` exceeded its time limit of 300 ms and was stopped"
    );
    good_import_works(&registry);
}

#[test]
fn allocation_bomb_hits_the_memory_limit() {
    let registry = registry();
    let error = import_error(plugin(&registry, "hostile-alloc"), "one line\n");
    assert_eq!(
        error.to_string(),
        "plugin `hostile-alloc` exceeded its memory limit of 16 MiB and was stopped"
    );
    good_import_works(&registry);
}

#[test]
fn panic_is_reported_with_its_message() {
    let registry = registry();
    let error = import_error(plugin(&registry, "hostile-panic"), "twelve bytes");
    assert_eq!(
        error,
        CallError::Panic {
            plugin: "hostile-panic".into(),
            message: "tests/guests/hostile-panic/src/lib.rs:12:9: hostile guest refuses 12 bytes"
                .into()
        }
    );
    assert_eq!(
        error.to_string(),
        "plugin `hostile-panic` panicked at tests/guests/hostile-panic/src/lib.rs:12:9: hostile guest refuses 12 bytes"
    );
    good_import_works(&registry);
}

#[test]
fn result_far_larger_than_its_input_is_refused() {
    let registry = registry();
    let error = import_error(plugin(&registry, "hostile-huge"), "one line\n");
    assert_eq!(
        error.to_string(),
        "plugin `hostile-huge` returned an invalid result: 200000 records for 1 input lines of 9 bytes (at most 2 per line, 1 per 16 bytes, plus 16)"
    );
    good_import_works(&registry);
}

#[test]
fn deep_recursion_overflows_the_stack() {
    let registry = registry();
    let mut run = ImportRun::begin(plugin(&registry, "hostile-stack"), &ImportConfig::default())
        .expect("begin");
    let error = run.feed(b"one line\n").expect_err("stack overflow");
    assert_eq!(
        error,
        CallError::StackOverflow {
            plugin: "hostile-stack".into()
        }
    );
    assert_eq!(
        error.to_string(),
        "plugin `hostile-stack` overflowed its stack and was stopped"
    );
    // The instance is gone; the engine and its pool are not.
    assert!(matches!(
        run.feed(b"x\n"),
        Err(CallError::Unavailable { .. })
    ));
    good_import_works(&registry);
}

#[test]
fn deep_recursion_on_the_shadow_stack_is_an_out_of_bounds_trap() {
    // Rust links its shadow stack (large locals) first in linear memory, growing down: an
    // overflow leaves memory instead of overwriting data. The host cannot tell it from any
    // other stray access, so it is reported as what it is.
    let registry = registry();
    let error = import_error(plugin(&registry, "hostile-stack"), "big frames\n");
    assert_eq!(
        error.to_string(),
        "plugin `hostile-stack` trapped: wasm trap: out of bounds memory access"
    );
    good_import_works(&registry);
}

/// Feeds one line to a fresh run of `hostile-invalid` (which returns the record it describes).
fn invalid_guest(registry: &Registry, line: &str) -> Result<tally_core::Batch, CallError> {
    let mut run = ImportRun::begin(
        plugin(registry, "hostile-invalid"),
        &ImportConfig::default(),
    )
    .expect("begin");
    run.feed(line.as_bytes())
}

#[test]
fn invalid_records_are_refused_naming_the_record_and_field() {
    let registry = registry();
    let prefix = "plugin `hostile-invalid` returned an invalid result: ";
    for (line, expected) in [
        (
            "session start=-86400 end=0",
            "session 1 (solver by alice@ws1): start -86400 (1969-12-31T00:00:00Z) is before 1970-01-01T00:00:00Z",
        ),
        (
            "session end=7258118401",
            "session 1 (solver by alice@ws1): end 7258118401 (2200-01-01T00:00:01Z) is after 2200-01-01T00:00:00Z",
        ),
        (
            "session start=1600000000 end=1599999999",
            "session 1 (solver by alice@ws1): end 1599999999 (2020-09-13T12:26:39Z) is before its start 1600000000 (2020-09-13T12:26:40Z)",
        ),
        (
            "session count=0",
            "session 1 (solver by alice@ws1): count is 0",
        ),
        (
            "denial time=-1",
            "denial 1 (solver by bob@ws2): time -1 (1969-12-31T23:59:59Z) is before 1970-01-01T00:00:00Z",
        ),
        ("denial count=0", "denial 1 (solver by bob@ws2): count is 0"),
        (
            "queued count=0",
            "queued request 1 (solver by carol@ws3): count is 0",
        ),
        (
            "event time=99999999999",
            "server event 1 (reread by lmgrd): time 99999999999 (5138-11-16T09:46:39Z) is after 2200-01-01T00:00:00Z",
        ),
        (
            "session\nsession\nsession count=0",
            "session 3 (solver by alice@ws1): count is 0",
        ),
    ] {
        let error = invalid_guest(&registry, line).expect_err(line);
        assert!(
            matches!(error, CallError::InvalidResult { .. }),
            "{error:?}"
        );
        assert_eq!(error.to_string(), format!("{prefix}{expected}"), "{line}");
        // A valid result from the same plugin passes (and resets its trap count).
        let batch = invalid_guest(&registry, "session\ndenial\nqueued\nevent").expect(line);
        assert_eq!(batch.records(), 4);
    }
    let health = registry.health("hostile-invalid").expect("loaded");
    assert_eq!((health.consecutive_traps, health.quarantined), (0, None));
    good_import_works(&registry);
}

/// Everything the `hostile-wasi` guest reached for, and what it got: only errors, and the
/// allowed clocks.
#[test]
fn forbidden_wasi_is_denied_and_nothing_leaks() {
    let registry = registry();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listener");
    listener.set_nonblocking(true).expect("nonblocking");
    let port = listener.local_addr().expect("addr").port();
    let escape = Path::new("/tmp/tally-hostile-wasi");
    let _ = std::fs::remove_file(escape);

    let mut run = ImportRun::begin(plugin(&registry, "hostile-wasi"), &ImportConfig::default())
        .expect("begin");
    let batch = run
        .feed(port.to_string().as_bytes())
        .expect("the guest sees errors, not traps");
    let seen: Vec<&str> = batch.diagnostics.iter().map(|d| d.text.as_str()).collect();
    assert_eq!(
        seen,
        [
            // No preopened directory: no path resolves, absolute or relative.
            "read /etc/passwd: NotFound: No such file or directory (os error 44)",
            "read plugin.toml: NotFound: No such file or directory (os error 44)",
            "list /: NotFound: No such file or directory (os error 44)",
            "write /tmp: NotFound: No such file or directory (os error 44)",
            // wasi-libc's notion of a working directory, with nothing behind it.
            "current dir: ok: /",
            "env: []",
            "args: []",
            "connect: PermissionDenied: Permission denied (os error 2)",
            "udp: PermissionDenied: Permission denied (os error 2)",
            "resolve: Uncategorized: failed to lookup address information: Non-recoverable error",
            "spawn: Unsupported: operation not supported on this platform",
            "stdin: ok: ",
            "wall clock: true",
        ],
        "{seen:#?}"
    );
    let everything = seen.join("\n");
    assert!(!everything.contains("root:"), "file content leaked");
    for (key, _) in std::env::vars() {
        assert!(!everything.contains(&format!("{key}=")), "{key} leaked");
    }
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the guest reached a host socket"
    );
    assert!(!escape.exists(), "the guest wrote a host file");
    good_import_works(&registry);
}

#[test]
fn a_component_of_another_wit_track_is_refused_at_load() {
    let registry = registry();
    let error = registry
        .add_dir(Path::new(artifacts::HOSTILE_TRACK))
        .expect_err("track 0.9.0");
    assert!(
        matches!(error, LoadError::UnsupportedTrack { .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "plugin `hostile-track` exports tally:plugin/log-importer@0.9.0, but this host supports WIT 0.1.0, 0.2.0, 0.3.0, 0.4.0: tally:plugin/log-importer@0.1.0, tally:plugin/status-poller@0.1.0, tally:plugin/log-importer@0.2.0, tally:plugin/status-poller@0.2.0, tally:plugin/log-importer@0.3.0, tally:plugin/status-poller@0.3.0, tally:plugin/log-importer@0.4.0, tally:plugin/status-poller@0.4.0"
    );
    assert_eq!(
        tally_plugin_host::SUPPORTED_TRACKS,
        ["0.1.0", "0.2.0", "0.3.0", "0.4.0"]
    );
    assert_eq!(
        tally_plugin_host::SUPPORTED_TRACKS.last(),
        Some(&tally_plugin_sdk::WIT_VERSION),
        "the last track is the latest, the SDK's"
    );
    assert!(registry.get("hostile-track").is_none());
    good_import_works(&registry);
}

#[test]
fn traps_in_a_row_quarantine_a_plugin_until_it_is_reloaded() {
    let registry = registry();
    let panics = |registry: &Registry| import_error(plugin(registry, "hostile-panic"), "x\n");
    for traps in 1..=QUARANTINE_AFTER {
        assert!(matches!(panics(&registry), CallError::Panic { .. }));
        assert_eq!(
            registry
                .health("hostile-panic")
                .expect("loaded")
                .consecutive_traps,
            traps
        );
    }
    let reason =
        "panicked at tests/guests/hostile-panic/src/lib.rs:12:9: hostile guest refuses 2 bytes";
    assert_eq!(
        registry.health("hostile-panic"),
        Some(PluginHealth {
            answers: 0,
            consecutive_traps: QUARANTINE_AFTER,
            quarantined: Some(reason.into()),
            traps: u64::from(QUARANTINE_AFTER),
        })
    );
    let refused = ImportRun::begin(plugin(&registry, "hostile-panic"), &ImportConfig::default())
        .err()
        .expect("quarantined");
    assert_eq!(
        refused,
        CallError::Quarantined {
            plugin: "hostile-panic".into(),
            reason: reason.into()
        }
    );
    assert_eq!(
        refused.to_string(),
        format!(
            "plugin `hostile-panic` is quarantined after 3 traps in a row (the last: {reason}); reload it to use it again"
        )
    );
    // Other plugins are not affected.
    good_import_works(&registry);
    let health = registry.health("flexlm-log").expect("loaded");
    assert_eq!((health.consecutive_traps, health.quarantined), (0, None));

    // A fresh load clears it: the guest is called again (and panics again).
    let reloaded = registry
        .reload_dir(Path::new(artifacts::HOSTILE_PANIC))
        .expect("reload");
    assert_eq!(reloaded.health(), PluginHealth::default());
    assert!(matches!(panics(&registry), CallError::Panic { .. }));
    assert_eq!(
        registry
            .health("hostile-panic")
            .expect("loaded")
            .consecutive_traps,
        1
    );
}

#[test]
fn an_answer_resets_the_trap_count_and_a_refusal_does_not_count() {
    let registry = registry();
    let traps = || {
        registry
            .health("hostile-invalid")
            .expect("loaded")
            .consecutive_traps
    };
    invalid_guest(&registry, "session count=0").expect_err("invalid");
    invalid_guest(&registry, "denial count=0").expect_err("invalid");
    assert_eq!(traps(), 2);
    // The guest's own error is an answer: its instance works.
    let refused = invalid_guest(&registry, "nonsense").expect_err("bad input");
    assert_eq!(
        refused.to_string(),
        "plugin `hostile-invalid` rejected the input: unknown record `nonsense`"
    );
    assert_eq!(traps(), 0);
    // A run whose instance is gone is refused by the host: that is not another trap.
    let mut run = ImportRun::begin(
        plugin(&registry, "hostile-invalid"),
        &ImportConfig::default(),
    )
    .expect("begin");
    run.feed(b"queued count=0").expect_err("invalid");
    assert!(matches!(
        run.feed(b"session"),
        Err(CallError::Unavailable { .. })
    ));
    assert_eq!(traps(), 1);
    invalid_guest(&registry, "session").expect("valid");
    assert_eq!(traps(), 0);
}

#[test]
fn a_trapped_run_refuses_further_calls() {
    let registry = registry();
    let mut run = ImportRun::begin(plugin(&registry, "hostile-panic"), &ImportConfig::default())
        .expect("begin");
    assert!(matches!(run.feed(b"x\n"), Err(CallError::Panic { .. })));
    let again = run.feed(b"x\n").expect_err("the instance is gone");
    assert_eq!(
        again.to_string(),
        "plugin `hostile-panic` cannot be used: its instance was stopped by an earlier failure"
    );
}

#[test]
fn tampered_component_is_refused_and_nothing_is_registered() {
    let dir = Path::new(artifacts::FLEXLM_LOG);
    let manifest = std::fs::read_to_string(dir.join("plugin.toml")).expect("manifest");
    let parsed = Manifest::parse(&manifest, "flexlm-log").expect("valid");
    let mut component = std::fs::read(dir.join(&parsed.component)).expect("component");
    let last = component.len() - 1;
    component[last] ^= 0xff;

    let registry = Registry::new(PluginEngine::new(None).expect("engine"));
    let error = registry
        .add(&manifest, "flexlm-log", &component)
        .expect_err("tampered");
    assert!(matches!(error, LoadError::Manifest(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!(
            "plugin `flexlm-log`: component sha256 mismatch (manifest says {}, file is {}); refusing a tampered or stale component",
            parsed.sha256,
            tally_plugin_host::sha256_hex(&component)
        )
    );
    assert!(registry.get("flexlm-log").is_none());
}

#[test]
fn manifest_must_match_the_component() {
    let dir = Path::new(artifacts::FLEXLM_LOG);
    let manifest = std::fs::read_to_string(dir.join("plugin.toml")).expect("manifest");
    let component = std::fs::read(dir.join("flexlm_log.wasm")).expect("component");
    let registry = Registry::new(PluginEngine::new(None).expect("engine"));

    // A poller must declare its status command; give it one so the component is what differs.
    let as_poller = format!("command = [\"lmutil\"]\n{manifest}")
        .replace("world = \"importer\"", "world = \"poller\"");
    let error = registry
        .add(&as_poller, "m", &component)
        .expect_err("wrong world");
    assert_eq!(
        error.to_string(),
        "plugin `flexlm-log`: manifest declares world `poller` on WIT 0.4.0, the component implements `importer` on WIT 0.4.0"
    );

    let other_formats = manifest.replace(
        "formats = [\"flexlm-debuglog\"]",
        "formats = [\"rlm-reportlog\"]",
    );
    let error = registry
        .add(&other_formats, "m", &component)
        .expect_err("wrong formats");
    assert!(error.to_string().contains("manifest lists formats [\"rlm-reportlog\"], the component describes [\"flexlm-debuglog\"]"), "{error}");
}

#[test]
fn a_core_module_is_not_a_plugin() {
    // The smallest valid core wasm module: a component host must refuse it with a clear error.
    let module = b"\0asm\x01\0\0\0";
    let manifest = format!(
        "id = \"core\"\nversion = \"0.1.0\"\nworld = \"importer\"\nwit = \"0.1.0\"\nformats = [\"x\"]\ncomponent = \"c.wasm\"\nsha256 = \"{}\"\n",
        tally_plugin_host::sha256_hex(module)
    );
    let registry = Registry::new(PluginEngine::new(None).expect("engine"));
    let error = registry
        .add(&manifest, "m", module)
        .expect_err("core module");
    assert!(
        error
            .to_string()
            .starts_with("plugin `core`: not a valid WebAssembly component"),
        "{error}"
    );
}

#[test]
fn detection_picks_the_plugin_that_claims_the_file() {
    let registry = registry();
    let (plugin, sniffed) = registry
        .detect(World::Importer, GOOD_LOG.as_bytes())
        .expect("flexlm-log claims it");
    assert_eq!(plugin.id(), "flexlm-log");
    assert_eq!(sniffed.format, plugin.manifest.formats[0]);
    assert!(sniffed.confidence >= 0.5);
    // No built-in reads plain text: only the installed hostile-sniff, which claims anything
    // left, takes it.
    let unclaimed = registry
        .detect(
            World::Importer,
            b"just some text\nnothing like a license log\n",
        )
        .map(|(plugin, _)| plugin.id().to_string());
    assert_eq!(unclaimed.as_deref(), Some("hostile-sniff"));
}

#[test]
fn a_hostile_poller_is_stopped_refused_and_quarantined() {
    let registry = registry();
    let poller = plugin(&registry, "hostile-poller");
    let now = 1_600_000_000;
    let parse = |output: &str| poller.parse_status(output.as_bytes(), now);
    let traps = || {
        registry
            .health("hostile-poller")
            .expect("loaded")
            .consecutive_traps
    };
    assert_eq!(parse("ok").expect("valid").records(), 2);
    let prefix = "plugin `hostile-poller` returned an invalid result: ";
    assert_eq!(
        parse("expiry=99999999999").map_err(|e| e.to_string()),
        Err(format!(
            "{prefix}feature 1 (solver of acme): expiry 99999999999 (5138-11-16T09:46:39Z) is after 2200-01-01T00:00:00Z"
        ))
    );
    assert_eq!(
        parse("count=0").map_err(|e| e.to_string()),
        Err(format!(
            "{prefix}checkout 1 (solver by alice@ws1): count is 0"
        ))
    );
    assert_eq!(traps(), 2);
    // The guest's own refusal is an answer, and so is a valid snapshot.
    assert_eq!(
        parse("expiry=soon").map_err(|e| e.to_string()),
        Err("plugin `hostile-poller` rejected the input: expiry=soon".into())
    );
    assert_eq!(traps(), 0);
    assert_eq!(
        parse("loop"),
        Err(CallError::Deadline {
            plugin: "hostile-poller".into(),
            limit_ms: 300
        })
    );
    assert_eq!(
        parse("panic"),
        Err(CallError::Panic {
            plugin: "hostile-poller".into(),
            message: "tests/guests/hostile-poller/src/lib.rs:17:24: hostile poller refuses 5 bytes"
                .into()
        })
    );
    assert!(matches!(
        parse("count=0"),
        Err(CallError::InvalidResult { .. })
    ));
    assert_eq!(traps(), QUARANTINE_AFTER);
    let reason = "returned an invalid result: checkout 1 (solver by alice@ws1): count is 0";
    assert_eq!(
        parse("ok"),
        Err(CallError::Quarantined {
            plugin: "hostile-poller".into(),
            reason: reason.into()
        })
    );
    // A quarantined poller is not asked to claim an output either.
    assert!(registry.detect(World::Poller, b"ok").is_none());
    let reloaded = registry
        .reload_dir(Path::new(artifacts::HOSTILE_POLLER))
        .expect("reload");
    assert_eq!(
        reloaded.parse_status(b"ok", now).expect("valid").records(),
        2
    );
    // The other pollers never noticed.
    let health = registry.health("flexlm-lmstat").expect("loaded");
    assert_eq!((health.consecutive_traps, health.quarantined), (0, None));
}

#[test]
fn running_out_of_instances_is_back_pressure_never_a_trap() {
    // Every instance of the process held by an import run (a burst of uploads): the next call
    // waits for one to be freed instead of failing, and nothing counts against the plugin.
    let registry = registry();
    let flexlm = plugin(&registry, "flexlm-log");
    let mut held: Vec<ImportRun> = Vec::new();
    loop {
        let engine_full = held.len() as u32 >= tally_plugin_host::MAX_INSTANCES;
        if engine_full {
            break;
        }
        held.push(ImportRun::begin(flexlm.clone(), &ImportConfig::default()).expect("begin"));
    }
    let waiting = {
        let flexlm = flexlm.clone();
        std::thread::spawn(move || {
            let mut run = ImportRun::begin(flexlm, &ImportConfig::default())?;
            let batch = run.feed(GOOD_LOG.as_bytes())?;
            Ok::<_, CallError>(batch.lines)
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(200));
    held.pop();
    assert_eq!(waiting.join().expect("thread"), Ok(3));
    drop(held);
    let health = registry.health("flexlm-log").expect("loaded");
    assert_eq!((health.consecutive_traps, health.quarantined), (0, None));
    good_import_works(&registry);
}

#[test]
fn more_concurrent_calls_than_instances_wait_their_turn_or_are_refused_as_busy() {
    // Two instances; calls wait for one as long as `busy_wait`.
    let small = |busy_wait: std::time::Duration| {
        let engine = PluginEngine::with_options(
            None,
            tally_plugin_host::EngineOptions {
                instances: 2,
                busy_wait,
            },
        )
        .expect("engine");
        let registry = Arc::new(Registry::new(engine));
        let p = artifacts::FIRST_PARTY
            .iter()
            .find(|p| p.id == "flexlm-log")
            .expect("built in");
        registry.add(p.manifest, p.id, p.component).expect("loads");
        registry
    };
    let registry = small(std::time::Duration::from_secs(60));
    let flexlm = plugin(&registry, "flexlm-log");

    // Eight imports on two instances, each a few calls: all finish.
    let imports: Vec<_> = (0..8)
        .map(|_| {
            let flexlm = flexlm.clone();
            std::thread::spawn(move || {
                let mut run = ImportRun::begin(flexlm, &ImportConfig::default())?;
                let mut batch = run.feed(GOOD_LOG.as_bytes())?;
                batch.sessions.extend(run.finish()?.sessions);
                Ok::<_, CallError>(batch.sessions.len())
            })
        })
        .collect();
    for import in imports {
        assert_eq!(import.join().expect("thread"), Ok(1));
    }

    assert_eq!(
        registry.health("flexlm-log").expect("loaded").answers,
        8 * 2
    );

    // Both instances held for longer than a call may wait: refused as busy, more times than
    // a quarantine takes, and the plugin's health never notices.
    let registry = small(std::time::Duration::from_millis(50));
    let flexlm = plugin(&registry, "flexlm-log");
    let held = [
        ImportRun::begin(flexlm.clone(), &ImportConfig::default()).expect("begin"),
        ImportRun::begin(flexlm.clone(), &ImportConfig::default()).expect("begin"),
    ];
    for _ in 0..=QUARANTINE_AFTER {
        let busy = ImportRun::begin(flexlm.clone(), &ImportConfig::default())
            .err()
            .expect("no instance free");
        let CallError::Busy {
            ref plugin,
            instances,
            waited_ms,
        } = busy
        else {
            panic!("{busy:?}");
        };
        assert_eq!((plugin.as_str(), instances), ("flexlm-log", 2));
        assert!(waited_ms >= 50, "{busy}");
        assert!(busy.is_busy() && !busy.is_trap());
        assert_eq!(
            busy.to_string(),
            format!(
                "plugin `flexlm-log` is busy: all 2 plugin instances are in use (waited {waited_ms} ms); try again later"
            )
        );
        // A sniff waits for an instance too, and says it was busy rather than "not mine".
        assert!(matches!(
            registry.try_detect(World::Importer, GOOD_LOG.as_bytes()),
            Err(CallError::Busy { .. })
        ));
    }
    assert_eq!(
        registry.health("flexlm-log"),
        Some(PluginHealth {
            answers: 0,
            consecutive_traps: 0,
            quarantined: None,
            traps: 0,
        })
    );
    drop(held);
    let (detected, _) = registry
        .try_detect(World::Importer, GOOD_LOG.as_bytes())
        .expect("an instance is free")
        .expect("claimed");
    assert_eq!(detected.id(), "flexlm-log");
}

#[test]
fn a_slow_sniff_hits_a_short_deadline_of_its_own() {
    let registry = registry();
    let sniffer = plugin(&registry, "hostile-sniff");
    assert_eq!(sniffer.manifest.limits.timeout_ms, 5000);
    assert_eq!(
        sniffer.sniff(b"slow start of a log\n"),
        Err(CallError::Deadline {
            plugin: "hostile-sniff".into(),
            limit_ms: tally_plugin_host::SNIFF_TIMEOUT_MS
        })
    );
    assert_eq!(tally_plugin_host::SNIFF_TIMEOUT_MS, 200);
    // A file a built-in importer claims never waits for an installed plugin's sniff.
    let mut slow_flexlm = String::from("slow\n");
    slow_flexlm.push_str(GOOD_LOG);
    let (found, _) = registry
        .detect(World::Importer, slow_flexlm.as_bytes())
        .expect("flexlm-log claims it");
    assert_eq!(found.id(), "flexlm-log");
    let health = registry.health("hostile-sniff").expect("loaded");
    assert_eq!(health.consecutive_traps, 1, "asked once, by the test");
}

#[test]
fn an_installed_plugin_cannot_take_over_a_built_in_format_unless_chosen() {
    let registry = registry();
    let sniffer = plugin(&registry, "hostile-sniff");
    // It claims every file, as the built-in FlexNet format, with full confidence.
    assert_eq!(
        sniffer.sniff(GOOD_LOG.as_bytes()).expect("answers"),
        Some(tally_plugin_host::Sniff {
            format: "flexlm-debuglog".into(),
            confidence: 1.0
        })
    );
    let (found, sniffed) = registry
        .detect(World::Importer, GOOD_LOG.as_bytes())
        .expect("claimed");
    assert_eq!(
        (found.id(), sniffed.format.as_str()),
        ("flexlm-log", "flexlm-debuglog")
    );
    let by_format = registry
        .for_format(World::Importer, "flexlm-debuglog")
        .expect("read");
    assert_eq!(by_format.id(), "flexlm-log");
    // A file no built-in claims is still the installed plugin's to take.
    let (found, _) = registry
        .detect(World::Importer, b"nothing any built-in reads\n")
        .expect("claimed");
    assert_eq!(found.id(), "hostile-sniff");

    // The operator's choice is what hands it the format.
    registry.choose("flexlm-debuglog", "hostile-sniff");
    let (found, _) = registry
        .detect(World::Importer, GOOD_LOG.as_bytes())
        .expect("claimed");
    assert_eq!(found.id(), "hostile-sniff");
    let by_format = registry
        .for_format(World::Importer, "flexlm-debuglog")
        .expect("read");
    assert_eq!(by_format.id(), "hostile-sniff");
}

#[test]
fn oversized_names_in_valid_records_are_refused_record_by_record() {
    let registry = registry();
    let batch = invalid_guest(
        &registry,
        "session\nsession user=2000\ndenial user=1025\ndenial user=1024\nqueued user=70000\nevent",
    )
    .expect("the valid records pass");
    assert_eq!(
        (
            batch.sessions.len(),
            batch.denials.len(),
            batch.queued.len(),
            batch.server_events.len()
        ),
        (1, 1, 0, 1)
    );
    assert_eq!(
        batch.str(batch.denials[0].user).len(),
        1024,
        "at the limit is fine"
    );
    let malformed: Vec<(u64, DiagnosticKind, &str)> = batch
        .diagnostics
        .iter()
        .map(|d| (d.line, d.kind, d.text.as_str()))
        .collect();
    let u40 = "u".repeat(40);
    assert_eq!(
        malformed,
        [
            (1, DiagnosticKind::Malformed, format!("a session refused: its user `{u40}…` is 2000 bytes, longer than the limit of 1024").as_str()),
            (1, DiagnosticKind::Malformed, format!("a denial refused: its user `{u40}…` is 1025 bytes, longer than the limit of 1024").as_str()),
            (1, DiagnosticKind::Malformed, format!("a queued request refused: its user `{u40}…` is 70000 bytes, longer than the limit of 1024").as_str()),
        ]
    );
    assert!(
        batch.strings.iter().all(|s| s.len() <= 4096),
        "no string of a refused record is kept whole"
    );
    let health = registry.health("hostile-invalid").expect("loaded");
    assert_eq!((health.consecutive_traps, health.quarantined), (0, None));
}

#[test]
fn a_line_longer_than_the_limit_is_cut_out_counted_and_the_import_goes_on() {
    let registry = registry();
    let long_line = format!(
        " 9:10:00 (acme) {}\n",
        "x".repeat(tally_plugin_host::MAX_LINE_BYTES)
    );
    let mut log = String::new();
    for (i, line) in GOOD_LOG.lines().enumerate() {
        log.push_str(line);
        log.push('\n');
        if i == 1 {
            log.push_str(&long_line);
        }
    }
    let mut run =
        ImportRun::begin(plugin(&registry, "flexlm-log"), &ImportConfig::default()).expect("begin");
    let mut batch = run.feed(log.as_bytes()).expect("feed");
    batch
        .sessions
        .extend(run.finish().expect("finish").sessions);
    assert_eq!(batch.lines, 4);
    assert_eq!(batch.sessions.len(), 1, "{batch:?}");
    let malformed: Vec<(u64, &str)> = batch
        .diagnostics
        .iter()
        .filter(|d| d.kind == DiagnosticKind::Malformed)
        .map(|d| (d.line, d.text.as_str()))
        .collect();
    assert_eq!(
        malformed,
        [(
            3,
            format!(
                "line of {} bytes, longer than the limit of 1048576: skipped unread",
                long_line.len() - 1
            )
            .as_str()
        )]
    );

    // Past the guest's memory, too: the host cut it, the guest never saw it.
    let mut run =
        ImportRun::begin(plugin(&registry, "flexlm-log"), &ImportConfig::default()).expect("begin");
    run.limit_lines(16);
    let batch = run.feed(GOOD_LOG.as_bytes()).expect("feed");
    assert_eq!(batch.lines, 3);
    assert_eq!(
        batch.diagnostics.iter().map(|d| d.line).collect::<Vec<_>>(),
        [1, 2, 3]
    );
}

#[test]
fn a_corrupted_compiled_plugin_in_the_cache_is_compiled_again() {
    let cache = tempfile::tempdir().expect("temp dir");
    let p = artifacts::FIRST_PARTY
        .iter()
        .find(|p| p.id == "flexlm-log")
        .expect("built in");
    let load = || {
        let registry = Registry::new(PluginEngine::new(Some(cache.path())).expect("engine"));
        registry.add(p.manifest, p.id, p.component).expect("loads");
        registry
    };
    drop(load());
    let compiled: Vec<_> = std::fs::read_dir(cache.path())
        .expect("cache")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .collect();
    let [file] = compiled.as_slice() else {
        panic!("one compiled plugin: {compiled:?}");
    };
    let written = std::fs::read(file).expect("cached");
    // One bit in the middle of the compiled code: mapped as it is, it would run as garbage.
    let mut flipped = written.clone();
    flipped[written.len() / 2] ^= 0x04;
    std::fs::write(file, &flipped).expect("flip");

    let registry = load();
    assert_eq!(
        std::fs::read(file).expect("rewritten"),
        written,
        "the damaged file was compiled again and replaced"
    );
    good_import_works(&registry);
}
