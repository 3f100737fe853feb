//! Errors as `application/problem+json` (RFC 9457) with a stable machine `code`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::Rejection;
use infra::StoreError;
use serde::Serialize;

use crate::bus::BusError;

/// The code of a command sent to a query node (`erp serve --read-only`).
pub const READ_ONLY: &str = "service.read_only";

/// One refused request: its HTTP status, a stable code (`stock.insufficient`, `input.invalid`) and a
/// sentence for people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Problem {
    /// `about:blank#<code>`: the code is the type.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub code: String,
    pub detail: String,
}

impl Problem {
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Problem {
        Problem {
            kind: format!("about:blank#{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            code: code.to_string(),
            detail: detail.into(),
        }
    }

    /// The request itself is wrong: its JSON, its fields, a value the edge checks.
    pub fn bad_request(code: &str, detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, code, detail)
    }

    /// The business said no.
    pub fn rejected(code: &str, detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail)
    }

    /// A query node (`erp serve --read-only`) takes no commands: 503 `service.read_only`, without
    /// `Retry-After` (this node will not take it later either).
    pub fn read_only() -> Problem {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            READ_ONLY,
            "this node serves queries only; send commands to a node that takes them",
        )
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// What the store's failure means to a client: its own bad input (400), a store that is shut or
    /// damaged (503: retry elsewhere or later), or a fault of ours (500).
    pub fn from_store(e: &StoreError) -> Problem {
        let status = match e {
            StoreError::InvalidStreamId { .. }
            | StoreError::InvalidEventType { .. }
            | StoreError::InvalidMetadata { .. }
            | StoreError::TooManyEvents { .. }
            | StoreError::EventTooLarge { .. }
            | StoreError::AppendTooLarge { .. } => StatusCode::BAD_REQUEST,
            StoreError::EventIdReused { .. } => StatusCode::CONFLICT,
            StoreError::Overloaded { .. }
            | StoreError::Contended { .. }
            | StoreError::Database { .. }
            | StoreError::Closed
            | StoreError::Poisoned { .. }
            | StoreError::Io { .. } => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Problem::new(status, e.code(), e.to_string())
    }

    pub fn from_bus<R: Rejection>(e: &BusError<R>) -> Problem {
        match e {
            BusError::Rejected(r) => Problem::rejected(r.code(), r.to_string()),
            BusError::Conflict { .. } | BusError::Stale { .. } => {
                Problem::new(StatusCode::CONFLICT, e.code(), e.to_string())
            }
            BusError::WrongBook { .. } => Problem::new(StatusCode::FORBIDDEN, e.code(), e.to_string()),
            BusError::Store(e) => Problem::from_store(e),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status();
        let retry = matches!(status, StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS)
            && self.code != READ_ONLY;
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if retry {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}
