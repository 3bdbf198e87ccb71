//! Extractors: JSON bodies and path parameters whose rejections are `ApiError`s, and the caller
//! identified by the token transports of SPEC §3.

use std::borrow::Cow;

use axum::body::Bytes;
use axum::body::HttpBody as _;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequest, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::ApiError;
use crate::service::{Actor, RateState, ServiceError, WorkspaceRef};

/// An optional JSON body: none when the request has no body at all; otherwise as [`Json`].
impl<T: DeserializeOwned> OptionalFromRequest<AppState> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Option<Self>, ApiError> {
        if req.body().is_end_stream() {
            return Ok(None);
        }
        <Self as FromRequest<AppState>>::from_request(req, state)
            .await
            .map(Some)
    }
}

/// A JSON request body; malformed, mistyped, oversized or unknown-field bodies become 4xx errors.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let reject =
            |rejection: JsonRejection| ApiError::from(rejection).redacted(state.keygate.format());
        // Plainly JSON: read straight, and only a body that does not read is read again the way
        // axum's extractor does, for its message naming where the body went wrong (which costs
        // every request that reads).
        let plain = req
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"application/json"));
        if !plain {
            return match <axum::Json<T> as FromRequest<AppState>>::from_request(req, state).await {
                Ok(axum::Json(value)) => Ok(Json(value)),
                Err(rejection) => Err(reject(rejection)),
            };
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| reject(JsonRejection::from(e)))?;
        match serde_json::from_slice(&bytes) {
            Ok(value) => Ok(Json(value)),
            Err(_) => match axum::Json::<T>::from_bytes(&bytes) {
                Ok(axum::Json(value)) => Ok(Json(value)),
                Err(rejection) => Err(reject(rejection)),
            },
        }
    }
}

/// Path parameters; a malformed id is a 400 naming the parameter.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(rejection) => Err(ApiError::from(rejection).redacted(state.keygate.format())),
        }
    }
}

/// Query parameters; unknown or mistyped ones are a 400.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned> FromRequestParts<AppState> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Query(value)),
            Err(rejection) => Err(ApiError::from(rejection).redacted(state.keygate.format())),
        }
    }
}

/// Marks a route that accepts `api_token` in its query string (exports and hooks that cannot
/// set headers). Added with `route_layer(Extension(QueryTokenAllowed))`.
#[derive(Debug, Clone, Copy)]
pub struct QueryTokenAllowed;

/// The token a request presents, if any, from every transport SPEC §3 accepts
/// ([`keygate_proto::transport`]). Two different tokens, a token in the URL of an unmarked route,
/// or an unknown `Authorization` scheme are refused with 400.
pub fn presented_token<'a>(
    headers: &'a HeaderMap,
    query: Option<&'a str>,
    query_allowed: bool,
) -> Result<Option<Cow<'a, str>>, ApiError> {
    keygate_proto::presented_token(headers, query, query_allowed)
        .map_err(|e| ApiError::bad_request(e.code(), e.to_string()))
}

/// The authenticated caller. Anonymous requests are refused with 401 on endpoints that take it;
/// a failed authentication is counted and sampled into the audit log.
pub struct Caller(pub Actor);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match MaybeCaller::from_request_parts(parts, state).await? {
            MaybeCaller(Some(actor)) => Ok(Caller(actor)),
            MaybeCaller(None) => Err(ServiceError::Unauthenticated.into()),
        }
    }
}

/// The caller and the workspace a path under `/api/v1/workspaces/{ws}/` names: what every
/// workspace-scoped handler starts from. A handler reads the path's other parameters by name
/// (`Path(TeamPath { team })`).
pub struct InWorkspace(pub Actor, pub WorkspaceRef);

/// The `{ws}` parameter alone, whatever else the path holds (for the web UI's `/w/{ws}/...` too).
#[derive(Deserialize)]
pub(crate) struct WorkspaceParam {
    pub ws: String,
}

impl FromRequestParts<AppState> for InWorkspace {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Caller(actor) = Caller::from_request_parts(parts, state).await?;
        let Path(WorkspaceParam { ws }) = Path::from_request_parts(parts, state).await?;
        Ok(InWorkspace(actor, WorkspaceRef::parse(&ws)))
    }
}

/// What the answer to a REST request says of its caller's token, learnt when the caller
/// authenticated.
#[derive(Debug, Clone, Copy, Default)]
struct CallerMarks {
    /// It was presented by a secret that a rotation replaced.
    retiring: bool,
    /// Where it stands against its tightest rate limit.
    rate: Option<RateState>,
}

tokio::task_local! {
    /// For the length of a REST request ([`mark_caller`]).
    static CALLER_MARKS: std::cell::Cell<CallerMarks>;
}

/// Middleware of the REST API's management routes: an answer to a caller who authenticated with
/// a secret that a rotation replaced (still in its grace period) says so, in
/// `X-Keygate-Token-Retiring: true`, so that clients can log it and move to the new secret; and
/// an answer to a caller whose token is held to rate limits carries the `RateLimit-*` headers.
pub async fn mark_caller(
    request: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let (marks, mut response) = CALLER_MARKS
        .scope(std::cell::Cell::new(CallerMarks::default()), async {
            let response = next.run(request).await;
            (CALLER_MARKS.with(std::cell::Cell::get), response)
        })
        .await;
    if marks.retiring {
        response.headers_mut().insert(
            keygate_proto::forward::X_KEYGATE_TOKEN_RETIRING,
            axum::http::HeaderValue::from_static("true"),
        );
    }
    if let Some(rate) = marks.rate
        && !response
            .headers()
            .contains_key(super::rate_headers::RATELIMIT_LIMIT)
    {
        super::rate_headers::set(response.headers_mut(), &rate);
    }
    response
}

/// The caller, or `None` for an anonymous request (which gets the public role).
pub struct MaybeCaller(pub Option<Actor>);

impl FromRequestParts<AppState> for MaybeCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let allowed = parts.extensions.get::<QueryTokenAllowed>().is_some();
        let Some(presented) = presented_token(&parts.headers, parts.uri.query(), allowed)? else {
            return Ok(MaybeCaller(None));
        };
        let ip = client_ip(&parts.extensions, &parts.headers, &state.trusted_proxies);
        let actor = state.keygate.authenticate_caller(&presented, ip).await?;
        let retiring = actor
            .token
            .as_ref()
            .is_some_and(|t| t.retiring_until.is_some());
        if retiring || actor.rate.is_some() {
            // Outside the REST management routes nothing listens.
            let marks = CallerMarks {
                retiring,
                rate: actor.rate,
            };
            let _ = CALLER_MARKS.try_with(|marked| marked.set(marks));
        }
        Ok(MaybeCaller(Some(actor)))
    }
}

/// The client's address, for handlers that record it without authenticating anyone.
pub struct ClientIp(pub Option<std::net::IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(client_ip(
            &parts.extensions,
            &parts.headers,
            &state.trusted_proxies,
        )))
    }
}

/// The client's address: the peer's, unless the peer is a trusted proxy, in which case the
/// nearest entry in `X-Forwarded-For`, reading from the right, that is not itself a trusted
/// proxy. When that entry is not an address (a byte that is not ASCII, a word, a blank), the
/// client is unknown (`None`: every allow-list refuses it), never the proxy; entries further left
/// were written by the client and are never read past it.
pub fn client_ip(
    extensions: &axum::http::Extensions,
    headers: &HeaderMap,
    trusted: &[ipnet::IpNet],
) -> Option<std::net::IpAddr> {
    let peer = extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip())?;
    let is_trusted = |ip: &std::net::IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    // Each line is read as bytes: a line that is not visible ASCII still holds the entries the
    // proxies appended to it.
    let entries: Vec<&[u8]> = headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|line| line.as_bytes().split(|b| *b == b','))
        .collect();
    for entry in entries.into_iter().rev() {
        match forwarded_address(entry) {
            Some(ip) if is_trusted(&ip) => continue,
            found => return found,
        }
    }
    Some(peer)
}

/// One `X-Forwarded-For` entry as an address: `203.0.113.9`, `2001:db8::1`, or either with the
/// port some proxies add (`203.0.113.9:4711`, `[2001:db8::1]:4711`).
fn forwarded_address(entry: &[u8]) -> Option<std::net::IpAddr> {
    let text = std::str::from_utf8(entry).ok()?.trim();
    text.parse()
        .ok()
        .or_else(|| text.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, SocketAddr};

    use axum::extract::ConnectInfo;
    use axum::http::{Extensions, HeaderMap, HeaderValue};

    use super::client_ip;

    /// The client's address as seen from `peer`, with `127.0.0.0/8` trusted and these
    /// `X-Forwarded-For` lines.
    fn seen(peer: &str, lines: &[&[u8]]) -> Option<IpAddr> {
        let mut extensions = Extensions::new();
        let peer: IpAddr = peer.parse().expect("peer");
        extensions.insert(ConnectInfo(SocketAddr::new(peer, 40_000)));
        let mut headers = HeaderMap::new();
        for line in lines {
            let value = HeaderValue::from_bytes(line).expect("a header value");
            headers.append("x-forwarded-for", value);
        }
        let trusted = ["127.0.0.0/8".parse().expect("cidr")];
        client_ip(&extensions, &headers, &trusted)
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().expect("ip"))
    }

    #[test]
    fn a_peer_that_is_not_a_trusted_proxy_cannot_choose_its_address() {
        assert_eq!(seen("192.0.2.1", &[b"203.0.113.9"]), ip("192.0.2.1"));
    }

    #[test]
    fn behind_trusted_proxies_the_nearest_untrusted_entry_is_the_client() {
        assert_eq!(seen("127.0.0.1", &[b"203.0.113.9"]), ip("203.0.113.9"));
        assert_eq!(
            seen("127.0.0.1", &[b"198.51.100.1, 203.0.113.9, 127.0.0.5"]),
            ip("203.0.113.9")
        );
        // Later lines are nearer.
        assert_eq!(
            seen("127.0.0.1", &[b"198.51.100.1", b"203.0.113.9"]),
            ip("203.0.113.9")
        );
        assert_eq!(
            seen("127.0.0.1", &[b"2001:db8::1, [2001:db8::2]:4711"]),
            ip("2001:db8::2")
        );
        assert_eq!(seen("127.0.0.1", &[b"203.0.113.9:4711"]), ip("203.0.113.9"));
        // No header, or only trusted proxies in it: the peer.
        assert_eq!(seen("127.0.0.1", &[]), ip("127.0.0.1"));
        assert_eq!(seen("127.0.0.1", &[b"127.0.0.7"]), ip("127.0.0.1"));
    }

    #[test]
    fn a_byte_that_is_not_ascii_does_not_make_the_client_the_proxy() {
        // What the client sent, with the address the proxy appended on the same line.
        assert_eq!(
            seen("127.0.0.1", &[b"\xc3\xa9, 203.0.113.9"]),
            ip("203.0.113.9")
        );
        assert_eq!(
            seen("127.0.0.1", &[b"\xff, 203.0.113.9"]),
            ip("203.0.113.9")
        );
        // The nearest entry cannot be read: the client is unknown, and never the proxy.
        assert_eq!(seen("127.0.0.1", &[b"\xff"]), None);
        assert_eq!(seen("127.0.0.1", &[b"203.0.113.9, \xff, 127.0.0.5"]), None);
    }

    #[test]
    fn entries_left_of_one_that_is_not_an_address_are_never_read() {
        for line in [
            &b"203.0.113.9, unknown"[..],
            b"203.0.113.9, ",
            b"203.0.113.9, , 127.0.0.2",
            b"203.0.113.9, 10.0.0.1/8",
        ] {
            assert_eq!(seen("127.0.0.1", &[line]), None, "{line:?}");
        }
    }
}
