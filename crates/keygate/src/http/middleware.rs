//! What every request crosses: the layer around all routes (body limit, panic catching, security
//! headers, metrics), the access log, the fallbacks, and the policy of the API docs.

use std::any::Any;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, HttpBody as _};
use axum::extract::DefaultBodyLimit;
use axum::handler::{Handler, Layered};
use axum::http::{HeaderValue, Request, Response, header};
use axum::response::IntoResponse;
use tower::{Layer, Service};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tracing::Span;

use super::AppState;
use super::error::ApiError;
use crate::metrics::RequestTimer;
use crate::service::ServiceError;

/// Largest request body accepted.
pub const BODY_LIMIT: usize = 64 * 1024;

/// What every route is wrapped in: [`Around`], as one layer over the routes (`Router::layer`), or
/// around a handler itself ([`AroundLayer::handler`]). Each `layer` call wraps every route in one
/// more boxed service, which every request clones and unwinds, and each nested future is polled
/// again on every wake-up; a handler wrapped itself is boxed once, with its route.
#[derive(Debug, Clone, Copy)]
pub(super) struct AroundLayer {
    hsts: bool,
    /// The route its requests are counted under, when known without the router
    /// ([`AroundLayer::counted_as`]); otherwise the one the router matched.
    route: Option<&'static str>,
}

impl AroundLayer {
    /// The layer for a Keygate reached at `public_url`: answers carry `Strict-Transport-Security`
    /// when it is an `https://` URL.
    pub(super) fn new(public_url: Option<&str>) -> Self {
        Self {
            hsts: public_url.is_some_and(|url| url.starts_with("https://")),
            route: None,
        }
    }

    /// The layer for the handler of `route`, reached without the router (see
    /// `super::front_door`): its requests are counted under `route`, as the router would count
    /// them.
    pub(super) fn counted_as(self, route: &'static str) -> Self {
        Self {
            route: Some(route),
            ..self
        }
    }

    /// `handler` inside [`Around`] itself, for a route that is not under the layer.
    pub(super) fn handler<H, T, S>(self, handler: H) -> Layered<Self, H, T, S>
    where
        H: Handler<T, S>,
        T: 'static,
        S: Clone + Send + Sync + 'static,
    {
        handler.layer(self)
    }
}

impl<S> Layer<S> for AroundLayer {
    type Service = Around<S>;

    fn layer(&self, inner: S) -> Around<S> {
        Around {
            inner,
            hsts: self.hsts,
            route: self.route,
        }
    }
}

/// Around each request: the body limit, a panic answered as a 500 in the usual envelope (the
/// connection stays up), the security headers on every answer, and the request's timing in the
/// metrics.
#[derive(Debug, Clone)]
pub(super) struct Around<S> {
    inner: S,
    /// Whether answers carry `Strict-Transport-Security` (Keygate is reached over https).
    hsts: bool,
    route: Option<&'static str>,
}

impl<S, E> Service<Request<Body>> for Around<S>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = E>,
{
    type Response = Response<Body>;
    type Error = E;
    type Future = AroundFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), E>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        let timer = RequestTimer::start(&request, self.route);
        // Read by the extractors of bodies (JSON, forms); a request without one has nothing to
        // limit, and is spared a larger table of extensions.
        if !request.body().is_end_stream() {
            DefaultBodyLimit::max(BODY_LIMIT).apply(&mut request);
        }
        let inner = panic::catch_unwind(AssertUnwindSafe(|| self.inner.call(request))).ok();
        AroundFuture {
            inner,
            timer: Some(timer),
            hsts: self.hsts,
        }
    }
}

pin_project_lite::pin_project! {
    /// A request in flight through [`Around`]; `inner` is `None` when the call itself panicked.
    pub(super) struct AroundFuture<F> {
        #[pin]
        inner: Option<F>,
        timer: Option<RequestTimer>,
        hsts: bool,
    }
}

impl<F, E> Future for AroundFuture<F>
where
    F: Future<Output = Result<Response<Body>, E>>,
{
    type Output = Result<Response<Body>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let polled = match this.inner.as_pin_mut() {
            Some(inner) => panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))),
            None => Err(Box::new("the handler's call panicked") as Box<dyn Any + Send>),
        };
        let response = match polled {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(Ok(response))) => response,
            Ok(Poll::Ready(Err(e))) => return Poll::Ready(Err(e)),
            Err(panic) => panic_response(panic),
        };
        let response = security_headers(response, *this.hsts);
        if let Some(timer) = this.timer.take() {
            timer.finish(response.status());
        }
        Poll::Ready(Ok(response))
    }
}

/// The target of request lines (the access log), logged at `debug`: off with the default `info`,
/// on with a filter such as `info,keygate::access=debug`.
pub const ACCESS_LOG: &str = "keygate::access";

/// Whether the log filter lets the access log's lines through (it is fixed when the server
/// starts).
pub(super) fn access_log_on() -> bool {
    tracing::enabled!(target: ACCESS_LOG, tracing::Level::DEBUG)
}

/// The access log around `router`, when the log filter lets its lines through (the filter is fixed
/// when the server starts). It costs a span, a formatted line and a wrapped body on every request:
/// with the default `info`, requests cross no trace layer.
pub(super) fn with_access_log(
    router: Router<AppState>,
    format: keygate_domain::TokenFormat,
) -> Router<AppState> {
    if !access_log_on() {
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

/// The headers every answer carries: HSTS behind an `https://` public URL, and `no-store` unless
/// the handler said otherwise (both only where the handler set none); `nosniff` always.
///
/// `Strict-Transport-Security` only when Keygate is reached over https (its `public_url` says
/// so): browsers then never send a session cookie or a token to it in clear. Nothing otherwise:
/// the header is ignored over http, and a deployment still on http must not be pinned to https.
fn security_headers(mut response: Response<Body>, hsts: bool) -> Response<Body> {
    let headers = response.headers_mut();
    if hsts {
        headers
            .entry(header::STRICT_TRANSPORT_SECURITY)
            .or_insert(HeaderValue::from_static("max-age=31536000"));
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
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    async fn panicking() -> &'static str {
        if true {
            panic!("a bug");
        }
        "never"
    }

    /// The answer `/boom` gets from a router whose handler there panics: with the layer over the
    /// router's routes, and with the handler inside `Around` itself. The two must be the same.
    async fn answer_of_panicking_handler(public_url: Option<&str>) -> Response<Body> {
        let around = AroundLayer::new(public_url);
        let layered: Router = Router::new().route("/boom", get(panicking)).layer(around);
        let wrapped: Router = Router::new().route("/boom", get(around.handler(panicking)));
        let mut answers = Vec::new();
        for router in [layered, wrapped] {
            let response = router
                .oneshot(Request::get("/boom").body(Body::empty()).expect("request"))
                .await
                .expect("infallible");
            let (parts, body) = response.into_parts();
            let body = axum::body::to_bytes(body, 1024).await.expect("body");
            answers.push((parts.status, parts.headers, body));
        }
        let (status, headers, body) = answers.pop().expect("wrapped");
        assert_eq!(answers.pop(), Some((status, headers.clone(), body.clone())));
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        response
    }

    #[tokio::test]
    async fn a_panicking_handler_is_answered_500_in_the_envelope_with_the_security_headers() {
        let response = answer_of_panicking_handler(Some("https://keygate.example")).await;
        assert_eq!(response.status(), 500);
        let headers = response.headers();
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        assert_eq!(
            headers[header::STRICT_TRANSPORT_SECURITY],
            "max-age=31536000"
        );
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .expect("body");
        let json: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(json["error"]["code"], "internal");
        assert!(!json.to_string().contains("a bug"), "{json}");
    }

    #[tokio::test]
    async fn no_hsts_when_keygate_is_reached_over_http() {
        let response = answer_of_panicking_handler(Some("http://keygate.example")).await;
        assert!(
            !response
                .headers()
                .contains_key(header::STRICT_TRANSPORT_SECURITY)
        );
        let response = answer_of_panicking_handler(None).await;
        assert!(
            !response
                .headers()
                .contains_key(header::STRICT_TRANSPORT_SECURITY)
        );
    }

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
