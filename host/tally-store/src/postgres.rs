//! The PostgreSQL backend: `postgres://` or `postgresql://` URLs. Sessions and denials are
//! written with `COPY … FROM STDIN`.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Postgres};

use crate::StoreError;
use crate::db::{Backend, Params, Table};

static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// COPY data is sent in pieces of about this many bytes.
const COPY_CHUNK: usize = 1 << 20;

impl Backend for Postgres {
    const NUMBERED: bool = true;
    type Writer = PgConnection;
    type Reads = sqlx::PgPool;

    async fn open(url: &str) -> Result<(PgConnection, PgPool), StoreError> {
        let options = PgConnectOptions::from_str(url)?.disable_statement_logging();
        let mut write = crate::db::connect_creating::<Postgres, _>(url, &options).await?;
        crate::migrate::run_atomic::<Postgres>(&MIGRATIONS, &mut write).await?;
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        Ok((write, pool))
    }
}

/// A new writer connection to a database that exists and is migrated: after the old one broke.
pub(crate) async fn connect_writer(url: &str) -> Result<PgConnection, StoreError> {
    let options = PgConnectOptions::from_str(url)?.disable_statement_logging();
    Ok(options.connect().await?)
}

/// Writes `rows` into `table` through `COPY … FROM STDIN` (text format).
pub(crate) async fn copy_in<'r, T>(
    conn: &mut PgConnection,
    table: &Table,
    rows: &'r [T],
    mut row: impl FnMut(&mut Params<'r>, &'r T),
) -> Result<(), StoreError> {
    let statement = format!("COPY {} ({}) FROM STDIN", table.name, table.cols.join(", "));
    let mut copy = conn.copy_in_raw(&statement).await?;
    let mut params = Params::default();
    let mut data = String::with_capacity(COPY_CHUNK + 4096);
    for r in rows {
        row(&mut params, r);
        if params.len() >= 256 * table.cols.len() {
            params.copy_rows(table.cols.len(), &mut data);
            params.clear();
        }
        if data.len() >= COPY_CHUNK {
            copy.send(std::mem::take(&mut data).into_bytes()).await?;
            data.reserve(COPY_CHUNK + 4096);
        }
    }
    params.copy_rows(table.cols.len(), &mut data);
    if !data.is_empty() {
        copy.send(data.into_bytes()).await?;
    }
    copy.finish().await?;
    Ok(())
}
