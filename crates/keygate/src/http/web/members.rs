//! A workspace's people: the member list with roles and resource grants, inviting by email
//! (always a one-time link the invitee accepts, whether or not they have an account), and
//! pending invitations.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use keygate_domain::Member;
use serde::Deserialize;
use uuid::Uuid;

use super::layout::Layout;
use super::request::WorkspaceRequest;
use super::views::{comma_list, email, when};
use super::{Form, WebResult, done, lines, refused};
use crate::service::{InviteRequest, MemberPatchRequest, ServiceError};

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
            email: email(&m.user),
            roles: m.roles.iter().map(|r| r.name.clone()).collect(),
            grants: comma_list(&m.grants),
            teams: comma_list(m.teams.iter().map(|t| &t.name)),
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

/// An invitation just made: its link, shown only now, and whom it is for.
pub struct NewInvitation {
    pub link: String,
    pub email: String,
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
    invited: Option<NewInvitation>,
}

async fn members_page(
    req: &WorkspaceRequest,
    error: Option<String>,
    invited: Option<NewInvitation>,
) -> WebResult<MembersPage> {
    let slug = req.slug().await?;
    let members = req
        .keygate()
        .list_members(&req.signed, &req.reference)
        .await?
        .iter()
        .map(|m| MemberRow::new(m, req.signed.user.id))
        .collect();
    let roles = req.assignable_roles().await?;
    // Only those who manage members see invitations.
    let invitations = match req
        .keygate()
        .list_invitations(&req.signed, &req.reference)
        .await
    {
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
        layout: req.layout(&slug, "Members", "members").await?,
        slug,
        members,
        roles,
        invitations,
        error,
        invited,
    })
}

pub async fn list(req: WorkspaceRequest) -> WebResult<MembersPage> {
    members_page(&req, None, None).await
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
    req: WorkspaceRequest,
    headers: HeaderMap,
    Form(form): Form<InviteForm>,
) -> WebResult<Response> {
    let request = InviteRequest {
        email: form.email.trim().to_owned(),
        roles: form.roles,
        grants: lines(&form.grants),
    };
    match req
        .keygate()
        .invite(&req.signed, &req.reference, request)
        .await
    {
        Ok(made) => {
            let invited = NewInvitation {
                link: crate::http::invitation_url(&req.state.public_url(&headers), &made.code),
                email: made.invitation.email.to_string(),
            };
            let page = members_page(&req, None, Some(invited)).await?;
            Ok((StatusCode::CREATED, page).into_response())
        }
        Err(e) => refused(e, |error| members_page(&req, Some(error), None)).await,
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
    req: WorkspaceRequest,
    Path((_, user)): Path<(String, Uuid)>,
    Form(form): Form<MemberForm>,
) -> WebResult<Response> {
    let request = MemberPatchRequest {
        roles: Some(form.roles),
        grants: Some(lines(&form.grants)),
    };
    match req
        .keygate()
        .update_member(&req.signed, &req.reference, user, request)
        .await
    {
        Ok(_) => Ok(done(&format!("/w/{}/members", req.ws), "member-saved").into_response()),
        Err(e) => refused(e, |error| members_page(&req, Some(error), None)).await,
    }
}

pub async fn remove(
    req: WorkspaceRequest,
    Path((_, user)): Path<(String, Uuid)>,
) -> WebResult<Redirect> {
    req.keygate()
        .remove_member(&req.signed, &req.reference, user)
        .await?;
    Ok(done(&format!("/w/{}/members", req.ws), "member-removed"))
}

pub async fn cancel_invitation(
    req: WorkspaceRequest,
    Path((_, id)): Path<(String, Uuid)>,
) -> WebResult<Redirect> {
    req.keygate()
        .cancel_invitation(&req.signed, &req.reference, id)
        .await?;
    Ok(done(
        &format!("/w/{}/members", req.ws),
        "invitation-cancelled",
    ))
}
