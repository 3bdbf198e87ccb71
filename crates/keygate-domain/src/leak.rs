//! Leaked tokens: the reports secret scanners send (GitHub's partner program, GitLab's token
//! revocation API, anyone who found one), how a GitHub report's signature is checked, and what a
//! workspace does with a token of its that leaked.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{DerSignature, VerifyingKey};
use p256::pkcs8::DecodePublicKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Who reported a leaked token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reporter {
    /// GitHub secret scanning (`POST /api/v1/leaks/github`).
    GitHub,
    /// GitLab's token revocation API (`POST /api/v1/leaks/gitlab/v1/revoke_tokens`).
    GitLab,
    /// Someone holding the token (`POST /api/v1/tokens/revoke`).
    Holder,
}

impl Reporter {
    /// As the audit log and the API name it: `github`, `gitlab`, `holder`.
    pub fn as_str(self) -> &'static str {
        match self {
            Reporter::GitHub => "github",
            Reporter::GitLab => "gitlab",
            Reporter::Holder => "holder",
        }
    }
}

/// What a workspace does with a token of its that was reported leaked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LeakPolicy {
    /// Revoke it at once (the default), and tell.
    #[default]
    Revoke,
    /// Only mark it leaked and tell: someone decides.
    Notify,
}

impl LeakPolicy {
    /// `revoke` or `notify`.
    pub fn as_str(self) -> &'static str {
        match self {
            LeakPolicy::Revoke => "revoke",
            LeakPolicy::Notify => "notify",
        }
    }

    /// The policy [`as_str`](Self::as_str) writes.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "revoke" => Some(LeakPolicy::Revoke),
            "notify" => Some(LeakPolicy::Notify),
            _ => None,
        }
    }
}

impl fmt::Display for LeakPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The lower-case hex SHA-256 of a reported string, as GitHub's answer names each token.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Why a GitHub report's signature was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    /// The key identifier names no configured key.
    UnknownKey,
    /// A configured key is not a P-256 public key in PEM.
    BadKey,
    /// The signature is not base64 DER, or does not match the body.
    Mismatch,
}

/// Checks a GitHub secret-scanning report: `signature` (the `Github-Public-Key-Signature`
/// header, base64 of a DER ECDSA signature) over the raw `body`, under the P-256 public key
/// `key_pem` that the `Github-Public-Key-Identifier` header names.
pub fn verify_github_signature(
    key_pem: &str,
    signature: &str,
    body: &[u8],
) -> Result<(), SignatureError> {
    let key = VerifyingKey::from_public_key_pem(key_pem).map_err(|_| SignatureError::BadKey)?;
    let der = STANDARD
        .decode(signature.trim())
        .map_err(|_| SignatureError::Mismatch)?;
    let signature = DerSignature::try_from(der.as_slice()).map_err(|_| SignatureError::Mismatch)?;
    key.verify(body, &signature)
        .map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::SigningKey;
    use p256::ecdsa::signature::Signer;
    use p256::pkcs8::{EncodePublicKey, LineEnding};

    fn key() -> (SigningKey, String) {
        let signing = SigningKey::from_slice(&[7u8; 32]).expect("a scalar");
        let pem = signing
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("pem");
        (signing, pem)
    }

    fn sign(key: &SigningKey, body: &[u8]) -> String {
        let signature: p256::ecdsa::Signature = key.sign(body);
        STANDARD.encode(signature.to_der().as_bytes())
    }

    #[test]
    fn a_report_signed_with_the_key_is_accepted_and_any_change_refused() {
        let (signing, pem) = key();
        let body = br#"[{"token":"kgt_x","type":"keygate_token","url":"https://example.com"}]"#;
        let signature = sign(&signing, body);
        assert_eq!(verify_github_signature(&pem, &signature, body), Ok(()));
        let mut changed = body.to_vec();
        changed[3] ^= 1;
        assert_eq!(
            verify_github_signature(&pem, &signature, &changed),
            Err(SignatureError::Mismatch)
        );
        let other = SigningKey::from_slice(&[9u8; 32]).expect("a scalar");
        assert_eq!(
            verify_github_signature(&pem, &sign(&other, body), body),
            Err(SignatureError::Mismatch)
        );
        for junk in ["", "not base64!", "AAAA"] {
            assert_eq!(
                verify_github_signature(&pem, junk, body),
                Err(SignatureError::Mismatch)
            );
        }
        assert_eq!(
            verify_github_signature("not a key", &signature, body),
            Err(SignatureError::BadKey)
        );
    }

    #[test]
    fn token_hashes_are_hex_sha256() {
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn policies_round_trip() {
        for p in [LeakPolicy::Revoke, LeakPolicy::Notify] {
            assert_eq!(LeakPolicy::parse(p.as_str()), Some(p));
        }
        assert_eq!(LeakPolicy::parse("ignore"), None);
        assert_eq!(LeakPolicy::default(), LeakPolicy::Revoke);
    }
}
