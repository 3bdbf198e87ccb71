//! The tokens that belong to a workspace: those of its API users, and members' tokens scoped to
//! this workspace alone. Managers with `tokens:manage` list and revoke them; tokens that also act
//! elsewhere stay their owners' business.

use keygate_domain::{Manage, Member, Token, UserKind};
use uuid::Uuid;

use super::{Actor, Keygate, ServiceError, ServiceResult, WorkspaceRef};

/// A token with the member who owns it.
pub struct OwnedToken {
    pub token: Token,
    pub owner: Member,
}

fn belongs_to(token: &Token, owner: &Member, workspace: Uuid) -> bool {
    let api_user_here =
        owner.user.kind == UserKind::Api && owner.user.workspace_id == Some(workspace);
    let scoped_here = token
        .scope
        .as_ref()
        .and_then(|s| s.workspaces.as_deref())
        .is_some_and(|ws| ws == [workspace]);
    api_user_here || scoped_here
}

impl Keygate {
    async fn owned_tokens(&self, workspace: Uuid) -> ServiceResult<Vec<OwnedToken>> {
        let members = self.store.members(workspace, None).await?;
        let tokens = self.store.member_tokens(workspace).await?;
        Ok(tokens
            .into_iter()
            .filter_map(|token| {
                let owner = members.iter().find(|m| m.user.id == token.user_id)?;
                belongs_to(&token, owner, workspace).then(|| OwnedToken {
                    owner: owner.clone(),
                    token,
                })
            })
            .collect())
    }

    pub async fn workspace_tokens(
        &self,
        actor: &Actor,
        ws: &WorkspaceRef,
    ) -> ServiceResult<Vec<OwnedToken>> {
        let managed = self.managing(actor, ws, Manage::Tokens).await?;
        self.owned_tokens(managed.workspace.id).await
    }

    pub async fn revoke_workspace_token(
        &self,
        actor: &Actor,
        ws: &WorkspaceRef,
        id: Uuid,
    ) -> ServiceResult<Token> {
        let managed = self.managing(actor, ws, Manage::Tokens).await?;
        let workspace = managed.workspace.id;
        let owned = self
            .owned_tokens(workspace)
            .await?
            .into_iter()
            .find(|o| o.token.id == id)
            .ok_or(ServiceError::NotFound("token"))?;
        self.revoke_token_of(actor, &owned.owner.user, id, Some(workspace))
            .await
    }
}
