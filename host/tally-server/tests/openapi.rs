//! `/api/v1/openapi.json`: every served route documented, every documented route served.
//! (Every answer of the route tests is checked against it in `common::TestApi::call`.)

mod common;

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::TestApi;
use tally_app::access::Role;
use tally_server::routes::operations;

#[tokio::test]
async fn every_route_is_documented_and_served() {
    let t = TestApi::new(false).await;
    let admin = t.token("ann", Role::Administrator).await;
    let answer = t.send("GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(answer.status, StatusCode::OK, "public: {}", answer.body);
    let document = answer.json();
    assert_eq!(document["openapi"], "3.1.0");

    let documented: BTreeSet<(String, String)> = document["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .expect("path item")
                .keys()
                .map(move |method| (method.to_uppercase(), path.clone()))
        })
        .collect();
    assert!(documented.len() >= 25, "{} operations", documented.len());
    let served: BTreeSet<(String, String)> = operations()
        .iter()
        .map(|op| (op.method.to_string(), op.path.to_string()))
        .collect();
    assert_eq!(documented, served);

    // Each is routed: its answer is the handler's (a JSON error at worst), never the router's
    // own 404 or 405.
    for (method, path) in &served {
        let concrete = path.replace("{name}", "nope").replace("{id}", "999999");
        let request = Request::builder()
            .method(method.as_str())
            .uri(&concrete)
            .header(header::AUTHORIZATION, format!("Bearer {admin}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{}"))
            .expect("request");
        let answer = t.call(request).await;
        assert_ne!(
            answer.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        if answer.status == StatusCode::NOT_FOUND {
            assert!(
                answer.json()["error"].is_string(),
                "{method} {path} is not routed"
            );
        }
    }
}
