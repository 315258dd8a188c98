//! Refusals by cause (tally-core `refusal`): the cause is decided when a denial is written,
//! from its server's manager, kind, code and reason (`denial.cause`), and only capacity
//! refusals roll up (denials, desired). Denials stored before causes were kept are classified
//! when the store opens, and their hours re-rolled.

use tally_core::refusal::{Refusal, RefusalCause, RefusalRecord, classify};
use tally_core::rollup::FeatureKey;
use tally_core::{Batch, DenialKind, ErrorCode};

use crate::db::{Conn, query};
use crate::{MAX_READ_ROWS, RollupFilter, ServerId, Store, StoreError};

/// Denials classified per statement when the store catches up on old ones.
const CLASSIFY_CHUNK: i64 = 5_000;

/// The cause of each of the batch's denials, in order (inside the batch's transaction).
pub(crate) async fn causes(
    conn: &mut Conn,
    server: ServerId,
    batch: &Batch,
) -> Result<Vec<RefusalCause>, StoreError> {
    if batch.denials.is_empty() {
        return Ok(Vec::new());
    }
    let manager: String = query("SELECT manager FROM license_server WHERE id = ?")
        .bind(server)
        .scalar_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NoSuchServerId(server))?;
    Ok(batch
        .denials
        .iter()
        .map(|d| {
            classify(&Refusal {
                manager: &manager,
                kind: d.kind,
                code: d.code,
                reason: d.reason.map(|r| batch.str(r)),
            })
        })
        .collect())
}

/// A stored denial's cause from its columns.
fn cause_of(manager: &str, kind: &str, code: Option<&str>, reason: Option<&str>) -> RefusalCause {
    classify(&Refusal {
        manager,
        kind: DenialKind::parse(kind).unwrap_or(DenialKind::Denied),
        code: code.and_then(ErrorCode::parse),
        reason,
    })
}

impl Store {
    /// Every denial in `filter`'s window (by its time), with its cause and reason (the code
    /// when the manager gave no text), in time order; at most [`MAX_READ_ROWS`]
    /// ([`StoreError::TooManyRows`] past them): what the denials report and the API's
    /// refusals add up with `tally_core::refusal::summarise` and `per_cause`.
    pub async fn refusals(&self, filter: &RollupFilter) -> Result<Vec<RefusalRecord>, StoreError> {
        let rows = query(
            "SELECT d.server_id, d.feature_id, d.user_id, d.host_id, d.count, d.time, d.cause,
                    d.kind, d.code, d.reason, s.manager
               FROM denial d JOIN license_server s ON s.id = d.server_id
              WHERE (? IS NULL OR d.server_id = ?) AND (? IS NULL OR d.feature_id = ?)
                AND d.time >= ? AND d.time < ?
              ORDER BY d.time, d.id",
        )
        .bind(filter.server)
        .bind(filter.server)
        .bind(filter.feature)
        .bind(filter.feature)
        .bind(filter.from.unwrap_or(i64::MIN))
        .bind(filter.to.unwrap_or(i64::MAX));
        let mut out = Vec::new();
        rows.fetch_each(self.pool(), "the refusals", MAX_READ_ROWS, |r| {
            let (stored, kind, code, reason, manager): (
                Option<String>,
                String,
                Option<String>,
                Option<String>,
                String,
            ) = (r.get(6)?, r.get(7)?, r.get(8)?, r.get(9)?, r.get(10)?);
            let cause = stored
                .as_deref()
                .and_then(RefusalCause::parse)
                .unwrap_or_else(|| cause_of(&manager, &kind, code.as_deref(), reason.as_deref()));
            out.push(RefusalRecord {
                feature: FeatureKey {
                    server: r.get(0)?,
                    feature: r.get(1)?,
                },
                user: r.get(2)?,
                host: r.get(3)?,
                count: u32::try_from(r.get::<i64>(4)?).unwrap_or(0),
                time: r.get(5)?,
                cause,
                reason: reason.or(code),
            });
            Ok(())
        })
        .await?;
        Ok(out)
    }

    /// Classifies the denials stored before causes were kept, if a migration asked, and
    /// rebuilds the rollups when any was not a capacity refusal (they no longer count there).
    pub(crate) async fn classify_refusals_if_asked(&self) -> Result<(), StoreError> {
        if !self.asked("refusals", "classify").await? {
            return Ok(());
        }
        tracing::info!("classifying the stored denials by cause");
        let reroll = self
            .write(|w| {
                Box::pin(async move {
                    let mut not_capacity = false;
                    loop {
                        let rows = query(
                            "SELECT d.id, s.manager, d.kind, d.code, d.reason
                               FROM denial d JOIN license_server s ON s.id = d.server_id
                              WHERE d.cause IS NULL ORDER BY d.id LIMIT ?",
                        )
                        .bind(CLASSIFY_CHUNK)
                        .fetch_all(&mut w.conn)
                        .await?;
                        if rows.is_empty() {
                            break;
                        }
                        w.transaction(async |w| {
                            for r in &rows {
                                let (id, manager, kind, code, reason): (
                                    i64,
                                    String,
                                    String,
                                    Option<String>,
                                    Option<String>,
                                ) = (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
                                let cause =
                                    cause_of(&manager, &kind, code.as_deref(), reason.as_deref());
                                not_capacity |= cause != RefusalCause::Capacity;
                                query("UPDATE denial SET cause = ? WHERE id = ?")
                                    .bind(cause.as_str())
                                    .bind(id)
                                    .execute(&mut w.conn)
                                    .await?;
                            }
                            Ok(())
                        })
                        .await?;
                    }
                    query("UPDATE store_state SET value = 'done' WHERE name = 'refusals'")
                        .execute(&mut w.conn)
                        .await?;
                    if not_capacity {
                        query("UPDATE store_state SET value = 'rebuild' WHERE name = 'rollups'")
                            .execute(&mut w.conn)
                            .await?;
                    }
                    Ok(not_capacity)
                })
            })
            .await?;
        if reroll {
            tracing::info!("denials other than capacity refusals no longer count in rollups");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use tally_core::{Batch, Denial, DenialKind, ErrorCode};

    use crate::db::query;
    use crate::{Checkpoint, FileIdentity, NewImport, RollupFilter, Store};

    /// A history written before causes were kept: its denials are classified when the store
    /// opens, and the rollups rebuilt without the configuration refusal.
    #[tokio::test]
    async fn denials_stored_before_causes_are_classified_at_open() {
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}/t.db", dir.path().display());
        let store = Store::open(&url).await.expect("open");
        let server = store.ensure_server("nx", "flexlm").await.expect("server");
        let run = store
            .start_import(NewImport {
                server_id: server,
                format: "flexlm-debuglog".into(),
                plugin: "flexlm-log".into(),
                plugin_version: "0.1.0".into(),
                path: "nx.log".into(),
                identity: FileIdentity {
                    head_len: 1,
                    head_hash: "x".into(),
                },
            })
            .await
            .expect("run");
        let denial = |time, major, minor| Denial {
            vendor: 0,
            feature: 1,
            user: 2,
            host: 3,
            count: 1,
            time,
            kind: DenialKind::Denied,
            code: Some(ErrorCode {
                major,
                minor: Some(minor),
                errno: None,
            }),
            reason: None,
            requested_version: None,
            until: None,
        };
        let batch = Batch {
            strings: ["demo", "solver", "ann", "ws1"].map(String::from).to_vec(),
            denials: vec![denial(1_000, -4, 342), denial(1_100, -25, 334)],
            lines: 2,
            ..Batch::default()
        };
        store
            .commit_batch(run, server, batch, Checkpoint::default())
            .await
            .expect("queued")
            .await
            .expect("writer")
            .expect("commit");
        // As a store before migration 0015 left it: no causes, and the rollups counting both.
        store
            .write(|w| {
                Box::pin(async move {
                    query("UPDATE denial SET cause = NULL")
                        .execute(&mut w.conn)
                        .await?;
                    query("UPDATE store_state SET value = 'classify' WHERE name = 'refusals'")
                        .execute(&mut w.conn)
                        .await?;
                    Ok(())
                })
            })
            .await
            .expect("unclassified");
        store.rebuild_rollups().await.expect("rebuilt");
        let filter = RollupFilter::default();
        let denials = |store: Store| async move {
            let hours = store.hour_rollups(&filter).await.expect("hours");
            hours.iter().map(|h| h.load.denials).sum::<u64>()
        };
        assert_eq!(denials(store.clone()).await, 2);
        store.close().await;

        let store = Store::open(&url).await.expect("reopen");
        assert_eq!(denials(store.clone()).await, 1);
        let causes: Vec<_> = store
            .refusals(&filter)
            .await
            .expect("refusals")
            .iter()
            .map(|r| r.cause)
            .collect();
        use tally_core::refusal::RefusalCause::*;
        assert_eq!(causes, [Capacity, Configuration]);
        store.close().await;
    }
}
