//! A small client for the running server's admin API: plain HTTP/1.1 (hyper), one connection
//! per request, JSON answers. `https://` is not spoken: run the CLI where the server runs, or
//! reach it through an SSH tunnel or a TLS-terminating proxy on its machine.

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, header};
use serde::de::DeserializeOwned;

#[derive(Debug)]
pub struct Client {
    /// `host:port` to connect to.
    authority: String,
    /// Path prefix of the server (usually empty).
    prefix: String,
    token: String,
}

/// A body to send: its content type and bytes.
pub struct Body {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl Client {
    pub fn new(url: &str, token: String) -> anyhow::Result<Client> {
        let Some(rest) = url.strip_prefix("http://") else {
            bail!(
                "--server-url must be http://HOST:PORT (got `{url}`); for a remote server use an SSH tunnel"
            );
        };
        let (authority, prefix) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
            None => (rest, ""),
        };
        if authority.is_empty() {
            bail!("--server-url `{url}` names no host");
        }
        let has_port = authority
            .rsplit_once(':')
            .is_some_and(|(_, port)| port.parse::<u16>().is_ok() && !port.contains(']'));
        Ok(Client {
            authority: if has_port {
                authority.to_string()
            } else {
                format!("{authority}:80")
            },
            prefix: prefix.to_string(),
            token,
        })
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        self.send(Method::GET, path, None).await
    }

    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: Option<Body>,
    ) -> anyhow::Result<T> {
        self.send(Method::POST, path, body).await
    }

    pub async fn delete<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        self.send(Method::DELETE, path, None).await
    }

    /// Sends one request; a non-2xx answer becomes an error carrying the server's reason.
    async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Body>,
    ) -> anyhow::Result<T> {
        let stream = tokio::net::TcpStream::connect(&self.authority)
            .await
            .with_context(|| format!("cannot reach the server at {}", self.authority))?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.prefix))
            .header(header::HOST, &self.authority)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token));
        let bytes = match body {
            Some(body) => {
                request = request.header(header::CONTENT_TYPE, body.content_type);
                body.bytes
            }
            None => vec![],
        };
        let response = sender
            .send_request(request.body(Full::new(Bytes::from(bytes)))?)
            .await
            .context("the server did not answer")?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        if !status.is_success() {
            let reason = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["error"].as_str().map(String::from))
                .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
            bail!("{reason} ({status})");
        }
        serde_json::from_slice(&body).context("the server's answer is not the expected JSON")
    }
}

/// A `multipart/form-data` body of named binary fields.
pub fn multipart(fields: &[(&str, &str, &[u8])]) -> Body {
    // The boundary must not occur in the content: derive it from the content itself.
    let mut digest = sha2::Sha256::default();
    for (_, _, bytes) in fields {
        sha2::Digest::update(&mut digest, bytes);
    }
    let boundary = format!("tally-{}", hex::encode(sha2::Digest::finalize(digest)));
    let mut bytes = Vec::new();
    for (name, file_name, content) in fields {
        bytes.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        bytes.extend_from_slice(content);
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    Body {
        content_type: format!("multipart/form-data; boundary={boundary}"),
        bytes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let c = Client::new("http://127.0.0.1:8080", "t".into()).expect("url");
        assert_eq!(
            (c.authority.as_str(), c.prefix.as_str()),
            ("127.0.0.1:8080", "")
        );
        let c = Client::new("http://tally.example/base/", "t".into()).expect("url");
        assert_eq!(
            (c.authority.as_str(), c.prefix.as_str()),
            ("tally.example:80", "/base")
        );
        let c = Client::new("http://[::1]:9000", "t".into()).expect("url");
        assert_eq!(c.authority, "[::1]:9000");
        assert!(Client::new("https://x", "t".into()).is_err());
        assert!(Client::new("x:80", "t".into()).is_err());
    }

    #[test]
    fn multipart_bodies() {
        let body = multipart(&[
            ("manifest", "plugin.toml", b"id = 1"),
            ("component", "p.wasm", b"\0asm"),
        ]);
        let text = String::from_utf8_lossy(&body.bytes);
        let boundary = body.content_type.rsplit('=').next().expect("boundary");
        assert!(text.starts_with(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"manifest\""
        )));
        assert!(text.contains("\r\n\r\nid = 1\r\n"));
        assert!(text.ends_with(&format!("--{boundary}--\r\n")));
    }
}
