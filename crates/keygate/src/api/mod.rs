//! The HTTP interface: the router, its middleware and the REST API.

pub mod error;
pub mod extract;
pub mod rest;

use std::any::Any;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Request, Response, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::service::{Keygate, ServiceError};
use error::ApiError;
use rest::{health, me, tokens, verify, workspaces};

/// Largest request body accepted.
pub const BODY_LIMIT: usize = 64 * 1024;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub keygate: Keygate,
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
        .method_not_allowed_fallback(method_not_allowed)
        // Responses may carry a secret or per-user data: never cache them.
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));

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
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(trace)
        .with_state(state)
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
