//! Accounts and API tokens: `/api/v1/accounts`, `/api/v1/tokens`.
//!
//! - `GET    /api/v1/accounts`; `POST` `{"name", "role", "password"}` (201);
//!   `PATCH /api/v1/accounts/{name}` `{"role"?, "password"?}`; `DELETE /api/v1/accounts/{name}`
//! - `GET    /api/v1/tokens`; `POST` `{"name", "user"?, "scope"?}` answers the token once (201);
//!   `DELETE /api/v1/tokens/{id}`

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use tally_app::access::{self, Actor, NewToken, Role, Scope};
use tally_store::{Account, Token};

use crate::openapi::{Routes, Shape, doc};
use crate::{Api, ApiError};

const ACCOUNT: &[&str] = &["name", "role", "created"];
const TOKEN: &[&str] = &["id", "name", "user", "scope", "created", "last_used"];

pub fn routes() -> Routes {
    Routes::new()
        .get(
            "/api/v1/accounts",
            list,
            doc("the accounts", 200, Shape::List(ACCOUNT)),
        )
        .post(
            "/api/v1/accounts",
            add,
            doc(
                "add an account (name, role, password)",
                201,
                Shape::Object(ACCOUNT),
            ),
        )
        .patch(
            "/api/v1/accounts/{name}",
            edit,
            doc(
                "change an account's role or password",
                200,
                Shape::Object(ACCOUNT),
            ),
        )
        .delete(
            "/api/v1/accounts/{name}",
            remove,
            doc("remove an account", 204, Shape::Empty),
        )
        .get(
            "/api/v1/tokens",
            tokens,
            doc(
                "the API tokens (never their secrets)",
                200,
                Shape::List(TOKEN),
            ),
        )
        .post(
            "/api/v1/tokens",
            create_token,
            doc(
                "create a token, shown once",
                201,
                Shape::Object(&["id", "token"]),
            ),
        )
        .delete(
            "/api/v1/tokens/{id}",
            revoke_token,
            doc("revoke a token", 204, Shape::Empty),
        )
}

async fn list(
    State(api): State<Arc<Api>>,
    Extension(actor): Extension<Actor>,
) -> Result<Json<Vec<Account>>, ApiError> {
    api.app
        .needs_administrator(&actor, "listing the accounts")?;
    Ok(Json(access::accounts(&api.app).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAccount {
    name: String,
    role: Role,
    password: String,
}

async fn add(
    State(api): State<Arc<Api>>,
    Extension(actor): Extension<Actor>,
    Json(new): Json<NewAccount>,
) -> Result<(StatusCode, Json<Account>), ApiError> {
    let account = access::add_account(&api.app, &actor, &new.name, new.role, &new.password).await?;
    Ok((StatusCode::CREATED, Json(account)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountChange {
    role: Option<Role>,
    password: Option<String>,
}

async fn edit(
    State(api): State<Arc<Api>>,
    Extension(actor): Extension<Actor>,
    Path(name): Path<String>,
    Json(change): Json<AccountChange>,
) -> Result<Json<Account>, ApiError> {
    let account = access::edit_account(
        &api.app,
        &actor,
        &name,
        change.role,
        change.password.as_deref(),
    )
    .await?;
    Ok(Json(account))
}

async fn remove(
    State(api): State<Arc<Api>>,
    Extension(actor): Extension<Actor>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    access::remove_account(&api.app, &actor, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn tokens(
    State(api): State<Arc<Api>>,
    Extension(actor): Extension<Actor>,
) -> Result<Json<Vec<Token>>, ApiError> {
    let mut tokens = access::tokens(&api.app).await?;
    // A viewer sees its own.
    if !actor.role.may_write() {
        tokens.retain(|t| t.user == actor.name);
    }
    Ok(Json(tokens))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenRequest {
    name: String,
    /// The account it acts as; the caller's own by default.
    user: Option<String>,
    #[serde(default = "api_scope")]
    scope: Scope,
}

fn api_scope() -> Scope {
    Scope::Api
}

async fn create_token(
    State(api): State<Arc<Api>>,
    Extension(actor): Extension<Actor>,
    Json(request): Json<TokenRequest>,
) -> Result<(StatusCode, Json<NewToken>), ApiError> {
    let user = request.user.unwrap_or_else(|| actor.name.clone());
    let token = access::create_token(&api.app, &actor, &user, &request.name, request.scope).await?;
    Ok((StatusCode::CREATED, Json(token)))
}

async fn revoke_token(
    State(api): State<Arc<Api>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    access::revoke_token(&api.app, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
