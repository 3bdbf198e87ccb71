//! Password hashing with Argon2id (the crate's defaults: 19 MiB, 2 passes), off the async runtime.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use secrecy::{ExposeSecret, SecretString};

use super::error::{ServiceError, ServiceResult};

pub async fn hash(password: SecretString) -> ServiceResult<String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.expose_secret().as_bytes())
            .map(|h| h.to_string())
            .map_err(ServiceError::internal)
    })
    .await
    .map_err(ServiceError::internal)?
}

/// Whether `password` matches `hash`; a malformed hash never matches.
pub async fn verify(password: SecretString, hash: String) -> ServiceResult<bool> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .verify_password(password.expose_secret().as_bytes(), hash.as_str())
            .is_ok()
    })
    .await
    .map_err(ServiceError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let h = hash("correct horse".into()).await.expect("hash");
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(
            verify("correct horse".into(), h.clone())
                .await
                .expect("verify")
        );
        assert!(!verify("wrong horse".into(), h).await.expect("verify"));
        assert!(
            !verify("x".into(), "not a hash".into())
                .await
                .expect("verify")
        );
    }
}
