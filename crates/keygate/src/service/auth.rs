//! Authentication: from a presented secret to the user and token it stands for, and what a
//! failed attempt costs the address it came from.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use keygate_domain::AuditEvent;
use keygate_domain::{Credential, Membership, TokenStatus};
use serde_json::json;
use uuid::Uuid;

use super::cache::CachedToken;
use super::{Actor, AuthFailure, Keygate, RateState, ServiceError, ServiceResult};

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
                            self.cache.tokens.insert(key, cached.clone()).await;
                        }
                        cached
                    }
                }
            }
        };
        let rate = self
            .present(
                &cached.credential,
                &cached.user,
                &digest,
                Origin::Caller(ip),
                1,
            )
            .await
            .map_err(ServiceError::InvalidCredentials)?;
        Ok(Actor {
            user: cached.user,
            token: Some(cached.credential),
            ip,
            rate,
        })
    }

    /// The token with this digest and its user, read in one round trip; the user is shared with
    /// their other cached tokens.
    async fn load_token(
        &self,
        digest: &keygate_domain::TokenDigest,
    ) -> ServiceResult<Option<CachedToken>> {
        let Some((credential, user)) = self.store.credential_by_digest(digest).await? else {
            return Ok(None);
        };
        let user = self.cache.users.share(user.id, user);
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
}

/// Where a token is presented from, as its allow-lists judge it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The caller of a request, at this address (`None`: not known, which no allow-list allows).
    Caller(Option<IpAddr>),
    /// The client of a service that asks `verify`, at the address the service reports, if it
    /// does: without one, allow-lists are not judged (and the answer says so).
    Reported(Option<IpAddr>),
}

impl Origin {
    /// The address, when known.
    pub fn ip(self) -> Option<IpAddr> {
        match self {
            Origin::Caller(ip) | Origin::Reported(ip) => ip,
        }
    }

    /// Whether allow-lists are judged: always for a caller, for a reported client only with its
    /// address.
    fn is_judged(self) -> bool {
        matches!(self, Origin::Caller(_) | Origin::Reported(Some(_)))
    }
}

impl Keygate {
    /// A known token presented now from `origin` for a request that costs `cost` of its rate
    /// limits (authentication and decisions alike): refused when it may not be used (a retired
    /// secret's use, or a use from outside its allow-list, sampled into the audit log) or when a
    /// rate limit is used up; otherwise its use is noted, and where it stands against its
    /// tightest rate limit answered.
    pub(super) async fn present(
        &self,
        credential: &Credential,
        user: &keygate_domain::User,
        digest: &keygate_domain::TokenDigest,
        origin: Origin,
        cost: u32,
    ) -> Result<Option<RateState>, AuthFailure> {
        let now = self.clock.now();
        let ip = origin.ip();
        if let Err(failure) = usable(credential, user, now) {
            // Boxed, as the other rare paths of a decision (see `decide_caller`).
            if credential.is_retired(now) {
                Box::pin(self.note_sign(TokenSign::RetiredSecret, credential, user, ip, now)).await;
            }
            return Err(failure);
        }
        if origin.is_judged() && !credential.usable_from(user, ip) {
            // Boxed: see above.
            Box::pin(self.note_sign(TokenSign::RefusedAddress, credential, user, ip, now)).await;
            return Err(AuthFailure::IpNotAllowed(ip));
        }
        let rate = self.admit_rate(credential, user, cost, now)?;
        self.note_use(credential, digest, now, ip);
        Ok(rate)
    }

    /// Counts a request of `cost` against the token's rate limits and its API user's, when it
    /// has any.
    fn admit_rate(
        &self,
        credential: &Credential,
        user: &keygate_domain::User,
        cost: u32,
        now: DateTime<Utc>,
    ) -> Result<Option<RateState>, AuthFailure> {
        let now = now.timestamp();
        let admitted = match (credential.rate_limits.as_deref(), user.rate_limits.as_ref()) {
            (None, None) => return Ok(None),
            (Some(own), None) => self.rates.admit(&[(credential.id, own)], cost, now),
            (None, Some(shared)) => self.rates.admit(&[(user.id, shared)], cost, now),
            (Some(own), Some(shared)) => {
                self.rates
                    .admit(&[(credential.id, own), (user.id, shared)], cost, now)
            }
        };
        admitted.map_err(AuthFailure::RateLimited)
    }
}

/// Whether a known token may be used now: neither expired nor revoked, and its user not disabled.
fn usable(
    credential: &Credential,
    user: &keygate_domain::User,
    now: DateTime<Utc>,
) -> Result<(), AuthFailure> {
    match credential.status(now) {
        TokenStatus::Active if user.is_disabled() => Err(AuthFailure::InvalidToken),
        // A replaced secret whose overlap is over is refused like a revoked token.
        TokenStatus::Active if credential.is_retired(now) => Err(AuthFailure::TokenRevoked),
        TokenStatus::Active => Ok(()),
        TokenStatus::Expired => Err(AuthFailure::TokenExpired),
        TokenStatus::Revoked => Err(AuthFailure::TokenRevoked),
    }
}

/// What a refused use of a token is a sign of: the token, or a copy of it, is held where it
/// should not be.
#[derive(Clone, Copy)]
enum TokenSign {
    /// A replaced secret presented after its overlap ended: a copy still lives somewhere
    /// (`token.retired_secret_used`).
    RetiredSecret,
    /// A token used from outside its allow-list (`token.ip_not_allowed`).
    RefusedAddress,
}

/// Counts events per key and decides which to sample into the audit log: the first of a key, then
/// at most one a minute, carrying the count since. Failed authentications are sampled per client
/// address, uses of retired secrets per token.
#[derive(Debug)]
pub struct Sampler<K> {
    /// Per key: when the last entry was written, and events since.
    seen: Mutex<HashMap<K, Sample>>,
}

impl<K> Default for Sampler<K> {
    fn default() -> Self {
        Self {
            seen: Mutex::new(HashMap::new()),
        }
    }
}

/// Failed authentications, per client address.
pub type FailureSampler = Sampler<Option<IpAddr>>;

type Sample = (DateTime<Utc>, u64);

/// Keys remembered at most; beyond this the oldest half is forgotten.
const SAMPLER_CAPACITY: usize = 10_000;

impl<K: std::hash::Hash + Eq> Sampler<K> {
    /// Counts an event; returns how many events the entry to write stands for, if one is due.
    pub fn note(&self, key: K, now: DateTime<Utc>) -> Option<u64> {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() >= SAMPLER_CAPACITY {
            let mut times: Vec<DateTime<Utc>> = seen.values().map(|(t, _)| *t).collect();
            times.sort();
            let cutoff = times[times.len() / 2];
            seen.retain(|_, (t, _)| *t > cutoff);
        }
        match seen.get_mut(&key) {
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
                seen.insert(key, (now, 0));
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

    /// A sign that a valid token is held where it should not be, sampled into the audit log (with
    /// the address) at most once a minute per token.
    async fn note_sign(
        &self,
        sign: TokenSign,
        credential: &Credential,
        user: &keygate_domain::User,
        ip: Option<IpAddr>,
        now: DateTime<Utc>,
    ) {
        let (sampler, action, counted) = match sign {
            TokenSign::RetiredSecret => (&self.retired_uses, "token.retired_secret_used", "uses"),
            TokenSign::RefusedAddress => {
                (&self.refused_addresses, "token.ip_not_allowed", "refusals")
            }
        };
        let Some(count) = sampler.note(credential.id, now) else {
            return;
        };
        let target = ("token", Some(credential.id.to_string()));
        let mut details = json!({ "owner": user.id });
        details[counted] = json!(count);
        self.record_sample(action, target, details, ip, now).await;
    }

    /// Writes a sampled entry that no one authenticated made: a sign of something, from `ip`.
    async fn record_sample(
        &self,
        action: &str,
        (target_type, target_id): (&str, Option<String>),
        details: serde_json::Value,
        ip: Option<IpAddr>,
        now: DateTime<Utc>,
    ) {
        let entry = AuditEvent {
            id: Uuid::now_v7(),
            workspace_id: None,
            actor_id: None,
            actor_label: None,
            actor_token_id: None,
            action: action.into(),
            target_type: target_type.into(),
            target_id,
            details,
            client_ip: ip.map(|ip| ip.to_string()),
            created_at: now,
        };
        if let Err(e) = self.store.record(&entry).await {
            tracing::warn!(error = %e, action, "could not record an audit sample");
        }
    }

    /// A token that did not authenticate a request. A right secret from the wrong address is
    /// counted, and sampled per token when refused, but does not count against the address: the
    /// throttle is there for guessed and stale secrets.
    pub async fn note_failed_authentication(&self, ip: Option<IpAddr>, failure: AuthFailure) {
        if failure.is_bad_secret() {
            self.note_failure(ip, failure.code()).await;
        } else {
            metrics::counter!(crate::metrics::AUTH_FAILURES, "reason" => failure.code())
                .increment(1);
        }
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
        let target = ("client", ip.map(|ip| ip.to_string()));
        let details = json!({ "reason": reason, "failures": count });
        self.record_sample("auth.failed", target, details, ip, now)
            .await;
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
