//! `/auth/forward`: forward-auth for reverse proxies (nginx `auth_request`, Traefik ForwardAuth,
//! Caddy `forward_auth`). The proxy sends the original request's method and URI in headers and
//! its credentials as they came; the configured route rules say what the request needs. 200 lets
//! the request through, with who it is in `X-Keygate-*` headers; 401 or 403 stops it. A request
//! that matches no rule is denied.
//!
//! A proxy overwrites the headers it sets itself and passes every other header on from the
//! client as it came. So the method and URI are read from one family only (the configured one),
//! or, by default, from whichever family is present, refusing a request whose two families
//! disagree: one of them was written by the client.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use keygate_domain::Permission;
use keygate_proto::forward::{
    X_FORWARDED_METHOD, X_FORWARDED_URI, X_KEYGATE_TOKEN_ID, X_KEYGATE_TOKEN_RETIRING,
    X_KEYGATE_USER, X_KEYGATE_WORKSPACE, X_ORIGINAL_METHOD, X_ORIGINAL_URI,
};
use uuid::Uuid;

use super::AppState;
use super::error::ApiError;
use super::extract::{client_ip, presented_token};
use super::openapi::{BadRequest, Forbidden, TooManyRequests, Unauthorized};
use crate::config::ForwardAuthHeaders;
use crate::service::{Question, Refusal, ServiceError, WorkspaceRef};

/// A header, and how messages name it.
struct Header {
    name: HeaderName,
    label: &'static str,
}

/// A pair of headers that name the original request's method and URI.
struct Family {
    method: Header,
    uri: Header,
}

/// Traefik and Caddy.
const X_FORWARDED: Family = Family {
    method: Header {
        name: X_FORWARDED_METHOD,
        label: "X-Forwarded-Method",
    },
    uri: Header {
        name: X_FORWARDED_URI,
        label: "X-Forwarded-Uri",
    },
};

/// nginx, as its configuration sets them.
const X_ORIGINAL: Family = Family {
    method: Header {
        name: X_ORIGINAL_METHOD,
        label: "X-Original-Method",
    },
    uri: Header {
        name: X_ORIGINAL_URI,
        label: "X-Original-URI",
    },
};

/// How often the request carries a header, and its value when once.
#[derive(Debug, Clone, Copy)]
enum Sent<'a> {
    Absent,
    Once(&'a HeaderValue),
    Repeated,
}

/// The method and URI headers of both families (X-Forwarded first), found in one pass over the
/// request's headers: cheaper than a lookup for each of the four.
fn sent(headers: &HeaderMap) -> [Sent<'_>; 4] {
    let names = [
        &X_FORWARDED.method.name,
        &X_FORWARDED.uri.name,
        &X_ORIGINAL.method.name,
        &X_ORIGINAL.uri.name,
    ];
    let mut found = [Sent::Absent; 4];
    for (name, value) in headers {
        if let Some(i) = names.iter().position(|n| *n == name) {
            found[i] = match found[i] {
                Sent::Absent => Sent::Once(value),
                Sent::Once(_) | Sent::Repeated => Sent::Repeated,
            };
        }
    }
    found
}

/// The one value of `header`, `None` when absent. Sent twice, empty or not text, it names
/// nothing for certain (a proxy that appends instead of replacing leaves the client's value
/// first): refused, never skipped in favour of another header.
fn single<'a>(sent: Sent<'a>, header: &Header) -> Result<Option<&'a str>, ApiError> {
    let name = header.label;
    let value = match sent {
        Sent::Absent => return Ok(None),
        Sent::Once(value) => value,
        Sent::Repeated => {
            return Err(ApiError::bad_request(
                "invalid_request",
                format!("{name} is sent more than once"),
            ));
        }
    };
    match value.to_str() {
        Ok(text) if !text.is_empty() => Ok(Some(text)),
        _ => Err(ApiError::bad_request(
            "invalid_request",
            format!("{name} is empty or not text"),
        )),
    }
}

/// The original method and URI as `family` names them, from its two headers as `sent`; `None`
/// when neither is present. Without the method header, `own_method` (this request's method)
/// stands in.
fn read_family<'a>(
    sent: [Sent<'a>; 2],
    family: &Family,
    own_method: &'a str,
) -> Result<Option<(&'a str, &'a str)>, ApiError> {
    let method = single(sent[0], &family.method)?;
    let uri = single(sent[1], &family.uri)?;
    match (method, uri) {
        (None, None) => Ok(None),
        (method, Some(uri)) => Ok(Some((method.unwrap_or(own_method), uri))),
        (Some(_), None) => Err(ApiError::bad_request(
            "invalid_request",
            format!("{} without {}", family.method.label, family.uri.label),
        )),
    }
}

/// The method and URI of the request the proxy asks about, from the header family `setting`
/// names. With [`ForwardAuthHeaders::Any`] either family counts, and a request carrying both
/// that disagree is refused: the proxy set one, the client the other, and Keygate cannot tell
/// which.
fn original_request<'a>(
    headers: &'a HeaderMap,
    own_method: &'a str,
    setting: ForwardAuthHeaders,
) -> Result<(&'a str, &'a str), ApiError> {
    let [
        forwarded_method,
        forwarded_uri,
        original_method,
        original_uri,
    ] = sent(headers);
    let forwarded = [forwarded_method, forwarded_uri];
    let original = [original_method, original_uri];
    let (found, wanted) = match setting {
        ForwardAuthHeaders::XForwarded => (
            read_family(forwarded, &X_FORWARDED, own_method)?,
            "X-Forwarded-Uri (forward_auth_headers = \"x-forwarded\")",
        ),
        ForwardAuthHeaders::XOriginal => (
            read_family(original, &X_ORIGINAL, own_method)?,
            "X-Original-URI (forward_auth_headers = \"x-original\")",
        ),
        ForwardAuthHeaders::Any => {
            let forwarded = read_family(forwarded, &X_FORWARDED, own_method)?;
            let original = read_family(original, &X_ORIGINAL, own_method)?;
            if let (Some(f), Some(o)) = (forwarded, original)
                && f != o
            {
                return Err(ApiError::bad_request(
                    "conflicting_forward_headers",
                    "X-Forwarded-Method/-Uri and X-Original-Method/-URI name different requests; \
                     the proxy must set both, or set forward_auth_headers to the one it sets",
                ));
            }
            (
                forwarded.or(original),
                "X-Forwarded-Uri (Traefik, Caddy) or X-Original-URI (nginx)",
            )
        }
    };
    found.ok_or_else(|| {
        ApiError::bad_request(
            "invalid_request",
            format!("forward-auth needs the original URI in {wanted}"),
        )
    })
}

/// Forward-auth for reverse proxies. The proxy sends the original request's method and URI in
/// headers, and its token as it came (any transport of the API; `api_token` in the original URI
/// only where the matching route rule allows it). The first `[[route]]` rule of the
/// configuration that matches the method and path says which permission is needed, on which
/// resource, in which workspace. Routed for every method: the document lists each one.
#[utoipa::path(
    get,
    path = "/auth/forward",
    operation_id = "forward_auth",
    tag = "decisions",
    security((), ("bearer" = []), ("token" = []), ("api_key" = []), ("x_api_key" = [])),
    params(
        ("X-Forwarded-Method" = Option<String>, Header, description = "The original method (Traefik, Caddy); without a method header, this request's method"),
        ("X-Forwarded-Uri" = Option<String>, Header, description = "The original path and query (Traefik, Caddy); this or `X-Original-URI` is required. Read unless `forward_auth_headers` is `x-original`; when both families are read and disagree, the answer is `400 conflicting_forward_headers`"),
        ("X-Original-Method" = Option<String>, Header, description = "The original method (nginx)"),
        ("X-Original-URI" = Option<String>, Header, description = "The original path and query (nginx). Read unless `forward_auth_headers` is `x-forwarded`"),
        ("X-Forwarded-For" = Option<String>, Header, description = "The client's address; believed only from a trusted proxy"),
    ),
    responses(
        (status = 200, description = "Allowed: let the request through. No body.",
            headers(
                ("X-Keygate-User" = String, description = "The caller's user id, or `anonymous` when the public role allowed it"),
                ("X-Keygate-Workspace" = String, description = "The id of the workspace the rule named"),
                ("X-Keygate-Token-Id" = String, description = "The id of the token presented; absent for anonymous callers"),
            )
        ),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn forward(State(state): State<AppState>, request: axum::extract::Request) -> Response {
    match decide(&state, request).await {
        Ok(response) => response,
        Err(e) => e.redacted(state.keygate.format()).into_response(),
    }
}

async fn decide(state: &AppState, request: axum::extract::Request) -> Result<Response, ApiError> {
    let headers = request.headers();
    let (method, uri) = original_request(
        headers,
        request.method().as_str(),
        state.forward_auth_headers,
    )?;
    let (path, query) = uri
        .split_once('?')
        .map_or((uri, None), |(p, q)| (p, Some(q)));
    let Some(demand) = state.routes.matching(method, path) else {
        return Err(ServiceError::Forbidden {
            missing: None,
            message: format!(
                "no route rule allows {method} {}",
                state.keygate.format().redact(&super::decoded(path))
            ),
        }
        .into());
    };
    let ip = client_ip(request.extensions(), headers, &state.trusted_proxies);
    let presented = presented_token(headers, query, demand.query_token)?;
    // A permission filled from the path that is not a permission can be granted to nobody.
    let Ok(permission) = demand.parse_permission() else {
        return Err(ServiceError::Forbidden {
            missing: None,
            message: format!("`{}` is not a permission", demand.permission),
        }
        .into());
    };
    let question = Question {
        workspace: Some(WorkspaceRef::parse(&demand.workspace)),
        permission: Some(permission),
        resource: demand.resource,
        cost: None,
    };
    let decision = match presented {
        // Boxed: without a token, the rarer path (see `Keygate::decide_caller`).
        None => Box::pin(state.keygate.decide_for(None, &question)).await?,
        Some(presented) => {
            state
                .keygate
                .decide_caller(&presented, ip, &question)
                .await?
        }
    };
    let actor = decision.actor;
    match decision.refusal {
        None => {
            let mut response = StatusCode::OK.into_response();
            let out = response.headers_mut();
            let set = |out: &mut HeaderMap, name: HeaderName, id: Uuid| {
                out.insert(name, id_header(id));
            };
            match &actor {
                Some(a) => set(out, X_KEYGATE_USER, a.user.id),
                None => {
                    out.insert(X_KEYGATE_USER, HeaderValue::from_static("anonymous"));
                }
            }
            if let Some(ws) = &decision.workspace {
                set(out, X_KEYGATE_WORKSPACE, ws.id);
            }
            if let Some(token) = actor.as_ref().and_then(|a| a.token.as_ref()) {
                set(out, X_KEYGATE_TOKEN_ID, token.id);
                if token.retiring_until.is_some() {
                    out.insert(X_KEYGATE_TOKEN_RETIRING, HeaderValue::from_static("true"));
                }
            }
            if let Some(rate) = actor.as_ref().and_then(|a| a.rate) {
                super::rate_headers::set(out, &rate);
            }
            Ok(response)
        }
        // Without a token, ask for one: the proxy passes the challenge on.
        Some(Refusal::Forbidden { .. } | Refusal::NotAMember) if actor.is_none() => {
            Err(ServiceError::Unauthenticated.into())
        }
        Some(Refusal::Forbidden { missing }) => Err(ServiceError::Forbidden {
            message: format!("missing `{missing}`"),
            // Named as a permission only when it is the permission (not a resource).
            missing: (missing == demand.permission)
                .then(|| Permission::parse(&missing).ok())
                .flatten(),
        }
        .into()),
        Some(Refusal::NotAMember) => Err(ServiceError::Forbidden {
            missing: None,
            message: "not a member of this workspace".into(),
        }
        .into()),
        Some(Refusal::Credentials(failure)) => {
            Err(ServiceError::InvalidCredentials(failure).into())
        }
    }
}

/// Slots for the ids each request thread has written as header values lately: an id takes the
/// slot its low bits name (random bits, in the ids Keygate makes), replacing the one there.
const ID_HEADER_SLOTS: usize = 256;

thread_local! {
    /// The same callers come back: their ids' header values are made once per thread and then
    /// shared (a `HeaderValue` clone is a reference count), not formatted, checked and allocated
    /// on every request.
    static ID_HEADERS: std::cell::RefCell<[Option<(Uuid, HeaderValue)>; ID_HEADER_SLOTS]> =
        const { std::cell::RefCell::new([const { None }; ID_HEADER_SLOTS]) };
}

/// The header value of `id`, hyphenated and lower-case.
fn id_header(id: Uuid) -> HeaderValue {
    ID_HEADERS.with_borrow_mut(|slots| {
        // Truncated on purpose: the low bits pick the slot.
        let slot = &mut slots[id.as_u128() as usize % ID_HEADER_SLOTS];
        if let Some((kept, value)) = slot
            && *kept == id
        {
            return value.clone();
        }
        let mut text = Uuid::encode_buffer();
        let value = HeaderValue::from_str(id.hyphenated().encode_lower(&mut text))
            .unwrap_or_else(|_| HeaderValue::from_static(""));
        *slot = Some((id, value.clone()));
        value
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_headers_are_the_hyphenated_ids_however_often_asked() {
        // Ids that share a slot (the same low bits) and ids that do not, asked in turn.
        let ids: Vec<Uuid> = (0..ID_HEADER_SLOTS + 10)
            .flat_map(|i| {
                let i = u128::try_from(i).expect("small");
                [Uuid::from_u128(i << 64 | 0xabc), Uuid::now_v7()]
            })
            .collect();
        for _ in 0..2 {
            for id in &ids {
                assert_eq!(id_header(*id).to_str().ok(), Some(id.to_string().as_str()));
            }
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).expect("header value"));
        }
        h
    }

    fn code(e: ApiError) -> &'static str {
        match e {
            ApiError::BadRequest { code, .. } => code,
            other => panic!("not a 400: {other:?}"),
        }
    }

    const ANY: ForwardAuthHeaders = ForwardAuthHeaders::Any;

    #[test]
    fn either_family_alone_names_the_request() {
        let f = headers(&[("x-forwarded-method", "POST"), ("x-forwarded-uri", "/a")]);
        assert_eq!(original_request(&f, "GET", ANY).ok(), Some(("POST", "/a")));
        let o = headers(&[("x-original-method", "PUT"), ("x-original-uri", "/b")]);
        assert_eq!(original_request(&o, "GET", ANY).ok(), Some(("PUT", "/b")));
        // Without a method header, the method of the request to /auth/forward.
        let uri_only = headers(&[("x-original-uri", "/b")]);
        assert_eq!(
            original_request(&uri_only, "DELETE", ANY).ok(),
            Some(("DELETE", "/b"))
        );
    }

    #[test]
    fn families_that_agree_pass_and_families_that_disagree_are_refused() {
        let agree = headers(&[
            ("x-forwarded-method", "GET"),
            ("x-forwarded-uri", "/a"),
            ("x-original-method", "GET"),
            ("x-original-uri", "/a"),
        ]);
        assert_eq!(
            original_request(&agree, "GET", ANY).ok(),
            Some(("GET", "/a"))
        );
        for (name, value) in [
            ("x-forwarded-uri", "/public/x"),
            ("x-forwarded-method", "DELETE"),
            ("x-original-uri", "/public/x"),
        ] {
            let mut h = agree.clone();
            h.insert(name, HeaderValue::from_str(value).expect("value"));
            let e = original_request(&h, "GET", ANY).expect_err(name);
            assert_eq!(code(e), "conflicting_forward_headers", "{name}");
        }
        // Beside a proxy that sets only the URI, a forged method alone is half a family, and a
        // forged whole family disagrees with the stand-in method.
        let forged_method = headers(&[("x-original-uri", "/a"), ("x-forwarded-method", "GET")]);
        assert_eq!(
            code(original_request(&forged_method, "DELETE", ANY).expect_err("half a family")),
            "invalid_request"
        );
        let forged_family = headers(&[
            ("x-original-uri", "/a"),
            ("x-forwarded-method", "GET"),
            ("x-forwarded-uri", "/a"),
        ]);
        assert_eq!(
            code(original_request(&forged_family, "DELETE", ANY).expect_err("method differs")),
            "conflicting_forward_headers"
        );
    }

    #[test]
    fn the_configured_family_wins_and_the_other_is_ignored() {
        let both = headers(&[
            ("x-forwarded-method", "GET"),
            ("x-forwarded-uri", "/public/x"),
            ("x-original-method", "DELETE"),
            ("x-original-uri", "/w/acme/devices/abc"),
        ]);
        assert_eq!(
            original_request(&both, "GET", ForwardAuthHeaders::XOriginal).ok(),
            Some(("DELETE", "/w/acme/devices/abc"))
        );
        assert_eq!(
            original_request(&both, "GET", ForwardAuthHeaders::XForwarded).ok(),
            Some(("GET", "/public/x"))
        );
        // The configured family must be there: the other one never stands in for it.
        let forwarded_only = headers(&[("x-forwarded-uri", "/public/x")]);
        assert_eq!(
            code(
                original_request(&forwarded_only, "GET", ForwardAuthHeaders::XOriginal)
                    .expect_err("missing")
            ),
            "invalid_request"
        );
    }

    #[test]
    fn repeated_empty_or_binary_headers_are_refused_not_skipped() {
        let twice = headers(&[
            ("x-original-uri", "/public/x"),
            ("x-original-uri", "/w/acme/devices/abc"),
        ]);
        let empty = headers(&[("x-original-uri", ""), ("x-forwarded-uri", "/public/x")]);
        let mut binary = headers(&[("x-forwarded-uri", "/public/x")]);
        binary.insert(
            "x-original-uri",
            HeaderValue::from_bytes(b"/w/\xff").expect("obs-text"),
        );
        for (what, h) in [("twice", twice), ("empty", empty), ("binary", binary)] {
            for setting in [ANY, ForwardAuthHeaders::XOriginal] {
                let e = original_request(&h, "GET", setting).expect_err(what);
                assert_eq!(code(e), "invalid_request", "{what}");
            }
        }
        assert_eq!(
            code(original_request(&HeaderMap::new(), "GET", ANY).expect_err("none")),
            "invalid_request"
        );
    }
}
