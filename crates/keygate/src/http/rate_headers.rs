//! The IETF `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` headers: on a `429`
//! (with `Retry-After`), and on every answer to a request whose token is held to rate limits
//! (REST's management routes, GraphQL, forward-auth).

use axum::http::{HeaderMap, HeaderName, HeaderValue};

use crate::service::RateState;

pub const RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
pub const RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
pub const RATELIMIT_RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

/// Writes `state` as the three headers.
pub fn set(headers: &mut HeaderMap, state: &RateState) {
    headers.insert(RATELIMIT_LIMIT, HeaderValue::from(state.limit));
    headers.insert(RATELIMIT_REMAINING, HeaderValue::from(state.remaining));
    headers.insert(RATELIMIT_RESET, HeaderValue::from(state.reset));
}
