//! The HTTP interface: the router, its middleware and the REST API.

pub mod error;
pub mod extract;
pub mod graphql;
pub mod rest;

use std::any::Any;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Request, Response, header};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post, put};
use axum::{Extension, http::HeaderMap};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::service::{Keygate, ServiceError};
use error::ApiError;
use extract::QueryTokenAllowed;
use rest::{
    api_users, audit, health, me, members, roles, teams, tokens, verify, workspace_tokens,
    workspaces,
};

/// Largest request body accepted.
pub const BODY_LIMIT: usize = 64 * 1024;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub keygate: Keygate,
    pub graphql: graphql::KeygateSchema,
    /// Where users reach this Keygate (links in responses); from the request's Host when unset.
    pub public_url: Option<String>,
}

impl AppState {
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

pub fn router(state: AppState) -> Router {
    let v1 = Router::new()
        .route("/auth/me", get(me::me))
        .route(
            "/auth/personal-token/refresh",
            post(tokens::refresh_personal),
        )
        .route("/tokens", get(tokens::list).post(tokens::create))
        .route("/tokens/{id}", get(tokens::get).delete(tokens::revoke))
        .route("/tokens/{id}/rotate", post(tokens::rotate))
        .route(
            "/workspaces",
            get(workspaces::list).post(workspaces::create),
        )
        .route(
            "/workspaces/{ws}",
            get(workspaces::get)
                .patch(workspaces::update)
                .delete(workspaces::delete),
        )
        .route("/verify", post(verify::verify))
        .route("/auth/check", post(verify::check))
        .route("/invitations/{code}", get(members::preview))
        .route("/invitations/{code}/accept", post(members::accept))
        .nest("/workspaces/{ws}", workspace_routes())
        .method_not_allowed_fallback(method_not_allowed);

    let format = state.keygate.format().clone();
    let trace = TraceLayer::new_for_http()
        .make_span_with(move |req: &Request<Body>| {
            // The URI may carry a token (`api_token=`, or pasted by mistake): redact it.
            let uri = req.uri().to_string();
            tracing::info_span!(
                "request",
                method = %req.method(),
                uri = %format.redact(&uri),
            )
        })
        .on_request(())
        .on_response(|res: &Response<Body>, latency: Duration, _span: &Span| {
            tracing::info!(
                status = res.status().as_u16(),
                latency_us = latency.as_micros() as u64,
                "response"
            );
        });

    Router::new()
        .nest("/api/v1", v1)
        .merge(graphql::routes())
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Responses may carry a secret or per-user data: never cache them, unless a handler
        // says otherwise (static assets).
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(trace)
        .with_state(state)
}

/// Everything under `/api/v1/workspaces/{ws}/`.
fn workspace_routes() -> Router<AppState> {
    Router::new()
        .route("/members", get(members::list).post(members::invite))
        .route(
            "/members/{user}",
            get(members::get)
                .patch(members::update)
                .delete(members::remove),
        )
        .route("/invitations", get(members::list_invitations))
        .route("/invitations/{id}", delete(members::cancel_invitation))
        .route("/roles", get(roles::list).post(roles::create))
        .route(
            "/roles/{name}",
            get(roles::get).put(roles::put).delete(roles::delete),
        )
        .route("/teams", get(teams::list).post(teams::create))
        .route(
            "/teams/{team}",
            get(teams::get).patch(teams::update).delete(teams::delete),
        )
        .route(
            "/teams/{team}/members/{user}",
            put(teams::add_member).delete(teams::remove_member),
        )
        .route("/api-users", get(api_users::list).post(api_users::create))
        .route(
            "/api-users/{id}",
            get(api_users::get)
                .patch(api_users::update)
                .delete(api_users::delete),
        )
        .route(
            "/api-users/{id}/tokens",
            get(api_users::list_tokens).post(api_users::create_token),
        )
        .route(
            "/api-users/{id}/tokens/{token}",
            delete(api_users::revoke_token),
        )
        .route(
            "/api-users/{id}/tokens/{token}/rotate",
            post(api_users::rotate_token),
        )
        .route("/tokens", get(workspace_tokens::list))
        .route("/tokens/{id}", delete(workspace_tokens::revoke))
        .route(
            "/audit",
            get(audit::list).route_layer(Extension(QueryTokenAllowed)),
        )
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
