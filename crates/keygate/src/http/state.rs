//! `AppState`: what every handler reaches, and the links it builds from it.

use axum::http::HeaderMap;

use super::graphql;
use crate::service::Keygate;

/// What every handler can reach. Shared: extracting it clones one pointer, not its parts.
#[derive(Clone)]
pub struct AppState(std::sync::Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(std::sync::Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The parts of [`AppState`].
pub struct Shared {
    pub keygate: Keygate,
    pub graphql: graphql::KeygateSchema,
    /// Where users reach this Keygate (links in responses); from the request's Host when unset.
    pub public_url: Option<String>,
    /// Peers whose `X-Forwarded-For` names the client.
    pub trusted_proxies: std::sync::Arc<Vec<ipnet::IpNet>>,
    /// Forward-auth route rules.
    pub routes: std::sync::Arc<keygate_domain::route::RouteTable>,
    /// Which headers carry the original method and URI to forward-auth.
    pub forward_auth_headers: crate::config::ForwardAuthHeaders,
    /// How long a web UI sign-in lasts.
    pub session_lifetime: chrono::Duration,
    /// GitHub's secret-scanning keys and GitLab's shared secret, for leak reports.
    pub leak_reports: std::sync::Arc<LeakReporters>,
}

/// Who may report leaked tokens besides their holders.
#[derive(Debug, Default)]
pub struct LeakReporters {
    pub github_keys: super::github_keys::GitHubKeys,
    pub gitlab_secret: Option<secrecy::SecretString>,
}

impl Shared {
    /// The base URL for links, without a trailing slash.
    pub fn public_url(&self, headers: &HeaderMap) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => {
                let host = headers
                    .get(axum::http::header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or("localhost");
                format!("http://{host}")
            }
        }
    }
}

/// The page where an invited person accepts an invitation (the web UI's; `GET` with JSON on
/// `/api/v1/invitations/{code}` previews it).
pub fn invitation_url(base: &str, code: &str) -> String {
    format!("{base}/invitations/{code}")
}

/// The page where a person sets their password with a password link.
pub fn password_link_url(base: &str, code: &str) -> String {
    format!("{base}/password/{code}")
}
