//! What the route tests share: the whole API in-process on a fresh SQLite database with the
//! first-party plugins, requests through `oneshot`, and accounts to call it as.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::Value;
use tally_app::App;
use tally_app::access::{self, Actor, Role, Scope};
use tally_plugin_host::{AuditLog, Builtin, PluginDir, PluginEngine, Registry};
use tally_server::Api;
use tower::ServiceExt;

pub struct TestApi {
    pub api: Arc<Api>,
    pub dir: tempfile::TempDir,
}

/// Compiled plugins are shared across tests (keyed by component hash).
fn cache() -> std::path::PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("route-tests-cache")
}

impl TestApi {
    pub async fn new(anonymous_read: bool) -> TestApi {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("tally.db").display());
        let store = tally_store::Store::open(&url).await.expect("store");
        let engine = PluginEngine::new(Some(&cache())).expect("engine");
        let builtins: Vec<Builtin> = tally_plugin_artifacts::FIRST_PARTY
            .iter()
            .map(|p| Builtin {
                id: p.id,
                manifest: p.manifest,
                component: p.component,
            })
            .collect();
        let (plugins, errors) = PluginDir::open(
            &dir.path().join("plugins"),
            Arc::new(Registry::new(engine)),
            &builtins,
            AuditLog::new(dir.path().join("audit.jsonl")),
        );
        assert!(errors.is_empty(), "{errors:?}");
        let plugins = Arc::new(plugins);
        let mut app = App::new(
            store,
            plugins.registry().clone(),
            Default::default(),
            dir.path().join("spool"),
        );
        app.plugins = Some(plugins);
        let api = Api {
            anonymous_read,
            ..Api::new(Arc::new(app))
        };
        TestApi {
            api: Arc::new(api),
            dir,
        }
    }

    pub fn app(&self) -> &App {
        &self.api.app
    }

    /// Adds an account with `role` and returns an API token acting as it.
    pub async fn token(&self, name: &str, role: Role) -> String {
        access::add_account(
            self.app(),
            &Actor::operator(),
            name,
            role,
            "a long password",
        )
        .await
        .expect("account");
        access::create_token(self.app(), &Actor::operator(), name, "test", Scope::Api)
            .await
            .expect("token")
            .token
    }

    /// One request through the whole router; an API answer must be as documented
    /// (`/api/v1/openapi.json`: its status and top-level shape).
    pub async fn call(&self, request: Request<Body>) -> Answer {
        let (method, uri) = (request.method().clone(), request.uri().to_string());
        let response = tally_server::router(self.api.clone())
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 64 << 20)
            .await
            .expect("body");
        let answer = Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        };
        if uri.starts_with("/api/v1/") || uri.starts_with("/metrics") {
            let content_type = answer
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok());
            if let Err(e) = tally_server::openapi::check(
                &tally_server::routes::operations(),
                &method,
                &uri,
                status.as_u16(),
                content_type,
                &answer.body,
            ) {
                panic!("not as documented: {e}");
            }
        }
        answer
    }

    /// `method path` with a bearer token (if any) and a JSON body (if any).
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        json: Option<Value>,
    ) -> Answer {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match json {
            Some(json) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        self.call(request.body(body).expect("request")).await
    }
}

#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

impl TestApi {
    /// Imports a synthetic FlexNet debug log of about `lines` lines as server `lic1`.
    pub async fn import_synthetic(&self, lines: u64) {
        let (log, _) = flexlm_log::synth::generate(lines, 7);
        let path = self.dir.path().join("lic1.log");
        std::fs::write(&path, log).expect("log");
        let options = tally_app::import::ImportOptions {
            server: Some("lic1".into()),
            utc_offset: Some(0),
            ..Default::default()
        };
        tally_app::import::import_file(self.app(), &path, &options, &())
            .await
            .expect("import");
    }
}
