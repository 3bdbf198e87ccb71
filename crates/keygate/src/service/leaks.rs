//! Leaked tokens: reports from GitHub's secret scanning, GitLab's token revocation API and
//! anyone who holds a token, each handled by the policy of the token's workspace (revoke, the
//! default, or only notify), marked on the token, audited as `token.leaked` and sent to webhooks.

use keygate_domain::leak::{LeakPolicy, Reporter};
use keygate_domain::{AuditEvent, Manage};
use keygate_store::LeakAction;
use serde_json::json;
use uuid::Uuid;

use super::{Actor, Keygate, Notice, ServiceResult, Target, WorkspaceRef};

/// One reported string.
#[derive(Debug, Clone)]
pub struct LeakReport {
    pub token: String,
    /// Where it was found.
    pub url: Option<String>,
    /// What kind of place (GitHub's `source`: `content`, `commit`, ...).
    pub source: Option<String>,
}

/// Whether a reported string was a token of this Keygate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeakVerdict {
    /// A token this Keygate issued (revoked, expired or replaced ones included).
    TruePositive,
    /// Not a token of this Keygate.
    FalsePositive,
}

/// The longest URL a report may give; longer ones are cut.
const MAX_URL: usize = 2048;

impl Keygate {
    /// Handles reported strings: each that is a token of this deployment (checksum first, then
    /// digest) is marked leaked and, unless its workspace only wants to be told, revoked (or, for
    /// a secret a rotation replaced, its overlap ended). The answers follow the reports' order.
    pub async fn report_leaks(
        &self,
        reports: &[LeakReport],
        reporter: Reporter,
        ip: Option<std::net::IpAddr>,
    ) -> ServiceResult<Vec<LeakVerdict>> {
        let mut verdicts = Vec::with_capacity(reports.len());
        for report in reports {
            verdicts.push(self.report_leak(report, reporter, ip).await?);
        }
        Ok(verdicts)
    }

    async fn report_leak(
        &self,
        report: &LeakReport,
        reporter: Reporter,
        ip: Option<std::net::IpAddr>,
    ) -> ServiceResult<LeakVerdict> {
        let Ok(parsed) = self.format.parse(report.token.trim()) else {
            return Ok(LeakVerdict::FalsePositive);
        };
        let digest = self.digester.digest(&parsed);
        let Some((credential, user)) = self.store.credential_by_digest(&digest).await? else {
            return Ok(LeakVerdict::FalsePositive);
        };
        let now = self.clock.now();
        // A holder revokes their own token whatever the policy; a person's own token has none.
        let policy = match user.workspace_id {
            Some(ws) if reporter != Reporter::Holder => self.store.leak_policy(ws).await?,
            _ => LeakPolicy::Revoke,
        };
        let action = match (policy, credential.retiring_until) {
            (LeakPolicy::Notify, _) => LeakAction::Mark,
            // A replaced secret: stop it, whether or not it still worked; the token's current
            // secret did not leak.
            (LeakPolicy::Revoke, Some(_)) => LeakAction::EndOverlap,
            (LeakPolicy::Revoke, None) => LeakAction::Revoke,
        };
        let url = report
            .url
            .as_deref()
            .map(|u| u.chars().take(MAX_URL).collect::<String>());
        let audit = AuditEvent {
            id: Uuid::now_v7(),
            workspace_id: user.workspace_id,
            actor_id: None,
            actor_label: Some(reporter.as_str().to_owned()),
            actor_token_id: None,
            action: "token.leaked".into(),
            target_type: "token".into(),
            target_id: Some(credential.id.to_string()),
            details: json!({
                "owner": user.id,
                "reporter": reporter.as_str(),
                "url": url,
                "source": report.source,
                "policy": policy.as_str(),
                "revoked": action == LeakAction::Revoke,
                "replaced_secret": credential.retiring_until.is_some(),
            }),
            client_ip: ip.map(|ip| ip.to_string()),
            created_at: now,
        };
        let marked = self
            .store
            .mark_leaked(
                credential.id,
                url.as_deref(),
                reporter.as_str(),
                action,
                &audit,
            )
            .await?;
        if marked && action != LeakAction::Mark {
            self.changed(Notice::Token(credential.id)).await;
        }
        tracing::warn!(token = %credential.id, reporter = reporter.as_str(), action = ?action, "token reported leaked");
        Ok(LeakVerdict::TruePositive)
    }

    /// Revokes a token for whoever holds it (and so may revoke it), answering the same whatever
    /// it was: only the throttle of the client's address can refuse.
    pub async fn revoke_presented(
        &self,
        token: &str,
        ip: Option<std::net::IpAddr>,
    ) -> ServiceResult<()> {
        self.gate(ip)?;
        let report = LeakReport {
            token: token.to_owned(),
            url: None,
            source: None,
        };
        self.report_leaks(&[report], Reporter::Holder, ip).await?;
        Ok(())
    }

    /// What the workspace does with a token of its that leaked.
    pub async fn leak_policy(&self, actor: &Actor, ws: &WorkspaceRef) -> ServiceResult<LeakPolicy> {
        let managed = self.managed(actor, ws).await?;
        Ok(self.store.leak_policy(managed.workspace.id).await?)
    }

    /// Sets what the workspace does with a token of its that leaked (`workspace:manage`).
    pub async fn set_leak_policy(
        &self,
        actor: &Actor,
        ws: &WorkspaceRef,
        policy: LeakPolicy,
    ) -> ServiceResult<LeakPolicy> {
        let managed = self.managing(actor, ws, Manage::Workspace).await?;
        let audit = actor.audit(
            self.clock.now(),
            Some(managed.workspace.id),
            "workspace.leak_policy_set",
            Target::new("workspace", managed.workspace.id),
            json!({ "policy": policy.as_str() }),
        );
        self.store
            .set_leak_policy(managed.workspace.id, policy, &audit)
            .await?;
        Ok(policy)
    }
}
