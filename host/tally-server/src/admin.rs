//! The admin API, `/api/v1/admin`: changes the plugins of the running server. Every request
//! needs `Authorization: Bearer TOKEN`; without a configured token these routes refuse (403).
//! Each change is audited with the token's name (see `tally_plugin_host::PluginDir`).
//!
//! - `GET    /api/v1/admin/plugins` — every plugin: version, sha256, formats, enabled, health
//! - `POST   /api/v1/admin/plugins` — install or upgrade: a multipart form with the fields
//!   `manifest` (the `plugin.toml`) and `component` (the `.wasm`); `201` with the plugin
//! - `DELETE /api/v1/admin/plugins/{id}` — uninstall (a built-in of that id comes back)
//! - `POST   /api/v1/admin/plugins/{id}/reload|enable|disable`
//! - `GET    /api/v1/admin/audit` — the audit log, oldest first
//!
//! A refused change answers `422` (the plugin failed to load: the reason names it), `404` (no
//! such plugin) or `409` (a built-in cannot be removed); the running version is unchanged.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, FromRequestParts, Multipart, Path};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use tally_plugin_host::{AuditEntry, ChangeError, Package, PluginDir, PluginView};

use crate::App;

/// Largest plugin upload (manifest and component).
pub const MAX_PLUGIN: usize = 256 << 20;

/// An admin token: who presents `secret` is `name` in the audit log.
#[derive(Clone)]
pub struct Token {
    pub name: String,
    pub secret: String,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Token({}, <redacted>)", self.name)
    }
}

impl Token {
    /// Reads tokens, one a line: `SECRET` (named `admin`) or `NAME SECRET`; `#` comments.
    pub fn parse_all(text: &str) -> Vec<Token> {
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|line| {
                let mut words = line.split_whitespace();
                match (words.next(), words.next(), words.next()) {
                    (Some(secret), None, None) => Some(("admin", secret)),
                    (Some(name), Some(secret), None) => Some((name, secret)),
                    _ => None,
                }
            })
            .map(|(name, secret)| Token {
                name: name.into(),
                secret: secret.into(),
            })
            .collect()
    }
}

/// What the admin API works on.
#[derive(Debug)]
pub struct Admin {
    pub plugins: Arc<PluginDir>,
    tokens: Vec<Token>,
}

impl Admin {
    /// `plugins` must feed the same registry as the [`App`]'s.
    pub fn new(plugins: Arc<PluginDir>, tokens: Vec<Token>) -> Admin {
        Admin { plugins, tokens }
    }

    /// The name of the token `secret` is, compared in constant time.
    fn who(&self, secret: &str) -> Option<&str> {
        let mut found = None;
        for token in &self.tokens {
            let same = token.secret.len() == secret.len()
                && token
                    .secret
                    .bytes()
                    .zip(secret.bytes())
                    .fold(0u8, |diff, (a, b)| diff | (a ^ b))
                    == 0;
            if same {
                found = Some(token.name.as_str());
            }
        }
        found
    }
}

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/api/v1/admin/plugins", get(list).post(add))
        .route("/api/v1/admin/plugins/{id}", axum::routing::delete(remove))
        .route("/api/v1/admin/plugins/{id}/reload", post(reload))
        .route("/api/v1/admin/plugins/{id}/enable", post(enable))
        .route("/api/v1/admin/plugins/{id}/disable", post(disable))
        .route("/api/v1/admin/audit", get(audit))
        .layer(DefaultBodyLimit::max(MAX_PLUGIN))
        .with_state(app)
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({ "error": message.into() }))).into_response()
}

/// An authenticated caller: the admin state and the token's name.
struct Caller {
    plugins: Arc<PluginDir>,
    who: String,
}

impl FromRequestParts<Arc<App>> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Caller, Response> {
        let Some(admin) = &app.admin else {
            return Err(error(
                StatusCode::FORBIDDEN,
                "the admin API is off: no admin token is configured",
            ));
        };
        let secret = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        match secret.and_then(|s| admin.who(s)) {
            Some(who) => Ok(Caller {
                plugins: admin.plugins.clone(),
                who: who.to_string(),
            }),
            None => {
                let mut response = error(
                    StatusCode::UNAUTHORIZED,
                    "a valid admin bearer token is required",
                );
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static("Bearer"),
                );
                Err(response)
            }
        }
    }
}

/// Runs a change off the async threads (it compiles the component) and maps its refusal.
async fn change<R: serde::Serialize + Send + 'static>(
    status: StatusCode,
    f: impl FnOnce() -> Result<R, ChangeError> + Send + 'static,
) -> Response {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(value)) => (status, Json(value)).into_response(),
        Ok(Err(e)) => {
            let status = match e {
                ChangeError::Load(_) => StatusCode::UNPROCESSABLE_ENTITY,
                ChangeError::NotFound(_) => StatusCode::NOT_FOUND,
                ChangeError::Builtin(_) => StatusCode::CONFLICT,
                ChangeError::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
            };
            error(status, e.to_string())
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn list(caller: Caller) -> Json<Vec<PluginView>> {
    Json(caller.plugins.list())
}

async fn add(caller: Caller, mut form: Multipart) -> Response {
    let (mut manifest, mut component) = (None, None);
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string()),
        };
        let name = field.name().unwrap_or_default().to_string();
        let bytes = match field.bytes().await {
            Ok(bytes) => bytes,
            Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string()),
        };
        match name.as_str() {
            "manifest" => match String::from_utf8(bytes.to_vec()) {
                Ok(text) => manifest = Some(text),
                Err(_) => return error(StatusCode::BAD_REQUEST, "`manifest` is not UTF-8"),
            },
            "component" => component = Some(bytes.to_vec()),
            _ => {}
        }
    }
    let (Some(manifest), Some(component)) = (manifest, component) else {
        return error(
            StatusCode::BAD_REQUEST,
            "send the fields `manifest` (plugin.toml) and `component` (.wasm) as multipart/form-data",
        );
    };
    let package = Package {
        manifest,
        component,
    };
    change(StatusCode::CREATED, move || {
        caller.plugins.add(&package, &caller.who)
    })
    .await
}

async fn remove(caller: Caller, Path(id): Path<String>) -> Response {
    change(StatusCode::OK, move || {
        let now = caller.plugins.remove(&id, &caller.who)?;
        Ok(serde_json::json!({ "removed": id, "now": now }))
    })
    .await
}

async fn reload(caller: Caller, Path(id): Path<String>) -> Response {
    change(StatusCode::OK, move || {
        caller.plugins.reload(&id, &caller.who)
    })
    .await
}

async fn enable(caller: Caller, Path(id): Path<String>) -> Response {
    change(StatusCode::OK, move || {
        caller.plugins.set_enabled(&id, true, &caller.who)
    })
    .await
}

async fn disable(caller: Caller, Path(id): Path<String>) -> Response {
    change(StatusCode::OK, move || {
        caller.plugins.set_enabled(&id, false, &caller.who)
    })
    .await
}

async fn audit(caller: Caller) -> Result<Json<Vec<AuditEntry>>, Response> {
    caller
        .plugins
        .audit()
        .read()
        .map(Json)
        .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_files() {
        let tokens = Token::parse_all("# admin tokens\nabc123\n\nci  def456\nbad line here\n");
        let named: Vec<(&str, &str)> = tokens
            .iter()
            .map(|t| (t.name.as_str(), t.secret.as_str()))
            .collect();
        assert_eq!(named, [("admin", "abc123"), ("ci", "def456")]);
        assert_eq!(format!("{:?}", tokens[0]), "Token(admin, <redacted>)");
    }
}
