//! Plugins: `GET /api/v1/plugins` lists them; `/api/v1/admin/…` changes the plugins of the
//! running server, for administrators (an account's token, or an operator's admin token).
//! Each change is audited with the caller's name (see `tally_plugin_host::PluginDir`).
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

use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use tally_app::access::Actor;
use tally_plugin_host::{AuditEntry, ChangeError, Package, PluginDir, PluginView};

use crate::openapi::{Routes, Shape, doc};
use crate::{Api, ApiError};

/// Largest plugin upload (manifest and component).
pub const MAX_PLUGIN: usize = 256 << 20;

const PLUGIN: &[&str] = &["id", "version", "world", "manager", "formats", "enabled"];

pub fn routes() -> Routes {
    let changed = |summary| doc(summary, 200, Shape::Object(&[]));
    Routes::new()
        .get(
            "/api/v1/plugins",
            list,
            doc("the plugins", 200, Shape::List(PLUGIN)),
        )
        .get(
            "/api/v1/admin/plugins",
            list,
            doc("the plugins (administrators)", 200, Shape::List(PLUGIN)),
        )
        .post(
            "/api/v1/admin/plugins",
            add,
            doc(
                "install a plugin (multipart manifest and component)",
                201,
                Shape::Object(&[]),
            ),
        )
        .delete(
            "/api/v1/admin/plugins/{id}",
            remove,
            changed("remove a plugin"),
        )
        .post(
            "/api/v1/admin/plugins/{id}/reload",
            reload,
            changed("reload a plugin"),
        )
        .post(
            "/api/v1/admin/plugins/{id}/enable",
            enable,
            changed("enable a plugin"),
        )
        .post(
            "/api/v1/admin/plugins/{id}/disable",
            disable,
            changed("disable a plugin"),
        )
        .get(
            "/api/v1/admin/audit",
            audit,
            doc(
                "the plugin changes' audit log",
                200,
                Shape::List(&["time", "who", "action", "plugin"]),
            ),
        )
        .map(|r| r.layer(DefaultBodyLimit::max(MAX_PLUGIN)))
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    ApiError::new(status, message).into_response()
}

/// A caller allowed to change the plugins: an administrator, with the plugin directory.
struct Caller {
    plugins: Arc<PluginDir>,
    who: String,
}

fn caller(api: &Api, actor: &Actor, what: &str) -> Result<Caller, ApiError> {
    api.app.may_write(actor, what)?;
    let plugins = api.app.plugins.clone().ok_or_else(|| {
        ApiError::forbidden("plugin administration is off in this server (no plugin directory)")
    })?;
    Ok(Caller {
        plugins,
        who: actor.name.clone(),
    })
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
                ChangeError::Io(_) => return ApiError::internal(e).into_response(),
            };
            error(status, e.to_string())
        }
        Err(e) => ApiError::internal(e).into_response(),
    }
}

async fn list(State(api): State<Arc<Api>>) -> Result<Json<Vec<PluginView>>, ApiError> {
    let plugins = api
        .app
        .plugins
        .as_ref()
        .ok_or_else(|| ApiError::not_found("this server has no plugin directory"))?;
    Ok(Json(plugins.list()))
}

async fn add(
    State(api): State<Arc<Api>>,
    Extension(actor): Extension<Actor>,
    mut form: Multipart,
) -> Response {
    let caller = match caller(&api, &actor, "installing a plugin") {
        Ok(caller) => caller,
        Err(e) => return e.into_response(),
    };
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

async fn remove(
    State(api): State<Arc<Api>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Response {
    let caller = match caller(&api, &actor, "removing a plugin") {
        Ok(caller) => caller,
        Err(e) => return e.into_response(),
    };
    change(StatusCode::OK, move || {
        let now = caller.plugins.remove(&id, &caller.who)?;
        Ok(serde_json::json!({ "removed": id, "now": now }))
    })
    .await
}

async fn reload(
    State(api): State<Arc<Api>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Response {
    let caller = match caller(&api, &actor, "reloading a plugin") {
        Ok(caller) => caller,
        Err(e) => return e.into_response(),
    };
    change(StatusCode::OK, move || {
        caller.plugins.reload(&id, &caller.who)
    })
    .await
}

async fn enable(
    State(api): State<Arc<Api>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Response {
    let caller = match caller(&api, &actor, "enabling a plugin") {
        Ok(caller) => caller,
        Err(e) => return e.into_response(),
    };
    change(StatusCode::OK, move || {
        caller.plugins.set_enabled(&id, true, &caller.who)
    })
    .await
}

async fn disable(
    State(api): State<Arc<Api>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Response {
    let caller = match caller(&api, &actor, "disabling a plugin") {
        Ok(caller) => caller,
        Err(e) => return e.into_response(),
    };
    change(StatusCode::OK, move || {
        caller.plugins.set_enabled(&id, false, &caller.who)
    })
    .await
}

async fn audit(
    State(api): State<Arc<Api>>,
    Extension(actor): Extension<Actor>,
) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    let caller = caller(&api, &actor, "reading the plugin audit log")?;
    caller
        .plugins
        .audit()
        .read()
        .map(Json)
        .map_err(ApiError::internal)
}
