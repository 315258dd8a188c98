//! The `http` import of 0.2.0 pollers: plain HTTP/1.1 to the `host:port`s a plugin declared and
//! was granted, nothing else. One request per call of `fetch`, no redirects followed (one could
//! leave the granted hosts), no cookies, no proxy. The request ends at its own timeout or the
//! guest call's deadline, whichever comes first; the answer's body is capped.
//!
//! Guest calls are synchronous (a blocking thread), so `fetch` hands the exchange to a small
//! runtime of its own and waits for it: callable from any thread, inside tokio or not, and a
//! request past its time is dropped (its connection closed), never left running.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{CONTENT_LENGTH, HOST, HeaderName, HeaderValue};

use crate::engine::HostState;
use crate::since_v0_2_0::http::{Host, HttpError, Method, Request, Response};

/// Largest answer body a plugin receives (a big site's status page is a few MB).
pub const MAX_RESPONSE_BODY: usize = 16 << 20;
/// Largest request body a plugin may send.
pub const MAX_REQUEST_BODY: usize = 1 << 20;
/// Most bytes all requests of one guest call may bring in.
pub const MAX_CALL_BYTES: u64 = 64 << 20;

/// What `http` brought in during one guest call: a snapshot is bounded by it as a command
/// poller's is by its output.
#[derive(Debug, Clone, Copy, Default)]
pub struct Fetched {
    pub bytes: u64,
    pub lines: u64,
}

impl Host for HostState {
    fn fetch(&mut self, request: Request) -> Result<Response, HttpError> {
        let target = Target::parse(&request.url)?;
        if !self
            .http
            .iter()
            .any(|granted| granted.eq_ignore_ascii_case(&target.address))
        {
            return Err(HttpError::NotGranted(format!(
                "http `{}` is not granted to plugin `{}`: declare it under [capabilities] http in plugin.toml and have the operator grant it under [{}] in grants.toml",
                target.address, self.plugin, self.plugin
            )));
        }
        if self.fetched.bytes >= MAX_CALL_BYTES {
            return Err(HttpError::TooLarge(MAX_CALL_BYTES));
        }
        let now = Instant::now();
        let left = self.deadline.saturating_duration_since(now);
        let timeout = match request.timeout_ms {
            Some(ms) => left.min(Duration::from_millis(u64::from(ms))),
            None => left,
        };
        if timeout.is_zero() {
            return Err(HttpError::Timeout);
        }
        let prepared = prepare(&target, request)?;
        let response = run(target, prepared, timeout)?;
        self.fetched.bytes += response.body.len() as u64;
        self.fetched.lines += response.body.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
        Ok(response)
    }
}

/// Where a request goes: `address` is `host:port` as grants name it.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    host: String,
    port: u16,
    address: String,
    path: String,
}

impl Target {
    fn parse(url: &str) -> Result<Target, HttpError> {
        let invalid = |why: &str| HttpError::InvalidRequest(format!("url `{url}`: {why}"));
        let scheme_end = url
            .find("://")
            .ok_or_else(|| invalid("not an http:// URL"))?;
        match url[..scheme_end].to_ascii_lowercase().as_str() {
            "http" => {}
            "https" => return Err(invalid("https is not supported yet; only plain http://")),
            _ => return Err(invalid("not an http:// URL")),
        }
        let rest = &url[scheme_end + 3..];
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(end);
        let path = path.split('#').next().unwrap_or_default();
        let path = if path.is_empty() || path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_string()
        };
        if authority.contains('@') {
            return Err(invalid("credentials in the URL are not allowed"));
        }
        let (host, port) = match authority.strip_prefix('[') {
            Some(v6) => {
                let (inside, after) = v6.split_once(']').ok_or_else(|| invalid("unclosed `[`"))?;
                let ok = !inside.is_empty()
                    && inside
                        .bytes()
                        .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
                if !ok {
                    return Err(invalid("bad IPv6 address"));
                }
                (format!("[{inside}]"), after.strip_prefix(':'))
            }
            None => match authority.rsplit_once(':') {
                Some((host, port)) => (host.to_string(), Some(port)),
                None => (authority.to_string(), None),
            },
        };
        let host_ok = !host.is_empty()
            && (host.starts_with('[')
                || host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'));
        if !host_ok {
            return Err(invalid("bad host name"));
        }
        let port = match port {
            None => 80,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|&p| p > 0)
                .ok_or_else(|| invalid("bad port"))?,
        };
        if path.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(invalid("spaces or control characters in the path"));
        }
        Ok(Target {
            address: format!("{host}:{port}"),
            host,
            port,
            path,
        })
    }
}

/// The request as hyper sends it; malformed parts are the guest's error, not a trap.
fn prepare(target: &Target, request: Request) -> Result<hyper::Request<Full<Bytes>>, HttpError> {
    let invalid = HttpError::InvalidRequest;
    if request.body.len() > MAX_REQUEST_BODY {
        return Err(invalid(format!(
            "request body of {} bytes (at most {MAX_REQUEST_BODY})",
            request.body.len()
        )));
    }
    let method = match request.method {
        Method::Get => hyper::Method::GET,
        Method::Post => hyper::Method::POST,
    };
    let mut builder = hyper::Request::builder()
        .method(method)
        .uri(target.path.as_str())
        .header(HOST, target.address.as_str());
    for (name, value) in request.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| invalid(format!("header name `{name}`")))?;
        if name == HOST || name == CONTENT_LENGTH {
            return Err(invalid(format!("header `{name}` is set by the host")));
        }
        let value = HeaderValue::from_str(&value)
            .map_err(|_| invalid(format!("value of header `{name}`")))?;
        builder = builder.header(name, value);
    }
    builder
        .body(Full::new(Bytes::from(request.body)))
        .map_err(|e| invalid(e.to_string()))
}

/// Runs the exchange on the http runtime and waits at most `timeout` for it.
fn run(
    target: Target,
    request: hyper::Request<Full<Bytes>>,
    timeout: Duration,
) -> Result<Response, HttpError> {
    static RUNTIME: OnceLock<Option<tokio::runtime::Runtime>> = OnceLock::new();
    let runtime = RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("tally-plugin-http")
                .enable_all()
                .build()
                .ok()
        })
        .as_ref()
        .ok_or_else(|| HttpError::Failed("the host's http runtime could not start".into()))?;
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let task = runtime.spawn(async move {
        // The receiver may have given up already; nothing to tell then.
        let _ = tx.send(exchange(target, request).await);
    });
    match rx.recv_timeout(timeout) {
        Ok(result) => result,
        Err(_) => {
            task.abort();
            Err(HttpError::Timeout)
        }
    }
}

async fn exchange(
    target: Target,
    request: hyper::Request<Full<Bytes>>,
) -> Result<Response, HttpError> {
    let failed = |what: &str, e: &dyn std::fmt::Display| {
        HttpError::Failed(format!("{what} {}: {e}", target.address))
    };
    let host = target.host.trim_start_matches('[').trim_end_matches(']');
    let stream = tokio::net::TcpStream::connect((host, target.port))
        .await
        .map_err(|e| failed("cannot connect to", &e))?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| failed("no HTTP from", &e))?;
    // The connection task ends with the exchange (or when this task is aborted).
    let connection = tokio::spawn(connection);
    let answer = sender
        .send_request(request)
        .await
        .map_err(|e| failed("no answer from", &e))?;
    let (parts, body) = answer.into_parts();
    let announced = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > MAX_RESPONSE_BODY as u64) {
        connection.abort();
        return Err(HttpError::TooLarge(MAX_RESPONSE_BODY as u64));
    }
    let body = Limited::new(body, MAX_RESPONSE_BODY)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                HttpError::TooLarge(MAX_RESPONSE_BODY as u64)
            } else {
                failed("broken answer from", &e)
            }
        });
    connection.abort();
    let headers = parts
        .headers
        .iter()
        .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_string())))
        .collect();
    Ok(Response {
        status: parts.status.as_u16(),
        headers,
        body: body?.to_bytes().to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str) -> Result<(String, String), String> {
        Target::parse(url)
            .map(|t| (t.address, t.path))
            .map_err(|e| match e {
                HttpError::InvalidRequest(m) => m,
                other => format!("{other:?}"),
            })
    }

    #[test]
    fn urls_name_the_granted_address() {
        let ok = |url, address: &str, path: &str| {
            assert_eq!(target(url), Ok((address.into(), path.into())), "{url}");
        };
        ok(
            "http://rlm1.example:5054/goform/status?x=1",
            "rlm1.example:5054",
            "/goform/status?x=1",
        );
        ok("HTTP://rlm1.example", "rlm1.example:80", "/");
        ok("http://rlm1.example?q", "rlm1.example:80", "/?q");
        ok("http://[::1]:8080/a#frag", "[::1]:8080", "/a");
        let bad = |url, why: &str| {
            let got = target(url).expect_err(url);
            assert!(got.contains(why), "{url}: {got}");
        };
        bad("https://a.example/", "https is not supported yet");
        bad("ftp://a.example/", "not an http:// URL");
        bad("a.example/x", "not an http:// URL");
        bad("http://user:pw@a.example/", "credentials");
        bad("http://a.example:0/", "bad port");
        bad("http://a.example:99999/", "bad port");
        bad("http://a_b.example/", "bad host name");
        bad("http://:80/", "bad host name");
        bad("http://a.example/a b", "spaces");
    }

    #[test]
    fn host_and_length_headers_are_the_hosts() {
        let t = Target::parse("http://a.example:81/").expect("valid");
        let request = |headers: Vec<(String, String)>| Request {
            method: Method::Post,
            url: "http://a.example:81/".into(),
            headers,
            body: b"{}".to_vec(),
            timeout_ms: None,
        };
        let r = prepare(&t, request(vec![("Accept".into(), "text/plain".into())])).expect("valid");
        assert_eq!(r.headers()[HOST], "a.example:81");
        assert_eq!(r.method(), hyper::Method::POST);
        for name in ["Host", "content-length"] {
            let e = prepare(&t, request(vec![(name.into(), "x".into())])).expect_err(name);
            assert!(matches!(e, HttpError::InvalidRequest(m) if m.contains("set by the host")));
        }
        let e = prepare(&t, request(vec![("bad name".into(), "x".into())])).expect_err("name");
        assert!(matches!(e, HttpError::InvalidRequest(_)));
    }
}
