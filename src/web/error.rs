//! The API's error type: a status and a `detail` (string or validation array), as JSON.
//! Database and internal failures never leak SQL: they become a generic 500 or 503.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// An API error response.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// The `detail` value.
    pub detail: Value,
}

impl ApiError {
    /// A status with a message.
    pub fn new(status: StatusCode, msg: impl Into<String>) -> Self {
        ApiError {
            status,
            detail: Value::String(msg.into()),
        }
    }

    /// 400.
    pub fn bad_request(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, msg)
    }

    /// 404.
    pub fn not_found(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, msg)
    }

    /// 403.
    pub fn forbidden(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, msg)
    }

    /// 422 with one validation entry (pydantic-like shape).
    pub fn invalid(kind: &str, loc: &[&str], msg: &str, input: Value) -> Self {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            detail: json!([{ "type": kind, "loc": loc, "msg": msg, "input": input }]),
        }
    }
}

/// The API's one mapping of the library's errors to HTTP statuses: not found 404,
/// forbidden 403, every other refusal 400 (0.14 answered a conflict such as a reused
/// idempotency key with 400 too; docs/decisions.md, W5), a busy or unreachable database 503, and
/// anything internal a 500 whose detail stays in the server's log.
impl From<crate::Error> for ApiError {
    fn from(e: crate::Error) -> Self {
        use crate::Error as E;
        match e {
            E::NotFound(m) => ApiError::not_found(m),
            E::Forbidden(m) => ApiError::forbidden(m),
            E::Invalid(m) | E::Conflict(m) | E::Usage(m) | E::Failed(m) => ApiError::bad_request(m),
            E::Busy(_) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the database is busy; retry in a moment",
            ),
            E::Disconnected(_) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the database server is unreachable (restarting?); retry in a moment",
            ),
            other => {
                tracing::error!(error = %other, "internal error");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error; see the server's log (CAFLEET_LOG=info)",
                )
            }
        }
    }
}

impl IntoResponse for crate::Error {
    fn into_response(self) -> Response {
        ApiError::from(self).into_response()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "detail": self.detail }))).into_response()
    }
}

/// Result of an API handler.
pub type ApiResult<T> = Result<T, ApiError>;
