//! Who is calling: every route but the public ones passes [`authenticate`], which finds the
//! caller's [`Actor`] and puts it in the request's extensions for the handlers.
//!
//! - `Authorization: Bearer TOKEN` (the scheme in any case, RFC 9110): an API token of an
//!   account, or one of the operator's admin tokens (`tally serve --admin-token-file`), which
//!   act as administrators named after the token.
//! - The browser session cookie [`SESSION_COOKIE`] set by `POST /api/v1/session`; a write
//!   with it must carry the session's CSRF token in [`CSRF_HEADER`] (a cross-site form can
//!   send the cookie, not the header).
//! - Nothing: a read when the operator allows anonymous reading, else 401.
//!
//! Whether the actor may do what it asks is the verbs' business (`App::may_write`).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tally_app::access::{self, AccessError, Actor, Scope};

use crate::{Api, ApiError};

/// The browser session's cookie.
pub const SESSION_COOKIE: &str = "tally_session";
/// The header a browser's writes repeat the session's CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// An operator's admin token: who presents `secret` is `name` in the audit log.
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

/// The admin token `secret` is, compared in constant time.
fn admin_token<'t>(tokens: &'t [Token], secret: &str) -> Option<&'t Token> {
    let mut found = None;
    for token in tokens {
        let same = token.secret.len() == secret.len()
            && token
                .secret
                .bytes()
                .zip(secret.bytes())
                .fold(0u8, |diff, (a, b)| diff | (a ^ b))
                == 0;
        if same {
            found = Some(token);
        }
    }
    found
}

/// The bearer token of `Authorization`, whatever the scheme's case.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The value of cookie `name`.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

impl From<AccessError> for ApiError {
    fn from(e: AccessError) -> ApiError {
        use axum::http::StatusCode;
        match e {
            AccessError::Unauthenticated | AccessError::BadLogin => {
                ApiError::new(StatusCode::UNAUTHORIZED, e.to_string())
            }
            AccessError::TooManyAttempts { retry_after } => {
                ApiError::too_many(e.to_string(), retry_after)
            }
            AccessError::Forbidden(_) | AccessError::Restricted(_) => {
                ApiError::forbidden(e.to_string())
            }
            AccessError::Invalid(_) => ApiError::unprocessable(e.to_string()),
            AccessError::NoSuchAccount(_) | AccessError::NoSuchToken(_) => {
                ApiError::not_found(e.to_string())
            }
            AccessError::AccountExists(_) => ApiError::conflict(e.to_string()),
            AccessError::Store(e) => ApiError::internal(e),
        }
    }
}

/// Finds the caller and puts its [`Actor`] in the request's extensions; 401 without one.
pub async fn authenticate(
    State(api): State<Arc<Api>>,
    mut request: Request,
    next: Next,
) -> Response {
    match actor(&api, request.method(), request.headers()).await {
        Ok(actor) => {
            request.extensions_mut().insert(actor);
            next.run(request).await
        }
        Err(error) => {
            let mut response = error.into_response();
            if response.status() == axum::http::StatusCode::UNAUTHORIZED {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static("Bearer"),
                );
            }
            response
        }
    }
}

/// The gate of the agents' own routes: an agent-scoped bearer token, nothing else. The
/// [`Actor`] put in the request's extensions has the agent role.
pub async fn authenticate_agent(
    State(api): State<Arc<Api>>,
    mut request: Request,
    next: Next,
) -> Response {
    let found = match bearer(request.headers()) {
        None => Err(ApiError::from(AccessError::Unauthenticated)),
        Some(secret) => match access::authenticate_token(&api.app, secret).await {
            Ok((actor, Scope::Agent)) => Ok(Actor {
                name: actor.name,
                role: access::Role::Agent,
            }),
            Ok(_) => Err(ApiError::forbidden(
                "the agents' routes take an agent-scoped token (`tally token create --agent`)",
            )),
            Err(e) => Err(e.into()),
        },
    };
    match found {
        Ok(actor) => {
            request.extensions_mut().insert(actor);
            next.run(request).await
        }
        Err(error) => {
            let mut response = error.into_response();
            if response.status() == axum::http::StatusCode::UNAUTHORIZED {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static("Bearer"),
                );
            }
            response
        }
    }
}

async fn actor(api: &Api, method: &Method, headers: &HeaderMap) -> Result<Actor, ApiError> {
    let reading = method == Method::GET || method == Method::HEAD;
    if let Some(secret) = bearer(headers) {
        if let Some(token) = admin_token(&api.admin_tokens, secret) {
            return Ok(Actor {
                name: token.name.clone(),
                role: access::Role::Administrator,
            });
        }
        let (actor, scope) = access::authenticate_token(&api.app, secret).await?;
        if scope == Scope::Agent {
            return Err(ApiError::forbidden(
                "an agent token is only for the agents' routes",
            ));
        }
        return Ok(actor);
    }
    if let Some(secret) = cookie(headers, SESSION_COOKIE) {
        let (actor, csrf) = access::session(&api.app, secret).await?;
        let echoed = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        if !reading && echoed != Some(csrf.as_str()) {
            return Err(ApiError::forbidden(format!(
                "a change from the browser needs the session's CSRF token in the {CSRF_HEADER} header"
            )));
        }
        return Ok(actor);
    }
    if reading && api.anonymous_read {
        return Ok(Actor::anonymous());
    }
    Err(AccessError::Unauthenticated.into())
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
        assert_eq!(
            admin_token(&tokens, "def456").map(|t| t.name.as_str()),
            Some("ci")
        );
        assert!(admin_token(&tokens, "def45").is_none());
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        let mut headers = HeaderMap::new();
        for value in ["Bearer abc", "bearer abc", "BEARER  abc"] {
            headers.insert(header::AUTHORIZATION, value.parse().expect("header"));
            assert_eq!(bearer(&headers), Some("abc"), "{value}");
        }
        headers.insert(header::AUTHORIZATION, "Basic abc".parse().expect("header"));
        assert_eq!(bearer(&headers), None);
    }

    #[test]
    fn cookies_are_found_by_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "theme=dark; tally_session=s3cret".parse().expect("header"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("s3cret"));
        assert_eq!(cookie(&headers, "other"), None);
    }
}
