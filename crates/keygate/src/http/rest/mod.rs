//! REST handlers under `/api/v1`, one file per resource, with the resource's wire types in its
//! `json` module (a type several resources use lives with the one that owns it). Handlers
//! translate wire types and call the service layer; they hold no rules of their own.

/// `From` a request body to the service's request with the same fields, each moved as it is, for
/// the wire types whose shape is the service's. Both sides are named field by field, so a field
/// added to either and not to the other does not compile.
macro_rules! same_fields {
    ($from:ident => $to:ident { $($field:ident),+ $(,)? }) => {
        impl From<$from> for $to {
            fn from(body: $from) -> Self {
                let $from { $($field),+ } = body;
                Self { $($field),+ }
            }
        }
    };
}

pub mod admin;
pub mod api_users;
pub mod audit;
pub mod health;
pub mod leaks;
pub mod me;
pub mod members;
pub mod roles;
pub mod teams;
pub mod tokens;
pub mod verify;
mod verify_answer;
pub mod webhooks;
pub mod workspace_tokens;
pub mod workspaces;

use axum::Extension;
use axum::handler::Handler;
use axum::routing::{MethodFilter, MethodRouter};
use utoipa::OpenApi;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use super::AppState;
use super::extract::{QueryTokenAllowed, mark_caller};
use super::middleware::AroundLayer;
use super::openapi;

/// Where the REST API lives: every handler here but the health checks is routed and documented
/// under it (`context_path`), without nesting, which would strip the prefix on every request.
pub const API_V1: &str = "/api/v1";

/// The paths of the decision routes, as documented (`API_V1` and the handler's `path`) and
/// answered by `super::front_door`.
pub const API_V1_VERIFY: &str = "/api/v1/verify";
pub const API_V1_CHECK: &str = "/api/v1/auth/check";
pub const HEALTHZ: &str = "/healthz";

/// The REST API and its OpenAPI document, from one source: each handler's `#[utoipa::path]`
/// gives the path and methods it is routed on and documented with. `/api/v1/...`, the readiness
/// check and the metrics; the decisions and the liveness check are in `decision_routes`.
/// (`/auth/forward`, routed for every method, is documented in `openapi::ApiDoc`.)
pub fn rest_router() -> OpenApiRouter<AppState> {
    let v1 = OpenApiRouter::new()
        .routes(routes!(me::me))
        .routes(routes!(tokens::refresh_personal))
        .routes(routes!(tokens::list, tokens::create))
        .routes(routes!(tokens::get, tokens::update, tokens::revoke))
        .routes(routes!(tokens::rotate))
        .routes(routes!(tokens::end_overlap))
        .routes(routes!(workspaces::list, workspaces::create))
        .routes(routes!(
            workspaces::get,
            workspaces::update,
            workspaces::delete
        ))
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
        .routes(routes!(webhooks::admin_list, webhooks::admin_create))
        .routes(routes!(
            webhooks::admin_get,
            webhooks::admin_update,
            webhooks::admin_delete
        ))
        .routes(routes!(webhooks::admin_rotate_secret))
        .routes(routes!(webhooks::admin_deliveries))
        .routes(routes!(webhooks::admin_redeliver))
        .merge(workspace_routes())
        .route_layer(axum::middleware::from_fn(mark_caller));

    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(v1)
        // Leak reports, authenticated by the report itself.
        .routes(routes!(leaks::revoke))
        .routes(routes!(leaks::github))
        .routes(routes!(leaks::gitlab_types))
        .routes(routes!(leaks::gitlab_revoke))
        .routes(routes!(health::readyz))
        .routes(routes!(health::metrics))
}

/// `routes!($handler)`, with the handler inside `$around` itself: see [`inside`].
macro_rules! routes_inside {
    ($around:expr, $handler:path) => {
        inside($around, routes!($handler), $handler)
    };
}

/// The routes other services call for every request they serve, and the liveness check they
/// poll: `verify`, `auth/check` and `/healthz`, documented as [`rest_router`]'s are. Outside the
/// management routes' `mark_caller` (verify's answer says `retiring`), and each handler inside
/// `around` itself: under the layer over the other routes, each request's service would be boxed
/// and cloned once more.
pub(super) fn decision_routes(around: AroundLayer) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes_inside!(around, verify::verify))
        .routes(routes_inside!(around, verify::check))
        .routes(routes_inside!(around, health::healthz))
}

/// The routes `documented` (what `routes!` made of `handler`) with `handler` inside `around`
/// itself, on the paths and methods documented.
fn inside<H, T>(
    around: AroundLayer,
    (schemas, paths, _): UtoipaMethodRouter<AppState>,
    handler: H,
) -> UtoipaMethodRouter<AppState>
where
    H: Handler<T, AppState>,
    T: 'static,
{
    let mut router = MethodRouter::new();
    for item in paths.paths.values() {
        let operations = [
            (MethodFilter::GET, &item.get),
            (MethodFilter::PUT, &item.put),
            (MethodFilter::POST, &item.post),
            (MethodFilter::DELETE, &item.delete),
            (MethodFilter::OPTIONS, &item.options),
            (MethodFilter::HEAD, &item.head),
            (MethodFilter::PATCH, &item.patch),
            (MethodFilter::TRACE, &item.trace),
        ];
        for (method, operation) in operations {
            if operation.is_some() {
                router = router.on(method, around.handler(handler.clone()));
            }
        }
    }
    (schemas, paths, router)
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
        .routes(routes!(api_users::update_token, api_users::revoke_token))
        .routes(routes!(api_users::rotate_token))
        .routes(routes!(workspace_tokens::list))
        .routes(routes!(workspace_tokens::revoke))
        .routes(routes!(leaks::get_policy, leaks::set_policy))
        .routes(routes!(webhooks::list, webhooks::create))
        .routes(routes!(webhooks::get, webhooks::update, webhooks::delete))
        .routes(routes!(webhooks::rotate_secret))
        .routes(routes!(webhooks::deliveries))
        .routes(routes!(webhooks::redeliver))
        .routes(routes!(audit::list).map(|route| route.route_layer(Extension(QueryTokenAllowed))))
}
