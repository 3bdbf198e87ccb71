//! The verification cache: one entry per decision (a token and the workspace it is asked about,
//! holding the token's user and credential and the rights it has there, evaluated), and for the
//! management API what a token stands for, a member's access, a workspace's public role and
//! workspaces by id or slug, so that deciding a request with a known token touches no database.
//! Every change that affects access sends a [`Notice`]: applied here at once, and to every other
//! node through the store (PostgreSQL `NOTIFY`).
//!
//! Entries live at most for the configured time to live, which is also how long cached tokens
//! keep verifying while the database is down: after that, verification fails closed. A decision
//! is read from the store whole when it is not cached (never assembled from older entries), so
//! it is never older than that either.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use keygate_domain::{Credential, Membership, Rights, User, Workspace, WorkspaceRights};
use keygate_store::Access;
use moka::future::Cache;
use uuid::Uuid;

use super::WorkspaceRef;

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

/// A decision's cache key: the token's digest, and the workspace asked about as a keyed hash of
/// how it was named (0 when none was). The entry says what it answers
/// ([`CachedDecision::answers`]): a hash that two names share is a miss, never a wrong answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DecisionKey {
    digest: [u8; 32],
    workspace: u64,
}

/// Everything a decision for one token and one workspace needs, evaluated: the token's user and
/// credential, and the rights it has there. The user, the workspace and an unscoped token's
/// rights are shared with the member's other tokens.
#[derive(Debug, Clone)]
pub struct CachedDecision {
    pub user: Arc<User>,
    pub credential: Credential,
    pub place: Place,
    /// When it was read from the store: no copy of it is used past the time to live from then.
    pub read_at: Instant,
}

/// The workspace a cached decision is about.
#[derive(Debug, Clone)]
pub enum Place {
    /// None was asked about: only the token is judged.
    Nowhere,
    /// It exists; the rights are the token's there (its member rights narrowed by its scope, and
    /// the public role's).
    Known {
        workspace: Arc<Workspace>,
        rights: Arc<WorkspaceRights>,
    },
    /// No workspace goes by this name: nothing is allowed, as in a workspace where the caller is
    /// not a member and nothing is public.
    Unknown(WorkspaceRef),
}

impl CachedDecision {
    /// Whether this entry is the decision about `asked`.
    pub fn answers(&self, asked: Option<&WorkspaceRef>) -> bool {
        match (&self.place, asked) {
            (Place::Nowhere, None) => true,
            (Place::Known { workspace, .. }, Some(WorkspaceRef::Id(id))) => workspace.id == *id,
            (Place::Known { workspace, .. }, Some(WorkspaceRef::Slug(slug))) => {
                workspace.slug.as_str() == slug
            }
            (Place::Unknown(named), Some(asked)) => named == asked,
            _ => false,
        }
    }

    /// A copy that shares no reference count with this one, for one thread's own use.
    fn own_copy(&self) -> Self {
        let place = match &self.place {
            Place::Known { workspace, rights } => Place::Known {
                workspace: Arc::new(Workspace::clone(workspace)),
                rights: Arc::new(WorkspaceRights::clone(rights)),
            },
            other => other.clone(),
        };
        CachedDecision {
            user: Arc::new(User::clone(&self.user)),
            credential: Credential {
                scope: self.credential.scope.as_deref().cloned().map(Arc::new),
                ..self.credential.clone()
            },
            place,
            read_at: self.read_at,
        }
    }

    fn workspace_id(&self) -> Option<Uuid> {
        match &self.place {
            Place::Known { workspace, .. } => Some(workspace.id),
            Place::Nowhere | Place::Unknown(_) => None,
        }
    }
}

/// One copy of equal values (users, workspaces, rights) for the cached decisions that hold them:
/// a value just read from the store is swapped for an equal one already held. It only ever hands
/// out a value equal to the fresh one, so it needs no invalidation; and it holds them weakly, so
/// a value lives as long as some cached entry holds it, and no longer.
pub struct Interner<K, V> {
    held: Mutex<Held<K, V>>,
}

struct Held<K, V> {
    values: HashMap<K, Weak<V>>,
    /// When `values` has this many keys, the ones whose value is gone are dropped.
    sweep_at: usize,
}

impl<K: Hash + Eq, V: PartialEq> Interner<K, V> {
    fn new() -> Self {
        Self {
            held: Mutex::new(Held {
                values: HashMap::new(),
                sweep_at: 64,
            }),
        }
    }

    /// `fresh`, or an equal value already shared.
    pub fn share(&self, key: K, fresh: V) -> Arc<V> {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(shared) = held.values.get(&key).and_then(Weak::upgrade)
            && *shared == fresh
        {
            return shared;
        }
        // Keys whose value nothing holds any more are dropped once they could be half of all:
        // the sweep's cost is spread over as many insertions as it visits keys.
        if held.values.len() >= held.sweep_at {
            held.values.retain(|_, value| value.strong_count() > 0);
            held.sweep_at = (held.values.len() * 2).max(64);
        }
        let fresh = Arc::new(fresh);
        held.values.insert(key, Arc::downgrade(&fresh));
        fresh
    }

    /// How many keys are held, values in use or not.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.held.lock().map_or(0, |held| held.values.len())
    }
}

pub struct VerifyCache {
    /// One entry per token and workspace asked about.
    pub(super) decisions: Cache<DecisionKey, CachedDecision, foldhash::fast::RandomState>,
    /// Seeds the hash of a workspace's name in [`DecisionKey`]; random per process.
    names: foldhash::fast::RandomState,
    pub(super) tokens: Cache<[u8; 32], CachedToken>,
    /// Users shared by cached tokens and decisions.
    pub(super) users: Interner<Uuid, User>,
    pub(super) shared_workspaces: Interner<Uuid, Workspace>,
    /// A member's rights in a workspace, shared by their unscoped tokens' decisions.
    pub(super) shared_rights: Interner<(Uuid, Uuid), WorkspaceRights>,
    /// Digests that matched no token: floods of made-up tokens stop here.
    pub(super) unknown: Cache<[u8; 32], ()>,
    pub(super) workspaces: Cache<WorkspaceKey, Option<Workspace>>,
    pub(super) access: Cache<(Uuid, Uuid), Option<Arc<Access>>>,
    pub(super) public: Cache<Uuid, Arc<Rights>>,
    /// A user's memberships, as `verify` and `auth/me` list them.
    pub(super) memberships: Cache<Uuid, Arc<Vec<Membership>>>,
    /// Bumped by every invalidation: a value loaded before a change is not cached after it.
    generation: AtomicU64,
    /// Tells this cache's per-thread copies ([`Recent`]) from another's in the same process.
    instance: u64,
    ttl: Duration,
}

/// How many decisions each thread keeps its own copy of.
const RECENT_PER_THREAD: usize = 64;

/// A thread's own copies of the decisions it used last, read before [`VerifyCache::decisions`].
/// Reading one writes nothing another thread reads (no access time, no read log, no shared
/// reference count), so request threads deciding at once do not slow each other down. The copies
/// are of one generation: the first lookup after any notice drops them all, so a copy is never
/// staler than the shared entry. None is used past the time to live from when its decision was
/// read from the store.
#[derive(Default)]
struct Recent {
    instance: u64,
    generation: u64,
    decisions: HashMap<DecisionKey, CachedDecision, foldhash::fast::RandomState>,
}

thread_local! {
    static RECENT: RefCell<Recent> = RefCell::default();
}

impl VerifyCache {
    pub fn new(settings: CacheSettings) -> Self {
        fn build<K, V, S>(capacity: u64, ttl: Duration, hasher: S) -> Cache<K, V, S>
        where
            K: Hash + Eq + Send + Sync + 'static,
            V: Clone + Send + Sync + 'static,
            S: BuildHasher + Clone + Send + Sync + 'static,
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
                .build_with_hasher(hasher)
        }
        fn build_std<K, V>(capacity: u64, ttl: Duration) -> Cache<K, V>
        where
            K: Hash + Eq + Send + Sync + 'static,
            V: Clone + Send + Sync + 'static,
        {
            build(
                capacity,
                ttl,
                std::collections::hash_map::RandomState::new(),
            )
        }
        let ttl = settings.ttl;
        let n = settings.max_tokens;
        Self {
            decisions: build(n, ttl, foldhash::fast::RandomState::default()),
            names: foldhash::fast::RandomState::default(),
            tokens: build_std(n, ttl),
            users: Interner::new(),
            shared_workspaces: Interner::new(),
            shared_rights: Interner::new(),
            unknown: build_std(n, ttl),
            workspaces: build_std(n / 10 + 1, ttl),
            access: build_std(n, ttl),
            public: build_std(n / 10 + 1, ttl),
            memberships: build_std(n, ttl),
            generation: AtomicU64::new(0),
            instance: {
                static INSTANCES: AtomicU64 = AtomicU64::new(1);
                INSTANCES.fetch_add(1, Ordering::Relaxed)
            },
            ttl,
        }
    }

    /// This thread's copy of the decision under `key`, when it has one about `asked` that no
    /// notice has made stale.
    pub fn recent(
        &self,
        key: &DecisionKey,
        asked: Option<&WorkspaceRef>,
    ) -> Option<CachedDecision> {
        let generation = self.generation();
        RECENT.with_borrow_mut(|recent| {
            if (recent.instance, recent.generation) != (self.instance, generation) {
                recent.instance = self.instance;
                recent.generation = generation;
                recent.decisions.clear();
                return None;
            }
            recent
                .decisions
                .get(key)
                .filter(|d| d.answers(asked) && d.read_at.elapsed() < self.ttl)
                .cloned()
        })
    }

    /// Keeps a copy of `decision` for this thread, unless something was invalidated since
    /// `generation`, read before the decision was.
    pub fn remember(&self, key: DecisionKey, decision: &CachedDecision, generation: u64) {
        if !self.still_current(generation) {
            return;
        }
        RECENT.with_borrow_mut(|recent| {
            if (recent.instance, recent.generation) != (self.instance, generation)
                || recent.decisions.len() >= RECENT_PER_THREAD
            {
                recent.instance = self.instance;
                recent.generation = generation;
                recent.decisions.clear();
            }
            recent.decisions.insert(key, decision.own_copy());
        });
    }

    /// The key of the decision about the token with `digest` in the workspace `asked` names.
    pub fn decision_key(&self, digest: &[u8; 32], asked: Option<&WorkspaceRef>) -> DecisionKey {
        let workspace = match asked {
            None => 0,
            Some(WorkspaceRef::Id(id)) => self.names.hash_one((0u8, id.as_bytes())),
            Some(WorkspaceRef::Slug(slug)) => self.names.hash_one((1u8, slug.as_bytes())),
        };
        DecisionKey {
            digest: *digest,
            workspace: workspace.max(1) * u64::from(asked.is_some()),
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

    /// Forgets the tokens that `gone` picks, and the decisions made for them.
    fn forget_tokens(
        &self,
        gone: impl Fn(&User, &Credential) -> bool + Clone + Send + Sync + 'static,
    ) {
        let decisions = gone.clone();
        let _ = self
            .decisions
            .invalidate_entries_if(move |_, cached| decisions(&cached.user, &cached.credential));
        let _ = self
            .tokens
            .invalidate_entries_if(move |_, cached| gone(&cached.user, &cached.credential));
    }

    /// Applies a notice to this node's caches.
    pub fn apply(&self, notice: Notice) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        // The closures are only rejected when the cache was built without them, which `new`
        // never does.
        match notice {
            Notice::Token(id) => self.forget_tokens(move |_, credential| credential.id == id),
            Notice::User(id) => {
                self.forget_tokens(move |user, _| user.id == id);
                let _ = self.access.invalidate_entries_if(move |key, _| key.1 == id);
                let _ = self
                    .memberships
                    .invalidate_entries_if(move |key, _| *key == id);
            }
            Notice::Workspace(id) => {
                // Renames and new workspaces also change which names are unknown.
                let _ = self.decisions.invalidate_entries_if(move |_, cached| {
                    match cached.workspace_id() {
                        Some(ws) => ws == id,
                        None => matches!(cached.place, Place::Unknown(_)),
                    }
                });
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
                self.decisions.invalidate_all();
                self.tokens.invalidate_all();
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
    fn the_interner_shares_equal_values_and_forgets_the_ones_nothing_holds() {
        let interner: Interner<u32, String> = Interner::new();
        let first = interner.share(1, "ada".to_owned());
        let again = interner.share(1, "ada".to_owned());
        assert!(Arc::ptr_eq(&first, &again));
        // A changed value is never swapped for the old one.
        let changed = interner.share(1, "grace".to_owned());
        assert_eq!(*changed, "grace");
        assert!(!Arc::ptr_eq(&first, &changed));
        // Values dropped by their holders do not pile up.
        for key in 2..10_000 {
            drop(interner.share(key, key.to_string()));
        }
        assert!(interner.len() <= 128, "{} keys held", interner.len());
        // One still held survives the sweeps.
        assert!(Arc::ptr_eq(
            &changed,
            &interner.share(1, "grace".to_owned())
        ));
    }
    use keygate_domain::{TokenKind, UserKind};

    fn decision(read_at: Instant) -> CachedDecision {
        CachedDecision {
            user: Arc::new(User {
                id: Uuid::now_v7(),
                kind: UserKind::Api,
                email: None,
                display_name: "ingest".to_owned(),
                description: None,
                workspace_id: None,
                is_instance_admin: false,
                disabled_at: None,
                created_at: chrono::DateTime::UNIX_EPOCH,
                allowed_ips: None,
                rate_limits: None,
            }),
            credential: Credential {
                id: Uuid::now_v7(),
                kind: TokenKind::Api,
                expires_at: None,
                revoked_at: None,
                scope: None,
                retiring_until: None,
                overlap_pending: false,
                allowed_ips: None,
                rate_limits: None,
            },
            place: Place::Nowhere,
            read_at,
        }
    }

    fn cache(ttl: Duration) -> VerifyCache {
        VerifyCache::new(CacheSettings {
            ttl,
            max_tokens: 100,
        })
    }

    #[test]
    fn a_thread_keeps_its_own_copy_of_a_decision_it_used() {
        let cache = cache(Duration::from_secs(60));
        let key = cache.decision_key(&[7; 32], None);
        let kept = decision(Instant::now());
        cache.remember(key, &kept, cache.generation());
        let copy = cache.recent(&key, None).expect("kept");
        assert_eq!(copy.credential.id, kept.credential.id);
        assert!(!Arc::ptr_eq(&copy.user, &kept.user), "a copy of its own");
        assert!(
            cache
                .recent(&key, Some(&WorkspaceRef::parse("acme")))
                .is_none()
        );
    }

    #[test]
    fn any_notice_drops_every_copy_a_thread_kept() {
        for notice in [
            Notice::Token(Uuid::now_v7()),
            Notice::User(Uuid::now_v7()),
            Notice::Workspace(Uuid::now_v7()),
            Notice::All,
        ] {
            let cache = cache(Duration::from_secs(60));
            let key = cache.decision_key(&[7; 32], None);
            cache.remember(key, &decision(Instant::now()), cache.generation());
            cache.apply(notice);
            assert!(cache.recent(&key, None).is_none(), "{notice:?}");
        }
    }

    #[test]
    fn a_decision_read_before_a_notice_is_not_kept_after_it() {
        let cache = cache(Duration::from_secs(60));
        let key = cache.decision_key(&[7; 32], None);
        let before = cache.generation();
        cache.apply(Notice::Token(Uuid::now_v7()));
        cache.remember(key, &decision(Instant::now()), before);
        assert!(cache.recent(&key, None).is_none());
    }

    #[test]
    fn no_copy_is_used_past_the_time_to_live_from_its_reading() {
        let ttl = Duration::from_secs(60);
        let cache = cache(ttl);
        let key = cache.decision_key(&[7; 32], None);
        let long_ago = Instant::now()
            .checked_sub(ttl)
            .expect("an instant a minute ago");
        cache.remember(key, &decision(long_ago), cache.generation());
        assert!(cache.recent(&key, None).is_none());
    }

    #[test]
    fn copies_of_one_cache_are_not_answers_of_another() {
        let (one, other) = (
            cache(Duration::from_secs(60)),
            cache(Duration::from_secs(60)),
        );
        let key = one.decision_key(&[7; 32], None);
        one.remember(key, &decision(Instant::now()), one.generation());
        assert!(other.recent(&key, None).is_none());
    }

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
