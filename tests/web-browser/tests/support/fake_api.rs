//! FAKE API FOR THE BROWSER TESTS ONLY: a stand-in for Tally's `/api/v1`, answering the JSON of
//! the agreed contract from fixed data, so the dashboard can be driven before and apart from the
//! real server. It checks what the real one must (session cookie, `X-CSRF-Token` on writes,
//! viewers refused writes) so the pages are tested against those rules too. Nothing here is
//! Tally's behaviour: reports are canned tables in the contract's shape.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{Value, json};

pub const ADMIN: (&str, &str) = ("admin", "admin-password");
pub const VIEWER: (&str, &str) = ("viewer", "viewer-password");
pub const DENIAL_REASON: &str = "Licensed number of users already reached (-4)";
pub const OFFLINE_REASON: &str = "connection refused by rlm-host:5053";
/// The violation the fake starts with: restricted access mode until a licence of 5 users.
pub const USER_LIMIT: &str = "User limit exceeded: 2 users in the database (unique usernames over all history, denials included); the licence allows 1.";
/// A licence file the fake accepts (it checks no signature: that is the real server's).
pub const FIVE_USERS: &str = "[licence]\nlicensee = \"Example Lab\"\nusers = 5\n";

type Params = Query<HashMap<String, String>>;

#[derive(Clone)]
pub struct FakeApi(Arc<Mutex<Inner>>);

struct Inner {
    now: DateTime<Utc>,
    servers: Vec<Value>,
    /// Session cookie → (user, role, csrf).
    sessions: HashMap<String, (String, String, String)>,
    next_token: u64,
    /// Import jobs and how often each was asked about: every question moves it on one step.
    jobs: Vec<(Value, u32)>,
    /// The user limit of Tally's own licence (1 at first: restricted access mode).
    licensed_users: u64,
}

fn t(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": message, "request_id": "fake-0"})),
    )
        .into_response()
}

fn status(
    remote: (&str, Option<&str>),
    import: (&str, Option<&str>),
    end_user: (&str, Option<u32>),
) -> Value {
    json!({
        "remote": {"state": remote.0, "reason": remote.1, "last_update": null},
        "import": {"state": import.0, "reason": import.1, "last_update": null},
        "end_user": {"state": end_user.0, "agents": end_user.1, "reason": null, "last_update": null},
    })
}

/// Seven servers: between them every Remote, Import and End User state of seed 001.
fn servers(now: DateTime<Utc>) -> Vec<Value> {
    let server = |id: u32,
                  name: &str,
                  manager: &str,
                  host: Option<&str>,
                  st: Value,
                  minutes_ago: Option<i64>| {
        json!({
            "id": id, "name": name, "manager": manager, "host": host, "port": host.map(|_| 27000),
            "interval_secs": 60, "enabled": true, "hidden": false, "follow": [],
            "import_format": if host.is_none() { Some(manager) } else { None }, "time_zone": null,
            "vendor_daemons": [{"name": format!("{manager}d"), "status": "up", "version": "11.19"}],
            "status": st, "last_update": minutes_ago.map(|m| t(now - Duration::minutes(m))),
            "manager_version": "11.19.0", "has_realtime": host.is_some(),
        })
    };
    vec![
        server(
            1,
            "flex-main",
            "flexlm",
            Some("lic1"),
            status(("Online", None), ("Success", None), ("Online", Some(3))),
            Some(2),
        ),
        server(
            2,
            "rlm-down",
            "rlm",
            Some("rlm-host"),
            status(
                ("Offline", Some(OFFLINE_REASON)),
                ("Failure", Some("line 12: no such record")),
                ("Offline", None),
            ),
            Some(15),
        ),
        server(
            3,
            "sflm-import",
            "sflm",
            None,
            status(("N/A", None), ("Ready", None), ("N/A", None)),
            Some(60),
        ),
        server(
            4,
            "lmx-new",
            "lmx",
            Some("lmx-host"),
            status(("Verifying", None), ("Disabled", None), ("Disabled", None)),
            None,
        ),
        server(
            5,
            "dsls-over",
            "dsls",
            Some("dsls-host"),
            status(
                (
                    "License Exceeded",
                    Some("over the licensed number of servers"),
                ),
                ("License Exceeded", None),
                ("N/A", None),
            ),
            Some(30),
        ),
        server(
            6,
            "sentinel-idle",
            "sentinel",
            Some("rms-host"),
            status(("Unmonitored", None), ("N/A", None), ("N/A", None)),
            Some(300),
        ),
        server(
            7,
            "flex-off",
            "flexlm",
            Some("lic2"),
            status(("Disabled", None), ("N/A", None), ("N/A", None)),
            Some(5),
        ),
    ]
}

impl FakeApi {
    pub fn new() -> FakeApi {
        let now = Utc::now();
        FakeApi(Arc::new(Mutex::new(Inner {
            now,
            servers: servers(now),
            sessions: HashMap::new(),
            next_token: 1,
            jobs: Vec::new(),
            licensed_users: 1,
        })))
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn router(&self) -> Router {
        let api = Router::new()
            .route(
                "/session",
                get(session_get).post(session_post).delete(session_delete),
            )
            .route("/license-servers", get(servers_list).post(server_create))
            .route(
                "/license-servers/{name}",
                get(server_get).patch(server_patch).delete(server_delete),
            )
            .route("/license-servers/{name}/{verb}", post(server_verb))
            .route("/license-servers/{name}/features", get(features))
            .route("/license-servers/{name}/usage", get(server_usage))
            .route("/license-servers/{name}/history", get(history))
            .route("/usage", get(usage_all))
            .route("/sessions", get(sessions))
            .route("/denials", get(denials))
            .route("/users", get(users))
            .route("/hosts", get(users))
            .route("/reports", get(reports_list))
            .route("/reports/{name}", get(report))
            .route("/imports", get(imports_list).post(import_post))
            .route("/imports/{id}", get(import_get))
            .route("/plugins", get(plugins))
            .route("/accounts", get(accounts))
            .route(
                "/accounts/{name}",
                delete(|| async { StatusCode::NO_CONTENT }),
            )
            .route("/tokens", get(|| async { axum::Json(json!([])) }))
            .route("/license", get(licence_get).put(licence_put))
            .layer(middleware::from_fn_with_state(self.clone(), auth))
            .with_state(self.clone());
        // /agents is absent on purpose: its page must say "not available".
        Router::new().nest("/api/v1", api)
    }
}

fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix("tally_session=").map(str::to_owned))
}

/// The contract's rules: a session for everything but logging in; writes need the CSRF token
/// and an administrator.
async fn auth(State(api): State<FakeApi>, request: Request, next: Next) -> Response {
    if request.uri().path() == "/session" {
        return next.run(request).await;
    }
    let who = cookie(request.headers()).and_then(|c| api.lock().sessions.get(&c).cloned());
    let Some((_, role, csrf)) = who else {
        return error(StatusCode::UNAUTHORIZED, "log in first");
    };
    if request.method() != Method::GET {
        let sent = request
            .headers()
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok());
        if sent != Some(csrf.as_str()) {
            return error(StatusCode::FORBIDDEN, "missing or wrong X-CSRF-Token");
        }
        if role != "administrator" {
            return error(StatusCode::FORBIDDEN, "administrators only");
        }
    }
    next.run(request).await
}

async fn session_post(State(api): State<FakeApi>, body: axum::Json<Value>) -> Response {
    let user = body["username"].as_str().unwrap_or_default();
    let password = body["password"].as_str().unwrap_or_default();
    let role = match (user, password) {
        (u, p) if (u, p) == ADMIN => "administrator",
        (u, p) if (u, p) == VIEWER => "viewer",
        _ => return error(StatusCode::UNAUTHORIZED, "wrong user name or password"),
    };
    let mut inner = api.lock();
    let n = inner.next_token;
    inner.next_token += 1;
    let (cookie, csrf) = (format!("session-{n}"), format!("csrf-{n}"));
    inner.sessions.insert(
        cookie.clone(),
        (user.to_owned(), role.to_owned(), csrf.clone()),
    );
    let mut response =
        axum::Json(json!({"user": user, "role": role, "csrf": csrf})).into_response();
    let set = format!("tally_session={cookie}; Path=/; HttpOnly; SameSite=Strict");
    response
        .headers_mut()
        .insert(header::SET_COOKIE, set.parse().expect("cookie header"));
    response
}

async fn session_get(State(api): State<FakeApi>, headers: HeaderMap) -> Response {
    match cookie(&headers).and_then(|c| api.lock().sessions.get(&c).cloned()) {
        Some((user, role, csrf)) => {
            axum::Json(json!({"user": user, "role": role, "csrf": csrf})).into_response()
        }
        None => error(StatusCode::UNAUTHORIZED, "not logged in"),
    }
}

async fn session_delete(State(api): State<FakeApi>, headers: HeaderMap) -> StatusCode {
    if let Some(c) = cookie(&headers) {
        api.lock().sessions.remove(&c);
    }
    StatusCode::NO_CONTENT
}

async fn servers_list(State(api): State<FakeApi>) -> Response {
    axum::Json(Value::Array(api.lock().servers.clone())).into_response()
}

fn find(inner: &mut Inner, name: &str) -> Option<usize> {
    inner.servers.iter().position(|s| s["name"] == name)
}

async fn server_get(State(api): State<FakeApi>, Path(name): Path<String>) -> Response {
    let mut inner = api.lock();
    match find(&mut inner, &name) {
        Some(i) => axum::Json(inner.servers[i].clone()).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            &format!("no license server named `{name}`"),
        ),
    }
}

async fn server_create(State(api): State<FakeApi>, body: axum::Json<Value>) -> Response {
    let mut inner = api.lock();
    let now = inner.now;
    let mut server = servers(now)[0].clone();
    for key in ["name", "manager", "host", "port"] {
        server[key] = body[key].clone();
    }
    server["id"] = json!(inner.servers.len() + 1);
    server["status"] = status(("Verifying", None), ("N/A", None), ("N/A", None));
    inner.servers.push(server.clone());
    (StatusCode::CREATED, axum::Json(server)).into_response()
}

async fn server_patch(
    State(api): State<FakeApi>,
    Path(name): Path<String>,
    body: axum::Json<Value>,
) -> Response {
    let mut inner = api.lock();
    let Some(i) = find(&mut inner, &name) else {
        return error(
            StatusCode::NOT_FOUND,
            &format!("no license server named `{name}`"),
        );
    };
    if let Some(fields) = body.as_object() {
        for (k, v) in fields {
            inner.servers[i][k] = v.clone();
        }
    }
    axum::Json(inner.servers[i].clone()).into_response()
}

async fn server_delete(State(api): State<FakeApi>, Path(name): Path<String>) -> StatusCode {
    let mut inner = api.lock();
    match find(&mut inner, &name) {
        Some(i) => {
            inner.servers.remove(i);
            StatusCode::NO_CONTENT
        }
        None => StatusCode::NOT_FOUND,
    }
}

async fn server_verb(
    State(api): State<FakeApi>,
    Path((name, verb)): Path<(String, String)>,
) -> Response {
    let mut inner = api.lock();
    let Some(i) = find(&mut inner, &name) else {
        return error(
            StatusCode::NOT_FOUND,
            &format!("no license server named `{name}`"),
        );
    };
    let s = &mut inner.servers[i];
    match verb.as_str() {
        "enable" => {
            s["enabled"] = json!(true);
            s["status"]["remote"]["state"] = json!("Verifying");
        }
        "disable" => {
            s["enabled"] = json!(false);
            s["status"]["remote"]["state"] = json!("Disabled");
        }
        "hide" => s["hidden"] = json!(true),
        "unhide" => s["hidden"] = json!(false),
        other => return error(StatusCode::NOT_FOUND, &format!("no action `{other}`")),
    }
    axum::Json(s.clone()).into_response()
}

async fn features(State(api): State<FakeApi>, Path(name): Path<String>) -> Response {
    let now = api.lock().now;
    let feature = |n: &str, issued: Option<u32>, days: Option<i64>| {
        json!({"name": n, "vendor": "acme", "version": "2026.1", "pool": null, "issued": issued,
               "expiry": days.map(|d| t(now + Duration::days(d) + Duration::hours(1))), "kind": "floating",
               "reserved": 0, "borrowed": 0})
    };
    if name == "flex-main" || name == "sflm-import" {
        axum::Json(json!([
            feature("solver", Some(12), Some(3)),
            feature("mesher", Some(5), Some(20)),
            feature("viewer", None, Some(200)),
            feature("legacy", Some(2), None)
        ]))
        .into_response()
    } else {
        axum::Json(json!([])).into_response()
    }
}

fn usage_body(now: DateTime<Utc>, server: Option<&str>) -> Value {
    let with = |mut v: Value| {
        if let Some(s) = server {
            v["server"] = json!(s);
        }
        v
    };
    json!({
        "as_of": t(now - Duration::minutes(1)),
        "features": [
            with(json!({"feature": "solver", "issued": 12, "in_use": 11, "reserved": 0, "borrowed": 1, "queued": 2, "available": 1})),
            with(json!({"feature": "mesher", "issued": 5, "in_use": 2, "reserved": 1, "borrowed": 0, "queued": 0, "available": 3})),
        ],
        "sessions": [
            with(json!({"feature": "solver", "user": "alice", "host": "ws1", "count": 1, "since": t(now - Duration::hours(30))})),
            with(json!({"feature": "solver", "user": "alice", "host": "ws2", "count": 1, "since": t(now - Duration::hours(2))})),
            with(json!({"feature": "mesher", "user": "bob", "host": "ws3", "count": 2, "since": t(now - Duration::minutes(20))})),
        ],
    })
}

async fn server_usage(State(api): State<FakeApi>, Path(name): Path<String>) -> Response {
    let now = api.lock().now;
    if name == "sflm-import" {
        return error(
            StatusCode::NOT_FOUND,
            "sflm-import has no real-time data: it is imported",
        );
    }
    axum::Json(usage_body(now, None)).into_response()
}

async fn usage_all(State(api): State<FakeApi>) -> Response {
    let now = api.lock().now;
    axum::Json(usage_body(now, Some("flex-main"))).into_response()
}

/// Daily (or hourly) points over 30 days with a 3-day hole: absent points are a gap, not zero.
async fn history(
    State(api): State<FakeApi>,
    Path(_name): Path<String>,
    Query(q): Params,
) -> Response {
    let now = api.lock().now;
    let resolution = q
        .get("resolution")
        .cloned()
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "day".into());
    let (step, count) = if resolution == "hour" {
        (Duration::hours(1), 24 * 30)
    } else {
        (Duration::days(1), 30)
    };
    let start = now - step * count;
    let features = match q.get("feature").map(String::as_str) {
        Some(f) if !f.is_empty() => vec![f.to_owned()],
        _ => vec!["solver".to_owned(), "mesher".to_owned()],
    };
    let series: Vec<Value> = features
        .iter()
        .enumerate()
        .map(|(k, f)| {
            let points: Vec<Value> = (0..count)
                .filter(|i| !(count / 3..count / 3 + count / 10).contains(i))
                .map(|i| {
                    let peak = (i * 7 + k as i32 * 3) % 11;
                    json!({"t": t(start + step * i), "peak": peak, "average": f64::from(peak) * 0.6,
                           "hours_logged": if resolution == "hour" { 1 } else { 24 }})
                })
                .collect();
            json!({"feature": f, "issued": [[t(start), 10], [t(start + step * (count / 2)), 12]], "points": points})
        })
        .collect();
    axum::Json(json!({"resolution": resolution, "series": series})).into_response()
}

async fn sessions(State(api): State<FakeApi>, Query(q): Params) -> Response {
    let now = api.lock().now;
    let items: Vec<Value> = (0..3)
        .map(|i| json!({"id": i + 1, "server": "flex-main", "feature": "solver", "user": q.get("user").map_or("alice", String::as_str),
                        "host": "ws1", "count": 1, "start": t(now - Duration::hours(5 - i)),
                        "end": if i == 2 { None } else { Some(t(now - Duration::hours(4 - i))) }, "source": "remote"}))
        .collect();
    axum::Json(json!({"items": items, "next": null})).into_response()
}

async fn denials(State(api): State<FakeApi>, Query(q): Params) -> Response {
    let now = api.lock().now;
    let row = [
        "1".to_owned(),
        "flex-main".into(),
        "solver".into(),
        "alice".into(),
        "ws1".into(),
        t(now - Duration::hours(3)),
        DENIAL_REASON.into(),
        "capacity".into(),
    ];
    if q.get("format").map(String::as_str) == Some("csv") {
        let csv = format!(
            "id,server,feature,user,host,time,reason,cause\n{}\n",
            row.join(",")
        );
        return ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], csv).into_response();
    }
    axum::Json(json!({"items": [{"id": 1, "server": row[1], "feature": row[2], "user": row[3], "host": row[4],
                                  "time": row[5], "reason": row[6], "cause": row[7]}], "next": null}))
    .into_response()
}

async fn users(State(api): State<FakeApi>) -> Response {
    let now = api.lock().now;
    axum::Json(json!({"items": [
        {"name": "alice", "sessions": 40, "license_hours": 310.5, "last_seen": t(now)},
        {"name": "bob", "sessions": 12, "license_hours": 80.0, "last_seen": t(now - Duration::days(2))},
    ], "next": null}))
    .into_response()
}

const REPORTS: &[(&str, &str, &[&str])] = &[
    (
        "usage",
        "Peak and average use per feature and period.",
        &["server", "feature", "from", "to", "period"],
    ),
    (
        "features",
        "Each feature against its issued licenses.",
        &["server", "feature", "from", "to"],
    ),
    (
        "unused",
        "Features nobody used.",
        &["server", "feature", "from", "to"],
    ),
    (
        "underused",
        "Features whose peak stayed below a share.",
        &["server", "feature", "from", "to", "below"],
    ),
    (
        "users",
        "License-hours and denials per user.",
        &["server", "feature", "from", "to", "by"],
    ),
    (
        "hosts",
        "License-hours and denials per host.",
        &["server", "feature", "from", "to", "by"],
    ),
    (
        "denials",
        "Denials per feature and user.",
        &["server", "feature", "from", "to"],
    ),
    (
        "heatmap",
        "Hour of day × weekday.",
        &["server", "feature", "from", "to"],
    ),
    (
        "sflm",
        "The SFLM summary files.",
        &["server", "from", "to", "period"],
    ),
    (
        "user-count",
        "Distinct users counted.",
        &["server", "from", "to", "counting", "window"],
    ),
];

async fn reports_list() -> Response {
    let list: Vec<Value> = REPORTS
        .iter()
        .map(|(name, about, options)| json!({"name": name, "about": about, "options": options}))
        .collect();
    axum::Json(Value::Array(list)).into_response()
}

/// Canned tables in each report's column shape.
async fn report(Path(name): Path<String>, Query(q): Params, headers: HeaderMap) -> Response {
    let (columns, rows): (Vec<&str>, Vec<Value>) = match name.as_str() {
        "usage" => (
            vec![
                "server",
                "feature",
                "period",
                "hours",
                "avg_in_use",
                "peak_in_use",
                "used_hours",
                "denials",
            ],
            (1..=5)
                .map(|d| {
                    json!([
                        "flex-main",
                        "solver",
                        format!("2026-11-0{d}"),
                        24,
                        3.5,
                        4 + d,
                        84.0,
                        d % 2
                    ])
                })
                .collect(),
        ),
        "users" | "hosts" | "denials" => (
            vec![
                "server",
                "feature",
                "user",
                "used_hours",
                "desired_hours",
                "denials",
                "checkouts",
            ],
            vec![
                json!(["flex-main", "solver", "alice", 120.5, 130.0, 1, 40]),
                json!(["flex-main", "mesher", "bob", 30.0, 30.0, 0, 12]),
            ],
        ),
        "heatmap" => (
            vec![
                "server",
                "feature",
                "weekday",
                "hour",
                "avg_in_use",
                "peak_in_use",
            ],
            (0..24)
                .map(|h| json!(["flex-main", "solver", "Monday", h, f64::from(h % 6), h % 6]))
                .collect(),
        ),
        known if REPORTS.iter().any(|(n, _, _)| *n == known) => (
            vec!["server", "feature", "issued", "peak_in_use"],
            vec![json!(["flex-main", "solver", 12, 11])],
        ),
        other => return error(StatusCode::NOT_FOUND, &format!("no report named `{other}`")),
    };
    let wants_csv = q.get("format").map(String::as_str) == Some("csv")
        || headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/csv"));
    if wants_csv {
        let mut csv = columns.join(",") + "\n";
        for r in &rows {
            let cells: Vec<String> = r
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| c.as_str().map_or_else(|| c.to_string(), str::to_owned))
                .collect();
            csv += &(cells.join(",") + "\n");
        }
        return ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], csv).into_response();
    }
    let columns: Vec<Value> = columns
        .iter()
        .map(|c| json!({"name": c, "unit": null}))
        .collect();
    axum::Json(json!({"report": name, "columns": columns, "rows": rows, "totals": null}))
        .into_response()
}

async fn plugins() -> Response {
    axum::Json(json!([{"id": "flexlm-log", "version": "1.0.0", "kind": "importer", "formats": ["flexlm-debuglog"],
                       "enabled": true, "builtin": true, "quarantined": false}])).into_response()
}

async fn accounts(State(api): State<FakeApi>) -> Response {
    let now = api.lock().now;
    axum::Json(
        json!([{"name": ADMIN.0, "role": "administrator", "created": t(now)},
                      {"name": VIEWER.0, "role": "viewer", "created": t(now)}]),
    )
    .into_response()
}

async fn imports_list(State(api): State<FakeApi>) -> Response {
    let jobs: Vec<Value> = api.lock().jobs.iter().map(|(job, _)| job.clone()).collect();
    axum::Json(Value::Array(jobs)).into_response()
}

/// Takes the multipart `file` and answers 202 with a queued job, as the contract says.
async fn import_post(
    State(api): State<FakeApi>,
    Query(q): Params,
    mut form: axum::extract::Multipart,
) -> Response {
    let mut upload = None;
    while let Ok(Some(field)) = form.next_field().await {
        if field.name() == Some("file") {
            let name = field.file_name().unwrap_or("upload").to_owned();
            match field.bytes().await {
                Ok(bytes) => upload = Some((name, bytes)),
                Err(e) => {
                    return error(StatusCode::BAD_REQUEST, &format!("unreadable upload: {e}"));
                }
            }
        }
    }
    let Some((file, bytes)) = upload else {
        return error(StatusCode::BAD_REQUEST, "no `file` in the upload");
    };
    let lines = bytes.iter().filter(|b| **b == b'\n').count();
    let mut inner = api.lock();
    let now = inner.now;
    let id = inner.jobs.len() + 1;
    let server = q
        .get("server")
        .filter(|s| !s.is_empty())
        .cloned()
        .unwrap_or_else(|| file.trim_end_matches(".log").to_owned());
    let job = json!({"id": id, "state": "queued", "file": file, "server": server, "lines": 0, "sessions": 0,
                     "denials": 0, "malformed": 0, "error": null, "started": t(now), "finished": null,
                     "total_lines_for_the_fake": lines});
    inner.jobs.push((job.clone(), 0));
    (StatusCode::ACCEPTED, axum::Json(job)).into_response()
}

async fn import_get(State(api): State<FakeApi>, Path(id): Path<usize>) -> Response {
    let mut inner = api.lock();
    let now = inner.now;
    let Some((job, asked)) = id.checked_sub(1).and_then(|i| inner.jobs.get_mut(i)) else {
        return error(StatusCode::NOT_FOUND, &format!("no import job {id}"));
    };
    *asked += 1;
    let total = job["total_lines_for_the_fake"].as_u64().unwrap_or(0);
    if *asked == 1 {
        job["state"] = json!("running");
        job["lines"] = json!(total / 2);
    } else {
        job["state"] = json!("done");
        job["lines"] = json!(total);
        job["sessions"] = json!(2);
        job["denials"] = json!(1);
        job["malformed"] = json!(1);
        job["finished"] = json!(t(now));
    }
    axum::Json(job.clone()).into_response()
}

/// `GET /license` in the real one's shape: Model 2019, 2 users in the database.
fn licence(users: u64) -> Value {
    let restricted = users < 2;
    let gauge = |limit: &str, allowed: Option<u64>, used: u64| {
        json!({"limit": limit, "allowed": allowed, "used": used,
               "percent": allowed.filter(|a| *a > 0).map(|a| (used as f64 * 1000.0 / a as f64).round() / 10.0)})
    };
    json!({
        "title": "Perpetual licence for Example Lab",
        "licence": {"licensee": "Example Lab", "type": "Perpetual", "start": "2026-01-01",
                    "expiry": null, "maintenance_end": null, "version": "0.1", "origin": "file",
                    "signed_by": "85e3e3f2bb678cb1f1d8ab57a4ca8deda00059fc18c7f2b66f0f20a97e5d10d7",
                    "limits": {"model": "2019", "users": users, "servers": 10, "hpc": false, "harvesting_agents": 0}},
        "limits": [gauge("users", Some(users), 2), gauge("hosts", Some(users * 5 / 4), 2),
                   gauge("servers", Some(10), 7), gauge("harvesting-agents", Some(0), 0)],
        "violations": if restricted {
            json!([{"row": "model_2019_runtime_user_limit_exceeded", "subject": {"kind": "installation"},
                    "outcome": "restricted-access", "issue": "User limit exceeded", "message": USER_LIMIT,
                    "next": ["Load a licence with a higher user limit.", "Remove some data (e.g., a feature or a server)."],
                    "notify": false}])
        } else {
            json!([])
        },
        "restricted": restricted,
        "refused_file": null,
    })
}

async fn licence_get(State(api): State<FakeApi>) -> Response {
    axum::Json(licence(api.lock().licensed_users)).into_response()
}

async fn licence_put(State(api): State<FakeApi>, body: String) -> Response {
    let users = body
        .lines()
        .find_map(|l| l.strip_prefix("users = "))
        .and_then(|n| n.trim().parse().ok());
    let Some(users) = users else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "the licence is not installed: the licence file has no valid signature",
        );
    };
    api.lock().licensed_users = users;
    axum::Json(licence(users)).into_response()
}
