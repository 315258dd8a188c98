//! Capacity the operator enters: `issued` licences of a server's feature over a validity range
//! (contracts change). The least trusted source: the server's own records and license files
//! override it where they say anything (`tally_core::capacity::in_force`).

use serde::Deserialize;
use tally_store::{CapacityRow, OperatorCapacity, StoreError};

use crate::App;
use crate::access::Actor;
use crate::reports::parse_time;
use crate::servers::ServerError;

/// An entry as the CLI and the API take it: names and dates as text.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapacityEntry {
    pub feature: String,
    /// Needed only when the server has no feature of that name yet, or several vendors have one.
    pub vendor: Option<String>,
    /// `None`: uncounted.
    pub issued: Option<u32>,
    /// A date (`2025-01-01`, from its start) or an RFC 3339 time; none: since ever.
    pub from: Option<String>,
    /// A date (to its end, included) or an RFC 3339 time (excluded); none: open-ended.
    pub until: Option<String>,
}

/// Every capacity statement of the server called `server`: entered, logged, from license files.
pub async fn list(app: &App, server: &str) -> Result<Vec<CapacityRow>, ServerError> {
    let id = server_id(app, server).await?;
    Ok(app.store.capacity_rows(id).await?)
}

/// Enters `entry` for the server called `server`; returns the statement as stored.
pub async fn enter(
    app: &App,
    by: &Actor,
    server: &str,
    entry: CapacityEntry,
) -> Result<CapacityRow, ServerError> {
    app.may_write(by, "entering capacity")?;
    let id = server_id(app, server).await?;
    let time = |text: &Option<String>, to_end: bool| {
        text.as_deref()
            .map(|t| parse_time(t, to_end).map_err(|e| ServerError::Invalid(e.to_string())))
            .transpose()
    };
    let vendor = match entry.vendor {
        Some(vendor) => vendor,
        None => vendor_of(app, id, &entry.feature).await?,
    };
    let statement = app
        .store
        .enter_capacity(
            id,
            OperatorCapacity {
                vendor,
                feature: entry.feature,
                issued: entry.issued,
                from: time(&entry.from, false)?,
                until: time(&entry.until, true)?,
            },
        )
        .await
        .map_err(invalid)?;
    app.store
        .capacity_rows(id)
        .await?
        .into_iter()
        .find(|r| r.id == statement)
        .ok_or_else(|| ServerError::Store(StoreError::Inconsistent("capacity just entered".into())))
}

/// Removes capacity statement `statement` of the server called `server`, if the operator
/// entered it (imported ones go with their import).
pub async fn remove(
    app: &App,
    by: &Actor,
    server: &str,
    statement: i64,
) -> Result<(), ServerError> {
    app.may_write(by, "removing capacity")?;
    let id = server_id(app, server).await?;
    let ours = app
        .store
        .capacity_rows(id)
        .await?
        .iter()
        .any(|r| r.id == statement);
    if !ours {
        return Err(ServerError::Invalid(format!(
            "license server `{server}` has no capacity statement {statement}"
        )));
    }
    app.store.remove_capacity(statement).await.map_err(invalid)
}

async fn server_id(app: &App, name: &str) -> Result<i64, ServerError> {
    match app.store.server(name).await? {
        Some(s) => Ok(s.id),
        None => Err(ServerError::NotFound(name.to_string())),
    }
}

/// The vendor of the server's feature called `feature`, when exactly one vendor has one.
async fn vendor_of(app: &App, server: i64, feature: &str) -> Result<String, ServerError> {
    let mut vendors: Vec<String> = app
        .store
        .features(Some(server))
        .await?
        .into_iter()
        .filter(|f| f.name == feature)
        .map(|f| f.vendor)
        .collect();
    vendors.sort();
    vendors.dedup();
    match vendors.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(ServerError::Invalid(format!(
            "the server has no feature `{feature}` yet: name its vendor"
        ))),
        many => Err(ServerError::Invalid(format!(
            "several vendors have a feature `{feature}` ({}): name the vendor",
            many.join(", ")
        ))),
    }
}

/// The store's refusals of an entry are the entry's fault.
fn invalid(e: StoreError) -> ServerError {
    match e {
        StoreError::Invalid(message) => ServerError::Invalid(message),
        other => other.into(),
    }
}
