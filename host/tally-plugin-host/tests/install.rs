//! The plugin directory: new versions swap in atomically (calls in flight finish on the old
//! one), broken or tampered ones are refused with the old one still running, capabilities
//! need grants, and every change is audited.

use std::path::Path;
use std::sync::Arc;

use tally_plugin_artifacts as artifacts;
use tally_plugin_host::{
    AuditLog, Builtin, ChangeError, ImportConfig, ImportRun, Package, PluginDir, PluginEngine,
    Registry, World, sha256_hex,
};

const LOG: &str = "\
 9:00:00 (lmgrd) FlexNet Licensing (v11.16.0.0 build 1 x64_lsb) started on lic1 (linux) (3/5/2021)
 9:00:05 (acme) OUT: \"solver\" alice@ws1  
 9:30:05 (acme) IN: \"solver\" alice@ws1  
";

fn builtins() -> Vec<Builtin> {
    artifacts::FIRST_PARTY
        .iter()
        .map(|p| Builtin {
            id: p.id,
            manifest: p.manifest,
            component: p.component,
        })
        .collect()
}

fn open(root: &Path) -> PluginDir {
    let registry = Arc::new(Registry::new(PluginEngine::new(None).expect("engine")));
    let audit = AuditLog::new(root.join("audit.jsonl"));
    let (dir, errors) = PluginDir::open(&root.join("plugins"), registry, &builtins(), audit);
    assert!(errors.is_empty(), "{errors:?}");
    dir
}

/// The component with a custom section appended: still valid, another sha256.
fn rebuilt(component: &[u8], tag: &str) -> Vec<u8> {
    let mut body = vec![4u8];
    body.extend_from_slice(b"test");
    body.extend_from_slice(tag.as_bytes());
    let mut out = component.to_vec();
    out.push(0);
    let mut len = body.len();
    loop {
        let byte = (len & 0x7f) as u8;
        len >>= 7;
        out.push(if len == 0 { byte } else { byte | 0x80 });
        if len == 0 {
            break;
        }
    }
    out.extend(body);
    out
}

/// `dir`'s package as version `version`, its component changed by `tag`.
fn version(dir: &str, version: &str, tag: &str) -> Package {
    let package = Package::read(Path::new(dir)).expect("package");
    let component = rebuilt(&package.component, tag);
    let manifest = package
        .manifest
        .replace("version = \"0.1.0\"", &format!("version = \"{version}\""))
        .replace(&sha256_hex(&package.component), &sha256_hex(&component));
    Package {
        manifest,
        component,
    }
}

fn sessions(run: &mut ImportRun) -> usize {
    run.feed(LOG.as_bytes()).expect("feed").sessions.len()
}

#[test]
fn versions_swap_atomically_and_broken_ones_leave_the_old_running() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = open(tmp.path());
    let registry = dir.registry().clone();
    let builtin = registry.get("flexlm-log").expect("built in");
    assert_eq!(dir.view("flexlm-log").expect("view").source, "built-in");

    // A call in flight holds the built-in version.
    let mut in_flight = ImportRun::begin(builtin.clone(), &ImportConfig::default()).expect("run");

    let v2 = version(artifacts::FLEXLM_LOG, "0.2.0", "v2");
    let view = dir.add(&v2, "alice").expect("v2 loads");
    assert_eq!(view.version, "0.2.0");
    assert_eq!(view.sha256, sha256_hex(&v2.component));
    let installed = tmp.path().join("plugins/flexlm-log");
    assert_eq!(view.source, installed.display().to_string());
    assert!(installed.join("plugin.toml").is_file());

    // The old call finishes on the old version; new calls take the new one.
    assert_eq!(sessions(&mut in_flight), 1);
    assert_eq!(in_flight.plugin().manifest.version.to_string(), "0.1.0");
    let new = registry.get("flexlm-log").expect("v2");
    assert_eq!(new.manifest.version.to_string(), "0.2.0");
    let mut run = ImportRun::begin(new, &ImportConfig::default()).expect("run");
    assert_eq!(sessions(&mut run), 1);

    // A tampered component: refused by name, v2 keeps running, nothing on disk changes.
    let mut tampered = version(artifacts::FLEXLM_LOG, "0.3.0", "v3");
    let expected = sha256_hex(&tampered.component);
    *tampered.component.last_mut().expect("bytes") ^= 0xff;
    let error = dir.add(&tampered, "mallory").expect_err("tampered");
    assert_eq!(
        error.to_string(),
        format!(
            "plugin `flexlm-log`: component sha256 mismatch (manifest says {expected}, file is {}); refusing a tampered or stale component",
            sha256_hex(&tampered.component)
        )
    );
    // A component that is not one at all.
    let v4 = version(artifacts::FLEXLM_LOG, "0.4.0", "v4");
    let garbage = Package {
        manifest: v4
            .manifest
            .replace(&sha256_hex(&v4.component), &sha256_hex(b"not wasm")),
        component: b"not wasm".to_vec(),
    };
    let error = dir.add(&garbage, "mallory").expect_err("garbage");
    assert!(
        error
            .to_string()
            .starts_with("plugin `flexlm-log`: not a valid WebAssembly component"),
        "{error}"
    );
    assert_eq!(dir.view("flexlm-log").expect("view").version, "0.2.0");
    let on_disk = std::fs::read_to_string(installed.join("plugin.toml")).expect("manifest");
    assert!(on_disk.contains("version = \"0.2.0\""), "{on_disk}");

    // Disabled: listed, but no new calls; remembered by a restarted process.
    let view = dir
        .set_enabled("flexlm-log", false, "alice")
        .expect("disable");
    assert!(!view.enabled);
    assert!(registry.get("flexlm-log").is_none());
    assert!(
        registry
            .for_format(World::Importer, "flexlm-debuglog")
            .is_none()
    );
    let restarted = open(tmp.path());
    let view = restarted.view("flexlm-log").expect("still there");
    assert_eq!((view.version.as_str(), view.enabled), ("0.2.0", false));
    dir.set_enabled("flexlm-log", true, "alice")
        .expect("enable");
    assert!(registry.get("flexlm-log").is_some());

    // Removing the installed version brings the built-in back; a built-in cannot go.
    let back = dir.remove("flexlm-log", "alice").expect("remove");
    assert_eq!(
        back.map(|v| (v.version, v.source)),
        Some(("0.1.0".into(), "built-in".into()))
    );
    assert!(!installed.exists());
    assert!(matches!(
        dir.remove("flexlm-log", "alice"),
        Err(ChangeError::Builtin(_))
    ));
    assert_eq!(
        dir.reload("nope", "alice")
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Err("no plugin is called `nope`".into())
    );

    let audit = dir.audit().read().expect("audit");
    let rows: Vec<(&str, &str, &str, Option<&str>, &str)> = audit
        .iter()
        .map(|e| {
            (
                e.who.as_str(),
                e.action.as_str(),
                e.plugin.as_str(),
                e.version.as_deref(),
                e.outcome.as_str(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("alice", "add", "flexlm-log", Some("0.2.0"), "ok"),
            ("mallory", "add", "flexlm-log", Some("0.3.0"), "refused"),
            ("mallory", "add", "flexlm-log", Some("0.4.0"), "refused"),
            ("alice", "disable", "flexlm-log", Some("0.2.0"), "ok"),
            ("alice", "enable", "flexlm-log", Some("0.2.0"), "ok"),
            ("alice", "remove", "flexlm-log", Some("0.2.0"), "ok"),
            ("alice", "remove", "flexlm-log", Some("0.1.0"), "refused"),
            ("alice", "reload", "nope", None, "refused"),
        ]
    );
    assert_eq!(
        audit[0].sha256.as_deref(),
        Some(sha256_hex(&v2.component).as_str())
    );
    assert_eq!(
        audit[1].sha256.as_deref(),
        Some(sha256_hex(&tampered.component).as_str()),
        "the refused attempt records the hash of what was offered"
    );
    assert!(
        audit[1]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("sha256 mismatch"))
    );
}

#[test]
fn capabilities_need_the_operators_grant() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = open(tmp.path());
    // Built-in pollers are granted their own commands.
    assert_eq!(
        dir.view("flexlm-lmstat").expect("built in").needs.commands,
        ["lmutil"]
    );

    let poller = Package::read(Path::new(artifacts::HOSTILE_POLLER)).expect("package");
    let error = dir.add(&poller, "alice").expect_err("not granted");
    assert_eq!(
        error.to_string(),
        "plugin `hostile-poller` needs command `hostile-tool`, not granted to it (the operator grants it under [hostile-poller] in grants.toml)"
    );
    assert!(dir.registry().entry("hostile-poller").is_none());

    std::fs::create_dir_all(dir.root()).expect("plugin dir");
    std::fs::write(
        dir.grants_path(),
        "[hostile-poller]\ncommands = [\"hostile-tool\"]\n",
    )
    .expect("grants");
    let view = dir.add(&poller, "alice").expect("granted");
    assert_eq!(view.needs.commands, ["hostile-tool"]);

    // Asking for more than granted names exactly what is missing.
    let greedy = Package {
        manifest: format!(
            "{}\n[capabilities]\ncommands = [\"hostile-tool\", \"lmdown\"]\nhttp = [\"api.example:443\"]\n",
            poller.manifest
        ),
        component: poller.component.clone(),
    };
    let error = dir.add(&greedy, "alice").expect_err("more than granted");
    assert_eq!(
        error.to_string(),
        "plugin `hostile-poller` needs command `lmdown`, http `api.example:443`, not granted to it (the operator grants it under [hostile-poller] in grants.toml)"
    );

    // Grants are read again on reload: a withdrawn grant refuses the reload, and the loaded
    // version keeps running until the operator removes or disables it.
    std::fs::remove_file(dir.grants_path()).expect("withdraw");
    let error = dir
        .reload("hostile-poller", "alice")
        .expect_err("withdrawn");
    assert!(error.to_string().contains("not granted"), "{error}");
    assert!(dir.registry().get("hostile-poller").is_some());
    dir.remove("hostile-poller", "alice").expect("remove");
    assert!(dir.registry().entry("hostile-poller").is_none());
}
