//! Features, current usage and history: what a poll said, and the rollups over a window.

mod common;

use axum::http::StatusCode;
use common::TestApi;
use serde_json::json;
use tally_app::access::Role;
use tally_core::period::Period;
use tally_core::snapshot::{
    Checkout, Feature, FeatureKind, LicenseServer, Reservation, ReservationTarget, ServerStatus,
    VendorDaemon,
};
use tally_core::{PollResult, Polled, Snapshot};

fn feature(name: &str, pool: &str, issued: u32, in_use: u32) -> Feature {
    Feature {
        name: name.into(),
        vendor: "MLM".into(),
        version: Some("40".into()),
        pool: Some(pool.into()),
        issued: Some(issued),
        in_use,
        expiry: Some(1_900_000_000),
        kind: FeatureKind::Floating,
    }
}

fn checkout(user: &str, borrowed: bool) -> Checkout {
    Checkout {
        feature: "MATLAB".into(),
        vendor: "MLM".into(),
        user: user.into(),
        host: "ws01".into(),
        display: None,
        count: 1,
        start: Some(tally_app::now() - 600),
        handle: Some(user.into()),
        linger: None,
        borrowed,
    }
}

#[tokio::test]
async fn a_poll_shows_as_features_usage_and_daemons() {
    let t = TestApi::new(false).await;
    let admin = t.token("ann", Role::Administrator).await;
    let made = t
        .send(
            "POST",
            "/api/v1/license-servers",
            Some(&admin),
            Some(json!({"name": "bar1", "manager": "flexlm", "host": "127.0.0.1", "port": 27000})),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    assert_eq!(made.json()["vendor_daemons"], json!([]));
    assert_eq!(made.json()["status"]["end_user"]["state"], "N/A");

    let snapshot = Snapshot {
        servers: vec![LicenseServer {
            host: "127.0.0.1".into(),
            port: Some(27000),
            status: ServerStatus::Up,
            version: Some("v11.19.0".into()),
            vendor_daemons: vec![VendorDaemon {
                name: "MLM".into(),
                status: ServerStatus::Up,
                version: Some("v11.19.0".into()),
                message: None,
            }],
            message: None,
        }],
        features: vec![feature("MATLAB", "a", 10, 2), feature("MATLAB", "b", 5, 1)],
        checkouts: vec![
            checkout("alice", false),
            checkout("bob", true),
            checkout("carol", false),
        ],
        reservations: vec![Reservation {
            feature: "MATLAB".into(),
            vendor: "MLM".into(),
            count: 2,
            target_kind: ReservationTarget::User,
            target: "dave".into(),
        }],
        ..Snapshot::default()
    };
    let id = t
        .app()
        .store
        .server("bar1")
        .await
        .expect("read")
        .expect("bar1")
        .id;
    let result = PollResult::Answered(snapshot);
    let polled = Polled {
        remote: tally_core::status::after_poll(&result),
        result,
    };
    t.app()
        .store
        .record_poll(id, tally_app::now(), polled)
        .await
        .expect("poll");

    let server = t
        .send("GET", "/api/v1/license-servers/bar1", Some(&admin), None)
        .await
        .json();
    assert_eq!(server["vendor_daemons"][0]["name"], "MLM");
    assert_eq!(server["vendor_daemons"][0]["status"], "up");
    assert_eq!(server["status"]["remote"]["state"], "Online");
    assert!(server["status"]["remote"]["last_update"].is_string());

    let features = t
        .send(
            "GET",
            "/api/v1/license-servers/bar1/features",
            Some(&admin),
            None,
        )
        .await
        .json();
    let matlab = &features[0];
    assert_eq!(matlab["name"], "MATLAB");
    assert_eq!(matlab["issued"], 15);
    assert_eq!(matlab["pools"], 2);
    assert_eq!(matlab["reserved"], 2);
    assert_eq!(matlab["borrowed"], 1);
    assert!(
        matlab["expiry"]
            .as_str()
            .is_some_and(|e| e.starts_with("2030"))
    );

    let usage = t
        .send(
            "GET",
            "/api/v1/license-servers/bar1/usage",
            Some(&admin),
            None,
        )
        .await
        .json();
    assert!(usage["as_of"].is_string());
    let now = &usage["features"][0];
    assert_eq!(
        (
            now["issued"].clone(),
            now["in_use"].clone(),
            now["reserved"].clone()
        ),
        (json!(15), json!(3), json!(2))
    );
    assert_eq!(now["available"], 10);
    let users: Vec<&str> = usage["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .filter_map(|s| s["user"].as_str())
        .collect();
    assert_eq!(users.len(), 3, "{usage}");
    let across = t
        .send("GET", "/api/v1/usage?feature=MATLAB", Some(&admin), None)
        .await
        .json();
    assert_eq!(across["features"][0]["server"], "bar1");
    let none = t
        .send("GET", "/api/v1/usage?feature=Simulink", Some(&admin), None)
        .await
        .json();
    assert_eq!(none["features"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_is_read_at_the_resolution_of_the_window() {
    let t = TestApi::new(false).await;
    let viewer = t.token("vic", Role::Viewer).await;
    t.import_synthetic(20_000).await;
    let get = |path: &'static str| t.send("GET", path, Some(&viewer), None);

    let month = get("/api/v1/license-servers/lic1/history?from=2024-03-01&to=2024-03-31").await;
    assert_eq!(month.status, StatusCode::OK, "{}", month.body);
    let month = month.json();
    assert_eq!(month["resolution"], "day");
    let series = month["series"].as_array().expect("series");
    let matlab = series
        .iter()
        .find(|s| s["feature"] == "MATLAB")
        .expect("MATLAB");
    let points = matlab["points"].as_array().expect("points");
    assert!(!points.is_empty() && points.len() <= 31, "{}", points.len());
    assert!(
        points
            .iter()
            .all(|p| p["peak"].as_u64() >= Some(0) && p["hours_logged"].as_u64() > Some(0))
    );

    let day =
        get("/api/v1/license-servers/lic1/history?feature=MATLAB&from=2024-03-02&to=2024-03-02")
            .await
            .json();
    assert_eq!(day["resolution"], "hour");
    assert_eq!(day["series"].as_array().map(Vec::len), Some(1));
    let years = get("/api/v1/license-servers/lic1/history?from=2020-01-01&to=2026-01-01")
        .await
        .json();
    assert_eq!(years["resolution"], "month");
    let asked = get(
        "/api/v1/license-servers/lic1/history?from=2024-01-01&to=2024-12-31&resolution=quarter",
    )
    .await
    .json();
    assert_eq!(asked["resolution"], "quarter");
    let quarters = asked["series"][0]["points"].as_array().expect("points");
    assert!(quarters.len() <= 2, "{quarters:?}");

    let too_fine =
        get("/api/v1/license-servers/lic1/history?from=2000-01-01&to=2024-01-01&resolution=hour")
            .await;
    assert_eq!(too_fine.status, StatusCode::BAD_REQUEST);
    assert!(too_fine.body.contains("coarser"), "{}", too_fine.body);
    let backwards = get("/api/v1/license-servers/lic1/history?from=2024-03-05&to=2024-03-01").await;
    assert_eq!(backwards.status, StatusCode::BAD_REQUEST);
}

/// Day and month points (read from day and month rows) say what the hourly points of their
/// period say: as many logged hours (a day's first hour counts only when logged) and the
/// largest peak. The import's first day starts after midnight, so a day row's first hour is
/// not logged there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coarse_history_points_fold_the_hourly_ones() {
    let t = TestApi::new(false).await;
    let viewer = t.token("vic", Role::Viewer).await;
    t.import_synthetic(20_000).await;
    let get = |path: String| {
        let viewer = viewer.clone();
        let t = &t;
        async move {
            let r = t.send("GET", &path, Some(&viewer), None).await;
            assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
            r.json()
        }
    };
    let time = |t: &serde_json::Value| {
        tally_app::reports::parse_time(t.as_str().expect("a time"), false).expect("RFC 3339")
    };
    let window = "feature=MATLAB&from=2024-01-01&to=2024-12-31";
    let hourly = get(format!(
        "/api/v1/license-servers/lic1/history?{window}&resolution=hour"
    ))
    .await;
    let hours: Vec<(i64, u64)> = hourly["series"][0]["points"]
        .as_array()
        .expect("points")
        .iter()
        .map(|p| {
            let t = time(&p["t"]);
            (t, p["peak"].as_u64().expect("peak"))
        })
        .collect();
    assert!(hours.len() > 48, "{} hourly points", hours.len());
    let first = hours[0].0;
    assert_ne!(
        first % 86_400,
        0,
        "the log starts at midnight: nothing to check"
    );
    for (resolution, period) in [("day", Period::Day), ("month", Period::Month)] {
        let coarse = get(format!(
            "/api/v1/license-servers/lic1/history?{window}&resolution={resolution}"
        ))
        .await;
        let points = coarse["series"][0]["points"].as_array().expect("points");
        let mut expected: std::collections::BTreeMap<i64, (u64, u64)> = Default::default();
        for &(t, peak) in &hours {
            let e = expected.entry(period.start(t)).or_default();
            e.0 += 1;
            e.1 = e.1.max(peak);
        }
        assert_eq!(points.len(), expected.len(), "{resolution}");
        for (p, (start, (n, peak))) in points.iter().zip(&expected) {
            assert_eq!(time(&p["t"]), *start, "{resolution}");
            assert_eq!(p["hours_logged"].as_u64(), Some(*n), "{resolution} {p}");
            assert_eq!(p["peak"].as_u64(), Some(*peak), "{resolution} {p}");
        }
    }
    // The capacity is drawn from the window's first period.
    let issued = hourly["series"][0]["issued"].as_array().expect("issued");
    assert!(!issued.is_empty(), "{hourly}");
}
