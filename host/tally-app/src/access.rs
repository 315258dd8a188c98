//! Who may do what: local accounts with roles, API tokens, browser sessions, and the gate every
//! write passes ([`App::may_write`]).
//!
//! - An **administrator** may do everything; a **viewer** may read.
//! - Passwords are hashed with argon2id; tokens and session ids are 32 random bytes from the
//!   OS, stored as their sha256 (only the holder knows the secret), shown once.
//! - Failed logins are limited per address and per account ([`LoginLimiter`]), so guessing a
//!   password costs hours, not seconds.

use std::collections::HashMap;
use std::sync::Mutex;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tally_store::{Account, StoreError, Token, TokenId};

use crate::App;

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Administrator,
    Viewer,
    /// An end-user agent (an agent-scoped token): reports and nothing else. Never an
    /// account's role.
    #[serde(skip_deserializing)]
    Agent,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Administrator => "administrator",
            Role::Viewer => "viewer",
            Role::Agent => "agent",
        }
    }

    pub fn may_write(self) -> bool {
        self == Role::Administrator
    }
}

impl std::str::FromStr for Role {
    type Err = AccessError;
    fn from_str(text: &str) -> Result<Role, AccessError> {
        match text {
            "administrator" | "admin" => Ok(Role::Administrator),
            "viewer" => Ok(Role::Viewer),
            other => Err(AccessError::Invalid(format!(
                "`{other}` is not a role: administrator or viewer"
            ))),
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who is asking: named, with a role. The operator at the machine (the CLI, with the database
/// at hand) is an administrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub name: String,
    pub role: Role,
}

impl Actor {
    /// The operator running `tally` on the machine.
    pub fn operator() -> Actor {
        Actor {
            name: "operator".into(),
            role: Role::Administrator,
        }
    }

    /// A reader without a login, where the operator allows anonymous reading.
    pub fn anonymous() -> Actor {
        Actor {
            name: "anonymous".into(),
            role: Role::Viewer,
        }
    }
}

/// What a token may be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Scripts: the API with the role of the token's account.
    Api,
    /// End-user agents: only the agents' routes.
    Agent,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Api => "api",
            Scope::Agent => "agent",
        }
    }

    fn parse(text: &str) -> Scope {
        if text == "agent" {
            Scope::Agent
        } else {
            Scope::Api
        }
    }
}

/// Why access was refused or an account change failed.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// No valid credentials.
    #[error("a login or an API token is required")]
    Unauthenticated,
    /// Wrong name or password (which one is not said).
    #[error("wrong user name or password")]
    BadLogin,
    /// Too many failed logins from this address or for this account.
    #[error("too many failed logins; try again in {retry_after} seconds")]
    TooManyAttempts { retry_after: u64 },
    /// The actor's role or token may not do this; the text says what is needed.
    #[error("{0}")]
    Forbidden(String),
    /// Restricted access mode: the text names the licence's violation and what to do next.
    #[error("{0}")]
    Restricted(String),
    #[error("{0}")]
    Invalid(String),
    #[error("no account is called `{0}`")]
    NoSuchAccount(String),
    #[error("an account called `{0}` exists already")]
    AccountExists(String),
    #[error("no API token has id {0}")]
    NoSuchToken(TokenId),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for AccessError {
    fn from(e: StoreError) -> AccessError {
        match e {
            StoreError::NoSuchAccount(name) => AccessError::NoSuchAccount(name),
            StoreError::AccountExists(name) => AccessError::AccountExists(name),
            other => AccessError::Store(other),
        }
    }
}

/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 8;
/// Longest password hashed (argon2 takes any length; this bounds the work a request causes).
pub const MAX_PASSWORD: usize = 1024;
/// How long a browser session lasts without a new login.
pub const SESSION_SECS: i64 = 12 * 3600;

impl App {
    /// The gate every write passes: the actor's role must allow writing, and Tally must not
    /// be in restricted access mode (its own licence violated, as last assessed: see
    /// [`crate::licence`]). Reads never pass here.
    pub fn may_write(&self, actor: &Actor, what: &str) -> Result<(), AccessError> {
        self.needs_administrator(actor, what)?;
        match self.licence_restriction() {
            Some(violation) => Err(AccessError::Restricted(format!(
                "{what} is refused: Tally is in restricted access mode. {}",
                violation.explain()
            ))),
            None => Ok(()),
        }
    }

    /// The gate of what an end-user agent writes (enrolment, reports): an agent, or an
    /// administrator acting for one. Reports are collected data, like polls: they go on in
    /// restricted access mode (harvest orders are the licence's business, see `agents`).
    pub fn may_report(&self, actor: &Actor, what: &str) -> Result<(), AccessError> {
        match actor.role {
            Role::Agent | Role::Administrator => Ok(()),
            Role::Viewer => Err(AccessError::Forbidden(format!(
                "{what} needs an agent token; `{}` is a {}",
                actor.name, actor.role
            ))),
        }
    }

    /// The role check alone: for what only administrators may read, and for the writes that
    /// stay allowed in restricted access mode because they are the way out of it (loading a
    /// licence, removing data).
    pub fn needs_administrator(&self, actor: &Actor, what: &str) -> Result<(), AccessError> {
        if actor.role.may_write() {
            Ok(())
        } else {
            Err(AccessError::Forbidden(format!(
                "{what} needs the administrator role; `{}` is a {}",
                actor.name, actor.role
            )))
        }
    }
}

fn check_name(name: &str) -> Result<(), AccessError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'));
    if ok {
        Ok(())
    } else {
        Err(AccessError::Invalid(format!(
            "`{name}` is not an account name: 1 to 64 letters, digits, `.`, `-`, `_` or `@`"
        )))
    }
}

fn hash_password(password: &str) -> Result<String, AccessError> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(AccessError::Invalid(format!(
            "a password needs at least {MIN_PASSWORD} characters"
        )));
    }
    if password.len() > MAX_PASSWORD {
        return Err(AccessError::Invalid(format!(
            "a password has at most {MAX_PASSWORD} bytes"
        )));
    }
    let salt = SaltString::encode_b64(&random_bytes::<16>()?)
        .map_err(|e| AccessError::Invalid(format!("cannot make a salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AccessError::Invalid(format!("cannot hash the password: {e}")))
}

fn password_matches(password: &str, hash: &str) -> bool {
    password.len() <= MAX_PASSWORD
        && PasswordHash::new(hash).is_ok_and(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
}

fn random_bytes<const N: usize>() -> Result<[u8; N], AccessError> {
    let mut bytes = [0; N];
    getrandom::fill(&mut bytes)
        .map_err(|e| AccessError::Invalid(format!("the OS gave no random bytes: {e}")))?;
    Ok(bytes)
}

/// A new secret: `prefix` and 32 random bytes in hex.
fn new_secret(prefix: &str) -> Result<String, AccessError> {
    Ok(format!("{prefix}{}", hex::encode(random_bytes::<32>()?)))
}

/// What is stored for a secret.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn actor_of(account: &Account) -> Actor {
    Actor {
        name: account.name.clone(),
        role: account.role.parse().unwrap_or(Role::Viewer),
    }
}

/// Adds a local account.
pub async fn add_account(
    app: &App,
    by: &Actor,
    name: &str,
    role: Role,
    password: &str,
) -> Result<Account, AccessError> {
    app.may_write(by, "adding an account")?;
    check_name(name)?;
    let hash = hash_password(password)?;
    app.store
        .add_account(name, role.as_str(), &hash, crate::now())
        .await?;
    account(app, name).await
}

/// Changes an account's role, and its password when given. The last administrator keeps its
/// role, so somebody can always administer.
pub async fn edit_account(
    app: &App,
    by: &Actor,
    name: &str,
    role: Option<Role>,
    password: Option<&str>,
) -> Result<Account, AccessError> {
    // Anyone may change their own password; everything else is an administrator's.
    let own_password = by.name == name && role.is_none();
    if !own_password {
        app.may_write(by, "changing an account")?;
    }
    let current = account(app, name).await?;
    let role = role.unwrap_or_else(|| actor_of(&current).role);
    if role != Role::Administrator && current.role == Role::Administrator.as_str() {
        keep_an_administrator(app).await?;
    }
    let hash = password.map(hash_password).transpose()?;
    app.store
        .update_account(name, role.as_str(), hash.as_deref())
        .await?;
    account(app, name).await
}

/// Removes an account, its tokens and sessions.
pub async fn remove_account(app: &App, by: &Actor, name: &str) -> Result<(), AccessError> {
    app.may_write(by, "removing an account")?;
    if account(app, name).await?.role == Role::Administrator.as_str() {
        keep_an_administrator(app).await?;
    }
    Ok(app.store.remove_account(name).await?)
}

async fn keep_an_administrator(app: &App) -> Result<(), AccessError> {
    if app.store.count_role(Role::Administrator.as_str()).await? <= 1 {
        return Err(AccessError::Invalid(
            "this is the last administrator; make another one first".into(),
        ));
    }
    Ok(())
}

pub async fn account(app: &App, name: &str) -> Result<Account, AccessError> {
    app.store
        .account(name)
        .await?
        .ok_or_else(|| AccessError::NoSuchAccount(name.to_string()))
}

pub async fn accounts(app: &App) -> Result<Vec<Account>, AccessError> {
    Ok(app.store.accounts().await?)
}

/// A new token, shown once: the secret is returned and only its hash kept.
#[derive(Debug, Serialize)]
pub struct NewToken {
    pub id: TokenId,
    pub token: String,
}

/// Creates a token acting as `user` (an administrator may make them for anyone; others only
/// for themselves).
pub async fn create_token(
    app: &App,
    by: &Actor,
    user: &str,
    name: &str,
    scope: Scope,
) -> Result<NewToken, AccessError> {
    if by.name != user {
        app.may_write(by, "making a token for another account")?;
    }
    if name.trim().is_empty() || name.len() > 128 {
        return Err(AccessError::Invalid(
            "a token needs a name of 1 to 128 bytes".into(),
        ));
    }
    let token = new_secret(match scope {
        Scope::Api => "tally_",
        Scope::Agent => "tally_agent_",
    })?;
    let id = app
        .store
        .add_token(
            user,
            name,
            scope.as_str(),
            &secret_hash(&token),
            crate::now(),
        )
        .await?;
    Ok(NewToken { id, token })
}

pub async fn tokens(app: &App) -> Result<Vec<Token>, AccessError> {
    Ok(app.store.tokens().await?)
}

/// Revokes a token: an administrator any, others their own.
pub async fn revoke_token(app: &App, by: &Actor, id: TokenId) -> Result<(), AccessError> {
    let own = app
        .store
        .tokens()
        .await?
        .iter()
        .any(|t| t.id == id && t.user == by.name);
    if !own {
        app.may_write(by, "revoking another account's token")?;
    }
    if app.store.remove_token(id).await? {
        Ok(())
    } else {
        Err(AccessError::NoSuchToken(id))
    }
}

/// The actor a bearer token stands for, and its scope; its use is recorded.
pub async fn authenticate_token(app: &App, secret: &str) -> Result<(Actor, Scope), AccessError> {
    let Some((token, account)) = app.store.token_account(&secret_hash(secret)).await? else {
        return Err(AccessError::Unauthenticated);
    };
    // Last use to the minute: a busy script does not write on every request.
    let now = crate::now();
    if token.last_used.is_none_or(|t| now - t >= 60) {
        app.store.token_used(token.id, now).await?;
    }
    Ok((actor_of(&account), Scope::parse(&token.scope)))
}

/// A started browser session: the cookie's secret and the CSRF token forms must echo.
#[derive(Debug)]
pub struct Login {
    pub actor: Actor,
    pub session: String,
    pub csrf: String,
    pub expires: i64,
}

/// Checks a name and password (rate-limited per `address` and per account) and starts a
/// browser session.
pub async fn log_in(
    app: &App,
    limiter: &LoginLimiter,
    address: &str,
    name: &str,
    password: &str,
) -> Result<Login, AccessError> {
    let now = crate::now();
    limiter.check(address, name, now)?;
    let account = app.store.account(name).await?;
    let matches = match account.as_ref().and_then(|a| a.password_hash.as_deref()) {
        Some(hash) => {
            let (password, hash) = (password.to_string(), hash.to_string());
            tokio::task::spawn_blocking(move || password_matches(&password, &hash))
                .await
                .unwrap_or(false)
        }
        None => false,
    };
    let Some(account) = account.filter(|_| matches) else {
        limiter.failed(address, name, now);
        return Err(AccessError::BadLogin);
    };
    limiter.succeeded(address, name);
    let session = new_secret("")?;
    let csrf = new_secret("")?;
    let expires = now + SESSION_SECS;
    app.store
        .add_web_session(account.id, &secret_hash(&session), &csrf, now, expires)
        .await?;
    Ok(Login {
        actor: actor_of(&account),
        session,
        csrf,
        expires,
    })
}

/// The actor of a browser session and the CSRF token its writes must carry.
pub async fn session(app: &App, secret: &str) -> Result<(Actor, String), AccessError> {
    match app
        .store
        .web_session(&secret_hash(secret), crate::now())
        .await?
    {
        Some(s) => Ok((actor_of(&s.account), s.csrf)),
        None => Err(AccessError::Unauthenticated),
    }
}

pub async fn log_out(app: &App, secret: &str) -> Result<(), AccessError> {
    Ok(app.store.remove_web_session(&secret_hash(secret)).await?)
}

/// Failed logins per address and per account: after [`LoginLimiter::FAILURES`] failures in
/// [`LoginLimiter::WINDOW_SECS`], further attempts are refused until the window has passed.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, Vec<i64>>>,
}

impl LoginLimiter {
    pub const FAILURES: usize = 5;
    pub const WINDOW_SECS: i64 = 300;
    /// Keys remembered at most (addresses and names): an attacker cycling addresses cannot
    /// grow this without bound.
    const KEPT: usize = 10_000;

    fn keys(address: &str, name: &str) -> [String; 2] {
        [format!("address:{address}"), format!("account:{name}")]
    }

    fn check(&self, address: &str, name: &str, now: i64) -> Result<(), AccessError> {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let mut wait = 0;
        for key in Self::keys(address, name) {
            if let Some(times) = failures.get_mut(&key) {
                times.retain(|&t| now - t < Self::WINDOW_SECS);
                if times.len() >= Self::FAILURES {
                    wait = wait.max(times[0] + Self::WINDOW_SECS - now);
                }
            }
        }
        if wait > 0 {
            return Err(AccessError::TooManyAttempts {
                retry_after: wait as u64,
            });
        }
        Ok(())
    }

    fn failed(&self, address: &str, name: &str, now: i64) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() >= Self::KEPT {
            failures.retain(|_, times| times.iter().any(|&t| now - t < Self::WINDOW_SECS));
        }
        for key in Self::keys(address, name) {
            if failures.len() < Self::KEPT || failures.contains_key(&key) {
                failures.entry(key).or_default().push(now);
            }
        }
    }

    fn succeeded(&self, address: &str, name: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        for key in Self::keys(address, name) {
            failures.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let hash = hash_password("correct horse").expect("hash");
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(password_matches("correct horse", &hash));
        assert!(!password_matches("correct hors", &hash));
        assert!(matches!(
            hash_password("short"),
            Err(AccessError::Invalid(_))
        ));
    }

    #[test]
    fn five_failures_lock_an_address_for_the_window() {
        let limiter = LoginLimiter::default();
        for i in 0..LoginLimiter::FAILURES {
            assert!(limiter.check("10.0.0.1", "ann", 1000 + i as i64).is_ok());
            limiter.failed("10.0.0.1", "ann", 1000 + i as i64);
        }
        // The same address for another account, and the account from another address.
        assert!(matches!(
            limiter.check("10.0.0.1", "bob", 1010),
            Err(AccessError::TooManyAttempts { retry_after: 290 })
        ));
        assert!(limiter.check("10.0.0.2", "ann", 1010).is_err());
        assert!(limiter.check("10.0.0.2", "bob", 1010).is_ok());
        // After the window.
        assert!(
            limiter
                .check("10.0.0.1", "bob", 1000 + LoginLimiter::WINDOW_SECS)
                .is_ok()
        );
    }

    #[test]
    fn a_viewer_may_not_write() {
        let viewer = Actor {
            name: "vic".into(),
            role: Role::Viewer,
        };
        assert!(!viewer.role.may_write());
        assert!(Actor::operator().role.may_write());
    }

    #[test]
    fn secrets_are_long_and_different() {
        let (a, b) = (
            new_secret("tally_").expect("a"),
            new_secret("tally_").expect("b"),
        );
        assert_ne!(a, b);
        assert_eq!(a.len(), "tally_".len() + 64);
        assert_eq!(secret_hash(&a).len(), 64);
    }
}
