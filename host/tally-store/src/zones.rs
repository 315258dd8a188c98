//! A license server's time zone (`license_server.time_zone`): an IANA name or a fixed offset,
//! used to read its logs and show its reports (tally-core `zone`).

use tally_core::zone::Zone;

use crate::db::query;
use crate::{ServerId, Store, StoreError};

impl Store {
    /// Sets (or with `None` clears) the time zone of the server called `name`.
    pub async fn set_time_zone(&self, name: &str, zone: Option<Zone>) -> Result<(), StoreError> {
        let name = name.to_string();
        let zone = zone.map(|z| z.name());
        self.write(move |w| {
            Box::pin(async move {
                w.transaction(async |w| {
                    let n = query("UPDATE license_server SET time_zone = ? WHERE name = ?")
                        .bind(zone.as_deref())
                        .bind(&name)
                        .execute(&mut w.conn)
                        .await?;
                    if n == 0 {
                        return Err(StoreError::NoSuchServer(name.clone()));
                    }
                    // The scheduler re-reads a changed configuration.
                    query("UPDATE config_version SET version = version + 1")
                        .execute(&mut w.conn)
                        .await?;
                    Ok(())
                })
                .await
            })
        })
        .await
    }

    /// The time zone of `server`, if one was set.
    pub async fn time_zone(&self, server: ServerId) -> Result<Option<Zone>, StoreError> {
        let row = query("SELECT time_zone FROM license_server WHERE id = ?")
            .bind(server)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NoSuchServerId(server))?;
        let text: Option<String> = row.get(0)?;
        text.map(|t| {
            Zone::parse(&t).map_err(|e| {
                StoreError::Inconsistent(format!("time zone of license server {server}: {e}"))
            })
        })
        .transpose()
    }
}
