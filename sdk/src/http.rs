//! HTTP for http pollers (WIT 0.2.0): ask a license manager's web interface or cloud API from
//! [`crate::Poller::poll`]. The host carries the request, only to the `host:port`s your
//! `plugin.toml` declares under `[capabilities] http` and the operator granted; plain `http://`,
//! no redirects followed, the body capped and the time bounded by the poll's deadline.
//!
//! ```ignore
//! fn poll(server: &ServerAddress, now: Timestamp) -> Result<Snapshot, PluginError> {
//!     let port = server.port.unwrap_or(5054);
//!     let answer = http::get(&format!("http://{}:{port}/status", server.host))?;
//!     Self::parse_status(&answer.ok()?.body, now)
//! }
//! ```
//!
//! Natively (tests) there is no host: every request fails with [`HttpError::Failed`]; test
//! `parse_status` on saved answers instead.

use crate::PluginError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    /// `http://host[:port]/path?query` (port 80 when absent).
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// At most this long; `None`: as long as the poll's deadline allows.
    pub timeout_ms: Option<u32>,
}

impl Request {
    pub fn get(url: &str) -> Request {
        Request {
            method: Method::Get,
            url: url.into(),
            headers: vec![],
            body: vec![],
            timeout_ms: None,
        }
    }

    pub fn post(url: &str, body: Vec<u8>) -> Request {
        Request {
            method: Method::Post,
            body,
            ..Request::get(url)
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((name.into(), value.into()));
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The response if its status is 2xx, else an error naming the status.
    pub fn ok(self) -> Result<Response, HttpError> {
        if (200..300).contains(&self.status) {
            Ok(self)
        } else {
            Err(HttpError::Failed(format!("answered HTTP {}", self.status)))
        }
    }

    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// The host:port is not declared in `plugin.toml` and granted by the operator.
    NotGranted(String),
    /// A bad URL, header or scheme.
    InvalidRequest(String),
    /// Connecting, sending or receiving failed, or the answer was not 2xx ([`Response::ok`]).
    Failed(String),
    /// No answer in time.
    Timeout,
    /// The answer's body is larger than the host accepts (the limit in bytes).
    TooLarge(u64),
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpError::NotGranted(m) | HttpError::InvalidRequest(m) | HttpError::Failed(m) => {
                f.write_str(m)
            }
            HttpError::Timeout => f.write_str("no answer in time"),
            HttpError::TooLarge(limit) => write!(f, "answer larger than {limit} bytes"),
        }
    }
}

impl std::error::Error for HttpError {}

/// A request the plugin may not make is `Unsupported`; a server that does not answer well is
/// `BadInput`, as a status output that cannot be read.
impl From<HttpError> for PluginError {
    fn from(e: HttpError) -> PluginError {
        let message = format!("http: {e}");
        match e {
            HttpError::NotGranted(_) | HttpError::InvalidRequest(_) => {
                PluginError::Unsupported(message)
            }
            _ => PluginError::BadInput(message),
        }
    }
}

/// Sends `request` through the host.
pub fn fetch(request: Request) -> Result<Response, HttpError> {
    imp::fetch(request)
}

/// `GET url`.
pub fn get(url: &str) -> Result<Response, HttpError> {
    fetch(Request::get(url))
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::*;
    use crate::__private::poller::http as w;

    pub fn fetch(r: Request) -> Result<Response, HttpError> {
        let request = w::Request {
            method: match r.method {
                Method::Get => w::Method::Get,
                Method::Post => w::Method::Post,
            },
            url: r.url,
            headers: r.headers,
            body: r.body,
            timeout_ms: r.timeout_ms,
        };
        match w::fetch(&request) {
            Ok(a) => Ok(Response {
                status: a.status,
                headers: a.headers,
                body: a.body,
            }),
            Err(w::HttpError::NotGranted(m)) => Err(HttpError::NotGranted(m)),
            Err(w::HttpError::InvalidRequest(m)) => Err(HttpError::InvalidRequest(m)),
            Err(w::HttpError::Failed(m)) => Err(HttpError::Failed(m)),
            Err(w::HttpError::Timeout) => Err(HttpError::Timeout),
            Err(w::HttpError::TooLarge(n)) => Err(HttpError::TooLarge(n)),
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use super::*;

    pub fn fetch(r: Request) -> Result<Response, HttpError> {
        Err(HttpError::Failed(format!(
            "no Tally host to carry `{}` (http works inside the host only)",
            r.url
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_become_plugin_errors_and_status_is_checked() {
        let e: PluginError = HttpError::NotGranted("http `a:1` is not granted".into()).into();
        assert_eq!(
            e,
            PluginError::Unsupported("http: http `a:1` is not granted".into())
        );
        let e: PluginError = HttpError::Timeout.into();
        assert_eq!(e, PluginError::BadInput("http: no answer in time".into()));
        let answer = |status| Response {
            status,
            headers: vec![("Content-Type".into(), "text/plain".into())],
            body: vec![],
        };
        assert!(answer(200).ok().is_ok());
        assert_eq!(
            answer(404).ok(),
            Err(HttpError::Failed("answered HTTP 404".into()))
        );
        assert_eq!(answer(200).header("content-type"), Some("text/plain"));
        assert!(get("http://a.example/").is_err());
    }
}
