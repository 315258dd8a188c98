//! The MySQL/MariaDB backend: `mysql://` or `mariadb://` URLs; MariaDB 10.5 or later (for
//! `INSERT … RETURNING`), tested on 10.11.
//!
//! Connections run with `ANSI_QUOTES`, so the store's double-quoted identifiers (`"end"`,
//! `"user"`) mean the same as on the other backends. Names are `VARCHAR(255)` with a binary,
//! no-pad collation: compared exactly, as on SQLite and PostgreSQL.

use std::str::FromStr;

use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlPool, MySqlPoolOptions};
use sqlx::{ConnectOptions, Executor, MySql};

use crate::StoreError;
use crate::db::Backend;

static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/mysql");

const ANSI_QUOTES: &str = "SET SESSION sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES')";

impl Backend for MySql {
    type Writer = MySqlConnection;
    type Reads = sqlx::MySqlPool;

    async fn open(url: &str) -> Result<(MySqlConnection, MySqlPool), StoreError> {
        let options = MySqlConnectOptions::from_str(url)?.disable_statement_logging();
        let mut write = crate::db::connect_creating::<MySql, _>(url, &options).await?;
        write.execute(ANSI_QUOTES).await?;
        crate::migrate::run_steps::<MySql>(&MIGRATIONS, &mut write).await?;
        let pool = MySqlPoolOptions::new()
            .max_connections(8)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute(ANSI_QUOTES).await?;
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        Ok((write, pool))
    }

    fn upsert(_key: &str, set: &[&str]) -> String {
        // MySQL has no conflict target: any unique key conflicts.
        let set: Vec<String> = set.iter().map(|c| format!("{c} = VALUES({c})")).collect();
        format!("ON DUPLICATE KEY UPDATE {}", set.join(", "))
    }
}

/// A new writer connection to a database that exists and is migrated: after the old one broke.
pub(crate) async fn connect_writer(url: &str) -> Result<MySqlConnection, StoreError> {
    let options = MySqlConnectOptions::from_str(url)?.disable_statement_logging();
    let mut write = options.connect().await?;
    write.execute(ANSI_QUOTES).await?;
    Ok(write)
}
