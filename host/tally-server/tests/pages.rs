//! Facts a page at a time: never an unbounded answer, and following `next` reads every row once.

mod common;

use std::collections::HashSet;

use axum::http::StatusCode;
use common::TestApi;
use tally_app::access::Role;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_thousand_sessions_answer_a_page_at_a_time() {
    let t = TestApi::new(false).await;
    let viewer = t.token("vic", Role::Viewer).await;
    t.import_synthetic(150_000).await;
    let stored = t.app().store.row_counts().await.expect("counts").sessions;
    assert!(stored >= 30_000, "{stored} sessions");

    let get = |path: String| {
        let viewer = viewer.clone();
        let t = &t;
        async move { t.send("GET", &path, Some(&viewer), None).await }
    };
    let first = get("/api/v1/license-servers/lic1/sessions".into()).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let page = first.json();
    assert_eq!(page["items"].as_array().map(Vec::len), Some(100));
    assert!(page["next"].is_string(), "{}", page["next"]);
    let s = &page["items"][0];
    for key in [
        "id", "server", "feature", "user", "host", "count", "start", "end", "source",
    ] {
        assert!(!s[key].is_null(), "{key}: {s}");
    }
    assert_eq!(s["server"], "lic1");

    // The largest page is a thousand; more is refused in the API's words.
    let big = get("/api/v1/sessions?limit=1000".into()).await.json();
    assert_eq!(big["items"].as_array().map(Vec::len), Some(1000));
    let refused = get("/api/v1/sessions?limit=1001".into()).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.json()["error"]
            .as_str()
            .is_some_and(|e| e.contains("1 to 1000"))
    );

    // Following `next` reads each session of a user once, in order.
    let mut seen = HashSet::new();
    let mut after = String::new();
    let mut pages = 0;
    loop {
        let page = get(format!(
            "/api/v1/sessions?user=alice&server=lic1&limit=1000&after={after}"
        ))
        .await
        .json();
        pages += 1;
        for item in page["items"].as_array().expect("items") {
            assert_eq!(item["user"], "alice");
            assert!(seen.insert(item["id"].as_i64().expect("id")));
        }
        match page["next"].as_str() {
            Some(next) => after = next.to_string(),
            None => break,
        }
    }
    assert!(
        pages > 1 && seen.len() > 1000,
        "{pages} pages, {}",
        seen.len()
    );

    // A window and a feature narrow the list; an unknown user is an empty page.
    let narrow = get("/api/v1/sessions?feature=MATLAB&from=2024-03-02&to=2024-03-02".into())
        .await
        .json();
    for item in narrow["items"].as_array().expect("items") {
        assert_eq!(item["feature"], "MATLAB");
        assert!(item["start"].as_str().is_some_and(|s| s < "2024-03-03"));
        assert!(item["end"].as_str().is_some_and(|e| e > "2024-03-02"));
    }
    let nobody = get("/api/v1/sessions?user=nobody".into()).await.json();
    assert_eq!(nobody["items"], serde_json::json!([]));
    assert!(nobody["next"].is_null());
    let unknown = get("/api/v1/license-servers/nope/sessions".into()).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let bad_cursor = get("/api/v1/sessions?after=abc".into()).await;
    assert_eq!(bad_cursor.status, StatusCode::BAD_REQUEST);

    // Denials, users and hosts page the same way.
    let denials = get("/api/v1/denials?limit=5".into()).await.json();
    assert_eq!(denials["items"].as_array().map(Vec::len), Some(5));
    assert!(denials["items"][0]["cause"].is_string());
    let users = get("/api/v1/users?limit=3".into()).await.json();
    let names: Vec<&str> = users["items"]
        .as_array()
        .expect("users")
        .iter()
        .filter_map(|u| u["name"].as_str())
        .collect();
    assert_eq!(names.len(), 3);
    assert!(names.windows(2).all(|w| w[0] < w[1]), "{names:?}");
    let rest = get(format!(
        "/api/v1/license-servers/lic1/users?after={}",
        encode(users["next"].as_str().expect("next"))
    ))
    .await
    .json();
    assert!(rest["items"][0]["name"].as_str() > Some(names[2]));
    assert!(rest["items"][0]["license_hours"].as_f64() > Some(0.0));
    let hosts = get("/api/v1/hosts".into()).await.json();
    assert!(hosts["items"].as_array().is_some_and(|h| !h.is_empty()));
}

/// `text` percent-encoded for a query string.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
