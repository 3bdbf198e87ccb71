//! The token a request presents, read from the same transports Keygate itself accepts
//! ([`keygate_proto::transport`]): `Authorization: Token <t>` or `Bearer <t>`, `API-KEY` (any
//! spelling of the name), `X-API-Key`.

use std::borrow::Cow;

use axum::http::HeaderMap;

use crate::rejection::Rejection;

pub use keygate_proto::QUERY_TOKEN_PARAM;

/// The token presented in `headers`, `None` for an anonymous request. Two different tokens, an
/// `Authorization` header with another scheme, a header with bytes outside visible ASCII, and a
/// token in the query string are refused with 400: a guarded route refuses a token in its URL, as
/// Keygate's own routes do, so a token never travels where logs keep it.
pub fn presented_token(
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Option<String>, Rejection> {
    match keygate_proto::presented_token(headers, query, false) {
        Ok(token) => Ok(token.map(Cow::into_owned)),
        Err(e) => Err(Rejection::bad_request(e.code(), e.to_string())),
    }
}
