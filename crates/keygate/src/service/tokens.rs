//! A user's own tokens: create, list, get, revoke, rotate, and refreshing the personal token.

use chrono::{DateTime, Duration, Utc};
use keygate_domain::{
    AllowedIps, ClearToken, MAX_GRACE_SECONDS, RateLimit, RateLimits, RetiringSecret, Scope, Token,
    TokenKind, TokenStatus, User, ValidationError, Workspace, max_overlap, validate,
};
use keygate_store::{NewToken, Overlap, TokenPatch};
use serde_json::json;
use uuid::Uuid;

use super::access::{parse_grants, parse_permissions};
use super::{Actor, Keygate, Notice, ServiceError, ServiceResult, Target, WorkspaceRef};

/// Which of a user's tokens a list shows: by status, and those that expire soon.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokenFilter {
    pub status: Option<TokenStatus>,
    /// Only active tokens that expire within this many days (1 to 3650).
    pub expiring_within_days: Option<u32>,
}

impl TokenFilter {
    /// Checks the bounds of `expiring_within_days`.
    pub fn new(
        status: Option<TokenStatus>,
        expiring_within_days: Option<u32>,
    ) -> Result<Self, ValidationError> {
        if expiring_within_days.is_some_and(|d| d == 0 || i64::from(d) > MAX_LIFETIME_DAYS) {
            return Err(ValidationError::new(
                "expiring_within_days",
                format!("from 1 to {MAX_LIFETIME_DAYS}"),
            ));
        }
        Ok(Self {
            status,
            expiring_within_days,
        })
    }

    pub fn admits(&self, token: &Token, now: DateTime<Utc>) -> bool {
        let status = token.status(now);
        self.status.is_none_or(|s| s == status)
            && self.expiring_within_days.is_none_or(|days| {
                status == TokenStatus::Active
                    && token
                        .expires_at
                        .is_some_and(|at| at <= now + Duration::days(i64::from(days)))
            })
    }
}

/// A token as its page shows it: with the secret its latest rotation replaced, if any.
#[derive(Debug, Clone)]
pub struct TokenView {
    pub token: Token,
    pub retiring: Option<RetiringSecret>,
}

/// Longest lifetime a token can be given, in days.
pub const MAX_LIFETIME_DAYS: i64 = 3650;

/// When a new token stops working.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    Never,
    InDays(i64),
    At(DateTime<Utc>),
}

impl Expiry {
    /// From the two optional inputs every interface offers; giving both is an error.
    pub fn from_parts(
        in_days: Option<i64>,
        at: Option<DateTime<Utc>>,
    ) -> Result<Self, ValidationError> {
        match (in_days, at) {
            (None, None) => Ok(Expiry::Never),
            (Some(days), None) => Ok(Expiry::InDays(days)),
            (None, Some(at)) => Ok(Expiry::At(at)),
            (Some(_), Some(_)) => Err(ValidationError::new(
                "expires_at",
                "give either expires_in_days or expires_at, not both",
            )),
        }
    }

    pub(super) fn resolve(
        self,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, ValidationError> {
        let latest = now + Duration::days(MAX_LIFETIME_DAYS);
        match self {
            Expiry::Never => Ok(None),
            Expiry::InDays(days) if (1..=MAX_LIFETIME_DAYS).contains(&days) => {
                Ok(Some(now + Duration::days(days)))
            }
            Expiry::InDays(_) => Err(ValidationError::new(
                "expires_in_days",
                format!("must be between 1 and {MAX_LIFETIME_DAYS}"),
            )),
            Expiry::At(at) if at <= now => {
                Err(ValidationError::new("expires_at", "must be in the future"))
            }
            Expiry::At(at) if at > latest => Err(ValidationError::new(
                "expires_at",
                format!("must be at most {MAX_LIFETIME_DAYS} days from now"),
            )),
            Expiry::At(at) => Ok(Some(at)),
        }
    }
}

/// A token's scope as a caller asks for it: workspaces by id or slug, permission and resource
/// patterns as strings. `None` leaves a dimension unrestricted.
#[derive(Debug, Clone, Default)]
pub struct ScopeRequest {
    pub workspaces: Option<Vec<String>>,
    pub permissions: Option<Vec<String>>,
    pub resources: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct NewTokenRequest {
    pub name: Option<String>,
    pub description: Option<String>,
    pub expiry: Expiry,
    pub scope: Option<ScopeRequest>,
    /// Networks (CIDR) or addresses the token may be used from; `None` for anywhere.
    pub allowed_ips: Option<Vec<String>>,
    /// How often the token may be used; `None`: no limit of its own.
    pub rate_limits: Option<Vec<RateLimit>>,
}

/// Changes to a token as a caller asks for them: `None` leaves a field as it is, `Some(None)`
/// clears it.
#[derive(Debug, Clone, Default)]
pub struct TokenPatchRequest {
    pub allowed_ips: Option<Option<Vec<String>>>,
    pub rate_limits: Option<Option<Vec<RateLimit>>>,
}

/// A new token's validated name, description and expiry.
pub(super) struct TokenSettings {
    pub name: Option<String>,
    pub description: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

fn scope_error(message: String) -> ServiceError {
    ValidationError::new("scope", message).into()
}

/// Refuses an expiry beyond the longest token lifetime `workspace` allows.
pub(super) fn within_lifetime(
    workspace: &Workspace,
    now: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
) -> ServiceResult<()> {
    let Some(days) = workspace.max_token_lifetime_days else {
        return Ok(());
    };
    // A minute of slack, so that "in N days" chosen a moment ago still fits.
    let latest = now + Duration::days(i64::from(days)) + Duration::minutes(1);
    match expires_at {
        Some(at) if at <= latest => Ok(()),
        _ => Err(ValidationError::new(
            "expires_at",
            format!(
                "workspace `{}` allows tokens of at most {days} days: choose an expiry within that",
                workspace.slug
            ),
        )
        .into()),
    }
}

/// The expiry of a token created without one in `workspace`: its longest allowed lifetime.
pub(super) fn default_expiry(workspace: &Workspace, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    workspace
        .max_token_lifetime_days
        .map(|days| now + Duration::days(i64::from(days)))
}

impl Keygate {
    /// The workspaces whose maximum token lifetime binds a token of `owner` with `scope`: an API
    /// user's own workspace, and each workspace the scope names.
    async fn bound_workspaces(
        &self,
        owner: &User,
        scope: Option<&Scope>,
    ) -> ServiceResult<Vec<Workspace>> {
        let mut ids: Vec<Uuid> = owner.workspace_id.into_iter().collect();
        for id in scope.iter().flat_map(|s| s.workspaces.iter().flatten()) {
            if !ids.contains(id) {
                ids.push(*id);
            }
        }
        let mut out = Vec::new();
        for id in ids {
            if let Some(ws) = self.store.workspace(id).await? {
                out.push(ws);
            }
        }
        Ok(out)
    }

    /// Builds the stored form of a fresh secret: digest and hint only.
    pub(super) fn token_row(
        &self,
        user_id: Uuid,
        clear: &ClearToken,
        now: DateTime<Utc>,
    ) -> NewToken {
        let parsed = clear.parsed();
        NewToken {
            id: Uuid::now_v7(),
            user_id,
            kind: parsed.kind(),
            name: None,
            description: None,
            digest: self.digester.digest(&parsed),
            hint: parsed.hint(),
            created_at: now,
            expires_at: None,
            scope: None,
            allowed_ips: None,
            rate_limits: None,
        }
    }

    /// A new token of `holder`'s user, as it will be stored, and its secret: the settings and
    /// scope already checked, with the request's allow-list and rate limits checked here.
    pub(super) fn new_token(
        &self,
        holder: &Actor,
        req: &NewTokenRequest,
        settings: TokenSettings,
        scope: Option<Scope>,
        now: DateTime<Utc>,
    ) -> ServiceResult<(NewToken, ClearToken)> {
        let allowed_ips = checked_allowed_ips(holder, &holder.user, req.allowed_ips.as_deref())?;
        let rate_limits = checked_rate_limits(holder, &holder.user, req.rate_limits.clone())?;
        // An API user's tokens are `kga_` whoever creates them, so the prefix tells.
        let kind = match holder.user.kind {
            keygate_domain::UserKind::Api => TokenKind::Api,
            keygate_domain::UserKind::Human => TokenKind::User,
        };
        let clear = self.generate(kind)?;
        let row = NewToken {
            name: settings.name,
            description: settings.description,
            expires_at: settings.expires_at,
            scope,
            allowed_ips,
            rate_limits,
            ..self.token_row(holder.user.id, &clear, now)
        };
        Ok((row, clear))
    }

    /// Name, description and expiry of a new token, validated.
    pub(super) fn token_settings(
        &self,
        req: &NewTokenRequest,
        now: DateTime<Utc>,
    ) -> ServiceResult<TokenSettings> {
        let name = req
            .name
            .as_deref()
            .map(|n| validate::name("name", n))
            .transpose()?;
        let description = validate::optional_description(req.description.as_deref())?;
        Ok(TokenSettings {
            name,
            description,
            expires_at: req.expiry.resolve(now)?,
        })
    }

    /// The scope a new token of `actor`'s user gets: what they asked for, no wider than the token
    /// they act with, and within what they hold. 400 naming what they do not hold.
    async fn checked_scope(
        &self,
        actor: &Actor,
        requested: Option<&ScopeRequest>,
    ) -> ServiceResult<Option<Scope>> {
        let inherited = actor
            .token
            .as_ref()
            .and_then(|t| t.scope.as_deref().cloned());
        let requested = requested
            .filter(|r| r.workspaces.is_some() || r.permissions.is_some() || r.resources.is_some());
        let Some(requested) = requested else {
            // Unscoped (an empty scope narrows nothing), unless the token acting is scoped: then
            // the new one is scoped as much.
            return Ok(inherited);
        };
        let memberships = self.store.memberships(actor.user.id).await?;
        let workspaces = match &requested.workspaces {
            None => inherited.as_ref().and_then(|s| s.workspaces.clone()),
            Some(names) => {
                let mut ids = Vec::new();
                for name in names {
                    let found = memberships
                        .iter()
                        .find(|m| match WorkspaceRef::parse(name) {
                            WorkspaceRef::Id(id) => m.workspace.id == id,
                            WorkspaceRef::Slug(slug) => m.workspace.slug.as_str() == slug,
                        });
                    match found {
                        Some(m) if !ids.contains(&m.workspace.id) => ids.push(m.workspace.id),
                        Some(_) => {}
                        None => {
                            return Err(scope_error(format!(
                                "names workspace `{name}`, which you are not a member of"
                            )));
                        }
                    }
                }
                Some(ids)
            }
        };
        let permissions = match &requested.permissions {
            None => inherited.as_ref().and_then(|s| s.permissions.clone()),
            Some(list) => Some(parse_permissions(list)?),
        };
        let resources = match &requested.resources {
            None => inherited.as_ref().and_then(|s| s.resources.clone()),
            Some(list) => Some(parse_grants(list)?),
        };
        // What the acting token reaches in each workspace the scope names.
        let mut held = Vec::new();
        for m in &memberships {
            if workspaces
                .as_ref()
                .is_none_or(|ids| ids.contains(&m.workspace.id))
            {
                if let Some(rights) = self.member_rights(actor, m.workspace.id).await? {
                    held.push(rights);
                } else if workspaces.is_some() {
                    return Err(scope_error(format!(
                        "names workspace `{}`, which the token you are using cannot reach",
                        m.workspace.slug
                    )));
                }
            }
        }
        for p in permissions.iter().flat_map(|s| s.iter()) {
            if !held.iter().any(|r| r.permissions.allows(p)) {
                return Err(scope_error(format!(
                    "asks for permission `{p}`, which you do not hold"
                )));
            }
        }
        for r in resources.iter().flatten() {
            if !held.iter().any(|h| h.resources.covers(r)) {
                return Err(scope_error(format!(
                    "asks for resource `{r}`, which you do not hold"
                )));
            }
        }
        Ok(Some(Scope {
            workspaces,
            permissions,
            resources,
        }))
    }

    pub async fn create_token(
        &self,
        actor: &Actor,
        req: NewTokenRequest,
    ) -> ServiceResult<(Token, ClearToken)> {
        self.issue_token(actor, actor, req).await
    }

    /// A new token for `holder`'s user, created by `actor` (the same, or an instance admin). Its
    /// scope is checked against what the holder holds and the token they act with.
    pub(super) async fn issue_token(
        &self,
        actor: &Actor,
        holder: &Actor,
        req: NewTokenRequest,
    ) -> ServiceResult<(Token, ClearToken)> {
        actor.require_current_secret()?;
        let now = self.clock.now();
        let settings = self.token_settings(&req, now)?;
        let scope = self.checked_scope(holder, req.scope.as_ref()).await?;
        let (row, clear) = self.new_token(holder, &req, settings, scope, now)?;
        for ws in self
            .bound_workspaces(&holder.user, row.scope.as_ref())
            .await?
        {
            within_lifetime(&ws, now, row.expires_at)?;
        }
        let mut details =
            json!({ "name": row.name, "hint": row.hint, "expires_at": row.expires_at });
        if let Some(list) = &row.allowed_ips {
            details["allowed_ips"] = json!(list.to_strings());
        }
        if let Some(limits) = &row.rate_limits {
            details["rate_limits"] = json!(limits.limits());
        }
        if holder.user.id != actor.user.id {
            details["owner"] = json!(holder.user.id);
        }
        let audit = actor.audit(
            now,
            holder.user.workspace_id,
            "token.created",
            Target::new("token", row.id),
            details,
        );
        let token = self.store.insert_token(&row, &audit).await?;
        Ok((token, clear))
    }

    pub async fn list_tokens(&self, user: &User) -> ServiceResult<Vec<Token>> {
        Ok(self.store.tokens_of(user.id).await?)
    }

    /// The user's tokens that `filter` admits, newest first.
    pub async fn list_tokens_where(
        &self,
        user: &User,
        filter: TokenFilter,
    ) -> ServiceResult<Vec<Token>> {
        let now = self.clock.now();
        let mut tokens = self.list_tokens(user).await?;
        tokens.retain(|t| filter.admits(t, now));
        Ok(tokens)
    }

    /// One of the user's tokens; another user's token is indistinguishable from none.
    pub async fn token(&self, user: &User, id: Uuid) -> ServiceResult<Token> {
        self.store
            .token_of(user.id, id)
            .await?
            .ok_or(ServiceError::NotFound("token"))
    }

    /// Revokes one of `owner`'s tokens at once. Revoking twice is not an error. The personal
    /// token is refreshed, never revoked, so that every person keeps exactly one.
    pub(super) async fn revoke_token_of(
        &self,
        actor: &Actor,
        owner: &User,
        id: Uuid,
        workspace: Option<Uuid>,
    ) -> ServiceResult<Token> {
        let token = self.token(owner, id).await?;
        if token.kind == TokenKind::Personal {
            return Err(ServiceError::conflict(
                "personal_token",
                "the personal token cannot be revoked; refresh it to invalidate the current secret",
            ));
        }
        let now = self.clock.now();
        let audit = actor.audit(
            now,
            workspace,
            "token.revoked",
            Target::new("token", id),
            json!({ "hint": token.hint, "owner": owner.id }),
        );
        let token = self
            .store
            .revoke_token(owner.id, id, now, &audit)
            .await?
            .ok_or(ServiceError::NotFound("token"))?;
        self.changed(Notice::Token(id)).await;
        Ok(token)
    }

    /// Changes where one of `owner`'s tokens may be used from and how often. Takes effect at
    /// once, on every node as soon as it hears.
    pub(super) async fn update_token_of(
        &self,
        actor: &Actor,
        owner: &User,
        id: Uuid,
        workspace: Option<Uuid>,
        req: TokenPatchRequest,
    ) -> ServiceResult<Token> {
        let current = self.token(owner, id).await?;
        let holder = if actor.user.id == owner.id {
            actor
        } else {
            &Actor::operator(owner.clone())
        };
        let lifted = |what: &'static str| {
            ValidationError::new(
                what,
                format!(
                    "the token you are using is held to {what}, so it cannot lift them: give \
                     ones within its own"
                ),
            )
        };
        let allowed_ips = match &req.allowed_ips {
            None => None,
            Some(requested) => {
                let allowed = checked_allowed_ips(holder, owner, requested.as_deref())?;
                if requested.is_none() && allowed.is_some() {
                    return Err(lifted("allowed_ips").into());
                }
                Some(allowed)
            }
        };
        let rate_limits = match req.rate_limits {
            None => None,
            Some(requested) => {
                let cleared = requested.is_none();
                let limits = checked_rate_limits(holder, owner, requested)?;
                if cleared && limits.is_some() {
                    return Err(lifted("rate_limits").into());
                }
                Some(limits)
            }
        };
        if allowed_ips.is_none() && rate_limits.is_none() {
            return Ok(current);
        }
        let mut details = json!({ "owner": owner.id });
        if let Some(list) = &allowed_ips {
            details["allowed_ips"] = json!(list.as_ref().map(AllowedIps::to_strings));
        }
        if let Some(limits) = &rate_limits {
            details["rate_limits"] = json!(limits.as_ref().map(RateLimits::limits));
        }
        let audit = actor.audit(
            self.clock.now(),
            workspace,
            "token.updated",
            Target::new("token", id),
            details,
        );
        let patch = TokenPatch {
            allowed_ips,
            rate_limits,
        };
        let token = self
            .store
            .update_token(owner.id, id, &patch, &audit)
            .await?
            .ok_or(ServiceError::NotFound("token"))?;
        self.changed(Notice::Token(id)).await;
        Ok(token)
    }

    /// Changes one of the actor's own tokens. A scoped token may change only itself, and a token
    /// held to an allow-list or to rate limits may not reach past them.
    pub async fn update_token(
        &self,
        actor: &Actor,
        id: Uuid,
        req: TokenPatchRequest,
    ) -> ServiceResult<Token> {
        require_unscoped_unless_self(actor, id)?;
        self.update_token_of(actor, &actor.user.clone(), id, None, req)
            .await
    }

    pub async fn revoke_token(&self, actor: &Actor, id: Uuid) -> ServiceResult<Token> {
        self.revoke_token_of(actor, &actor.user.clone(), id, None)
            .await
    }

    /// A new secret for one of `owner`'s tokens. Without a grace period the old secret stops
    /// working at once; with one, it works until `grace_seconds` after the new secret's first use,
    /// never past the token's expiry, and at most seven days after the rotation.
    pub(super) async fn rotate_token_of(
        &self,
        actor: &Actor,
        owner: &User,
        id: Uuid,
        workspace: Option<Uuid>,
        grace_seconds: u32,
    ) -> ServiceResult<(Token, ClearToken)> {
        actor.require_current_secret()?;
        if grace_seconds > MAX_GRACE_SECONDS {
            return Err(keygate_domain::ValidationError::new(
                "grace_seconds",
                format!("at most {MAX_GRACE_SECONDS} (a day)"),
            )
            .into());
        }
        let now = self.clock.now();
        let token = self.token(owner, id).await?;
        require_may_take_secret_of(actor, owner, &token)?;
        // A personal token revoked as leaked comes back with its refresh: a new secret replaces
        // the leaked one, which stays dead (no overlap for it).
        let revived = token.kind == TokenKind::Personal && token.revoked_at.is_some();
        let grace_seconds = if revived { 0 } else { grace_seconds };
        match token.status(now) {
            TokenStatus::Active => {}
            TokenStatus::Revoked if revived => {}
            TokenStatus::Revoked => {
                return Err(ServiceError::conflict(
                    "token_revoked",
                    "a revoked token cannot be rotated; create a new one",
                ));
            }
            TokenStatus::Expired => {
                return Err(ServiceError::conflict(
                    "token_expired",
                    "an expired token cannot be rotated; create a new one",
                ));
            }
        }
        // A new secret is a new token as far as the workspace's lifetime goes: one that outlives
        // it (made before the workspace set it) is not renewed.
        for ws in self.bound_workspaces(owner, token.scope.as_ref()).await? {
            if within_lifetime(&ws, now, token.expires_at).is_err() {
                return Err(ServiceError::conflict(
                    "token_outlives_workspace",
                    format!(
                        "this token outlives the longest token lifetime workspace `{}` allows; create a new one instead",
                        ws.slug
                    ),
                ));
            }
        }
        let clear = self.generate(token.kind)?;
        let fresh = self.token_row(owner.id, &clear, now);
        let action = if token.kind == TokenKind::Personal {
            "token.refreshed"
        } else {
            "token.rotated"
        };
        let audit = actor.audit(
            now,
            workspace,
            action,
            Target::new("token", id),
            json!({ "hint": fresh.hint, "owner": owner.id, "grace_seconds": grace_seconds }),
        );
        let latest = now + max_overlap();
        let overlap = Overlap {
            grace_seconds,
            deadline: token.expires_at.map_or(latest, |e| e.min(latest)),
        };
        let token = self
            .store
            .rotate_token(
                owner.id,
                id,
                &fresh.digest,
                &fresh.hint,
                now,
                overlap,
                &audit,
            )
            .await?
            // Revoked between the read and the write.
            .ok_or_else(|| {
                ServiceError::conflict("token_revoked", "the token was revoked meanwhile")
            })?;
        self.changed(Notice::Token(id)).await;
        Ok((token, clear))
    }

    /// Rotates one of the actor's own tokens, the old secret working for `grace_seconds` after
    /// the new one's first use (0: not at all). A scoped token may rotate only itself: a new
    /// secret for a broader token would hand out more than it carries.
    pub async fn rotate_token(
        &self,
        actor: &Actor,
        id: Uuid,
        grace_seconds: u32,
    ) -> ServiceResult<(Token, ClearToken)> {
        require_unscoped_unless_self(actor, id)?;
        self.rotate_token_of(actor, &actor.user.clone(), id, None, grace_seconds)
            .await
    }

    /// Ends the overlap of one of the actor's own tokens: its replaced secret stops now.
    pub async fn end_token_overlap(&self, actor: &Actor, id: Uuid) -> ServiceResult<TokenView> {
        require_unscoped_unless_self(actor, id)?;
        self.end_overlap_of(actor, &actor.user.clone(), id, None)
            .await
    }

    pub(super) async fn end_overlap_of(
        &self,
        actor: &Actor,
        owner: &User,
        id: Uuid,
        workspace: Option<Uuid>,
    ) -> ServiceResult<TokenView> {
        actor.require_current_secret()?;
        let token = self.token(owner, id).await?;
        let now = self.clock.now();
        let audit = actor.audit(
            now,
            workspace,
            "token.overlap_ended",
            Target::new("token", id),
            json!({ "owner": owner.id }),
        );
        if !self.store.end_overlap(id, now, &audit).await? {
            return Err(ServiceError::conflict(
                "no_overlap",
                "no replaced secret of this token is working",
            ));
        }
        self.changed(Notice::Token(id)).await;
        self.token_view(token).await
    }

    /// A token with the secret its latest rotation replaced, if any.
    pub async fn token_view(&self, token: Token) -> ServiceResult<TokenView> {
        let retiring = self
            .store
            .retiring_secret(token.id, self.clock.now())
            .await?;
        Ok(TokenView { token, retiring })
    }

    /// The new secret of a token whose replaced secret waits for it was used: the grace period
    /// starts (once, on every node; each request until the notice lands asks again, cheaply).
    pub(super) fn first_use_of_new_secret(&self, id: Uuid, at: DateTime<Utc>) {
        if !self
            .starting_grace
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id)
        {
            return;
        }
        let keygate = self.clone();
        tokio::spawn(async move {
            match keygate.store.start_grace(id, at).await {
                Ok(_) => keygate.changed(Notice::Token(id)).await,
                Err(e) => tracing::warn!(error = %e, token = %id, "could not start a grace period"),
            }
            keygate
                .starting_grace
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&id);
        });
    }

    /// A new secret for the user's personal token; the old one stops working at once.
    pub async fn refresh_personal_token(
        &self,
        actor: &Actor,
        grace_seconds: u32,
    ) -> ServiceResult<(Token, ClearToken)> {
        let personal = self
            .store
            .personal_token(actor.user.id)
            .await?
            .ok_or(ServiceError::NotFound("personal token"))?;
        require_unscoped_unless_self(actor, personal.id)?;
        self.rotate_token_of(actor, &actor.user.clone(), personal.id, None, grace_seconds)
            .await
    }
}

fn require_unscoped_unless_self(actor: &Actor, id: Uuid) -> ServiceResult<()> {
    match &actor.token {
        Some(t) if t.scope.is_some() && t.id != id => Err(ServiceError::Forbidden {
            missing: None,
            message: "a scoped token can change only itself".into(),
        }),
        _ => Ok(()),
    }
}

/// A new secret for `target` goes to `actor`. When the token `actor` acts with is one of
/// `owner`'s, by whatever route, that secret may carry no more than the acting token does: a
/// scoped token rotates only itself, and a token held to an allow-list or to rate limits only a
/// sibling held within them.
fn require_may_take_secret_of(actor: &Actor, owner: &User, target: &Token) -> ServiceResult<()> {
    let Some(acting) = acting_for(actor, owner).filter(|t| t.id != target.id) else {
        return Ok(());
    };
    require_unscoped_unless_self(actor, target.id)?;
    let outer = (acting.allowed_ips.as_deref(), acting.rate_limits.as_deref());
    let inner = (target.allowed_ips.as_ref(), target.rate_limits.as_ref());
    if !held_within(outer, inner) {
        return Err(ServiceError::Forbidden {
            missing: None,
            message: "the token you are using is held to allowed_ips or rate limits that this \
                      token is not held within; its new secret would reach past them"
                .into(),
        });
    }
    Ok(())
}

/// What a token or an API user is held to: where it may be used from, and how often (`None`:
/// anywhere, as often as asked).
pub(super) type Holds<'a> = (Option<&'a AllowedIps>, Option<&'a RateLimits>);

/// Whether `inner` is held at least as tightly as `outer`: within each of its networks, and to
/// each of its limits, as strict or stricter.
pub(super) fn held_within(outer: Holds<'_>, inner: Holds<'_>) -> bool {
    let ips = outer
        .0
        .is_none_or(|o| inner.0.is_some_and(|i| i.is_within(o)));
    let limits = outer.1.is_none_or(|o| inner.1.is_some_and(|i| i.keeps(o)));
    ips && limits
}

fn allowed_ips_error(message: String) -> ServiceError {
    ValidationError::new("allowed_ips", message).into()
}

/// The token `holder` acts with, when it is one of `owner`'s: what it is held to binds the tokens
/// it makes or changes for its own user.
fn acting_for<'a>(holder: &'a Actor, owner: &User) -> Option<&'a keygate_domain::Credential> {
    holder.token.as_ref().filter(|_| holder.user.id == owner.id)
}

/// The allow-list a token of `owner` gets: the one requested, which must lie within the owner's
/// own list (an API user's) and within the list of the token `holder` acts with when that token
/// is the owner's (a token held to some addresses cannot make one that works from others). With
/// none requested, a token made that way inherits the acting token's list.
fn checked_allowed_ips(
    holder: &Actor,
    owner: &User,
    requested: Option<&[String]>,
) -> ServiceResult<Option<AllowedIps>> {
    let requested = requested.map(AllowedIps::parse).transpose()?;
    let acting = acting_for(holder, owner).and_then(|t| t.allowed_ips.as_deref());
    let list = requested.or_else(|| acting.cloned());
    let Some(list) = list else {
        return Ok(None);
    };
    if let Some(outer) = &owner.allowed_ips
        && !list.is_within(outer)
    {
        return Err(allowed_ips_error(format!(
            "must lie within the API user's allowed_ips ({outer})"
        )));
    }
    if let Some(outer) = acting
        && !list.is_within(outer)
    {
        return Err(allowed_ips_error(format!(
            "must lie within the allowed_ips of the token you are using ({outer})"
        )));
    }
    Ok(Some(list))
}

/// The rate limits a token of `owner` gets: the ones requested, plus those of the token `holder`
/// acts with when that token is the owner's, which it may tighten but not loosen or drop (a
/// token held to limits cannot make one that is not). An API user's own limits apply besides,
/// counted for all its tokens together.
fn checked_rate_limits(
    holder: &Actor,
    owner: &User,
    requested: Option<Vec<RateLimit>>,
) -> ServiceResult<Option<RateLimits>> {
    let requested = requested.map(RateLimits::new).transpose()?;
    let acting = acting_for(holder, owner).and_then(|t| t.rate_limits.as_deref());
    match (requested, acting) {
        (None, acting) => Ok(acting.cloned()),
        (Some(limits), None) => Ok(Some(limits)),
        (Some(limits), Some(acting)) => {
            let limits = limits.with(acting);
            if !limits.keeps(acting) {
                return Err(ValidationError::new(
                    "rate_limits",
                    format!("may not loosen the rate limits of the token you are using ({acting})"),
                )
                .into());
            }
            Ok(Some(limits))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hold_is_within_another_only_when_no_looser() {
        let office = AllowedIps::parse(&["10.1.0.0/16".to_owned()]).expect("list");
        let desk = AllowedIps::parse(&["10.1.2.3".to_owned()]).expect("list");
        let day = |limit| {
            RateLimits::new(vec![RateLimit {
                name: "default".into(),
                limit,
                per_seconds: 86_400,
            }])
            .expect("limits")
        };
        let (fifty, five) = (day(50), day(5));
        // Nothing outside binds nothing; everything is within itself.
        assert!(held_within((None, None), (None, None)));
        assert!(held_within(
            (Some(&office), Some(&fifty)),
            (Some(&office), Some(&fifty))
        ));
        // Narrower and stricter is within; wider, looser or lifted is not.
        assert!(held_within(
            (Some(&office), Some(&fifty)),
            (Some(&desk), Some(&five))
        ));
        assert!(!held_within((Some(&desk), None), (Some(&office), None)));
        assert!(!held_within((None, Some(&five)), (None, Some(&fifty))));
        assert!(!held_within((Some(&office), None), (None, None)));
        assert!(!held_within((None, Some(&fifty)), (None, None)));
    }

    #[test]
    fn expiry_resolution() {
        let now = DateTime::UNIX_EPOCH + Duration::days(100);
        assert_eq!(Expiry::Never.resolve(now), Ok(None));
        assert_eq!(
            Expiry::InDays(30).resolve(now),
            Ok(Some(now + Duration::days(30)))
        );
        assert!(Expiry::InDays(0).resolve(now).is_err());
        assert!(Expiry::InDays(-1).resolve(now).is_err());
        assert!(Expiry::InDays(MAX_LIFETIME_DAYS + 1).resolve(now).is_err());
        assert!(Expiry::At(now).resolve(now).is_err());
        assert!(Expiry::At(now - Duration::seconds(1)).resolve(now).is_err());
        assert!(
            Expiry::At(now + Duration::days(MAX_LIFETIME_DAYS + 1))
                .resolve(now)
                .is_err()
        );
        let soon = now + Duration::hours(1);
        assert_eq!(Expiry::At(soon).resolve(now), Ok(Some(soon)));
        assert!(Expiry::from_parts(Some(1), Some(soon)).is_err());
        assert_eq!(Expiry::from_parts(None, None), Ok(Expiry::Never));
    }
}
