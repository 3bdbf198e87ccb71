//! `/api/v1/workspaces/{ws}/members` and `.../invitations`, and accepting an invitation.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use super::json::{
    AcceptInvitationJson, AcceptedJson, InvitationJson, InvitationListJson, InvitationPreviewJson,
    InviteJson, InvitedJson, MemberJson, MemberListJson, PatchMemberJson, WorkspaceJson,
};
use crate::api::AppState;
use crate::api::error::ApiError;
use crate::api::extract::{Caller, ClientIp, Json, Path};
use crate::service::{AcceptRequest, InviteRequest, Invited, MemberPatchRequest, WorkspaceRef};

pub async fn list(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(ws): Path<String>,
) -> Result<axum::Json<MemberListJson>, ApiError> {
    let members = state
        .keygate
        .list_members(&actor, &WorkspaceRef::parse(&ws))
        .await?;
    Ok(axum::Json(MemberListJson {
        members: members.iter().map(MemberJson::from).collect(),
    }))
}

/// 201 with the member when the email belongs to a user; 202 with the accept link otherwise.
pub async fn invite(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(ws): Path<String>,
    headers: HeaderMap,
    Json(body): Json<InviteJson>,
) -> Result<Response, ApiError> {
    let request = InviteRequest {
        email: body.email,
        roles: body.roles,
        grants: body.grants,
    };
    Ok(
        match state
            .keygate
            .invite(&actor, &WorkspaceRef::parse(&ws), request)
            .await?
        {
            Invited::Added(member) => {
                (StatusCode::CREATED, axum::Json(MemberJson::from(&member))).into_response()
            }
            Invited::Pending { invitation, code } => {
                let accept_url =
                    format!("{}/api/v1/invitations/{code}", state.public_url(&headers));
                let body = InvitedJson {
                    invitation: (&invitation).into(),
                    accept_url,
                    code,
                };
                (StatusCode::ACCEPTED, axum::Json(body)).into_response()
            }
        },
    )
}

pub async fn get(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((ws, user)): Path<(String, Uuid)>,
) -> Result<axum::Json<MemberJson>, ApiError> {
    let member = state
        .keygate
        .member(&actor, &WorkspaceRef::parse(&ws), user)
        .await?;
    Ok(axum::Json((&member).into()))
}

pub async fn update(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((ws, user)): Path<(String, Uuid)>,
    Json(body): Json<PatchMemberJson>,
) -> Result<axum::Json<MemberJson>, ApiError> {
    let request = MemberPatchRequest {
        roles: body.roles,
        grants: body.grants,
    };
    let member = state
        .keygate
        .update_member(&actor, &WorkspaceRef::parse(&ws), user, request)
        .await?;
    Ok(axum::Json((&member).into()))
}

pub async fn remove(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((ws, user)): Path<(String, Uuid)>,
) -> Result<StatusCode, ApiError> {
    state
        .keygate
        .remove_member(&actor, &WorkspaceRef::parse(&ws), user)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_invitations(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(ws): Path<String>,
) -> Result<axum::Json<InvitationListJson>, ApiError> {
    let invitations = state
        .keygate
        .list_invitations(&actor, &WorkspaceRef::parse(&ws))
        .await?;
    Ok(axum::Json(InvitationListJson {
        invitations: invitations.iter().map(InvitationJson::from).collect(),
    }))
}

pub async fn cancel_invitation(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((ws, id)): Path<(String, Uuid)>,
) -> Result<StatusCode, ApiError> {
    state
        .keygate
        .cancel_invitation(&actor, &WorkspaceRef::parse(&ws), id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What an invitation offers, for the person holding the link. The code is the credential.
pub async fn preview(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> Result<axum::Json<InvitationPreviewJson>, ApiError> {
    let (invitation, workspace) = state.keygate.invitation(&code).await?;
    Ok(axum::Json(InvitationPreviewJson {
        email: invitation.email.to_string(),
        workspace: (&workspace).into(),
        roles: invitation.roles,
        expires_at: invitation.expires_at,
    }))
}

pub async fn accept(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(code): Path<String>,
    Json(body): Json<AcceptInvitationJson>,
) -> Result<impl IntoResponse, ApiError> {
    let accepted = state
        .keygate
        .accept_invitation(
            &code,
            AcceptRequest {
                password: body.password.into(),
                display_name: body.display_name,
                ip,
            },
        )
        .await?;
    let body = AcceptedJson {
        user: (&accepted.user).into(),
        workspace: WorkspaceJson::from(&accepted.workspace),
        token: accepted.clear.into_exposed(),
    };
    Ok((
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(body),
    ))
}
