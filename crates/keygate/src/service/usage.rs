//! When and from where tokens were last used: noted in memory on the verification path, written
//! to the database in batches by a background task, so verifying a token never waits on a write.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use keygate_domain::{Credential, TokenDigest};
use keygate_store::{RetiringUse, TokenUse};
use uuid::Uuid;

use super::Keygate;
use crate::sharded::Sharded;

/// How often noted uses are written.
pub const FLUSH_EVERY: Duration = Duration::from_secs(2);

#[derive(Debug, Default)]
pub struct UsageRecorder {
    /// Per token: the latest use and the address it came from, noted in one map per thread (as
    /// far as there are slots), so that threads verifying at once do not wait for each other.
    /// Keyed by the ids of tokens that authenticated, which no client picks: a fast hasher.
    pending: Sharded<Mutex<HashMap<Uuid, Use, foldhash::fast::RandomState>>>,
    /// Per replaced secret still working: how many uses, and the latest.
    retiring: Mutex<HashMap<TokenDigest, (u64, Use)>>,
}

type Use = (DateTime<Utc>, Option<IpAddr>);

impl UsageRecorder {
    /// Notes a use; only the latest per token is kept until the next flush.
    pub fn note(&self, token: Uuid, at: DateTime<Utc>, ip: Option<IpAddr>) {
        let mut pending = self
            .pending
            .local()
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let entry = pending.entry(token).or_insert((at, ip));
        if at >= entry.0 {
            *entry = (at, ip.or(entry.1));
        }
    }

    /// Notes a use of a replaced secret during its overlap (counted, as well as noted as a use of
    /// its token).
    pub fn note_retiring(
        &self,
        token: Uuid,
        digest: TokenDigest,
        at: DateTime<Utc>,
        ip: Option<IpAddr>,
    ) {
        self.note(token, at, ip);
        let mut retiring = self.retiring.lock().unwrap_or_else(|e| e.into_inner());
        let (count, latest) = retiring.entry(digest).or_insert((0, (at, ip)));
        *count += 1;
        if at >= latest.0 {
            *latest = (at, ip.or(latest.1));
        }
    }

    fn take_retiring(&self) -> Vec<RetiringUse> {
        let drained: Vec<_> = self
            .retiring
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .collect();
        drained
            .into_iter()
            .map(|(digest, (count, (at, ip)))| RetiringUse {
                digest,
                count,
                at,
                ip: ip.map(|ip| ip.to_string()),
            })
            .collect()
    }

    fn take(&self) -> Vec<TokenUse> {
        let mut all: HashMap<Uuid, Use> = HashMap::new();
        for shard in self.pending.all() {
            let drained: Vec<(Uuid, Use)> = shard
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .drain()
                .collect();
            for (token, (at, ip)) in drained {
                // Shards are merged in no particular order: an earlier use still gives its address
                // to a later one without.
                let entry = all.entry(token).or_insert((at, ip));
                if at >= entry.0 {
                    *entry = (at, ip.or(entry.1));
                } else if entry.1.is_none() {
                    entry.1 = ip;
                }
            }
        }
        all.into_iter()
            .map(|(token_id, (at, ip))| TokenUse {
                token_id,
                at,
                ip: ip.map(|ip| ip.to_string()),
            })
            .collect()
    }
}

impl Keygate {
    /// Notes a use of a token that authenticated a request: of its current secret (whose first
    /// use starts the grace period of a replaced one waiting for it) or of a replaced secret.
    pub(super) fn note_use(
        &self,
        credential: &Credential,
        digest: &TokenDigest,
        now: DateTime<Utc>,
        ip: Option<IpAddr>,
    ) {
        if credential.retiring_until.is_some() {
            self.usage
                .note_retiring(credential.id, digest.clone(), now, ip);
            return;
        }
        self.usage.note(credential.id, now, ip);
        if credential.overlap_pending {
            self.first_use_of_new_secret(credential.id, now);
        }
    }

    /// Writes noted uses every `FLUSH_EVERY`, for as long as the server runs.
    pub async fn run_usage_writer(self) {
        let mut tick = tokio::time::interval(FLUSH_EVERY);
        loop {
            tick.tick().await;
            self.flush_usage().await;
        }
    }

    /// Writes the uses noted so far. A failed write drops them: the next use notes them again.
    pub async fn flush_usage(&self) {
        let batch = self.usage.take();
        let retiring = self.usage.take_retiring();
        if batch.is_empty() && retiring.is_empty() {
            return;
        }
        if let Err(e) = self.store.record_token_use(&batch, &retiring).await {
            tracing::warn!(error = %e, tokens = batch.len(), "could not record token use");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_use_of_each_token_is_kept() {
        let r = UsageRecorder::default();
        let id = Uuid::now_v7();
        let t0 = DateTime::UNIX_EPOCH;
        let ip: Option<IpAddr> = "10.0.0.1".parse().ok();
        r.note(id, t0 + chrono::Duration::seconds(5), ip);
        r.note(id, t0, None);
        let batch = r.take();
        assert_eq!(batch.len(), 1);
        assert_eq!(batch[0].at, t0 + chrono::Duration::seconds(5));
        assert_eq!(batch[0].ip.as_deref(), Some("10.0.0.1"));
        assert!(r.take().is_empty());
    }
}
