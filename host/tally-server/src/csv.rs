//! CSV for every list and report: one writer for every route. A `GET` asked with `?format=csv`
//! or `Accept: text/csv` runs as usual; its JSON answer (2xx only: errors stay JSON) becomes
//! CSV with a header row:
//!
//! - a report (`{"columns": [{"name"}], "rows": [[…]]}`): its columns and rows;
//! - a list (`[…]`), or a page (`{"items": […], "next"}`, the cursor in the `X-Next` header);
//! - any other object: the first of its fields that is a list of objects (`features` of the
//!   current usage, `series` of a history).
//!
//! A row's nested objects become dotted columns (`status.remote.state`); its first list of
//! objects gives a row per element (a history's `points.t`, `points.peak`, …); other lists are
//! JSON text. Fields are written by [`tally_core::csv`] (formula-safe).

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::ApiError;

/// The largest JSON answer turned into CSV (pages and reports are far smaller).
const MAX_BODY: usize = 64 << 20;

/// A JSON value that keeps its objects' key order (the columns' order).
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    Text(String),
    List(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Json, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Json;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_unit<E>(self) -> Result<Json, E> {
                Ok(Json::Null)
            }
            fn visit_none<E>(self) -> Result<Json, E> {
                Ok(Json::Null)
            }
            fn visit_bool<E>(self, b: bool) -> Result<Json, E> {
                Ok(Json::Bool(b))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Json, E> {
                Ok(Json::Number(n.into()))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Json, E> {
                Ok(Json::Number(n.into()))
            }
            fn visit_f64<E>(self, x: f64) -> Result<Json, E> {
                Ok(serde_json::Number::from_f64(x).map_or(Json::Null, Json::Number))
            }
            fn visit_str<E>(self, s: &str) -> Result<Json, E> {
                Ok(Json::Text(s.to_string()))
            }
            fn visit_string<E>(self, s: String) -> Result<Json, E> {
                Ok(Json::Text(s))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Json::List(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
                let mut fields = Vec::new();
                while let Some((key, value)) = map.next_entry()? {
                    fields.push((key, value));
                }
                Ok(Json::Object(fields))
            }
        }
        d.deserialize_any(V)
    }
}

impl Json {
    fn field(&self, name: &str) -> Option<&Json> {
        match self {
            Json::Object(fields) => fields.iter().find(|(k, _)| k == name).map(|(_, v)| v),
            _ => None,
        }
    }

    fn is_list_of_objects(&self) -> bool {
        matches!(self, Json::List(items) if items.iter().all(|i| matches!(i, Json::Object(_))))
    }

    /// Compact JSON text of the value.
    fn text(&self) -> String {
        match self {
            Json::Null => "null".into(),
            Json::Bool(b) => b.to_string(),
            Json::Number(n) => n.to_string(),
            Json::Text(s) => serde_json::Value::String(s.clone()).to_string(),
            Json::List(items) => {
                let inner: Vec<String> = items.iter().map(Json::text).collect();
                format!("[{}]", inner.join(","))
            }
            Json::Object(fields) => {
                let inner: Vec<String> = fields
                    .iter()
                    .map(|(k, v)| format!("{}:{}", Json::Text(k.clone()).text(), v.text()))
                    .collect();
                format!("{{{}}}", inner.join(","))
            }
        }
    }
}

/// A table: a header and rows of cells.
#[derive(Debug, Default, PartialEq)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// A cell's text: scalars as they are, `null` empty, lists as JSON.
fn cell(value: &Json) -> String {
    match value {
        Json::Null => String::new(),
        Json::Text(s) => s.clone(),
        other => other.text(),
    }
}

/// Adds the cells of object `row` (flattened under `prefix`) to `cells`; returns the first list
/// of objects found, with its column prefix, to give a row per element.
fn flatten<'j>(
    row: &'j Json,
    prefix: &str,
    cells: &mut Vec<(String, String)>,
    mut explode: Option<(String, &'j [Json])>,
) -> Option<(String, &'j [Json])> {
    let Json::Object(fields) = row else {
        cells.push((prefix.to_string(), cell(row)));
        return explode;
    };
    for (key, value) in fields {
        let name = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            Json::Object(_) => explode = flatten(value, &name, cells, explode),
            Json::List(items)
                if explode.is_none() && value.is_list_of_objects() && !items.is_empty() =>
            {
                explode = Some((name, items));
            }
            _ => cells.push((name, cell(value))),
        }
    }
    explode
}

/// The rows `items` give, each object flattened and its first list of objects exploded.
fn rows_of(items: &[Json]) -> Vec<Vec<(String, String)>> {
    let mut out = Vec::new();
    for item in items {
        let mut cells = Vec::new();
        match flatten(item, "", &mut cells, None) {
            None => out.push(cells),
            Some((name, inner)) => {
                for element in inner {
                    let mut more = cells.clone();
                    flatten(element, &name, &mut more, None);
                    out.push(more);
                }
            }
        }
    }
    out
}

/// The table an answer holds (see the module's rules); `None` when it holds none.
pub fn table(answer: &Json) -> Option<Table> {
    if let (Some(Json::List(columns)), Some(Json::List(rows))) =
        (answer.field("columns"), answer.field("rows"))
    {
        let header = columns
            .iter()
            .map(|c| c.field("name").map_or_else(|| cell(c), cell))
            .collect();
        let rows = rows
            .iter()
            .map(|r| match r {
                Json::List(cells) => cells.iter().map(cell).collect(),
                other => vec![cell(other)],
            })
            .collect();
        return Some(Table { header, rows });
    }
    let items: &[Json] = match answer {
        Json::List(items) => items,
        Json::Object(fields) => match answer.field("items") {
            Some(Json::List(items)) => items,
            _ => fields
                .iter()
                .find(|(_, v)| v.is_list_of_objects())
                .and_then(|(_, v)| match v {
                    Json::List(items) => Some(items.as_slice()),
                    _ => None,
                })?,
        },
        _ => return None,
    };
    let rows = rows_of(items);
    let mut header: Vec<String> = Vec::new();
    for row in &rows {
        for (name, _) in row {
            if !header.contains(name) {
                header.push(name.clone());
            }
        }
    }
    let rows = rows
        .into_iter()
        .map(|row| {
            header
                .iter()
                .map(|h| {
                    row.iter()
                        .find(|(n, _)| n == h)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default()
                })
                .collect()
        })
        .collect();
    Some(Table { header, rows })
}

/// The table as CSV, header first, CRLF line ends.
pub fn write(table: &Table) -> String {
    let mut out = String::new();
    for line in std::iter::once(&table.header).chain(&table.rows) {
        out.push_str(&tally_core::csv::record(line));
        out.push_str("\r\n");
    }
    out
}

/// Whether a request asks for CSV: `?format=csv` (`json` is the default; anything else is
/// refused), or `Accept: text/csv`.
fn wants_csv(request: &Request) -> Result<bool, ApiError> {
    let format = request.uri().query().and_then(|q| {
        q.split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| *k == "format")
            .map(|(_, v)| v.to_string())
    });
    match format.as_deref() {
        Some("csv") => return Ok(true),
        Some("json") => return Ok(false),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "format `{other}`: use json or csv"
            )));
        }
        None => {}
    }
    Ok(request
        .headers()
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.trim().starts_with("text/csv")))
}

/// The middleware: a `GET` that asks for CSV gets its JSON answer as CSV.
pub async fn negotiate(request: Request, next: Next) -> Response {
    if request.method() != Method::GET {
        return next.run(request).await;
    }
    match wants_csv(&request) {
        Err(e) => e.into_response(),
        Ok(false) => next.run(request).await,
        Ok(true) => {
            let documented = documented_columns(request.uri().path());
            let response = next.run(request).await;
            if !response.status().is_success() {
                return response;
            }
            to_csv(response, documented).await
        }
    }
}

/// The columns the route serving `path` documents for its rows: an empty list's header.
fn documented_columns(path: &str) -> &'static [&'static str] {
    static ROUTES: std::sync::OnceLock<Vec<crate::openapi::Operation>> = std::sync::OnceLock::new();
    let operations = ROUTES.get_or_init(crate::routes::operations);
    operations
        .iter()
        .filter(|op| op.method == Method::GET && crate::openapi::matches(op.path, path))
        .min_by_key(|op| op.path.matches('{').count())
        .map_or(&[], |op| match op.doc.shape {
            crate::openapi::Shape::List(keys) | crate::openapi::Shape::Page(keys) => keys,
            _ => &[],
        })
}

async fn to_csv(response: Response, documented: &'static [&'static str]) -> Response {
    let bytes = match to_bytes(response.into_body(), MAX_BODY).await {
        Ok(bytes) => bytes,
        Err(e) => {
            return ApiError::internal(format!("reading an answer for CSV: {e}")).into_response();
        }
    };
    let answer: Json = match serde_json::from_slice(&bytes) {
        Ok(answer) => answer,
        Err(_) => {
            return ApiError::new(StatusCode::NOT_ACCEPTABLE, "this answer has no CSV form")
                .into_response();
        }
    };
    let Some(mut table) = table(&answer) else {
        return ApiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "this answer is not a list: it has no CSV form",
        )
        .into_response();
    };
    if table.header.is_empty() {
        table.header = documented.iter().map(|c| c.to_string()).collect();
    }
    let mut response = Response::new(Body::from(write(&table)));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Some(Json::Text(next)) = answer.field("next")
        && let Ok(value) = HeaderValue::from_str(next)
    {
        headers.insert("x-next", value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(json: &str) -> String {
        let answer: Json = serde_json::from_str(json).expect("json");
        write(&table(&answer).expect("table"))
    }

    #[test]
    fn reports_keep_their_columns() {
        let report = r#"{"report":"users","columns":[{"name":"user"},{"name":"hours"}],"rows":[["a, b",1.5],["=cmd",null]]}"#;
        assert_eq!(csv(report), "user,hours\r\n\"a, b\",1.5\r\n'=cmd,\r\n");
    }

    #[test]
    fn lists_and_pages_keep_their_fields_order() {
        let list =
            r#"[{"z":1,"a":{"b":"x","c":null},"tags":["p","q"]},{"z":2,"a":{"b":"y\"","c":3}}]"#;
        assert_eq!(
            csv(list),
            "z,a.b,a.c,tags\r\n1,x,,\"[\"\"p\"\",\"\"q\"\"]\"\r\n2,\"y\"\"\",3,\r\n"
        );
        let page = r#"{"items":[{"id":1}],"next":"1"}"#;
        assert_eq!(csv(page), "id\r\n1\r\n");
        let empty = r#"{"items":[],"next":null}"#;
        assert_eq!(csv(empty), "\r\n");
    }

    #[test]
    fn nested_lists_give_a_row_each() {
        let history = r#"{"resolution":"day","series":[{"feature":"A","points":[{"t":"d1","peak":2},{"t":"d2","peak":3}]}]}"#;
        assert_eq!(
            csv(history),
            "feature,points.t,points.peak\r\nA,d1,2\r\nA,d2,3\r\n"
        );
    }
}
