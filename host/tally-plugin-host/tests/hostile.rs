//! Hostile guests: each misbehaviour ends in the exact error the host reports, and the same host
//! then imports a good log normally.

use std::path::Path;
use std::sync::Arc;

use tally_plugin_artifacts as artifacts;
use tally_plugin_host::{
    CallError, ImportConfig, ImportRun, LoadError, LoadedPlugin, Manifest, PluginEngine, Registry,
    World,
};

const GOOD_LOG: &str = "\
 9:00:00 (lmgrd) FlexNet Licensing (v11.16.0.0 build 1 x64_lsb) started on lic1 (linux) (3/5/2021)
 9:00:05 (acme) OUT: \"solver\" alice@ws1  
 9:30:05 (acme) IN: \"solver\" alice@ws1  
";

fn registry() -> Registry {
    let registry = Registry::new(PluginEngine::new(None).expect("engine"));
    for (id, dir) in artifacts::ALL {
        registry
            .add_dir(Path::new(dir))
            .unwrap_or_else(|e| panic!("loading {id}: {e}"));
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
    match &error {
        CallError::Panic { plugin, message } => {
            assert_eq!(plugin, "hostile-panic");
            assert!(message.starts_with("panicked at "), "{message}");
            assert!(
                message.ends_with("hostile guest refuses 12 bytes"),
                "{message}"
            );
        }
        other => panic!("expected a panic, got {other:?}"),
    }
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
    assert!(
        error
            .to_string()
            .starts_with("plugin `flexlm-log`: component sha256 mismatch"),
        "{error}"
    );
    assert!(registry.get("flexlm-log").is_none());
}

#[test]
fn manifest_must_match_the_component() {
    let dir = Path::new(artifacts::FLEXLM_LOG);
    let manifest = std::fs::read_to_string(dir.join("plugin.toml")).expect("manifest");
    let component = std::fs::read(dir.join("flexlm_log.wasm")).expect("component");
    let registry = Registry::new(PluginEngine::new(None).expect("engine"));

    let as_poller = manifest.replace("world = \"importer\"", "world = \"poller\"");
    let error = registry
        .add(&as_poller, "m", &component)
        .expect_err("wrong world");
    assert_eq!(
        error.to_string(),
        "plugin `flexlm-log`: manifest declares world `poller` on WIT 0.1.0, the component implements `importer` on WIT 0.1.0"
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
    let (plugin, confidence) = registry
        .detect(World::Importer, GOOD_LOG.as_bytes())
        .expect("flexlm-log claims it");
    assert_eq!(plugin.id(), "flexlm-log");
    assert!(confidence >= 0.5);
    assert!(
        registry
            .detect(
                World::Importer,
                b"just some text\nnothing like a license log\n"
            )
            .is_none()
    );
}
