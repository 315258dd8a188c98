//! Browser login: `/api/v1/session`.
//!
//! - `POST   /api/v1/session` `{"username", "password"}` — sets the session cookie (HttpOnly,
//!   SameSite=Strict) and answers `{"user", "role", "csrf"}`; 401 wrong, 429 too many tries
//! - `GET    /api/v1/session` — who is logged in, with the CSRF token writes must carry
//! - `DELETE /api/v1/session` — logs out

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tally_app::access::{self, Role};

use crate::auth::{SESSION_COOKIE, cookie};
use crate::openapi::{Routes, Shape, doc};
use crate::{Api, ApiError};

/// The public part: logging in and out needs no session.
const SESSION: &[&str] = &["user", "role", "csrf"];

pub fn routes() -> Routes {
    Routes::public()
        .post(
            "/api/v1/session",
            log_in,
            doc(
                "log in (username, password): sets the session cookie",
                200,
                Shape::Object(SESSION),
            ),
        )
        .get(
            "/api/v1/session",
            current,
            doc(
                "who is logged in, with the CSRF token",
                200,
                Shape::Object(SESSION),
            ),
        )
        .delete(
            "/api/v1/session",
            log_out,
            doc("log out", 204, Shape::Empty),
        )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Credentials {
    username: String,
    password: String,
}

#[derive(Debug, Serialize)]
struct Session {
    user: String,
    role: Role,
    csrf: String,
}

async fn log_in(State(api): State<Arc<Api>>, request: Request) -> Result<Response, ApiError> {
    let address = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "local".into());
    let body = axum::body::to_bytes(request.into_body(), 16 << 10)
        .await
        .map_err(|_| ApiError::bad_request("a login is a small JSON object"))?;
    let credentials: Credentials = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!("a login is {{\"username\", \"password\"}}: {e}"))
    })?;
    let login = access::log_in(
        &api.app,
        &api.logins,
        &address,
        &credentials.username,
        &credentials.password,
    )
    .await?;
    let max_age = login.expires - tally_core::time::now();
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}",
        login.session
    );
    let mut response = Json(Session {
        user: login.actor.name,
        role: login.actor.role,
        csrf: login.csrf,
    })
    .into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(ApiError::internal)?,
    );
    Ok(response)
}

async fn current(
    State(api): State<Arc<Api>>,
    headers: HeaderMap,
) -> Result<Json<Session>, ApiError> {
    let secret = cookie(&headers, SESSION_COOKIE).ok_or(access::AccessError::Unauthenticated)?;
    let (actor, csrf) = access::session(&api.app, secret).await?;
    Ok(Json(Session {
        user: actor.name,
        role: actor.role,
        csrf,
    }))
}

async fn log_out(State(api): State<Arc<Api>>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(secret) = cookie(&headers, SESSION_COOKIE) {
        access::log_out(&api.app, secret).await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("tally_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    Ok(response)
}
