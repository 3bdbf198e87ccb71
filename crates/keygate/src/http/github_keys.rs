//! GitHub's secret-scanning public keys: those in the configuration, and, for a deployment that
//! can reach GitHub, those it publishes at `github_secret_scanning_keys_url`, fetched when a
//! report names a key not known yet and kept an hour.

use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::Mutex;

use crate::config::GitHubKey;

/// How long fetched keys are used before they are fetched again.
const KEPT: Duration = Duration::from_secs(3600);
/// The least time between two fetches, so that reports naming unknown keys cannot make Keygate
/// ask GitHub on every request.
const REFETCH_AFTER: Duration = Duration::from_secs(60);
const TIMEOUT: Duration = Duration::from_secs(5);

/// Why no key could be found for a report.
#[derive(Debug, PartialEq, Eq)]
pub enum KeyError {
    /// Neither configured nor published under that identifier.
    Unknown,
    /// The published keys could not be fetched (GitHub retries the report).
    Unavailable,
}

#[derive(Debug, Default)]
pub struct GitHubKeys {
    configured: Vec<GitHubKey>,
    url: Option<String>,
    fetched: Mutex<Option<Fetched>>,
}

#[derive(Debug)]
struct Fetched {
    at: Instant,
    keys: Vec<GitHubKey>,
}

/// GitHub's answer: `{"public_keys": [{"key_identifier", "key", "is_current"}]}`.
#[derive(Deserialize)]
struct Published {
    public_keys: Vec<GitHubKey>,
}

impl GitHubKeys {
    pub fn new(configured: Vec<GitHubKey>, url: Option<String>) -> Self {
        Self {
            configured,
            url,
            fetched: Mutex::new(None),
        }
    }

    /// Whether any key can be had: configured, or a URL to fetch them from.
    pub fn is_configured(&self) -> bool {
        !self.configured.is_empty() || self.url.is_some()
    }

    /// The PEM of the key `id`: a configured one, else one GitHub publishes (fetched when none is
    /// kept, when the kept ones are an hour old, or when `id` is not among them and the last
    /// fetch is more than a minute old).
    pub async fn key(&self, id: &str) -> Result<String, KeyError> {
        if let Some(key) = self.configured.iter().find(|k| k.key_identifier == id) {
            return Ok(key.key.clone());
        }
        let Some(url) = &self.url else {
            return Err(KeyError::Unknown);
        };
        let mut fetched = self.fetched.lock().await;
        let known = |f: &Fetched| {
            f.keys
                .iter()
                .find(|k| k.key_identifier == id)
                .map(|k| k.key.clone())
        };
        if let Some(f) = fetched.as_ref().filter(|f| f.at.elapsed() < KEPT)
            && let Some(key) = known(f)
        {
            return Ok(key);
        }
        if fetched
            .as_ref()
            .is_some_and(|f| f.at.elapsed() < REFETCH_AFTER)
        {
            return Err(KeyError::Unknown);
        }
        let keys = fetch(url).await.map_err(|e| {
            tracing::warn!(error = %e, url, "could not fetch GitHub's secret-scanning keys");
            KeyError::Unavailable
        })?;
        let found = Fetched {
            at: Instant::now(),
            keys,
        };
        let key = known(&found).ok_or(KeyError::Unknown);
        *fetched = Some(found);
        key
    }
}

async fn fetch(url: &str) -> Result<Vec<GitHubKey>, reqwest::Error> {
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::limited(3))
        .user_agent(concat!("keygate/", env!("CARGO_PKG_VERSION")))
        .build()?;
    let published: Published = client
        .get(url)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(published.public_keys)
}
