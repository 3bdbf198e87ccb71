//! Use cases: the only place where domain rules meet storage. REST, GraphQL, the web UI and the
//! CLI all call these functions, so each rule is written once.

mod access;
mod actor;
mod api_users;
mod audit;
mod auth;
mod clock;
mod error;
mod members;
pub mod password;
mod roles;
mod teams;
mod tokens;
mod users;
mod workspace_tokens;
mod workspaces;

use std::sync::Arc;

use keygate_domain::{ClearToken, Digester, TokenFormat, TokenKind};
use keygate_store::Store;

pub use access::manage;
pub use actor::{Actor, Target};
pub use api_users::{ApiUserPatchRequest, ApiUserRequest, CreatedApiUser};
pub use audit::{AuditPage, AuditQuery, DEFAULT_PAGE, MAX_PAGE};
pub use auth::{Decision, FailureSampler, Question, Refusal};
pub use clock::Clock;
pub use error::{AuthFailure, ServiceError, ServiceResult};
pub use members::{AcceptRequest, Accepted, InviteRequest, Invited, MemberPatchRequest};
pub use roles::{RoleRequest, RoleUpdateRequest};
pub use teams::{TeamPatchRequest, TeamRequest};
pub use tokens::{Expiry, NewTokenRequest, ScopeRequest};
pub use users::{Bootstrap, Bootstrapped};
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
}

impl Keygate {
    pub fn new(
        store: Arc<dyn Store>,
        format: TokenFormat,
        digester: Digester,
        clock: Clock,
    ) -> Self {
        Self {
            store,
            format,
            digester,
            clock,
            failures: Arc::default(),
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
        let mut failure = None;
        let token = self.format.generate(kind, |buf| {
            if let Err(e) = getrandom::fill(buf) {
                failure = Some(e);
            }
        });
        match failure {
            None => Ok(token),
            Some(e) => Err(ServiceError::internal(format!(
                "OS randomness unavailable: {e}"
            ))),
        }
    }

    /// Whether the database answers.
    pub async fn ready(&self) -> ServiceResult<()> {
        Ok(self.store.ping().await?)
    }
}
