//! The HTTP interface: the router, its middleware and the REST API.

pub mod error;
pub mod extract;
pub mod forward;
pub mod graphql;
pub mod openapi;
pub mod rest;
pub mod web;

use std::any::Any;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Request, Response, header};
use axum::response::IntoResponse;
use axum::{Extension, http::HeaderMap};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tracing::Span;
use utoipa::OpenApi;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::service::{Keygate, ServiceError};
use error::ApiError;
use extract::QueryTokenAllowed;
use rest::{
    admin, api_users, audit, health, me, members, roles, teams, tokens, verify, workspace_tokens,
    workspaces,
};

/// Largest request body accepted.
pub const BODY_LIMIT: usize = 64 * 1024;

/// What every handler can reach. Shared: extracting it clones one pointer, not its parts.
#[derive(Clone)]
pub struct AppState(std::sync::Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(std::sync::Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The parts of [`AppState`].
pub struct Shared {
    pub keygate: Keygate,
    pub graphql: graphql::KeygateSchema,
    /// Where users reach this Keygate (links in responses); from the request's Host when unset.
    pub public_url: Option<String>,
    /// Peers whose `X-Forwarded-For` names the client.
    pub trusted_proxies: std::sync::Arc<Vec<ipnet::IpNet>>,
    /// Forward-auth route rules.
    pub routes: std::sync::Arc<keygate_domain::route::RouteTable>,
    /// Which headers carry the original method and URI to forward-auth.
    pub forward_auth_headers: crate::config::ForwardAuthHeaders,
    /// How long a web UI sign-in lasts.
    pub session_lifetime: chrono::Duration,
}

impl Shared {
    /// The base URL for links, without a trailing slash.
    pub fn public_url(&self, headers: &HeaderMap) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => {
                let host = headers
                    .get(axum::http::header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or("localhost");
                format!("http://{host}")
            }
        }
    }
}

/// The page where an invited person accepts an invitation (the web UI's; `GET` with JSON on
/// `/api/v1/invitations/{code}` previews it).
pub fn invitation_url(base: &str, code: &str) -> String {
    format!("{base}/invitations/{code}")
}

/// The page where a person sets their password with a password link.
pub fn password_link_url(base: &str, code: &str) -> String {
    format!("{base}/password/{code}")
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

/// The target of request lines (the access log), logged at `debug`: off with the default `info`,
/// on with a filter such as `info,keygate::access=debug`.
pub const ACCESS_LOG: &str = "keygate::access";

pub fn router(state: AppState) -> Router {
    let (rest, openapi) = rest_router().split_for_parts();
    let format = state.keygate.format().clone();
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

    let router = Router::new()
        .merge(rest)
        .merge(graphql::routes())
        .merge(docs_with_policy(openapi::docs_routes(&openapi)))
        .merge(web::routes(state.clone()))
        // Documented in `openapi::ApiDoc`, once per method.
        .route(openapi::FORWARD_PATH, axum::routing::any(forward::forward))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // One `layer` call: each call wraps every route in one more boxed service, which every
        // request clones and unwinds. The first layer named is the outermost.
        .layer(
            ServiceBuilder::new()
                .layer(CatchPanicLayer::custom(panic_response))
                .layer(crate::metrics::TrackLayer)
                .layer(DefaultBodyLimit::max(BODY_LIMIT))
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::STRICT_TRANSPORT_SECURITY,
                    hsts(state.public_url.as_deref()),
                ))
                // No answer is to be read as another type than the one it says (a JSON error as
                // HTML).
                .layer(SetResponseHeaderLayer::overriding(
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ))
                // Responses may carry a secret or per-user data: never cache them, unless a
                // handler says otherwise (static assets).
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("no-store"),
                )),
        );
    // The access log costs a span, a formatted line and a wrapped body on every request: it is
    // only layered on when the log filter lets its lines through (the filter is fixed when the
    // server starts). With the default `info`, requests cross no trace layer.
    let router = if tracing::enabled!(target: ACCESS_LOG, tracing::Level::DEBUG) {
        router.layer(trace)
    } else {
        router
    };
    router.with_state(state)
}

/// Swagger UI loads its own scripts and styles from the binary and talks to this server only; it
/// sets inline styles (React), so those are allowed, inline script is not. No page may frame it.
const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                        img-src 'self' data:; font-src 'self' data:; connect-src 'self'; \
                        form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

fn docs_with_policy(docs: Router<AppState>) -> Router<AppState> {
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
fn hsts(public_url: Option<&str>) -> Option<HeaderValue> {
    public_url
        .is_some_and(|url| url.starts_with("https://"))
        .then(|| HeaderValue::from_static("max-age=31536000"))
}

/// The REST API and its OpenAPI document, from one source: each handler's `#[utoipa::path]`
/// gives the path and methods it is routed on and documented with. `/api/v1/...`, the health
/// checks and the metrics. (`/auth/forward`, routed for every method, is documented in
/// `openapi::ApiDoc`.)
pub fn rest_router() -> OpenApiRouter<AppState> {
    let v1 = OpenApiRouter::new()
        .routes(routes!(me::me))
        .routes(routes!(tokens::refresh_personal))
        .routes(routes!(tokens::list, tokens::create))
        .routes(routes!(tokens::get, tokens::revoke))
        .routes(routes!(tokens::rotate))
        .routes(routes!(workspaces::list, workspaces::create))
        .routes(routes!(
            workspaces::get,
            workspaces::update,
            workspaces::delete
        ))
        .routes(routes!(verify::verify))
        .routes(routes!(verify::check))
        .routes(routes!(members::preview))
        .routes(routes!(members::accept))
        .routes(routes!(admin::list, admin::create))
        .routes(routes!(admin::get, admin::delete))
        .routes(routes!(admin::disable))
        .routes(routes!(admin::enable))
        .routes(routes!(admin::list_tokens, admin::issue_token))
        .routes(routes!(admin::password_link))
        .routes(routes!(admin::set_password))
        .routes(routes!(admin::audit))
        .routes(routes!(admin::signup))
        .merge(workspace_routes());

    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(v1)
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(health::metrics))
}

/// Everything under `/api/v1/workspaces/{ws}/`.
fn workspace_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(members::list, members::invite))
        .routes(routes!(members::get, members::update, members::remove))
        .routes(routes!(members::list_invitations))
        .routes(routes!(members::cancel_invitation))
        .routes(routes!(roles::list, roles::create))
        .routes(routes!(roles::get, roles::put, roles::delete))
        .routes(routes!(teams::list, teams::create))
        .routes(routes!(teams::get, teams::update, teams::delete))
        .routes(routes!(teams::add_member, teams::remove_member))
        .routes(routes!(api_users::list, api_users::create))
        .routes(routes!(
            api_users::get,
            api_users::update,
            api_users::delete
        ))
        .routes(routes!(api_users::list_tokens, api_users::create_token))
        .routes(routes!(api_users::revoke_token))
        .routes(routes!(api_users::rotate_token))
        .routes(routes!(workspace_tokens::list))
        .routes(routes!(workspace_tokens::revoke))
        .routes(routes!(audit::list).map(|route| route.route_layer(Extension(QueryTokenAllowed))))
}

async fn not_found() -> ApiError {
    ApiError::RouteNotFound
}

async fn method_not_allowed() -> ApiError {
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
