//! Accounts, API tokens and browser sessions as stored. Secrets are never stored: a password as
//! its argon2id hash (made by the caller), a token or session as the sha256 of its secret.
//! Which role may do what, and how secrets are made, is decided in `tally-app`.

use serde::Serialize;

use crate::db::{Row, query};
use crate::{Store, StoreError};

pub type AccountId = i64;
pub type TokenId = i64;

/// A local account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    pub id: AccountId,
    pub name: String,
    /// `administrator` or `viewer`.
    pub role: String,
    pub created: i64,
    #[serde(skip)]
    pub password_hash: Option<String>,
}

/// An API token (its secret is not kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Token {
    pub id: TokenId,
    pub name: String,
    /// The account it acts as.
    pub user: String,
    /// `api` (scripts) or `agent` (end-user agents).
    pub scope: String,
    pub created: i64,
    pub last_used: Option<i64>,
}

/// A browser session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSession {
    pub account: Account,
    pub csrf: String,
    pub expires: i64,
}

fn account(r: &Row, first: usize) -> Result<Account, StoreError> {
    Ok(Account {
        id: r.get(first)?,
        name: r.get(first + 1)?,
        role: r.get(first + 2)?,
        created: r.get(first + 3)?,
        password_hash: r.get(first + 4)?,
    })
}

impl Store {
    /// Adds an account; its name must be new ([`StoreError::AccountExists`]).
    pub async fn add_account(
        &self,
        name: &str,
        role: &str,
        password_hash: &str,
        now: i64,
    ) -> Result<AccountId, StoreError> {
        let (name, role, hash) = (
            name.to_string(),
            role.to_string(),
            password_hash.to_string(),
        );
        self.write(move |w| {
            Box::pin(async move {
                let added = query(
                    "INSERT INTO account (name, role, password_hash, created) VALUES (?, ?, ?, ?) RETURNING id",
                )
                .bind(&name)
                .bind(&role)
                .bind(&hash)
                .bind(now)
                .scalar(&mut w.conn)
                .await;
                match added {
                    Err(e) if e.is_unique_violation() => Err(StoreError::AccountExists(name)),
                    other => other,
                }
            })
        })
        .await
    }

    /// Replaces an account's role and, when given, its password hash.
    pub async fn update_account(
        &self,
        name: &str,
        role: &str,
        password_hash: Option<&str>,
    ) -> Result<(), StoreError> {
        let (name, role, hash) = (
            name.to_string(),
            role.to_string(),
            password_hash.map(String::from),
        );
        self.write(move |w| {
            Box::pin(async move {
                let changed = query(
                    "UPDATE account SET role = ?, password_hash = COALESCE(?, password_hash) WHERE name = ?",
                )
                .bind(&role)
                .bind(hash)
                .bind(&name)
                .execute(&mut w.conn)
                .await?;
                if changed == 0 {
                    return Err(StoreError::NoSuchAccount(name));
                }
                Ok(())
            })
        })
        .await
    }

    /// Removes an account with its tokens and sessions.
    pub async fn remove_account(&self, name: &str) -> Result<(), StoreError> {
        let name = name.to_string();
        self.write(move |w| {
            Box::pin(async move {
                w.transaction(async |w| {
                    let id: AccountId = query("SELECT id FROM account WHERE name = ?")
                        .bind(&name)
                        .scalar_optional(&mut w.conn)
                        .await?
                        .ok_or_else(|| StoreError::NoSuchAccount(name.clone()))?;
                    for sql in [
                        "DELETE FROM api_token WHERE account_id = ?",
                        "DELETE FROM web_session WHERE account_id = ?",
                        "DELETE FROM account WHERE id = ?",
                    ] {
                        query(sql).bind(id).execute(&mut w.conn).await?;
                    }
                    Ok(())
                })
                .await
            })
        })
        .await
    }

    pub async fn account(&self, name: &str) -> Result<Option<Account>, StoreError> {
        let row =
            query("SELECT id, name, role, created, password_hash FROM account WHERE name = ?")
                .bind(name)
                .fetch_optional(self.pool())
                .await?;
        row.map(|r| account(&r, 0)).transpose()
    }

    /// Every account, by name.
    pub async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        let rows =
            query("SELECT id, name, role, created, password_hash FROM account ORDER BY name")
                .fetch_all(self.pool())
                .await?;
        rows.iter().map(|r| account(r, 0)).collect()
    }

    /// How many accounts have `role`.
    pub async fn count_role(&self, role: &str) -> Result<u64, StoreError> {
        let n: i64 = query("SELECT COUNT(*) FROM account WHERE role = ?")
            .bind(role)
            .scalar(self.pool())
            .await?;
        Ok(n.max(0) as u64)
    }

    /// Stores a token for `user`, known by the sha256 of its secret.
    pub async fn add_token(
        &self,
        user: &str,
        name: &str,
        scope: &str,
        secret_hash: &str,
        now: i64,
    ) -> Result<TokenId, StoreError> {
        let (user, name, scope, hash) = (
            user.to_string(),
            name.to_string(),
            scope.to_string(),
            secret_hash.to_string(),
        );
        self.write(move |w| {
            Box::pin(async move {
                let account: AccountId = query("SELECT id FROM account WHERE name = ?")
                    .bind(&user)
                    .scalar_optional(&mut w.conn)
                    .await?
                    .ok_or_else(|| StoreError::NoSuchAccount(user.clone()))?;
                query(
                    "INSERT INTO api_token (account_id, name, scope, secret_hash, created) VALUES (?, ?, ?, ?, ?) RETURNING id",
                )
                .bind(account)
                .bind(&name)
                .bind(&scope)
                .bind(&hash)
                .bind(now)
                .scalar(&mut w.conn)
                .await
            })
        })
        .await
    }

    /// Every token, newest first.
    pub async fn tokens(&self) -> Result<Vec<Token>, StoreError> {
        let rows = query(
            "SELECT t.id, t.name, a.name, t.scope, t.created, t.last_used FROM api_token t
             JOIN account a ON a.id = t.account_id ORDER BY t.id DESC",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Token {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    user: r.get(2)?,
                    scope: r.get(3)?,
                    created: r.get(4)?,
                    last_used: r.get(5)?,
                })
            })
            .collect()
    }

    /// Revokes a token; false when there is none of that id.
    pub async fn remove_token(&self, id: TokenId) -> Result<bool, StoreError> {
        self.write(move |w| {
            Box::pin(async move {
                let n = query("DELETE FROM api_token WHERE id = ?")
                    .bind(id)
                    .execute(&mut w.conn)
                    .await?;
                Ok(n > 0)
            })
        })
        .await
    }

    /// The account and scope of the token whose secret hashes to `secret_hash`.
    pub async fn token_account(
        &self,
        secret_hash: &str,
    ) -> Result<Option<(Token, Account)>, StoreError> {
        let row = query(
            "SELECT t.id, t.name, t.scope, t.created, t.last_used, a.id, a.name, a.role, a.created, a.password_hash
             FROM api_token t JOIN account a ON a.id = t.account_id WHERE t.secret_hash = ?",
        )
        .bind(secret_hash)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            let account = account(&r, 5)?;
            let token = Token {
                id: r.get(0)?,
                name: r.get(1)?,
                user: account.name.clone(),
                scope: r.get(2)?,
                created: r.get(3)?,
                last_used: r.get(4)?,
            };
            Ok((token, account))
        })
        .transpose()
    }

    /// Records a token's use (shown in the token list).
    pub async fn token_used(&self, id: TokenId, now: i64) -> Result<(), StoreError> {
        self.write(move |w| {
            Box::pin(async move {
                query("UPDATE api_token SET last_used = ? WHERE id = ?")
                    .bind(now)
                    .bind(id)
                    .execute(&mut w.conn)
                    .await?;
                Ok(())
            })
        })
        .await
    }

    /// Stores a browser session of `account` until `expires`; expired sessions go.
    pub async fn add_web_session(
        &self,
        account: AccountId,
        secret_hash: &str,
        csrf: &str,
        now: i64,
        expires: i64,
    ) -> Result<(), StoreError> {
        let (hash, csrf) = (secret_hash.to_string(), csrf.to_string());
        self.write(move |w| {
            Box::pin(async move {
                query("DELETE FROM web_session WHERE expires <= ?")
                    .bind(now)
                    .execute(&mut w.conn)
                    .await?;
                query(
                    "INSERT INTO web_session (secret_hash, account_id, csrf, created, expires) VALUES (?, ?, ?, ?, ?)",
                )
                .bind(&hash)
                .bind(account)
                .bind(&csrf)
                .bind(now)
                .bind(expires)
                .execute(&mut w.conn)
                .await?;
                Ok(())
            })
        })
        .await
    }

    /// The unexpired session whose secret hashes to `secret_hash`.
    pub async fn web_session(
        &self,
        secret_hash: &str,
        now: i64,
    ) -> Result<Option<WebSession>, StoreError> {
        let row = query(
            "SELECT s.csrf, s.expires, a.id, a.name, a.role, a.created, a.password_hash
             FROM web_session s JOIN account a ON a.id = s.account_id
             WHERE s.secret_hash = ? AND s.expires > ?",
        )
        .bind(secret_hash)
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(WebSession {
                csrf: r.get(0)?,
                expires: r.get(1)?,
                account: account(&r, 2)?,
            })
        })
        .transpose()
    }

    pub async fn remove_web_session(&self, secret_hash: &str) -> Result<(), StoreError> {
        let hash = secret_hash.to_string();
        self.write(move |w| {
            Box::pin(async move {
                query("DELETE FROM web_session WHERE secret_hash = ?")
                    .bind(&hash)
                    .execute(&mut w.conn)
                    .await?;
                Ok(())
            })
        })
        .await
    }
}
