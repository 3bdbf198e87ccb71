//! `ServiceError`: the outcome of a use case that did not succeed, in the words of the product.
//! Interfaces map it to their own shape (HTTP status and JSON envelope in `http::error`).

use std::borrow::Cow;
use std::net::IpAddr;

use keygate_domain::{Permission, ValidationError};

use super::RateState;
use keygate_store::{Conflict, StoreError};

/// Why a presented token does not authenticate. The classes are the ones callers may see; an
/// unknown token and a malformed one are both `InvalidToken`, so nobody learns which existed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    InvalidToken,
    TokenExpired,
    TokenRevoked,
    /// A valid token used from an address its allow-list (or its user's) leaves out; the
    /// address, when known.
    IpNotAllowed(Option<IpAddr>),
    /// A valid token past one of its rate limits (or its API user's), until the window ends.
    RateLimited(RateState),
}

impl AuthFailure {
    pub fn code(self) -> &'static str {
        match self {
            AuthFailure::InvalidToken => "invalid_token",
            AuthFailure::TokenExpired => "token_expired",
            AuthFailure::TokenRevoked => "token_revoked",
            AuthFailure::IpNotAllowed(_) => "ip_not_allowed",
            AuthFailure::RateLimited(_) => "rate_limited",
        }
    }

    pub fn message(self) -> Cow<'static, str> {
        match self {
            AuthFailure::InvalidToken => {
                "the token is malformed, unknown or no longer valid".into()
            }
            AuthFailure::TokenExpired => "the token has expired".into(),
            AuthFailure::TokenRevoked => "the token has been revoked".into(),
            AuthFailure::IpNotAllowed(Some(ip)) => format!(
                "this token may not be used from {}: its allowed_ips leave that address out",
                ip.to_canonical()
            )
            .into(),
            AuthFailure::RateLimited(state) => format!(
                "this token has used its rate limit of {} in this window; try again in {} s",
                state.limit, state.reset
            )
            .into(),
            AuthFailure::IpNotAllowed(None) => {
                "this token may only be used from the addresses in its allowed_ips, and this \
                 request's address is not known"
                    .into()
            }
        }
    }

    /// Whether the failure says the secret was wrong (guessed, stale, revoked) rather than that a
    /// right secret came from the wrong place: only those count against the address.
    pub fn is_bad_secret(self) -> bool {
        matches!(
            self,
            AuthFailure::InvalidToken | AuthFailure::TokenExpired | AuthFailure::TokenRevoked
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The request carries no token where one is needed.
    #[error("this endpoint needs a token")]
    Unauthenticated,
    #[error("{}", .0.message())]
    InvalidCredentials(AuthFailure),
    /// Authenticated, but the rights do not allow it.
    #[error("{message}")]
    Forbidden {
        missing: Option<Permission>,
        message: String,
    },
    /// The thing does not exist, or the caller may not know that it does.
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The request is well-formed but clashes with the current state.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// Too many failed attempts from this client address: retry after the seconds given.
    #[error("too many failed authentications from this address; retry in {0} seconds")]
    Throttled(u64),
    /// The database cannot be reached.
    #[error("the database is unavailable")]
    Unavailable(#[source] StoreError),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ServiceError {
    pub fn forbidden(missing: Permission) -> Self {
        ServiceError::Forbidden {
            message: format!("missing permission `{missing}`"),
            missing: Some(missing),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        ServiceError::Conflict {
            code,
            message: message.into(),
        }
    }

    pub fn internal(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        ServiceError::Internal(e.into())
    }
}

/// Why a change that would leave a workspace without an owner is refused.
const LAST_OWNER: &str =
    "the workspace must keep at least one owner; make someone else an owner first";

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(Conflict::Email) => {
                ServiceError::conflict("email_taken", "a user with this email already exists")
            }
            StoreError::Conflict(Conflict::Slug) => {
                ServiceError::conflict("slug_taken", "a workspace with this slug already exists")
            }
            StoreError::Conflict(Conflict::RoleName) => {
                ServiceError::conflict("role_exists", "a role with this name already exists")
            }
            StoreError::LastOwner => ServiceError::conflict("last_owner", LAST_OWNER),
            StoreError::Unavailable(_) => ServiceError::Unavailable(e),
            other => ServiceError::internal(other),
        }
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;
