//! `Actor`: who performs a use case (a user, through a token or at the operator's console), and
//! the audit entries their changes write.

use std::net::IpAddr;
use std::sync::Arc;

use super::RateState;
use chrono::{DateTime, Utc};
use keygate_domain::AuditEvent;
use keygate_domain::{Credential, Email, User};
use serde_json::Value;
use uuid::Uuid;

use super::{ServiceError, ServiceResult};

/// Cheap to clone: the user is shared with the verification cache, and the credential is a few
/// words.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user: Arc<User>,
    /// The token presented; `None` for a web session or an operator at the command line.
    pub token: Option<Credential>,
    /// The client's address, when the actor came over the network.
    pub ip: Option<IpAddr>,
    /// Where the request stands against the tightest rate limit its token is held to, if any.
    pub rate: Option<RateState>,
}

impl Actor {
    /// Refuses a request made with a secret that a rotation replaced (still in its grace
    /// period): whoever still holds only the old secret may use it, but not mint new secrets
    /// with it (create, rotate, refresh, issue; an invitation's code or a password link, which
    /// make credentials of their own) nor end the overlap, which would outlive it.
    pub fn require_current_secret(&self) -> ServiceResult<()> {
        if self
            .token
            .as_ref()
            .is_some_and(|t| t.retiring_until.is_some())
        {
            return Err(ServiceError::Forbidden {
                missing: None,
                message: "a secret that a rotation replaced cannot issue or rotate secrets; use the new one".into(),
            });
        }
        Ok(())
    }

    /// An operator acting as `user` from the command line, with direct database access.
    pub fn operator(user: User) -> Self {
        Actor {
            user: Arc::new(user),
            token: None,
            ip: None,
            rate: None,
        }
    }

    /// The operator at the command line administering the instance itself (`keygate user ...`):
    /// an instance admin that is nobody's account. The audit log names it "command line".
    pub fn console() -> Self {
        Actor {
            user: Arc::new(User {
                id: Uuid::nil(),
                kind: keygate_domain::UserKind::Human,
                email: None,
                display_name: "command line".into(),
                description: None,
                workspace_id: None,
                is_instance_admin: true,
                disabled_at: None,
                created_at: DateTime::UNIX_EPOCH,
                allowed_ips: None,
                rate_limits: None,
            }),
            token: None,
            ip: None,
            rate: None,
        }
    }

    /// Whether the token's scope (if any) lets it act in `workspace`.
    pub fn scope_admits(&self, workspace: Uuid) -> bool {
        self.token
            .as_ref()
            .and_then(|t| t.scope.as_ref())
            .is_none_or(|s| s.admits_workspace(workspace))
    }

    /// The label the audit log keeps for this actor: their email, or an API user's name.
    pub fn label(&self) -> String {
        self.user
            .email
            .as_ref()
            .map_or_else(|| self.user.display_name.clone(), ToString::to_string)
    }

    /// An audit entry for a change this actor makes.
    pub fn audit(
        &self,
        now: DateTime<Utc>,
        workspace: Option<Uuid>,
        action: &str,
        target: Target,
        details: Value,
    ) -> AuditEvent {
        Acting {
            id: (!self.user.id.is_nil()).then_some(self.user.id),
            label: self.label(),
            token_id: self.token.as_ref().map(|t| t.id),
            ip: self.ip,
        }
        .audit(now, workspace, action, target, details)
    }
}

/// Who acted, as an audit entry records them.
pub struct Acting {
    pub id: Option<Uuid>,
    pub label: String,
    pub token_id: Option<Uuid>,
    pub ip: Option<IpAddr>,
}

impl Acting {
    /// A person acting on their own account as it is created (signing up, accepting an
    /// invitation): they hold no token yet.
    pub fn newcomer(id: Uuid, email: &Email, ip: Option<IpAddr>) -> Self {
        Acting {
            id: Some(id),
            label: email.to_string(),
            token_id: None,
            ip,
        }
    }

    /// An audit entry for a change made by whoever this is.
    pub fn audit(
        self,
        now: DateTime<Utc>,
        workspace: Option<Uuid>,
        action: &str,
        target: Target,
        details: Value,
    ) -> AuditEvent {
        AuditEvent {
            id: Uuid::now_v7(),
            workspace_id: workspace,
            actor_id: self.id,
            actor_label: Some(self.label),
            actor_token_id: self.token_id,
            action: action.to_owned(),
            target_type: target.kind.to_owned(),
            target_id: Some(target.id),
            details,
            client_ip: self.ip.map(|ip| ip.to_string()),
            created_at: now,
        }
    }
}

/// What an audit entry is about.
pub struct Target {
    pub kind: &'static str,
    pub id: String,
}

impl Target {
    pub fn new(kind: &'static str, id: impl ToString) -> Self {
        Target {
            kind,
            id: id.to_string(),
        }
    }
}
