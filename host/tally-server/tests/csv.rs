//! CSV for every list and report, asked with `?format=csv` or `Accept: text/csv`.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::TestApi;
use serde_json::json;
use tally_app::access::Role;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_and_reports_answer_csv_with_a_header_row() {
    let t = TestApi::new(false).await;
    let admin = t.token("ann", Role::Administrator).await;
    t.import_synthetic(5_000).await;
    let made = t
        .send(
            "POST",
            "/api/v1/license-servers?format=csv",
            Some(&admin),
            Some(json!({"name": "bar1", "manager": "flexlm", "host": "127.0.0.1", "port": 27000})),
        )
        .await;
    assert_eq!(
        made.status,
        StatusCode::CREATED,
        "a write stays JSON: {}",
        made.body
    );
    assert!(made.json()["name"].is_string());

    let servers = t
        .send(
            "GET",
            "/api/v1/license-servers?format=csv",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(servers.status, StatusCode::OK, "{}", servers.body);
    assert_eq!(
        servers.headers[header::CONTENT_TYPE],
        "text/csv; charset=utf-8"
    );
    let mut lines = servers.body.lines();
    let head = lines.next().expect("header");
    assert!(head.starts_with("id,name,manager,"), "{head}");
    assert!(head.contains("status.remote.state"), "{head}");
    assert_eq!(lines.count(), 2, "{}", servers.body);

    // The Accept header asks the same.
    let accepted = t
        .call(
            Request::get("/api/v1/sessions?limit=3")
                .header(header::AUTHORIZATION, format!("Bearer {admin}"))
                .header(header::ACCEPT, "text/csv")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(accepted.status, StatusCode::OK);
    let lines: Vec<&str> = accepted.body.lines().collect();
    assert_eq!(lines.len(), 4, "{}", accepted.body);
    assert!(lines[0].starts_with("id,server,vendor,feature,user,host,count,start,end"));
    assert_eq!(
        accepted.headers["x-next"],
        lines[3].split(',').next().expect("id")
    );

    let report = t
        .send(
            "GET",
            "/api/v1/reports/users?format=csv",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.body);
    assert!(
        report.body.starts_with("server,feature,user,used_hours"),
        "{}",
        report.body
    );
    let history = t
        .send(
            "GET",
            "/api/v1/license-servers/lic1/history?from=2024-03-01&to=2024-03-05&format=csv",
            Some(&admin),
            None,
        )
        .await;
    assert!(
        history
            .body
            .starts_with("vendor,feature,issued,points.t,points.peak"),
        "{}",
        history.body
    );

    // Errors stay JSON; an unknown format is refused.
    let missing = t
        .send(
            "GET",
            "/api/v1/license-servers/nope?format=csv",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.json()["error"].is_string());
    let xml = t
        .send(
            "GET",
            "/api/v1/license-servers?format=xml",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(xml.status, StatusCode::BAD_REQUEST);
    assert!(
        xml.json()["error"]
            .as_str()
            .is_some_and(|e| e.contains("json or csv"))
    );
}

#[tokio::test]
async fn reports_answer_columns_and_rows() {
    let t = TestApi::new(true).await;
    let list = t.send("GET", "/api/v1/reports", None, None).await.json();
    let names: Vec<&str> = list
        .as_array()
        .expect("reports")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(names.len(), 10, "{names:?}");
    assert!(names.contains(&"user-count"));
    let usage = list
        .as_array()
        .expect("reports")
        .iter()
        .find(|r| r["name"] == "usage")
        .expect("usage");
    assert!(
        usage["options"]
            .as_array()
            .is_some_and(|o| o.contains(&json!("period")))
    );

    let answer = t.send("GET", "/api/v1/reports/features", None, None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let answer = answer.json();
    assert_eq!(answer["report"], "features");
    assert_eq!(answer["columns"][0]["name"], "server");
    assert_eq!(answer["rows"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_list_still_has_its_header_row() {
    let t = TestApi::new(false).await;
    let admin = t.token("ann", Role::Administrator).await;
    let empty = t
        .send("GET", "/api/v1/denials?format=csv", Some(&admin), None)
        .await;
    assert_eq!(empty.status, StatusCode::OK, "{}", empty.body);
    let lines: Vec<&str> = empty.body.lines().collect();
    assert_eq!(lines.len(), 1, "{}", empty.body);
    assert!(
        lines[0].contains("feature") && lines[0].contains("user"),
        "{}",
        empty.body
    );
}
