//! The verification cache: what a token stands for, a member's access, a workspace's public role
//! and workspaces by id or slug, so that deciding a request with a known token touches no
//! database. Every change that affects access sends a [`Notice`]: applied here at once, and to
//! every other node through the store (PostgreSQL `NOTIFY`).
//!
//! Entries live at most for the configured time to live, which is also how long cached tokens
//! keep verifying while the database is down: after that, verification fails closed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use keygate_domain::{Credential, Membership, Rights, User, Workspace};
use keygate_store::Access;
use moka::future::Cache;
use uuid::Uuid;

/// What changed, as nodes tell each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// A token was revoked or rotated.
    Token(Uuid),
    /// A user was disabled, enabled or deleted.
    User(Uuid),
    /// Anything about a workspace's access: members, roles, teams, grants, the public role, its
    /// slug.
    Workspace(Uuid),
    /// Forget everything.
    All,
}

impl Notice {
    pub fn encode(&self) -> String {
        match self {
            Notice::Token(id) => format!("token:{id}"),
            Notice::User(id) => format!("user:{id}"),
            Notice::Workspace(id) => format!("workspace:{id}"),
            Notice::All => "all".to_owned(),
        }
    }

    /// Anything unreadable means "forget everything": safe whatever a newer node meant.
    pub fn decode(s: &str) -> Notice {
        let parsed = s.split_once(':').and_then(|(kind, id)| {
            let id = Uuid::try_parse(id).ok()?;
            match kind {
                "token" => Some(Notice::Token(id)),
                "user" => Some(Notice::User(id)),
                "workspace" => Some(Notice::Workspace(id)),
                _ => None,
            }
        });
        parsed.unwrap_or(Notice::All)
    }
}

/// How a path or question named a workspace: the cache key for the lookup.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum WorkspaceKey {
    Id(Uuid),
    Slug(String),
}

/// Cache sizes and lifetime.
#[derive(Debug, Clone, Copy)]
pub struct CacheSettings {
    pub ttl: Duration,
    pub max_tokens: u64,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(60),
            max_tokens: 100_000,
        }
    }
}

/// What a known token stands for. Only the credential is per token: the user is shared by all of
/// their cached tokens, through [`VerifyCache::users`].
#[derive(Debug, Clone)]
pub struct CachedToken {
    pub user: Arc<User>,
    pub credential: Credential,
}

pub struct VerifyCache {
    pub(super) tokens: Cache<[u8; 32], CachedToken>,
    pub(super) users: Cache<Uuid, Arc<User>>,
    /// Digests that matched no token: floods of made-up tokens stop here.
    pub(super) unknown: Cache<[u8; 32], ()>,
    pub(super) workspaces: Cache<WorkspaceKey, Option<Workspace>>,
    pub(super) access: Cache<(Uuid, Uuid), Option<Arc<Access>>>,
    pub(super) public: Cache<Uuid, Arc<Rights>>,
    /// A user's memberships, as `verify` and `auth/me` list them.
    pub(super) memberships: Cache<Uuid, Arc<Vec<Membership>>>,
    /// Bumped by every invalidation: a value loaded before a change is not cached after it.
    generation: AtomicU64,
}

impl VerifyCache {
    pub fn new(settings: CacheSettings) -> Self {
        fn build<K, V>(capacity: u64, ttl: Duration) -> Cache<K, V>
        where
            K: std::hash::Hash + Eq + Send + Sync + 'static,
            V: Clone + Send + Sync + 'static,
        {
            Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .support_invalidation_closures()
                .eviction_listener(|_, _, cause| {
                    // Size and age evictions; invalidations are counted as notices.
                    if cause.was_evicted() {
                        metrics::counter!(crate::metrics::CACHE_EVICTIONS).increment(1);
                    }
                })
                .build()
        }
        let ttl = settings.ttl;
        let n = settings.max_tokens;
        Self {
            tokens: build(n, ttl),
            users: build(n, ttl),
            unknown: build(n, ttl),
            workspaces: build(n / 10 + 1, ttl),
            access: build(n, ttl),
            public: build(n / 10 + 1, ttl),
            memberships: build(n, ttl),
            generation: AtomicU64::new(0),
        }
    }

    /// The generation to pass to `still_current` after loading from the store.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Whether nothing was invalidated since `generation` was read.
    pub fn still_current(&self, generation: u64) -> bool {
        self.generation() == generation
    }

    /// Applies a notice to this node's caches.
    pub fn apply(&self, notice: Notice) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        // The closures are only rejected when the cache was built without them, which `new`
        // never does.
        match notice {
            Notice::Token(id) => {
                let _ = self
                    .tokens
                    .invalidate_entries_if(move |_, cached| cached.credential.id == id);
            }
            Notice::User(id) => {
                let _ = self
                    .tokens
                    .invalidate_entries_if(move |_, cached| cached.user.id == id);
                let _ = self.users.invalidate_entries_if(move |key, _| *key == id);
                let _ = self.access.invalidate_entries_if(move |key, _| key.1 == id);
                let _ = self
                    .memberships
                    .invalidate_entries_if(move |key, _| *key == id);
            }
            Notice::Workspace(id) => {
                let _ = self.access.invalidate_entries_if(move |key, _| key.0 == id);
                let _ = self.public.invalidate_entries_if(move |key, _| *key == id);
                // Anyone may have joined or left: memberships are cheap to reload.
                self.memberships.invalidate_all();
                // Renames and new workspaces also change which slugs are unknown.
                let _ = self
                    .workspaces
                    .invalidate_entries_if(move |_, ws| ws.as_ref().is_none_or(|w| w.id == id));
            }
            Notice::All => {
                self.tokens.invalidate_all();
                self.users.invalidate_all();
                self.unknown.invalidate_all();
                self.workspaces.invalidate_all();
                self.access.invalidate_all();
                self.public.invalidate_all();
                self.memberships.invalidate_all();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_round_trip_and_unknown_ones_flush_everything() {
        let id = Uuid::now_v7();
        for n in [
            Notice::Token(id),
            Notice::User(id),
            Notice::Workspace(id),
            Notice::All,
        ] {
            assert_eq!(Notice::decode(&n.encode()), n);
        }
        assert_eq!(Notice::decode("something:new"), Notice::All);
        assert_eq!(Notice::decode("token:not-a-uuid"), Notice::All);
    }
}
