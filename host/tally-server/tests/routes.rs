//! The API in-process: who may call what, and what each answer looks like.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::TestApi;
use serde_json::json;
use tally_app::access::Role;

fn bar1() -> serde_json::Value {
    json!({"name": "bar1", "manager": "flexlm", "host": "127.0.0.1", "port": 27000})
}

#[tokio::test]
async fn writes_need_an_administrator_and_reads_a_login() {
    let t = TestApi::new(false).await;
    let admin = t.token("ann", Role::Administrator).await;
    let viewer = t.token("vic", Role::Viewer).await;

    let anonymous = t
        .send("POST", "/api/v1/license-servers", None, Some(bar1()))
        .await;
    assert_eq!(
        anonymous.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        anonymous.body
    );
    assert_eq!(anonymous.headers[header::WWW_AUTHENTICATE], "Bearer");
    let read = t.send("GET", "/api/v1/license-servers", None, None).await;
    assert_eq!(read.status, StatusCode::UNAUTHORIZED);

    let refused = t
        .send(
            "POST",
            "/api/v1/license-servers",
            Some(&viewer),
            Some(bar1()),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert_eq!(
        refused.json()["error"],
        "adding a license server needs the administrator role; `vic` is a viewer"
    );

    let created = t
        .send(
            "POST",
            "/api/v1/license-servers",
            Some(&admin),
            Some(bar1()),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let server = created.json();
    assert_eq!(server["name"], "bar1");
    assert_eq!(server["poll_format"], "flexlm-lmstat");
    assert_eq!(server["status"]["remote"]["state"], "Verifying");

    let listed = t
        .send("GET", "/api/v1/license-servers", Some(&viewer), None)
        .await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.json()[0]["name"], "bar1");
}

#[tokio::test]
async fn anonymous_reading_is_the_operators_choice() {
    let t = TestApi::new(true).await;
    let read = t.send("GET", "/api/v1/license-servers", None, None).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    let write = t
        .send("POST", "/api/v1/license-servers", None, Some(bar1()))
        .await;
    assert_eq!(write.status, StatusCode::UNAUTHORIZED, "{}", write.body);
}

#[tokio::test]
async fn invalid_settings_are_refused_in_the_apis_words() {
    let t = TestApi::new(false).await;
    let admin = t.token("ann", Role::Administrator).await;
    let post = |body| t.send("POST", "/api/v1/license-servers", Some(&admin), Some(body));

    let unknown_key = post(json!({"name": "x", "manager": "flexlm", "hots": "a"})).await;
    assert_eq!(unknown_key.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown_key.body.contains("hots"), "{}", unknown_key.body);

    let no_host = post(json!({"name": "x", "poll_format": "flexlm-lmstat"})).await;
    assert_eq!(no_host.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        no_host.json()["error"],
        "a polled server needs a host (and usually a port)"
    );
    assert!(
        !no_host.body.contains("--"),
        "no CLI flags: {}",
        no_host.body
    );

    let bad_offset =
        post(json!({"name": "x", "manager": "flexlm", "utc_offset": "-2147483648"})).await;
    assert_eq!(
        bad_offset.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        bad_offset.body
    );

    assert_eq!(post(bar1()).await.status, StatusCode::CREATED);
    let again = post(bar1()).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(
        again.json()["error"],
        "a license server called `bar1` exists already"
    );

    let missing = t
        .send("GET", "/api/v1/license-servers/nope", Some(&admin), None)
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        missing.json()["error"],
        "no license server is called `nope`"
    );
}

#[tokio::test]
async fn servers_are_edited_disabled_hidden_and_removed() {
    let t = TestApi::new(false).await;
    let admin = t.token("ann", Role::Administrator).await;
    t.send(
        "POST",
        "/api/v1/license-servers",
        Some(&admin),
        Some(bar1()),
    )
    .await;
    let path = "/api/v1/license-servers/bar1";

    let edited = t
        .send(
            "PATCH",
            path,
            Some(&admin),
            Some(json!({"interval_secs": 120})),
        )
        .await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.body);
    assert_eq!(edited.json()["interval_secs"], 120);

    let disabled = t
        .send("POST", &format!("{path}/disable"), Some(&admin), None)
        .await;
    assert_eq!(disabled.json()["status"]["remote"]["state"], "Disabled");
    let hidden = t
        .send("POST", &format!("{path}/hide"), Some(&admin), None)
        .await;
    assert_eq!(hidden.json()["hidden"], true);

    let removed = t.send("DELETE", path, Some(&admin), None).await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    assert_eq!(
        t.send("GET", path, Some(&admin), None).await.status,
        StatusCode::NOT_FOUND
    );
}

/// A browser logs in, reads with its cookie, and writes only with the CSRF token.
#[tokio::test]
async fn browser_sessions_need_the_csrf_token_to_write() {
    let t = TestApi::new(false).await;
    t.token("ann", Role::Administrator).await;
    let login = t
        .send(
            "POST",
            "/api/v1/session",
            None,
            Some(json!({"username": "ann", "password": "a long password"})),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    let set_cookie = login.headers[header::SET_COOKIE].to_str().expect("cookie");
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"));
    let cookie = set_cookie.split(';').next().expect("cookie").to_string();
    let csrf = login.json()["csrf"].as_str().expect("csrf").to_string();
    assert_eq!(login.json()["role"], "administrator");

    let request = |method: &str, csrf: Option<&str>| {
        let mut r = Request::builder()
            .method(method)
            .uri("/api/v1/license-servers")
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(csrf) = csrf {
            r = r.header("X-CSRF-Token", csrf);
        }
        r.body(Body::from(bar1().to_string())).expect("request")
    };
    assert_eq!(t.call(request("GET", None)).await.status, StatusCode::OK);
    let forged = t.call(request("POST", None)).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    let real = t.call(request("POST", Some(&csrf))).await;
    assert_eq!(real.status, StatusCode::CREATED, "{}", real.body);
}

#[tokio::test]
async fn failed_logins_are_rate_limited() {
    let t = TestApi::new(false).await;
    t.token("ann", Role::Administrator).await;
    let attempt = |password: &str| {
        t.send(
            "POST",
            "/api/v1/session",
            None,
            Some(json!({"username": "ann", "password": password})),
        )
    };
    for _ in 0..5 {
        let wrong = attempt("wrong password").await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        assert_eq!(wrong.json()["error"], "wrong user name or password");
    }
    let limited = attempt("a long password").await;
    assert_eq!(
        limited.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        limited.body
    );
    assert!(limited.headers.contains_key(header::RETRY_AFTER));
}

#[tokio::test]
async fn tokens_are_shown_once_and_revocable() {
    let t = TestApi::new(false).await;
    let admin = t.token("ann", Role::Administrator).await;
    let made = t
        .send(
            "POST",
            "/api/v1/tokens",
            Some(&admin),
            Some(json!({"name": "ci"})),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let secret = made.json()["token"].as_str().expect("token").to_string();
    let id = made.json()["id"].as_i64().expect("id");

    let list = t.send("GET", "/api/v1/tokens", Some(&secret), None).await;
    assert!(
        !list.body.contains(&secret),
        "the list never shows a secret"
    );
    assert!(
        list.json()
            .as_array()
            .expect("list")
            .iter()
            .any(|t| t["name"] == "ci")
    );

    let revoked = t
        .send(
            "DELETE",
            &format!("/api/v1/tokens/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    let after = t
        .send("GET", "/api/v1/license-servers", Some(&secret), None)
        .await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_last_administrator_stays() {
    let t = TestApi::new(false).await;
    let admin = t.token("ann", Role::Administrator).await;
    let demote = t
        .send(
            "PATCH",
            "/api/v1/accounts/ann",
            Some(&admin),
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(
        demote.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        demote.body
    );
    let remove = t
        .send("DELETE", "/api/v1/accounts/ann", Some(&admin), None)
        .await;
    assert_eq!(remove.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn health_tells_readiness_from_its_parts_and_liveness_alone() {
    let t = TestApi::new(false).await;
    // No login needed; no scheduler runs in this test: serving, but degraded.
    let health = t.send("GET", "/api/v1/health", None, None).await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(
        health.json(),
        json!({"status": "degraded", "store": "ok", "scheduler": "not-running",
               "plugins": "ok", "quarantined_plugins": []})
    );
    // The scheduler's supervisor went round just now.
    t.app()
        .scheduler_beat
        .store(tally_app::now(), std::sync::atomic::Ordering::Relaxed);
    let health = t.send("GET", "/api/v1/health", None, None).await;
    assert_eq!(health.json()["status"], "ok", "{}", health.body);
    // Long ago: stalled.
    t.app()
        .scheduler_beat
        .store(tally_app::now() - 600, std::sync::atomic::Ordering::Relaxed);
    let health = t.send("GET", "/api/v1/health", None, None).await;
    assert_eq!(health.json()["scheduler"], "stalled", "{}", health.body);
    assert_eq!(health.json()["status"], "degraded");

    // Without its store Tally is not ready, and says so with 503; it is still alive.
    t.app().store.close().await;
    let health = t.send("GET", "/api/v1/health", None, None).await;
    assert_eq!(health.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(health.json()["status"], "down");
    assert_eq!(health.json()["store"], "unreachable");
    let live = t.send("GET", "/api/v1/health/live", None, None).await;
    assert_eq!(live.status, StatusCode::OK);
    assert_eq!(live.json(), json!({"status": "ok"}));
}

#[tokio::test]
async fn the_licence_in_force_is_the_community_one_without_a_file() {
    let t = TestApi::new(false).await;
    let viewer = t.token("vic", Role::Viewer).await;
    let licence = t.send("GET", "/api/v1/license", Some(&viewer), None).await;
    assert_eq!(licence.status, StatusCode::OK, "{}", licence.body);
    let json = licence.json();
    assert_eq!(json["restricted"], false, "{json}");
    assert!(json["refused_file"].is_null());
    assert!(licence.body.contains("Community"), "{}", licence.body);
    let anonymous = t.send("GET", "/api/v1/license", None, None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

/// Enabling or disabling changes only that: a server kept unpolled on purpose stays unpolled.
#[tokio::test]
async fn enabling_a_server_changes_nothing_else() {
    let t = TestApi::new(false).await;
    let admin = t.token("ann", Role::Administrator).await;
    let body = json!({"name": "quiet", "manager": "flexlm", "host": "lic1", "no_poll": true});
    let made = t
        .send("POST", "/api/v1/license-servers", Some(&admin), Some(body))
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    assert!(made.json()["poll_format"].is_null());
    for action in ["disable", "enable"] {
        let path = format!("/api/v1/license-servers/quiet/{action}");
        let answer = t.send("POST", &path, Some(&admin), None).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        assert!(
            answer.json()["poll_format"].is_null(),
            "{action}: {}",
            answer.body
        );
    }
}

/// 101 users put Tally past the Community licence's 100: every write answers 403 naming the
/// violation and what to do next, reads go on, and removing the data lifts it.
#[tokio::test(flavor = "multi_thread")]
async fn restricted_access_mode_refuses_writes_until_data_is_removed() {
    let t = TestApi::new(false).await;
    let admin = t.token("ann", Role::Administrator).await;
    let viewer = t.token("vic", Role::Viewer).await;
    let mut log = String::from(
        " 8:00:00 (lmgrd) FlexNet Licensing (v11.19.0.0 build 1 x64_lsb) started on lic (linux) (3/1/2024)\n 8:00:00 (acme) FlexNet Licensing version v11.19.0.0 build 1 x64_lsb\n",
    );
    for u in 0..101 {
        log.push_str(&format!(" 9:00:00 (acme) OUT: \"f\" user{u}@ws1  \n"));
        log.push_str(&format!("10:00:00 (acme) IN: \"f\" user{u}@ws1  \n"));
    }
    let path = t.dir.path().join("big.log");
    std::fs::write(&path, log).expect("log");
    let options = tally_app::import::ImportOptions {
        server: Some("big".into()),
        utc_offset: Some(0),
        ..Default::default()
    };
    let actor = tally_app::access::Actor::operator();
    let summary = tally_app::import::import_files(t.app(), &actor, &[path], &options, &())
        .await
        .expect("import");
    assert_eq!(summary.failed, 0, "{:?}", summary.errors);

    let refused = t
        .send(
            "POST",
            "/api/v1/license-servers",
            Some(&admin),
            Some(bar1()),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert_eq!(
        refused.json()["error"],
        "adding a license server is refused: Tally is in restricted access mode. User limit exceeded: 101 users in the database (unique usernames over all history, denials included); the licence allows 100. What to do next: Load a licence with a higher user limit. Remove some data (e.g., a feature or a server)."
    );
    // Reading goes on.
    let listed = t
        .send("GET", "/api/v1/license-servers", Some(&viewer), None)
        .await;
    assert_eq!(listed.status, StatusCode::OK);
    let licence = t.send("GET", "/api/v1/license", Some(&viewer), None).await;
    assert_eq!(licence.json()["restricted"], true, "{}", licence.body);
    // Installing a licence is an administrator's, and only a verified one.
    let put = |token: String, body: &'static str| {
        let request = Request::builder()
            .method("PUT")
            .uri("/api/v1/license")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::from(body))
            .expect("request");
        t.call(request)
    };
    assert_eq!(put(viewer.clone(), "x").await.status, StatusCode::FORBIDDEN);
    let garbage = put(admin.clone(), "licensee = ").await;
    assert_eq!(
        garbage.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        garbage.body
    );
    assert!(
        garbage.body.contains("the licence is not installed"),
        "{}",
        garbage.body
    );
    // Removing data is allowed in restricted access mode, and lifts it at once.
    let removed = t
        .send("DELETE", "/api/v1/license-servers/big", Some(&admin), None)
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.body);
    let licence = t.send("GET", "/api/v1/license", Some(&viewer), None).await;
    assert_eq!(licence.json()["restricted"], false, "{}", licence.body);
    let created = t
        .send(
            "POST",
            "/api/v1/license-servers",
            Some(&admin),
            Some(bar1()),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
}

#[tokio::test]
async fn capacity_is_entered_listed_and_removed_by_an_administrator() {
    let t = TestApi::new(false).await;
    let admin = t.token("ann", Role::Administrator).await;
    let viewer = t.token("vic", Role::Viewer).await;
    t.send(
        "POST",
        "/api/v1/license-servers",
        Some(&admin),
        Some(bar1()),
    )
    .await;
    let path = "/api/v1/license-servers/bar1/capacity";
    let entry = json!({"feature": "cad", "vendor": "acme", "issued": 4, "from": "2025-01-01"});

    let refused = t
        .send("POST", path, Some(&viewer), Some(entry.clone()))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    let invalid = t
        .send(
            "POST",
            path,
            Some(&admin),
            Some(json!({"feature": "cad", "vendor": "acme", "issued": 4, "from": "2025-02-01", "until": "2025-01-01"})),
        )
        .await;
    assert_eq!(
        invalid.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        invalid.body
    );
    assert!(
        invalid.json()["error"]
            .as_str()
            .is_some_and(|e| e.contains("before it starts")),
        "{}",
        invalid.body
    );
    let unknown = t
        .send(
            "POST",
            path,
            Some(&admin),
            Some(json!({"feature": "cad", "seats": 4})),
        )
        .await;
    assert_eq!(
        unknown.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        unknown.body
    );

    let created = t.send("POST", path, Some(&admin), Some(entry)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let row = created.json();
    assert_eq!(
        [
            &row["feature"],
            &row["vendor"],
            &row["issued"],
            &row["source"],
            &row["from"]
        ],
        [
            &json!("cad"),
            &json!("acme"),
            &json!(4),
            &json!("operator"),
            &json!("2025-01-01T00:00:00Z")
        ]
    );
    assert!(row["until"].is_null());

    let listed = t.send("GET", path, Some(&viewer), None).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.json().as_array().map(Vec::len), Some(1));

    let id = row["id"].as_i64().expect("id");
    let other = t
        .send("DELETE", &format!("{path}/{}", id + 1), Some(&admin), None)
        .await;
    assert_eq!(
        other.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        other.body
    );
    let removed = t
        .send("DELETE", &format!("{path}/{id}"), Some(&admin), None)
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.body);
    assert_eq!(
        t.send("GET", path, Some(&viewer), None).await.json(),
        json!([])
    );
    let missing = t
        .send(
            "GET",
            "/api/v1/license-servers/nope/capacity",
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}
