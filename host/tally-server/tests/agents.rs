//! The agents' routes in-process: only agent tokens reach them (and agent tokens nothing
//! else), a report is applied once, its processes show as End User sessions, a server's End
//! User status counts the agents online, and the operators' routes configure what is watched.

mod common;

use common::TestApi;
use serde_json::{Value, json};
use tally_app::access::{self, Actor, Role, Scope};

async fn agent_token(t: &TestApi) -> String {
    access::add_account(
        t.app(),
        &Actor::operator(),
        "agents",
        Role::Viewer,
        "a long password",
    )
    .await
    .expect("account");
    access::create_token(t.app(), &Actor::operator(), "agents", "fleet", Scope::Agent)
        .await
        .expect("token")
        .token
}

fn enrol_body(host: &str) -> Value {
    json!({"protocol": 1, "host": host, "os": "linux", "agent_version": "0.1.0"})
}

fn report(agent: i64, sequence: u64, time: i64, pids: &[u32]) -> Value {
    let processes: Vec<Value> = pids
        .iter()
        .map(|pid| {
            json!({
                "application": "Solver", "pid": pid, "user": "ann", "executable": "solver",
                "path": "/opt/solver/bin/solver", "started": time - 100, "cpu_time_ms": 10,
                "cpu_percent": 0.0, "cpu_since": time - 30, "input_idle_secs": 900,
                "suspended": false
            })
        })
        .collect();
    json!({
        "id": {"agent": agent, "sequence": sequence},
        "host": "ws1",
        "time": time,
        "utc_offset_secs": 0,
        "heartbeat": {"agent_version": "0.1.0", "started": time - 200, "queued": 1, "dropped": 0, "errors": []},
        "processes": processes,
        "harvests": []
    })
}

#[tokio::test]
async fn only_agent_tokens_reach_the_agents_routes_and_nothing_else() {
    let t = TestApi::new(false).await;
    let admin = t.token("ann", Role::Administrator).await;
    let agent = agent_token(&t).await;

    let by_api_token = t
        .send(
            "POST",
            "/api/v1/agents/enrol",
            Some(&admin),
            Some(enrol_body("ws1")),
        )
        .await;
    assert_eq!(by_api_token.status, 403, "{}", by_api_token.body);
    let anonymous = t
        .send(
            "POST",
            "/api/v1/agents/enrol",
            None,
            Some(enrol_body("ws1")),
        )
        .await;
    assert_eq!(anonymous.status, 401);
    let elsewhere = t
        .send("GET", "/api/v1/license-servers", Some(&agent), None)
        .await;
    assert_eq!(elsewhere.status, 403, "{}", elsewhere.body);
    let operators = t.send("GET", "/api/v1/agents", Some(&agent), None).await;
    assert_eq!(operators.status, 403, "{}", operators.body);

    let old = t
        .send(
            "POST",
            "/api/v1/agents/enrol",
            Some(&agent),
            Some(json!({"protocol": 99, "host": "ws1", "os": "linux", "agent_version": "9"})),
        )
        .await;
    assert_eq!(old.status, 422, "{}", old.body);
    let unknown = t
        .send(
            "POST",
            "/api/v1/agents/enrol",
            Some(&agent),
            Some(json!({"protocol": 1, "host": "ws1", "os": "linux", "agent_version": "1", "colour": 1})),
        )
        .await;
    assert!(unknown.status.is_client_error(), "{}", unknown.body);
    assert!(!unknown.body.contains("SELECT"));
}

#[tokio::test]
async fn reports_are_applied_once_and_agents_make_the_end_user_status() {
    let t = TestApi::new(false).await;
    let admin = t.token("ann", Role::Administrator).await;
    let agent = agent_token(&t).await;
    let server = t
        .send(
            "POST",
            "/api/v1/license-servers",
            Some(&admin),
            Some(json!({"name": "lic1", "manager": "flexlm", "host": "127.0.0.1", "port": 27000})),
        )
        .await;
    assert_eq!(server.status, 201, "{}", server.body);
    assert_eq!(server.json()["status"]["end_user"]["state"], "N/A");

    let bad = t
        .send(
            "PUT",
            "/api/v1/agents/applications/Solver",
            Some(&admin),
            Some(json!({"match": {"name": ""}, "license_server": "lic1", "feature": "solve"})),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    let nowhere = t
        .send(
            "PUT",
            "/api/v1/agents/applications/Solver",
            Some(&admin),
            Some(
                json!({"match": {"name": "solver"}, "license_server": "nope", "feature": "solve"}),
            ),
        )
        .await;
    assert_eq!(nowhere.status, 422, "{}", nowhere.body);
    let watched = t
        .send(
            "PUT",
            "/api/v1/agents/applications/Solver",
            Some(&admin),
            Some(json!({
                "match": {"path": "/opt/**/solver"}, "license_server": "lic1", "feature": "solve",
                "harvest": {"triggers": {"user_idle_secs": 600}, "method": {"kind": "dry-run"}, "busy_cpu_percent": 20.0}
            })),
        )
        .await;
    assert_eq!(watched.status, 200, "{}", watched.body);

    let enrolled = t
        .send(
            "POST",
            "/api/v1/agents/enrol",
            Some(&agent),
            Some(enrol_body("ws1")),
        )
        .await;
    assert_eq!(enrolled.status, 201, "{}", enrolled.body);
    let id = enrolled.json()["agent_id"].as_i64().expect("id");
    let config = t
        .send(
            "GET",
            &format!("/api/v1/agents/{id}/config"),
            Some(&agent),
            None,
        )
        .await;
    assert_eq!(config.status, 200, "{}", config.body);
    assert_eq!(
        config.json()["applications"][0]["match"]["path"],
        "/opt/**/solver"
    );
    let missing = t
        .send("GET", "/api/v1/agents/999/config", Some(&agent), None)
        .await;
    assert_eq!(missing.status, 404);

    let now = tally_app::now();
    let path = format!("/api/v1/agents/{id}/reports");
    let first = t
        .send(
            "POST",
            &path,
            Some(&agent),
            Some(report(id, 1, now, &[41, 42])),
        )
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.json()["receipt"], "accepted");
    assert_eq!(first.json()["orders"], json!([]), "harvesting is off");
    let again = t
        .send(
            "POST",
            &path,
            Some(&agent),
            Some(report(id, 1, now, &[41, 42])),
        )
        .await;
    assert_eq!(again.json()["receipt"], "duplicate");
    let foreign = t
        .send(
            "POST",
            &path,
            Some(&agent),
            Some(report(id + 1, 1, now, &[])),
        )
        .await;
    assert_eq!(foreign.status, 422, "{}", foreign.body);

    let sessions = t
        .send("GET", "/api/v1/agents/sessions", Some(&admin), None)
        .await;
    assert_eq!(sessions.status, 200, "{}", sessions.body);
    assert_eq!(sessions.json()["items"].as_array().map(Vec::len), Some(2));
    let lic1 = t
        .send("GET", "/api/v1/license-servers/lic1", Some(&admin), None)
        .await;
    let end_user = &lic1.json()["status"]["end_user"];
    assert_eq!(end_user["state"], "Online", "{end_user}");
    assert_eq!(end_user["agents"], 1);

    let agents = t.send("GET", "/api/v1/agents", Some(&admin), None).await;
    assert_eq!(agents.status, 200, "{}", agents.body);
    let listed = &agents.json()[0];
    assert_eq!(listed["host"], "ws1");
    assert_eq!(listed["reports"], 1);
    assert_eq!(listed["duplicates"], 1);
    assert_eq!(listed["watched"], json!(["Solver"]));
    assert_eq!(listed["harvesting"], "Off");

    // The Community licence allows no harvesting agent: enabled, it shows "No License" and
    // gets no orders, though the policy fires (900 s idle, 600 allowed).
    let enabled = t
        .send(
            "PATCH",
            &format!("/api/v1/agents/{id}"),
            Some(&admin),
            Some(json!({"harvesting": true})),
        )
        .await;
    assert_eq!(enabled.status, 200, "{}", enabled.body);
    assert_eq!(
        enabled.json()["harvesting"],
        "No License",
        "{}",
        enabled.body
    );
    let second = t
        .send(
            "POST",
            &path,
            Some(&agent),
            Some(report(id, 2, now + 1, &[41])),
        )
        .await;
    assert_eq!(second.json()["orders"], json!([]), "{}", second.body);
    let harvests = t
        .send("GET", "/api/v1/agents/harvests?limit=5", Some(&admin), None)
        .await;
    assert_eq!(harvests.status, 200, "{}", harvests.body);

    // Agent data of lic1 turned off: Disabled, and reports of it are not recorded.
    let off = t
        .send(
            "POST",
            "/api/v1/agents/servers/lic1/disable",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(off.status, 200, "{}", off.body);
    assert_eq!(off.json()["state"], "Disabled");
    let third = t
        .send(
            "POST",
            &path,
            Some(&agent),
            Some(report(id, 3, now + 2, &[43])),
        )
        .await;
    assert_eq!(third.json()["receipt"], "accepted");
    let sessions = t
        .send("GET", "/api/v1/agents/sessions", Some(&admin), None)
        .await;
    let pids: Vec<i64> = sessions.json()["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|s| s["pid"].as_i64())
        .collect();
    assert!(!pids.contains(&43), "{pids:?}");
    let viewer = t.token("vic", Role::Viewer).await;
    let refused = t
        .send(
            "POST",
            "/api/v1/agents/servers/lic1/enable",
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(refused.status, 403);
    let on = t
        .send(
            "POST",
            "/api/v1/agents/servers/lic1/enable",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(on.json()["state"], "Online", "{}", on.body);
    let missing = t
        .send(
            "POST",
            "/api/v1/agents/servers/nope/enable",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(missing.status, 404);

    let removed = t
        .send(
            "DELETE",
            "/api/v1/agents/applications/Solver",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(removed.status, 204);
    let lic1 = t
        .send("GET", "/api/v1/license-servers/lic1", Some(&admin), None)
        .await;
    assert_eq!(lic1.json()["status"]["end_user"]["state"], "N/A");
}
