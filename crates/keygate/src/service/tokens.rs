//! A user's own tokens: create, list, get, revoke, rotate, and refreshing the personal token.

use chrono::{DateTime, Duration, Utc};
use keygate_domain::{ClearToken, Token, TokenKind, TokenStatus, User, ValidationError, validate};
use keygate_store::NewToken;
use uuid::Uuid;

use super::{Keygate, ServiceError, ServiceResult};

/// Longest lifetime a token can be given, in days.
pub const MAX_LIFETIME_DAYS: i64 = 3650;

/// When a new token stops working.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    Never,
    InDays(i64),
    At(DateTime<Utc>),
}

impl Expiry {
    /// From the two optional inputs every interface offers; giving both is an error.
    pub fn from_parts(
        in_days: Option<i64>,
        at: Option<DateTime<Utc>>,
    ) -> Result<Self, ValidationError> {
        match (in_days, at) {
            (None, None) => Ok(Expiry::Never),
            (Some(days), None) => Ok(Expiry::InDays(days)),
            (None, Some(at)) => Ok(Expiry::At(at)),
            (Some(_), Some(_)) => Err(ValidationError::new(
                "expires_at",
                "give either expires_in_days or expires_at, not both",
            )),
        }
    }

    fn resolve(self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, ValidationError> {
        let latest = now + Duration::days(MAX_LIFETIME_DAYS);
        match self {
            Expiry::Never => Ok(None),
            Expiry::InDays(days) if (1..=MAX_LIFETIME_DAYS).contains(&days) => {
                Ok(Some(now + Duration::days(days)))
            }
            Expiry::InDays(_) => Err(ValidationError::new(
                "expires_in_days",
                format!("must be between 1 and {MAX_LIFETIME_DAYS}"),
            )),
            Expiry::At(at) if at <= now => {
                Err(ValidationError::new("expires_at", "must be in the future"))
            }
            Expiry::At(at) if at > latest => Err(ValidationError::new(
                "expires_at",
                format!("must be at most {MAX_LIFETIME_DAYS} days from now"),
            )),
            Expiry::At(at) => Ok(Some(at)),
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewTokenRequest {
    pub name: Option<String>,
    pub description: Option<String>,
    pub expiry: Expiry,
}

impl Keygate {
    /// Builds the stored form of a fresh secret: digest and hint only.
    pub(super) fn token_row(
        &self,
        user_id: Uuid,
        clear: &ClearToken,
        now: DateTime<Utc>,
    ) -> NewToken {
        let parsed = clear.parsed();
        NewToken {
            id: Uuid::now_v7(),
            user_id,
            kind: parsed.kind(),
            name: None,
            description: None,
            digest: self.digester.digest(&parsed),
            hint: parsed.hint(),
            created_at: now,
            expires_at: None,
        }
    }

    pub async fn create_token(
        &self,
        user: &User,
        req: NewTokenRequest,
    ) -> ServiceResult<(Token, ClearToken)> {
        let now = self.clock.now();
        let name = req
            .name
            .as_deref()
            .map(|n| validate::name("name", n))
            .transpose()?;
        let description = req
            .description
            .as_deref()
            .map(validate::description)
            .transpose()?
            .flatten();
        let expires_at = req.expiry.resolve(now)?;
        let clear = self.generate(TokenKind::User)?;
        let row = NewToken {
            name,
            description,
            expires_at,
            ..self.token_row(user.id, &clear, now)
        };
        let token = self.store.insert_token(&row).await?;
        tracing::info!(user = %user.id, token = %token.id, "token created");
        Ok((token, clear))
    }

    pub async fn list_tokens(&self, user: &User) -> ServiceResult<Vec<Token>> {
        Ok(self.store.tokens_of(user.id).await?)
    }

    /// One of the user's tokens; another user's token is indistinguishable from none.
    pub async fn token(&self, user: &User, id: Uuid) -> ServiceResult<Token> {
        self.store
            .token_of(user.id, id)
            .await?
            .ok_or(ServiceError::NotFound("token"))
    }

    /// Revokes one of the user's tokens at once. Revoking twice is not an error. The personal
    /// token is refreshed, never revoked, so that every user keeps exactly one.
    pub async fn revoke_token(&self, user: &User, id: Uuid) -> ServiceResult<Token> {
        let token = self.token(user, id).await?;
        if token.kind == TokenKind::Personal {
            return Err(ServiceError::conflict(
                "personal_token",
                "the personal token cannot be revoked; refresh it to invalidate the current secret",
            ));
        }
        let token = self
            .store
            .revoke_token(user.id, id, self.clock.now())
            .await?
            .ok_or(ServiceError::NotFound("token"))?;
        tracing::info!(user = %user.id, token = %token.id, "token revoked");
        Ok(token)
    }

    /// A new secret for the same token; the old secret stops working at once.
    pub async fn rotate_token(&self, user: &User, id: Uuid) -> ServiceResult<(Token, ClearToken)> {
        let now = self.clock.now();
        let token = self.token(user, id).await?;
        match token.status(now) {
            TokenStatus::Active => {}
            TokenStatus::Revoked => {
                return Err(ServiceError::conflict(
                    "token_revoked",
                    "a revoked token cannot be rotated; create a new one",
                ));
            }
            TokenStatus::Expired => {
                return Err(ServiceError::conflict(
                    "token_expired",
                    "an expired token cannot be rotated; create a new one",
                ));
            }
        }
        let clear = self.generate(token.kind)?;
        let fresh = self.token_row(user.id, &clear, now);
        let token = self
            .store
            .rotate_token(user.id, id, &fresh.digest, &fresh.hint, now)
            .await?
            // Revoked between the read and the write.
            .ok_or_else(|| {
                ServiceError::conflict("token_revoked", "the token was revoked meanwhile")
            })?;
        tracing::info!(user = %user.id, token = %token.id, "token rotated");
        Ok((token, clear))
    }

    /// A new secret for the user's personal token; the old one stops working at once.
    pub async fn refresh_personal_token(&self, user: &User) -> ServiceResult<(Token, ClearToken)> {
        let personal = self
            .store
            .personal_token(user.id)
            .await?
            .ok_or(ServiceError::NotFound("personal token"))?;
        self.rotate_token(user, personal.id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_resolution() {
        let now = DateTime::UNIX_EPOCH + Duration::days(100);
        assert_eq!(Expiry::Never.resolve(now), Ok(None));
        assert_eq!(
            Expiry::InDays(30).resolve(now),
            Ok(Some(now + Duration::days(30)))
        );
        assert!(Expiry::InDays(0).resolve(now).is_err());
        assert!(Expiry::InDays(-1).resolve(now).is_err());
        assert!(Expiry::InDays(MAX_LIFETIME_DAYS + 1).resolve(now).is_err());
        assert!(Expiry::At(now).resolve(now).is_err());
        assert!(Expiry::At(now - Duration::seconds(1)).resolve(now).is_err());
        assert!(
            Expiry::At(now + Duration::days(MAX_LIFETIME_DAYS + 1))
                .resolve(now)
                .is_err()
        );
        let soon = now + Duration::hours(1);
        assert_eq!(Expiry::At(soon).resolve(now), Ok(Some(soon)));
        assert!(Expiry::from_parts(Some(1), Some(soon)).is_err());
        assert_eq!(Expiry::from_parts(None, None), Ok(Expiry::Never));
    }
}
