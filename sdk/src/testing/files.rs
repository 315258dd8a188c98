//! Fixture and corpus files: reading them, listing them, and running the checks over every
//! file of a directory.

use std::path::{Path, PathBuf};

use super::{check_import, fuzz_import, fuzz_status, head};
use crate::{Batch, ImportConfig, Importer, Poller};

/// The bytes of a fixture file; panics naming the path.
pub fn fixture(path: impl AsRef<Path>) -> Vec<u8> {
    let path = path.as_ref();
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The names of the files in `dir`, sorted: compare them with the list of files a test covers,
/// so that a new fixture or corpus file cannot go untested.
pub fn file_names(dir: impl AsRef<Path>) -> Vec<String> {
    let dir = dir.as_ref();
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap_or_else(|e| panic!("{}: {e}", dir.display())))
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Every file of `dir` with its name, sorted by name.
pub fn fixtures(dir: impl AsRef<Path>) -> Vec<(String, Vec<u8>)> {
    let dir = dir.as_ref();
    file_names(dir)
        .into_iter()
        .map(|name| {
            let data = fixture(dir.join(&name));
            (name, data)
        })
        .collect()
}

/// `dir` when it exists; otherwise `None` after printing that the test skips, for input that a
/// checkout may lack (a shared corpus): `let Some(dir) = dir_or_skip(DIR) else { return };`.
pub fn dir_or_skip(dir: impl AsRef<Path>) -> Option<PathBuf> {
    let dir = dir.as_ref();
    if dir.is_dir() {
        Some(dir.to_path_buf())
    } else {
        println!("{} absent: skipping", dir.display());
        None
    }
}

/// `["a", "b"]` as `Vec<String>`, to compare with the renderers' output.
pub fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// [`check_import`] on every file of `dir` with each of `configs`, then [`fuzz_import`];
/// prints each name first (shown when a check fails). Returns the batches, `(name, batch)` for
/// each file and config, for the importer's own checks.
pub fn check_import_dir<T: Importer>(
    dir: impl AsRef<Path>,
    configs: &[ImportConfig],
) -> Vec<(String, Batch)> {
    let mut out = Vec::new();
    for (name, data) in fixtures(dir) {
        println!("{name}");
        for cfg in configs {
            out.push((name.clone(), check_import::<T>(&data, cfg)));
        }
        fuzz_import::<T>(&data);
    }
    out
}

/// [`fuzz_import`] on the first 256 KiB of every file of `dir` (it imports a dozen times; the
/// whole files belong to the corpus tests), or nothing, saying so, when `dir` is absent.
pub fn fuzz_import_dir<T: Importer>(dir: impl AsRef<Path>) {
    for (name, data) in optional(dir) {
        println!("{name}");
        fuzz_import::<T>(head(&data, 256 << 10));
    }
}

/// [`fuzz_status`] on every file of `dir`, or nothing, saying so, when `dir` is absent.
pub fn fuzz_status_dir<T: Poller>(dir: impl AsRef<Path>) {
    for (name, data) in optional(dir) {
        println!("{name}");
        fuzz_status::<T>(&data);
    }
}

/// [`fuzz_status`] on every file of `dir` cut after each of its bytes (outputs cut short).
pub fn fuzz_status_cuts<T: Poller>(dir: impl AsRef<Path>) {
    for (name, data) in fixtures(dir) {
        println!("{name}");
        for end in 0..=data.len() {
            fuzz_status::<T>(&data[..end]);
        }
    }
}

fn optional(dir: impl AsRef<Path>) -> Vec<(String, Vec<u8>)> {
    dir_or_skip(dir).map(fixtures).unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn files_of_a_dir() {
        let dir = std::env::temp_dir().join(format!("tally-testing-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("b.log"), "b\n").unwrap();
        std::fs::write(dir.join("a.log"), "a\n").unwrap();
        assert_eq!(file_names(&dir), ["a.log", "b.log"]);
        assert_eq!(
            fixtures(&dir),
            [
                ("a.log".into(), b"a\n".to_vec()),
                ("b.log".into(), b"b\n".to_vec())
            ]
        );
        assert_eq!(dir_or_skip(&dir), Some(dir.clone()));
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(dir_or_skip(&dir), None);
        assert_eq!(strs(&["x"]), ["x".to_string()]);
    }
}
