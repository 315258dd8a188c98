//! The agent's HTTP client: plain HTTP/1.1 over hyper, one connection per request, every
//! request bounded by a timeout. TLS belongs to a reverse proxy in front of the server.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{Method, Request, StatusCode, header};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tally_core::agent::{AgentConfig, AgentId, EnrolAnswer, EnrolRequest, ReportAnswer};

/// Answers larger than this are refused: a configuration or a report answer is a few KiB.
const MAX_ANSWER_BYTES: usize = 4 << 20;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("the server at {authority} is unreachable: {reason}")]
    Unreachable { authority: String, reason: String },
    #[error("the server answered {status}: {reason}")]
    Status { status: StatusCode, reason: String },
    #[error("the server's answer is not what the agent expects: {0}")]
    Answer(String),
}

impl ClientError {
    /// Whether the same request may succeed later. A report the server refuses as malformed
    /// would block the queue forever if retried.
    pub fn is_retryable(&self) -> bool {
        match self {
            ClientError::Unreachable { .. } => true,
            ClientError::Status { status, .. } => {
                status.is_server_error()
                    || matches!(
                        *status,
                        StatusCode::UNAUTHORIZED
                            | StatusCode::FORBIDDEN
                            | StatusCode::NOT_FOUND
                            | StatusCode::REQUEST_TIMEOUT
                            | StatusCode::TOO_MANY_REQUESTS
                    )
            }
            // The server may be mid-upgrade; the report stays queued.
            ClientError::Answer(_) => true,
        }
    }
}

pub struct Client {
    authority: String,
    prefix: String,
    token: String,
    timeout: Duration,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("authority", &self.authority)
            .field("prefix", &self.prefix)
            .field("token", &"<redacted>")
            .finish()
    }
}

impl Client {
    /// `url` is `http://HOST[:PORT][/prefix]`.
    pub fn new(url: &str, token: String, timeout: Duration) -> Result<Client, String> {
        let Some(rest) = url.strip_prefix("http://") else {
            return Err(format!(
                "the server URL must start with http:// (got `{url}`)"
            ));
        };
        let (authority, prefix) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
            None => (rest, ""),
        };
        if authority.is_empty() {
            return Err(format!("the server URL `{url}` names no host"));
        }
        let has_port = authority
            .rsplit_once(':')
            .is_some_and(|(_, port)| port.parse::<u16>().is_ok());
        Ok(Client {
            authority: if has_port {
                authority.to_string()
            } else {
                format!("{authority}:80")
            },
            prefix: prefix.to_string(),
            token,
            timeout,
        })
    }

    pub async fn enrol(&self, request: &EnrolRequest) -> Result<EnrolAnswer, ClientError> {
        let body = serde_json::to_vec(request).map_err(|e| ClientError::Answer(e.to_string()))?;
        self.send(Method::POST, "/api/v1/agents/enrol", Some(body))
            .await
    }

    pub async fn config(&self, agent: AgentId) -> Result<AgentConfig, ClientError> {
        let config: AgentConfig = self
            .send(Method::GET, &format!("/api/v1/agents/{agent}/config"), None)
            .await?;
        config
            .validate()
            .map_err(|e| ClientError::Answer(format!("configuration refused: {e}")))?;
        Ok(config)
    }

    /// Sends one report as queued (its JSON bytes).
    pub async fn report(
        &self,
        agent: AgentId,
        report: Vec<u8>,
    ) -> Result<ReportAnswer, ClientError> {
        self.send(
            Method::POST,
            &format!("/api/v1/agents/{agent}/reports"),
            Some(report),
        )
        .await
    }

    async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<T, ClientError> {
        match tokio::time::timeout(self.timeout, self.exchange(method, path, body)).await {
            Ok(answer) => answer,
            Err(_) => {
                Err(self.unreachable(format!("no answer within {} s", self.timeout.as_secs())))
            }
        }
    }

    async fn exchange<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<T, ClientError> {
        let stream = tokio::net::TcpStream::connect(&self.authority)
            .await
            .map_err(|e| self.unreachable(e.to_string()))?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| self.unreachable(e.to_string()))?;
        let connection = tokio::spawn(connection);
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.prefix))
            .header(header::HOST, &self.authority)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token));
        if body.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        let request = request
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| ClientError::Answer(e.to_string()))?;
        let answer = async {
            let response = sender
                .send_request(request)
                .await
                .map_err(|e| self.unreachable(e.to_string()))?;
            let status = response.status();
            let body = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
                .collect()
                .await
                .map_err(|e| self.unreachable(e.to_string()))?
                .to_bytes();
            if !status.is_success() {
                let reason = serde_json::from_slice::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| v["error"].as_str().map(String::from))
                    .unwrap_or_else(|| String::from_utf8_lossy(&body).chars().take(200).collect());
                return Err(ClientError::Status { status, reason });
            }
            serde_json::from_slice(&body).map_err(|e| ClientError::Answer(e.to_string()))
        }
        .await;
        connection.abort();
        answer
    }

    fn unreachable(&self, reason: String) -> ClientError {
        ClientError::Unreachable {
            authority: self.authority.clone(),
            reason,
        }
    }
}

/// The JSON a report is queued as.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serialising plain structs of strings and numbers cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_split_and_https_refused() {
        let c = Client::new(
            "http://tally:8080/base/",
            "t".into(),
            Duration::from_secs(1),
        )
        .expect("client");
        assert_eq!(
            (c.authority.as_str(), c.prefix.as_str()),
            ("tally:8080", "/base")
        );
        let c = Client::new("http://tally", "t".into(), Duration::from_secs(1)).expect("client");
        assert_eq!(c.authority, "tally:80");
        assert!(Client::new("https://tally", "t".into(), Duration::from_secs(1)).is_err());
        assert!(Client::new("http:///x", "t".into(), Duration::from_secs(1)).is_err());
    }

    #[test]
    fn the_token_is_not_in_debug_output() {
        let c = Client::new("http://t:1", "s3cret".into(), Duration::from_secs(1)).expect("c");
        assert!(!format!("{c:?}").contains("s3cret"));
    }

    #[test]
    fn malformed_reports_are_not_retried_but_outages_are() {
        let status = |s| ClientError::Status {
            status: s,
            reason: String::new(),
        };
        assert!(!status(StatusCode::BAD_REQUEST).is_retryable());
        assert!(!status(StatusCode::UNPROCESSABLE_ENTITY).is_retryable());
        assert!(status(StatusCode::SERVICE_UNAVAILABLE).is_retryable());
        assert!(status(StatusCode::UNAUTHORIZED).is_retryable());
    }

    #[tokio::test]
    async fn a_closed_port_is_unreachable() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        drop(listener);
        let c = Client::new(
            &format!("http://127.0.0.1:{port}"),
            "t".into(),
            Duration::from_secs(2),
        )
        .expect("client");
        let err = c.config(AgentId(1)).await.expect_err("refused");
        assert!(matches!(err, ClientError::Unreachable { .. }), "{err}");
    }
}
