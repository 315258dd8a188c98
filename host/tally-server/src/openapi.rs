//! The one route table: every route of the API is added through [`Routes`], with its [`Doc`],
//! so the router and `/api/v1/openapi.json` (OpenAPI 3.1, [`document`]) come from the same
//! calls and a route cannot be served undocumented. [`check`] validates an answer against the
//! documented status codes and top-level shape (the route tests run it on every answer).

use std::sync::Arc;

use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use serde_json::{Map, Value, json};

use crate::Api;

/// The top-level shape of a successful answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// An object with these keys.
    Object(&'static [&'static str]),
    /// An object with these keys holding a table: it has a CSV form.
    Table(&'static [&'static str]),
    /// A list of objects with these keys; it has a CSV form.
    List(&'static [&'static str]),
    /// A page `{"items": [objects with these keys], "next": cursor | null}`; it has a CSV form.
    Page(&'static [&'static str]),
    /// No body (204).
    Empty,
    /// Text of this media type.
    Text(&'static str),
}

/// What a route does and answers.
#[derive(Debug, Clone, Copy)]
pub struct Doc {
    pub summary: &'static str,
    /// The status of success.
    pub status: u16,
    pub shape: Shape,
}

/// Shorthand for a [`Doc`].
pub const fn doc(summary: &'static str, status: u16, shape: Shape) -> Doc {
    Doc {
        summary,
        status,
        shape,
    }
}

/// A served route.
#[derive(Debug, Clone)]
pub struct Operation {
    pub method: Method,
    pub path: &'static str,
    /// Served without a login.
    pub public: bool,
    pub doc: Doc,
}

/// Routes and their documentation, built together.
pub struct Routes {
    pub router: Router<Arc<Api>>,
    pub operations: Vec<Operation>,
    public: bool,
}

impl Routes {
    /// Routes behind the login.
    pub fn new() -> Routes {
        Routes {
            router: Router::new(),
            operations: Vec::new(),
            public: false,
        }
    }

    /// Routes served without a login.
    pub fn public() -> Routes {
        Routes {
            public: true,
            ..Routes::new()
        }
    }

    fn add(
        mut self,
        method: Method,
        path: &'static str,
        route: axum::routing::MethodRouter<Arc<Api>>,
        doc: Doc,
    ) -> Routes {
        self.router = self.router.route(path, route);
        self.operations.push(Operation {
            method,
            path,
            public: self.public,
            doc,
        });
        self
    }

    pub fn get<H: Handler<T, Arc<Api>>, T: 'static>(
        self,
        path: &'static str,
        handler: H,
        doc: Doc,
    ) -> Routes {
        self.add(Method::GET, path, axum::routing::get(handler), doc)
    }

    pub fn post<H: Handler<T, Arc<Api>>, T: 'static>(
        self,
        path: &'static str,
        handler: H,
        doc: Doc,
    ) -> Routes {
        self.add(Method::POST, path, axum::routing::post(handler), doc)
    }

    pub fn patch<H: Handler<T, Arc<Api>>, T: 'static>(
        self,
        path: &'static str,
        handler: H,
        doc: Doc,
    ) -> Routes {
        self.add(Method::PATCH, path, axum::routing::patch(handler), doc)
    }

    pub fn put<H: Handler<T, Arc<Api>>, T: 'static>(
        self,
        path: &'static str,
        handler: H,
        doc: Doc,
    ) -> Routes {
        self.add(Method::PUT, path, axum::routing::put(handler), doc)
    }

    pub fn delete<H: Handler<T, Arc<Api>>, T: 'static>(
        self,
        path: &'static str,
        handler: H,
        doc: Doc,
    ) -> Routes {
        self.add(Method::DELETE, path, axum::routing::delete(handler), doc)
    }

    /// Both sets of routes (of the same access).
    pub fn merge(mut self, other: Routes) -> Routes {
        self.router = self.router.merge(other.router);
        self.operations.extend(other.operations);
        self
    }

    /// The router with `f` applied (a layer for these routes only).
    pub fn map(mut self, f: impl FnOnce(Router<Arc<Api>>) -> Router<Arc<Api>>) -> Routes {
        self.router = f(self.router);
        self
    }
}

impl Default for Routes {
    fn default() -> Routes {
        Routes::new()
    }
}

const ERROR: &str = "#/components/schemas/Error";

fn object_schema(keys: &[&str]) -> Value {
    let properties: Map<String, Value> = keys.iter().map(|k| (k.to_string(), json!({}))).collect();
    json!({"type": "object", "required": keys, "properties": properties})
}

fn shape_schema(shape: Shape) -> Option<(&'static str, Value)> {
    let json_type = "application/json";
    Some(match shape {
        Shape::Object(keys) | Shape::Table(keys) => (json_type, object_schema(keys)),
        Shape::List(keys) => (
            json_type,
            json!({"type": "array", "items": object_schema(keys)}),
        ),
        Shape::Page(keys) => (
            json_type,
            json!({
                "type": "object",
                "required": ["items", "next"],
                "properties": {
                    "items": {"type": "array", "items": object_schema(keys)},
                    "next": {"type": ["string", "null"], "description": "`after` of the next page; null on the last"},
                },
            }),
        ),
        Shape::Empty => return None,
        Shape::Text(media) => (media, json!({"type": "string"})),
    })
}

fn has_csv(shape: Shape) -> bool {
    matches!(shape, Shape::Table(_) | Shape::List(_) | Shape::Page(_))
}

/// The OpenAPI 3.1 document of `operations`.
pub fn document(operations: &[Operation]) -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for op in operations {
        let mut content = Map::new();
        if let Some((media, schema)) = shape_schema(op.doc.shape) {
            content.insert(media.to_string(), json!({"schema": schema}));
            if has_csv(op.doc.shape) {
                content.insert(
                    "text/csv".into(),
                    json!({"schema": {"type": "string", "description": "the same rows, header row first (`?format=csv` or `Accept: text/csv`)"}}),
                );
            }
        }
        let mut ok = json!({"description": op.doc.summary});
        if !content.is_empty() {
            ok["content"] = Value::Object(content);
        }
        let error = json!({"description": "the reason in the API's words", "content": {"application/json": {"schema": {"$ref": ERROR}}}});
        let mut responses = Map::new();
        responses.insert(op.doc.status.to_string(), ok);
        responses.insert("4XX".into(), error.clone());
        responses.insert(
            "5XX".into(),
            json!({"description": "our failure; the log has it under the request id", "content": {"application/json": {"schema": {"$ref": ERROR}}}}),
        );
        let parameters: Vec<Value> = op
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut operation = json!({
            "summary": op.doc.summary,
            "operationId": operation_id(op),
            "responses": responses,
        });
        if !parameters.is_empty() {
            operation["parameters"] = Value::Array(parameters);
        }
        if op.public {
            operation["security"] = json!([]);
        }
        let item = paths
            .entry(op.path.to_string())
            .or_insert_with(|| json!({}));
        item[op.method.as_str().to_ascii_lowercase()] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Tally REST API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "License-usage statistics. JSON by default; every list and report also as CSV. Reads need a login unless anonymous reading is on; writes need the administrator role.",
        },
        "paths": paths,
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {"type": "string"}, "request_id": {"type": "string"}},
                },
            },
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "an API token (`tally token create`)"},
                "session": {"type": "apiKey", "in": "cookie", "name": crate::auth::SESSION_COOKIE, "description": "a browser session (`POST /api/v1/session`); writes repeat its CSRF token in X-CSRF-Token"},
            },
        },
        "security": [{"bearer": []}, {"session": []}],
    })
}

/// `getLicenseServersNameSessions`-like ids, unique per method and path.
fn operation_id(op: &Operation) -> String {
    let mut id = op.method.as_str().to_ascii_lowercase();
    for word in op
        .path
        .trim_start_matches("/api/v1")
        .split(['/', '-', '{', '}'])
        .filter(|w| !w.is_empty())
    {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            id.push(first.to_ascii_uppercase());
            id.extend(chars);
        }
    }
    id
}

/// Whether `path` (as requested, without the query) is served by the route `template`.
pub fn matches(template: &str, path: &str) -> bool {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| t == p || (t.starts_with('{') && t.ends_with('}') && !p.is_empty()))
}

fn check_keys(value: &Value, keys: &[&str], what: &str) -> Result<(), String> {
    let object = value
        .as_object()
        .ok_or_else(|| format!("{what} is not an object: {value}"))?;
    match keys.iter().find(|k| !object.contains_key(**k)) {
        Some(missing) => Err(format!("{what} lacks `{missing}`: {value}")),
        None => Ok(()),
    }
}

/// Checks an answer of `method path` against the documented operation: its status is the
/// documented success or an error with the error body; a JSON success has the documented
/// top-level shape.
pub fn check(
    operations: &[Operation],
    method: &Method,
    path: &str,
    status: u16,
    content_type: Option<&str>,
    body: &str,
) -> Result<(), String> {
    let path = path.split('?').next().unwrap_or(path);
    let op = operations
        .iter()
        .filter(|op| op.method == method && matches(op.path, path))
        // A fixed segment wins over a parameter (`/imports/{id}` and a literal path).
        .min_by_key(|op| op.path.matches('{').count())
        .ok_or_else(|| format!("{method} {path} is not documented"))?;
    if status >= 400 {
        let error: Value = serde_json::from_str(body)
            .map_err(|e| format!("{method} {path} {status}: not JSON ({e}): {body}"))?;
        return check_keys(&error, &["error"], "an error");
    }
    if status != op.doc.status {
        return Err(format!(
            "{method} {path} answered {status}; documented: {}",
            op.doc.status
        ));
    }
    if content_type.is_some_and(|c| c.starts_with("text/csv")) {
        return if has_csv(op.doc.shape) {
            Ok(())
        } else {
            Err(format!("{method} {path} answered CSV, documented without"))
        };
    }
    let json = || {
        serde_json::from_str::<Value>(body).map_err(|e| format!("{method} {path}: not JSON ({e})"))
    };
    match op.doc.shape {
        Shape::Empty => Ok(()),
        Shape::Text(media) => match content_type {
            Some(c) if c.starts_with(media) => Ok(()),
            other => Err(format!("{method} {path}: {other:?}, documented {media}")),
        },
        Shape::Object(keys) | Shape::Table(keys) => check_keys(&json()?, keys, "the answer"),
        Shape::List(keys) => {
            let value = json()?;
            let items = value
                .as_array()
                .ok_or_else(|| format!("{method} {path}: not a list: {value}"))?;
            items
                .iter()
                .try_for_each(|i| check_keys(i, keys, "an item"))
        }
        Shape::Page(keys) => {
            let value = json()?;
            check_keys(&value, &["items", "next"], "a page")?;
            let items = value["items"]
                .as_array()
                .ok_or_else(|| format!("{method} {path}: items is not a list"))?;
            if !(value["next"].is_null() || value["next"].is_string()) {
                return Err(format!("{method} {path}: next is {}", value["next"]));
            }
            items
                .iter()
                .try_for_each(|i| check_keys(i, keys, "an item"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_their_templates() {
        assert!(matches(
            "/api/v1/license-servers/{name}",
            "/api/v1/license-servers/bar1"
        ));
        assert!(!matches(
            "/api/v1/license-servers/{name}",
            "/api/v1/license-servers/"
        ));
        assert!(!matches(
            "/api/v1/license-servers/{name}",
            "/api/v1/license-servers/a/b"
        ));
    }

    #[test]
    fn answers_are_checked_against_their_shape() {
        let ops = [Operation {
            method: Method::GET,
            path: "/api/v1/sessions",
            public: false,
            doc: doc("sessions", 200, Shape::Page(&["id", "user"])),
        }];
        let get = |status, body| {
            check(
                &ops,
                &Method::GET,
                "/api/v1/sessions?limit=1",
                status,
                None,
                body,
            )
        };
        assert!(get(200, r#"{"items":[{"id":1,"user":"a"}],"next":null}"#).is_ok());
        assert!(get(200, r#"{"items":[{"id":1}],"next":null}"#).is_err());
        assert!(get(200, r#"{"items":[]}"#).is_err());
        assert!(get(201, r#"{"items":[],"next":null}"#).is_err());
        assert!(get(404, r#"{"error":"no"}"#).is_ok());
        assert!(get(404, r#"{"oops":1}"#).is_err());
        assert!(check(&ops, &Method::POST, "/api/v1/sessions", 200, None, "").is_err());
        let doc = document(&ops);
        assert_eq!(
            doc["paths"]["/api/v1/sessions"]["get"]["operationId"],
            "getSessions"
        );
    }
}
