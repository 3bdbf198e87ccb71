//! What every request crosses: the layers around all routes (panic catching, metrics, body
//! limit, security headers, the access log), the fallbacks, and the policy of the API docs.

use std::any::Any;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Request, Response, header};
use axum::response::IntoResponse;
use tower::ServiceBuilder;
use tower::util::MapResponseLayer;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tracing::Span;

use super::AppState;
use super::error::ApiError;
use crate::service::ServiceError;

/// Largest request body accepted.
pub const BODY_LIMIT: usize = 64 * 1024;

/// The layers every route is wrapped in, in one `layer` call: each call wraps every route in one
/// more boxed service, which every request clones and unwinds. The first layer named is the
/// outermost.
pub(super) fn around_every_route(
    router: Router<AppState>,
    public_url: Option<&str>,
) -> Router<AppState> {
    let hsts = hsts(public_url);
    router.layer(
        ServiceBuilder::new()
            .layer(CatchPanicLayer::custom(panic_response))
            .layer(crate::metrics::TrackLayer)
            .layer(DefaultBodyLimit::max(BODY_LIMIT))
            .layer(MapResponseLayer::new(move |response| {
                security_headers(response, hsts.as_ref())
            })),
    )
}

/// The target of request lines (the access log), logged at `debug`: off with the default `info`,
/// on with a filter such as `info,keygate::access=debug`.
pub const ACCESS_LOG: &str = "keygate::access";

/// The access log around `router`, when the log filter lets its lines through (the filter is fixed
/// when the server starts). It costs a span, a formatted line and a wrapped body on every request:
/// with the default `info`, requests cross no trace layer.
pub(super) fn with_access_log(
    router: Router<AppState>,
    format: keygate_domain::TokenFormat,
) -> Router<AppState> {
    if !tracing::enabled!(target: ACCESS_LOG, tracing::Level::DEBUG) {
        return router;
    }
    let trace = TraceLayer::new_for_http()
        .make_span_with(move |req: &Request<Body>| {
            // The URI may carry a token (`api_token=`, or pasted by mistake, encoded or not) or
            // an invitation code: neither is logged.
            tracing::debug_span!(
                target: ACCESS_LOG,
                "request",
                method = %req.method(),
                uri = %loggable_uri(req.uri(), &format),
            )
        })
        .on_request(())
        .on_response(|res: &Response<Body>, latency: Duration, _span: &Span| {
            tracing::debug!(
                target: ACCESS_LOG,
                status = res.status().as_u16(),
                latency_us = latency.as_micros() as u64,
                "response"
            );
        });
    router.layer(trace)
}

/// What a log line may say of a request's URI: its path, percent-decoded (so that an encoded
/// token is recognised as one) with tokens and one-time codes hidden, and never the query string,
/// where `api_token` travels.
pub fn loggable_uri(uri: &axum::http::Uri, format: &keygate_domain::TokenFormat) -> String {
    let mut out = format
        .redact(&redact_invitation_code(&decoded(uri.path())))
        .into_owned();
    if uri.query().is_some() {
        out.push_str("?[query]");
    }
    out
}

/// A path percent-decoded until nothing is left to decode (at most three times: a double-encoded
/// token is still a token to a proxy that decodes twice), lossily as UTF-8.
pub fn decoded(path: &str) -> String {
    let mut text = path.to_owned();
    for _ in 0..3 {
        if !text.contains('%') {
            break;
        }
        text = percent_encoding::percent_decode_str(&text)
            .decode_utf8_lossy()
            .into_owned();
    }
    text
}

/// A URI with the one-time code after `/invitations/`, `/password/` or `/password-links/` hidden:
/// holding the code is what lets someone accept the invitation or set the password.
fn redact_invitation_code(uri: &str) -> String {
    for mark in ["/invitations/", "/password/", "/password-links/"] {
        let Some(at) = uri.find(mark) else {
            continue;
        };
        let start = at + mark.len();
        let end = uri[start..]
            .find(['/', '?', '#'])
            .map_or(uri.len(), |i| start + i);
        if end - start == keygate_domain::token::CODE_LEN {
            return format!("{}[code]{}", &uri[..start], &uri[end..]);
        }
    }
    uri.to_owned()
}

/// Swagger UI loads its own scripts and styles from the binary and talks to this server only; it
/// sets inline styles (React), so those are allowed, inline script is not. No page may frame it.
const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                        img-src 'self' data:; font-src 'self' data:; connect-src 'self'; \
                        form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub(super) fn docs_with_policy(docs: Router<AppState>) -> Router<AppState> {
    docs.layer(SetResponseHeaderLayer::overriding(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(DOCS_CSP),
    ))
    .layer(SetResponseHeaderLayer::overriding(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("DENY"),
    ))
}

/// `Strict-Transport-Security` when Keygate is reached over https (its `public_url` says so):
/// browsers then never send a session cookie or a token to it in clear. Nothing otherwise: the
/// header is ignored over http, and a deployment still on http must not be pinned to https.
/// The headers every answer carries, in one layer: HSTS behind an `https://` public URL, and
/// `no-store` unless the handler said otherwise (both only where the handler set none); `nosniff`
/// always.
fn security_headers(mut response: Response<Body>, hsts: Option<&HeaderValue>) -> Response<Body> {
    let headers = response.headers_mut();
    if let Some(hsts) = hsts {
        headers
            .entry(header::STRICT_TRANSPORT_SECURITY)
            .or_insert_with(|| hsts.clone());
    }
    // No answer is to be read as another type than the one it says (a JSON error as HTML).
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Answers may carry a secret or per-user data: never cache them, unless a handler says
    // otherwise (static assets).
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert_with(|| HeaderValue::from_static("no-store"));
    response
}

fn hsts(public_url: Option<&str>) -> Option<HeaderValue> {
    public_url
        .is_some_and(|url| url.starts_with("https://"))
        .then(|| HeaderValue::from_static("max-age=31536000"))
}

pub(super) async fn not_found() -> ApiError {
    ApiError::RouteNotFound
}

pub(super) async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// A panic is a bug: answer 500 in the usual envelope. The panic message is not logged, since it
/// could quote a value.
fn panic_response(_: Box<dyn Any + Send + 'static>) -> Response<Body> {
    tracing::error!("handler panicked");
    ApiError::Service(ServiceError::internal("handler panicked")).into_response()
}

#[cfg(test)]
mod tests {
    use super::redact_invitation_code;

    #[test]
    fn invitation_codes_are_hidden_in_logged_uris() {
        let code = "a".repeat(keygate_domain::token::CODE_LEN);
        assert_eq!(
            redact_invitation_code(&format!("/invitations/{code}")),
            "/invitations/[code]"
        );
        assert_eq!(
            redact_invitation_code(&format!("/api/v1/invitations/{code}/accept")),
            "/api/v1/invitations/[code]/accept"
        );
        assert_eq!(
            redact_invitation_code(&format!("/api/v1/invitations/{code}?x=1")),
            "/api/v1/invitations/[code]?x=1"
        );
        // Invitation ids (UUIDs) of the management routes stay readable.
        let id = "/w/acme/invitations/0190b5a6-8e1f-7c5a-9b8e-0a1b2c3d4e5f/cancel";
        assert_eq!(redact_invitation_code(id), id);
        assert_eq!(redact_invitation_code("/tokens"), "/tokens");
        assert_eq!(
            redact_invitation_code(&format!("/password/{code}")),
            "/password/[code]"
        );
        assert_eq!(
            redact_invitation_code(&format!("/api/v1/password-links/{code}")),
            "/api/v1/password-links/[code]"
        );
    }
}
