//! `/auth/forward`: forward-auth for reverse proxies (nginx `auth_request`, Traefik ForwardAuth,
//! Caddy `forward_auth`). The proxy sends the original request's method and URI in headers and
//! its credentials as they came; the configured route rules say what the request needs. 200 lets
//! the request through, with who it is in `X-Keygate-*` headers; 401 or 403 stops it. A request
//! that matches no rule is denied.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keygate_domain::Permission;
use uuid::Uuid;

use super::AppState;
use super::error::ApiError;
use super::extract::{client_ip, presented_token};
use super::openapi::{BadRequest, Forbidden, TooManyRequests, Unauthorized, Unavailable};
use crate::service::{Question, Refusal, ServiceError, WorkspaceRef};

/// Who the request is: the user's id, or `anonymous`.
const X_KEYGATE_USER: HeaderName = HeaderName::from_static("x-keygate-user");
/// The workspace the request acts in.
const X_KEYGATE_WORKSPACE: HeaderName = HeaderName::from_static("x-keygate-workspace");
/// The token presented.
const X_KEYGATE_TOKEN_ID: HeaderName = HeaderName::from_static("x-keygate-token-id");

/// The original method, as Traefik and Caddy (`X-Forwarded-Method`) or nginx
/// (`X-Original-Method`) send it.
fn original<'a>(headers: &'a HeaderMap, names: [&str; 2]) -> Option<&'a str> {
    names
        .iter()
        .find_map(|name| headers.get(*name))
        .and_then(|v| v.to_str().ok())
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
        ("X-Forwarded-Method" = Option<String>, Header, description = "The original method (Traefik, Caddy); without it or `X-Original-Method`, this request's method"),
        ("X-Forwarded-Uri" = Option<String>, Header, description = "The original path and query (Traefik, Caddy); this or `X-Original-URI` is required"),
        ("X-Original-Method" = Option<String>, Header, description = "The original method (nginx)"),
        ("X-Original-URI" = Option<String>, Header, description = "The original path and query (nginx)"),
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
        (status = 503, response = Unavailable),
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
    let method = original(headers, ["x-forwarded-method", "x-original-method"])
        .unwrap_or(request.method().as_str());
    let uri = original(headers, ["x-forwarded-uri", "x-original-uri"]).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_request",
            "forward-auth needs the original URI in X-Forwarded-Uri (Traefik, Caddy) or X-Original-URI (nginx)",
        )
    })?;
    let (path, query) = uri
        .split_once('?')
        .map_or((uri, None), |(p, q)| (p, Some(q)));
    let Some(demand) = state.routes.matching(method, path) else {
        return Err(ServiceError::Forbidden {
            missing: None,
            message: format!(
                "no route rule allows {method} {}",
                state.keygate.format().redact(path)
            ),
        }
        .into());
    };
    let ip = client_ip(request.extensions(), headers, &state.trusted_proxies);
    let presented = presented_token(headers, query, demand.query_token)?;
    // A permission filled from the path that is not a permission can be granted to nobody.
    let Ok(permission) = Permission::parse(&demand.permission) else {
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
    };
    let actor = match presented {
        None => None,
        Some(presented) => Some(state.keygate.authenticate_caller(&presented, ip).await?),
    };
    let decision = state.keygate.decide_for(actor.as_ref(), &question).await?;
    match decision.refusal {
        None => {
            let mut response = StatusCode::OK.into_response();
            let out = response.headers_mut();
            // Ids are written straight into the header values, without a string in between.
            let set = |out: &mut HeaderMap, name: HeaderName, id: Uuid| {
                let mut text = Uuid::encode_buffer();
                if let Ok(v) = HeaderValue::from_str(id.hyphenated().encode_lower(&mut text)) {
                    out.insert(name, v);
                }
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
            }
            out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
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
