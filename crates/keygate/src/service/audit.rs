//! The audit log of a workspace, and of the whole instance: filter, page, export.

use chrono::{DateTime, Utc};
use keygate_domain::{AuditEvent, Manage};
use keygate_store::AuditFilter;
use uuid::Uuid;

use super::{Actor, Keygate, ServiceResult, WorkspaceRef};

/// Entries per page unless asked otherwise, and at most.
pub const DEFAULT_PAGE: u32 = 50;
pub const MAX_PAGE: u32 = 500;

#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub actor: Option<Uuid>,
    pub action: Option<String>,
    pub target: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<Uuid>,
    pub limit: Option<u32>,
}

pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    /// Present when more entries follow.
    pub next_cursor: Option<Uuid>,
}

impl Keygate {
    /// One page of the workspace's audit log, newest first. Needs `audit:read`.
    pub async fn audit_log(
        &self,
        actor: &Actor,
        ws: &WorkspaceRef,
        query: &AuditQuery,
    ) -> ServiceResult<AuditPage> {
        let managed = self.managing(actor, ws, Manage::Audit).await?;
        self.audit_page(Some(managed.workspace.id), query).await
    }

    /// One page of the whole instance's audit log, every workspace's entries and those of no
    /// workspace (accounts, sign-ins, failed authentications), newest first. Instance admins
    /// only.
    pub async fn instance_audit_log(
        &self,
        actor: &Actor,
        query: &AuditQuery,
    ) -> ServiceResult<AuditPage> {
        super::admin::require_instance_admin(actor)?;
        self.audit_page(None, query).await
    }

    async fn audit_page(
        &self,
        workspace: Option<Uuid>,
        query: &AuditQuery,
    ) -> ServiceResult<AuditPage> {
        let limit = query.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
        let filter = AuditFilter {
            actor_id: query.actor,
            action: query.action.clone(),
            target_id: query.target.clone(),
            since: query.since,
            until: query.until,
            before: query.cursor,
            // One more than asked, to know whether another page follows.
            limit: limit + 1,
        };
        let mut events = self.store.audit_events(workspace, &filter).await?;
        let next_cursor = if events.len() > limit as usize {
            events.truncate(limit as usize);
            events.last().map(|e| e.id)
        } else {
            None
        };
        Ok(AuditPage {
            events,
            next_cursor,
        })
    }
}
