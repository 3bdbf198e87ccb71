//! The HTTP interface: one router for the REST API (`rest/`), GraphQL (`graphql/`), the web UI
//! (`web/`) and forward-auth (`forward.rs`), over what they share: the state every handler reaches
//! (`state.rs`), the extractors (`extract.rs`), the error answer (`error.rs`), the layers around
//! every route (`middleware.rs`) and the OpenAPI document (`openapi.rs`).

pub mod error;
pub mod extract;
pub mod forward;
pub mod github_keys;
pub mod graphql;
pub mod middleware;
pub mod openapi;
pub mod rate_headers;
pub mod rest;
pub mod state;
pub mod web;

use axum::Router;

pub use middleware::{ACCESS_LOG, BODY_LIMIT, decoded, loggable_uri};
pub use rest::rest_router;
pub use state::{AppState, LeakReporters, Shared, invitation_url, password_link_url};

/// Every route Keygate serves, with its layers.
pub fn router(state: AppState) -> Router {
    let (rest, openapi) = rest_router().split_for_parts();
    let router = Router::new()
        .merge(rest)
        .merge(graphql::routes())
        .merge(middleware::docs_with_policy(openapi::docs_routes(&openapi)))
        .merge(web::routes(state.clone()))
        // Documented in `openapi::ApiDoc`, once per method.
        .route(openapi::FORWARD_PATH, axum::routing::any(forward::forward))
        .fallback(middleware::not_found)
        .method_not_allowed_fallback(middleware::method_not_allowed);
    let router = middleware::around_every_route(router, state.public_url.as_deref());
    let router = middleware::with_access_log(router, state.keygate.format().clone());
    router.with_state(state)
}
