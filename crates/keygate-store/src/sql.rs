//! The one implementation of [`Store`](crate::Store), expanded for each backend by `impl_store!`.
//!
//! The SQL here is written to run unchanged on SQLite and PostgreSQL: `$N` placeholders (SQLite
//! accepts them), `RETURNING`, and column types chosen per backend in the migrations. What truly
//! differs (connection setup, how a write transaction starts, the migrator) lives in `sqlite.rs`
//! and `postgres.rs` as the inherent methods `begin_write` and `migrator`.

macro_rules! user_cols {
    () => {
        "id, kind, email, display_name, description, workspace_id, is_instance_admin, disabled_at, \
         created_at"
    };
}

macro_rules! workspace_cols {
    () => {
        "id, slug, name, max_token_lifetime_days, created_at, updated_at"
    };
}

macro_rules! token_cols {
    () => {
        "id, user_id, kind, name, description, hint, created_at, expires_at, last_used_at, \
         last_used_ip, revoked_at, rotated_at, scope"
    };
}

macro_rules! membership_select {
    () => {
        "SELECT w.id, w.slug, w.name, w.max_token_lifetime_days, w.created_at, w.updated_at, \
                r.name AS role_name \
         FROM members m \
         JOIN workspaces w ON w.id = m.workspace_id \
         LEFT JOIN member_roles mr ON mr.workspace_id = m.workspace_id AND mr.user_id = m.user_id \
         LEFT JOIN roles r ON r.id = mr.role_id "
    };
}

macro_rules! role_cols {
    () => {
        "r.id, r.workspace_id, r.name, r.description, r.permissions, r.grants, r.builtin"
    };
}

/// The role columns unqualified, for `RETURNING` (SQLite does not take a table alias there).
macro_rules! role_returning {
    () => {
        "id, workspace_id, name, description, permissions, grants, builtin"
    };
}

macro_rules! invitation_cols {
    () => {
        "id, workspace_id, email, roles, grants, invited_by, created_at, expires_at, accepted_at"
    };
}

/// The workspace named by `$1` (its column `$by`), what user `$2` holds in it and its public role,
/// as one statement: one row per part, `part` saying which (`w` the workspace, `m` membership, `r`
/// a role's permissions held directly or through a team, `g` a member's grant, `t` a team's grant,
/// `p` the public role's permissions and grants). No user (`$2` NULL) reads the workspace and its
/// public role only.
macro_rules! decision_context {
    ($by:literal) => {
        concat!(
            "WITH w AS (SELECT id, slug, name, max_token_lifetime_days, created_at, updated_at \
             FROM workspaces WHERE ",
            $by,
            " = $1) \
             SELECT 'w' AS part, w.id AS id, w.slug AS a, w.name AS b, \
             w.max_token_lifetime_days AS n, w.created_at AS t1, w.updated_at AS t2 FROM w \
             UNION ALL SELECT 'm', NULL, NULL, NULL, NULL, NULL, NULL \
             FROM members m JOIN w ON m.workspace_id = w.id WHERE m.user_id = $2 \
             UNION ALL SELECT 'r', NULL, CAST(r.permissions AS TEXT), NULL, NULL, NULL, NULL \
             FROM member_roles mr JOIN w ON mr.workspace_id = w.id \
             JOIN roles r ON r.id = mr.role_id WHERE mr.user_id = $2 \
             UNION ALL SELECT 'r', NULL, CAST(r.permissions AS TEXT), NULL, NULL, NULL, NULL \
             FROM team_members tm JOIN w ON tm.workspace_id = w.id \
             JOIN team_roles tr ON tr.team_id = tm.team_id \
             JOIN roles r ON r.id = tr.role_id WHERE tm.user_id = $2 \
             UNION ALL SELECT 'g', NULL, mg.pattern, NULL, NULL, NULL, NULL \
             FROM member_grants mg JOIN w ON mg.workspace_id = w.id WHERE mg.user_id = $2 \
             UNION ALL SELECT 't', NULL, tg.pattern, NULL, NULL, NULL, NULL \
             FROM team_members tm JOIN w ON tm.workspace_id = w.id \
             JOIN team_grants tg ON tg.team_id = tm.team_id WHERE tm.user_id = $2 \
             UNION ALL SELECT 'p', NULL, CAST(r.permissions AS TEXT), CAST(r.grants AS TEXT), \
             NULL, NULL, NULL FROM roles r JOIN w ON r.workspace_id = w.id \
             WHERE r.name = 'public'"
        )
    };
}
pub(crate) use {
    decision_context, invitation_cols, membership_select, role_cols, role_returning, token_cols,
    user_cols, workspace_cols,
};

/// Implements `Store` for `$store` (which has a `pool: Pool<$db>` field and the inherent methods
/// `begin_write` and `migrator`); `$conn` is the backend's connection type.
macro_rules! impl_store {
    ($store:ty, $conn:ty) => {
        use chrono::{DateTime, Utc};
        use keygate_domain::{
            AuditEvent, Email, Invitation, Member, Membership, Permission, PermissionSet,
            ResourcePattern, Role, Team, Token, TokenDigest, User, UserKind, Workspace,
            model::builtin_role,
        };
        use sqlx::types::Json;
        use uuid::Uuid;

        use $crate::rows::{
            self, AuditRow, GrantRow, HeldRoleRow, InvitationRow, MemberRow, MembershipRow,
            RoleRow, SessionRow, TeamMemberRow, TeamOfRow, TeamRow, TokenRow, UserRow,
            WorkspaceRow,
        };
        use $crate::sql::{
            decision_context, invitation_cols, membership_select, role_cols, role_returning, token_cols, user_cols,
            workspace_cols,
        };
        use $crate::time::Ts;
        use $crate::{
            AuditFilter, MemberPatch, NewAuditEvent, NewInvitation,
            NewMembership, NewRole, NewSession, NewTeam, NewToken, NewUser, NewWorkspace, Result,
            RolePatch, Session, TeamPatch, UserPatch, WorkspacePatch,
        };

        impl $store {
            async fn insert_audit(conn: &mut $conn, e: &NewAuditEvent) -> Result<()> {
                sqlx::query(
                    "INSERT INTO audit_events (id, workspace_id, actor_id, actor_label, \
                     actor_token_id, action, target_type, target_id, details, client_ip, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                )
                .bind(e.id)
                .bind(e.workspace_id)
                .bind(e.actor_id)
                .bind(&e.actor_label)
                .bind(e.actor_token_id)
                .bind(&e.action)
                .bind(&e.target_type)
                .bind(&e.target_id)
                .bind(Json(&e.details))
                .bind(&e.client_ip)
                .bind(Ts(e.created_at))
                .execute(&mut *conn)
                .await?;
                Ok(())
            }

            async fn insert_token_in(conn: &mut $conn, new: &NewToken) -> Result<Token> {
                let row: TokenRow = sqlx::query_as(concat!(
                    "INSERT INTO tokens (id, user_id, kind, name, description, digest, hint, \
                     created_at, expires_at, scope) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING ",
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
                .bind(new.scope.as_ref().map(Json))
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
                let mut owner_role = None;
                for (name, description, permissions) in builtin_role::ALL {
                    let id = Uuid::now_v7();
                    let permissions: PermissionSet = permissions
                        .iter()
                        .filter_map(|p| Permission::parse(p).ok())
                        .collect();
                    sqlx::query(
                        "INSERT INTO roles (id, workspace_id, name, description, permissions, \
                         builtin, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, TRUE, $6, $6)",
                    )
                    .bind(id)
                    .bind(new.id)
                    .bind(name)
                    .bind(description)
                    .bind(Json(permissions))
                    .bind(Ts(new.created_at))
                    .execute(&mut *conn)
                    .await?;
                    if name == builtin_role::OWNER {
                        owner_role = Some(id);
                    }
                }
                let membership = NewMembership {
                    workspace_id: new.id,
                    role_ids: owner_role.into_iter().collect(),
                    grants: Vec::new(),
                    team_ids: Vec::new(),
                    created_at: new.created_at,
                };
                Self::add_member_in(conn, owner, &membership).await?;
                row.try_into()
            }

            async fn add_member_in(
                conn: &mut $conn,
                user_id: Uuid,
                m: &NewMembership,
            ) -> Result<()> {
                sqlx::query(
                    "INSERT INTO members (workspace_id, user_id, created_at) VALUES ($1, $2, $3)",
                )
                .bind(m.workspace_id)
                .bind(user_id)
                .bind(Ts(m.created_at))
                .execute(&mut *conn)
                .await?;
                Self::set_member_roles(conn, m.workspace_id, user_id, &m.role_ids).await?;
                Self::set_member_grants(conn, m.workspace_id, user_id, &m.grants).await?;
                Self::set_member_teams(conn, m.workspace_id, user_id, &m.team_ids).await
            }

            async fn set_member_roles(
                conn: &mut $conn,
                workspace_id: Uuid,
                user_id: Uuid,
                role_ids: &[Uuid],
            ) -> Result<()> {
                sqlx::query("DELETE FROM member_roles WHERE workspace_id = $1 AND user_id = $2")
                    .bind(workspace_id)
                    .bind(user_id)
                    .execute(&mut *conn)
                    .await?;
                for role_id in role_ids {
                    // The role must belong to the same workspace.
                    sqlx::query(
                        "INSERT INTO member_roles (workspace_id, user_id, role_id) \
                         SELECT $1, $2, id FROM roles WHERE id = $3 AND workspace_id = $1",
                    )
                    .bind(workspace_id)
                    .bind(user_id)
                    .bind(role_id)
                    .execute(&mut *conn)
                    .await?;
                }
                Ok(())
            }

            async fn set_member_grants(
                conn: &mut $conn,
                workspace_id: Uuid,
                user_id: Uuid,
                grants: &[ResourcePattern],
            ) -> Result<()> {
                sqlx::query("DELETE FROM member_grants WHERE workspace_id = $1 AND user_id = $2")
                    .bind(workspace_id)
                    .bind(user_id)
                    .execute(&mut *conn)
                    .await?;
                for pattern in grants {
                    sqlx::query(
                        "INSERT INTO member_grants (workspace_id, user_id, pattern) \
                         VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    )
                    .bind(workspace_id)
                    .bind(user_id)
                    .bind(pattern.as_str())
                    .execute(&mut *conn)
                    .await?;
                }
                Ok(())
            }

            async fn set_member_teams(
                conn: &mut $conn,
                workspace_id: Uuid,
                user_id: Uuid,
                team_ids: &[Uuid],
            ) -> Result<()> {
                sqlx::query("DELETE FROM team_members WHERE workspace_id = $1 AND user_id = $2")
                    .bind(workspace_id)
                    .bind(user_id)
                    .execute(&mut *conn)
                    .await?;
                for team_id in team_ids {
                    sqlx::query(
                        "INSERT INTO team_members (team_id, workspace_id, user_id) \
                         SELECT id, $1, $2 FROM teams WHERE id = $3 AND workspace_id = $1",
                    )
                    .bind(workspace_id)
                    .bind(user_id)
                    .bind(team_id)
                    .execute(&mut *conn)
                    .await?;
                }
                Ok(())
            }

            async fn set_team_lists(
                conn: &mut $conn,
                workspace_id: Uuid,
                team_id: Uuid,
                role_ids: Option<&[Uuid]>,
                grants: Option<&[ResourcePattern]>,
                member_ids: Option<&[Uuid]>,
            ) -> Result<()> {
                if let Some(role_ids) = role_ids {
                    sqlx::query("DELETE FROM team_roles WHERE team_id = $1")
                        .bind(team_id)
                        .execute(&mut *conn)
                        .await?;
                    for role_id in role_ids {
                        sqlx::query(
                            "INSERT INTO team_roles (team_id, role_id) \
                             SELECT $1, id FROM roles WHERE id = $2 AND workspace_id = $3",
                        )
                        .bind(team_id)
                        .bind(role_id)
                        .bind(workspace_id)
                        .execute(&mut *conn)
                        .await?;
                    }
                }
                if let Some(grants) = grants {
                    sqlx::query("DELETE FROM team_grants WHERE team_id = $1")
                        .bind(team_id)
                        .execute(&mut *conn)
                        .await?;
                    for pattern in grants {
                        sqlx::query(
                            "INSERT INTO team_grants (team_id, pattern) VALUES ($1, $2) \
                             ON CONFLICT DO NOTHING",
                        )
                        .bind(team_id)
                        .bind(pattern.as_str())
                        .execute(&mut *conn)
                        .await?;
                    }
                }
                if let Some(member_ids) = member_ids {
                    sqlx::query("DELETE FROM team_members WHERE team_id = $1")
                        .bind(team_id)
                        .execute(&mut *conn)
                        .await?;
                    for user_id in member_ids {
                        sqlx::query(
                            "INSERT INTO team_members (team_id, workspace_id, user_id) \
                             SELECT $1, workspace_id, user_id FROM members \
                             WHERE workspace_id = $2 AND user_id = $3",
                        )
                        .bind(team_id)
                        .bind(workspace_id)
                        .bind(user_id)
                        .execute(&mut *conn)
                        .await?;
                    }
                }
                Ok(())
            }

            async fn insert_user_in(conn: &mut $conn, new: &NewUser) -> Result<(User, Token)> {
                let row: UserRow = sqlx::query_as(concat!(
                    "INSERT INTO users (id, kind, email, display_name, description, workspace_id, \
                     password_hash, is_instance_admin, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING ",
                    user_cols!()
                ))
                .bind(new.id)
                .bind(new.kind.as_str())
                .bind(new.email.as_ref().map(Email::as_str))
                .bind(&new.display_name)
                .bind(&new.description)
                .bind(new.workspace_id)
                .bind(&new.password_hash)
                .bind(new.is_instance_admin)
                .bind(Ts(new.created_at))
                .fetch_one(&mut *conn)
                .await?;
                let token = Self::insert_token_in(conn, &new.first_token).await?;
                if let Some(ws) = &new.own_workspace {
                    Self::create_workspace_in(conn, ws, new.id).await?;
                }
                if let Some(m) = &new.membership {
                    Self::add_member_in(conn, new.id, m).await?;
                }
                Ok((row.try_into()?, token))
            }

            async fn load_members(
                &self,
                workspace_id: Uuid,
                user_id: Option<Uuid>,
                kind: Option<UserKind>,
            ) -> Result<Vec<Member>> {
                let rows: Vec<MemberRow> = sqlx::query_as(
                    "SELECT u.id, u.kind, u.email, u.display_name, u.description, u.workspace_id, \
                            u.is_instance_admin, u.disabled_at, u.created_at, m.created_at AS joined_at \
                     FROM members m JOIN users u ON u.id = m.user_id \
                     WHERE m.workspace_id = $1 AND ($2 IS NULL OR m.user_id = $2) \
                       AND ($3 IS NULL OR u.kind = $3) \
                     ORDER BY u.kind DESC, u.email, u.display_name, u.id",
                )
                .bind(workspace_id)
                .bind(user_id)
                .bind(kind.map(UserKind::as_str))
                .fetch_all(&self.pool)
                .await?;
                let roles: Vec<HeldRoleRow> = sqlx::query_as(concat!(
                    "SELECT mr.user_id AS owner_id, ",
                    role_cols!(),
                    " FROM member_roles mr JOIN roles r ON r.id = mr.role_id \
                     WHERE mr.workspace_id = $1 AND ($2 IS NULL OR mr.user_id = $2)"
                ))
                .bind(workspace_id)
                .bind(user_id)
                .fetch_all(&self.pool)
                .await?;
                let grants: Vec<GrantRow> = sqlx::query_as(
                    "SELECT user_id AS owner_id, pattern FROM member_grants \
                     WHERE workspace_id = $1 AND ($2 IS NULL OR user_id = $2)",
                )
                .bind(workspace_id)
                .bind(user_id)
                .fetch_all(&self.pool)
                .await?;
                let teams: Vec<TeamOfRow> = sqlx::query_as(
                    "SELECT tm.user_id, t.id AS team_id, t.name AS team_name \
                     FROM team_members tm JOIN teams t ON t.id = tm.team_id \
                     WHERE tm.workspace_id = $1 AND ($2 IS NULL OR tm.user_id = $2)",
                )
                .bind(workspace_id)
                .bind(user_id)
                .fetch_all(&self.pool)
                .await?;
                rows::members(rows, roles, grants, teams)
            }

            async fn load_teams(&self, workspace_id: Uuid, id: Option<Uuid>) -> Result<Vec<Team>> {
                let rows: Vec<TeamRow> = sqlx::query_as(
                    "SELECT id, workspace_id, name, description, created_at, updated_at FROM teams \
                     WHERE workspace_id = $1 AND ($2 IS NULL OR id = $2) ORDER BY name",
                )
                .bind(workspace_id)
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
                let roles: Vec<HeldRoleRow> = sqlx::query_as(concat!(
                    "SELECT tr.team_id AS owner_id, ",
                    role_cols!(),
                    " FROM team_roles tr JOIN roles r ON r.id = tr.role_id \
                     WHERE r.workspace_id = $1 AND ($2 IS NULL OR tr.team_id = $2)"
                ))
                .bind(workspace_id)
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
                let grants: Vec<GrantRow> = sqlx::query_as(
                    "SELECT tg.team_id AS owner_id, tg.pattern FROM team_grants tg \
                     JOIN teams t ON t.id = tg.team_id \
                     WHERE t.workspace_id = $1 AND ($2 IS NULL OR t.id = $2)",
                )
                .bind(workspace_id)
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
                let members: Vec<TeamMemberRow> = sqlx::query_as(
                    "SELECT tm.team_id, tm.user_id FROM team_members tm \
                     WHERE tm.workspace_id = $1 AND ($2 IS NULL OR tm.team_id = $2)",
                )
                .bind(workspace_id)
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
                rows::teams(rows, roles, grants, members)
            }
        }

        #[async_trait::async_trait]
        impl $crate::Store for $store {
            async fn migrate(&self) -> Result<()> {
                Self::migrator().run(&self.pool).await?;
                Ok(())
            }

            async fn ping(&self) -> Result<()> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

                        async fn close(&self) {
                self.close_pool().await;
            }

            fn pool_state(&self) -> $crate::PoolState {
                $crate::PoolState {
                    size: self.pool.size(),
                    idle: self.pool.num_idle(),
                }
            }

            async fn publish(&self, notice: &str) -> Result<()> {
                self.publish_notice(notice).await
            }

            async fn next_notice(&self) -> Result<Option<String>> {
                self.receive_notice().await
            }

            async fn create_user(&self, new: &NewUser, audit: &NewAuditEvent) -> Result<(User, Token)> {
                let mut tx = self.begin_write().await?;
                let created = Self::insert_user_in(&mut tx, new).await?;
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(created)
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

            async fn users(&self, ids: &[Uuid]) -> Result<Vec<User>> {
                // One query per call, however many ids: ids are bound one by one, in chunks that
                // stay under every backend's parameter limit.
                let mut out = Vec::with_capacity(ids.len());
                for chunk in ids.chunks(500) {
                    let mut query = sqlx::QueryBuilder::new(concat!("SELECT ", user_cols!(), " FROM users WHERE id IN ("));
                    let mut list = query.separated(", ");
                    for id in chunk {
                        list.push_bind(*id);
                    }
                    query.push(")");
                    let rows: Vec<UserRow> = query.build_query_as().fetch_all(&self.pool).await?;
                    for row in rows {
                        out.push(User::try_from(row)?);
                    }
                }
                Ok(out)
            }

            async fn list_users(&self, filter: &$crate::UserFilter) -> Result<Vec<User>> {
                // `%` and `_` in the search are literal characters, not patterns.
                let search = filter.search.as_deref().map(|s| {
                    let escaped = s
                        .to_lowercase()
                        .replace('\\', "\\\\")
                        .replace('%', "\\%")
                        .replace('_', "\\_");
                    format!("%{escaped}%")
                });
                let rows: Vec<UserRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    user_cols!(),
                    " FROM users WHERE ($1 IS NULL OR kind = $1) \
                     AND ($2 IS NULL OR LOWER(COALESCE(email, '')) LIKE $2 ESCAPE '\\' \
                          OR LOWER(display_name) LIKE $2 ESCAPE '\\') \
                     AND ($3 IS NULL OR (disabled_at IS NOT NULL) = $3) \
                     AND ($4 IS NULL OR id > $4) \
                     ORDER BY id LIMIT $5"
                ))
                .bind(filter.kind.map(|k| k.as_str()))
                .bind(search)
                .bind(filter.disabled)
                .bind(filter.after)
                .bind(i64::from(filter.limit))
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn update_user(
                &self,
                id: Uuid,
                patch: &UserPatch,
                now: DateTime<Utc>,
                audit: &NewAuditEvent,
            ) -> Result<Option<User>> {
                let mut tx = self.begin_write().await?;
                let row: Option<UserRow> = sqlx::query_as(concat!(
                    "UPDATE users SET display_name = COALESCE($2, display_name), \
                     description = CASE WHEN $3 THEN $4 ELSE description END, \
                     disabled_at = CASE WHEN $5 THEN $6 ELSE disabled_at END, \
                     updated_at = $7 WHERE id = $1 RETURNING ",
                    user_cols!()
                ))
                .bind(id)
                .bind(&patch.display_name)
                .bind(patch.description.is_some())
                .bind(patch.description.clone().flatten())
                .bind(patch.disabled_at.is_some())
                .bind(patch.disabled_at.flatten().map(Ts))
                .bind(Ts(now))
                .fetch_optional(&mut *tx)
                .await?;
                if row.is_some() {
                    Self::insert_audit(&mut tx, audit).await?;
                }
                tx.commit().await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn password_hash(&self, user_id: Uuid) -> Result<Option<String>> {
                let hash: Option<Option<String>> =
                    sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
                        .bind(user_id)
                        .fetch_optional(&self.pool)
                        .await?;
                Ok(hash.flatten())
            }

            async fn set_password(
                &self,
                user_id: Uuid,
                hash: &str,
                keep: Option<Uuid>,
                now: DateTime<Utc>,
                audit: &NewAuditEvent,
            ) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(
                    "UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1",
                )
                .bind(user_id)
                .bind(hash)
                .bind(Ts(now))
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() > 0 {
                    sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND ($2 IS NULL OR id <> $2)")
                        .bind(user_id)
                        .bind(keep)
                        .execute(&mut *tx)
                        .await?;
                    Self::insert_audit(&mut tx, audit).await?;
                }
                tx.commit().await?;
                Ok(done.rows_affected() > 0)
            }

            async fn create_password_link(
                &self,
                new: &$crate::NewPasswordLink,
                audit: &NewAuditEvent,
            ) -> Result<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query("DELETE FROM password_links WHERE user_id = $1 AND used_at IS NULL")
                    .bind(new.user_id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO password_links (id, user_id, code_digest, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(new.id)
                .bind(new.user_id)
                .bind(&new.code_digest[..])
                .bind(Ts(new.created_at))
                .bind(Ts(new.expires_at))
                .execute(&mut *tx)
                .await?;
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn password_link(
                &self,
                code_digest: &[u8; 32],
                now: DateTime<Utc>,
            ) -> Result<Option<(User, DateTime<Utc>)>> {
                let found: Option<(Uuid, Ts)> = sqlx::query_as(
                    "SELECT user_id, expires_at FROM password_links \
                     WHERE code_digest = $1 AND used_at IS NULL AND expires_at > $2",
                )
                .bind(&code_digest[..])
                .bind(Ts(now))
                .fetch_optional(&self.pool)
                .await?;
                let Some((user_id, expires_at)) = found else {
                    return Ok(None);
                };
                Ok(self.user(user_id).await?.map(|u| (u, expires_at.0)))
            }

            async fn use_password_link(
                &self,
                code_digest: &[u8; 32],
                user_id: Uuid,
                hash: &str,
                now: DateTime<Utc>,
                audit: &NewAuditEvent,
            ) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let used = sqlx::query(
                    "UPDATE password_links SET used_at = $3 \
                     WHERE code_digest = $1 AND user_id = $2 AND used_at IS NULL AND expires_at > $3",
                )
                .bind(&code_digest[..])
                .bind(user_id)
                .bind(Ts(now))
                .execute(&mut *tx)
                .await?;
                if used.rows_affected() == 0 {
                    return Ok(false);
                }
                sqlx::query("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1")
                    .bind(user_id)
                    .bind(hash)
                    .bind(Ts(now))
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn create_session(&self, new: &NewSession, audit: &NewAuditEvent) -> Result<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND expires_at <= $2")
                    .bind(new.user_id)
                    .bind(Ts(new.created_at))
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO sessions (id, digest, user_id, created_at, expires_at, client_ip) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(new.id)
                .bind(&new.digest[..])
                .bind(new.user_id)
                .bind(Ts(new.created_at))
                .bind(Ts(new.expires_at))
                .bind(&new.client_ip)
                .execute(&mut *tx)
                .await?;
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn session(&self, digest: &[u8; 32], now: DateTime<Utc>) -> Result<Option<Session>> {
                let row: Option<SessionRow> = sqlx::query_as(concat!(
                    "SELECT session_id, session_created_at, session_expires_at, ",
                    user_cols!(),
                    " FROM (SELECT id AS session_id, created_at AS session_created_at, \
                     expires_at AS session_expires_at, user_id FROM sessions \
                     WHERE digest = $1 AND expires_at > $2) s \
                     JOIN users ON users.id = s.user_id"
                ))
                .bind(&digest[..])
                .bind(Ts(now))
                .fetch_optional(&self.pool)
                .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn delete_session(&self, id: Uuid, audit: &NewAuditEvent) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query("DELETE FROM sessions WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() > 0 {
                    Self::insert_audit(&mut tx, audit).await?;
                }
                tx.commit().await?;
                Ok(done.rows_affected() > 0)
            }

            async fn delete_user(&self, id: Uuid, audit: &NewAuditEvent) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query("DELETE FROM users WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() > 0 {
                    Self::insert_audit(&mut tx, audit).await?;
                }
                tx.commit().await?;
                Ok(done.rows_affected() > 0)
            }

            async fn create_workspace(
                &self,
                new: &NewWorkspace,
                owner: Uuid,
                audit: &NewAuditEvent,
            ) -> Result<Workspace> {
                let mut tx = self.begin_write().await?;
                let ws = Self::create_workspace_in(&mut tx, new, owner).await?;
                Self::insert_audit(&mut tx, audit).await?;
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
                audit: &NewAuditEvent,
            ) -> Result<Option<Workspace>> {
                let mut tx = self.begin_write().await?;
                let row: Option<WorkspaceRow> = sqlx::query_as(concat!(
                    "UPDATE workspaces SET slug = COALESCE($2, slug), name = COALESCE($3, name), \
                     max_token_lifetime_days = CASE WHEN $5 THEN $6 ELSE max_token_lifetime_days END, \
                     updated_at = $4 WHERE id = $1 RETURNING ",
                    workspace_cols!()
                ))
                .bind(id)
                .bind(patch.slug.as_ref().map(|s| s.as_str()))
                .bind(&patch.name)
                .bind(Ts(now))
                .bind(patch.max_token_lifetime_days.is_some())
                .bind(
                    patch
                        .max_token_lifetime_days
                        .flatten()
                        .map(|d| i32::try_from(d).unwrap_or(i32::MAX)),
                )
                .fetch_optional(&mut *tx)
                .await?;
                if row.is_some() {
                    Self::insert_audit(&mut tx, audit).await?;
                }
                tx.commit().await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn delete_workspace(&self, id: Uuid, audit: &NewAuditEvent) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query("DELETE FROM workspaces WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() > 0 {
                    Self::insert_audit(&mut tx, audit).await?;
                }
                tx.commit().await?;
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

            async fn decision_context(
                &self,
                workspace: $crate::WorkspaceLookup<'_>,
                user_id: Option<Uuid>,
            ) -> Result<Option<$crate::DecisionContext>> {
                let query = match workspace {
                    $crate::WorkspaceLookup::Id(id) => {
                        sqlx::query_as(decision_context!("id")).bind(id)
                    }
                    $crate::WorkspaceLookup::Slug(slug) => {
                        sqlx::query_as(decision_context!("slug")).bind(slug)
                    }
                };
                let parts: Vec<rows::ContextRow> =
                    query.bind(user_id).fetch_all(&self.pool).await?;
                rows::decision_context(parts)
            }

            async fn members(
                &self,
                workspace_id: Uuid,
                kind: Option<UserKind>,
            ) -> Result<Vec<Member>> {
                self.load_members(workspace_id, None, kind).await
            }

            async fn member(&self, workspace_id: Uuid, user_id: Uuid) -> Result<Option<Member>> {
                Ok(self.load_members(workspace_id, Some(user_id), None).await?.pop())
            }

            async fn add_member(
                &self,
                user_id: Uuid,
                membership: &NewMembership,
                audit: &NewAuditEvent,
            ) -> Result<()> {
                let mut tx = self.begin_write().await?;
                Self::add_member_in(&mut tx, user_id, membership).await?;
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn update_member(
                &self,
                workspace_id: Uuid,
                user_id: Uuid,
                patch: &MemberPatch,
                audit: &NewAuditEvent,
            ) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let exists: Option<(Uuid,)> = sqlx::query_as(
                    "SELECT user_id FROM members WHERE workspace_id = $1 AND user_id = $2",
                )
                .bind(workspace_id)
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await?;
                if exists.is_none() {
                    return Ok(false);
                }
                if let Some(role_ids) = &patch.role_ids {
                    Self::set_member_roles(&mut tx, workspace_id, user_id, role_ids).await?;
                }
                if let Some(grants) = &patch.grants {
                    Self::set_member_grants(&mut tx, workspace_id, user_id, grants).await?;
                }
                if let Some(team_ids) = &patch.team_ids {
                    Self::set_member_teams(&mut tx, workspace_id, user_id, team_ids).await?;
                }
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn remove_member(
                &self,
                workspace_id: Uuid,
                user_id: Uuid,
                audit: &NewAuditEvent,
            ) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query("DELETE FROM members WHERE workspace_id = $1 AND user_id = $2")
                    .bind(workspace_id)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() > 0 {
                    Self::insert_audit(&mut tx, audit).await?;
                }
                tx.commit().await?;
                Ok(done.rows_affected() > 0)
            }

            async fn roles(&self, workspace_id: Uuid) -> Result<Vec<Role>> {
                let rows: Vec<RoleRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    role_cols!(),
                    " FROM roles r WHERE r.workspace_id = $1 ORDER BY r.builtin DESC, r.name"
                ))
                .bind(workspace_id)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Role::from).collect())
            }

            async fn role(&self, workspace_id: Uuid, name: &str) -> Result<Option<Role>> {
                let row: Option<RoleRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    role_cols!(),
                    " FROM roles r WHERE r.workspace_id = $1 AND r.name = $2"
                ))
                .bind(workspace_id)
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(Role::from))
            }

            async fn create_role(&self, new: &NewRole, audit: &NewAuditEvent) -> Result<Role> {
                let mut tx = self.begin_write().await?;
                let row: RoleRow = sqlx::query_as(concat!(
                    "INSERT INTO roles (id, workspace_id, name, description, permissions, \
                     builtin, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, FALSE, $6, $6) \
                     RETURNING ",
                    role_returning!()
                ))
                .bind(new.id)
                .bind(new.workspace_id)
                .bind(&new.name)
                .bind(&new.description)
                .bind(Json(&new.permissions))
                .bind(Ts(new.created_at))
                .fetch_one(&mut *tx)
                .await?;
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(row.into())
            }

            async fn update_role(
                &self,
                workspace_id: Uuid,
                name: &str,
                patch: &RolePatch,
                now: DateTime<Utc>,
                audit: &NewAuditEvent,
            ) -> Result<Option<Role>> {
                let mut tx = self.begin_write().await?;
                let row: Option<RoleRow> = sqlx::query_as(concat!(
                    "UPDATE roles SET \
                     description = CASE WHEN $3 THEN $4 ELSE description END, \
                     permissions = COALESCE($5, permissions), \
                     grants = CASE WHEN $6 THEN $7 ELSE grants END, \
                     updated_at = $8 \
                     WHERE workspace_id = $1 AND name = $2 RETURNING ",
                    role_returning!()
                ))
                .bind(workspace_id)
                .bind(name)
                .bind(patch.description.is_some())
                .bind(patch.description.clone().flatten())
                .bind(patch.permissions.as_ref().map(Json))
                .bind(patch.grants.is_some())
                .bind(patch.grants.as_ref().map(Json))
                .bind(Ts(now))
                .fetch_optional(&mut *tx)
                .await?;
                if row.is_some() {
                    Self::insert_audit(&mut tx, audit).await?;
                }
                tx.commit().await?;
                Ok(row.map(Role::from))
            }

            async fn delete_role(
                &self,
                workspace_id: Uuid,
                name: &str,
                audit: &NewAuditEvent,
            ) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(
                    "DELETE FROM roles WHERE workspace_id = $1 AND name = $2 AND builtin = FALSE",
                )
                .bind(workspace_id)
                .bind(name)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() > 0 {
                    Self::insert_audit(&mut tx, audit).await?;
                }
                tx.commit().await?;
                Ok(done.rows_affected() > 0)
            }

            async fn teams(&self, workspace_id: Uuid) -> Result<Vec<Team>> {
                self.load_teams(workspace_id, None).await
            }

            async fn team(&self, workspace_id: Uuid, id: Uuid) -> Result<Option<Team>> {
                Ok(self.load_teams(workspace_id, Some(id)).await?.pop())
            }

            async fn create_team(&self, new: &NewTeam, audit: &NewAuditEvent) -> Result<Team> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO teams (id, workspace_id, name, description, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $5)",
                )
                .bind(new.id)
                .bind(new.workspace_id)
                .bind(&new.name)
                .bind(&new.description)
                .bind(Ts(new.created_at))
                .execute(&mut *tx)
                .await?;
                Self::set_team_lists(
                    &mut tx,
                    new.workspace_id,
                    new.id,
                    Some(&new.role_ids),
                    Some(&new.grants),
                    Some(&new.member_ids),
                )
                .await?;
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                self.team(new.workspace_id, new.id)
                    .await?
                    .ok_or_else(|| $crate::StoreError::Corrupt("team vanished".into()))
            }

            async fn update_team(
                &self,
                workspace_id: Uuid,
                id: Uuid,
                patch: &TeamPatch,
                now: DateTime<Utc>,
                audit: &NewAuditEvent,
            ) -> Result<Option<Team>> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(
                    "UPDATE teams SET name = COALESCE($3, name), \
                     description = CASE WHEN $4 THEN $5 ELSE description END, updated_at = $6 \
                     WHERE workspace_id = $1 AND id = $2",
                )
                .bind(workspace_id)
                .bind(id)
                .bind(&patch.name)
                .bind(patch.description.is_some())
                .bind(patch.description.clone().flatten())
                .bind(Ts(now))
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 0 {
                    return Ok(None);
                }
                Self::set_team_lists(
                    &mut tx,
                    workspace_id,
                    id,
                    patch.role_ids.as_deref(),
                    patch.grants.as_deref(),
                    patch.member_ids.as_deref(),
                )
                .await?;
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                self.team(workspace_id, id).await
            }

            async fn delete_team(
                &self,
                workspace_id: Uuid,
                id: Uuid,
                audit: &NewAuditEvent,
            ) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query("DELETE FROM teams WHERE workspace_id = $1 AND id = $2")
                    .bind(workspace_id)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() > 0 {
                    Self::insert_audit(&mut tx, audit).await?;
                }
                tx.commit().await?;
                Ok(done.rows_affected() > 0)
            }

            async fn create_invitation(
                &self,
                new: &NewInvitation,
                audit: &NewAuditEvent,
            ) -> Result<Invitation> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "DELETE FROM invitations \
                     WHERE workspace_id = $1 AND email = $2 AND accepted_at IS NULL",
                )
                .bind(new.workspace_id)
                .bind(new.email.as_str())
                .execute(&mut *tx)
                .await?;
                let row: InvitationRow = sqlx::query_as(concat!(
                    "INSERT INTO invitations (id, workspace_id, email, roles, grants, code_digest, \
                     invited_by, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ",
                    invitation_cols!()
                ))
                .bind(new.id)
                .bind(new.workspace_id)
                .bind(new.email.as_str())
                .bind(Json(&new.roles))
                .bind(Json(&new.grants))
                .bind(&new.code_digest[..])
                .bind(new.invited_by)
                .bind(Ts(new.created_at))
                .bind(Ts(new.expires_at))
                .fetch_one(&mut *tx)
                .await?;
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                row.try_into()
            }

            async fn invitation_by_code(&self, code_digest: &[u8; 32]) -> Result<Option<Invitation>> {
                let row: Option<InvitationRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    invitation_cols!(),
                    " FROM invitations WHERE code_digest = $1"
                ))
                .bind(&code_digest[..])
                .fetch_optional(&self.pool)
                .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn invitations(&self, workspace_id: Uuid) -> Result<Vec<Invitation>> {
                let rows: Vec<InvitationRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    invitation_cols!(),
                    " FROM invitations WHERE workspace_id = $1 AND accepted_at IS NULL \
                     ORDER BY created_at DESC, id DESC"
                ))
                .bind(workspace_id)
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn delete_invitation(
                &self,
                workspace_id: Uuid,
                id: Uuid,
                audit: &NewAuditEvent,
            ) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(
                    "DELETE FROM invitations WHERE workspace_id = $1 AND id = $2 \
                     AND accepted_at IS NULL",
                )
                .bind(workspace_id)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() > 0 {
                    Self::insert_audit(&mut tx, audit).await?;
                }
                tx.commit().await?;
                Ok(done.rows_affected() > 0)
            }

            async fn accept_invitation(
                &self,
                id: Uuid,
                user: &NewUser,
                audit: &NewAuditEvent,
            ) -> Result<Option<(User, Token)>> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(
                    "UPDATE invitations SET accepted_at = $2 WHERE id = $1 AND accepted_at IS NULL",
                )
                .bind(id)
                .bind(Ts(user.created_at))
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 0 {
                    return Ok(None);
                }
                let created = Self::insert_user_in(&mut tx, user).await?;
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(Some(created))
            }

            async fn join_by_invitation(
                &self,
                id: Uuid,
                user_id: Uuid,
                membership: &NewMembership,
                audit: &NewAuditEvent,
            ) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(
                    "UPDATE invitations SET accepted_at = $2 \
                     WHERE id = $1 AND workspace_id = $3 AND accepted_at IS NULL",
                )
                .bind(id)
                .bind(Ts(membership.created_at))
                .bind(membership.workspace_id)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                Self::add_member_in(&mut tx, user_id, membership).await?;
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn invitations_for_email(&self, email: &Email) -> Result<Vec<Invitation>> {
                let rows: Vec<InvitationRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    invitation_cols!(),
                    " FROM invitations WHERE email = $1 AND accepted_at IS NULL \
                     ORDER BY created_at DESC, id DESC"
                ))
                .bind(email.as_str())
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn insert_token(&self, new: &NewToken, audit: &NewAuditEvent) -> Result<Token> {
                let mut tx = self.begin_write().await?;
                let token = Self::insert_token_in(&mut tx, new).await?;
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(token)
            }

            async fn credential_by_digest(
                &self,
                digest: &TokenDigest,
            ) -> Result<Option<(keygate_domain::Credential, User)>> {
                let row: Option<rows::CredentialRow> = sqlx::query_as(concat!(
                    "SELECT token_id, token_kind, token_expires_at, token_revoked_at, token_scope, ",
                    user_cols!(),
                    " FROM (SELECT id AS token_id, kind AS token_kind, \
                     expires_at AS token_expires_at, revoked_at AS token_revoked_at, \
                     scope AS token_scope, user_id FROM tokens WHERE digest = $1) t \
                     JOIN users ON users.id = t.user_id"
                ))
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

            async fn tokens_of_users(&self, user_ids: &[Uuid]) -> Result<Vec<Token>> {
                let mut out = Vec::new();
                for chunk in user_ids.chunks(500) {
                    let mut query = sqlx::QueryBuilder::new(concat!("SELECT ", token_cols!(), " FROM tokens WHERE user_id IN ("));
                    let mut list = query.separated(", ");
                    for id in chunk {
                        list.push_bind(*id);
                    }
                    query.push(") ORDER BY created_at DESC, id DESC");
                    let rows: Vec<TokenRow> = query.build_query_as().fetch_all(&self.pool).await?;
                    for row in rows {
                        out.push(Token::try_from(row)?);
                    }
                }
                Ok(out)
            }

            async fn member_tokens(&self, workspace_id: Uuid) -> Result<Vec<Token>> {
                let rows: Vec<TokenRow> = sqlx::query_as(
                    "SELECT t.id, t.user_id, t.kind, t.name, t.description, t.hint, t.created_at, \
                     t.expires_at, t.last_used_at, t.last_used_ip, t.revoked_at, t.rotated_at, \
                     t.scope FROM tokens t JOIN members m ON m.user_id = t.user_id \
                     WHERE m.workspace_id = $1 ORDER BY t.created_at DESC, t.id DESC",
                )
                .bind(workspace_id)
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
                audit: &NewAuditEvent,
            ) -> Result<Option<Token>> {
                let mut tx = self.begin_write().await?;
                let row: Option<TokenRow> = sqlx::query_as(concat!(
                    "UPDATE tokens SET revoked_at = COALESCE(revoked_at, $3) \
                     WHERE id = $1 AND user_id = $2 RETURNING ",
                    token_cols!()
                ))
                .bind(id)
                .bind(user_id)
                .bind(Ts(now))
                .fetch_optional(&mut *tx)
                .await?;
                if row.is_some() {
                    Self::insert_audit(&mut tx, audit).await?;
                }
                tx.commit().await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn rotate_token(
                &self,
                user_id: Uuid,
                id: Uuid,
                digest: &TokenDigest,
                hint: &str,
                now: DateTime<Utc>,
                audit: &NewAuditEvent,
            ) -> Result<Option<Token>> {
                let mut tx = self.begin_write().await?;
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
                .fetch_optional(&mut *tx)
                .await?;
                if row.is_some() {
                    Self::insert_audit(&mut tx, audit).await?;
                }
                tx.commit().await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn record_token_use(&self, uses: &[$crate::TokenUse]) -> Result<()> {
                let mut tx = self.begin_write().await?;
                for u in uses {
                    sqlx::query(
                                                "UPDATE tokens SET last_used_at = $2, \
                         last_used_ip = COALESCE($3, last_used_ip) \
                         WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)",
                    )
                    .bind(u.token_id)
                    .bind(Ts(u.at))
                    .bind(&u.ip)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn record(&self, audit: &NewAuditEvent) -> Result<()> {
                let mut conn = self.pool.acquire().await?;
                Self::insert_audit(&mut conn, audit).await
            }

            async fn audit_events(
                &self,
                workspace_id: Option<Uuid>,
                filter: &AuditFilter,
            ) -> Result<Vec<AuditEvent>> {
                let rows: Vec<AuditRow> = sqlx::query_as(
                    "SELECT id, workspace_id, actor_id, actor_label, actor_token_id, action, \
                     target_type, target_id, details, client_ip, created_at FROM audit_events \
                     WHERE ($1 IS NULL OR workspace_id = $1) AND ($2 IS NULL OR actor_id = $2) \
                       AND ($3 IS NULL OR action = $3) AND ($4 IS NULL OR target_id = $4) \
                       AND ($5 IS NULL OR created_at >= $5) AND ($6 IS NULL OR created_at < $6) \
                       AND ($7 IS NULL OR id < $7) \
                     ORDER BY id DESC LIMIT $8",
                )
                .bind(workspace_id)
                .bind(filter.actor_id)
                .bind(&filter.action)
                .bind(&filter.target_id)
                .bind(filter.since.map(Ts))
                .bind(filter.until.map(Ts))
                .bind(filter.before)
                .bind(i64::from(filter.limit))
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(AuditEvent::from).collect())
            }
        }
    };
}

pub(crate) use impl_store;
