//! `tally plugin new NAME --world importer|poller`: a plugin crate of its own that builds with
//! one `cargo build --release --target wasm32-wasip2` and whose tests pass as generated. The
//! files are the templates under `host/tally/templates/` with `{{…}}` filled in.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};

#[derive(Debug, Args)]
pub struct NewArgs {
    /// The plugin's id and crate name: lower-case letters, digits and dashes (`acme-log`).
    name: String,
    /// What the plugin does: read log files (importer) or parse a status command's output (poller).
    #[arg(long, value_enum)]
    world: WorldArg,
    /// Directory to create. Default: ./NAME. It must not exist or be empty.
    #[arg(long, value_name = "PATH")]
    dir: Option<PathBuf>,
    /// The tally-plugin-sdk crate to build against (the `sdk` directory of a Tally source tree).
    /// Default: the SDK of the tree this `tally` was built from when it is still there, else
    /// the SDK of this Tally release from its git repository.
    #[arg(long, env = "TALLY_SDK_PATH", value_name = "DIR")]
    sdk_path: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum WorldArg {
    Importer,
    Poller,
}

/// One file of the crate: where it goes and its template.
struct Template {
    path: &'static str,
    text: &'static str,
}

macro_rules! template {
    ($path:literal, $file:literal) => {
        Template {
            path: $path,
            text: include_str!(concat!("../templates/", $file)),
        }
    };
}

const COMMON: &[Template] = &[
    template!("Cargo.toml", "Cargo.toml"),
    template!(".gitignore", "gitignore"),
    template!("README.md", "README.md"),
];

const IMPORTER: &[Template] = &[
    template!("plugin.toml", "importer/plugin.toml"),
    template!("src/lib.rs", "importer/src/lib.rs"),
    template!("tests/fixtures.rs", "importer/tests/fixtures.rs"),
    template!(
        "tests/fixtures/sample.log",
        "importer/tests/fixtures/sample.log"
    ),
];

const POLLER: &[Template] = &[
    template!("plugin.toml", "poller/plugin.toml"),
    template!("src/lib.rs", "poller/src/lib.rs"),
    template!("tests/fixtures.rs", "poller/tests/fixtures.rs"),
    template!("tests/fixtures/up.txt", "poller/tests/fixtures/up.txt"),
    template!("tests/fixtures/down.txt", "poller/tests/fixtures/down.txt"),
];

/// Where the SDK comes from when no `--sdk-path` is given and the source tree is gone.
const SDK_GIT: &str = env!("CARGO_PKG_REPOSITORY");

pub fn run(args: NewArgs) -> anyhow::Result<()> {
    check_name(&args.name)?;
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(&args.name));
    check_dir(&dir)?;
    let sdk = Sdk::find(args.sdk_path.as_deref())?;
    let (world, files, trait_name, notes) = match args.world {
        WorldArg::Importer => ("importer", IMPORTER, "Importer", IMPORTER_NOTES),
        WorldArg::Poller => ("poller", POLLER, "Poller", POLLER_NOTES),
    };
    let description = match args.world {
        WorldArg::Importer => "reads ACME License Server usage logs",
        WorldArg::Poller => "polls ACME License Servers through `acmestat`",
    };
    let wit = tally_plugin_host::SUPPORTED_TRACKS
        .last()
        .expect("the host supports a WIT track");
    let fill = |text: &str| {
        text.replace("{{world_notes}}", notes)
            .replace("{{name}}", &args.name)
            .replace("{{crate}}", &args.name.replace('-', "_"))
            .replace("{{Type}}", &type_name(&args.name, trait_name))
            .replace("{{Trait}}", trait_name)
            .replace("{{world}}", world)
            .replace("{{wit}}", wit)
            .replace("{{description}}", description)
            .replace("{{sdk}}", &sdk.dependency)
            .replace("{{sdk_comment}}", &sdk.origin)
    };
    for t in COMMON.iter().chain(files) {
        let path = dir.join(t.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, fill(t.text))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    // The lockfile of the SDK's tree: the dependency versions Tally tests the SDK with (cargo
    // drops the entries the plugin does not use at its first build).
    if let Some(lock) = sdk.lockfile.filter(|lock| lock.is_file()) {
        std::fs::copy(&lock, dir.join("Cargo.lock"))
            .with_context(|| format!("cannot copy {}", lock.display()))?;
    }
    println!(
        "created {world} plugin `{}` in {} (tally-plugin-sdk: {})",
        args.name,
        dir.display(),
        sdk.origin
    );
    println!(
        "next: cd {} && cargo test && cargo build --release --target wasm32-wasip2 && tally plugin add .",
        dir.display()
    );
    Ok(())
}

const IMPORTER_NOTES: &str = "
Try it: `tally import --format {{name}} --utc-offset +1 tests/fixtures/sample.log`, then
`tally diagnostics RUN` for the lines it could not read.";
const POLLER_NOTES: &str = "
Try it: `tally probe --format {{name}} tests/fixtures/up.txt`. A poller's command tool must be
granted before it loads: add `[{{name}}]` with `commands = [\"acmestat\"]` to `<plugin dir>/grants.toml`.";

/// A name that is both a plugin id (the manifest's rule) and a crate name cargo takes.
fn check_name(name: &str) -> anyhow::Result<()> {
    let shape = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && !name.contains("--")
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !shape {
        bail!(
            "`{name}` is not a valid plugin name: use 1-64 lower-case letters, digits and single \
             dashes, starting with a letter (e.g. `acme-log`)"
        );
    }
    // Cargo refuses packages named like Rust keywords or the standard crates.
    const RESERVED: &[&str] = &[
        "as",
        "async",
        "await",
        "break",
        "const",
        "continue",
        "crate",
        "dyn",
        "else",
        "enum",
        "extern",
        "false",
        "fn",
        "for",
        "if",
        "impl",
        "in",
        "let",
        "loop",
        "match",
        "mod",
        "move",
        "mut",
        "pub",
        "ref",
        "return",
        "self",
        "static",
        "struct",
        "super",
        "trait",
        "true",
        "type",
        "unsafe",
        "use",
        "where",
        "while",
        "abstract",
        "become",
        "box",
        "do",
        "final",
        "gen",
        "macro",
        "override",
        "priv",
        "try",
        "typeof",
        "unsized",
        "virtual",
        "yield",
        "alloc",
        "core",
        "proc-macro",
        "std",
        "test",
    ];
    if RESERVED.contains(&name) {
        bail!("`{name}` is reserved by Rust or cargo; choose another plugin name");
    }
    Ok(())
}

/// The directory must be new or empty: nothing of the author's is overwritten.
fn check_dir(dir: &Path) -> anyhow::Result<()> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                bail!(
                    "{} exists and is not empty; choose another --dir (nothing was written)",
                    dir.display()
                );
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
            bail!("{} is a file; choose another --dir", dir.display())
        }
        Err(e) => Err(e).with_context(|| format!("cannot read {}", dir.display())),
    }
}

/// `AcmeLogImporter` for `acme-log`: a type name that cannot collide with the SDK's.
fn type_name(name: &str, suffix: &str) -> String {
    let mut out = String::new();
    for part in name.split('-') {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    out + suffix
}

/// Where the plugin's tally-plugin-sdk comes from.
struct Sdk {
    /// The dependency, a TOML value.
    dependency: String,
    /// Why this one, for a comment in Cargo.toml.
    origin: String,
    /// The lockfile of the SDK's source tree, when it is a path.
    lockfile: Option<PathBuf>,
}

impl Sdk {
    fn find(sdk_path: Option<&Path>) -> anyhow::Result<Sdk> {
        if let Some(dir) = sdk_path {
            return Sdk::at(dir, "the SDK given with --sdk-path");
        }
        let tree = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sdk");
        if tree.join("Cargo.toml").is_file() {
            return Sdk::at(
                &tree,
                "the SDK of the Tally source tree this tally was built from",
            );
        }
        let version = env!("CARGO_PKG_VERSION");
        Ok(Sdk {
            dependency: format!("{{ git = \"{SDK_GIT}\", tag = \"v{version}\" }}"),
            origin: format!(
                "the SDK of Tally {version} from its repository (not on crates.io yet; \
                 --sdk-path DIR uses a local checkout)"
            ),
            lockfile: None,
        })
    }

    fn at(dir: &Path, origin: &str) -> anyhow::Result<Sdk> {
        let dir = std::fs::canonicalize(dir)
            .with_context(|| format!("--sdk-path {} does not exist", dir.display()))?;
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap_or_default();
        if !manifest.contains("name = \"tally-plugin-sdk\"") {
            bail!(
                "{} is not the tally-plugin-sdk crate (the `sdk` directory of a Tally source tree)",
                dir.display()
            );
        }
        let path = toml::Value::String(dir.display().to_string());
        Ok(Sdk {
            dependency: format!("{{ path = {path} }}"),
            origin: origin.into(),
            lockfile: dir.parent().map(|tree| tree.join("Cargo.lock")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["acme-log", "a", "x2", "rlm-web-2"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "Acme", "2acme", "acme_log", "acme-", "a--b", "acme log", "é", "test", "fn",
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert!(check_name(&"a".repeat(65)).is_err());
        assert_eq!(type_name("acme-log", "Importer"), "AcmeLogImporter");
        assert_eq!(type_name("x2", "Poller"), "X2Poller");
    }

    #[test]
    fn every_placeholder_is_filled() {
        let known = [
            "{{world_notes}}",
            "{{name}}",
            "{{crate}}",
            "{{Type}}",
            "{{Trait}}",
            "{{world}}",
            "{{wit}}",
            "{{description}}",
            "{{sdk}}",
            "{{sdk_comment}}",
        ];
        for t in COMMON.iter().chain(IMPORTER).chain(POLLER) {
            let mut rest = t.text;
            while let Some(at) = rest.find("{{") {
                let end = rest[at..].find("}}").map_or(rest.len(), |e| at + e + 2);
                assert!(
                    known.contains(&&rest[at..end]),
                    "{}: {}",
                    t.path,
                    &rest[at..end]
                );
                rest = &rest[end..];
            }
        }
    }

    #[test]
    fn refuses_a_dir_in_use() {
        let tmp = tempfile::tempdir().expect("temp dir");
        assert!(check_dir(&tmp.path().join("new")).is_ok());
        assert!(check_dir(tmp.path()).is_ok());
        std::fs::write(tmp.path().join("x"), "").expect("write");
        let err = check_dir(tmp.path()).expect_err("not empty").to_string();
        assert!(err.contains("exists and is not empty"), "{err}");
        assert!(check_dir(&tmp.path().join("x")).is_err());
    }
}
