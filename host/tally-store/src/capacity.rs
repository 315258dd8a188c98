//! Capacity (licences issued) per server and feature over ranges of time: from the server's own
//! records and license files, which importers state in their batches, and from the operator,
//! who enters a count with a validity range (contracts change). Which statement is in force
//! is decided by `tally_core::capacity::in_force`, most trusted source first; a feature no
//! statement covers has unknown capacity, never zero.
//!
//! A server's log restates its capacity at every start and reread (RLM `PRODUCT` lines): each
//! restatement is a row (a few per feature and restart), and the latest one up to an instant
//! decides. The same statement imported twice is kept once.

use std::collections::BTreeMap;

use tally_core::capacity::{CapacityRange, CapacitySource, Issued, in_force};
use tally_core::rollup::FeatureKey;
use tally_core::{Batch, Timestamp};

use crate::db::{Conn, query};
use crate::writer::now;
use crate::{RunId, ServerId, Store, StoreError};

/// The most licences one statement may count: a larger number is a typo or a broken parser.
pub const MAX_ISSUED: u32 = 10_000_000;

/// A capacity statement as stored, with its id (operators remove theirs by id).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CapacityRow {
    pub id: i64,
    pub feature: FeatureKey,
    pub vendor: String,
    pub name: String,
    #[serde(flatten)]
    pub range: CapacityRange,
}

/// What an operator enters: `issued` licences (`None`: uncounted) of a server's feature from
/// `from` to before `until` (either open).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorCapacity {
    pub vendor: String,
    pub feature: String,
    pub issued: Option<u32>,
    pub from: Option<Timestamp>,
    pub until: Option<Timestamp>,
}

/// Writes a batch's capacity statements (inside the batch's transaction); `feature_id` maps a
/// statement's vendor and feature to the feature's id, resolved with the batch's other names.
pub(crate) async fn write_imported(
    conn: &mut Conn,
    server: ServerId,
    run: RunId,
    batch: &Batch,
    feature_id: impl Fn(u32, u32) -> i64,
) -> Result<(), StoreError> {
    if batch.capacities.is_empty() {
        return Ok(());
    }
    // A license file imported again (renewed, corrected) replaces what it said before; its
    // pools are named by the file, so two files' lines never merge.
    let mut file: Option<String> = None;
    if batch
        .capacities
        .iter()
        .any(|c| c.source == CapacitySource::LicenseFile)
    {
        let path: String = query("SELECT path FROM import_run WHERE id = ?")
            .bind(run)
            .scalar(&mut *conn)
            .await?;
        query(
            "DELETE FROM capacity WHERE server_id = ? AND source = ? AND import_run_id IN
                (SELECT id FROM import_run WHERE server_id = ? AND path = ? AND id <> ?)",
        )
        .bind(server)
        .bind(CapacitySource::LicenseFile.as_str())
        .bind(server)
        .bind(path.as_str())
        .bind(run)
        .execute(&mut *conn)
        .await?;
        file = Some(path);
    }
    for c in &batch.capacities {
        let feature = feature_id(c.vendor, c.feature);
        let pool = c.pool.map_or("", |p| batch.str(p));
        let named;
        let pool = match (&file, c.source) {
            (Some(path), CapacitySource::LicenseFile) => {
                named = format!("{path}: {pool}");
                named.as_str()
            }
            _ => pool,
        };
        let version = c.version.map(|v| batch.str(v));
        let issued = c.issued.map(|n| i64::from(n.min(MAX_ISSUED)));
        // The same statement again (the same file imported twice): nothing to add.
        let same: Option<i64> = query(
            "SELECT id FROM capacity
                WHERE feature_id = ? AND source = ? AND pool = ? AND COALESCE(version, '') = ?
                  AND COALESCE(issued, -1) = ? AND COALESCE(valid_from, -1) = ? AND COALESCE(valid_to, -1) = ?",
        )
        .bind(feature)
        .bind(c.source.as_str())
        .bind(pool)
        .bind(version.unwrap_or(""))
        .bind(issued.unwrap_or(-1))
        .bind(c.from.unwrap_or(-1))
        .bind(c.expiry.unwrap_or(-1))
        .scalar_optional(&mut *conn)
        .await?;
        if same.is_some() {
            continue;
        }
        query(
            "INSERT INTO capacity (server_id, feature_id, source, pool, version, issued, valid_from, valid_to, import_run_id, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(server)
        .bind(feature)
        .bind(c.source.as_str())
        .bind(pool)
        .bind(version)
        .bind(issued)
        .bind(c.from)
        .bind(c.expiry)
        .bind(run)
        .bind(now())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

impl Store {
    /// Enters capacity by hand: `c.issued` licences of `server`'s feature over `c.from` to
    /// before `c.until`. The least trusted source: the server's records and license files
    /// override it where they say anything. Returns the statement's id.
    pub async fn enter_capacity(
        &self,
        server: ServerId,
        c: OperatorCapacity,
    ) -> Result<i64, StoreError> {
        let invalid = |message: String| StoreError::Invalid(message);
        if c.vendor.trim().is_empty() || c.feature.trim().is_empty() {
            return Err(invalid("capacity needs a vendor and a feature name".into()));
        }
        if let (Some(a), Some(b)) = (c.from, c.until)
            && a >= b
        {
            return Err(invalid(format!(
                "capacity of `{}`: the range ends ({b}) before it starts ({a})",
                c.feature
            )));
        }
        if let Some(n) = c.issued
            && n > MAX_ISSUED
        {
            return Err(invalid(format!(
                "capacity of `{}`: {n} licences is more than {MAX_ISSUED}",
                c.feature
            )));
        }
        self.write(move |w| {
            Box::pin(async move {
                w.transaction(async |w| {
                    let exists: Option<i64> =
                        query("SELECT id FROM license_server WHERE id = ?")
                            .bind(server)
                            .scalar_optional(&mut w.conn)
                            .await?;
                    if exists.is_none() {
                        return Err(StoreError::NoSuchServerId(server));
                    }
                    let feature = w.feature_id(server, &c.vendor, &c.feature).await?;
                    let id: i64 = query(
                        "INSERT INTO capacity (server_id, feature_id, source, pool, version, issued, valid_from, valid_to, import_run_id, created_at)
                         VALUES (?, ?, ?, '', NULL, ?, ?, ?, NULL, ?) RETURNING id",
                    )
                    .bind(server)
                    .bind(feature)
                    .bind(CapacitySource::Operator.as_str())
                    .bind(c.issued.map(i64::from))
                    .bind(c.from)
                    .bind(c.until)
                    .bind(now())
                    .scalar(&mut w.conn)
                    .await?;
                    Ok(id)
                })
                .await
            })
        })
        .await
    }

    /// Removes a capacity statement the operator entered (imported ones go with their import).
    pub async fn remove_capacity(&self, id: i64) -> Result<(), StoreError> {
        self.write(move |w| {
            Box::pin(async move {
                let n = query("DELETE FROM capacity WHERE id = ? AND source = ?")
                    .bind(id)
                    .bind(CapacitySource::Operator.as_str())
                    .execute(&mut w.conn)
                    .await?;
                match n {
                    0 => Err(StoreError::Invalid(format!(
                        "no capacity entered by hand has id {id}"
                    ))),
                    _ => Ok(()),
                }
            })
        })
        .await
    }

    /// Every capacity statement of `server`, by feature, vendor, name and start.
    pub async fn capacity_rows(&self, server: ServerId) -> Result<Vec<CapacityRow>, StoreError> {
        let rows = query(
            "SELECT c.id, c.feature_id, f.vendor, f.name, c.source, c.pool, c.version, c.issued, c.valid_from, c.valid_to
               FROM capacity c JOIN feature f ON f.id = c.feature_id
              WHERE c.server_id = ?
              ORDER BY f.vendor, f.name, c.valid_from, c.id",
        )
        .bind(server)
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let source: String = r.get(4)?;
            let source = CapacitySource::parse(&source)
                .ok_or_else(|| StoreError::Inconsistent(format!("capacity source `{source}`")))?;
            out.push(CapacityRow {
                id: r.get(0)?,
                feature: FeatureKey {
                    server,
                    feature: r.get(1)?,
                },
                vendor: r.get(2)?,
                name: r.get(3)?,
                range: CapacityRange {
                    source,
                    pool: r.get(5)?,
                    version: r.get(6)?,
                    issued: r
                        .get::<Option<i64>>(7)?
                        .map(|n| u32::try_from(n).unwrap_or(MAX_ISSUED)),
                    from: r.get(8)?,
                    until: r.get(9)?,
                },
            });
        }
        Ok(out)
    }

    /// The capacity of each of `server`'s features in force at `at`: from the stored
    /// statements, most trusted first, else what the latest poll said (the server's own
    /// record, for a polled server). Features nothing covers are [`Issued::Unknown`].
    pub async fn capacity_at(
        &self,
        server: ServerId,
        at: Timestamp,
    ) -> Result<BTreeMap<FeatureKey, Issued>, StoreError> {
        let sources = self.capacity_sources(server).await?;
        Ok(sources
            .iter()
            .map(|(key, (ranges, polled))| (*key, issued_at(ranges, *polled, at)))
            .collect())
    }

    /// [`Store::capacity_at`] at each of `times` (in order), per feature as the changes only:
    /// the capacity at the first time, then each time it differs from the one before. One read
    /// of the statements for a chart's thousands of periods.
    pub async fn capacity_changes(
        &self,
        server: ServerId,
        times: &[Timestamp],
    ) -> Result<BTreeMap<FeatureKey, Vec<(Timestamp, Issued)>>, StoreError> {
        let sources = self.capacity_sources(server).await?;
        Ok(sources
            .iter()
            .map(|(key, (ranges, polled))| {
                let mut changes: Vec<(Timestamp, Issued)> = Vec::new();
                for &t in times {
                    let issued = issued_at(ranges, *polled, t);
                    if changes.last().is_none_or(|&(_, last)| last != issued) {
                        changes.push((t, issued));
                    }
                }
                (*key, changes)
            })
            .collect())
    }

    /// Per feature of `server`, its stored statements and what the latest poll said of it.
    async fn capacity_sources(
        &self,
        server: ServerId,
    ) -> Result<BTreeMap<FeatureKey, (Vec<CapacityRange>, Issued)>, StoreError> {
        let mut ranges: BTreeMap<FeatureKey, Vec<CapacityRange>> = BTreeMap::new();
        for row in self.capacity_rows(server).await? {
            ranges.entry(row.feature).or_default().push(row.range);
        }
        let polled = query("SELECT id, issued, kind FROM feature WHERE server_id = ?")
            .bind(server)
            .fetch_all(self.pool())
            .await?;
        let mut out = BTreeMap::new();
        for r in &polled {
            let key = FeatureKey {
                server,
                feature: r.get(0)?,
            };
            let (count, kind): (Option<i64>, Option<String>) = (r.get(1)?, r.get(2)?);
            let polled = match (count, kind.as_deref()) {
                (Some(n), _) => Issued::Count(u32::try_from(n).unwrap_or(MAX_ISSUED)),
                (None, Some("uncounted")) => Issued::Uncounted,
                _ => Issued::Unknown,
            };
            out.insert(key, (ranges.remove(&key).unwrap_or_default(), polled));
        }
        Ok(out)
    }

    /// The counted capacity in force at `at` of every feature of `servers`, in the shape
    /// `tally_core::report::feature_stats` takes (`issued`): uncounted and unknown features
    /// are left out, so they show no percentage rather than a false one.
    pub async fn issued_at(
        &self,
        servers: &[ServerId],
        at: Timestamp,
    ) -> Result<BTreeMap<FeatureKey, u32>, StoreError> {
        let mut out = BTreeMap::new();
        for &s in servers {
            for (key, issued) in self.capacity_at(s, at).await? {
                if let Some(n) = issued.count() {
                    out.insert(key, n);
                }
            }
        }
        Ok(out)
    }
}

/// The capacity in force at `at` from a feature's statements, else what the latest poll said.
fn issued_at(ranges: &[CapacityRange], polled: Issued, at: Timestamp) -> Issued {
    match in_force(ranges, at) {
        Issued::Unknown => polled,
        known => known,
    }
}
