//! The one implementation of [`Store`](crate::Store), expanded for each backend by `impl_store!`.
//!
//! The SQL here is written to run unchanged on SQLite and PostgreSQL: `$N` placeholders (SQLite
//! accepts them), `RETURNING`, and column types chosen per backend in the migrations. What truly
//! differs (connection setup, how a write transaction starts, the migrator) lives in `sqlite.rs`
//! and `postgres.rs` as the inherent methods `begin_write` and `migrator`.

macro_rules! user_cols {
    () => {
        "id, kind, email, display_name, workspace_id, is_instance_admin, disabled_at, created_at"
    };
}

macro_rules! workspace_cols {
    () => {
        "id, slug, name, created_at, updated_at"
    };
}

macro_rules! token_cols {
    () => {
        "id, user_id, kind, name, description, hint, created_at, expires_at, last_used_at, \
         last_used_ip, revoked_at, rotated_at"
    };
}

macro_rules! membership_select {
    () => {
        "SELECT w.id, w.slug, w.name, w.created_at, w.updated_at, \
                r.id AS role_id, r.name AS role_name, r.description AS role_description, \
                r.permissions AS role_permissions, r.builtin AS role_builtin \
         FROM members m \
         JOIN workspaces w ON w.id = m.workspace_id \
         LEFT JOIN member_roles mr ON mr.workspace_id = m.workspace_id AND mr.user_id = m.user_id \
         LEFT JOIN roles r ON r.id = mr.role_id "
    };
}

pub(crate) use {membership_select, token_cols, user_cols, workspace_cols};

/// Implements `Store` for `$store` (which has a `pool: Pool<$db>` field and the inherent methods
/// `begin_write` and `migrator`); `$conn` is the backend's connection type.
macro_rules! impl_store {
    ($store:ty, $conn:ty, $backend:expr) => {
        use chrono::{DateTime, Utc};
        use keygate_domain::{
            Email, Membership, Permission, PermissionSet, Token, TokenDigest, User, Workspace,
            model::builtin_role,
        };
        use sqlx::types::Json;
        use uuid::Uuid;

        use $crate::rows::{self, MembershipRow, TokenRow, UserRow, WorkspaceRow};
        use $crate::sql::{membership_select, token_cols, user_cols, workspace_cols};
        use $crate::time::Ts;
        use $crate::{Backend, NewToken, NewUser, NewWorkspace, Result, WorkspacePatch};

        impl $store {
            async fn insert_token_in(conn: &mut $conn, new: &NewToken) -> Result<Token> {
                let row: TokenRow = sqlx::query_as(concat!(
                    "INSERT INTO tokens (id, user_id, kind, name, description, digest, hint, \
                     created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ",
                    token_cols!()
                ))
                .bind(new.id)
                .bind(new.user_id)
                .bind(new.kind.as_str())
                .bind(&new.name)
                .bind(&new.description)
                .bind(&new.digest.as_bytes()[..])
                .bind(&new.hint)
                .bind(Ts(new.created_at))
                .bind(new.expires_at.map(Ts))
                .fetch_one(&mut *conn)
                .await?;
                row.try_into()
            }

            async fn create_workspace_in(
                conn: &mut $conn,
                new: &NewWorkspace,
                owner: Uuid,
            ) -> Result<Workspace> {
                let row: WorkspaceRow = sqlx::query_as(concat!(
                    "INSERT INTO workspaces (id, slug, name, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $4) RETURNING ",
                    workspace_cols!()
                ))
                .bind(new.id)
                .bind(new.slug.as_str())
                .bind(&new.name)
                .bind(Ts(new.created_at))
                .fetch_one(&mut *conn)
                .await?;
                let owner_role = Uuid::now_v7();
                sqlx::query(
                    "INSERT INTO roles (id, workspace_id, name, description, permissions, builtin, \
                     created_at, updated_at) VALUES ($1, $2, $3, $4, $5, TRUE, $6, $6)",
                )
                .bind(owner_role)
                .bind(new.id)
                .bind(builtin_role::OWNER)
                .bind("Everything, including deleting the workspace and changing its owners.")
                .bind(Json(PermissionSet::new(vec![Permission::all()])))
                .bind(Ts(new.created_at))
                .execute(&mut *conn)
                .await?;
                sqlx::query("INSERT INTO members (workspace_id, user_id, created_at) VALUES ($1, $2, $3)")
                    .bind(new.id)
                    .bind(owner)
                    .bind(Ts(new.created_at))
                    .execute(&mut *conn)
                    .await?;
                sqlx::query("INSERT INTO member_roles (workspace_id, user_id, role_id) VALUES ($1, $2, $3)")
                    .bind(new.id)
                    .bind(owner)
                    .bind(owner_role)
                    .execute(&mut *conn)
                    .await?;
                row.try_into()
            }
        }

        #[async_trait::async_trait]
        impl $crate::Store for $store {
            fn backend(&self) -> Backend {
                $backend
            }

            async fn migrate(&self) -> Result<()> {
                Self::migrator().run(&self.pool).await?;
                Ok(())
            }

            async fn ping(&self) -> Result<()> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            async fn close(&self) {
                self.pool.close().await;
            }

            async fn create_user(&self, new: &NewUser) -> Result<(User, Token)> {
                let mut tx = self.begin_write().await?;
                let row: UserRow = sqlx::query_as(concat!(
                    "INSERT INTO users (id, kind, email, display_name, password_hash, \
                     is_instance_admin, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING ",
                    user_cols!()
                ))
                .bind(new.id)
                .bind(new.kind.as_str())
                .bind(new.email.as_ref().map(Email::as_str))
                .bind(&new.display_name)
                .bind(&new.password_hash)
                .bind(new.is_instance_admin)
                .bind(Ts(new.created_at))
                .fetch_one(&mut *tx)
                .await?;
                let token = Self::insert_token_in(&mut tx, &new.personal_token).await?;
                if let Some(ws) = &new.own_workspace {
                    Self::create_workspace_in(&mut tx, ws, new.id).await?;
                }
                tx.commit().await?;
                Ok((row.try_into()?, token))
            }

            async fn user(&self, id: Uuid) -> Result<Option<User>> {
                let row: Option<UserRow> =
                    sqlx::query_as(concat!("SELECT ", user_cols!(), " FROM users WHERE id = $1"))
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn user_by_email(&self, email: &Email) -> Result<Option<User>> {
                let row: Option<UserRow> =
                    sqlx::query_as(concat!("SELECT ", user_cols!(), " FROM users WHERE email = $1"))
                        .bind(email.as_str())
                        .fetch_optional(&self.pool)
                        .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn create_workspace(&self, new: &NewWorkspace, owner: Uuid) -> Result<Workspace> {
                let mut tx = self.begin_write().await?;
                let ws = Self::create_workspace_in(&mut tx, new, owner).await?;
                tx.commit().await?;
                Ok(ws)
            }

            async fn workspace(&self, id: Uuid) -> Result<Option<Workspace>> {
                let row: Option<WorkspaceRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    workspace_cols!(),
                    " FROM workspaces WHERE id = $1"
                ))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn workspace_by_slug(&self, slug: &str) -> Result<Option<Workspace>> {
                let row: Option<WorkspaceRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    workspace_cols!(),
                    " FROM workspaces WHERE slug = $1"
                ))
                .bind(slug)
                .fetch_optional(&self.pool)
                .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn update_workspace(
                &self,
                id: Uuid,
                patch: &WorkspacePatch,
                now: DateTime<Utc>,
            ) -> Result<Option<Workspace>> {
                let row: Option<WorkspaceRow> = sqlx::query_as(concat!(
                    "UPDATE workspaces SET slug = COALESCE($2, slug), name = COALESCE($3, name), \
                     updated_at = $4 WHERE id = $1 RETURNING ",
                    workspace_cols!()
                ))
                .bind(id)
                .bind(patch.slug.as_ref().map(|s| s.as_str()))
                .bind(&patch.name)
                .bind(Ts(now))
                .fetch_optional(&self.pool)
                .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn delete_workspace(&self, id: Uuid) -> Result<bool> {
                let done = sqlx::query("DELETE FROM workspaces WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn memberships(&self, user_id: Uuid) -> Result<Vec<Membership>> {
                let rows: Vec<MembershipRow> = sqlx::query_as(concat!(
                    membership_select!(),
                    "WHERE m.user_id = $1 ORDER BY w.slug, w.id, r.name"
                ))
                .bind(user_id)
                .fetch_all(&self.pool)
                .await?;
                rows::memberships(rows)
            }

            async fn membership(
                &self,
                workspace_id: Uuid,
                user_id: Uuid,
            ) -> Result<Option<Membership>> {
                let rows: Vec<MembershipRow> = sqlx::query_as(concat!(
                    membership_select!(),
                    "WHERE m.workspace_id = $1 AND m.user_id = $2 ORDER BY r.name"
                ))
                .bind(workspace_id)
                .bind(user_id)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows::memberships(rows)?.pop())
            }

            async fn insert_token(&self, new: &NewToken) -> Result<Token> {
                let mut conn = self.pool.acquire().await?;
                Self::insert_token_in(&mut conn, new).await
            }

            async fn token_by_digest(&self, digest: &TokenDigest) -> Result<Option<Token>> {
                let row: Option<TokenRow> =
                    sqlx::query_as(concat!("SELECT ", token_cols!(), " FROM tokens WHERE digest = $1"))
                        .bind(&digest.as_bytes()[..])
                        .fetch_optional(&self.pool)
                        .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn tokens_of(&self, user_id: Uuid) -> Result<Vec<Token>> {
                let rows: Vec<TokenRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    token_cols!(),
                    " FROM tokens WHERE user_id = $1 ORDER BY created_at DESC, id DESC"
                ))
                .bind(user_id)
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn token_of(&self, user_id: Uuid, id: Uuid) -> Result<Option<Token>> {
                let row: Option<TokenRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    token_cols!(),
                    " FROM tokens WHERE id = $1 AND user_id = $2"
                ))
                .bind(id)
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn personal_token(&self, user_id: Uuid) -> Result<Option<Token>> {
                let row: Option<TokenRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    token_cols!(),
                    " FROM tokens WHERE user_id = $1 AND kind = 'personal'"
                ))
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn revoke_token(
                &self,
                user_id: Uuid,
                id: Uuid,
                now: DateTime<Utc>,
            ) -> Result<Option<Token>> {
                let row: Option<TokenRow> = sqlx::query_as(concat!(
                    "UPDATE tokens SET revoked_at = COALESCE(revoked_at, $3) \
                     WHERE id = $1 AND user_id = $2 RETURNING ",
                    token_cols!()
                ))
                .bind(id)
                .bind(user_id)
                .bind(Ts(now))
                .fetch_optional(&self.pool)
                .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn rotate_token(
                &self,
                user_id: Uuid,
                id: Uuid,
                digest: &TokenDigest,
                hint: &str,
                now: DateTime<Utc>,
            ) -> Result<Option<Token>> {
                let row: Option<TokenRow> = sqlx::query_as(concat!(
                    "UPDATE tokens SET digest = $3, hint = $4, rotated_at = $5 \
                     WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL RETURNING ",
                    token_cols!()
                ))
                .bind(id)
                .bind(user_id)
                .bind(&digest.as_bytes()[..])
                .bind(hint)
                .bind(Ts(now))
                .fetch_optional(&self.pool)
                .await?;
                row.map(TryInto::try_into).transpose()
            }
        }
    };
}

pub(crate) use impl_store;
