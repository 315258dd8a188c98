//! `/metrics`: Prometheus text, read like any other read.

mod common;

use axum::http::{StatusCode, header};
use common::TestApi;
use tally_app::access::Role;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_need_a_reader_and_show_tally_series() {
    let t = TestApi::new(false).await;
    let viewer = t.token("vic", Role::Viewer).await;
    t.import_synthetic(2_000).await;
    let anonymous = t.send("GET", "/metrics", None, None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);

    t.send("GET", "/api/v1/license-servers", Some(&viewer), None)
        .await;
    let answer = t.send("GET", "/metrics", Some(&viewer), None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(
        answer.headers[header::CONTENT_TYPE]
            .to_str()
            .is_ok_and(|c| c.starts_with("text/plain; version=0.0.4"))
    );
    let text = &answer.body;
    for series in [
        "tally_servers{source=\"import\",status=\"Success\"} 1",
        "# TYPE tally_polls_total counter",
        "tally_import_lines_total ",
        "tally_import_duration_seconds_count ",
        "tally_http_requests_total{method=\"GET\",route=\"/api/v1/license-servers\",status=\"2xx\"} ",
        "tally_plugin_traps_total{plugin=\"flexlm-log\"} 0",
        "tally_plugin_quarantined{plugin=\"flexlm-log\"} 0",
        "tally_http_request_duration_seconds_bucket{le=\"+Inf\"} ",
    ] {
        assert!(text.contains(series), "{series} missing:\n{text}");
    }
    let lines: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("tally_import_lines_total "))
        .and_then(|n| n.parse().ok())
        .expect("import lines");
    assert!(lines >= 1_000, "{lines}");
    // Every sample line is `name{labels} value`.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (name, value) = line.rsplit_once(' ').expect("name value");
        assert!(name.starts_with("tally_"), "{line}");
        assert!(value.parse::<f64>().is_ok(), "{line}");
    }

    let anonymous_reads = TestApi::new(true).await;
    let open = anonymous_reads.send("GET", "/metrics", None, None).await;
    assert_eq!(open.status, StatusCode::OK);
}
