//! `ApiError`: the one place where an outcome becomes an HTTP status, a JSON error envelope
//! (`{"error":{"code","message"}}`) and, for authentication failures, `WWW-Authenticate`.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keygate_proto::error::{CHALLENGE, CHALLENGE_INVALID_TOKEN};
use keygate_proto::{ErrorDetail, ErrorEnvelope};

use crate::service::{AuthFailure, RateState, ServiceError};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// The request itself is wrong (syntax, transport rules); `message` is safe to show.
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("expected a JSON body with Content-Type: application/json")]
    UnsupportedMediaType,
    #[error("no such route")]
    RouteNotFound,
    #[error("method not allowed on this route")]
    MethodNotAllowed,
    /// A report whose signature or shared secret does not check out (secret scanning).
    #[error("{0}")]
    BadReportSignature(&'static str),
    /// A route whose feature the configuration leaves off.
    #[error("{0}")]
    NotConfigured(&'static str),
    /// The keys a report must be checked against could not be fetched; the reporter retries.
    #[error("the keys to check this report against cannot be fetched now; try again shortly")]
    KeysUnavailable,
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code,
            message: message.into(),
        }
    }

    /// Hides anything token-shaped in a message that quotes the request.
    pub fn redacted(self, format: &keygate_domain::TokenFormat) -> Self {
        match self {
            ApiError::BadRequest { code, message } => ApiError::BadRequest {
                code,
                message: format.redact(&message).into_owned(),
            },
            other => other,
        }
    }

    /// Seconds to wait before retrying, for a throttled request.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::Service(ServiceError::Throttled(seconds)) => Some(*seconds),
            _ => self.rate_state().map(|state| u64::from(state.reset)),
        }
    }

    /// With `rate_limited`: the limit that was used up, for the `RateLimit-*` headers.
    pub fn rate_state(&self) -> Option<RateState> {
        match self {
            ApiError::Service(ServiceError::InvalidCredentials(AuthFailure::RateLimited(
                state,
            ))) => Some(*state),
            _ => None,
        }
    }

    pub fn status(&self) -> StatusCode {
        self.parts().0
    }

    /// The message clients see.
    pub fn public_message(&self) -> String {
        self.parts().1.message
    }

    /// Logs what the client is not told: the cause of an internal error or an outage.
    pub fn log_server_error(&self) {
        match self {
            ApiError::Service(ServiceError::Internal(e)) => {
                tracing::error!(error = %error_chain(e.as_ref()), "internal error");
            }
            ApiError::Service(ServiceError::Unavailable(e)) => {
                tracing::error!(error = %error_chain(e), "database unavailable");
            }
            _ => {}
        }
    }

    /// The status, and the envelope's content.
    fn parts(&self) -> (StatusCode, ErrorDetail) {
        let (mut permission, mut field) = (None, None);
        let (status, code, message) = match self {
            ApiError::Service(e) => match e {
                ServiceError::Unauthenticated => {
                    (StatusCode::UNAUTHORIZED, "unauthenticated", e.to_string())
                }
                // The secret is right, the place is not: authenticating again will not help.
                ServiceError::InvalidCredentials(f @ AuthFailure::IpNotAllowed(_)) => {
                    (StatusCode::FORBIDDEN, f.code(), e.to_string())
                }
                ServiceError::InvalidCredentials(f @ AuthFailure::RateLimited(_)) => {
                    (StatusCode::TOO_MANY_REQUESTS, f.code(), e.to_string())
                }
                ServiceError::InvalidCredentials(f) => {
                    (StatusCode::UNAUTHORIZED, f.code(), e.to_string())
                }
                ServiceError::Forbidden { missing, .. } => {
                    permission = missing.as_ref().map(ToString::to_string);
                    (StatusCode::FORBIDDEN, "forbidden", e.to_string())
                }
                ServiceError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found", e.to_string()),
                ServiceError::Invalid(v) => {
                    field = Some(v.field.to_string());
                    (StatusCode::BAD_REQUEST, "invalid_input", e.to_string())
                }
                ServiceError::Conflict { code, .. } => (StatusCode::CONFLICT, *code, e.to_string()),
                ServiceError::Throttled(_) => (
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_requests",
                    e.to_string(),
                ),
                ServiceError::Unavailable(_) => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the database is unavailable; try again shortly".to_owned(),
                ),
                ServiceError::Internal(_) => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error".to_owned(),
                ),
            },
            ApiError::BadRequest { code, message } => {
                (StatusCode::BAD_REQUEST, *code, message.clone())
            }
            ApiError::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                self.to_string(),
            ),
            ApiError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                self.to_string(),
            ),
            ApiError::RouteNotFound => (StatusCode::NOT_FOUND, "not_found", self.to_string()),
            ApiError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                self.to_string(),
            ),
            ApiError::BadReportSignature(_) => (
                StatusCode::UNAUTHORIZED,
                "invalid_signature",
                self.to_string(),
            ),
            ApiError::NotConfigured(_) => {
                (StatusCode::NOT_FOUND, "not_configured", self.to_string())
            }
            ApiError::KeysUnavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "keys_unavailable",
                self.to_string(),
            ),
        };
        let detail = ErrorDetail {
            permission,
            field,
            ..ErrorDetail::new(code, message)
        };
        (status, detail)
    }
}

/// The `WWW-Authenticate` challenge (RFC 6750 style, with Keygate's `Token` scheme).
fn challenge(failure: Option<AuthFailure>) -> HeaderValue {
    HeaderValue::from_static(match failure {
        None => CHALLENGE,
        Some(_) => CHALLENGE_INVALID_TOKEN,
    })
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, detail) = self.parts();
        self.log_server_error();
        let mut response = (status, Json(ErrorEnvelope::from(detail))).into_response();
        let failure = match &self {
            ApiError::Service(ServiceError::Unauthenticated) => Some(None),
            ApiError::Service(ServiceError::InvalidCredentials(f)) if f.is_bad_secret() => {
                Some(Some(*f))
            }
            _ => None,
        };
        if let Some(failure) = failure {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, challenge(failure));
        }
        if let Some(seconds) = self.retry_after() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Some(state) = self.rate_state() {
            super::rate_headers::set(response.headers_mut(), &state);
        }
        response
    }
}

/// An error and its sources on one line, for the log.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType,
            JsonRejection::JsonSyntaxError(e) => ApiError::bad_request(
                "malformed_json",
                format!("malformed JSON: {}", source_text(&e)),
            ),
            JsonRejection::JsonDataError(e) => ApiError::bad_request(
                "invalid_body",
                format!("invalid request body: {}", source_text(&e)),
            ),
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
            other => ApiError::bad_request("invalid_body", other.body_text()),
        }
    }
}

/// A field refused in the HTTP layer is refused as the service layer refuses it.
impl From<keygate_domain::ValidationError> for ApiError {
    fn from(e: keygate_domain::ValidationError) -> Self {
        ApiError::Service(e.into())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::bad_request("invalid_path", rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::bad_request("invalid_query", rejection.body_text())
    }
}

/// The innermost message of a rejection: serde's own words, without axum's preamble.
fn source_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut inner = e;
    while let Some(s) = inner.source() {
        inner = s;
    }
    inner.to_string()
}
