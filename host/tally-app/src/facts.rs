//! The recorded facts a page at a time: sessions, denials and usage samples after a cursor, users
//! and hosts after a name. Filters come by name (server, feature, user, host) and window; a page
//! holds at most [`MAX_PAGE`] rows, and its `next` cursor says where the following one starts.

use serde::{Deserialize, Serialize};
use tally_store::{
    DenialEntry, FactFilter, MAX_PAGE, Party, PartyEntry, SampleEntry, SessionEntry, StoreError,
};

use crate::App;
use crate::reports::parse_time;

/// Rows a page holds when the caller does not say.
pub const DEFAULT_PAGE: u32 = 100;

/// A page request as text: the API's query string.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct FactQuery {
    pub server: Option<String>,
    pub feature: Option<String>,
    pub user: Option<String>,
    pub host: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// Rows on the page, 1 to [`MAX_PAGE`].
    pub limit: Option<u32>,
    /// The `next` cursor of the page before.
    pub after: Option<String>,
}

/// Some rows and where the next page starts (`None`: this was the last).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// Why a page could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FactError {
    /// The request is wrong (the text says how).
    #[error("{0}")]
    Invalid(String),
    #[error("no license server is called `{0}`")]
    UnknownServer(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl FactQuery {
    fn limit(&self) -> Result<u32, FactError> {
        match self.limit {
            None => Ok(DEFAULT_PAGE),
            Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
            Some(n) => Err(FactError::Invalid(format!(
                "limit {n}: a page holds 1 to {MAX_PAGE} rows"
            ))),
        }
    }

    fn window(&self) -> Result<(Option<i64>, Option<i64>), FactError> {
        let time = |text: &Option<String>, to_end| {
            text.as_deref()
                .filter(|t| !t.is_empty())
                .map(|t| parse_time(t, to_end))
                .transpose()
                .map_err(|e| FactError::Invalid(e.to_string()))
        };
        Ok((time(&self.from, false)?, time(&self.to, true)?))
    }

    fn named(text: &Option<String>) -> Option<&str> {
        text.as_deref().filter(|t| !t.is_empty())
    }
}

/// The ids `query` names; `None` when a name matches nothing (the page is empty).
async fn filter(app: &App, query: &FactQuery) -> Result<Option<FactFilter>, FactError> {
    let (from, to) = query.window()?;
    let mut filter = FactFilter {
        from,
        to,
        ..FactFilter::default()
    };
    if let Some(name) = FactQuery::named(&query.server) {
        let server = app
            .store
            .server(name)
            .await?
            .ok_or_else(|| FactError::UnknownServer(name.to_string()))?;
        filter.server = Some(server.id);
    }
    if let Some(name) = FactQuery::named(&query.feature) {
        let ids: Vec<i64> = app
            .store
            .features(filter.server)
            .await?
            .into_iter()
            .filter(|f| f.name == name)
            .map(|f| f.id)
            .collect();
        if ids.is_empty() {
            return Ok(None);
        }
        filter.features = Some(ids);
    }
    for (party, name) in [(Party::User, &query.user), (Party::Host, &query.host)] {
        if let Some(name) = FactQuery::named(name) {
            let Some(id) = app.store.party_id(party, name).await? else {
                return Ok(None);
            };
            match party {
                Party::User => filter.user = Some(id),
                Party::Host => filter.host = Some(id),
            }
        }
    }
    Ok(Some(filter))
}

/// A numeric cursor: the last id of the page before.
fn id_cursor(after: &Option<String>) -> Result<i64, FactError> {
    match after.as_deref().filter(|a| !a.is_empty()) {
        None => Ok(0),
        Some(text) => text.parse().map_err(|_| {
            FactError::Invalid(format!(
                "after `{text}` is not a cursor this list gave (its `next`)"
            ))
        }),
    }
}

/// The page of `rows` read with one more than `limit`: that one only tells a next page exists.
fn page<T>(mut rows: Vec<T>, limit: u32, cursor: impl Fn(&T) -> String) -> Page<T> {
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next = if more { rows.last().map(cursor) } else { None };
    Page { items: rows, next }
}

/// Sessions matching `query`, by id.
pub async fn sessions(app: &App, query: &FactQuery) -> Result<Page<SessionEntry>, FactError> {
    let (limit, after) = (query.limit()?, id_cursor(&query.after)?);
    let rows = match filter(app, query).await? {
        Some(filter) => app.store.session_page(&filter, after, limit + 1).await?,
        None => Vec::new(),
    };
    Ok(page(rows, limit, |s| s.id.to_string()))
}

/// Denials matching `query`, by id.
pub async fn denials(app: &App, query: &FactQuery) -> Result<Page<DenialEntry>, FactError> {
    let (limit, after) = (query.limit()?, id_cursor(&query.after)?);
    let rows = match filter(app, query).await? {
        Some(filter) => app.store.denial_page(&filter, after, limit + 1).await?,
        None => Vec::new(),
    };
    Ok(page(rows, limit, |d| d.id.to_string()))
}

/// Users or hosts (of `query.server` when given), by name.
pub async fn parties(
    app: &App,
    party: Party,
    query: &FactQuery,
) -> Result<Page<PartyEntry>, FactError> {
    let limit = query.limit()?;
    let server = match FactQuery::named(&query.server) {
        Some(name) => Some(
            app.store
                .server(name)
                .await?
                .ok_or_else(|| FactError::UnknownServer(name.to_string()))?
                .id,
        ),
        None => None,
    };
    let after = query.after.as_deref().unwrap_or("");
    let rows = app
        .store
        .party_page(party, server, after, limit + 1)
        .await?;
    Ok(page(rows, limit, |p| p.name.clone()))
}

/// Usage samples of one feature of `server` (by name; every vendor's feature of that name),
/// by time. The cursor is `TIME-FEATUREID` of the last sample.
pub async fn samples(
    app: &App,
    server: &str,
    query: &FactQuery,
) -> Result<Page<SampleEntry>, FactError> {
    let limit = query.limit()?;
    let window = query.window()?;
    let Some(feature) = FactQuery::named(&query.feature) else {
        return Err(FactError::Invalid(
            "samples are read per feature: say which with `feature`".into(),
        ));
    };
    let server = app
        .store
        .server(server)
        .await?
        .ok_or_else(|| FactError::UnknownServer(server.to_string()))?;
    let ids: Vec<i64> = app
        .store
        .features(Some(server.id))
        .await?
        .into_iter()
        .filter(|f| f.name == feature)
        .map(|f| f.id)
        .collect();
    let after = match query.after.as_deref().filter(|a| !a.is_empty()) {
        None => None,
        Some(text) => Some(
            text.rsplit_once('-')
                .and_then(|(t, f)| Some((t.parse().ok()?, f.parse().ok()?)))
                .ok_or_else(|| {
                    FactError::Invalid(format!(
                        "after `{text}` is not a cursor this list gave (its `next`)"
                    ))
                })?,
        ),
    };
    let rows = app
        .store
        .sample_page(&ids, window, after, limit + 1)
        .await?;
    Ok(page(rows, limit, |s| {
        format!("{}-{}", s.time, s.feature_id)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_knows_whether_another_follows() {
        let full = page(vec![1, 2, 3], 2, |n| n.to_string());
        assert_eq!(full.items, [1, 2]);
        assert_eq!(full.next.as_deref(), Some("2"));
        let last = page(vec![1, 2], 2, |n| n.to_string());
        assert_eq!(last.next, None);
    }

    #[test]
    fn limits_are_bounded() {
        let q = |limit| FactQuery {
            limit,
            ..FactQuery::default()
        };
        assert_eq!(q(None).limit().ok(), Some(DEFAULT_PAGE));
        assert_eq!(q(Some(MAX_PAGE)).limit().ok(), Some(MAX_PAGE));
        assert!(q(Some(0)).limit().is_err());
        let err = q(Some(MAX_PAGE + 1)).limit().err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("1000")));
        assert!(id_cursor(&Some("x".into())).is_err());
    }
}
