//! The API fuzzed: every documented route, called with hostile path segments, query values,
//! bodies and headers, answers as documented — a success or a 4xx with a JSON `error` — and
//! never a 5xx or a panic. Each request passes through `TestApi::call`, which checks the answer
//! against the OpenAPI document.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, header};
use common::TestApi;
use tally_app::access::Role;

/// Path segments: traversal (encoded: a literal `/` is another route), bad UTF-8, NUL, numbers
/// out of range, a very long name.
fn segments() -> Vec<String> {
    vec![
        "..%2F..%2Fetc%2Fpasswd".into(),
        "%2e%2e".into(),
        "%FF%FE%FD".into(),
        "a%00b".into(),
        "-1".into(),
        "99999999999999999999999999".into(),
        "%20".into(),
        "x".repeat(10_000),
        "bar1".into(),
    ]
}

const QUERIES: [&str; 16] = [
    "limit=-1",
    "limit=99999999999999",
    "after=%FF%FE",
    "after=!!not-a-cursor",
    "from=yesterday&to=2024-13-45",
    "from=2025-01-01&to=2024-01-01",
    "format=xml",
    "feature=%00&server=%FF",
    "period=fortnight&resolution=nanosecond",
    "utc_offset=-2147483648",
    "top=-3&sort=%27%3BDROP%20TABLE%20session",
    "below=NaN&by=everyone",
    "window=-5d&counting=maybe",
    "per_user=perhaps&denied=2",
    "replace=yes&denials_only=1",
    "name=..%2F..%2Fx&server=%2e%2e",
];

/// Request bodies, with the content type they claim.
fn bodies() -> Vec<(&'static str, Vec<u8>)> {
    let json = "application/json";
    vec![
        (json, b"".to_vec()),
        (json, b"{".to_vec()),
        (json, b"[]".to_vec()),
        (json, b"null".to_vec()),
        (
            json,
            br#"{"name": 5, "manager": [], "port": -1, "issued": -4}"#.to_vec(),
        ),
        (
            json,
            br#"{"name": "x", "password": null, "role": "god"}"#.to_vec(),
        ),
        (
            json,
            format!("{}1{}", "[".repeat(50_000), "]".repeat(50_000)).into_bytes(),
        ),
        (
            json,
            format!(r#"{{"name": "{}"}}"#, "x".repeat(200_000)).into_bytes(),
        ),
        (json, b"\xff\xfe\xfd\x00".to_vec()),
        ("text/plain", b"name=x".to_vec()),
        (
            "multipart/form-data; boundary=zz",
            b"--zz\r\nbroken".to_vec(),
        ),
        ("multipart/form-data", b"no boundary".to_vec()),
    ]
}

fn fill(template: &str, segment: &str) -> String {
    template
        .split('/')
        .map(|part| {
            if part.starts_with('{') && part.ends_with('}') {
                segment
            } else {
                part
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

async fn call(t: &TestApi, method: &Method, uri: &str, token: &str, body: Option<(&str, &[u8])>) {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    if uri.contains("format=xml") {
        request = request.header(header::ACCEPT, "application/xml");
    }
    let request = match body {
        Some((content_type, bytes)) => request
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(bytes.to_vec())),
        None => request.body(Body::empty()),
    }
    .expect("request");
    let answer = t.call(request).await;
    let retry = answer.headers.contains_key(header::RETRY_AFTER);
    assert!(
        answer.status.as_u16() < 500 || (answer.status.as_u16() == 503 && retry),
        "{method} {} answered {}: {}",
        &uri[..uri.len().min(200)],
        answer.status,
        &answer.body[..answer.body.len().min(500)]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_route_answers_hostile_input_with_a_4xx_never_a_5xx() {
    let t = TestApi::new(false).await;
    let admin = t.token("ann", Role::Administrator).await;
    let viewer = t.token("vic", Role::Viewer).await;
    t.send(
        "POST",
        "/api/v1/license-servers",
        Some(&admin),
        Some(serde_json::json!({"name": "bar1", "manager": "flexlm", "host": "127.0.0.1", "port": 27000})),
    )
    .await;
    t.import_synthetic(2_000).await;

    let operations = tally_server::routes::operations();
    let mut requests = 0;
    for op in &operations {
        let writes = op.method != Method::GET;
        for segment in segments() {
            if !op.path.contains('{') && segment != "bar1" {
                continue;
            }
            let path = fill(op.path, &segment);
            for token in [&admin, &viewer] {
                call(&t, &op.method, &path, token, None).await;
                requests += 1;
            }
            // Hostile queries and bodies on a route that exists, where they are read.
            if segment != "bar1" {
                continue;
            }
            for query in QUERIES {
                call(&t, &op.method, &format!("{path}?{query}"), &admin, None).await;
                requests += 1;
            }
            if writes {
                for (content_type, body) in bodies() {
                    call(&t, &op.method, &path, &admin, Some((content_type, &body))).await;
                    requests += 1;
                }
            }
        }
    }
    eprintln!(
        "{requests} hostile requests to {} operations",
        operations.len()
    );
}
