//! Use cases: the only place where domain rules meet storage. REST, GraphQL, the web UI and the
//! CLI all call these functions, so each rule is written once.

mod access;
mod actor;
mod admin;
mod api_users;
mod audit;
mod auth;
mod cache;
mod clock;
mod decisions;
mod error;
mod invite_limit;
mod leaks;
mod members;
pub mod password;
mod rate_limits;
mod roles;
mod sessions;
mod teams;
mod throttle;
mod tokens;
mod usage;
mod users;
mod webhooks;
mod workspace_tokens;
mod workspaces;

use std::sync::Arc;

use keygate_domain::{ClearToken, Digester, TokenFormat, TokenKind};
use keygate_store::Store;

pub use actor::{Acting, Actor, Target};
pub use admin::{
    CreatedUser, MAX_USER_PAGE, NewUserRequest, Orphans, PasswordLink, UserPage, UserQuery,
};
pub use api_users::{ApiUserPatchRequest, ApiUserRequest, CreatedApiUser};
pub use audit::{AuditPage, AuditQuery, DEFAULT_PAGE, MAX_PAGE};
pub use auth::{FailureSampler, Origin};
pub use cache::{CacheSettings, Notice};
pub use clock::Clock;
pub use decisions::{Decision, Question, Refusal};
pub use error::{AuthFailure, ServiceError, ServiceResult};
pub use invite_limit::INVITATIONS_PER_HOUR;
pub use leaks::{LeakReport, LeakVerdict};
pub use members::{
    AcceptRequest, Accepted, InviteRequest, Invited, Joined, MemberPatchRequest, PendingForMe,
};
pub use rate_limits::{RateState, SYNC_INTERVAL as RATE_SYNC_INTERVAL};
pub use roles::{RoleRequest, RoleUpdateRequest};
pub use sessions::{SessionActor, SignedIn};
pub use teams::{TeamPatchRequest, TeamRequest};
pub use tokens::{
    Expiry, NewTokenRequest, ScopeRequest, TokenFilter, TokenPatchRequest, TokenView,
};
pub use users::{Bootstrap, Bootstrapped, MemberKey, TokensKey};
pub use webhooks::{
    DELIVERIES_SHOWN, EndpointPatchRequest, EndpointRequest, Hooks, WebhookSettings,
};
pub use workspace_tokens::OwnedToken;
pub use workspaces::{NewWorkspaceRequest, WorkspacePatchRequest, WorkspaceRef};

/// Keygate's services, shared by every interface. Cheap to clone.
#[derive(Clone)]
pub struct Keygate {
    store: Arc<dyn Store>,
    format: TokenFormat,
    digester: Digester,
    clock: Clock,
    failures: Arc<FailureSampler>,
    /// Uses of replaced secrets after their overlap, per token.
    retired_uses: Arc<auth::Sampler<uuid::Uuid>>,
    /// Uses of tokens from outside their allow-lists, sampled per token.
    refused_addresses: Arc<auth::Sampler<uuid::Uuid>>,
    /// This node's counts of rate limits' use.
    rates: Arc<rate_limits::RateCounters>,
    cache: Arc<cache::VerifyCache>,
    usage: Arc<usage::UsageRecorder>,
    throttle: Arc<throttle::Throttle>,
    /// Invitations each caller may still send.
    invites: Arc<invite_limit::InviteLimit>,
    /// Tokens whose new secret was first used, while their grace period is being started.
    starting_grace: Arc<std::sync::Mutex<std::collections::HashSet<uuid::Uuid>>>,
    policy: Policy,
    webhook_settings: Arc<WebhookSettings>,
}

/// What the deployment allows, and how it protects itself.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Failed authentications allowed per client address and minute before it is refused.
    pub auth_failures_per_minute: u32,
    /// Invitations one caller may send per hour.
    pub invitations_per_hour: u32,
    /// Whether anyone may create an account with `POST /api/v1/signup`.
    pub signup: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            auth_failures_per_minute: 30,
            invitations_per_hour: invite_limit::INVITATIONS_PER_HOUR,
            signup: false,
        }
    }
}

impl Keygate {
    pub fn new(
        store: Arc<dyn Store>,
        format: TokenFormat,
        digester: Digester,
        clock: Clock,
        cache: CacheSettings,
        policy: Policy,
    ) -> Self {
        Self {
            store,
            format,
            digester,
            clock,
            failures: Arc::default(),
            retired_uses: Arc::default(),
            refused_addresses: Arc::default(),
            rates: Arc::default(),
            cache: Arc::new(cache::VerifyCache::new(cache)),
            usage: Arc::default(),
            throttle: Arc::new(throttle::Throttle::new(policy.auth_failures_per_minute)),
            invites: Arc::new(invite_limit::InviteLimit::new(policy.invitations_per_hour)),
            starting_grace: Arc::default(),
            policy,
            webhook_settings: Arc::default(),
        }
    }

    /// Where webhook deliveries may go, and when tokens warn of their expiry.
    pub fn with_webhooks(mut self, settings: WebhookSettings) -> Self {
        self.webhook_settings = Arc::new(settings);
        self
    }

    /// Something that affects access changed: forget it here at once, and tell the other nodes.
    /// A notice that cannot be sent leaves them to their cache lifetime, so it is logged loudly.
    pub(crate) async fn changed(&self, notice: Notice) {
        self.cache.apply(notice);
        if let Err(e) = self.store.publish(&notice.encode()).await {
            tracing::error!(error = %e, notice = %notice.encode(), "could not tell other nodes of a change");
        }
    }

    /// Applies change notices from other nodes and processes for as long as the server runs.
    /// After a gap (when notices may have been missed) the whole cache is forgotten.
    pub async fn run_change_listener(self) {
        loop {
            match self.store.next_notice().await {
                Ok(Some(notice)) => {
                    metrics::counter!(crate::metrics::NOTICES_RECEIVED).increment(1);
                    self.cache.apply(Notice::decode(&notice));
                }
                Ok(None) => {
                    // (Re)connected: notices sent meanwhile are lost, so forget everything.
                    tracing::info!("change notices connected; verification cache flushed");
                    self.cache.apply(Notice::All);
                }
                // The database is unreachable: keep what is cached (it expires with its time to
                // live) and retry. A PostgreSQL listener that reconnects reports a gap (`None`
                // above), which flushes.
                Err(e) => {
                    tracing::warn!(error = %e, "change notices interrupted; retrying");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
            }
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn format(&self) -> &TokenFormat {
        &self.format
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// A new secret of `kind` from the OS CSPRNG.
    fn generate(&self, kind: TokenKind) -> ServiceResult<ClearToken> {
        from_os_randomness(|fill| self.format.generate(kind, fill))
    }

    /// The gate in front of every check of a credential (a token, a password, a one-time code):
    /// a client address that failed too often waits. Every way in calls it through the service's
    /// own authentication, so a new interface cannot forget it.
    pub(super) fn gate(&self, ip: Option<std::net::IpAddr>) -> ServiceResult<()> {
        match ip.and_then(|ip| self.throttle.retry_after(ip)) {
            Some(seconds) => Err(ServiceError::Throttled(seconds)),
            None => Ok(()),
        }
    }

    /// Whether the database answers.
    pub async fn ready(&self) -> ServiceResult<()> {
        Ok(self.store.ping().await?)
    }
}

/// Runs `make` with a filler drawing from the OS CSPRNG; a failure of the OS source becomes an
/// internal error instead of a weak secret.
fn from_os_randomness<T>(make: impl FnOnce(&mut dyn FnMut(&mut [u8])) -> T) -> ServiceResult<T> {
    let mut failure = None;
    let made = make(&mut |buf: &mut [u8]| {
        if let Err(e) = getrandom::fill(buf) {
            failure = Some(e);
        }
    });
    match failure {
        None => Ok(made),
        Some(e) => Err(ServiceError::internal(format!(
            "OS randomness unavailable: {e}"
        ))),
    }
}
