//! Where a request carries its token: `Authorization: Token <t>` or `Bearer <t>`, `API-KEY` (any
//! spelling of the name), `X-API-Key`, and, only where an endpoint allows it, the `api_token`
//! query parameter. A request presents one token or none; the rules below refuse the rest.

use std::borrow::Cow;

use http::{HeaderMap, HeaderName, HeaderValue, header};

/// The query parameter reserved for a token in a URL. Only endpoints that cannot be given
/// headers (exports, hooks) accept it; every other one refuses a request that carries it, so a
/// token never travels where logs keep it.
pub const QUERY_TOKEN_PARAM: &str = "api_token";

/// The `Authorization` schemes that carry a token, compared without regard to case.
pub const AUTHORIZATION_SCHEMES: [&str; 2] = ["Token", "Bearer"];

/// The other headers that carry a token (header names are case-insensitive: `api-key` is also
/// `API-KEY`).
pub const API_KEY_HEADERS: [HeaderName; API_KEY_HEADER_COUNT] = [
    HeaderName::from_static("api-key"),
    HeaderName::from_static("x-api-key"),
];

const API_KEY_HEADER_COUNT: usize = 2;

/// Why the token of a request cannot be read. Each is answered with 400 and [`code`](Self::code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// `Authorization` with a scheme other than `Token` or `Bearer`.
    #[error("the Authorization header must use the Token or Bearer scheme")]
    UnknownScheme,
    /// A credentials header with bytes outside visible ASCII.
    #[error("a credentials header contains characters outside visible ASCII")]
    NotVisibleAscii,
    /// A token in the URL of an endpoint that does not accept one there.
    #[error(
        "this endpoint does not accept a token in the URL; send it in the Authorization, \
         API-KEY or X-API-Key header"
    )]
    TokenInUrl,
    /// Two different tokens in one request.
    #[error("the request presents more than one different token")]
    ConflictingTokens,
}

impl TransportError {
    /// The answer's `error.code`.
    pub fn code(self) -> &'static str {
        match self {
            TransportError::UnknownScheme | TransportError::NotVisibleAscii => "invalid_request",
            TransportError::TokenInUrl => "query_token_not_allowed",
            TransportError::ConflictingTokens => "conflicting_tokens",
        }
    }
}

/// The token a request presents, `None` for an anonymous request. `query` is the URL's query
/// string; `query_allowed` says whether the endpoint accepts a token there. The same token
/// presented twice is one token; two different ones are refused.
pub fn presented_token<'a>(
    headers: &'a HeaderMap,
    query: Option<&'a str>,
    query_allowed: bool,
) -> Result<Option<Cow<'a, str>>, TransportError> {
    // The distinct tokens presented: the first, and whether another one differs from it.
    let mut found: Option<Cow<'a, str>> = None;
    let mut conflicting = false;
    let mut add = |token: Cow<'a, str>| match &found {
        None => found = Some(token),
        Some(first) => conflicting |= *first != token,
    };
    // One walk over the headers. A header that cannot be read refuses the request; when several
    // cannot, `Authorization`'s reason comes first, then each of `API_KEY_HEADERS`' in turn, and
    // within one header the first value's.
    let mut refusals: [Option<TransportError>; 1 + API_KEY_HEADER_COUNT] = Default::default();
    for (name, value) in headers {
        let (transport, token) = if name == header::AUTHORIZATION {
            (0, authorization_token(value))
        } else if let Some(i) = API_KEY_HEADERS.iter().position(|known| known == name) {
            (1 + i, header_text(value).map(str::trim))
        } else {
            continue;
        };
        match token {
            Ok(token) => add(Cow::Borrowed(token)),
            Err(refusal) => {
                refusals[transport].get_or_insert(refusal);
            }
        }
    }
    if let Some(refusal) = refusals.into_iter().flatten().next() {
        return Err(refusal);
    }
    for (key, value) in query
        .map(|q| form_urlencoded::parse(q.as_bytes()))
        .into_iter()
        .flatten()
    {
        if key == QUERY_TOKEN_PARAM {
            if !query_allowed {
                return Err(TransportError::TokenInUrl);
            }
            add(value);
        }
    }
    if conflicting {
        return Err(TransportError::ConflictingTokens);
    }
    Ok(found)
}

/// The token of an `Authorization` header of a known scheme.
fn authorization_token(value: &HeaderValue) -> Result<&str, TransportError> {
    let value = header_text(value)?;
    let (scheme, credentials) = value.split_once(' ').unwrap_or((value, ""));
    if !AUTHORIZATION_SCHEMES
        .iter()
        .any(|known| scheme.eq_ignore_ascii_case(known))
    {
        return Err(TransportError::UnknownScheme);
    }
    Ok(credentials.trim())
}

fn header_text(value: &HeaderValue) -> Result<&str, TransportError> {
    value.to_str().map_err(|_| TransportError::NotVisibleAscii)
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

    fn token(r: Result<Option<Cow<'_, str>>, TransportError>) -> Option<String> {
        r.expect("a token or none").map(Cow::into_owned)
    }

    fn refused(r: Result<Option<Cow<'_, str>>, TransportError>) -> &'static str {
        match r {
            Err(e) => e.code(),
            Ok(other) => panic!("expected a refusal, got {:?}", other.map(|_| "a token")),
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
            let got = token(presented_token(&headers(&[(name, value)]), None, false));
            assert_eq!(got.as_deref(), Some("abc"), "{name}: {value}");
        }
        assert_eq!(token(presented_token(&HeaderMap::new(), None, false)), None);
    }

    #[test]
    fn query_token_only_where_allowed() {
        let q = Some("x=1&api_token=abc");
        assert_eq!(
            refused(presented_token(&HeaderMap::new(), q, false)),
            "query_token_not_allowed"
        );
        // Percent-encoded, the name is the same parameter.
        assert_eq!(
            refused(presented_token(
                &HeaderMap::new(),
                Some("a=1&api%5Ftoken=x"),
                false
            )),
            "query_token_not_allowed"
        );
        assert_eq!(
            token(presented_token(&HeaderMap::new(), q, true)).as_deref(),
            Some("abc")
        );
        // Other parameters are no concern.
        for other in ["api=1", "api=1&token=2"] {
            assert_eq!(
                token(presented_token(&HeaderMap::new(), Some(other), false)),
                None
            );
        }
    }

    #[test]
    fn two_different_tokens_are_refused_and_the_same_twice_is_fine() {
        let two = headers(&[("authorization", "Token abc"), ("x-api-key", "def")]);
        assert_eq!(
            refused(presented_token(&two, None, false)),
            "conflicting_tokens"
        );
        let same = headers(&[("authorization", "Bearer abc"), ("api-key", "abc")]);
        assert_eq!(
            token(presented_token(&same, None, false)).as_deref(),
            Some("abc")
        );
        assert_eq!(
            refused(presented_token(
                &headers(&[("api-key", "abc")]),
                Some("api_token=def"),
                true
            )),
            "conflicting_tokens"
        );
    }

    #[test]
    fn other_schemes_and_strange_bytes_are_refused() {
        let basic = headers(&[("authorization", "Basic dXNlcjpwYXNz")]);
        assert_eq!(
            refused(presented_token(&basic, None, false)),
            "invalid_request"
        );
        let mut odd = HeaderMap::new();
        odd.insert(
            "x-api-key",
            HeaderValue::from_bytes(b"abc\xff").expect("opaque bytes"),
        );
        assert_eq!(
            refused(presented_token(&odd, None, false)),
            "invalid_request"
        );
    }

    /// Whatever order the headers came in, an unreadable `Authorization` is the reason given
    /// before an unreadable `X-API-Key`, and a refusal comes before a conflict or the URL.
    #[test]
    fn refusals_are_given_in_the_order_of_the_transports() {
        let mut both = HeaderMap::new();
        both.insert(
            "x-api-key",
            HeaderValue::from_bytes(b"abc\xff").expect("opaque bytes"),
        );
        both.append("api-key", HeaderValue::from_static("kgt_other"));
        both.append(
            "authorization",
            HeaderValue::from_static("Basic dXNlcjpwYXNz"),
        );
        assert_eq!(
            presented_token(&both, Some("api_token=kgt_url"), false),
            Err(TransportError::UnknownScheme)
        );
        both.remove("authorization");
        assert_eq!(
            presented_token(&both, None, false),
            Err(TransportError::NotVisibleAscii)
        );
        both.remove("x-api-key");
        assert_eq!(
            presented_token(&both, Some("api_token=kgt_url"), false),
            Err(TransportError::TokenInUrl)
        );
        assert_eq!(
            presented_token(&both, Some("api_token=kgt_url"), true),
            Err(TransportError::ConflictingTokens)
        );
    }
}
