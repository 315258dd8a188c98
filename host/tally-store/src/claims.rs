//! Who is importing which file, as leases in the database: two processes (two `tally import`s,
//! an upload while a follower reads the same log, and later several `tally serve` nodes on one
//! PostgreSQL) never import one file onto one server at once, which would write its facts
//! twice. A file is its server and the sha256 of its head (what [`crate::FileIdentity`]
//! records). A claim lasts [`LEASE`] and is renewed by its holder while it imports; a claim
//! whose holder died (no renewal) is taken over once it expires.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::db::query;
use crate::store::Store;
use crate::writer::now;
use crate::{ServerId, StoreError};

/// How long a claim lasts without renewal: how long a file stays blocked after its importer
/// was killed.
pub const LEASE: Duration = Duration::from_secs(60);

/// Who holds a claim, as the error shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimHolder {
    /// `host:pid:token` of the claiming process.
    pub holder: String,
    /// The path the holder imports the file from.
    pub path: String,
    /// When it claimed the file (UTC seconds).
    pub since: i64,
    /// When the claim runs out unless renewed.
    pub expires: i64,
}

/// This process's name in claims: host, pid and a token telling apart two stores of one
/// process.
fn holder_name() -> String {
    use std::hash::{BuildHasher, Hasher};
    let host = host_name();
    // Seeded from the OS's randomness per `RandomState`.
    let mut token = std::collections::hash_map::RandomState::new().build_hasher();
    token.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    format!(
        "{host}:{}:{:08x}",
        std::process::id(),
        token.finish() as u32
    )
}

/// This machine's name, as claims record it.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

/// The holders of this process's claims that live (a [`FileClaim`] not yet dropped or
/// released).
static LIVE: std::sync::LazyLock<std::sync::Mutex<std::collections::HashSet<String>>> =
    std::sync::LazyLock::new(Default::default);

fn live(holder: &str) -> bool {
    LIVE.lock().is_ok_and(|l| l.contains(holder))
}

fn hold(holder: &str) {
    if let Ok(mut l) = LIVE.lock() {
        l.insert(holder.to_string());
    }
}

fn forget(holder: &str) {
    if let Ok(mut l) = LIVE.lock() {
        l.remove(holder);
    }
}

/// Whether `holder` (a [`holder_name`]) is nobody's any more: a process of this machine that is
/// gone, or a claim of this process that was given up but whose row stayed (its release failed,
/// the database being away).
fn abandoned(holder: &str) -> bool {
    let mut parts = holder.rsplitn(3, ':');
    let (_token, pid, host) = (parts.next(), parts.next(), parts.next());
    match (host, pid.and_then(|p| p.parse::<u32>().ok())) {
        (Some(host), Some(pid)) if host == host_name() && pid == std::process::id() => {
            !live(holder)
        }
        (Some(host), Some(pid)) if host == host_name() => {
            cfg!(target_os = "linux") && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        }
        _ => false,
    }
}

/// A file claimed by this process. Renewed in the background every third of the lease while
/// it lives; released by [`FileClaim::release`] (or, dropped, in the background).
#[derive(Debug)]
pub struct FileClaim {
    store: Store,
    server: ServerId,
    head_hash: String,
    holder: String,
    lost: Arc<AtomicBool>,
    renewer: tokio::task::JoinHandle<()>,
}

impl Store {
    /// Claims the file of `server` whose head hashes to `head_hash` (read from `path`) for
    /// this process, taking over a claim that expired. Refused with [`StoreError::FileClaimed`]
    /// while another holder's claim lives.
    pub async fn claim_file(
        &self,
        server: ServerId,
        head_hash: &str,
        path: &str,
    ) -> Result<FileClaim, StoreError> {
        self.claim_file_for(server, head_hash, path, LEASE).await
    }

    /// [`Store::claim_file`] with another lease (tests).
    pub async fn claim_file_for(
        &self,
        server: ServerId,
        head_hash: &str,
        path: &str,
        lease: Duration,
    ) -> Result<FileClaim, StoreError> {
        let holder = holder_name();
        let lease_secs = lease.as_secs().max(1) as i64;
        let (head, who, from) = (head_hash.to_string(), holder.clone(), path.to_string());
        let taken = self
            .write(move |w| {
                Box::pin(async move {
                    w.transaction(async |w| {
                        let t = now();
                        // An expired claim is a dead holder's: it goes.
                        query(
                            "DELETE FROM import_claim WHERE server_id = ? AND head_hash = ? AND expires < ?",
                        )
                        .bind(server)
                        .bind(&head)
                        .bind(t)
                        .execute(&mut w.conn)
                        .await?;
                        query(
                            "INSERT INTO import_claim (server_id, head_hash, holder, path, since, expires) VALUES (?, ?, ?, ?, ?, ?)",
                        )
                        .bind(server)
                        .bind(&head)
                        .bind(&who)
                        .bind(&from)
                        .bind(t)
                        .bind(t + lease_secs)
                        .execute(&mut w.conn)
                        .await
                    })
                    .await
                })
            })
            .await;
        match taken {
            Ok(_) => {}
            Err(e) if e.is_unique_violation() => {
                let held = self.claim_of(server, head_hash).await?;
                return match held {
                    // Killed on this machine, or given up here: no need to wait for its lease
                    // to run out.
                    Some(held) if abandoned(&held.holder) => {
                        self.release_claim(server, head_hash, &held.holder).await?;
                        Box::pin(self.claim_file_for(server, head_hash, path, lease)).await
                    }
                    Some(held) => Err(StoreError::FileClaimed {
                        path: path.into(),
                        held,
                    }),
                    // Released between the two statements: the caller may simply retry.
                    None => Err(e),
                };
            }
            Err(e) => return Err(e),
        }
        hold(&holder);
        let lost = Arc::new(AtomicBool::new(false));
        let renewer = tokio::spawn(renew(
            self.clone(),
            server,
            head_hash.to_string(),
            holder.clone(),
            lease,
            lost.clone(),
        ));
        Ok(FileClaim {
            store: self.clone(),
            server,
            head_hash: head_hash.into(),
            holder,
            lost,
            renewer,
        })
    }

    /// Who holds the file of `server` with head `head_hash`, if anyone (expired claims too).
    pub async fn claim_of(
        &self,
        server: ServerId,
        head_hash: &str,
    ) -> Result<Option<ClaimHolder>, StoreError> {
        let row = query(
            "SELECT holder, path, since, expires FROM import_claim WHERE server_id = ? AND head_hash = ?",
        )
        .bind(server)
        .bind(head_hash)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(ClaimHolder {
                holder: r.get(0)?,
                path: r.get(1)?,
                since: r.get(2)?,
                expires: r.get(3)?,
            })
        })
        .transpose()
    }

    /// Extends `holder`'s claim; false when it is no longer theirs (it expired and was taken).
    async fn renew_claim(
        &self,
        server: ServerId,
        head_hash: &str,
        holder: &str,
        lease: Duration,
    ) -> Result<bool, StoreError> {
        let (head, who) = (head_hash.to_string(), holder.to_string());
        let expires = now() + lease.as_secs().max(1) as i64;
        let changed = self
            .write(move |w| {
                Box::pin(async move {
                    query(
                        "UPDATE import_claim SET expires = ? WHERE server_id = ? AND head_hash = ? AND holder = ?",
                    )
                    .bind(expires)
                    .bind(server)
                    .bind(&head)
                    .bind(&who)
                    .execute(&mut w.conn)
                    .await
                })
            })
            .await?;
        Ok(changed > 0)
    }

    async fn release_claim(
        &self,
        server: ServerId,
        head_hash: &str,
        holder: &str,
    ) -> Result<(), StoreError> {
        let (head, who) = (head_hash.to_string(), holder.to_string());
        self.write(move |w| {
            Box::pin(async move {
                query(
                    "DELETE FROM import_claim WHERE server_id = ? AND head_hash = ? AND holder = ?",
                )
                .bind(server)
                .bind(&head)
                .bind(&who)
                .execute(&mut w.conn)
                .await
                .map(drop)
            })
        })
        .await
    }
}

/// Renews a claim every third of its lease until it is lost or the claim is dropped.
async fn renew(
    store: Store,
    server: ServerId,
    head_hash: String,
    holder: String,
    lease: Duration,
    lost: Arc<AtomicBool>,
) {
    loop {
        tokio::time::sleep(lease / 3).await;
        match store.renew_claim(server, &head_hash, &holder, lease).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::error!(server, path = %head_hash, "import claim lost: it expired and another process took it");
                lost.store(true, Ordering::Release);
                return;
            }
            // A database that went away: the next round tries again, within the lease.
            Err(e) => tracing::warn!("cannot renew an import claim: {e}"),
        }
    }
}

impl FileClaim {
    /// Whether the claim is still this process's: false once it expired unrenewed (the
    /// process stalled longer than the lease) and another process may have taken it. An
    /// importer checks it before each commit and stops when it is lost.
    pub fn held(&self) -> bool {
        !self.lost.load(Ordering::Acquire) && !self.renewer.is_finished()
    }

    /// The claim as an error to stop an import with, when it is lost.
    pub fn check(&self, path: &str) -> Result<(), StoreError> {
        if self.held() {
            Ok(())
        } else {
            Err(StoreError::ClaimLost { path: path.into() })
        }
    }

    /// Stops renewing without releasing, as a killed process would (crash tests): the claim
    /// stays live, so this process too waits for it to expire.
    #[cfg(feature = "testing")]
    pub fn abandon(mut self) {
        self.renewer.abort();
        self.head_hash.clear();
    }

    /// Gives the file up for the next importer.
    pub async fn release(mut self) -> Result<(), StoreError> {
        self.renewer.abort();
        forget(&self.holder);
        // Emptied, so that `drop` has nothing left to release.
        let head = std::mem::take(&mut self.head_hash);
        self.store
            .release_claim(self.server, &head, &self.holder)
            .await
    }
}

impl Drop for FileClaim {
    fn drop(&mut self) {
        self.renewer.abort();
        // Emptied by `release` and `abandon`: nothing left to give up.
        let head = std::mem::take(&mut self.head_hash);
        if head.is_empty() {
            return;
        }
        let holder = std::mem::take(&mut self.holder);
        forget(&holder);
        // Released in the background when a runtime is there; otherwise it simply expires.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let (store, server) = (self.store.clone(), self.server);
            runtime.spawn(async move {
                let _ = store.release_claim(server, &head, &holder).await;
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_gone_process_of_this_machine_or_a_claim_given_up_here_is_abandoned() {
        let host = host_name();
        let me = holder_name();
        hold(&me);
        assert!(!abandoned(&me), "a claim of this process that lives");
        forget(&me);
        assert!(abandoned(&me), "given up, though its row stayed");
        assert_eq!(
            abandoned(&format!("{host}:4000000000:0badc0de")),
            cfg!(target_os = "linux"),
            "no such pid"
        );
        assert!(!abandoned("another-host.example:4000000000:0badc0de"));
        assert!(!abandoned("garbage"));
    }
}
