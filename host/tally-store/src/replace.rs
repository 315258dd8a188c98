//! Correcting an import: a file read with the wrong offset or format is read again, and the facts
//! of its earlier runs go with their rollups, in the transaction that starts the new run. Readers
//! see the old facts until then and none of them after; a replacement that fails changes nothing.

use std::collections::BTreeMap;
use std::ops::Range;

use tally_core::rollup::FeatureKey;

use crate::db::query;
use crate::rollups;
use crate::writer::Writer;
use crate::{NewImport, RunId, Store, StoreError};

/// What an import run wrote, removed before its `import_run` row.
const WRITTEN_BY_RUN: [&str; 7] = [
    "DELETE FROM session WHERE import_run_id = ?",
    "DELETE FROM long_session WHERE import_run_id = ?",
    "DELETE FROM denial WHERE import_run_id = ?",
    "DELETE FROM queued_request WHERE import_run_id = ?",
    "DELETE FROM server_event WHERE import_run_id = ?",
    "DELETE FROM capacity WHERE import_run_id = ?",
    "DELETE FROM import_diagnostic WHERE import_run_id = ?",
];

impl Store {
    /// Starts an import run that replaces the runs `replaced` (of the same server): their facts,
    /// diagnostics and rows are removed, and the hours they touched re-rolled from what remains,
    /// in the one transaction that creates the new run.
    pub async fn start_import_replacing(
        &self,
        new: NewImport,
        replaced: Vec<RunId>,
    ) -> Result<RunId, StoreError> {
        self.write(move |w| {
            Box::pin(async move {
                w.transaction(async |w| {
                    // Created first, so that its id is not one of theirs (SQLite reuses the
                    // largest id once its row is gone).
                    let id = w.start_import(&new).await?;
                    for &run in &replaced {
                        remove_run(w, new.server_id, run).await?;
                    }
                    Ok(id)
                })
                .await
            })
        })
        .await
    }
}

/// Removes run `run` of `server` and everything it wrote, re-rolling the hours of its facts.
async fn remove_run(w: &mut Writer, server: i64, run: RunId) -> Result<(), StoreError> {
    let owner: Option<i64> = query("SELECT server_id FROM import_run WHERE id = ?")
        .bind(run)
        .scalar_optional(&mut w.conn)
        .await?;
    if owner != Some(server) {
        return Err(StoreError::NoSuchRun(run));
    }
    let rows = query(
        "SELECT feature_id, min(start), max(\"end\") FROM session WHERE import_run_id = ? GROUP BY feature_id
         UNION ALL
         SELECT feature_id, min(time), max(COALESCE(until_time, time)) FROM denial WHERE import_run_id = ? GROUP BY feature_id",
    )
    .bind(run)
    .bind(run)
    .fetch_all(&mut w.conn)
    .await?;
    let mut spans: BTreeMap<FeatureKey, Range<i64>> = BTreeMap::new();
    for r in &rows {
        let key = FeatureKey {
            server,
            feature: r.get(0)?,
        };
        let (a, b): (i64, i64) = (r.get(1)?, r.get(2)?);
        let span = spans.entry(key).or_insert(a..b);
        *span = span.start.min(a)..span.end.max(b);
    }
    for statement in WRITTEN_BY_RUN {
        query(statement).bind(run).execute(&mut w.conn).await?;
    }
    query("DELETE FROM import_run WHERE id = ?")
        .bind(run)
        .execute(&mut w.conn)
        .await?;
    let Writer { conn, sql, .. } = w;
    rollups::reroll_spans(conn, sql, spans).await
}
