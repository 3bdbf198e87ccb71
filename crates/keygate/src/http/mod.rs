//! The HTTP interface: one router for the REST API (`rest/`), GraphQL (`graphql/`), the web UI
//! (`web/`) and forward-auth (`forward.rs`), over what they share: the state every handler reaches
//! (`state.rs`), the extractors (`extract.rs`), the error answer (`error.rs`), the layers around
//! every route (`middleware.rs`) and the OpenAPI document (`openapi.rs`).

pub mod error;
pub mod extract;
pub mod forward;
pub mod front_door;
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

/// What Keygate serves: [`router`], behind the [`front_door::FrontDoor`] that answers the
/// decision paths without it.
pub fn app(state: AppState) -> front_door::FrontDoor {
    let around = middleware::AroundLayer::new(state.public_url.as_deref());
    front_door::FrontDoor::new(routes(state.clone(), around), state, around)
}

/// Every route Keygate serves, with its layers: every route inside `middleware::AroundLayer`,
/// the decision routes each by itself (`rest::decision_routes`, forward-auth), the others under
/// one layer.
pub fn router(state: AppState) -> Router {
    let around = middleware::AroundLayer::new(state.public_url.as_deref());
    routes(state, around)
}

/// [`router`], with every route inside `around`.
fn routes(state: AppState, around: middleware::AroundLayer) -> Router {
    let (rest, mut openapi) = rest_router().split_for_parts();
    let (decisions, decisions_doc) = rest::decision_routes(around).split_for_parts();
    openapi.merge(decisions_doc);
    let layered = Router::new()
        .merge(rest)
        .merge(graphql::routes())
        .merge(middleware::docs_with_policy(openapi::docs_routes(&openapi)))
        .merge(web::routes(state.clone()))
        .fallback(middleware::not_found)
        .method_not_allowed_fallback(middleware::method_not_allowed)
        .layer(around);
    let decisions = decisions
        // Documented in `openapi::ApiDoc`, once per method.
        .route(
            openapi::FORWARD_PATH,
            axum::routing::any(around.handler(forward::forward)),
        )
        .method_not_allowed_fallback(around.handler(middleware::method_not_allowed));
    let router =
        middleware::with_access_log(layered.merge(decisions), state.keygate.format().clone());
    router.with_state(state)
}
