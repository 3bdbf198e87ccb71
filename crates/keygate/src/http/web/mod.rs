//! The admin web UI at `/`: server-rendered pages (askama templates in `templates/`) over the
//! same service layer as REST and GraphQL. Every page works without script; `assets/ui.js` adds
//! copy buttons and confirmation dialogs. Styles and script are embedded in the binary.

mod account;
mod admin;
mod api_users;
pub mod assets;
mod audit;
mod auth;
mod error;
mod layout;
mod members;
mod request;
mod roles;
mod session;
mod teams;
mod tokens;
mod views;
mod webhooks;
mod workspaces;

use axum::Router;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::de::DeserializeOwned;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::http::AppState;
use crate::http::error::ApiError;
use keygate_domain::{RateLimit, RateLimits, ValidationError};

use crate::service::{ServiceError, TokenPatchRequest};
pub use error::WebError;

pub type WebResult<T> = Result<T, WebError>;

/// Pages run no inline script and load nothing from other hosts. Pico's icons are `data:` SVGs.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(workspaces::home))
        .route("/signin", get(auth::signin_page).post(auth::signin))
        .route("/signout", post(auth::signout))
        .route(
            "/invitations/{code}",
            get(auth::invitation_page).post(auth::accept),
        )
        .route("/invitations/{code}/join", post(auth::join))
        .route(
            "/password/{code}",
            get(auth::password_link_page).post(auth::set_password),
        )
        .route("/account", get(account::page))
        .route("/account/profile", post(account::profile))
        .route("/account/password", post(account::password))
        .route("/account/token", get(account::token_page))
        .route("/account/token/refresh", post(account::refresh))
        .route("/tokens", get(tokens::list).post(tokens::create))
        .route("/tokens/new", get(tokens::new))
        .route("/tokens/{id}", get(tokens::page))
        .route("/tokens/{id}/rotate", post(tokens::rotate))
        .route("/tokens/{id}/end-overlap", post(tokens::end_overlap))
        .route("/tokens/{id}/revoke", post(tokens::revoke))
        .route("/tokens/{id}/limits", post(tokens::limits))
        .route("/workspaces", post(workspaces::create))
        .route("/w/{ws}", get(workspaces::overview))
        .route(
            "/w/{ws}/settings",
            get(workspaces::settings).post(workspaces::save_settings),
        )
        .route("/w/{ws}/delete", post(workspaces::delete))
        .route("/w/{ws}/members", get(members::list).post(members::invite))
        .route("/w/{ws}/members/{user}", post(members::update))
        .route("/w/{ws}/members/{user}/remove", post(members::remove))
        .route(
            "/w/{ws}/invitations/{id}/cancel",
            post(members::cancel_invitation),
        )
        .route(
            "/w/{ws}/api-users",
            get(api_users::list).post(api_users::create),
        )
        .route(
            "/w/{ws}/api-users/{id}",
            get(api_users::show).post(api_users::update),
        )
        .route("/w/{ws}/api-users/{id}/delete", post(api_users::delete))
        .route(
            "/w/{ws}/api-users/{id}/tokens",
            post(api_users::create_token),
        )
        .route(
            "/w/{ws}/api-users/{id}/tokens/{token}/revoke",
            post(api_users::revoke_token),
        )
        .route(
            "/w/{ws}/api-users/{id}/tokens/{token}/limits",
            post(api_users::token_limits),
        )
        .route(
            "/w/{ws}/api-users/{id}/tokens/{token}/rotate",
            post(api_users::rotate_token),
        )
        .route("/w/{ws}/roles", get(roles::list).post(roles::create))
        .route("/w/{ws}/roles/{name}", get(roles::edit).post(roles::save))
        .route("/w/{ws}/roles/{name}/delete", post(roles::delete))
        .route("/w/{ws}/teams", get(teams::list).post(teams::create))
        .route("/w/{ws}/teams/{id}", get(teams::show).post(teams::update))
        .route("/w/{ws}/teams/{id}/delete", post(teams::delete))
        .route("/w/{ws}/audit", get(audit::list))
        .route("/admin/users", get(admin::users).post(admin::create))
        .route("/admin/users/{id}", get(admin::user))
        .route("/admin/users/{id}/disable", post(admin::disable))
        .route("/admin/users/{id}/enable", post(admin::enable))
        .route(
            "/admin/users/{id}/password-link",
            post(admin::password_link),
        )
        .route("/admin/users/{id}/delete", post(admin::delete))
        .route("/admin/audit", get(audit::instance))
        .route(
            "/admin/webhooks",
            get(webhooks::admin_list).post(webhooks::admin_create),
        )
        .route(
            "/admin/webhooks/{id}",
            get(webhooks::admin_show).post(webhooks::admin_update),
        )
        .route("/admin/webhooks/{id}/rotate", post(webhooks::admin_rotate))
        .route("/admin/webhooks/{id}/delete", post(webhooks::admin_delete))
        .route(
            "/admin/webhooks/{id}/deliveries/{message}/redeliver",
            post(webhooks::admin_redeliver),
        )
        .route(
            "/w/{ws}/webhooks",
            get(webhooks::list).post(webhooks::create),
        )
        .route(
            "/w/{ws}/webhooks/{id}",
            get(webhooks::show).post(webhooks::update),
        )
        .route("/w/{ws}/webhooks/{id}/rotate", post(webhooks::rotate))
        .route("/w/{ws}/webhooks/{id}/delete", post(webhooks::delete))
        .route(
            "/w/{ws}/webhooks/{id}/deliveries/{message}/redeliver",
            post(webhooks::redeliver),
        )
        .route("/ui/assets/{name}", get(assets::serve))
        .layer(axum::middleware::from_fn_with_state(
            state,
            session::csrf_guard,
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("referrer-policy"),
            HeaderValue::from_static("same-origin"),
        ))
}

/// A form body; repeated fields (`roles=a&roles=b`) fill a `Vec`.
pub struct Form<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequest<AppState> for Form<T> {
    type Rejection = WebError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        axum_extra::extract::Form::<T>::from_request(req, state)
            .await
            .map(|f| Form(f.0))
            .map_err(|e| {
                WebError::Api(ApiError::bad_request(
                    "invalid_form",
                    format!("the form could not be read: {}", e.body_text()),
                ))
            })
    }
}

/// Percent-encodes a value for a URL's query.
pub fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// After a change: back to `to`, with a notice saying what happened (see [`notice`]).
pub fn done(to: &str, what: &str) -> Redirect {
    let sep = if to.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{to}{sep}done={what}"))
}

/// A refused form: its page again, saying what was wrong, with status 400.
pub fn again(page: impl IntoResponse) -> Response {
    (StatusCode::BAD_REQUEST, page).into_response()
}

/// What a form answers when the service refuses it. A refusal the person can put right on the
/// form (a value that is not valid, a name already taken) shows the form's page again with the
/// message, made by `page`; anything else is the error page.
pub async fn refused<P, F>(e: ServiceError, page: impl FnOnce(String) -> F) -> WebResult<Response>
where
    P: IntoResponse,
    F: Future<Output = WebResult<P>>,
{
    match e {
        ServiceError::Invalid(_) | ServiceError::Conflict { .. } => {
            Ok(again(page(e.to_string()).await?))
        }
        e => Err(e.into()),
    }
}

/// The sentence a `?done=` code stands for. Codes are fixed, so a link cannot make a page say
/// anything else.
pub fn notice(code: &str) -> Option<&'static str> {
    Some(match code {
        "signed-out" => "You are signed out.",
        "profile" => "Profile saved.",
        "password" => "Password changed. Your other sessions have been signed out.",
        "token-revoked" => "Token revoked. It stopped working at once.",
        "overlap-ended" => "The replaced secret stopped working.",
        "limits-saved" => "Saved: the token is held to where and how often it says, from now on.",
        "workspace-saved" => "Workspace settings saved.",
        "member-saved" => "Member saved.",
        "joined" => "You joined the workspace.",
        "member-removed" => "Member removed.",
        "invitation-cancelled" => "Invitation cancelled.",
        "api-user-saved" => "API user saved.",
        "api-user-deleted" => "API user deleted. Its tokens stopped working at once.",
        "role-created" => "Role created.",
        "role-saved" => "Role saved.",
        "role-deleted" => "Role deleted.",
        "team-created" => "Team created.",
        "team-saved" => "Team saved.",
        "team-deleted" => "Team deleted.",
        "webhook-saved" => "Webhook saved.",
        "user-disabled" => "User disabled. Their tokens and sign-ins stopped working.",
        "user-enabled" => "User enabled.",
        "user-deleted" => "User deleted.",
        "webhook-redelivered" => "Queued: it is sent again within a second.",
        "webhook-deleted" => "Webhook deleted.",
        _ => return None,
    })
}

/// A text field's trimmed value, or `None` when it is left empty.
pub fn filled(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// An allow-list field: one network or address per line (or comma-separated); empty, `None`:
/// anywhere.
pub fn allow_list(text: &str) -> Option<Vec<String>> {
    let list = lines(text);
    (!list.is_empty()).then_some(list)
}

/// A rate limits field: one `name limit/seconds` per line; empty, `None`: no limit.
pub fn rate_limits(text: &str) -> Result<Option<Vec<RateLimit>>, ValidationError> {
    Ok(RateLimits::parse_lines(text)?.map(|l| l.limits().to_vec()))
}

/// A token's limits as the forms send them: both fields replace the current ones.
#[derive(serde::Deserialize, Default)]
pub struct LimitsForm {
    /// Networks or addresses, one per line; empty for anywhere.
    #[serde(default)]
    pub allowed_ips: String,
    /// `name limit/seconds`, one per line; empty for no limit.
    #[serde(default)]
    pub rate_limits: String,
}

impl LimitsForm {
    pub fn patch(&self) -> Result<TokenPatchRequest, ValidationError> {
        Ok(TokenPatchRequest {
            allowed_ips: Some(allow_list(&self.allowed_ips)),
            rate_limits: Some(rate_limits(&self.rate_limits)?),
        })
    }
}

/// The non-empty entries of a multi-line or comma-separated text field.
pub fn lines(text: &str) -> Vec<String> {
    text.split(['\n', ','])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}
