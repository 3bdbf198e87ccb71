//! Signing in to the web UI with email and password: sessions kept as digests of their secret,
//! signing out, and changing one's password (which ends one's other sessions).

use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use keygate_domain::token::{code_digest, one_time_code};
use keygate_domain::{Email, User, UserKind, validate};
use keygate_store::NewSession;
use secrecy::SecretString;
use serde_json::json;
use uuid::Uuid;

use super::{
    Actor, Keygate, ServiceError, ServiceResult, Target, from_os_randomness, password,
    users::hash_new_password,
};

/// A session just started. `secret` goes into the cookie and nowhere else.
pub struct SignedIn {
    pub secret: SecretString,
    pub expires_at: DateTime<Utc>,
}

/// A live session: who, and which session (to end it or keep it on a password change).
#[derive(Debug, Clone)]
pub struct SessionActor {
    pub actor: Actor,
    pub session_id: Uuid,
    pub expires_at: DateTime<Utc>,
}

/// The hash verified when no user matches, so that an unknown email takes as long as a wrong
/// password: well-formed, with the default Argon2id parameters, and matching no password anyone
/// would type.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$Yk1jN0tqR2VwWG5vS2ZqVA$xyW7pe0fIVd0hc2j0ok4tZu8VxSv8gGZhrQO/0k3b6Q";

/// Why a sign-in fails, in one message whatever the cause, so that it tells nothing about
/// which emails exist.
fn wrong_credentials() -> ServiceError {
    ServiceError::Forbidden {
        missing: None,
        message: "the email or password is wrong".into(),
    }
}

impl Keygate {
    /// Checks an email and password and starts a session of `lifetime`. Failures count towards
    /// the client address's throttle like failed token authentications.
    pub async fn sign_in(
        &self,
        email: &str,
        password: SecretString,
        ip: Option<IpAddr>,
        lifetime: Duration,
    ) -> ServiceResult<SignedIn> {
        self.gate(ip)?;
        let user = match Email::parse(email) {
            Ok(email) => self.store.user_by_email(&email).await?,
            Err(_) => None,
        };
        let hash = match &user {
            Some(u) if u.kind == UserKind::Human && !u.is_disabled() => {
                self.store.password_hash(u.id).await?
            }
            _ => None,
        };
        let matches = password::verify(
            password,
            hash.clone().unwrap_or_else(|| DUMMY_HASH.to_owned()),
        )
        .await?;
        let (Some(user), Some(_), true) = (user, hash, matches) else {
            self.note_failure(ip, "invalid_password").await;
            return Err(wrong_credentials());
        };

        let secret = from_os_randomness(|fill| one_time_code(fill))?;
        let now = self.clock.now();
        let new = NewSession {
            id: Uuid::now_v7(),
            digest: code_digest(&secret),
            user_id: user.id,
            created_at: now,
            expires_at: now + lifetime,
            client_ip: ip.map(|ip| ip.to_string()),
        };
        let actor = Actor {
            user: Arc::new(user),
            token: None,
            ip,
            rate: None,
        };
        let audit = actor.audit(
            now,
            None,
            "session.created",
            Target::new("session", new.id),
            json!({ "expires_at": new.expires_at }),
        );
        self.store.create_session(&new, &audit).await?;
        Ok(SignedIn {
            secret: secret.into(),
            expires_at: new.expires_at,
        })
    }

    /// The user behind a session cookie, when the session is live and the user enabled.
    pub async fn session(
        &self,
        secret: &str,
        ip: Option<IpAddr>,
    ) -> ServiceResult<Option<SessionActor>> {
        let Some(session) = self
            .store
            .session(&code_digest(secret), self.clock.now())
            .await?
        else {
            return Ok(None);
        };
        if session.user.is_disabled() {
            return Ok(None);
        }
        Ok(Some(SessionActor {
            actor: Actor {
                user: Arc::new(session.user),
                token: None,
                ip,
                rate: None,
            },
            session_id: session.id,
            expires_at: session.expires_at,
        }))
    }

    pub async fn sign_out(&self, session: &SessionActor) -> ServiceResult<()> {
        let audit = session.actor.audit(
            self.clock.now(),
            None,
            "session.ended",
            Target::new("session", session.session_id),
            json!({}),
        );
        self.store
            .delete_session(session.session_id, &audit)
            .await?;
        Ok(())
    }

    /// Changes the user's password after checking the current one; their other sessions end.
    pub async fn change_password(
        &self,
        session: &SessionActor,
        current: SecretString,
        new: SecretString,
    ) -> ServiceResult<()> {
        let user = &session.actor.user;
        let hash = self.store.password_hash(user.id).await?;
        let matches = match hash {
            Some(hash) => password::verify(current, hash).await?,
            None => false,
        };
        if !matches {
            self.note_failure(session.actor.ip, "invalid_password")
                .await;
            return Err(keygate_domain::ValidationError::new(
                "current_password",
                "the current password is wrong",
            )
            .into());
        }
        let hash = hash_new_password(new).await?;
        let now = self.clock.now();
        let audit = session.actor.audit(
            now,
            None,
            "user.password_changed",
            Target::new("user", user.id),
            json!({}),
        );
        self.store
            .set_password(user.id, &hash, Some(session.session_id), now, &audit)
            .await?;
        Ok(())
    }

    /// Changes the display name people see.
    pub async fn update_profile(&self, actor: &Actor, display_name: &str) -> ServiceResult<User> {
        let display_name = validate::name("display_name", display_name)?;
        let now = self.clock.now();
        let audit = actor.audit(
            now,
            None,
            "user.updated",
            Target::new("user", actor.user.id),
            json!({ "display_name": display_name }),
        );
        let patch = keygate_store::UserPatch {
            display_name: Some(display_name),
            ..Default::default()
        };
        let user = self
            .store
            .update_user(actor.user.id, &patch, now, &audit)
            .await?
            .ok_or(ServiceError::NotFound("user"))?;
        // Tokens verify against a cached copy of their user: the new name shows at once.
        self.changed(super::Notice::User(actor.user.id)).await;
        Ok(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_dummy_hash_is_a_valid_argon2id_hash_that_matches_nothing_typed() {
        assert!(DUMMY_HASH.starts_with("$argon2id$"));
        // Parseable, so that verifying it costs what verifying a real hash costs.
        assert!(argon2::password_hash::phc::PasswordHash::new(DUMMY_HASH).is_ok());
        assert!(
            !password::verify("password".into(), DUMMY_HASH.into())
                .await
                .expect("verify")
        );
    }
}
