//! End-to-end: the issue's "must show" on the real binary. `tally serve` on a fresh SQLite
//! database; an administrator and a token made with the CLI; the license-server API refusing
//! an anonymous write and taking the token's; its list as JSON and CSV; the OpenAPI document;
//! the Prometheus metrics.

use std::io::Write;
use std::process::Stdio;

use serde_json::Value;

mod common;
use common::Env;

#[test]
fn a_fresh_server_walks_the_must_show_list() {
    let env = Env::new();
    let serving = env.serve(&[]);

    // `tally user add admin --role administrator`, the password on standard input.
    let mut add = env
        .command(&["user", "add", "admin", "--role", "administrator"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tally user add");
    add.stdin
        .take()
        .expect("stdin")
        .write_all(b"a long enough password\n")
        .expect("password");
    let added = add.wait_with_output().expect("tally user add");
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );

    // `tally token create --user admin --name ci` prints the token once.
    let made = env.tally(&["token", "create", "--user", "admin", "--name", "ci"]);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let token = String::from_utf8_lossy(&made.stdout).trim().to_string();
    assert!(token.len() >= 20 && !token.contains(' '), "{token}");
    let bearer = format!("Bearer {token}");
    let as_ci = |method: &str, path: &str, body: &[u8]| {
        serving.anonymous(
            method,
            path,
            &[
                ("Authorization", &bearer),
                ("Content-Type", "application/json"),
            ],
            body,
        )
    };

    let bar1 = br#"{"name": "bar1", "manager": "flexlm", "host": "127.0.0.1", "port": 27000}"#;
    let (status, body) = serving.anonymous(
        "POST",
        "/api/v1/license-servers",
        &[("Content-Type", "application/json")],
        bar1,
    );
    assert_eq!(status, 401, "{body}");
    let (status, body) = as_ci("POST", "/api/v1/license-servers", bar1);
    assert_eq!(status, 201, "{body}");
    let created: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(created["name"], "bar1");

    let (status, body) = as_ci("GET", "/api/v1/license-servers", b"");
    assert_eq!(status, 200, "{body}");
    let listed: Value = serde_json::from_str(&body).expect("JSON");
    assert!(
        listed
            .as_array()
            .is_some_and(|l| l.iter().any(|s| s["name"] == "bar1")),
        "{listed}"
    );

    let (status, csv) = as_ci("GET", "/api/v1/license-servers?format=csv", b"");
    assert_eq!(status, 200, "{csv}");
    let mut lines = csv.lines();
    let header = lines.next().expect("a header row");
    assert!(header.starts_with("id,name,manager,"), "{header}");
    assert!(lines.any(|l| l.contains(",bar1,flexlm,")), "{csv}");

    let (status, body) = serving.anonymous("GET", "/api/v1/openapi.json", &[], b"");
    assert_eq!(status, 200, "{body}");
    let document: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(document["openapi"], "3.1.0");
    let operations: usize = document["paths"]
        .as_object()
        .expect("paths")
        .values()
        .map(|item| item.as_object().map_or(0, |methods| methods.len()))
        .sum();
    assert!(operations >= 25, "{operations} operations");

    let (status, _) = serving.anonymous("GET", "/metrics", &[], b"");
    assert_eq!(status, 401, "metrics are read like any read");
    let (status, metrics) = as_ci("GET", "/metrics", b"");
    assert_eq!(status, 200, "{metrics}");
    assert!(metrics.contains("# TYPE tally_servers gauge"), "{metrics}");
    // bar1 is Verifying, or Offline once polled (nothing listens on its port).
    assert!(
        metrics.contains("tally_servers{source=\"remote\",status="),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "tally_http_requests_total{method=\"POST\",route=\"/api/v1/license-servers\",status=\"2xx\"}"
        ),
        "{metrics}"
    );
}
