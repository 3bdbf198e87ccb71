//! `/api/v1/workspaces/{ws}/members` and `.../invitations`, and accepting an invitation.

pub(crate) mod json;

use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keygate_domain::ValidationError;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use self::json::{
    AcceptInvitationJson, AcceptedJson, InvitationJson, InvitationListJson, InvitationPreviewJson,
    InviteJson, InvitedJson, JoinedJson, MemberJson, MemberListJson, PatchMemberJson,
};
use super::API_V1;
use super::admin::json::user_json;
use super::workspaces::json::workspace_json;
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::extract::{ClientIp, InWorkspace, Json, MaybeCaller, Path};
use crate::http::openapi::{Conflict, Forbidden, NotFound};
use crate::service::{AcceptRequest, Joined};

/// A member of the workspace (`.../members/{user}`).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct MemberPath {
    /// User id
    user: Uuid,
}

/// One of the workspace's invitations (`.../invitations/{id}`).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct InvitationPath {
    /// Invitation id
    id: Uuid,
}

/// The workspace's human members, with their roles, grants and teams.
#[utoipa::path(
    context_path = API_V1,
    get,
    path = "/workspaces/{ws}/members",
    operation_id = "list_members",
    tag = "members",
    responses(
        (status = 200, description = "The members", body = MemberListJson),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    InWorkspace(actor, ws): InWorkspace,
) -> Result<axum::Json<MemberListJson>, ApiError> {
    let members = state.keygate.list_members(&actor, &ws).await?;
    Ok(axum::Json(MemberListJson {
        members: members.iter().map(MemberJson::from).collect(),
    }))
}

/// Invites someone by email.
///
/// Always 202 with a one-time, expiring accept link to pass on, whether or not the email has an
/// account: nobody joins a workspace without accepting, and the answer does not tell who has an
/// account. A person with an account accepts with their token (or signed in to the web UI); a new
/// person sets a password. Each caller may send 50 invitations an hour (then 429).
#[utoipa::path(
    context_path = API_V1,
    post,
    path = "/workspaces/{ws}/members",
    operation_id = "invite_member",
    tag = "members",
    request_body(content = InviteJson, example = json!({"email": "dana@example.com", "roles": ["viewer"], "grants": ["device:*"]})),
    responses(
        (status = 202, description = "An invitation: pass `accept_url` on; it is shown this once", body = InvitedJson),
        (status = 409, response = Conflict),
    )
)]
pub async fn invite(
    State(state): State<AppState>,
    InWorkspace(actor, ws): InWorkspace,
    headers: HeaderMap,
    Json(body): Json<InviteJson>,
) -> Result<Response, ApiError> {
    let invited = state.keygate.invite(&actor, &ws, body.into()).await?;
    let accept_url = crate::http::invitation_url(&state.public_url(&headers), &invited.code);
    let body = InvitedJson {
        invitation: (&invited.invitation).into(),
        accept_url,
        code: invited.code,
    };
    Ok((StatusCode::ACCEPTED, axum::Json(body)).into_response())
}

/// One member of the workspace.
#[utoipa::path(
    context_path = API_V1,
    get,
    path = "/workspaces/{ws}/members/{user}",
    operation_id = "get_member",
    tag = "members",
    params(MemberPath),
    responses(
        (status = 200, description = "The member", body = MemberJson),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    InWorkspace(actor, ws): InWorkspace,
    Path(MemberPath { user }): Path<MemberPath>,
) -> Result<axum::Json<MemberJson>, ApiError> {
    let member = state.keygate.member(&actor, &ws, user).await?;
    Ok(axum::Json((&member).into()))
}

/// Sets a member's roles or resource grants.
///
/// The workspace keeps at least one owner.
#[utoipa::path(
    context_path = API_V1,
    patch,
    path = "/workspaces/{ws}/members/{user}",
    operation_id = "update_member",
    tag = "members",
    params(MemberPath),
    responses(
        (status = 200, description = "Updated", body = MemberJson),
        (status = 409, response = Conflict),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    InWorkspace(actor, ws): InWorkspace,
    Path(MemberPath { user }): Path<MemberPath>,
    Json(body): Json<PatchMemberJson>,
) -> Result<axum::Json<MemberJson>, ApiError> {
    let member = state
        .keygate
        .update_member(&actor, &ws, user, body.into())
        .await?;
    Ok(axum::Json((&member).into()))
}

/// Removes a member from the workspace.
///
/// The workspace keeps at least one owner.
#[utoipa::path(
    context_path = API_V1,
    delete,
    path = "/workspaces/{ws}/members/{user}",
    operation_id = "remove_member",
    tag = "members",
    params(MemberPath),
    responses(
        (status = 204, description = "Removed"),
        (status = 409, response = Conflict),
    )
)]
pub async fn remove(
    State(state): State<AppState>,
    InWorkspace(actor, ws): InWorkspace,
    Path(MemberPath { user }): Path<MemberPath>,
) -> Result<StatusCode, ApiError> {
    state.keygate.remove_member(&actor, &ws, user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The workspace's pending invitations.
#[utoipa::path(
    context_path = API_V1,
    get,
    path = "/workspaces/{ws}/invitations",
    operation_id = "list_invitations",
    tag = "members",
    responses(
        (status = 200, description = "The invitations (never their codes)", body = InvitationListJson),
    )
)]
pub async fn list_invitations(
    State(state): State<AppState>,
    InWorkspace(actor, ws): InWorkspace,
) -> Result<axum::Json<InvitationListJson>, ApiError> {
    let invitations = state.keygate.list_invitations(&actor, &ws).await?;
    Ok(axum::Json(InvitationListJson {
        invitations: invitations.iter().map(InvitationJson::from).collect(),
    }))
}

/// Cancels a pending invitation; its link stops working.
#[utoipa::path(
    context_path = API_V1,
    delete,
    path = "/workspaces/{ws}/invitations/{id}",
    operation_id = "cancel_invitation",
    tag = "members",
    params(InvitationPath),
    responses(
        (status = 204, description = "Cancelled"),
    )
)]
pub async fn cancel_invitation(
    State(state): State<AppState>,
    InWorkspace(actor, ws): InWorkspace,
    Path(InvitationPath { id }): Path<InvitationPath>,
) -> Result<StatusCode, ApiError> {
    state.keygate.cancel_invitation(&actor, &ws, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What an invitation offers.
///
/// For the person holding the link. The code is the credential.
#[utoipa::path(
    context_path = API_V1,
    get,
    path = "/invitations/{code}",
    operation_id = "preview_invitation",
    tag = "invitations",
    params(
        ("code" = String, Path, description = "The invitation code from the accept link"),
    ),
    security(()),
    responses(
        (status = 200, description = "The invitation", body = InvitationPreviewJson),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub async fn preview(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> Result<axum::Json<InvitationPreviewJson>, ApiError> {
    let (invitation, workspace) = state.keygate.invitation(&code).await?;
    Ok(axum::Json(InvitationPreviewJson {
        email: invitation.email.to_string(),
        workspace: workspace_json(&workspace),
        roles: invitation.roles,
        expires_at: invitation.expires_at,
    }))
}

/// Accepts an invitation.
///
/// A new person sends a password (and a display name): their account and personal token are
/// created and they join the workspace (201). A person who has an account sends their token and
/// no body (or `{}`): they join the workspace (200). Only the person the invitation is addressed
/// to can accept it this way; with a token, `{code}` may also be the invitation's id from
/// `GET /api/v1/auth/me`.
#[utoipa::path(
    context_path = API_V1,
    post,
    path = "/invitations/{code}/accept",
    operation_id = "accept_invitation",
    tag = "invitations",
    params(
        ("code" = String, Path, description = "The invitation code from the accept link (or, with a token, the invitation's id)"),
    ),
    security((), ("bearer" = []), ("token" = []), ("api_key" = []), ("x_api_key" = [])),
    request_body(content = AcceptInvitationJson, example = json!({"password": "correct horse battery staple", "display_name": "Dana"})),
    responses(
        (status = 200, description = "Accepted by a signed-in user, who is now a member", body = JoinedJson),
        (status = 201, description = "Accepted; `token` is the new personal token, shown this once", body = AcceptedJson),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub async fn accept(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    ClientIp(ip): ClientIp,
    Path(code): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    // A signed-in user may send no body at all (and then no content type).
    let bodiless = !request.headers().contains_key(header::CONTENT_TYPE);
    let body = if caller.is_some() && bodiless {
        AcceptInvitationJson::default()
    } else {
        Json::<AcceptInvitationJson>::from_request(request, &state)
            .await?
            .0
    };
    if let Some(actor) = caller {
        if body.password.is_some() || body.display_name.is_some() {
            return Err(ValidationError::new(
                "password",
                "you have an account: accept with your token and no password",
            )
            .into());
        }
        let Joined { member, workspace } =
            state.keygate.join_with_invitation(&actor, &code).await?;
        let body = JoinedJson {
            workspace: workspace_json(&workspace),
            member: (&member).into(),
        };
        return Ok((StatusCode::OK, axum::Json(body)).into_response());
    }
    let password = body.password.ok_or_else(|| {
        ValidationError::new(
            "password",
            "set a password for your new account, or accept with the token of the account you have",
        )
    })?;
    let accepted = state
        .keygate
        .accept_invitation(
            &code,
            AcceptRequest {
                password: password.into(),
                display_name: body.display_name,
                ip,
            },
        )
        .await?;
    let body = AcceptedJson {
        user: user_json(&accepted.user),
        workspace: workspace_json(&accepted.workspace),
        token: accepted.clear.into_exposed(),
    };
    Ok((
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(body),
    )
        .into_response())
}
