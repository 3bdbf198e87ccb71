//! Authentication: from a presented secret to the user and token it stands for, and the
//! `verify` decision other services ask for.

use chrono::{DateTime, Utc};
use keygate_domain::{Membership, Token, TokenStatus, User};

use super::{AuthFailure, Keygate, ServiceError, ServiceResult};

/// Who is calling: the user and the token they presented.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    pub token: Token,
}

/// The answer to `verify`: valid or not, and why.
#[derive(Debug, Clone)]
pub struct VerifyOutcome {
    pub result: Result<(Principal, Vec<Membership>), AuthFailure>,
}

impl Keygate {
    /// Resolves a presented token. Shape and checksum are checked before any storage access.
    pub async fn authenticate(&self, presented: &str) -> ServiceResult<Principal> {
        let parsed = self
            .format
            .parse(presented)
            .map_err(|_| ServiceError::InvalidCredentials(AuthFailure::InvalidToken))?;
        let digest = self.digester.digest(&parsed);
        let token = self
            .store
            .token_by_digest(&digest)
            .await?
            .ok_or(ServiceError::InvalidCredentials(AuthFailure::InvalidToken))?;
        check_status(&token, self.clock.now())?;
        let user = self
            .store
            .user(token.user_id)
            .await?
            .filter(|u| !u.is_disabled())
            .ok_or(ServiceError::InvalidCredentials(AuthFailure::InvalidToken))?;
        Ok(Principal { user, token })
    }

    /// Memberships of the principal's user, with roles.
    pub async fn memberships(&self, user: &User) -> ServiceResult<Vec<Membership>> {
        Ok(self.store.memberships(user.id).await?)
    }

    /// The decision for another service: always an outcome for a well-formed request; only
    /// storage failures are errors.
    pub async fn verify(&self, presented: &str) -> ServiceResult<VerifyOutcome> {
        match self.authenticate(presented).await {
            Ok(principal) => {
                let memberships = self.memberships(&principal.user).await?;
                Ok(VerifyOutcome {
                    result: Ok((principal, memberships)),
                })
            }
            Err(ServiceError::InvalidCredentials(failure)) => Ok(VerifyOutcome {
                result: Err(failure),
            }),
            Err(other) => Err(other),
        }
    }
}

fn check_status(token: &Token, now: DateTime<Utc>) -> ServiceResult<()> {
    match token.status(now) {
        TokenStatus::Active => Ok(()),
        TokenStatus::Expired => Err(ServiceError::InvalidCredentials(AuthFailure::TokenExpired)),
        TokenStatus::Revoked => Err(ServiceError::InvalidCredentials(AuthFailure::TokenRevoked)),
    }
}
