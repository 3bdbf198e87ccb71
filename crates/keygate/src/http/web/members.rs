//! A workspace's people: the member list with roles and resource grants, inviting by email
//! (always a one-time link the invitee accepts, whether or not they have an account), and
//! pending invitations.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use keygate_domain::model::builtin_role;
use keygate_domain::{Member, Role};
use serde::Deserialize;
use uuid::Uuid;

use super::layout::Layout;
use super::session::Signed;
use super::views::when;
use super::{Form, WebResult, done, lines};
use crate::http::AppState;
use crate::service::{InviteRequest, MemberPatchRequest, ServiceError, WorkspaceRef};

pub struct MemberRow {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub roles: Vec<String>,
    pub grants: String,
    pub teams: String,
    pub joined: String,
    pub is_self: bool,
}

impl MemberRow {
    pub fn new(m: &Member, me: Uuid) -> Self {
        MemberRow {
            id: m.user.id,
            name: m.user.display_name.clone(),
            email: m
                .user
                .email
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            roles: m.roles.iter().map(|r| r.name.clone()).collect(),
            grants: m
                .grants
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            teams: m
                .teams
                .iter()
                .map(|t| t.name.clone())
                .collect::<Vec<_>>()
                .join(", "),
            joined: when(m.joined_at),
            is_self: m.user.id == me,
        }
    }

    pub fn has_role(&self, name: &str) -> bool {
        self.roles.iter().any(|r| r == name)
    }
}

pub struct InvitationRow {
    pub id: Uuid,
    pub email: String,
    pub roles: String,
    pub expires: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "members.html")]
pub struct MembersPage {
    layout: Layout,
    slug: String,
    members: Vec<MemberRow>,
    roles: Vec<String>,
    invitations: Vec<InvitationRow>,
    error: Option<String>,
    invite_link: Option<String>,
    invite_email: String,
}

/// Roles that can be given to a member: all but the public role, which anonymous callers get.
pub fn assignable(roles: &[Role]) -> Vec<String> {
    roles
        .iter()
        .filter(|r| r.name != builtin_role::PUBLIC)
        .map(|r| r.name.clone())
        .collect()
}

async fn members_page(
    state: &AppState,
    signed: &Signed,
    ws: &str,
    error: Option<String>,
    invite_link: Option<String>,
    invite_email: String,
) -> WebResult<MembersPage> {
    let reference = WorkspaceRef::parse(ws);
    let workspace = state.keygate.workspace(signed, &reference).await?.workspace;
    let slug = workspace.slug.to_string();
    let members = state
        .keygate
        .list_members(signed, &reference)
        .await?
        .iter()
        .map(|m| MemberRow::new(m, signed.user.id))
        .collect();
    let roles = assignable(&state.keygate.list_roles(signed, &reference).await?);
    // Only those who manage members see invitations.
    let invitations = match state.keygate.list_invitations(signed, &reference).await {
        Ok(list) => list
            .into_iter()
            .map(|i| InvitationRow {
                id: i.id,
                email: i.email.to_string(),
                roles: i.roles.join(", "),
                expires: when(i.expires_at),
            })
            .collect(),
        Err(ServiceError::Forbidden { .. }) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    Ok(MembersPage {
        layout: Layout::signed(state, signed, "Members", "members", Some(&slug)).await?,
        slug,
        members,
        roles,
        invitations,
        error,
        invite_link,
        invite_email,
    })
}

pub async fn list(
    State(state): State<AppState>,
    signed: Signed,
    Path(ws): Path<String>,
) -> WebResult<MembersPage> {
    members_page(&state, &signed, &ws, None, None, String::new()).await
}

#[derive(Deserialize)]
pub struct InviteForm {
    email: String,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    grants: String,
}

pub async fn invite(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed: Signed,
    Path(ws): Path<String>,
    Form(form): Form<InviteForm>,
) -> WebResult<Response> {
    let request = InviteRequest {
        email: form.email.trim().to_owned(),
        roles: form.roles,
        grants: lines(&form.grants),
    };
    match state
        .keygate
        .invite(&signed, &WorkspaceRef::parse(&ws), request)
        .await
    {
        Ok(invited) => {
            let link = crate::http::invitation_url(&state.public_url(&headers), &invited.code);
            let page = members_page(
                &state,
                &signed,
                &ws,
                None,
                Some(link),
                invited.invitation.email.to_string(),
            )
            .await?;
            Ok((StatusCode::CREATED, page).into_response())
        }
        Err(e @ (ServiceError::Invalid(_) | ServiceError::Conflict { .. })) => {
            let page =
                members_page(&state, &signed, &ws, Some(e.to_string()), None, form.email).await?;
            Ok((StatusCode::BAD_REQUEST, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct MemberForm {
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    grants: String,
}

pub async fn update(
    State(state): State<AppState>,
    signed: Signed,
    Path((ws, user)): Path<(String, Uuid)>,
    Form(form): Form<MemberForm>,
) -> WebResult<Response> {
    let request = MemberPatchRequest {
        roles: Some(form.roles),
        grants: Some(lines(&form.grants)),
    };
    match state
        .keygate
        .update_member(&signed, &WorkspaceRef::parse(&ws), user, request)
        .await
    {
        Ok(_) => Ok(done(&format!("/w/{ws}/members"), "member-saved").into_response()),
        Err(e @ (ServiceError::Invalid(_) | ServiceError::Conflict { .. })) => {
            let page = members_page(
                &state,
                &signed,
                &ws,
                Some(e.to_string()),
                None,
                String::new(),
            )
            .await?;
            Ok((StatusCode::BAD_REQUEST, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn remove(
    State(state): State<AppState>,
    signed: Signed,
    Path((ws, user)): Path<(String, Uuid)>,
) -> WebResult<Response> {
    state
        .keygate
        .remove_member(&signed, &WorkspaceRef::parse(&ws), user)
        .await?;
    Ok(done(&format!("/w/{ws}/members"), "member-removed").into_response())
}

pub async fn cancel_invitation(
    State(state): State<AppState>,
    signed: Signed,
    Path((ws, id)): Path<(String, Uuid)>,
) -> WebResult<Response> {
    state
        .keygate
        .cancel_invitation(&signed, &WorkspaceRef::parse(&ws), id)
        .await?;
    Ok(done(&format!("/w/{ws}/members"), "invitation-cancelled").into_response())
}
