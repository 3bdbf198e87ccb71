//! Authentication and decisions: from a presented secret to the user and token it stands for,
//! and the answer to "may this caller do that in this workspace?".

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use keygate_domain::{
    Credential, Denial, Membership, Permission, TokenStatus, Workspace, WorkspaceRights,
};
use keygate_store::NewAuditEvent;
use serde_json::json;
use uuid::Uuid;

use super::cache::CachedToken;
use super::{Actor, AuthFailure, Keygate, ServiceError, ServiceResult, WorkspaceRef};

/// The question other services ask: a token (or none, for anonymous callers), and optionally a
/// workspace, a permission and a resource.
#[derive(Debug, Clone, Default)]
pub struct Question {
    pub workspace: Option<WorkspaceRef>,
    pub permission: Option<Permission>,
    pub resource: Option<String>,
}

/// Why a decision is negative, in the words callers see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Credentials(AuthFailure),
    NotAMember,
    Forbidden { missing: String },
}

impl Refusal {
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Credentials(f) => f.code(),
            Refusal::NotAMember => "not_a_member",
            Refusal::Forbidden { .. } => "forbidden",
        }
    }

    pub fn missing(&self) -> Option<&str> {
        match self {
            Refusal::Forbidden { missing } => Some(missing),
            _ => None,
        }
    }
}

/// The answer, with what it was based on.
#[derive(Debug, Clone)]
pub struct Decision {
    pub refusal: Option<Refusal>,
    /// The authenticated caller, when a valid token was presented.
    pub actor: Option<Actor>,

    /// The workspace asked about, when it exists.
    pub workspace: Option<Workspace>,
    /// The rights that applied in it.
    pub rights: Option<WorkspaceRights>,
}

impl Keygate {
    /// Resolves a presented token. Shape and checksum are checked before any storage access; a
    /// known token is answered from the cache, and an unknown digest is remembered as unknown.
    pub async fn authenticate(&self, presented: &str, ip: Option<IpAddr>) -> ServiceResult<Actor> {
        let parsed = self
            .format
            .parse(presented)
            .map_err(|_| ServiceError::InvalidCredentials(AuthFailure::InvalidToken))?;
        let digest = self.digester.digest(&parsed);
        let key = *digest.as_bytes();
        let cached = match self.cache.tokens.get(&key).await {
            Some(cached) => {
                crate::metrics::hot().token_cache_hit.increment(1);
                cached
            }
            None => {
                metrics::counter!(crate::metrics::CACHE_LOOKUPS, "cache" => "tokens", "result" => "miss")
                    .increment(1);
                if self.cache.unknown.contains_key(&key) {
                    return Err(ServiceError::InvalidCredentials(AuthFailure::InvalidToken));
                }
                let generation = self.cache.generation();
                let loaded = self.load_token(&digest).await?;
                let current = self.cache.still_current(generation);
                match loaded {
                    None => {
                        if current {
                            self.cache.unknown.insert(key, ()).await;
                        }
                        return Err(ServiceError::InvalidCredentials(AuthFailure::InvalidToken));
                    }
                    Some(cached) => {
                        if current {
                            // Only when absent: an entry already there keeps its time to live.
                            self.cache
                                .users
                                .entry(cached.user.id)
                                .or_insert(cached.user.clone())
                                .await;
                            self.cache.tokens.insert(key, cached.clone()).await;
                        }
                        cached
                    }
                }
            }
        };
        let now = self.clock.now();
        check_status(&cached.credential, now)?;
        if cached.user.is_disabled() {
            return Err(ServiceError::InvalidCredentials(AuthFailure::InvalidToken));
        }
        self.usage.note(cached.credential.id, now, ip);
        Ok(Actor {
            user: cached.user,
            token: Some(cached.credential),
            ip,
        })
    }

    /// The token with this digest and its user (from the cache when another of their tokens
    /// brought it there).
    async fn load_token(
        &self,
        digest: &keygate_domain::TokenDigest,
    ) -> ServiceResult<Option<CachedToken>> {
        let Some(token) = self.store.token_by_digest(digest).await? else {
            return Ok(None);
        };
        let user = match self.cache.users.get(&token.user_id).await {
            Some(user) => user,
            None => match self.store.user(token.user_id).await? {
                Some(user) => Arc::new(user),
                None => return Ok(None),
            },
        };
        let credential = Credential::from(token);
        Ok(Some(CachedToken { user, credential }))
    }

    /// Memberships of the user, with roles, through the cache (shared with it).
    pub async fn memberships(
        &self,
        user: &keygate_domain::User,
    ) -> ServiceResult<Arc<Vec<Membership>>> {
        if let Some(found) = self.cache.memberships.get(&user.id).await {
            return Ok(found);
        }
        let generation = self.cache.generation();
        let found = Arc::new(self.store.memberships(user.id).await?);
        if self.cache.still_current(generation) {
            self.cache.memberships.insert(user.id, found.clone()).await;
        }
        Ok(found)
    }

    /// Decides `question` for the holder of `presented` (or an anonymous caller). Always an
    /// answer; only storage failures are errors.
    pub async fn decide(
        &self,
        presented: Option<&str>,
        question: &Question,
    ) -> ServiceResult<Decision> {
        let actor = match presented {
            None => None,
            Some(presented) => match self.authenticate(presented, None).await {
                Ok(actor) => Some(actor),
                Err(ServiceError::InvalidCredentials(failure)) => {
                    metrics::counter!(crate::metrics::DECISIONS, "code" => failure.code())
                        .increment(1);
                    return Ok(Decision {
                        refusal: Some(Refusal::Credentials(failure)),
                        actor: None,

                        workspace: None,
                        rights: None,
                    });
                }
                Err(other) => return Err(other),
            },
        };
        self.decide_for(actor.as_ref(), question).await
    }

    /// Decides `question` for an authenticated actor (or an anonymous caller). An unknown
    /// workspace is answered like one where the caller is not a member and nothing is public, so
    /// existence does not leak.
    pub async fn decide_for(
        &self,
        actor: Option<&Actor>,
        question: &Question,
    ) -> ServiceResult<Decision> {
        let mut decision = Decision {
            refusal: None,
            actor: actor.cloned(),

            workspace: None,
            rights: None,
        };
        let Some(reference) = &question.workspace else {
            // Without a workspace there is only the token to judge.
            if question.permission.is_some() {
                return Err(keygate_domain::ValidationError::new(
                    "workspace",
                    "a permission can only be checked in a workspace",
                )
                .into());
            }
            return Ok(decision);
        };
        let workspace = self.find_workspace(reference).await?;
        let rights = match &workspace {
            Some(ws) => self.workspace_rights(actor, ws.id).await?,
            None => WorkspaceRights {
                member: None,
                public: keygate_domain::Rights::none(),
            },
        };
        decision.refusal =
            match rights.check(question.permission.as_ref(), question.resource.as_deref()) {
                Ok(()) => None,
                // Anonymous callers are never members: what they lack is the permission.
                Err(Denial::NotAMember) if actor.is_none() => Some(Refusal::Forbidden {
                    missing: question
                        .permission
                        .as_ref()
                        .map_or_else(|| "membership".to_owned(), ToString::to_string),
                }),
                Err(Denial::NotAMember) => Some(Refusal::NotAMember),
                Err(Denial::Forbidden { missing }) => Some(Refusal::Forbidden { missing }),
            };
        decision.workspace = workspace;
        decision.rights = Some(rights);
        match &decision.refusal {
            None => crate::metrics::hot().decided_ok.increment(1),
            Some(refusal) => {
                metrics::counter!(crate::metrics::DECISIONS, "code" => refusal.code()).increment(1);
            }
        }
        Ok(decision)
    }
}

fn check_status(credential: &Credential, now: DateTime<Utc>) -> ServiceResult<()> {
    match credential.status(now) {
        TokenStatus::Active => Ok(()),
        TokenStatus::Expired => Err(ServiceError::InvalidCredentials(AuthFailure::TokenExpired)),
        TokenStatus::Revoked => Err(ServiceError::InvalidCredentials(AuthFailure::TokenRevoked)),
    }
}

/// Counts failed authentications per client address and decides which to sample into the audit
/// log: the first failure from an address, then at most one a minute, carrying the count since.
#[derive(Debug, Default)]
pub struct FailureSampler {
    /// Per address: when the last entry was written, and failures since.
    seen: Mutex<HashMap<Option<IpAddr>, Sample>>,
}

type Sample = (DateTime<Utc>, u64);

/// Addresses remembered at most; beyond this the oldest half is forgotten.
const SAMPLER_CAPACITY: usize = 10_000;

impl FailureSampler {
    /// Counts a failure; returns how many failures the entry to write stands for, if one is due.
    pub fn note(&self, ip: Option<IpAddr>, now: DateTime<Utc>) -> Option<u64> {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() >= SAMPLER_CAPACITY {
            let mut times: Vec<DateTime<Utc>> = seen.values().map(|(t, _)| *t).collect();
            times.sort();
            let cutoff = times[times.len() / 2];
            seen.retain(|_, (t, _)| *t > cutoff);
        }
        match seen.get_mut(&ip) {
            Some((last, count)) if now - *last < Duration::minutes(1) => {
                *count += 1;
                None
            }
            Some((last, count)) => {
                let total = *count + 1;
                *last = now;
                *count = 0;
                Some(total)
            }
            None => {
                seen.insert(ip, (now, 0));
                Some(1)
            }
        }
    }
}

impl Keygate {
    /// Records a failed authentication: counted always, sampled into the audit log.
    /// Authenticates the caller of a request: as `authenticate`, and a failure counts against the
    /// client address (throttling, metrics, audit sample). Not for `verify`, where the token is
    /// another service's question, not the caller's credential.
    pub async fn authenticate_caller(
        &self,
        presented: &str,
        ip: Option<IpAddr>,
    ) -> ServiceResult<Actor> {
        self.gate(ip)?;
        let result = self.authenticate(presented, ip).await;
        if let Err(ServiceError::InvalidCredentials(failure)) = &result {
            self.note_failed_authentication(ip, *failure).await;
        }
        result
    }

    pub async fn note_failed_authentication(&self, ip: Option<IpAddr>, failure: AuthFailure) {
        self.note_failure(ip, failure.code()).await;
    }

    /// Counts a failed authentication (a token, or a password) against the client address, and
    /// samples it into the audit log.
    pub(super) async fn note_failure(&self, ip: Option<IpAddr>, reason: &'static str) {
        if let Some(ip) = ip {
            self.throttle.failed(ip);
        }
        metrics::counter!(crate::metrics::AUTH_FAILURES, "reason" => reason).increment(1);
        let now = self.clock.now();
        let Some(count) = self.failures.note(ip, now) else {
            return;
        };
        let entry = NewAuditEvent {
            id: Uuid::now_v7(),
            workspace_id: None,
            actor_id: None,
            actor_label: None,
            actor_token_id: None,
            action: "auth.failed".into(),
            target_type: "client".into(),
            target_id: ip.map(|ip| ip.to_string()),
            details: json!({ "reason": reason, "failures": count }),
            client_ip: ip.map(|ip| ip.to_string()),
            created_at: now,
        };
        if let Err(e) = self.store.record(&entry).await {
            tracing::warn!(error = %e, "could not record a failed authentication");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_sampled_once_a_minute_per_address() {
        let s = FailureSampler::default();
        let ip: Option<IpAddr> = "10.0.0.1".parse().ok();
        let t0 = DateTime::UNIX_EPOCH;
        assert_eq!(s.note(ip, t0), Some(1));
        assert_eq!(s.note(ip, t0 + Duration::seconds(10)), None);
        assert_eq!(s.note(ip, t0 + Duration::seconds(20)), None);
        assert_eq!(s.note(None, t0), Some(1));
        assert_eq!(s.note(ip, t0 + Duration::seconds(61)), Some(3));
        assert_eq!(s.note(ip, t0 + Duration::seconds(62)), None);
    }
}
