//! End-to-end: imports through the REST API of a running `tally serve` (raw body and multipart
//! upload), read back as jobs with progress and a summary, give what the CLI gives for the same
//! file: both go through one code path.

use serde_json::Value;

mod common;
use common::{Env, Serving, until};

/// Starts an import; returns the job id.
fn post(serving: &Serving, query: &str, headers: &[(&str, &str)], body: &[u8]) -> u64 {
    let (status, answer) =
        serving.request("POST", &format!("/api/v1/imports{query}"), headers, body);
    assert_eq!(status, 202, "POST /api/v1/imports{query}: {answer}");
    let answer: Value = serde_json::from_str(&answer).expect("JSON");
    answer["job"].as_u64().expect("job id")
}

/// Follows a job until it ends; returns it and the byte counts seen while it ran.
fn wait(serving: &Serving, job: u64) -> (Value, Vec<u64>) {
    let mut progress = Vec::new();
    let mut last = Value::Null;
    until("the import job", || {
        last = serving.json(&format!("/api/v1/imports/{job}"));
        progress.push(last["bytes_done"].as_u64().expect("bytes_done"));
        last["state"] != "running"
    });
    (last, progress)
}

fn multipart(file_name: &str, content: &str) -> (String, Vec<u8>) {
    let boundary = "tally-test-boundary-7d1";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nignored\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n{content}\r\n--{boundary}--\r\n"
    );
    (
        format!("multipart/form-data; boundary={boundary}"),
        body.into_bytes(),
    )
}

#[test]
fn imports_through_the_api_equal_the_cli_and_report_progress() {
    let (log, totals) = flexlm_log::synth::generate(40_000, 11);
    let env = Env::new();
    let serving = env.serve(&[]);

    // Raw body, server and offset in the query.
    let job = post(
        &serving,
        "?server=lic1&utc_offset=0&name=lmgrd.log",
        &[],
        log.as_bytes(),
    );
    let (done, progress) = wait(&serving, job);
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["name"], "lmgrd.log");
    assert_eq!(
        done["bytes_total"].as_u64(),
        Some(log.len() as u64),
        "{done}"
    );
    assert_eq!(done["bytes_done"], done["bytes_total"]);
    assert!(
        progress.windows(2).all(|w| w[0] <= w[1]),
        "progress only grows: {progress:?}"
    );
    let summary = &done["summary"];
    assert_eq!(summary["server"], "lic1");
    assert_eq!(summary["format"], "flexlm-debuglog");
    assert_eq!(
        summary["sessions"].as_u64(),
        Some(totals.checkouts),
        "{summary}"
    );
    assert_eq!(
        summary["denials"].as_u64(),
        Some(totals.denials),
        "{summary}"
    );

    // The CLI on the same file, into another database: the same facts.
    let cli = Env::new();
    let path = cli.write("lmgrd.log", &log);
    let by_cli = cli.import(&["--server", "lic1", path.to_str().expect("utf-8")]);
    for key in ["sessions", "denials", "server_events", "malformed", "lines"] {
        assert_eq!(
            summary[key], by_cli["results"][0][key],
            "{key}: API {summary} CLI {by_cli}"
        );
    }

    // The same file again is recognised: nothing added.
    let again = post(&serving, "?server=lic1&utc_offset=0", &[], log.as_bytes());
    let (again, _) = wait(&serving, again);
    assert_eq!(again["summary"]["outcome"], "unchanged", "{again}");
    assert_eq!(again["summary"]["sessions"], 0);

    // Multipart: the file field's name names the server (other fields are ignored).
    let (small, small_totals) = flexlm_log::synth::generate(2_000, 12);
    let (content_type, body) = multipart("build-farm.log", &small);
    let job = post(
        &serving,
        "?utc_offset=0",
        &[("Content-Type", &content_type)],
        &body,
    );
    let (done, _) = wait(&serving, job);
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["summary"]["server"], "build-farm");
    assert_eq!(
        done["summary"]["sessions"].as_u64(),
        Some(small_totals.checkouts)
    );
    let servers = serving.json("/api/v1/license-servers");
    let names: Vec<&str> = servers
        .as_array()
        .expect("servers")
        .iter()
        .map(|s| s["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["build-farm", "lic1"], "{servers}");
    assert_eq!(servers[1]["status"]["import"]["state"], "Success");

    // Every run, newest first, each named as its uploader named it (never the spool's path),
    // beside a run of the command line into the same database.
    let by_cli = env.write("other.log", &small);
    env.import(&["--server", "lic1", by_cli.to_str().expect("utf-8")]);
    let runs = serving.json("/api/v1/import-runs");
    let listed: Vec<(&str, &str, &str)> = runs
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| {
            let text = |k: &str| r[k].as_str().unwrap_or_else(|| panic!("{k} of {r}"));
            (text("server"), text("status"), text("path"))
        })
        .collect();
    let cli_path = by_cli.display().to_string();
    assert_eq!(
        listed,
        [
            ("lic1", "complete", cli_path.as_str()),
            ("build-farm", "complete", "build-farm.log"),
            ("lic1", "complete", "lmgrd.log"),
        ],
        "{runs:#}"
    );
    assert_eq!(
        runs[1]["counts"]["sessions"].as_u64(),
        Some(small_totals.checkouts)
    );
    let only = serving.json("/api/v1/import-runs?server=build-farm&limit=5");
    assert_eq!(only.as_array().map(Vec::len), Some(1), "{only}");
    let (status, answer) = serving.get("/api/v1/import-runs?server=nowhere");
    assert_eq!(status, 404, "{answer}");
    let (status, answer) = serving.get("/api/v1/import-runs?limit=0");
    assert_eq!(status, 400, "{answer}");
}

#[test]
fn bad_uploads_get_clear_errors() {
    let env = Env::new();
    let serving = env.serve(&[]);

    // A file no importer claims: the job fails naming the known formats.
    let job = post(&serving, "?name=notes.txt", &[], b"shopping list\nmilk\n");
    let (failed, _) = wait(&serving, job);
    assert_eq!(failed["state"], "failed", "{failed}");
    let error = failed["error"].as_str().expect("error");
    assert!(
        error.contains("flexlm-debuglog") && error.contains("rlm-reportlog"),
        "the error lists the known formats: {error}"
    );

    // A form without a `file` field.
    let boundary = "b0";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nx\r\n--{boundary}--\r\n"
    );
    let (status, answer) = serving.request(
        "POST",
        "/api/v1/imports",
        &[(
            "Content-Type",
            &format!("multipart/form-data; boundary={boundary}"),
        )],
        body.as_bytes(),
    );
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("`file`"), "{answer}");

    // An unknown job.
    let (status, answer) = serving.get("/api/v1/imports/999");
    assert_eq!(status, 404, "{answer}");
}

/// Sends `head` and as much of `body` as the server takes, then closes; the server's answer if
/// it gave one.
fn raw(serving: &Serving, head: &str, body: &[u8]) -> String {
    use std::io::{Read, Write};
    let address = serving.url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    stream.write_all(head.as_bytes()).expect("head");
    // The server may answer and close before reading it all.
    let _ = stream.write_all(body);
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).to_string()
}

#[test]
fn uploads_are_bounded_and_leave_nothing_in_the_spool() {
    let env = Env::new();
    let spool = env.dir.path().join("data/tally/spool");
    std::fs::create_dir_all(&spool).expect("spool");
    std::fs::write(spool.join("7-left-by-a-crash.log"), "9:00:00 (lmgrd) x\n").expect("left");
    let serving = env.serve(&["--max-upload-mb", "1"]);
    let files = || std::fs::read_dir(&spool).map_or(0, |d| d.count());
    assert_eq!(files(), 0, "what an earlier run left is removed at start");

    let token = serving.token.clone().expect("admin token");
    let head = |length: usize| {
        format!(
            "POST /api/v1/imports?server=X HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
             Authorization: Bearer {token}\r\nContent-Length: {length}\r\n\r\n"
        )
    };
    // Past the limit: refused from its announced size.
    let answer = raw(&serving, &head(2 << 20), &vec![b'x'; 2 << 20]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(
        answer.contains("larger than the limit of 1 MiB"),
        "{answer}"
    );

    // Broken off: a third of what it announced, then the client goes away.
    let answer = raw(&serving, &head(300_000), &vec![b'x'; 100_000]);
    assert!(!answer.starts_with("HTTP/1.1 202"), "{answer}");
    until("the broken-off upload's file to go", || files() == 0);

    // And the server still takes a whole one.
    let (status, body) = serving.request(
        "POST",
        "/api/v1/imports?server=X&name=ok.log",
        &[],
        b" 9:00:00 (lmgrd) TIMESTAMP 3/4/2024\n",
    );
    assert_eq!(status, 202, "{body}");
}
