//! Poll leases: which node polls a license server. A node claims a server's poll until a time
//! and renews the claim at each poll; another node may claim it only once that time has
//! passed. On one database several `tally serve` processes thus never poll one server in the
//! same interval, and one takes over when another dies.

use crate::db::query;
use crate::{ServerId, Store, StoreError};

impl Store {
    /// Claims the next poll of `server` for `holder` until `expires`: true when it is ours (it
    /// was free, expired, or ours already), false when another holder's claim still runs.
    pub async fn claim_poll(
        &self,
        server: ServerId,
        holder: &str,
        now: i64,
        expires: i64,
    ) -> Result<bool, StoreError> {
        let holder = holder.to_string();
        self.write(move |w| {
            Box::pin(async move {
                let renewed = query(
                    "UPDATE poll_lease SET holder = ?, expires = ? WHERE server_id = ? AND (holder = ? OR expires <= ?)",
                )
                .bind(&holder)
                .bind(expires)
                .bind(server)
                .bind(&holder)
                .bind(now)
                .execute(&mut w.conn)
                .await?;
                if renewed > 0 {
                    return Ok(true);
                }
                let inserted = query(
                    "INSERT INTO poll_lease (server_id, holder, expires) VALUES (?, ?, ?)",
                )
                .bind(server)
                .bind(&holder)
                .bind(expires)
                .execute(&mut w.conn)
                .await;
                match inserted {
                    Ok(_) => Ok(true),
                    // Another holder's row: its claim has not expired.
                    Err(e) if e.is_unique_violation() => Ok(false),
                    Err(e) => Err(e),
                }
            })
        })
        .await
    }

    /// Gives up `holder`'s claims (a node stopping), so others take over at once.
    pub async fn release_polls(&self, holder: &str) -> Result<(), StoreError> {
        let holder = holder.to_string();
        self.write(move |w| {
            Box::pin(async move {
                query("DELETE FROM poll_lease WHERE holder = ?")
                    .bind(&holder)
                    .execute(&mut w.conn)
                    .await?;
                Ok(())
            })
        })
        .await
    }
}
