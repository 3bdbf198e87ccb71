//! `Verifier`: asks Keygate's `POST /api/v1/verify` over a pooled HTTP client, and remembers each
//! answer for a short time in a local cache keyed by a digest of the question.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use keygate_proto::{ErrorEnvelope, VerifyAnswer, VerifyRequest};
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub use keygate_proto::{Code, RateLimitState, User, Workspace};

/// How long an answer is reused by default. Keygate applies a revocation or a change of rights at
/// once; this bounds how much longer a service guarded by this crate may act on the old answer.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(1);
/// How many answers the cache keeps by default.
pub const DEFAULT_CACHE_SIZE: u64 = 10_000;
/// How long a call to Keygate may take by default, connection included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// One question to Keygate: may the holder of `token` (none: an anonymous caller, judged by the
/// workspace's public role) do `permission` on `resource` in `workspace`?
///
/// Without a workspace, the verifier's own ([`VerifierBuilder::workspace`]) is asked about.
#[derive(Clone, Copy, Default)]
pub struct Question<'a> {
    /// The token presented; `None` for an anonymous caller.
    pub token: Option<&'a str>,
    /// The workspace, by slug or id; `None` for the verifier's own.
    pub workspace: Option<&'a str>,
    /// The permission asked about, e.g. `devices:read`; `None` to ask only whether the token is
    /// valid or, with a workspace, whether its user is a member there.
    pub permission: Option<&'a str>,
    /// The concrete resource the request touches, e.g. `device:abc`; used with a permission.
    pub resource: Option<&'a str>,
    /// The address of the client that presented the token, judged against the token's
    /// allow-list (`allowed_ips`); `None` judges no address.
    pub client_ip: Option<std::net::IpAddr>,
}

impl std::fmt::Debug for Question<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Question")
            .field("token", &self.token.map(|_| "<redacted>"))
            .field("workspace", &self.workspace)
            .field("permission", &self.permission)
            .field("resource", &self.resource)
            .field("client_ip", &self.client_ip)
            .finish()
    }
}

/// Keygate's answer, as `POST /api/v1/verify` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// True only with [`Code::Ok`].
    pub valid: bool,
    /// The class of the decision.
    pub code: Code,
    /// With [`Code::Forbidden`]: the permission, or the resource, that is missing.
    pub missing: Option<String>,
    /// Who asked, and what they may do in the workspace asked about.
    pub identity: Identity,
    /// For a token held to an allow-list: whether the question's `client_ip` was judged.
    pub ip_checked: Option<bool>,
    /// For a token held to rate limits: where it stands against the tightest (with
    /// [`Code::RateLimited`]: the one used up).
    pub rate_limit: Option<RateLimitState>,
}

/// The verified caller, available to handlers behind a [`Guard`](crate::Guard) as a request
/// extension and through the [`Identity`] extractor.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Identity {
    /// The token's user; `None` for an anonymous caller.
    pub user: Option<User>,
    /// The workspace asked about, when the caller is a member of it (Keygate names a workspace
    /// only to its members, so an anonymous caller sees `None`).
    pub workspace: Option<Workspace>,
    /// The token's id; `None` for an anonymous caller.
    pub token_id: Option<Uuid>,
    /// The permissions that apply in the workspace asked about, the public role's included.
    pub permissions: Vec<String>,
    /// When the token expires, if it does.
    pub expires_at: Option<DateTime<Utc>>,
}

impl Identity {
    /// The user's id; `None` for an anonymous caller.
    pub fn user_id(&self) -> Option<Uuid> {
        self.user.as_ref().map(|u| u.id)
    }

    /// Whether the caller is anonymous: no user.
    pub fn is_anonymous(&self) -> bool {
        self.user.is_none()
    }
}

/// Why Keygate gave no decision.
#[derive(Debug, Clone, thiserror::Error)]
pub enum VerifyError {
    /// Keygate could not be reached, took too long, or answered with a server error or something
    /// that is not a decision. Callers should refuse the request (fail closed).
    #[error("Keygate is unavailable: {0}")]
    Unavailable(String),
    /// Keygate refused the question itself (400, or 413 for an oversized one): a malformed
    /// permission or resource, or a question without a workspace. The message is Keygate's, and never quotes a token.
    #[error("{message}")]
    BadQuestion {
        /// Keygate's error code, e.g. `invalid_input`; `payload_too_large` for a 413.
        code: String,
        /// Keygate's message.
        message: String,
    },
    /// The verifier was asked about a permission without any workspace to ask it in.
    #[error("no workspace to ask in: give one in the question or to the verifier")]
    NoWorkspace,
}

/// Why a verifier could not be built.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BuildError {
    /// The base URL is not an `http` or `https` URL without a query string or fragment.
    #[error("invalid Keygate base URL {url:?}: {reason}")]
    BaseUrl {
        /// The base URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The HTTP client could not be built; the text says why.
    #[error("could not build the HTTP client: {0}")]
    Client(String),
}

/// Asks Keygate, through a local cache. Cheap to clone; clones share the connection pool and the
/// cache.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    endpoint: reqwest::Url,
    workspace: Option<String>,
    /// `None` when caching is turned off (a TTL or size of zero).
    cache: Option<moka::future::Cache<[u8; 32], Arc<Decision>>>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("endpoint", &self.inner.endpoint.as_str())
            .field("workspace", &self.inner.workspace)
            .field(
                "cached",
                &self.inner.cache.as_ref().map(|c| c.entry_count()),
            )
            .finish()
    }
}

/// Settings for a [`Verifier`].
#[derive(Debug, Clone)]
pub struct VerifierBuilder {
    base_url: String,
    workspace: Option<String>,
    cache_ttl: Duration,
    cache_size: u64,
    timeout: Duration,
}

impl VerifierBuilder {
    /// The workspace (slug or id) asked about when a question or guard names none.
    pub fn workspace(mut self, workspace: impl Into<String>) -> Self {
        self.workspace = Some(workspace.into());
        self
    }

    /// How long an answer is reused ([`DEFAULT_CACHE_TTL`] by default). A revoked token or a
    /// removed right may still pass for this long. Zero turns the cache off.
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// How many answers the cache keeps ([`DEFAULT_CACHE_SIZE`] by default). Zero turns the cache
    /// off.
    pub fn cache_size(mut self, size: u64) -> Self {
        self.cache_size = size;
        self
    }

    /// How long one call to Keygate may take, connection included ([`DEFAULT_TIMEOUT`] by
    /// default). Past it the request is refused with 503.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The verifier, or why the base URL or the HTTP client cannot be used.
    pub fn build(self) -> Result<Verifier, BuildError> {
        let bad = |reason: &str| BuildError::BaseUrl {
            url: self.base_url.clone(),
            reason: reason.to_owned(),
        };
        let mut base = reqwest::Url::parse(&self.base_url).map_err(|e| bad(&e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(bad("the scheme must be http or https"));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(bad("a base URL has no query string or fragment"));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let endpoint = base
            .join("api/v1/verify")
            .map_err(|e| bad(&e.to_string()))?;
        let http = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| BuildError::Client(e.to_string()))?;
        let cache = (!self.cache_ttl.is_zero() && self.cache_size > 0).then(|| {
            moka::future::Cache::builder()
                .max_capacity(self.cache_size)
                .time_to_live(self.cache_ttl)
                .build()
        });
        Ok(Verifier {
            inner: Arc::new(Inner {
                http,
                endpoint,
                workspace: self.workspace,
                cache,
            }),
        })
    }
}

impl Verifier {
    /// Settings for a verifier of the Keygate at `base_url`, e.g. `http://127.0.0.1:8080`.
    pub fn builder(base_url: impl Into<String>) -> VerifierBuilder {
        VerifierBuilder {
            base_url: base_url.into(),
            workspace: None,
            cache_ttl: DEFAULT_CACHE_TTL,
            cache_size: DEFAULT_CACHE_SIZE,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// The workspace asked about when a question names none.
    pub fn workspace(&self) -> Option<&str> {
        self.inner.workspace.as_deref()
    }

    /// The URL of Keygate's verify endpoint that this verifier calls.
    pub fn endpoint(&self) -> &str {
        self.inner.endpoint.as_str()
    }

    /// Keygate's decision on `question`, from the cache when the same question was answered
    /// within the cache lifetime. Concurrent identical questions share one call. Only decisions
    /// are cached, never errors.
    pub async fn verify(&self, question: Question<'_>) -> Result<Arc<Decision>, VerifyError> {
        let question = Question {
            workspace: question.workspace.or(self.inner.workspace.as_deref()),
            ..question
        };
        if question.workspace.is_none() && question.permission.is_some() {
            return Err(VerifyError::NoWorkspace);
        }
        if question.workspace.is_none() && question.token.is_none() {
            return Err(VerifyError::NoWorkspace);
        }
        let Some(cache) = &self.inner.cache else {
            return self.ask(question).await.map(Arc::new);
        };
        cache
            .try_get_with(cache_key(&question), async {
                self.ask(question).await.map(Arc::new)
            })
            .await
            .map_err(|e| (*e).clone())
    }

    /// Whether `question` is allowed, as [`verify`](Self::verify) decides it.
    pub async fn allows(&self, question: Question<'_>) -> Result<bool, VerifyError> {
        Ok(self.verify(question).await?.valid)
    }

    async fn ask(&self, question: Question<'_>) -> Result<Decision, VerifyError> {
        let body = VerifyRequest {
            token: question.token.map(str::to_owned),
            workspace: question.workspace.map(str::to_owned),
            permission: question.permission.map(str::to_owned),
            resource: question.resource.map(str::to_owned),
            client_ip: question.client_ip.map(|ip| ip.to_string()),
            cost: None,
        };
        let response = self
            .inner
            .http
            .post(self.inner.endpoint.clone())
            .json(&body)
            .send()
            .await
            .map_err(|e| unavailable(&self.inner.endpoint, &describe(&e)))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| unavailable(&self.inner.endpoint, &describe(&e)))?;
        if status == reqwest::StatusCode::OK {
            let answer: VerifyAnswer = serde_json::from_str(&text).map_err(|e| {
                unavailable(
                    &self.inner.endpoint,
                    &format!("the answer is not a decision: {e}"),
                )
            })?;
            return Ok(Decision {
                valid: answer.valid && answer.code == Code::Ok,
                code: answer.code,
                missing: answer.missing,
                identity: Identity {
                    user: answer.user,
                    workspace: answer.workspace,
                    token_id: answer.token_id,
                    permissions: answer.permissions,
                    expires_at: answer.expires_at,
                },
                ip_checked: answer.ip_checked,
                rate_limit: answer.rate_limit,
            });
        }
        if status == reqwest::StatusCode::BAD_REQUEST
            && let Ok(ErrorEnvelope { error }) = serde_json::from_str(&text)
        {
            return Err(VerifyError::BadQuestion {
                code: error.code.into_owned(),
                message: error.message,
            });
        }
        if status == reqwest::StatusCode::PAYLOAD_TOO_LARGE {
            return Err(VerifyError::BadQuestion {
                code: "payload_too_large".to_owned(),
                message: "the request is too large to verify".to_owned(),
            });
        }
        // Anything else (a 5xx, a 404 from a wrong base URL, a proxy's error page) leaves the
        // request undecided, and so refused.
        Err(unavailable(
            &self.inner.endpoint,
            &format!("it answered {status}"),
        ))
    }
}

fn unavailable(endpoint: &reqwest::Url, reason: &str) -> VerifyError {
    tracing::warn!(endpoint = %endpoint, reason, "Keygate is unavailable; refusing the request");
    VerifyError::Unavailable(reason.to_owned())
}

/// An HTTP client error and its sources on one line. Request bodies (where the token travels)
/// are never part of these messages.
fn describe(e: &reqwest::Error) -> String {
    let mut out = if e.is_timeout() {
        "the call timed out".to_owned()
    } else if e.is_connect() {
        "cannot connect".to_owned()
    } else {
        "the call failed".to_owned()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// The cache key: a SHA-256 digest of the question, so the cache never holds a token in clear.
/// Each field is length-prefixed and absent fields are marked, so no two questions share a key.
fn cache_key(q: &Question<'_>) -> [u8; 32] {
    let mut hasher = Sha256::new();
    let ip = q.client_ip.map(|ip| ip.to_string());
    for field in [
        q.token,
        q.workspace,
        q.permission,
        q.resource,
        ip.as_deref(),
    ] {
        match field {
            None => hasher.update([0u8]),
            Some(text) => {
                hasher.update([1u8]);
                hasher.update((text.len() as u64).to_be_bytes());
                hasher.update(text.as_bytes());
            }
        }
    }
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_keys_tell_every_field_apart() {
        let base = Question {
            token: Some("kgt_a"),
            workspace: Some("acme"),
            permission: Some("devices:read"),
            resource: Some("device:abc"),
            client_ip: None,
        };
        let variants = [
            base,
            Question {
                token: None,
                ..base
            },
            Question {
                token: Some("kgt_b"),
                ..base
            },
            Question {
                workspace: Some("other"),
                ..base
            },
            Question {
                permission: Some("devices:write"),
                ..base
            },
            Question {
                resource: None,
                ..base
            },
            Question {
                client_ip: "203.0.113.7".parse().ok(),
                ..base
            },
            // Moving text between fields changes the key.
            Question {
                permission: Some("devices:readdevice:abc"),
                resource: Some(""),
                ..base
            },
        ];
        let keys: std::collections::BTreeSet<[u8; 32]> = variants.iter().map(cache_key).collect();
        assert_eq!(keys.len(), variants.len());
        assert_eq!(cache_key(&base), cache_key(&base));
    }

    #[test]
    fn a_question_never_shows_its_token() {
        let q = Question {
            token: Some("kgt_secret"),
            ..Question::default()
        };
        assert!(!format!("{q:?}").contains("kgt_secret"));
    }

    #[test]
    fn base_urls_are_checked() {
        for bad in ["", "not a url", "ftp://host", "http://h/?x=1"] {
            assert!(Verifier::builder(bad).build().is_err(), "{bad}");
        }
        for (base, endpoint) in [
            (
                "http://127.0.0.1:8080",
                "http://127.0.0.1:8080/api/v1/verify",
            ),
            ("http://h:1/", "http://h:1/api/v1/verify"),
            ("http://h/keygate", "http://h/keygate/api/v1/verify"),
        ] {
            let verifier = Verifier::builder(base).build().expect("valid base URL");
            assert_eq!(verifier.endpoint(), endpoint);
        }
    }
}
