//! The three backends behind one store, and the thin layer that runs the store's SQL on
//! whichever one is open.
//!
//! **Design: a [`Backend`] trait for what differs, enums for what the store holds.** Each
//! backend module (`sqlite`, `postgres`, `mysql`) implements [`Backend`] on sqlx's database type:
//! how to open and migrate it, its placeholders, its upsert clause. The store holds a [`Conn`] (the
//! writer's connection) and a [`Pool`] (reads), each an enum of the three backends (sqlx's types,
//! but rusqlite's for SQLite: see `sqlite.rs`), and builds statements as backend-neutral
//! [`Query`] values: SQL text written once with `?` placeholders and double-quoted identifiers
//! (valid on all three: MySQL connections run with `ANSI_QUOTES`), plus typed [`Param`]s. Running
//! a query matches on the enum once and hands the concrete sqlx types the same code (the
//! `on_each!` macro), so the writer, the caches, checkpoints, polls and rollups are
//! written once and contain no backend type.
//!
//! Why not a writer generic over `sqlx::Database`: every function would carry
//! `for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>` and an `Encode + Type` bound per
//! bound type (Rust does not imply such bounds from a trait), and `Store` would need a type
//! parameter or a boxed writer. Why not trait objects: sqlx's executors are generic, not object
//! safe. An enum costs one `match` per statement, keeps `Store` one concrete type, and keeps
//! each backend's quirks in its own module.
//!
//! Bulk writes ([`insert`]) are multi-row INSERTs of at most [`MAX_PARAMS`] parameters, and
//! PostgreSQL `COPY … FROM STDIN` for the tables marked [`Table::copy`] (sessions, denials).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use sqlx::mysql::{MySqlConnection, MySqlPool, MySqlRow};
use sqlx::postgres::{PgConnection, PgPool, PgRow};
use sqlx::sqlite::SqliteRow;
use sqlx::{
    Arguments, AssertSqlSafe, Database, Decode, Encode, MySql, Postgres, SqlSafeStr, SqlStr,
    Sqlite, Type,
};

use crate::StoreError;

/// Connects to a database server's database, creating the database first when it does not
/// exist yet and the account may create it: `--db postgres://…/tally` just works.
pub(crate) async fn connect_creating<DB, O>(
    url: &str,
    options: &O,
) -> Result<O::Connection, StoreError>
where
    DB: sqlx::migrate::MigrateDatabase,
    O: sqlx::ConnectOptions,
    O::Connection: Sized,
{
    match options.connect().await {
        Ok(conn) => Ok(conn),
        Err(e) => {
            if DB::database_exists(url).await.unwrap_or(true) {
                return Err(e.into());
            }
            DB::create_database(url).await?;
            Ok(options.connect().await?)
        }
    }
}

/// Which backend a connection talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Sqlite,
    Postgres,
    MySql,
}

/// What differs per backend. Implemented on sqlx's database types.
pub(crate) trait Backend: Database {
    /// PostgreSQL numbers its placeholders (`$1`); statements are written with `?` and numbered
    /// just before they run.
    const NUMBERED: bool = false;

    /// The writer's connection.
    type Writer;

    /// The pool reads run on.
    type Reads;

    /// Opens the database at `url` (creating it if the backend can), brings its schema up to
    /// date, and returns the writer's connection and a pool for reads.
    async fn open(url: &str) -> Result<(Self::Writer, Self::Reads), StoreError>;

    /// The clause making an INSERT an upsert: on a conflict on the unique `key`, the `set`
    /// columns take the new row's values.
    fn upsert(key: &str, set: &[&str]) -> String {
        let set: Vec<String> = set.iter().map(|c| format!("{c} = excluded.{c}")).collect();
        format!("ON CONFLICT ({key}) DO UPDATE SET {}", set.join(", "))
    }
}

impl Kind {
    pub(crate) fn upsert(self, key: &str, set: &[&str]) -> String {
        match self {
            Kind::Sqlite => Sqlite::upsert(key, set),
            Kind::Postgres => Postgres::upsert(key, set),
            Kind::MySql => MySql::upsert(key, set),
        }
    }

    /// The upsert clause that folds a new row of `table` (conflicting on `key`) into the stored
    /// one: the `add` columns summed, the `max` columns the larger of the two.
    pub(crate) fn upsert_folding(
        self,
        table: &str,
        key: &str,
        add: &[&str],
        max: &[&str],
    ) -> String {
        let (old, new): (fn(&str, &str) -> String, fn(&str) -> String) = match self {
            Kind::Sqlite => (|_, c| c.to_string(), |c| format!("excluded.{c}")),
            Kind::Postgres => (|t, c| format!("{t}.{c}"), |c| format!("EXCLUDED.{c}")),
            Kind::MySql => (|_, c| c.to_string(), |c| format!("VALUES({c})")),
        };
        let greatest = match self {
            Kind::Sqlite => "max",
            Kind::Postgres | Kind::MySql => "GREATEST",
        };
        let set: Vec<String> = add
            .iter()
            .map(|c| format!("{c} = {} + {}", old(table, c), new(c)))
            .chain(
                max.iter()
                    .map(|c| format!("{c} = {greatest}({}, {})", old(table, c), new(c))),
            )
            .collect();
        match self {
            Kind::MySql => format!("ON DUPLICATE KEY UPDATE {}", set.join(", ")),
            Kind::Sqlite | Kind::Postgres => {
                format!("ON CONFLICT ({key}) DO UPDATE SET {}", set.join(", "))
            }
        }
    }

    /// The sum of integer column `col` as a 64-bit integer (PostgreSQL and MariaDB widen sums
    /// of integers to decimals).
    pub(crate) fn sum(self, col: &str) -> String {
        match self {
            Kind::Sqlite => format!("sum({col})"),
            Kind::Postgres => format!("CAST(sum({col}) AS BIGINT)"),
            Kind::MySql => format!("CAST(sum({col}) AS SIGNED)"),
        }
    }

    fn numbered(self) -> bool {
        match self {
            Kind::Sqlite => Sqlite::NUMBERED,
            Kind::Postgres => Postgres::NUMBERED,
            Kind::MySql => MySql::NUMBERED,
        }
    }
}

/// The writer's connection. SQLite's is rusqlite's, used on the writer's own thread (see
/// `sqlite.rs` for why).
pub(crate) enum Conn {
    Sqlite(rusqlite::Connection),
    Postgres(PgConnection),
    MySql(MySqlConnection),
}

/// The read pool. SQLite's reads run on rusqlite connections (see `sqlite.rs` for why).
#[derive(Debug, Clone)]
pub(crate) enum Pool {
    Sqlite(Arc<crate::sqlite::Readers>),
    Postgres(PgPool),
    MySql(MySqlPool),
}

impl Conn {
    pub(crate) fn kind(&self) -> Kind {
        match self {
            Conn::Sqlite(_) => Kind::Sqlite,
            Conn::Postgres(_) => Kind::Postgres,
            Conn::MySql(_) => Kind::MySql,
        }
    }

    /// Starts a transaction; end it with [`Conn::end`]. (Plain statements rather than sqlx's
    /// `Transaction`, whose type differs per backend.)
    ///
    /// SQLite's takes the write lock at once: a deferred transaction that reads before it writes
    /// fails with "database is locked", without waiting, when another process (a second
    /// `tally import`, a CLI edit) wrote in between; an immediate one waits its busy timeout.
    pub(crate) async fn begin(&mut self) -> Result<(), StoreError> {
        self.raw(match self.kind() {
            Kind::Sqlite => "BEGIN IMMEDIATE",
            Kind::Postgres | Kind::MySql => "BEGIN",
        })
        .await
    }

    /// Commits when `result` is a success, rolls back otherwise.
    pub(crate) async fn end<T>(&mut self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        match result {
            Ok(value) => {
                self.raw("COMMIT").await?;
                Ok(value)
            }
            Err(e) => {
                // The first error is the one worth reporting.
                let _ = self.raw("ROLLBACK").await;
                Err(e)
            }
        }
    }

    pub(crate) async fn close(self) {
        // Closing tells the server goodbye; a failure here changes nothing.
        let _ = match self {
            Conn::Sqlite(c) => c.close().map_err(drop),
            Conn::Postgres(c) => sqlx::Connection::close(c).await.map_err(drop),
            Conn::MySql(c) => sqlx::Connection::close(c).await.map_err(drop),
        };
    }

    pub(crate) async fn raw(&mut self, sql: &'static str) -> Result<(), StoreError> {
        match self {
            Conn::Sqlite(c) => c.execute_batch(sql)?,
            Conn::Postgres(c) => _ = sqlx::raw_sql(sql).execute(c).await?,
            Conn::MySql(c) => _ = sqlx::raw_sql(sql).execute(c).await?,
        }
        Ok(())
    }
}

impl Pool {
    pub(crate) fn kind(&self) -> Kind {
        match self {
            Pool::Sqlite(_) => Kind::Sqlite,
            Pool::Postgres(_) => Kind::Postgres,
            Pool::MySql(_) => Kind::MySql,
        }
    }

    pub(crate) async fn close(&self) {
        match self {
            Pool::Sqlite(r) => r.close(),
            Pool::Postgres(p) => p.close().await,
            Pool::MySql(p) => p.close().await,
        }
    }
}

/// A bound value. Nulls are typed: PostgreSQL wants a type for every parameter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Param<'a> {
    Int(Option<i64>),
    Bool(bool),
    Text(Option<Cow<'a, str>>),
    Bytes(Option<Cow<'a, [u8]>>),
}

impl From<i64> for Param<'_> {
    fn from(v: i64) -> Self {
        Param::Int(Some(v))
    }
}
impl From<Option<i64>> for Param<'_> {
    fn from(v: Option<i64>) -> Self {
        Param::Int(v)
    }
}
impl From<bool> for Param<'_> {
    fn from(v: bool) -> Self {
        Param::Bool(v)
    }
}
impl<'a> From<&'a str> for Param<'a> {
    fn from(v: &'a str) -> Self {
        Param::Text(Some(Cow::Borrowed(v)))
    }
}
impl<'a> From<&'a String> for Param<'a> {
    fn from(v: &'a String) -> Self {
        Param::Text(Some(Cow::Borrowed(v)))
    }
}
impl From<String> for Param<'_> {
    fn from(v: String) -> Self {
        Param::Text(Some(Cow::Owned(v)))
    }
}
impl<'a> From<Option<&'a str>> for Param<'a> {
    fn from(v: Option<&'a str>) -> Self {
        Param::Text(v.map(Cow::Borrowed))
    }
}
impl<'a> From<&'a Option<String>> for Param<'a> {
    fn from(v: &'a Option<String>) -> Self {
        Param::Text(v.as_deref().map(Cow::Borrowed))
    }
}
impl From<Option<String>> for Param<'_> {
    fn from(v: Option<String>) -> Self {
        Param::Text(v.map(Cow::Owned))
    }
}
impl<'a> From<&'a [u8]> for Param<'a> {
    fn from(v: &'a [u8]) -> Self {
        Param::Bytes(Some(Cow::Borrowed(v)))
    }
}
impl<'a> From<&'a Vec<u8>> for Param<'a> {
    fn from(v: &'a Vec<u8>) -> Self {
        Param::Bytes(Some(Cow::Borrowed(v)))
    }
}

/// The parameters of one statement (or of one multi-row chunk).
#[derive(Debug, Default)]
pub(crate) struct Params<'a>(Vec<Param<'a>>);

impl<'a> Params<'a> {
    pub(crate) fn add(&mut self, value: impl Into<Param<'a>>) {
        self.0.push(value.into());
    }
}

/// sqlx arguments for `params` on backend `DB`.
fn arguments<DB: Database>(params: &[Param<'_>]) -> DB::Arguments
where
    Option<i64>: for<'q> Encode<'q, DB> + Type<DB>,
    bool: for<'q> Encode<'q, DB> + Type<DB>,
    for<'s> Option<&'s str>: Encode<'s, DB> + Type<DB>,
    for<'s> Option<&'s [u8]>: Encode<'s, DB> + Type<DB>,
{
    let mut args = DB::Arguments::default();
    args.reserve(params.len(), 0);
    for p in params {
        // Integers, booleans, text and bytes always encode.
        let _ = match p {
            Param::Int(v) => args.add(*v),
            Param::Bool(v) => args.add(*v),
            Param::Text(v) => args.add(v.as_deref()),
            Param::Bytes(v) => args.add(v.as_deref()),
        };
    }
    args
}

/// A statement and its parameters, for any backend.
#[derive(Debug)]
pub(crate) struct Query<'a> {
    sql: SqlStr,
    params: Params<'a>,
}

/// A statement written in the source.
pub(crate) fn query(sql: &'static str) -> Query<'static> {
    Query {
        sql: sql.into_sql_str(),
        params: Params::default(),
    }
}

/// A statement assembled at run time from the source's own pieces (table and column names,
/// dialect clauses), never from data: data is always bound.
pub(crate) fn query_built(sql: impl Into<Arc<str>>) -> Query<'static> {
    Query {
        sql: AssertSqlSafe(sql.into()).into_sql_str(),
        params: Params::default(),
    }
}

/// Where a query runs: the writer's connection or the read pool.
pub(crate) enum On<'c> {
    Conn(&'c mut Conn),
    Pool(&'c Pool),
}

impl<'c> From<&'c mut Conn> for On<'c> {
    fn from(c: &'c mut Conn) -> Self {
        On::Conn(c)
    }
}

impl<'c> From<&'c Pool> for On<'c> {
    fn from(p: &'c Pool) -> Self {
        On::Pool(p)
    }
}

impl On<'_> {
    fn kind(&self) -> Kind {
        match self {
            On::Conn(c) => c.kind(),
            On::Pool(p) => p.kind(),
        }
    }
}

/// Runs `$body` for whichever connection or pool variant of an [`On`] sqlx runs, with `$e` bound
/// to it and `$B` naming its backend: written once, compiled per backend. SQLite's writer and
/// readers (`$w`) run `$direct`.
macro_rules! on_each {
    ($on:expr, |$e:ident: $B:ident| $body:expr, |$w:ident| $direct:expr) => {
        match $on {
            On::Conn(Conn::Sqlite($w)) => $direct,
            On::Pool(Pool::Sqlite(readers)) => {
                readers
                    .run(|$w: &rusqlite::Connection| Ok::<_, StoreError>($direct))
                    .await?
            }
            On::Conn(Conn::Postgres($e)) => {
                type $B = sqlx::Postgres;
                $body
            }
            On::Pool(Pool::Postgres($e)) => {
                type $B = sqlx::Postgres;
                $body
            }
            On::Conn(Conn::MySql($e)) => {
                type $B = sqlx::MySql;
                $body
            }
            On::Pool(Pool::MySql($e)) => {
                type $B = sqlx::MySql;
                $body
            }
        }
    };
}

impl<'a> Query<'a> {
    pub(crate) fn bind(mut self, value: impl Into<Param<'a>>) -> Self {
        self.params.add(value);
        self
    }

    /// The text for `kind`: `?` numbered for PostgreSQL. Statements never hold a `?` of their own
    /// (no string literal or operator uses one).
    fn sql_for(&self, kind: Kind) -> SqlStr {
        let text = self.sql.as_str();
        if !kind.numbered() || !text.contains('?') {
            return self.sql.clone();
        }
        AssertSqlSafe(number_placeholders(text)).into_sql_str()
    }

    /// Runs the statement; returns the rows it changed.
    pub(crate) async fn execute<'c>(self, on: impl Into<On<'c>>) -> Result<u64, StoreError> {
        let on = on.into();
        let sql = self.sql_for(on.kind());
        let params = &self.params.0;
        let n = on_each!(
            on,
            |e: B| sqlx::query_with(sql, arguments::<B>(params))
                .execute(e)
                .await?
                .rows_affected(),
            |c| crate::sqlite::execute(c, sql.as_str(), params)?
        );
        Ok(n)
    }

    pub(crate) async fn fetch_all<'c>(self, on: impl Into<On<'c>>) -> Result<Vec<Row>, StoreError> {
        let on = on.into();
        let sql = self.sql_for(on.kind());
        let params = &self.params.0;
        let rows = on_each!(
            on,
            |e: B| sqlx::query_with(sql, arguments::<B>(params))
                .fetch_all(e)
                .await?
                .into_iter()
                .map(Row::from)
                .collect(),
            |c| crate::sqlite::fetch_all(c, sql.as_str(), params)?
        );
        Ok(rows)
    }

    pub(crate) async fn fetch_optional<'c>(
        self,
        on: impl Into<On<'c>>,
    ) -> Result<Option<Row>, StoreError> {
        let on = on.into();
        let sql = self.sql_for(on.kind());
        let params = &self.params.0;
        let row = on_each!(
            on,
            |e: B| sqlx::query_with(sql, arguments::<B>(params))
                .fetch_optional(e)
                .await?
                .map(Row::from),
            |c| crate::sqlite::fetch_all(c, sql.as_str(), params)?
                .into_iter()
                .next()
        );
        Ok(row)
    }

    pub(crate) async fn fetch_one<'c>(self, on: impl Into<On<'c>>) -> Result<Row, StoreError> {
        self.fetch_optional(on)
            .await?
            .ok_or(StoreError::Database(sqlx::Error::RowNotFound))
    }

    /// Runs the statement on the read pool and hands each row to `each` as it arrives, never
    /// holding them all: past `limit` rows it stops with [`StoreError::TooManyRows`] (`what`
    /// names the rows in the message).
    pub(crate) async fn fetch_each(
        self,
        pool: &Pool,
        what: &'static str,
        limit: usize,
        mut each: impl FnMut(Row) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        use futures_util::TryStreamExt;
        let sql = self.sql_for(pool.kind());
        let params = &self.params.0;
        let mut n = 0usize;
        let mut counted = |r: Row| {
            n += 1;
            if n > limit {
                return Err(StoreError::TooManyRows { what, limit });
            }
            each(r)
        };
        match pool {
            Pool::Sqlite(readers) => {
                readers
                    .run(|c| crate::sqlite::for_each(c, sql.as_str(), params, counted))
                    .await?
            }
            Pool::Postgres(p) => {
                let mut rows = sqlx::query_with(sql, arguments::<Postgres>(params)).fetch(p);
                while let Some(r) = rows.try_next().await? {
                    counted(Row::from(r))?;
                }
            }
            Pool::MySql(p) => {
                let mut rows = sqlx::query_with(sql, arguments::<MySql>(params)).fetch(p);
                while let Some(r) = rows.try_next().await? {
                    counted(Row::from(r))?;
                }
            }
        }
        Ok(())
    }

    /// The first column of the only row.
    pub(crate) async fn scalar<'c, T: FromSql>(
        self,
        on: impl Into<On<'c>>,
    ) -> Result<T, StoreError> {
        self.fetch_one(on).await?.get(0)
    }

    /// The first column of the first row, if there is one.
    pub(crate) async fn scalar_optional<'c, T: FromSql>(
        self,
        on: impl Into<On<'c>>,
    ) -> Result<Option<T>, StoreError> {
        self.fetch_optional(on).await?.map(|r| r.get(0)).transpose()
    }
}

/// `?` → `$1`, `$2`, …
fn number_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// A row read back.
pub(crate) enum Row {
    Sqlite(SqliteRow),
    Postgres(PgRow),
    MySql(MySqlRow),
    /// From SQLite's writer.
    Values(Vec<rusqlite::types::Value>),
}

impl From<SqliteRow> for Row {
    fn from(r: SqliteRow) -> Row {
        Row::Sqlite(r)
    }
}
impl From<PgRow> for Row {
    fn from(r: PgRow) -> Row {
        Row::Postgres(r)
    }
}
impl From<MySqlRow> for Row {
    fn from(r: MySqlRow) -> Row {
        Row::MySql(r)
    }
}

/// A Rust type every backend decodes.
pub(crate) trait FromSql:
    rusqlite::types::FromSql
    + for<'r> Decode<'r, Sqlite>
    + Type<Sqlite>
    + for<'r> Decode<'r, Postgres>
    + Type<Postgres>
    + for<'r> Decode<'r, MySql>
    + Type<MySql>
{
}

impl<T> FromSql for T where
    T: rusqlite::types::FromSql
        + for<'r> Decode<'r, Sqlite>
        + Type<Sqlite>
        + for<'r> Decode<'r, Postgres>
        + Type<Postgres>
        + for<'r> Decode<'r, MySql>
        + Type<MySql>
{
}

impl Row {
    /// Column `i`; a type that does not match the schema is an error, never a panic.
    pub(crate) fn get<T: FromSql>(&self, i: usize) -> Result<T, StoreError> {
        let sqlx = match self {
            Row::Values(values) => return crate::sqlite::get(values, i),
            Row::Sqlite(r) => sqlx::Row::try_get(r, i),
            Row::Postgres(r) => sqlx::Row::try_get(r, i),
            Row::MySql(r) => sqlx::Row::try_get(r, i),
        };
        Ok(sqlx?)
    }

    /// An integer column that holds a count or a size.
    pub(crate) fn get_u64(&self, i: usize) -> Result<u64, StoreError> {
        Ok(u64::try_from(self.get::<i64>(i)?).unwrap_or(0))
    }
}

/// Bound parameters per statement. Measured (benches/import.rs): 4 000 beats 1 500 and 12 000;
/// 32 000 is 40% slower than 4 000.
pub(crate) const MAX_PARAMS: usize = 4_000;

/// A table written in bulk.
#[derive(Debug)]
pub(crate) struct Table {
    pub(crate) name: &'static str,
    pub(crate) cols: &'static [&'static str],
    /// Written with `COPY … FROM STDIN` on PostgreSQL when more rows than one INSERT holds: the
    /// high-volume facts and rollups.
    pub(crate) copy: bool,
}

/// Multi-row INSERT texts by (table, columns, rows), for the writer's backend. (A table is
/// written with different column lists: imported and polled sessions.)
pub(crate) type SqlCache = HashMap<(&'static str, &'static [&'static str], usize), Arc<str>>;

/// Inserts `rows`, each turned into parameters (one per column) by `row`: multi-row statements of
/// at most [`MAX_PARAMS`] parameters, or COPY (see [`Table::copy`]).
pub(crate) async fn insert<'r, T>(
    conn: &mut Conn,
    cache: &mut SqlCache,
    table: &Table,
    rows: &'r [T],
    mut row: impl FnMut(&mut Params<'r>, &'r T),
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let per_statement = MAX_PARAMS / table.cols.len();
    // COPY takes a round trip more than one INSERT: worth it from the second statement's rows.
    if let (Conn::Postgres(c), true) = (&mut *conn, table.copy && rows.len() > per_statement) {
        return crate::postgres::copy_in(c, table, rows, row).await;
    }
    let kind = conn.kind();
    // Inside a transaction, SQLite's statements need not be atomic on their own: any error
    // rolls the whole transaction back (`Writer::transaction`). `OR FAIL` lets SQLite skip the
    // statement journal, a copy of every page a multi-row INSERT touches (6 % of an import's CPU
    // went there, spilled to a temporary file); tables with foreign keys still keep one.
    let autocommit = matches!(&*conn, Conn::Sqlite(c) if c.is_autocommit());
    let text = |n: usize| match kind {
        Kind::Sqlite => insert_sql(kind, table, n).replacen("INSERT", "INSERT OR FAIL", 1),
        _ => insert_sql(kind, table, n),
    };
    for chunk in statement_chunks(rows, per_statement) {
        let sql: Arc<str> = if autocommit {
            insert_sql(kind, table, chunk.len()).into()
        } else {
            cache
                .entry((table.name, table.cols, chunk.len()))
                .or_insert_with(|| text(chunk.len()).into())
                .clone()
        };
        let mut params = Params(Vec::with_capacity(chunk.len() * table.cols.len()));
        chunk.iter().for_each(|r| row(&mut params, r));
        Query {
            sql: AssertSqlSafe(sql).into_sql_str(),
            params,
        }
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Inserts (or upserts) `rows` with multi-row statements ending in `suffix` (an upsert clause,
/// `RETURNING …`), and returns the rows they return.
pub(crate) async fn insert_returning<'r, T>(
    conn: &mut Conn,
    table: &Table,
    rows: &'r [T],
    suffix: &str,
    mut row: impl FnMut(&mut Params<'r>, &'r T),
) -> Result<Vec<Row>, StoreError> {
    let kind = conn.kind();
    let mut out = Vec::with_capacity(rows.len());
    for chunk in statement_chunks(rows, MAX_PARAMS / table.cols.len()) {
        let sql = format!("{} {suffix}", insert_sql(kind, table, chunk.len()));
        let mut params = Params(Vec::with_capacity(chunk.len() * table.cols.len()));
        chunk.iter().for_each(|r| row(&mut params, r));
        let q = Query {
            sql: AssertSqlSafe(sql).into_sql_str(),
            params,
        };
        out.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(out)
}

/// `rows` cut into the row sets of multi-row statements: full ones of `max` rows, then the rest
/// in powers of two, largest first. A table is thus written with at most `max` plus a dozen
/// statement texts whatever its batches' sizes: every new text is compiled (a full one ~1 ms on
/// SQLite) and kept in the statement caches, and one per remainder size made an import's
/// memory grow with its length.
fn statement_chunks<T>(rows: &[T], max: usize) -> impl Iterator<Item = &[T]> {
    let max = max.max(1);
    let mut rest = rows;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let n = if rest.len() >= max {
            max
        } else {
            1 << rest.len().ilog2()
        };
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        Some(chunk)
    })
}

/// `INSERT INTO t (a, b) VALUES (?, ?), (?, ?) …` with the backend's placeholders.
fn insert_sql(kind: Kind, table: &Table, rows: usize) -> String {
    let one = format!("({})", vec!["?"; table.cols.len()].join(","));
    let sql = format!(
        "INSERT INTO {} ({}) VALUES {}",
        table.name,
        table.cols.join(","),
        vec![one.as_str(); rows].join(",")
    );
    if kind.numbered() {
        number_placeholders(&sql)
    } else {
        sql
    }
}

/// Writes one parameter in PostgreSQL's COPY text format.
pub(crate) fn copy_text(out: &mut String, p: &Param<'_>) {
    use std::fmt::Write;
    match p {
        Param::Int(Some(v)) => {
            let _ = write!(out, "{v}");
        }
        Param::Bool(b) => out.push(if *b { 't' } else { 'f' }),
        Param::Text(Some(s)) => {
            for c in s.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\t' => out.push_str("\\t"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    c => out.push(c),
                }
            }
        }
        Param::Bytes(Some(b)) => {
            // bytea hex input, its backslash escaped for COPY.
            out.push_str("\\\\x");
            for byte in b.iter() {
                let _ = write!(out, "{byte:02x}");
            }
        }
        Param::Int(None) | Param::Text(None) | Param::Bytes(None) => out.push_str("\\N"),
    }
}

impl Params<'_> {
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }

    /// Appends these parameters as COPY text rows of `cols` columns.
    pub(crate) fn copy_rows(&self, cols: usize, out: &mut String) {
        for row in self.0.chunks(cols) {
            for (i, p) in row.iter().enumerate() {
                if i > 0 {
                    out.push('\t');
                }
                copy_text(out, p);
            }
            out.push('\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_for_postgres() {
        assert_eq!(
            number_placeholders("SELECT a FROM t WHERE b = ? AND c IN (?, ?)"),
            "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)"
        );
        let table = Table {
            name: "t",
            cols: &["a", "\"end\""],
            copy: false,
        };
        assert_eq!(
            insert_sql(Kind::Postgres, &table, 2),
            "INSERT INTO t (a,\"end\") VALUES ($1,$2),($3,$4)"
        );
        assert_eq!(
            insert_sql(Kind::MySql, &table, 1),
            "INSERT INTO t (a,\"end\") VALUES (?,?)"
        );
    }

    #[test]
    fn statements_have_few_sizes_whatever_the_row_count() {
        let sizes = |n: usize| {
            let rows = vec![0u8; n];
            statement_chunks(&rows, 400)
                .map(<[u8]>::len)
                .collect::<Vec<_>>()
        };
        assert_eq!(sizes(0), Vec::<usize>::new());
        assert_eq!(sizes(1), [1]);
        assert_eq!(sizes(400), [400]);
        assert_eq!(sizes(1_213), [400, 400, 400, 8, 4, 1]);
        assert_eq!(sizes(399), [256, 128, 8, 4, 2, 1]);
        let mut seen = std::collections::BTreeSet::new();
        for n in 0..5_000 {
            let s = sizes(n);
            assert_eq!(s.iter().sum::<usize>(), n);
            seen.extend(s);
        }
        assert!(seen.len() <= 10, "{seen:?}");
    }

    #[test]
    fn copy_text_escapes_and_marks_nulls() {
        let mut params = Params::default();
        params.add(42);
        params.add("tab\there\\ and\nnewline");
        params.add(None::<&str>);
        let bytes = vec![0u8, 255];
        params.add(&bytes);
        params.add(true);
        params.add(None::<i64>);
        let mut out = String::new();
        params.copy_rows(3, &mut out);
        assert_eq!(
            out,
            "42\ttab\\there\\\\ and\\nnewline\t\\N\n\\\\x00ff\tt\t\\N\n"
        );
    }

    #[tokio::test]
    async fn a_streamed_read_stops_past_its_limit() {
        let pool = Pool::Sqlite(Arc::new(crate::sqlite::Readers::new(":memory:".into())));
        let three = || query("SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3");
        let mut seen = Vec::new();
        three()
            .fetch_each(&pool, "the numbers", 3, |r| {
                seen.push(r.get::<i64>(0)?);
                Ok(())
            })
            .await
            .expect("three rows fit");
        assert_eq!(seen, [1, 2, 3]);
        let err = three()
            .fetch_each(&pool, "the numbers", 2, |_| Ok(()))
            .await
            .expect_err("a third row is one too many");
        assert!(
            matches!(err, StoreError::TooManyRows { limit: 2, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("shorter window"), "{err}");
    }

    #[tokio::test]
    async fn a_sqlite_read_past_its_deadline_is_interrupted() {
        use std::time::{Duration, Instant};
        let pool = Pool::Sqlite(Arc::new(crate::sqlite::Readers::new(":memory:".into())));
        // Seconds of counting, unless stopped.
        let long = || {
            query(
                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000000)
                 SELECT count(*) FROM c",
            )
        };
        let started = Instant::now();
        let read =
            crate::with_read_deadline(started + Duration::from_millis(50), long().fetch_all(&pool))
                .await;
        assert!(read.is_err(), "not interrupted");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        // The connection goes back to the pool without the deadline.
        let quick = query("SELECT 1").fetch_all(&pool).await.expect("read");
        assert_eq!(quick[0].get::<i64>(0).expect("one"), 1);
    }

    #[test]
    fn upserts_per_dialect() {
        assert_eq!(
            Kind::Sqlite.upsert("name", &["name"]),
            "ON CONFLICT (name) DO UPDATE SET name = excluded.name"
        );
        assert_eq!(
            Kind::MySql.upsert("server_id, name", &["issued", "kind"]),
            "ON DUPLICATE KEY UPDATE issued = VALUES(issued), kind = VALUES(kind)"
        );
    }

    #[test]
    fn sums_are_64_bit_integers_per_dialect() {
        assert_eq!(Kind::Sqlite.sum("denials"), "sum(denials)");
        assert_eq!(
            Kind::Postgres.sum("denials"),
            "CAST(sum(denials) AS BIGINT)"
        );
        assert_eq!(Kind::MySql.sum("denials"), "CAST(sum(denials) AS SIGNED)");
    }
}
