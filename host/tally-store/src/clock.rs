//! The clock skew measured for each license server (decided by `tally_core::clock`): one row a
//! server, replaced as its polls and followed logs narrow it down. [`crate::Server`] carries it.

use tally_core::clock::ClockSkew;

use crate::db::{Row, query_built};
use crate::{ServerId, Store, StoreError};

const COLUMNS: &str = "at_least, at_most, observations, stepped, as_of";

/// The skew in the five columns [`COLUMNS`] from `first` on; `None` when they are NULL (no row).
pub(crate) fn skew(r: &Row, first: usize) -> Result<Option<ClockSkew>, StoreError> {
    let Some(at_least) = r.get::<Option<i64>>(first)? else {
        return Ok(None);
    };
    Ok(Some(ClockSkew {
        at_least,
        at_most: r.get(first + 1)?,
        observations: r.get_u64(first + 2)?,
        stepped: r.get(first + 3)?,
        as_of: r.get(first + 4)?,
    }))
}

impl Store {
    /// The skew measured for `server`; `None` before any of its stamps was seen.
    pub async fn clock_skew(&self, server: ServerId) -> Result<Option<ClockSkew>, StoreError> {
        let row = query_built(format!(
            "SELECT {COLUMNS} FROM server_clock WHERE server_id = ?"
        ))
        .bind(server)
        .fetch_optional(self.pool())
        .await?;
        Ok(match row {
            Some(row) => skew(&row, 0)?,
            None => None,
        })
    }

    /// Replaces the skew measured for `server`.
    pub async fn set_clock_skew(
        &self,
        server: ServerId,
        skew: ClockSkew,
    ) -> Result<(), StoreError> {
        self.write(move |w| {
            Box::pin(async move {
                let upsert = w.conn.kind().upsert(
                    "server_id",
                    &["at_least", "at_most", "observations", "stepped", "as_of"],
                );
                query_built(format!(
                    "INSERT INTO server_clock (server_id, {COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) {upsert}"
                ))
                .bind(server)
                .bind(skew.at_least)
                .bind(skew.at_most)
                .bind(i64::try_from(skew.observations).unwrap_or(i64::MAX))
                .bind(skew.stepped)
                .bind(skew.as_of)
                .execute(&mut w.conn)
                .await?;
                Ok(())
            })
        })
        .await
    }
}
