//! End-to-end: Tally's own licence on the real binary. A site issues itself a licence of one
//! user (`tally license keygen`, `issue`), trusts its key (`TALLY_LICENSE_KEYS`) and installs
//! it; a log with two users puts the running `tally serve` in restricted access mode: API
//! writes answer 403 naming the user limit and what to do next, reads go on, and installing a
//! licence with a higher limit lifts it without a restart.

use serde_json::Value;

mod common;
use common::{Env, Serving, until};

/// `tally license keygen`: the key file and the public key printed.
fn keygen(env: &Env) -> (std::path::PathBuf, String) {
    let key = env.dir.path().join("issuer.key");
    let out = env.tally(&["license", "keygen", "--out", key.to_str().expect("path")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let public = stdout
        .lines()
        .find_map(|l| l.strip_prefix("public key: "))
        .expect("the public key is printed")
        .trim()
        .to_string();
    (key, public)
}

/// `tally license issue`: a Model 2019 perpetual licence of `users` users and 10 servers.
fn issue(env: &Env, key: &std::path::Path, users: u32) -> String {
    let out = env.tally(&[
        "license",
        "issue",
        "--key",
        key.to_str().expect("path"),
        "--licensee",
        "Example Lab",
        "--users",
        &users.to_string(),
        "--servers",
        "10",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 licence")
}

/// A FlexLM debug log in which ann and bob each check a license out and in.
const TWO_USERS: &str = " 8:00:00 (lmgrd) FlexNet Licensing (v11.19.0.0 build 1 x64_lsb) started on lic (linux) (3/1/2024)
 8:00:00 (acme) FlexNet Licensing version v11.19.0.0 build 1 x64_lsb
 8:01:00 (acme) OUT: \"MATLAB\" ann@ws01  
 8:02:00 (acme) OUT: \"MATLAB\" bob@ws02  
 8:03:00 (acme) IN: \"MATLAB\" ann@ws01  
 8:04:00 (acme) IN: \"MATLAB\" bob@ws02  
";

fn import(serving: &Serving, name: &str, log: &str) -> Value {
    let (status, answer) = serving.request(
        "POST",
        &format!("/api/v1/imports?server={name}&utc_offset=0&name={name}.log"),
        &[],
        log.as_bytes(),
    );
    assert_eq!(status, 202, "{answer}");
    let job = serde_json::from_str::<Value>(&answer).expect("JSON")["job"]
        .as_u64()
        .expect("job id");
    let mut last = Value::Null;
    until("the import job", || {
        last = serving.json(&format!("/api/v1/imports/{job}"));
        last["state"] != "running"
    });
    last
}

fn add_server(serving: &Serving, name: &str) -> (u16, String) {
    serving.request(
        "POST",
        "/api/v1/license-servers",
        &[("Content-Type", "application/json")],
        format!(r#"{{"name": "{name}", "manager": "flexlm"}}"#).as_bytes(),
    )
}

#[test]
fn a_one_user_licence_restricts_writes_after_two_users_and_a_higher_limit_lifts_it() {
    let env = Env::new();
    let (key, public) = keygen(&env);
    let one = env.write("one-user.toml", &issue(&env, &key, 1));
    let five = issue(&env, &key, 5);

    // Installed with the key trusted; shown by the CLI.
    let out = env
        .command(&["license", "install", one.to_str().expect("path")])
        .env("TALLY_LICENSE_KEYS", &public)
        .output()
        .expect("tally license install");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains("Example Lab"), "{shown}");

    let serving = env.serve_with_env(&[], &[("TALLY_LICENSE_KEYS", &public)]);
    let licence = serving.json("/api/v1/license");
    assert_eq!(licence["licence"]["licensee"], "Example Lab", "{licence}");
    assert_eq!(licence["restricted"], false, "{licence}");

    // Two users: past the limit of one.
    let done = import(&serving, "lic1", TWO_USERS);
    assert_eq!(done["state"], "done", "{done}");
    let licence = serving.json("/api/v1/license");
    assert_eq!(licence["restricted"], true, "{licence}");
    assert_eq!(
        licence["violations"][0]["row"],
        "model_2019_runtime_user_limit_exceeded"
    );
    let users = licence["limits"]
        .as_array()
        .expect("limits")
        .iter()
        .find(|l| l["limit"] == "users")
        .expect("the user limit")
        .clone();
    assert_eq!(
        (users["used"].clone(), users["allowed"].clone()),
        (2.into(), 1.into())
    );

    // A write answers 403 naming the user limit and what to do next.
    let (status, body) = add_server(&serving, "lic2");
    assert_eq!(status, 403, "{body}");
    let error = serde_json::from_str::<Value>(&body).expect("JSON")["error"]
        .as_str()
        .expect("error")
        .to_string();
    assert!(error.contains("restricted access mode"), "{error}");
    assert!(error.contains("User limit exceeded: 2 users"), "{error}");
    assert!(error.contains("the licence allows 1"), "{error}");
    assert!(
        error.contains("What to do next: Load a licence with a higher user limit."),
        "{error}"
    );
    // So does an import.
    let (status, body) = serving.request(
        "POST",
        "/api/v1/imports?server=lic3&utc_offset=0",
        &[],
        TWO_USERS.as_bytes(),
    );
    assert_eq!(status, 403, "{body}");

    // Reading goes on.
    let servers = serving.json("/api/v1/license-servers");
    assert!(
        servers
            .as_array()
            .is_some_and(|s| s.iter().any(|s| s["name"] == "lic1")),
        "{servers}"
    );

    // The operator installs one with room for five users: lifted at once, no restart.
    let (status, body) = serving.request(
        "PUT",
        "/api/v1/license",
        &[("Content-Type", "application/toml")],
        five.as_bytes(),
    );
    assert_eq!(status, 200, "{body}");
    let licence: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(licence["restricted"], false, "{licence}");
    let (status, body) = add_server(&serving, "lic2");
    assert_eq!(status, 201, "{body}");

    // A tampered licence is refused, naming what failed; the one in force stays.
    let tampered = five.replace("users = 5", "users = 500");
    assert_ne!(
        tampered, five,
        "the licence states its user limit as `users = 5`"
    );
    let (status, body) = serving.request("PUT", "/api/v1/license", &[], tampered.as_bytes());
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("signature"), "{body}");
    assert_eq!(serving.json("/api/v1/license")["restricted"], false);
}

/// One `tally import` of eleven logs of eleven servers under the Community licence (ten
/// servers): the eleventh needs a server past the limit and is refused, creating nothing.
#[test]
fn a_multi_file_import_stops_at_the_server_limit() {
    let env = Env::new();
    let paths: Vec<String> = (0..11)
        .map(|i| {
            let (log, _) = flexlm_log::synth::generate(3, 100 + i);
            env.write(&format!("server{i:02}.log"), &log)
                .to_str()
                .expect("utf-8 path")
                .to_string()
        })
        .collect();
    let mut args = vec!["import", "--json", "--utc-offset", "0"];
    args.extend(paths.iter().map(String::as_str));
    let out = env.tally(&args);
    let summary: Value = serde_json::from_slice(&out.stdout).expect("a JSON summary");
    assert_eq!(summary["failed"], 1, "{summary}");
    let error = summary["errors"][0]["error"].as_str().expect("the refusal");
    assert!(error.contains("server"), "{error}");
    assert!(
        summary["errors"][0]["path"]
            .as_str()
            .is_some_and(|p| p.ends_with("server10.log"))
    );
    assert_eq!(env.rows("license_server"), 10);
}
