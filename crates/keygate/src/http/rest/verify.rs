//! Decisions: `POST /api/v1/verify` for other services (the token is in the body, or absent for
//! an anonymous caller) and `POST /api/v1/auth/check` for the caller's own token. Both answer 200
//! for a well-formed request.

pub(crate) mod json;

use std::net::IpAddr;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use self::json::{
    CheckJson, CheckRequestJson, VerifyJson, VerifyRequestJson, check_json, question,
};
use super::API_V1;
use super::verify_answer::{Memberships, VerifyAnswer};
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::extract::{Json, MaybeCaller};
use crate::http::openapi::{BadRequest, PayloadTooLarge, UnsupportedMediaType};
use crate::service::{AuthFailure, Refusal, ServiceError};

/// A refusal as the API documentation shows it: no identity, and the permission missing when
/// the refusal is `forbidden`.
fn refusal_example(code: &str, missing: Option<&str>) -> serde_json::Value {
    let mut answer = serde_json::json!({
        "valid": false,
        "code": code,
        "user": null,
        "workspace": null,
        "workspaces": [],
        "token_id": null,
        "permissions": [],
        "expires_at": null
    });
    if let Some(permission) = missing {
        answer["missing"] = permission.into();
    }
    answer
}

/// Verifies a token for another service.
///
/// Is this token valid, and may its holder do `permission` on `resource` in `workspace`? The token
/// travels in the body; no token asks about an anonymous caller (the workspace's public role).
/// Every well-formed request gets a 200: a refusal has `valid: false` and a `code`.
#[utoipa::path(
    context_path = API_V1,
    post,
    path = "/verify",
    operation_id = "verify",
    tag = "decisions",
    security(()),
    request_body(
        content = VerifyRequestJson,
        description = "The token to decide about (absent for an anonymous caller), and optionally the workspace, permission and resource asked about",
        examples(
            ("Token with permission on a resource" = (
                value = json!({
                    "token": "kgt_<the token your caller presented>",
                    "workspace": "acme",
                    "permission": "devices:read",
                    "resource": "device:thermostat-7"
                })
            )),
            ("Token only" = (
                summary = "Is this token valid, and who is it?",
                value = json!({"token": "kgt_<the token your caller presented>"})
            )),
            ("Anonymous caller" = (
                summary = "What may anyone do here? The workspace's public role decides",
                value = json!({"workspace": "acme", "permission": "devices:read"})
            ))
        )
    ),
    responses(
        (status = 200, description = "The decision, for every well-formed request: `valid` is true only with `code: ok`", body = VerifyJson,
            examples(
                ("Allowed" = (value = json!({
                    "valid": true,
                    "code": "ok",
                    "user": {
                        "id": "0190f5a6-0000-7000-8000-0000000000a1",
                        "kind": "api",
                        "email": null,
                        "display_name": "ingest",
                        "is_instance_admin": false,
                        "created_at": "2025-01-15T10:00:00Z"
                    },
                    "workspace": {
                        "id": "0190f5a6-0000-7000-8000-000000000001",
                        "slug": "acme",
                        "name": "Acme Corp",
                        "created_at": "2025-01-01T09:00:00Z",
                        "updated_at": "2025-01-01T09:00:00Z"
                    },
                    "workspaces": [{
                        "id": "0190f5a6-0000-7000-8000-000000000001",
                        "slug": "acme",
                        "name": "Acme Corp",
                        "created_at": "2025-01-01T09:00:00Z",
                        "updated_at": "2025-01-01T09:00:00Z",
                        "roles": ["viewer"]
                    }],
                    "token_id": "0190f5a6-3c1e-7b7a-9a52-6f1d2c3b4a59",
                    "permissions": ["devices:read"],
                    "expires_at": null
                }))),
                ("Forbidden" = (value = json!(refusal_example("forbidden", Some("devices:write"))))),
                ("Expired token" = (value = json!(refusal_example("token_expired", None))))
            )),
        (status = 400, response = BadRequest),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
    )
)]
pub async fn verify(
    State(state): State<AppState>,
    Json(body): Json<VerifyRequestJson>,
) -> Result<Response, ApiError> {
    let token = body.token.as_deref().map(str::trim);
    if token.is_none() && body.workspace.is_none() {
        return Err(ApiError::bad_request(
            "invalid_body",
            "give a token, a workspace, or both (no token asks about an anonymous caller)",
        ));
    }
    let client_ip = body
        .client_ip
        .as_deref()
        .map(|ip| {
            ip.trim().parse::<IpAddr>().map_err(|_| {
                ApiError::bad_request(
                    "invalid_body",
                    "client_ip: give an IPv4 or IPv6 address, such as 203.0.113.7",
                )
            })
        })
        .transpose()?;
    let mut question = question(
        body.workspace.as_deref(),
        body.permission.as_deref(),
        body.resource,
    )?;
    question.cost = body.cost;
    let decision = state.keygate.decide(token, client_ip, &question).await?;
    let actor = decision.actor.as_ref();
    // The caller's workspaces, for the answer (the decision itself does not need them): the
    // cached list, of which the token's scope may leave some out.
    let all = match actor {
        Some(a) => Some(state.keygate.memberships(&a.user).await?),
        None => None,
    };
    let memberships = Memberships {
        of: actor.zip(all.as_ref()),
    };
    let token = actor.and_then(|a| a.token.as_ref());
    let answer = VerifyAnswer {
        valid: decision.refusal.is_none(),
        code: decision.code().as_str(),
        missing: decision.refusal.as_ref().and_then(|r| r.missing()),
        user: actor.map(|a| &a.user),
        // The workspace is named back only to its members.
        workspace: decision
            .workspace
            .as_ref()
            .filter(|ws| memberships.iter().any(|m| m.workspace.id == ws.id)),
        token_id: token.map(|t| t.id),
        rights: decision.rights.as_ref(),
        expires_at: token.and_then(|t| t.expires_at),
        retiring: token.is_some_and(|t| t.retiring_until.is_some()),
        ip_checked: actor
            .zip(token)
            .filter(|(a, t)| t.is_ip_restricted(&a.user))
            .map(|_| client_ip.is_some()),
        rate_limit: match &decision.refusal {
            Some(Refusal::Credentials(AuthFailure::RateLimited(state))) => Some(*state),
            _ => actor.and_then(|a| a.rate),
        },
        workspaces: memberships,
    };
    match answer.to_bytes() {
        Ok(body) => Ok((
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response()),
        Err(e) => Err(ApiError::Service(ServiceError::internal(format!(
            "could not write the answer: {e}"
        )))),
    }
}

/// May the caller do this?
///
/// May the caller (the token presented, or an anonymous caller without one) do `permission` on
/// `resource` in `workspace`? Answers 200 for a well-formed request.
#[utoipa::path(
    context_path = API_V1,
    post,
    path = "/auth/check",
    operation_id = "check",
    tag = "decisions",
    security((), ("bearer" = []), ("token" = []), ("api_key" = []), ("x_api_key" = [])),
    request_body(
        content = CheckRequestJson,
        example = json!({"workspace": "acme", "permission": "devices:write", "resource": "device:thermostat-7"})
    ),
    responses(
        (status = 200, description = "The answer", body = CheckJson, example = json!({"allowed": false, "code": "forbidden", "missing": "devices:write"})),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
    )
)]
pub async fn check(
    State(state): State<AppState>,
    MaybeCaller(actor): MaybeCaller,
    Json(body): Json<CheckRequestJson>,
) -> Result<axum::Json<CheckJson>, ApiError> {
    let question = question(Some(&body.workspace), Some(&body.permission), body.resource)?;
    let decision = state.keygate.decide_for(actor.as_ref(), &question).await?;
    Ok(axum::Json(check_json(&decision)))
}
