//! The token a request presents, read from the same transports Keygate itself accepts:
//! `Authorization: Token <t>` or `Bearer <t>`, `API-KEY` (any spelling of the name), `X-API-Key`.

use std::collections::BTreeSet;

use axum::http::{HeaderMap, HeaderValue, header};

use crate::rejection::Rejection;

/// The query parameter Keygate reserves for tokens in URLs. A guarded route refuses it, as
/// Keygate's own routes do, so a token never travels where logs keep it.
pub const QUERY_TOKEN_PARAM: &str = "api_token";

/// The token presented in `headers`, `None` for an anonymous request. Two different tokens, an
/// `Authorization` header with another scheme, a header with bytes outside visible ASCII, and a
/// token in the query string are refused with 400.
pub fn presented_token(
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Option<String>, Rejection> {
    let mut found = BTreeSet::new();
    for value in headers.get_all(header::AUTHORIZATION) {
        let value = header_text(value)?;
        let (scheme, credentials) = value.split_once(' ').unwrap_or((value, ""));
        if scheme.eq_ignore_ascii_case("token") || scheme.eq_ignore_ascii_case("bearer") {
            found.insert(credentials.trim().to_owned());
        } else {
            return Err(Rejection::bad_request(
                "invalid_request",
                "the Authorization header must use the Token or Bearer scheme",
            ));
        }
    }
    // Header names are case-insensitive: `api-key` is also `API-KEY`.
    for name in ["api-key", "x-api-key"] {
        for value in headers.get_all(name) {
            found.insert(header_text(value)?.trim().to_owned());
        }
    }
    let in_query = query.is_some_and(|q| {
        form_urlencoded::parse(q.as_bytes()).any(|(name, _)| name == QUERY_TOKEN_PARAM)
    });
    if in_query {
        return Err(Rejection::bad_request(
            "query_token_not_allowed",
            "this endpoint does not accept a token in the URL; send it in the Authorization, \
             API-KEY or X-API-Key header",
        ));
    }
    if found.len() > 1 {
        return Err(Rejection::bad_request(
            "conflicting_tokens",
            "the request presents more than one different token",
        ));
    }
    Ok(found.pop_first())
}

fn header_text(value: &HeaderValue) -> Result<&str, Rejection> {
    value.to_str().map_err(|_| {
        Rejection::bad_request(
            "invalid_request",
            "a credentials header contains characters outside visible ASCII",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).expect("header value"));
        }
        h
    }

    fn code(r: Result<Option<String>, Rejection>) -> &'static str {
        match r {
            Err(rejection) => rejection.code(),
            Ok(other) => panic!("expected a 400, got {:?}", other.map(|_| "a token")),
        }
    }

    #[test]
    fn each_transport_is_read() {
        for (name, value) in [
            ("authorization", "Token abc"),
            ("authorization", "token abc"),
            ("authorization", "Bearer abc"),
            ("authorization", "BEARER  abc "),
            ("API-KEY", "abc"),
            ("api-key", "abc"),
            ("X-API-Key", "abc"),
            ("x-api-key", " abc"),
        ] {
            let got = presented_token(&headers(&[(name, value)]), None);
            assert_eq!(
                got.ok().flatten().as_deref(),
                Some("abc"),
                "{name}: {value}"
            );
        }
        assert_eq!(presented_token(&HeaderMap::new(), None).ok(), Some(None));
    }

    #[test]
    fn two_different_tokens_are_refused_and_the_same_twice_is_fine() {
        let two = headers(&[("authorization", "Token abc"), ("x-api-key", "def")]);
        assert_eq!(code(presented_token(&two, None)), "conflicting_tokens");
        let same = headers(&[("authorization", "Bearer abc"), ("api-key", "abc")]);
        assert_eq!(
            presented_token(&same, None).ok().flatten().as_deref(),
            Some("abc")
        );
    }

    #[test]
    fn other_schemes_strange_bytes_and_url_tokens_are_refused() {
        let basic = headers(&[("authorization", "Basic dXNlcjpwYXNz")]);
        assert_eq!(code(presented_token(&basic, None)), "invalid_request");
        let mut odd = HeaderMap::new();
        odd.insert(
            "x-api-key",
            HeaderValue::from_bytes(b"abc\xff").expect("opaque bytes"),
        );
        assert_eq!(code(presented_token(&odd, None)), "invalid_request");
        assert_eq!(
            code(presented_token(
                &HeaderMap::new(),
                Some("a=1&api%5Ftoken=x")
            )),
            "query_token_not_allowed"
        );
        // Other parameters are no concern.
        assert_eq!(
            presented_token(&HeaderMap::new(), Some("api=1&token=2")).ok(),
            Some(None)
        );
    }
}
