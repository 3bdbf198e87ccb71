//! The root query and mutation types. Every field calls the service layer with the caller, so
//! rights, validation and audit are the same as over REST.

use async_graphql::{Context, Object};
use uuid::Uuid;

use super::admin::{Admin, AdminUserGql, CreateUserInput, CreatedUserGql, orphans};
use super::inputs::{
    AcceptInvitationInput, SetPublicRoleInput, UpdateRoleInput, UpdateWorkspaceInput,
};
use super::types::{
    AcceptedInvitation, ApiUserGql, Check, CreatedApiUser, InvitationGql, InviteResult,
    LeakPolicyGql, MemberGql, PendingInvitation, RoleGql, TeamGql, TokenGql, TokenWithSecret,
    UserGql, Viewer, WorkspaceGql,
};
use super::{Answer, GqlState};
use crate::http::rest::api_users::json::{CreateApiUserJson, PatchApiUserJson};
use crate::http::rest::members::json::{InviteJson, PatchMemberJson};
use crate::http::rest::roles::json::CreateRoleJson;
use crate::http::rest::teams::json::{CreateTeamJson, PatchTeamJson};
use crate::http::rest::tokens::json::{CreateTokenJson, UpdateTokenJson};
use crate::http::rest::verify::json::{check_json, question};
use crate::http::rest::webhooks::json::{
    CreateWebhookJson, DeliveryJson, PatchWebhookJson, WebhookJson, WebhookWithSecretJson,
};
use crate::http::rest::workspaces::json::CreateWorkspaceJson;
use crate::service::{Hooks, NewTokenRequest, NewUserRequest, WorkspaceRef};

pub struct Query;

#[Object]
impl Query {
    /// The caller, or null for a request without a valid token.
    async fn user(&self, ctx: &Context<'_>) -> Option<Viewer> {
        GqlState::of(ctx).actor.as_ref().map(|a| Viewer {
            user: (*a.user).clone(),
            token: a.token.as_ref().map(|t| t.id),
        })
    }

    /// Instance administration: users, their tokens, the instance's audit log (instance admins
    /// only; each field refuses anyone else).
    async fn admin(&self) -> Admin {
        Admin
    }

    /// The caller's workspaces.
    async fn workspaces(&self, ctx: &Context<'_>) -> Answer<Vec<WorkspaceGql>> {
        let state = GqlState::of(ctx);
        let list = state.keygate.list_workspaces(state.actor()?).await?;
        Ok(list
            .iter()
            .map(|m| WorkspaceGql::from(&m.workspace))
            .collect())
    }

    /// A workspace the caller is a member of, by slug or id.
    async fn workspace(&self, ctx: &Context<'_>, slug: String) -> Answer<WorkspaceGql> {
        let state = GqlState::of(ctx);
        let m = state
            .keygate
            .workspace(state.actor()?, &WorkspaceRef::parse(&slug))
            .await?;
        Ok(WorkspaceGql::from(&m.workspace))
    }

    /// The instance-wide webhook endpoints, which receive every workspace's events and the
    /// instance's own (instance admins only).
    async fn instance_webhooks(&self, ctx: &Context<'_>) -> Answer<Vec<WebhookJson>> {
        let state = GqlState::of(ctx);
        let list = state
            .keygate
            .webhooks(state.actor()?, Hooks::Instance)
            .await?;
        Ok(list.iter().map(WebhookJson::from).collect())
    }

    /// An instance-wide endpoint's latest deliveries, newest first (instance admins only).
    async fn instance_webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        webhook: Uuid,
    ) -> Answer<Vec<DeliveryJson>> {
        let state = GqlState::of(ctx);
        let list = state
            .keygate
            .webhook_deliveries(state.actor()?, Hooks::Instance, webhook)
            .await?;
        Ok(list.iter().map(DeliveryJson::from).collect())
    }

    /// May the caller (or an anonymous caller, through the public role) do `permission`, on
    /// `resource` when given, in `workspace`?
    async fn check(
        &self,
        ctx: &Context<'_>,
        workspace: String,
        permission: String,
        resource: Option<String>,
    ) -> Answer<Check> {
        let state = GqlState::of(ctx);
        let question = question(Some(&workspace), Some(&permission), resource)?;
        let decision = state
            .keygate
            .decide_for(state.actor.as_ref(), &question)
            .await?;
        Ok(check_json(&decision).into())
    }
}

pub struct Mutation;

fn ws(reference: &str) -> WorkspaceRef {
    WorkspaceRef::parse(reference)
}

fn token_request(input: CreateTokenJson) -> Answer<NewTokenRequest> {
    Ok(NewTokenRequest::try_from(input)?)
}

#[Object]
impl Mutation {
    // The caller's own tokens.

    /// Creates a token; the secret is in this answer only.
    async fn create_token(
        &self,
        ctx: &Context<'_>,
        input: CreateTokenJson,
    ) -> Answer<TokenWithSecret> {
        let state = GqlState::of(ctx);
        let (token, clear) = state
            .keygate
            .create_token(state.actor()?, token_request(input)?)
            .await?;
        Ok(state.with_secret(&token, clear))
    }

    /// A new secret for one of the caller's tokens. The old one stops working at once, or with
    /// `graceSeconds` (at most 86400) that long after the new secret's first use.
    async fn rotate_token(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        grace_seconds: Option<u32>,
    ) -> Answer<TokenWithSecret> {
        let state = GqlState::of(ctx);
        let (token, clear) = state
            .keygate
            .rotate_token(state.actor()?, id, grace_seconds.unwrap_or(0))
            .await?;
        Ok(state.with_secret(&token, clear))
    }

    /// Ends the overlap of one of the caller's tokens: the secret its rotation replaced stops
    /// working now, on every node.
    async fn end_token_overlap(&self, ctx: &Context<'_>, id: Uuid) -> Answer<TokenGql> {
        let state = GqlState::of(ctx);
        let view = state.keygate.end_token_overlap(state.actor()?, id).await?;
        Ok(TokenGql::of_view(&view, state.keygate.clock().now()))
    }

    /// Changes one of the caller's tokens: where it may be used from (`allowedIps`; null: from
    /// anywhere). A scoped token may change only itself; a token held to an allow-list may set
    /// only lists within its own.
    async fn update_token(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: UpdateTokenJson,
    ) -> Answer<TokenGql> {
        let state = GqlState::of(ctx);
        let actor = state.actor()?;
        let token = state.keygate.update_token(actor, id, input.into()).await?;
        Ok(state.token(&token))
    }

    async fn revoke_token(&self, ctx: &Context<'_>, id: Uuid) -> Answer<TokenGql> {
        let state = GqlState::of(ctx);
        let token = state.keygate.revoke_token(state.actor()?, id).await?;
        Ok(state.token(&token))
    }

    /// A new secret for the caller's personal token. The old one stops working at once, or with
    /// `graceSeconds` (at most 86400) that long after the new secret's first use.
    async fn refresh_personal_token(
        &self,
        ctx: &Context<'_>,
        grace_seconds: Option<u32>,
    ) -> Answer<TokenWithSecret> {
        let state = GqlState::of(ctx);
        let (token, clear) = state
            .keygate
            .refresh_personal_token(state.actor()?, grace_seconds.unwrap_or(0))
            .await?;
        Ok(state.with_secret(&token, clear))
    }

    // Instance administration (instance admins only).

    /// Creates a person's account; its personal token, and with `passwordLink` a link where
    /// they choose their password, are in this answer only.
    async fn create_user(
        &self,
        ctx: &Context<'_>,
        input: CreateUserInput,
    ) -> Answer<CreatedUserGql> {
        let state = GqlState::of(ctx);
        let created = state
            .keygate
            .admin_create_user(
                state.actor()?,
                NewUserRequest {
                    email: input.email,
                    display_name: input.display_name,
                    password: None,
                    workspace: input.workspace,
                    instance_admin: input.instance_admin,
                    password_link: input.password_link,
                },
            )
            .await?;
        Ok(CreatedUserGql {
            user: (&created.user).into(),
            personal_token: created.clear.expose().to_owned(),
            password_link: created
                .password_link
                .as_ref()
                .map(|link| crate::http::password_link_url(&state.public_url, &link.code)),
        })
    }

    /// Disables a user: their tokens and sign-ins stop working at once.
    async fn disable_user(&self, ctx: &Context<'_>, id: Uuid) -> Answer<AdminUserGql> {
        let state = GqlState::of(ctx);
        let user = state
            .keygate
            .admin_set_disabled(state.actor()?, id, true)
            .await?;
        Ok((&user).into())
    }

    async fn enable_user(&self, ctx: &Context<'_>, id: Uuid) -> Answer<AdminUserGql> {
        let state = GqlState::of(ctx);
        let user = state
            .keygate
            .admin_set_disabled(state.actor()?, id, false)
            .await?;
        Ok((&user).into())
    }

    /// Deletes a user. A workspace they are the last owner of is deleted with
    /// `deleteOrphanedWorkspaces`, or handed over to the person `handOverTo` names.
    async fn delete_user(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        #[graphql(default)] delete_orphaned_workspaces: bool,
        hand_over_to: Option<Uuid>,
    ) -> Answer<bool> {
        let state = GqlState::of(ctx);
        let orphans = orphans(delete_orphaned_workspaces, hand_over_to)?;
        state
            .keygate
            .admin_delete_user(state.actor()?, id, orphans)
            .await?;
        Ok(true)
    }

    /// A new one-time link where a person chooses their password (earlier ones stop working).
    async fn user_password_link(&self, ctx: &Context<'_>, id: Uuid) -> Answer<String> {
        let state = GqlState::of(ctx);
        let link = state
            .keygate
            .admin_password_link(state.actor()?, id)
            .await?;
        Ok(crate::http::password_link_url(
            &state.public_url,
            &link.code,
        ))
    }

    // Workspaces.

    async fn create_workspace(
        &self,
        ctx: &Context<'_>,
        input: CreateWorkspaceJson,
    ) -> Answer<WorkspaceGql> {
        let state = GqlState::of(ctx);
        let m = state
            .keygate
            .create_workspace(state.actor()?, input.into())
            .await?;
        Ok(WorkspaceGql::from(&m.workspace))
    }

    async fn update_workspace(
        &self,
        ctx: &Context<'_>,
        workspace: String,
        input: UpdateWorkspaceInput,
    ) -> Answer<WorkspaceGql> {
        let state = GqlState::of(ctx);
        let m = state
            .keygate
            .update_workspace(state.actor()?, &ws(&workspace), input.into())
            .await?;
        Ok(WorkspaceGql::from(&m.workspace))
    }

    /// Sets what happens to a token of the workspace that is reported leaked (needs
    /// `workspace:manage`).
    async fn set_leak_policy(
        &self,
        ctx: &Context<'_>,
        workspace: String,
        policy: LeakPolicyGql,
    ) -> Answer<LeakPolicyGql> {
        let state = GqlState::of(ctx);
        let set = state
            .keygate
            .set_leak_policy(state.actor()?, &ws(&workspace), policy.into())
            .await?;
        Ok(set.into())
    }

    async fn delete_workspace(&self, ctx: &Context<'_>, workspace: String) -> Answer<bool> {
        let state = GqlState::of(ctx);
        state
            .keygate
            .delete_workspace(state.actor()?, &ws(&workspace))
            .await?;
        Ok(true)
    }

    // Members and invitations.

    /// Creates an invitation with a one-time link, whether or not the email has an account:
    /// nobody joins without accepting, and the answer does not tell who has an account. Always a
    /// `PendingInvitation` (the union keeps `Member` for older clients).
    async fn invite_member(
        &self,
        ctx: &Context<'_>,
        workspace: String,
        input: InviteJson,
    ) -> Answer<InviteResult> {
        let state = GqlState::of(ctx);
        let invited = state
            .keygate
            .invite(state.actor()?, &ws(&workspace), input.into())
            .await?;
        Ok(InviteResult::PendingInvitation(PendingInvitation {
            invitation: InvitationGql::from(&invited.invitation),
            accept_url: crate::http::invitation_url(&state.public_url, &invited.code),
            code: invited.code,
        }))
    }

    async fn update_member(
        &self,
        ctx: &Context<'_>,
        workspace: String,
        user: Uuid,
        input: PatchMemberJson,
    ) -> Answer<MemberGql> {
        let state = GqlState::of(ctx);
        let m = state
            .keygate
            .update_member(state.actor()?, &ws(&workspace), user, input.into())
            .await?;
        Ok(MemberGql::from(&m))
    }

    async fn remove_member(
        &self,
        ctx: &Context<'_>,
        workspace: String,
        user: Uuid,
    ) -> Answer<bool> {
        let state = GqlState::of(ctx);
        state
            .keygate
            .remove_member(state.actor()?, &ws(&workspace), user)
            .await?;
        Ok(true)
    }

    async fn cancel_invitation(
        &self,
        ctx: &Context<'_>,
        workspace: String,
        id: Uuid,
    ) -> Answer<bool> {
        let state = GqlState::of(ctx);
        state
            .keygate
            .cancel_invitation(state.actor()?, &ws(&workspace), id)
            .await?;
        Ok(true)
    }

    /// The invited person sets a password and gets their account and personal token. Needs no
    /// token: the code is the credential.
    async fn accept_invitation(
        &self,
        ctx: &Context<'_>,
        code: String,
        input: AcceptInvitationInput,
    ) -> Answer<AcceptedInvitation> {
        let state = GqlState::of(ctx);
        let accepted = state
            .keygate
            .accept_invitation(&code, input.into_request(state.ip))
            .await?;
        Ok(AcceptedInvitation {
            user: UserGql::from(&accepted.user),
            workspace: WorkspaceGql::from(&accepted.workspace),
            secret: accepted.clear.into_exposed(),
        })
    }

    /// A person with an account accepts an invitation addressed to their email, with their
    /// token: by the code from the link, or by the id from `user { invitations }`. Returns the new
    /// membership.
    async fn join_workspace(
        &self,
        ctx: &Context<'_>,
        code: Option<String>,
        id: Option<Uuid>,
    ) -> Answer<MemberGql> {
        let state = GqlState::of(ctx);
        let actor = state.actor()?;
        let code_or_id = match (code, id) {
            (Some(code), None) => code,
            (None, Some(id)) => id.hyphenated().to_string(),
            _ => {
                return Err(keygate_domain::ValidationError::new(
                    "code",
                    "give either the invitation's code or its id",
                )
                .into());
            }
        };
        let joined = state
            .keygate
            .join_with_invitation(actor, &code_or_id)
            .await?;
        Ok(MemberGql::from(&joined.member))
    }

    // Roles.

    async fn create_role(
        &self,
        ctx: &Context<'_>,
        workspace: String,
        input: CreateRoleJson,
    ) -> Answer<RoleGql> {
        let state = GqlState::of(ctx);
        let role = state
            .keygate
            .create_role(state.actor()?, &ws(&workspace), input.into())
            .await?;
        Ok(RoleGql::from(&role))
    }

    /// Replaces a custom role's permissions.
    async fn update_role(
        &self,
        ctx: &Context<'_>,
        workspace: String,
        name: String,
        input: UpdateRoleInput,
    ) -> Answer<RoleGql> {
        let state = GqlState::of(ctx);
        let role = state
            .keygate
            .update_role(state.actor()?, &ws(&workspace), &name, input.into())
            .await?;
        Ok(RoleGql::from(&role))
    }

    /// Sets what anonymous callers may do in the workspace.
    async fn set_public_role(
        &self,
        ctx: &Context<'_>,
        workspace: String,
        input: SetPublicRoleInput,
    ) -> Answer<RoleGql> {
        let state = GqlState::of(ctx);
        let role = state
            .keygate
            .update_role(
                state.actor()?,
                &ws(&workspace),
                keygate_domain::model::builtin_role::PUBLIC,
                input.into(),
            )
            .await?;
        Ok(RoleGql::from(&role))
    }

    async fn delete_role(
        &self,
        ctx: &Context<'_>,
        workspace: String,
        name: String,
    ) -> Answer<bool> {
        let state = GqlState::of(ctx);
        state
            .keygate
            .delete_role(state.actor()?, &ws(&workspace), &name)
            .await?;
        Ok(true)
    }

    // Teams.

    async fn create_team(
        &self,
        ctx: &Context<'_>,
        workspace: String,
        input: CreateTeamJson,
    ) -> Answer<TeamGql> {
        let state = GqlState::of(ctx);
        let team = state
            .keygate
            .create_team(state.actor()?, &ws(&workspace), input.into())
            .await?;
        Ok(TeamGql::from(&team))
    }

    /// Changes a team (by id or name); lists given replace the current ones.
    async fn update_team(
        &self,
        ctx: &Context<'_>,
        workspace: String,
        team: String,
        input: PatchTeamJson,
    ) -> Answer<TeamGql> {
        let state = GqlState::of(ctx);
        let team = state
            .keygate
            .update_team(state.actor()?, &ws(&workspace), &team, input.into())
            .await?;
        Ok(TeamGql::from(&team))
    }

    async fn add_team_member(
        &self,
        ctx: &Context<'_>,
        workspace: String,
        team: String,
        user: Uuid,
    ) -> Answer<TeamGql> {
        let state = GqlState::of(ctx);
        let team = state
            .keygate
            .set_team_member(state.actor()?, &ws(&workspace), &team, user, true)
            .await?;
        Ok(TeamGql::from(&team))
    }

    async fn remove_team_member(
        &self,
        ctx: &Context<'_>,
        workspace: String,
        team: String,
        user: Uuid,
    ) -> Answer<TeamGql> {
        let state = GqlState::of(ctx);
        let team = state
            .keygate
            .set_team_member(state.actor()?, &ws(&workspace), &team, user, false)
            .await?;
        Ok(TeamGql::from(&team))
    }

    async fn delete_team(
        &self,
        ctx: &Context<'_>,
        workspace: String,
        team: String,
    ) -> Answer<bool> {
        let state = GqlState::of(ctx);
        state
            .keygate
            .delete_team(state.actor()?, &ws(&workspace), &team)
            .await?;
        Ok(true)
    }

    // Webhooks: a workspace's, or without `workspace` the instance's (instance admins only).

    /// Registers a webhook endpoint; its secret is in this answer only.
    async fn create_webhook(
        &self,
        ctx: &Context<'_>,
        workspace: Option<String>,
        input: CreateWebhookJson,
    ) -> Answer<WebhookWithSecretJson> {
        let state = GqlState::of(ctx);
        let ws = workspace.as_deref().map(ws);
        let endpoint = state
            .keygate
            .create_webhook(state.actor()?, hooks(ws.as_ref()), input.into())
            .await?;
        Ok((&endpoint).into())
    }

    /// Changes an endpoint's URL, description or events, or disables and enables it.
    async fn update_webhook(
        &self,
        ctx: &Context<'_>,
        workspace: Option<String>,
        webhook: Uuid,
        input: PatchWebhookJson,
    ) -> Answer<WebhookJson> {
        let state = GqlState::of(ctx);
        let ws = workspace.as_deref().map(ws);
        let endpoint = state
            .keygate
            .update_webhook(state.actor()?, hooks(ws.as_ref()), webhook, input.into())
            .await?;
        Ok((&endpoint).into())
    }

    async fn delete_webhook(
        &self,
        ctx: &Context<'_>,
        workspace: Option<String>,
        webhook: Uuid,
    ) -> Answer<bool> {
        let state = GqlState::of(ctx);
        let ws = workspace.as_deref().map(ws);
        state
            .keygate
            .delete_webhook(state.actor()?, hooks(ws.as_ref()), webhook)
            .await?;
        Ok(true)
    }

    /// A new signing secret, in this answer only; the previous one signs too for 24 hours.
    async fn rotate_webhook_secret(
        &self,
        ctx: &Context<'_>,
        workspace: Option<String>,
        webhook: Uuid,
    ) -> Answer<WebhookWithSecretJson> {
        let state = GqlState::of(ctx);
        let ws = workspace.as_deref().map(ws);
        let endpoint = state
            .keygate
            .rotate_webhook_secret(state.actor()?, hooks(ws.as_ref()), webhook)
            .await?;
        Ok((&endpoint).into())
    }

    /// Sends a delivery (by its `webhook-id`, `msg_...`) again, now.
    async fn redeliver_webhook(
        &self,
        ctx: &Context<'_>,
        workspace: Option<String>,
        webhook: Uuid,
        message: String,
    ) -> Answer<bool> {
        let state = GqlState::of(ctx);
        let ws = workspace.as_deref().map(ws);
        let message = crate::http::rest::webhooks::message_id(&message)
            .map_err(|_| async_graphql::Error::new("not a webhook-id (msg_...)"))?;
        state
            .keygate
            .redeliver_webhook(state.actor()?, hooks(ws.as_ref()), webhook, message)
            .await?;
        Ok(true)
    }

    // API users and their tokens.

    /// Creates an API user; its first token's secret is in this answer only.
    async fn create_api_user(
        &self,
        ctx: &Context<'_>,
        workspace: String,
        input: CreateApiUserJson,
    ) -> Answer<CreatedApiUser> {
        let state = GqlState::of(ctx);
        let created = state
            .keygate
            .create_api_user(state.actor()?, &ws(&workspace), input.into())
            .await?;
        Ok(CreatedApiUser {
            api_user: ApiUserGql::from(&created.api_user),
            token: state.with_secret(&created.token, created.clear),
        })
    }

    async fn update_api_user(
        &self,
        ctx: &Context<'_>,
        workspace: String,
        id: Uuid,
        input: PatchApiUserJson,
    ) -> Answer<ApiUserGql> {
        let state = GqlState::of(ctx);
        let m = state
            .keygate
            .update_api_user(state.actor()?, &ws(&workspace), id, input.into())
            .await?;
        Ok(ApiUserGql::from(&m))
    }

    async fn delete_api_user(
        &self,
        ctx: &Context<'_>,
        workspace: String,
        id: Uuid,
    ) -> Answer<bool> {
        let state = GqlState::of(ctx);
        state
            .keygate
            .delete_api_user(state.actor()?, &ws(&workspace), id)
            .await?;
        Ok(true)
    }

    async fn create_api_user_token(
        &self,
        ctx: &Context<'_>,
        workspace: String,
        api_user: Uuid,
        input: CreateTokenJson,
    ) -> Answer<TokenWithSecret> {
        let state = GqlState::of(ctx);
        let (token, clear) = state
            .keygate
            .create_api_user_token(
                state.actor()?,
                &ws(&workspace),
                api_user,
                token_request(input)?,
            )
            .await?;
        Ok(state.with_secret(&token, clear))
    }

    /// Changes one of an API user's tokens: where it may be used from, within the API user's own
    /// `allowedIps`.
    async fn update_api_user_token(
        &self,
        ctx: &Context<'_>,
        workspace: String,
        api_user: Uuid,
        token: Uuid,
        input: UpdateTokenJson,
    ) -> Answer<TokenGql> {
        let state = GqlState::of(ctx);
        let (actor, ws) = (state.actor()?, ws(&workspace));
        let t = state
            .keygate
            .update_api_user_token(actor, &ws, api_user, token, input.into())
            .await?;
        Ok(state.token(&t))
    }

    async fn revoke_api_user_token(
        &self,
        ctx: &Context<'_>,
        workspace: String,
        api_user: Uuid,
        token: Uuid,
    ) -> Answer<TokenGql> {
        let state = GqlState::of(ctx);
        let t = state
            .keygate
            .revoke_api_user_token(state.actor()?, &ws(&workspace), api_user, token)
            .await?;
        Ok(state.token(&t))
    }

    async fn rotate_api_user_token(
        &self,
        ctx: &Context<'_>,
        workspace: String,
        api_user: Uuid,
        token: Uuid,
        grace_seconds: Option<u32>,
    ) -> Answer<TokenWithSecret> {
        let state = GqlState::of(ctx);
        let grace = grace_seconds.unwrap_or(0);
        let (t, clear) = state
            .keygate
            .rotate_api_user_token(state.actor()?, &ws(&workspace), api_user, token, grace)
            .await?;
        Ok(state.with_secret(&t, clear))
    }

    /// Revokes a token that belongs to the workspace (needs `tokens:manage`).
    async fn revoke_workspace_token(
        &self,
        ctx: &Context<'_>,
        workspace: String,
        token: Uuid,
    ) -> Answer<TokenGql> {
        let state = GqlState::of(ctx);
        let t = state
            .keygate
            .revoke_workspace_token(state.actor()?, &ws(&workspace), token)
            .await?;
        Ok(state.token(&t))
    }
}

/// Whose webhooks a mutation reaches: the workspace named, or the instance's.
fn hooks(workspace: Option<&WorkspaceRef>) -> Hooks<'_> {
    workspace.map_or(Hooks::Instance, Hooks::Workspace)
}
