//! `Rejection`: why a guarded request is refused, answered with Keygate's own statuses, JSON
//! error envelope (`{"error":{"code","message"}}`) and `WWW-Authenticate` challenges.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keygate_proto::error::{CHALLENGE, CHALLENGE_INVALID_TOKEN};
use keygate_proto::{ErrorDetail, ErrorEnvelope};

use crate::verifier::{Code, RateLimitState, VerifyError};

/// A refused request. Its messages never quote a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// 400: the request cannot be judged (transport rules, a question Keygate refuses).
    #[error("{message}")]
    BadRequest {
        /// The answer's `error.code`, e.g. `invalid_request`.
        code: &'static str,
        /// The answer's `error.message`.
        message: String,
    },
    /// 401 `unauthenticated`: no token, and the public role does not allow the request.
    #[error("this endpoint needs a token")]
    Unauthenticated,
    /// 401 `invalid_token`, `token_expired` or `token_revoked`.
    #[error("{}", invalid_message(*.0))]
    InvalidToken(Code),
    /// 403: `missing` is the permission, or the resource when the permission is held elsewhere.
    #[error("{}", forbidden_message(.missing, *.missing_permission))]
    Forbidden {
        /// The permission lacking, or the resource when the permission is held but not on it.
        missing: String,
        /// Whether `missing` is the permission, which the answer then also gives as
        /// `error.permission`.
        missing_permission: bool,
    },
    /// 403: the token's user is not a member of the workspace.
    #[error("not a member of this workspace")]
    NotAMember,
    /// 403 `ip_not_allowed`: the token (or its API user) is held to an allow-list that leaves
    /// the client's address out.
    #[error("this token may not be used from this address: its allowed_ips leave it out")]
    IpNotAllowed,
    /// 429 `rate_limited`: a rate limit of the token (or its API user) is used up; answered with
    /// `Retry-After` and the `RateLimit-*` headers when Keygate said when it resets.
    #[error("this token has used a rate limit in this window; try again later")]
    RateLimited(Option<RateLimitState>),
    /// 503 `keygate_unavailable`: Keygate cannot be reached or answers with a server error.
    #[error("Keygate cannot be reached to verify this request; try again shortly")]
    Unavailable,
    /// 500 `guard_misconfigured`: the guard asks for something the route cannot give (a path
    /// parameter it does not capture, a route without any workspace).
    #[error("{0}")]
    Misconfigured(String),
}

fn invalid_message(code: Code) -> &'static str {
    match code {
        Code::TokenExpired => "the token has expired",
        Code::TokenRevoked => "the token has been revoked",
        _ => "the token is malformed, unknown or no longer valid",
    }
}

fn forbidden_message(missing: &str, permission: bool) -> String {
    if permission {
        format!("missing permission `{missing}`")
    } else {
        format!("missing `{missing}`")
    }
}

impl Rejection {
    pub(crate) fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Rejection::BadRequest {
            code,
            message: message.into(),
        }
    }

    /// The HTTP status of the answer.
    pub fn status(&self) -> StatusCode {
        match self {
            Rejection::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Rejection::Unauthenticated | Rejection::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            Rejection::Forbidden { .. } | Rejection::NotAMember | Rejection::IpNotAllowed => {
                StatusCode::FORBIDDEN
            }
            Rejection::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Rejection::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Rejection::Misconfigured(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The `error.code` of the answer.
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::BadRequest { code, .. } => code,
            Rejection::Unauthenticated => "unauthenticated",
            Rejection::InvalidToken(Code::TokenExpired) => "token_expired",
            Rejection::InvalidToken(Code::TokenRevoked) => "token_revoked",
            Rejection::InvalidToken(_) => "invalid_token",
            Rejection::Forbidden { .. } | Rejection::NotAMember => "forbidden",
            Rejection::IpNotAllowed => "ip_not_allowed",
            Rejection::RateLimited(_) => "rate_limited",
            Rejection::Unavailable => "keygate_unavailable",
            Rejection::Misconfigured(_) => "guard_misconfigured",
        }
    }
}

/// For handlers that ask the [`Verifier`](crate::Verifier) questions of their own: an unreachable
/// Keygate is a 503, a question Keygate refuses a 400.
impl From<VerifyError> for Rejection {
    fn from(e: VerifyError) -> Self {
        match e {
            VerifyError::Unavailable(_) => Rejection::Unavailable,
            VerifyError::BadQuestion { message, .. } => {
                Rejection::bad_request("invalid_request", message)
            }
            VerifyError::NoWorkspace => Rejection::Misconfigured(e.to_string()),
        }
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let permission = match &self {
            Rejection::Forbidden {
                missing,
                missing_permission: true,
            } => Some(missing.clone()),
            _ => None,
        };
        if let Rejection::Misconfigured(message) = &self {
            tracing::error!(message, "a Keygate guard is misconfigured");
        }
        let envelope = ErrorEnvelope::from(ErrorDetail {
            permission,
            ..ErrorDetail::new(self.code(), self.to_string())
        });
        let mut response = (self.status(), Json(envelope)).into_response();
        if let Rejection::RateLimited(Some(state)) = &self {
            let headers = response.headers_mut();
            headers.insert(header::RETRY_AFTER, HeaderValue::from(state.reset));
            headers.insert("ratelimit-limit", HeaderValue::from(state.limit));
            headers.insert("ratelimit-remaining", HeaderValue::from(state.remaining));
            headers.insert("ratelimit-reset", HeaderValue::from(state.reset));
        }
        let challenge = match self {
            Rejection::Unauthenticated => Some(CHALLENGE),
            Rejection::InvalidToken(_) => Some(CHALLENGE_INVALID_TOKEN),
            _ => None,
        };
        if let Some(challenge) = challenge {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response
    }
}
