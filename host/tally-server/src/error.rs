//! The API's one error type. A 4xx answer carries the reason in the API's words; a 5xx answer
//! is logged with a request id and says only that id, never database or system text.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error answer: `{"error": "…", "request_id": "…"}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    /// Seconds a client should wait before trying again (429, 503).
    retry_after: Option<u64>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, message)
    }

    pub fn unprocessable(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message)
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, message)
    }

    /// Too many attempts: try again after `seconds`.
    pub fn too_many(message: impl Into<String>, seconds: u64) -> ApiError {
        ApiError {
            retry_after: Some(seconds),
            ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, message)
        }
    }

    /// The server cannot answer now: try again after `seconds`.
    pub fn unavailable(message: impl Into<String>, seconds: u64) -> ApiError {
        ApiError {
            retry_after: Some(seconds),
            ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message)
        }
    }

    /// The upload passes the size limit.
    pub fn payload_too_large(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, message)
    }

    /// The server has no room to keep what was sent (its message says how much it lacks).
    pub fn insufficient_storage(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INSUFFICIENT_STORAGE, message)
    }

    /// A failure of ours: `detail` goes to the log under a fresh request id, the client gets
    /// the id alone.
    pub fn internal(detail: impl std::fmt::Display) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, detail.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // Only our own failures hide their text; a full disk is the operator's to know.
        let mut response = if self.status == StatusCode::INTERNAL_SERVER_ERROR {
            let id = request_id();
            tracing::error!(request_id = %id, status = %self.status, "{}", self.message);
            let body = Body {
                error: "internal error; the server's log has the details under this request id",
                request_id: Some(&id),
            };
            (self.status, Json(body)).into_response()
        } else {
            let body = Body {
                error: &self.message,
                request_id: None,
            };
            (self.status, Json(body)).into_response()
        };
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<tally_store::StoreError> for ApiError {
    fn from(e: tally_store::StoreError) -> ApiError {
        match e {
            // The request asked for too much: it says what to ask instead.
            tally_store::StoreError::TooManyRows { .. } => ApiError::unprocessable(e.to_string()),
            e => ApiError::internal(e),
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> ApiError {
        match e.downcast_ref::<tally_store::StoreError>() {
            Some(tally_store::StoreError::TooManyRows { .. }) => {
                ApiError::unprocessable(format!("{e:#}"))
            }
            _ => ApiError::internal(format!("{e:#}")),
        }
    }
}

/// Gives the API's error body to the client errors axum's extractors answer as plain text (a
/// body that is not the JSON a route takes, a bad query string or path): every 4xx of
/// `/api/v1` is `{"error": …}`.
pub async fn plain_rejections(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let api = request.uri().path().starts_with("/api/v1/");
    let response = next.run(request).await;
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/json"));
    let status = response.status();
    if !api || json || !status.is_client_error() {
        return response;
    }
    let text = match axum::body::to_bytes(response.into_body(), 64 << 10).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_string(),
        Err(_) => String::new(),
    };
    let message = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("the request was refused")
            .to_string()
    } else {
        text
    };
    ApiError::new(status, message).into_response()
}

/// A short id to find a failed request in the log: time and a per-process counter.
fn request_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{:x}-{n:x}", tally_core::time::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(error: ApiError) -> (StatusCode, serde_json::Value) {
        let response = error.into_response();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .expect("body");
        (status, serde_json::from_slice(&bytes).expect("json"))
    }

    #[tokio::test]
    async fn a_client_error_says_why() {
        let (status, json) = body(ApiError::not_found("no license server is called `x`")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(json["error"], "no license server is called `x`");
    }

    #[tokio::test]
    async fn a_read_past_its_row_bound_is_the_request_s_fault() {
        let too_many = || tally_store::StoreError::TooManyRows {
            what: "the rollup rows",
            limit: 250_000,
        };
        let direct = ApiError::from(too_many());
        let through = ApiError::from(anyhow::Error::from(too_many()).context("reading the chart"));
        for error in [direct, through] {
            let (status, json) = body(error).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
            let text = json["error"].as_str().unwrap_or_default().to_string();
            assert!(text.contains("coarser period"), "{text}");
        }
    }

    #[tokio::test]
    async fn a_server_error_hides_its_detail_behind_a_request_id() {
        let (status, json) = body(ApiError::internal("UNIQUE constraint failed: secret")).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        let text = json.to_string();
        assert!(!text.contains("constraint"), "{text}");
        assert!(json["request_id"].as_str().is_some_and(|id| !id.is_empty()));
    }
}
