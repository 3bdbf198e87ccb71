//! Invitations to a workspace, by email, with the roles and grants the invitee will hold.

use keygate_domain::{Email, Invitation, Token, User};
use sqlx::types::Json;
use uuid::Uuid;

use super::query::{Pool, Tx, query};
use super::{members, users};
use crate::time::Ts;
use crate::{NewInvitation, NewMembership, NewUser, Result};

/// The columns of an [`InvitationRow`](crate::rows::InvitationRow).
macro_rules! invitation_cols {
    () => {
        "id, workspace_id, email, roles, grants, invited_by, created_at, expires_at, accepted_at"
    };
}

/// Stores the invitation, replacing any pending one for the same email and workspace.
pub(crate) async fn insert(tx: &mut Tx, new: &NewInvitation) -> Result<Invitation> {
    let sql = "DELETE FROM invitations \
               WHERE workspace_id = $1 AND email = $2 AND accepted_at IS NULL";
    query(sql, (new.workspace_id, new.email.as_str()))
        .execute(&mut *tx)
        .await?;
    let sql = concat!(
        "INSERT INTO invitations (id, workspace_id, email, roles, grants, code_digest, \
         invited_by, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ",
        invitation_cols!()
    );
    let params = (
        new.id,
        new.workspace_id,
        new.email.as_str(),
        Json(&new.roles),
        Json(&new.grants),
        &new.code_digest[..],
        new.invited_by,
        Ts(new.created_at),
        Ts(new.expires_at),
    );
    query(sql, params).fetch_one(tx).await
}

pub(crate) async fn by_code(pool: Pool<'_>, code_digest: &[u8; 32]) -> Result<Option<Invitation>> {
    let sql = select!(invitation_cols, "FROM invitations WHERE code_digest = $1");
    query(sql, (&code_digest[..],)).fetch_optional(pool).await
}

/// Pending invitations of the workspace, newest first.
pub(crate) async fn pending_in(pool: Pool<'_>, workspace_id: Uuid) -> Result<Vec<Invitation>> {
    let sql = select!(
        invitation_cols,
        "FROM invitations WHERE workspace_id = $1 AND accepted_at IS NULL \
         ORDER BY created_at DESC, id DESC"
    );
    query(sql, (workspace_id,)).fetch_all(pool).await
}

/// Pending invitations addressed to `email`, in every workspace, newest first.
pub(crate) async fn pending_for(pool: Pool<'_>, email: &Email) -> Result<Vec<Invitation>> {
    let sql = select!(
        invitation_cols,
        "FROM invitations WHERE email = $1 AND accepted_at IS NULL \
         ORDER BY created_at DESC, id DESC"
    );
    query(sql, (email.as_str(),)).fetch_all(pool).await
}

/// Deletes a pending invitation.
pub(crate) async fn delete(tx: &mut Tx, workspace_id: Uuid, id: Uuid) -> Result<bool> {
    let sql = "DELETE FROM invitations WHERE workspace_id = $1 AND id = $2 \
               AND accepted_at IS NULL";
    query(sql, (workspace_id, id)).changed(tx).await
}

/// Marks the invitation accepted and creates the user with it; `None` when it was accepted
/// meanwhile.
pub(crate) async fn accept(tx: &mut Tx, id: Uuid, user: &NewUser) -> Result<Option<(User, Token)>> {
    let sql = "UPDATE invitations SET accepted_at = $2 WHERE id = $1 AND accepted_at IS NULL";
    if !query(sql, (id, Ts(user.created_at)))
        .changed(&mut *tx)
        .await?
    {
        return Ok(None);
    }
    users::insert(tx, user).await.map(Some)
}

/// Marks the invitation accepted and makes the existing user a member with it; false when it was
/// accepted or cancelled meanwhile.
pub(crate) async fn join(
    tx: &mut Tx,
    id: Uuid,
    user_id: Uuid,
    membership: &NewMembership,
) -> Result<bool> {
    let sql = "UPDATE invitations SET accepted_at = $2 \
               WHERE id = $1 AND workspace_id = $3 AND accepted_at IS NULL";
    let params = (id, Ts(membership.created_at), membership.workspace_id);
    if !query(sql, params).changed(&mut *tx).await? {
        return Ok(false);
    }
    members::add(tx, user_id, membership).await?;
    Ok(true)
}
