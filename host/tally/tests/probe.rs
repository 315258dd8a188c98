//! `tally probe --json` on every status output of the corpus: exit 0 (a dead server is status
//! `down`, not an error), and the component gives what the same parser gives natively (a
//! differential check of the plugin boundary). Per-file facts (features, issued, in use) are
//! asserted by each poller's own corpus tests.

use serde_json::Value;
use tally_plugin_sdk::{Poller, ServerStatus, Snapshot};

mod common;
use common::{Env, corpus_dir};

/// Corpus files of these folders that are not output of a status command we poll, and why.
const NOT_STATUS_OUTPUT: &[(&str, &str)] = &[
    (
        "licenselogs__dsls_LicenseServer_log_2025-08.log",
        "a DSLS server log (dsls-log imports it)",
    ),
    (
        "licenselogs__dsls_cloud_getlogs.json",
        "DSLS cloud logs (dsls-log imports it)",
    ),
    (
        "issue_phplicensewatcher_143__monitorlm_template_output_TRUNCATED.txt",
        "a site's own monitorlm -template output: no fixed format to read",
    ),
];

fn format_of(folder: &str, file: &str) -> &'static str {
    match folder {
        "flexlm-lmstat" => "flexlm-lmstat",
        "rlm-rlmstat" => "rlm-rlmstat",
        "lmx-status" => "lmx-status",
        "sentinel-lsmon" => "sentinel-lsmon",
        "dsls" => "dsls-usage",
        "mathlm" => "mathlm",
        _ if file.contains("lstc_qrun") => "lstc-qrun",
        _ if file.contains("olicense") => "olicense",
        _ => panic!("no poller for {folder}/{file}"),
    }
}

fn native(format: &str, output: &[u8], now: i64) -> Snapshot {
    let parsed = match format {
        "flexlm-lmstat" => flexlm_lmstat::FlexlmLmstat::parse_status(output, now),
        "rlm-rlmstat" => rlm_rlmstat::RlmStat::parse_status(output, now),
        "lmx-status" => lmx_status::LmxStatus::parse_status(output, now),
        "sentinel-lsmon" => sentinel_lsmon::Lsmon::parse_status(output, now),
        "dsls-usage" => dsls_status::DslsStatus::parse_status(output, now),
        "lstc-qrun" => lstc_qrun::LstcQrun::parse_status(output, now),
        "olicense" => olicense::OLicense::parse_status(output, now),
        "mathlm" => mathlm::MathLm::parse_status(output, now),
        other => panic!("unknown format {other}"),
    };
    parsed.unwrap_or_else(|e| panic!("native {format}: {e}"))
}

fn status(s: ServerStatus) -> &'static str {
    match s {
        ServerStatus::Up => "up",
        ServerStatus::Down => "down",
        ServerStatus::Unknown => "unknown",
    }
}

#[test]
fn every_corpus_status_output_probes_like_its_native_parser() {
    let env = Env::new();
    let mut probed = 0;
    for folder in [
        "flexlm-lmstat",
        "rlm-rlmstat",
        "lmx-status",
        "sentinel-lsmon",
        "dsls",
        "mathlm",
        "other",
    ] {
        let Some(dir) = corpus_dir(folder) else {
            return;
        };
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .expect("corpus dir")
            .map(|e| e.expect("entry").path())
            .collect();
        files.sort();
        for path in files {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .expect("name")
                .to_string();
            if NOT_STATUS_OUTPUT.iter().any(|(n, _)| *n == name) {
                continue;
            }
            let format = format_of(folder, &name);
            let out = env.tally(&[
                "probe",
                "--json",
                "--format",
                format,
                path.to_str().expect("utf-8"),
            ]);
            assert!(
                out.status.success(),
                "probe {name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let got: Value = serde_json::from_slice(&out.stdout).expect("JSON snapshot");
            // The same clock `tally probe` reads: parsers date year-less times from it.
            let want = native(format, &std::fs::read(&path).expect("read"), unix_now());

            let servers: Vec<(String, String)> = got["servers"]
                .as_array()
                .expect("servers")
                .iter()
                .map(|s| {
                    (
                        s["host"].as_str().expect("host").to_string(),
                        s["status"].as_str().expect("status").to_string(),
                    )
                })
                .collect();
            let native_servers: Vec<(String, String)> = want
                .servers
                .iter()
                .map(|s| (s.host.clone(), status(s.status).to_string()))
                .collect();
            assert_eq!(servers, native_servers, "{name}: servers");

            let features: Vec<(String, String, Option<u64>, u64)> = got["features"]
                .as_array()
                .expect("features")
                .iter()
                .map(|f| {
                    (
                        f["name"].as_str().expect("name").to_string(),
                        f["vendor"].as_str().expect("vendor").to_string(),
                        f["issued"].as_u64(),
                        f["in_use"].as_u64().expect("in_use"),
                    )
                })
                .collect();
            let native_features: Vec<(String, String, Option<u64>, u64)> = want
                .features
                .iter()
                .map(|f| {
                    (
                        f.name.clone(),
                        f.vendor.clone(),
                        f.issued.map(u64::from),
                        u64::from(f.in_use),
                    )
                })
                .collect();
            assert_eq!(features, native_features, "{name}: features");

            let checkouts: Vec<(String, String, String, u64)> = got["checkouts"]
                .as_array()
                .expect("checkouts")
                .iter()
                .map(|c| {
                    (
                        c["feature"].as_str().expect("feature").to_string(),
                        c["user"].as_str().expect("user").to_string(),
                        c["host"].as_str().expect("host").to_string(),
                        c["count"].as_u64().expect("count"),
                    )
                })
                .collect();
            let native_checkouts: Vec<(String, String, String, u64)> = want
                .checkouts
                .iter()
                .map(|c| {
                    (
                        c.feature.clone(),
                        c.user.clone(),
                        c.host.clone(),
                        u64::from(c.count),
                    )
                })
                .collect();
            assert_eq!(checkouts, native_checkouts, "{name}: checkouts");
            probed += 1;
        }
    }
    assert!(probed >= 55, "only {probed} status outputs probed");
}

#[test]
fn a_dead_server_is_status_down_not_an_error() {
    let env = Env::new();
    let path = env.write(
        "down.txt",
        "lmutil - Copyright (c) 1989-2020 Flexera. All Rights Reserved.\nFlexible License Manager status on Mon 11/24/2025 10:00\n\nError getting status: Cannot connect to license server system. (-15,570:111 \"Connection refused\")\n",
    );
    let out = env.tally(&[
        "probe",
        "--json",
        "--format",
        "flexlm-lmstat",
        path.to_str().expect("utf-8"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(got["servers"][0]["status"], "down", "{got}");
    assert!(
        got["servers"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("-15,570")),
        "{got}"
    );
}

fn unix_now() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970");
    i64::try_from(since.as_secs()).expect("seconds fit i64")
}
