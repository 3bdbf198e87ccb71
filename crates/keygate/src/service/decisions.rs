//! Decisions: "may the holder of this token do that in this workspace?". A token's decision about
//! a workspace is one cache entry (its user, its credential and its rights there, evaluated),
//! read from the store in two round trips when it is not cached: the token with its user, then
//! the workspace with the member's access and its public role.

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::{Arc, LazyLock};
use std::time::Instant;

use keygate_domain::{
    Credential, Denial, Permission, Rights, Slug, TokenDigest, User, Workspace, WorkspaceRights,
};
use keygate_proto::Code;
use keygate_store::WorkspaceLookup;

use super::access::{member_rights_of, public_rights_of};
use super::cache::{CachedDecision, DecisionKey, Place};
use super::{Actor, AuthFailure, Keygate, Origin, ServiceError, ServiceResult, WorkspaceRef};

/// The question other services ask: a token (or none, for anonymous callers), and optionally a
/// workspace, a permission and a resource. Forward-auth's permission and resource are borrowed
/// from its route rule and the path the rule matched.
#[derive(Debug, Clone, Default)]
pub struct Question<'a> {
    pub workspace: Option<WorkspaceRef>,
    pub permission: Option<Cow<'a, Permission>>,
    pub resource: Option<Cow<'a, str>>,
    /// What answering costs of the token's rate limits; `None`: 1.
    pub cost: Option<u32>,
}

/// Why a decision is negative, in the words callers see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Credentials(AuthFailure),
    NotAMember,
    Forbidden { missing: String },
}

impl Refusal {
    /// The decision code callers see.
    pub fn code(&self) -> Code {
        match self {
            Refusal::Credentials(AuthFailure::InvalidToken) => Code::InvalidToken,
            Refusal::Credentials(AuthFailure::TokenExpired) => Code::TokenExpired,
            Refusal::Credentials(AuthFailure::TokenRevoked) => Code::TokenRevoked,
            Refusal::Credentials(AuthFailure::IpNotAllowed(_)) => Code::IpNotAllowed,
            Refusal::Credentials(AuthFailure::RateLimited(_)) => Code::RateLimited,
            Refusal::NotAMember => Code::NotAMember,
            Refusal::Forbidden { .. } => Code::Forbidden,
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
    pub workspace: Option<Arc<Workspace>>,
    /// The rights that applied in it.
    pub rights: Option<Arc<WorkspaceRights>>,
}

impl Decision {
    /// `ok`, or the class of the refusal.
    pub fn code(&self) -> Code {
        self.refusal.as_ref().map_or(Code::Ok, Refusal::code)
    }

    /// Without a workspace there is only the token to judge: a valid one is all it takes.
    fn token_only(actor: Option<Actor>) -> Self {
        crate::metrics::hot().decided_ok.increment(1);
        Decision {
            refusal: None,
            actor,
            workspace: None,
            rights: None,
        }
    }

    fn refused(failure: AuthFailure) -> Self {
        metrics::counter!(crate::metrics::DECISIONS, "code" => failure.code()).increment(1);
        Decision {
            refusal: Some(Refusal::Credentials(failure)),
            actor: None,
            workspace: None,
            rights: None,
        }
    }
}

/// The rights in a workspace that does not exist: none.
static NO_RIGHTS: LazyLock<Arc<WorkspaceRights>> = LazyLock::new(|| {
    Arc::new(WorkspaceRights {
        member: None,
        public: Rights::none(),
    })
});

impl Keygate {
    /// Decides `question` for the holder of `presented` (or an anonymous caller) for another
    /// service, whose client is at `client_ip` if it said. Always an answer; only storage
    /// failures are errors.
    pub async fn decide(
        &self,
        presented: Option<&str>,
        client_ip: Option<IpAddr>,
        question: &Question<'_>,
    ) -> ServiceResult<Decision> {
        let Some(presented) = presented else {
            return self.decide_for(None, question).await;
        };
        Ok(self
            .decide_token(presented, Origin::Reported(client_ip), question)
            .await?
            .unwrap_or_else(Decision::refused))
    }

    /// Decides `question` for the caller of a request, who presented a token (forward-auth): as
    /// [`Keygate::decide`], but a refused address is not answered and a token that does not
    /// authenticate is an error that counts against the address, as for any caller.
    pub async fn decide_caller(
        &self,
        presented: &str,
        ip: Option<IpAddr>,
        question: &Question<'_>,
    ) -> ServiceResult<Decision> {
        self.gate(ip)?;
        match self
            .decide_token(presented, Origin::Caller(ip), question)
            .await?
        {
            Ok(decision) => Ok(decision),
            Err(failure) => {
                // Boxed, as every path a cached decision does not take: a future holds the state of
                // every call it awaits, and each request's future is copied whole into its box.
                Box::pin(self.note_failed_authentication(ip, failure)).await;
                Err(ServiceError::InvalidCredentials(failure))
            }
        }
    }

    /// The decision for a presented token, through the decision cache; `Err` inside when the
    /// token does not authenticate.
    async fn decide_token(
        &self,
        presented: &str,
        origin: Origin,
        question: &Question<'_>,
    ) -> ServiceResult<Result<Decision, AuthFailure>> {
        without_workspace_no_permission(question)?;
        let Ok(parsed) = self.format.parse(presented) else {
            return Ok(Err(AuthFailure::InvalidToken));
        };
        let digest = self.digester.digest(&parsed);
        let asked = question.workspace.as_ref();
        let key = self.cache.decision_key(digest.as_bytes(), asked);
        let found = match self.cache.recent(&key, asked) {
            Some(recent) => Some(recent),
            None => {
                let generation = self.cache.generation();
                // Boxed: see `decide_caller`.
                let shared = Box::pin(self.cache.decisions.get(&key)).await;
                let found = shared.filter(|cached| cached.answers(asked));
                if let Some(found) = &found {
                    self.cache.remember(key, found, generation);
                }
                found
            }
        };
        let cached = match found {
            Some(cached) => {
                crate::metrics::hot().decision_cache_hit.increment(1);
                cached
            }
            None => {
                metrics::counter!(crate::metrics::CACHE_LOOKUPS, "cache" => "decisions", "result" => "miss")
                    .increment(1);
                // Boxed: see `decide_caller`.
                match Box::pin(self.load_decision(&digest, key, asked)).await? {
                    Some(loaded) => loaded,
                    None => return Ok(Err(AuthFailure::InvalidToken)),
                }
            }
        };
        let cost = question.cost.unwrap_or(1);
        let rate = match self
            .present(&cached.credential, &cached.user, &digest, origin, cost)
            .await
        {
            Ok(rate) => rate,
            Err(failure) => return Ok(Err(failure)),
        };
        let actor = Actor {
            user: cached.user,
            token: Some(cached.credential),
            ip: origin.ip(),
            rate,
        };
        Ok(Ok(match cached.place {
            Place::Nowhere => Decision::token_only(Some(actor)),
            Place::Known { workspace, rights } => {
                judge(Some(actor), Some(workspace), rights, question)
            }
            Place::Unknown(_) => judge(Some(actor), None, NO_RIGHTS.clone(), question),
        }))
    }

    /// Reads the decision about the token with `digest` in the workspace `asked` names from the
    /// store, and caches it unless something changed meanwhile; `None` for an unknown token.
    async fn load_decision(
        &self,
        digest: &TokenDigest,
        key: DecisionKey,
        asked: Option<&WorkspaceRef>,
    ) -> ServiceResult<Option<CachedDecision>> {
        let digest_bytes = *digest.as_bytes();
        if self.cache.unknown.contains_key(&digest_bytes) {
            return Ok(None);
        }
        let generation = self.cache.generation();
        let read_at = Instant::now();
        let Some((credential, user)) = self.store.credential_by_digest(digest).await? else {
            if self.cache.still_current(generation) {
                self.cache.unknown.insert(digest_bytes, ()).await;
            }
            return Ok(None);
        };
        let user = self.cache.users.share(user.id, user);
        let place = match asked {
            None => Place::Nowhere,
            Some(asked) => self.place(asked, &user, &credential).await?,
        };
        // A name that is not a slug is not kept: it could be as long as a request body.
        let keep =
            !matches!(&place, Place::Unknown(WorkspaceRef::Slug(s)) if Slug::parse(s).is_err());
        let decision = CachedDecision {
            user,
            credential,
            place,
            read_at,
        };
        if keep && self.cache.still_current(generation) {
            self.cache.decisions.insert(key, decision.clone()).await;
        }
        Ok(Some(decision))
    }

    /// The workspace `asked` names and the rights `credential` (of `user`) has there, from the
    /// store in one round trip.
    async fn place(
        &self,
        asked: &WorkspaceRef,
        user: &User,
        credential: &Credential,
    ) -> ServiceResult<Place> {
        let lookup = match asked {
            WorkspaceRef::Id(id) => WorkspaceLookup::Id(*id),
            // A name that is not a slug names no workspace.
            WorkspaceRef::Slug(slug) if Slug::parse(slug).is_err() => {
                return Ok(Place::Unknown(asked.clone()));
            }
            WorkspaceRef::Slug(slug) => WorkspaceLookup::Slug(slug),
        };
        let Some(context) = self.store.decision_context(lookup, Some(user.id)).await? else {
            return Ok(Place::Unknown(asked.clone()));
        };
        let workspace = context.workspace;
        let scope = credential.scope.as_deref();
        let rights = WorkspaceRights {
            member: member_rights_of(context.access.as_ref(), scope, workspace.id),
            public: public_rights_of(context.public.as_ref()),
        };
        let rights = match scope {
            // The member's other unscoped tokens have the same rights.
            None => {
                let key = (workspace.id, user.id);
                self.cache.shared_rights.share(key, rights)
            }
            Some(_) => Arc::new(rights),
        };
        Ok(Place::Known {
            workspace: self.cache.shared_workspaces.share(workspace.id, workspace),
            rights,
        })
    }

    /// Decides `question` for an authenticated actor (or an anonymous caller). An unknown
    /// workspace is answered like one where the caller is not a member and nothing is public, so
    /// existence does not leak.
    pub async fn decide_for(
        &self,
        actor: Option<&Actor>,
        question: &Question<'_>,
    ) -> ServiceResult<Decision> {
        without_workspace_no_permission(question)?;
        let Some(reference) = &question.workspace else {
            return Ok(Decision::token_only(actor.cloned()));
        };
        let workspace = self.find_workspace(reference).await?;
        let rights = match &workspace {
            Some(ws) => Arc::new(self.workspace_rights(actor, ws.id).await?),
            None => NO_RIGHTS.clone(),
        };
        Ok(judge(
            actor.cloned(),
            workspace.map(Arc::new),
            rights,
            question,
        ))
    }
}

/// A permission is only ever held in a workspace.
fn without_workspace_no_permission(question: &Question<'_>) -> ServiceResult<()> {
    if question.workspace.is_none() && question.permission.is_some() {
        return Err(keygate_domain::ValidationError::new(
            "workspace",
            "a permission can only be checked in a workspace",
        )
        .into());
    }
    Ok(())
}

/// The decision on `question` in `workspace` for `actor`, who has `rights` there.
fn judge(
    actor: Option<Actor>,
    workspace: Option<Arc<Workspace>>,
    rights: Arc<WorkspaceRights>,
    question: &Question<'_>,
) -> Decision {
    let refusal = match rights.check(question.permission.as_deref(), question.resource.as_deref()) {
        Ok(()) => None,
        // Anonymous callers are never members: what they lack is the permission.
        Err(Denial::NotAMember) if actor.is_none() => Some(Refusal::Forbidden {
            missing: question
                .permission
                .as_deref()
                .map_or_else(|| "membership".to_owned(), ToString::to_string),
        }),
        Err(Denial::NotAMember) => Some(Refusal::NotAMember),
        Err(Denial::Forbidden { missing }) => Some(Refusal::Forbidden { missing }),
    };
    match &refusal {
        None => crate::metrics::hot().decided_ok.increment(1),
        Some(refusal) => {
            metrics::counter!(crate::metrics::DECISIONS, "code" => refusal.code().as_str())
                .increment(1);
        }
    }
    Decision {
        refusal,
        actor,
        workspace,
        rights: Some(rights),
    }
}
