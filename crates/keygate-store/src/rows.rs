//! Rows as the databases return them, and their conversion to domain types.

use std::collections::HashMap;
use std::sync::Arc;

use keygate_domain::webhook::{Delivery, DeliveryStatus, Endpoint};
use keygate_domain::{
    AllowedIps, AuditEvent, Credential, Email, Invitation, Member, Membership, PermissionSet,
    RateLimit, RateLimits, ResourcePattern, RetiringSecret, Role, Scope, Slug, Team, TeamRef,
    Token, TokenKind, TokenLeak, User, UserKind, Workspace,
};
use sqlx::types::Json;
use uuid::Uuid;

use crate::StoreError;
use crate::time::Ts;

fn corrupt(what: &str, value: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {value}"))
}

/// A value read from one row of a query: the row's type, and how it converts. A query's row type
/// follows from the value asked for.
pub(crate) trait Read: Sized {
    type Row;
    fn read(row: Self::Row) -> Result<Self, StoreError>;
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: Uuid,
    kind: String,
    email: Option<String>,
    display_name: String,
    description: Option<String>,
    workspace_id: Option<Uuid>,
    is_instance_admin: bool,
    disabled_at: Option<Ts>,
    created_at: Ts,
    allowed_ips: Option<Json<Vec<String>>>,
    rate_limits: Option<Json<Vec<RateLimit>>>,
}

/// Stored limits; `None` for none.
fn rate_limits(stored: Option<Json<Vec<RateLimit>>>) -> Result<Option<RateLimits>, StoreError> {
    stored
        .map(|list| RateLimits::new(list.0).map_err(|e| corrupt("rate_limits", e.message)))
        .transpose()
}

/// A stored allow-list; `None` for anywhere.
fn allowed_ips(stored: Option<Json<Vec<String>>>) -> Result<Option<AllowedIps>, StoreError> {
    stored
        .map(|list| AllowedIps::parse(&list.0).map_err(|e| corrupt("allowed_ips", e.message)))
        .transpose()
}

impl Read for User {
    type Row = UserRow;
    fn read(r: UserRow) -> Result<Self, StoreError> {
        Ok(User {
            id: r.id,
            kind: UserKind::parse(&r.kind).ok_or_else(|| corrupt("user kind", &r.kind))?,
            email: r.email.map(Email::stored),
            display_name: r.display_name,
            description: r.description,
            workspace_id: r.workspace_id,
            is_instance_admin: r.is_instance_admin,
            disabled_at: r.disabled_at.map(|t| t.0),
            created_at: r.created_at.0,
            allowed_ips: allowed_ips(r.allowed_ips)?,
            rate_limits: rate_limits(r.rate_limits)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct WorkspaceRow {
    id: Uuid,
    slug: String,
    name: String,
    max_token_lifetime_days: Option<i32>,
    created_at: Ts,
    updated_at: Ts,
}

impl Read for Workspace {
    type Row = WorkspaceRow;
    fn read(r: WorkspaceRow) -> Result<Self, StoreError> {
        Ok(Workspace {
            id: r.id,
            slug: Slug::parse(&r.slug).map_err(|e| corrupt("workspace slug", e))?,
            name: r.name,
            max_token_lifetime_days: r
                .max_token_lifetime_days
                .map(u32::try_from)
                .transpose()
                .map_err(|e| corrupt("workspace max_token_lifetime_days", e))?,
            created_at: r.created_at.0,
            updated_at: r.updated_at.0,
        })
    }
}

/// One row per (membership, role) pair; the role is NULL for a membership without roles.
#[derive(sqlx::FromRow)]
pub(crate) struct MembershipRow {
    #[sqlx(flatten)]
    workspace: WorkspaceRow,
    role_name: Option<String>,
}

/// Groups rows ordered by workspace into memberships.
pub(crate) fn memberships(rows: Vec<MembershipRow>) -> Result<Vec<Membership>, StoreError> {
    let mut out: Vec<Membership> = Vec::new();
    for row in rows {
        let workspace_id = row.workspace.id;
        if out.last().is_none_or(|m| m.workspace.id != workspace_id) {
            out.push(Membership {
                workspace: Workspace::read(row.workspace)?,
                roles: Vec::new(),
            });
        }
        if let (Some(name), Some(m)) = (row.role_name, out.last_mut()) {
            m.roles.push(name);
        }
    }
    Ok(out)
}

#[derive(sqlx::FromRow)]
pub(crate) struct TokenRow {
    id: Uuid,
    user_id: Uuid,
    kind: String,
    name: Option<String>,
    description: Option<String>,
    hint: String,
    created_at: Ts,
    expires_at: Option<Ts>,
    last_used_at: Option<Ts>,
    last_used_ip: Option<String>,
    revoked_at: Option<Ts>,
    rotated_at: Option<Ts>,
    scope: Option<Json<Scope>>,
    leaked_at: Option<Ts>,
    leak_url: Option<String>,
    leak_reporter: Option<String>,
    allowed_ips: Option<Json<Vec<String>>>,
    rate_limits: Option<Json<Vec<RateLimit>>>,
}

impl Read for Token {
    type Row = TokenRow;
    fn read(r: TokenRow) -> Result<Self, StoreError> {
        Ok(Token {
            id: r.id,
            user_id: r.user_id,
            kind: TokenKind::parse(&r.kind).ok_or_else(|| corrupt("token kind", &r.kind))?,
            name: r.name,
            description: r.description,
            hint: r.hint,
            created_at: r.created_at.0,
            expires_at: r.expires_at.map(|t| t.0),
            last_used_at: r.last_used_at.map(|t| t.0),
            last_used_ip: r.last_used_ip,
            revoked_at: r.revoked_at.map(|t| t.0),
            rotated_at: r.rotated_at.map(|t| t.0),
            scope: r.scope.map(|s| s.0),
            leak: r.leaked_at.map(|at| TokenLeak {
                at: at.0,
                url: r.leak_url,
                reporter: r.leak_reporter.unwrap_or_default(),
            }),
            allowed_ips: allowed_ips(r.allowed_ips)?,
            rate_limits: rate_limits(r.rate_limits)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct RoleRow {
    id: Uuid,
    workspace_id: Uuid,
    name: String,
    description: Option<String>,
    permissions: Json<PermissionSet>,
    grants: Option<Json<Vec<ResourcePattern>>>,
    builtin: bool,
}

impl From<RoleRow> for Role {
    fn from(r: RoleRow) -> Self {
        Role {
            id: r.id,
            workspace_id: r.workspace_id,
            name: r.name,
            description: r.description,
            permissions: r.permissions.0,
            grants: r.grants.map(|g| g.0).unwrap_or_default(),
            builtin: r.builtin,
        }
    }
}

impl Read for Role {
    type Row = RoleRow;
    fn read(row: RoleRow) -> Result<Self, StoreError> {
        Ok(row.into())
    }
}

/// A role with the member or team (`owner_id`) that holds it.
#[derive(sqlx::FromRow)]
pub(crate) struct HeldRoleRow {
    pub owner_id: Uuid,
    #[sqlx(flatten)]
    pub role: RoleRow,
}

/// A grant with the member or team (`owner_id`) that holds it.
#[derive(sqlx::FromRow)]
pub(crate) struct GrantRow {
    pub owner_id: Uuid,
    pub pattern: String,
}

/// A team a member belongs to.
#[derive(sqlx::FromRow)]
pub(crate) struct TeamOfRow {
    pub user_id: Uuid,
    pub team_id: Uuid,
    pub team_name: String,
}

#[derive(sqlx::FromRow)]
pub(crate) struct MemberRow {
    #[sqlx(flatten)]
    user: UserRow,
    joined_at: Ts,
}

#[derive(sqlx::FromRow)]
pub(crate) struct TeamRow {
    id: Uuid,
    workspace_id: Uuid,
    name: String,
    description: Option<String>,
    created_at: Ts,
    updated_at: Ts,
}

/// (team id, user id)
#[derive(sqlx::FromRow)]
pub(crate) struct TeamMemberRow {
    pub team_id: Uuid,
    pub user_id: Uuid,
}

fn grant(pattern: &str) -> Result<ResourcePattern, StoreError> {
    ResourcePattern::parse(pattern).map_err(|e| corrupt("grant", e))
}

/// Groups per-owner rows into a map from owner id to its items.
fn by_owner<T>(rows: impl IntoIterator<Item = (Uuid, T)>) -> HashMap<Uuid, Vec<T>> {
    let mut map: HashMap<Uuid, Vec<T>> = HashMap::new();
    for (owner, item) in rows {
        map.entry(owner).or_default().push(item);
    }
    map
}

/// The roles and grants that members or teams hold, by the member's or team's id.
pub(crate) struct Held {
    roles: HashMap<Uuid, Vec<Role>>,
    grants: HashMap<Uuid, Vec<ResourcePattern>>,
}

impl Held {
    pub(crate) fn new(roles: Vec<HeldRoleRow>, grants: Vec<GrantRow>) -> Result<Self, StoreError> {
        let roles = roles.into_iter().map(|r| (r.owner_id, Role::from(r.role)));
        let grants = grants
            .into_iter()
            .map(|g| Ok((g.owner_id, grant(&g.pattern)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Held {
            roles: by_owner(roles),
            grants: by_owner(grants),
        })
    }

    /// What `owner` holds: its roles by name, its grants in order.
    fn take(&mut self, owner: Uuid) -> (Vec<Role>, Vec<ResourcePattern>) {
        let mut roles = self.roles.remove(&owner).unwrap_or_default();
        roles.sort_by(|a, b| a.name.cmp(&b.name));
        let mut grants = self.grants.remove(&owner).unwrap_or_default();
        grants.sort();
        (roles, grants)
    }
}

/// Assembles members from their rows, what they hold and the rows of their teams.
pub(crate) fn members(
    rows: Vec<MemberRow>,
    mut held: Held,
    teams: Vec<TeamOfRow>,
) -> Result<Vec<Member>, StoreError> {
    let mut teams = by_owner(teams.into_iter().map(|t| {
        (
            t.user_id,
            TeamRef {
                id: t.team_id,
                name: t.team_name,
            },
        )
    }));
    rows.into_iter()
        .map(|row| {
            let user = User::read(row.user)?;
            let (roles, grants) = held.take(user.id);
            let mut member_teams = teams.remove(&user.id).unwrap_or_default();
            member_teams.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(Member {
                roles,
                grants,
                teams: member_teams,
                joined_at: row.joined_at.0,
                user,
            })
        })
        .collect()
}

/// Assembles teams from their rows, what they hold and the rows of their members.
pub(crate) fn teams(rows: Vec<TeamRow>, mut held: Held, members: Vec<TeamMemberRow>) -> Vec<Team> {
    let mut members = by_owner(members.into_iter().map(|m| (m.team_id, m.user_id)));
    rows.into_iter()
        .map(|row| {
            let (roles, grants) = held.take(row.id);
            let mut team_members = members.remove(&row.id).unwrap_or_default();
            team_members.sort();
            Team {
                id: row.id,
                workspace_id: row.workspace_id,
                name: row.name,
                description: row.description,
                roles,
                grants,
                members: team_members,
                created_at: row.created_at.0,
                updated_at: row.updated_at.0,
            }
        })
        .collect()
}

#[derive(sqlx::FromRow)]
pub(crate) struct InvitationRow {
    id: Uuid,
    workspace_id: Uuid,
    email: String,
    roles: Json<Vec<String>>,
    grants: Json<Vec<ResourcePattern>>,
    invited_by: Option<Uuid>,
    created_at: Ts,
    expires_at: Ts,
    accepted_at: Option<Ts>,
}

impl Read for Invitation {
    type Row = InvitationRow;
    fn read(r: InvitationRow) -> Result<Self, StoreError> {
        Ok(Invitation {
            id: r.id,
            workspace_id: r.workspace_id,
            email: Email::stored(r.email),
            roles: r.roles.0,
            grants: r.grants.0,
            invited_by: r.invited_by,
            created_at: r.created_at.0,
            expires_at: r.expires_at.0,
            accepted_at: r.accepted_at.map(|t| t.0),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    id: Uuid,
    workspace_id: Option<Uuid>,
    actor_id: Option<Uuid>,
    actor_label: Option<String>,
    actor_token_id: Option<Uuid>,
    action: String,
    target_type: String,
    target_id: Option<String>,
    details: Json<serde_json::Value>,
    client_ip: Option<String>,
    created_at: Ts,
}

impl Read for AuditEvent {
    type Row = AuditRow;
    fn read(r: AuditRow) -> Result<Self, StoreError> {
        Ok(AuditEvent {
            id: r.id,
            workspace_id: r.workspace_id,
            actor_id: r.actor_id,
            actor_label: r.actor_label,
            actor_token_id: r.actor_token_id,
            action: r.action,
            target_type: r.target_type,
            target_id: r.target_id,
            details: r.details.0,
            client_ip: r.client_ip,
            created_at: r.created_at.0,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SessionRow {
    session_id: Uuid,
    session_created_at: Ts,
    session_expires_at: Ts,
    #[sqlx(flatten)]
    user: UserRow,
}

impl Read for crate::Session {
    type Row = SessionRow;
    fn read(r: SessionRow) -> Result<Self, StoreError> {
        Ok(crate::Session {
            id: r.session_id,
            user: User::read(r.user)?,
            created_at: r.session_created_at.0,
            expires_at: r.session_expires_at.0,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct RetiringSecretRow {
    hint: String,
    rotated_at: Ts,
    grace_seconds: i32,
    deadline: Ts,
    retires_at: Option<Ts>,
    ended_at: Option<Ts>,
    uses: i64,
    last_used_at: Option<Ts>,
    last_used_ip: Option<String>,
    uses_last_hour: i64,
}

impl Read for RetiringSecret {
    type Row = RetiringSecretRow;
    fn read(r: RetiringSecretRow) -> Result<Self, StoreError> {
        Ok(RetiringSecret {
            hint: r.hint,
            rotated_at: r.rotated_at.0,
            grace_seconds: u32::try_from(r.grace_seconds)
                .map_err(|_| corrupt("grace_seconds", r.grace_seconds))?,
            deadline: r.deadline.0,
            retires_at: r.retires_at.map(|t| t.0),
            ended_at: r.ended_at.map(|t| t.0),
            uses: u64::try_from(r.uses).unwrap_or_default(),
            last_used_at: r.last_used_at.map(|t| t.0),
            last_used_ip: r.last_used_ip,
            uses_last_hour: u64::try_from(r.uses_last_hour).unwrap_or_default(),
        })
    }
}

/// A token's credential and its user, as `credential_by_digest` reads them.
#[derive(sqlx::FromRow)]
pub(crate) struct CredentialRow {
    token_id: Uuid,
    token_kind: String,
    token_expires_at: Option<Ts>,
    token_revoked_at: Option<Ts>,
    token_scope: Option<Json<Scope>>,
    retiring_deadline: Option<Ts>,
    retiring_retires_at: Option<Ts>,
    retiring_ended_at: Option<Ts>,
    overlap_pending: bool,
    token_allowed_ips: Option<Json<Vec<String>>>,
    token_rate_limits: Option<Json<Vec<RateLimit>>>,
    #[sqlx(flatten)]
    user: UserRow,
}

impl Read for (Credential, User) {
    type Row = CredentialRow;
    fn read(r: CredentialRow) -> Result<Self, StoreError> {
        let credential = Credential {
            id: r.token_id,
            kind: TokenKind::parse(&r.token_kind)
                .ok_or_else(|| corrupt("token kind", &r.token_kind))?,
            expires_at: r.token_expires_at.map(|t| t.0),
            revoked_at: r.token_revoked_at.map(|t| t.0),
            scope: r.token_scope.map(|s| Arc::new(s.0)),
            retiring_until: r.retiring_deadline.map(|deadline| {
                keygate_domain::model::works_until(
                    deadline.0,
                    r.retiring_retires_at.map(|t| t.0),
                    r.retiring_ended_at.map(|t| t.0),
                )
            }),
            overlap_pending: r.overlap_pending,
            allowed_ips: allowed_ips(r.token_allowed_ips)?.map(Arc::new),
            rate_limits: rate_limits(r.token_rate_limits)?.map(Arc::new),
        };
        Ok((credential, User::read(r.user)?))
    }
}

/// One part of a decision's context (see `sql/access.rs`): which part in `part`, the
/// rest in the columns that part uses.
#[derive(sqlx::FromRow)]
pub(crate) struct ContextRow {
    part: String,
    id: Option<Uuid>,
    a: Option<String>,
    b: Option<String>,
    n: Option<i32>,
    t1: Option<Ts>,
    t2: Option<Ts>,
}

fn json<T: serde::de::DeserializeOwned>(what: &str, text: Option<&str>) -> Result<T, StoreError> {
    serde_json::from_str(text.unwrap_or("null")).map_err(|e| corrupt(what, e))
}

/// Assembles the parts of a decision's context; `None` without the workspace's own row.
pub(crate) fn decision_context(
    parts: Vec<ContextRow>,
) -> Result<Option<crate::DecisionContext>, StoreError> {
    let mut workspace = None;
    let mut member = false;
    let mut access = crate::Access::default();
    let mut public = None;
    for row in parts {
        match row.part.as_str() {
            "w" => {
                let missing = || corrupt("workspace row", "incomplete");
                workspace = Some(Workspace::read(WorkspaceRow {
                    id: row.id.ok_or_else(missing)?,
                    slug: row.a.ok_or_else(missing)?,
                    name: row.b.ok_or_else(missing)?,
                    max_token_lifetime_days: row.n,
                    created_at: row.t1.ok_or_else(missing)?,
                    updated_at: row.t2.ok_or_else(missing)?,
                })?);
            }
            "m" => member = true,
            "r" => access
                .role_permissions
                .push(json("role permissions", row.a.as_deref())?),
            "g" => access.grants.push(grant(row.a.as_deref().unwrap_or(""))?),
            "t" => access
                .team_grants
                .push(grant(row.a.as_deref().unwrap_or(""))?),
            "p" => {
                let permissions: PermissionSet = json("role permissions", row.a.as_deref())?;
                let grants: Option<Vec<ResourcePattern>> = json("role grants", row.b.as_deref())?;
                public = Some((permissions, grants.unwrap_or_default()));
            }
            other => return Err(corrupt("decision context part", other)),
        }
    }
    // A member in two teams with the same grant holds it once.
    access.team_grants.sort();
    access.team_grants.dedup();
    Ok(workspace.map(|workspace| crate::DecisionContext {
        workspace,
        access: member.then_some(access),
        public,
    }))
}

#[derive(sqlx::FromRow)]
pub(crate) struct EndpointRow {
    pub(crate) id: Uuid,
    workspace_id: Option<Uuid>,
    url: String,
    description: Option<String>,
    secret: String,
    previous_secret: Option<String>,
    previous_secret_until: Option<Ts>,
    disabled_at: Option<Ts>,
    disabled_reason: Option<String>,
    created_at: Ts,
    updated_at: Ts,
}

impl EndpointRow {
    /// The endpoint, with the events it receives (read apart).
    pub(crate) fn read(self, events: Vec<String>) -> Endpoint {
        Endpoint {
            id: self.id,
            workspace_id: self.workspace_id,
            url: self.url,
            description: self.description,
            events,
            secret: self.secret,
            previous_secret: self.previous_secret,
            previous_secret_until: self.previous_secret_until.map(|t| t.0),
            disabled_at: self.disabled_at.map(|t| t.0),
            disabled_reason: self.disabled_reason,
            created_at: self.created_at.0,
            updated_at: self.updated_at.0,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct DeliveryRow {
    message_id: Uuid,
    endpoint_id: Uuid,
    event: String,
    payload: String,
    created_at: Ts,
    status: String,
    attempts: i32,
    next_attempt_at: Option<Ts>,
    last_attempt_at: Option<Ts>,
    last_status: Option<i32>,
    last_latency_ms: Option<i32>,
    last_error: Option<String>,
}

impl Read for Delivery {
    type Row = DeliveryRow;
    fn read(r: DeliveryRow) -> Result<Self, StoreError> {
        Ok(Delivery {
            message_id: r.message_id,
            endpoint_id: r.endpoint_id,
            event: r.event,
            payload: r.payload,
            created_at: r.created_at.0,
            status: DeliveryStatus::parse(&r.status)
                .ok_or_else(|| corrupt("delivery status", &r.status))?,
            attempts: u32::try_from(r.attempts).unwrap_or_default(),
            next_attempt_at: r.next_attempt_at.map(|t| t.0),
            last_attempt_at: r.last_attempt_at.map(|t| t.0),
            last_status: r.last_status.and_then(|s| u16::try_from(s).ok()),
            last_latency_ms: r.last_latency_ms.and_then(|ms| u32::try_from(ms).ok()),
            last_error: r.last_error,
        })
    }
}
