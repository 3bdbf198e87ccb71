//! Configuration: one typed `Config`, loaded once from defaults, then `keygate.toml` (or the file
//! given with `--config`), then `KEYGATE_*` environment variables, then command-line flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use keygate_domain::{Digester, TokenFormat};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// The file read when no `--config` is given, if it exists.
pub const DEFAULT_FILE: &str = "keygate.toml";

/// Keys that `KEYGATE_*` environment variables may set.
const ENV_KEYS: [&str; 19] = [
    "gitlab_token_revocation_secret",
    "github_secret_scanning_keys_url",
    "webhook_allowed_networks",
    "token_expiry_warning_days",
    "auth_failures_per_minute",
    "forward_auth_headers",
    "invitations_per_hour",
    "signup",
    "session_hours",
    "trusted_proxies",
    "cache_ttl_seconds",
    "cache_max_tokens",
    "bind",
    "public_url",
    "database_url",
    "token_prefix",
    "token_pepper",
    "log",
    "log_format",
];

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Which headers carry the original request's method and URI to `/auth/forward`. Keygate must
/// judge a request by what the proxy wrote, never by what the client sent: a proxy overwrites
/// its own family but passes the other one on from the client as it came.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ForwardAuthHeaders {
    /// Either family. When both are present they must say the same, or the request is refused:
    /// safe with any proxy that sets at least one family.
    #[default]
    Any,
    /// `X-Forwarded-Method` and `X-Forwarded-Uri` only (Traefik, Caddy); `X-Original-*` are
    /// ignored.
    XForwarded,
    /// `X-Original-Method` and `X-Original-URI` only (nginx); `X-Forwarded-Method/-Uri` are
    /// ignored.
    XOriginal,
}

impl ForwardAuthHeaders {
    pub fn as_str(self) -> &'static str {
        match self {
            ForwardAuthHeaders::Any => "any",
            ForwardAuthHeaders::XForwarded => "x-forwarded",
            ForwardAuthHeaders::XOriginal => "x-original",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address and port `serve` listens on.
    #[serde(default = "default_bind")]
    pub bind: SocketAddr,
    /// The URL people use to reach this Keygate, for links it hands out (invitations); taken
    /// from each request's Host header when unset.
    #[serde(default)]
    pub public_url: Option<String>,
    /// `sqlite://PATH` (created when missing) or `postgres://...`.
    #[serde(default = "default_database_url")]
    pub database_url: String,
    /// The start of every token, before the kind letter: `kg` gives `kgp_`, `kgt_`, `kga_`.
    #[serde(default = "default_token_prefix")]
    pub token_prefix: String,
    /// Key for HMAC-SHA-256 token digests. Changing or removing it invalidates every token.
    #[serde(default)]
    pub token_pepper: Option<SecretString>,
    /// Log filter in `RUST_LOG` syntax; `RUST_LOG` itself wins when set.
    #[serde(default = "default_log")]
    pub log: String,
    #[serde(default)]
    pub log_format: LogFormat,
    /// How long a verified token, a member's access and a public role stay cached. Changes
    /// reach every node at once; this is also how long cached tokens keep verifying while the
    /// database is down.
    #[serde(default = "default_cache_ttl_seconds")]
    pub cache_ttl_seconds: u64,
    /// Most tokens (and unknown digests, and members' access) kept in the cache.
    #[serde(default = "default_cache_max_tokens")]
    pub cache_max_tokens: u64,
    /// Failed authentications a client address may make per minute before it is refused with
    /// 429 until its quota refills.
    #[serde(default = "default_auth_failures_per_minute")]
    pub auth_failures_per_minute: u32,
    /// Invitations one caller may send per hour before being refused with 429 until the quota
    /// refills.
    #[serde(default = "default_invitations_per_hour")]
    pub invitations_per_hour: u32,
    /// Whether anyone may create an account with `POST /api/v1/signup` (off: instance admins
    /// create accounts through `/api/v1/admin/users`).
    #[serde(default)]
    pub signup: bool,
    /// How long a web UI sign-in lasts, in hours (1 to 720).
    #[serde(default = "default_session_hours")]
    pub session_hours: u32,
    /// Reverse proxies (CIDRs) whose `X-Forwarded-For` is believed. Requests from any other
    /// peer are attributed to the peer itself.
    #[serde(default)]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Forward-auth route rules (`[[route]]` in the file), matched in order; a request that
    /// matches none is denied.
    #[serde(default)]
    pub route: Vec<keygate_domain::route::RouteRule>,
    /// Which header family `/auth/forward` reads the original method and URI from.
    #[serde(default)]
    pub forward_auth_headers: ForwardAuthHeaders,
    /// Networks (CIDRs) webhook deliveries may reach although they are internal: loopback,
    /// private and link-local addresses are refused unless listed here.
    #[serde(default)]
    pub webhook_allowed_networks: Vec<ipnet::IpNet>,
    /// Days before a token expires at which a `token.expiring` event is sent, once each.
    #[serde(default = "default_token_expiry_warning_days")]
    pub token_expiry_warning_days: Vec<u32>,
    /// The public keys GitHub signs its secret-scanning reports with (`[[github_secret_scanning_keys]]`);
    /// none: `POST /api/v1/leaks/github` answers 404.
    #[serde(default)]
    pub github_secret_scanning_keys: Vec<GitHubKey>,
    /// Where GitHub publishes those keys (`https://api.github.com/meta/public_keys/secret_scanning`),
    /// for a deployment that can reach it: a report signed with a key not configured above is
    /// checked against the keys fetched from there (kept an hour).
    #[serde(default)]
    pub github_secret_scanning_keys_url: Option<String>,
    /// The shared secret GitLab's token revocation API sends (`Authorization: Bearer ...`);
    /// none: the GitLab routes answer 404.
    #[serde(default)]
    pub gitlab_token_revocation_secret: Option<SecretString>,
}

/// One of GitHub's secret-scanning public keys, as GitHub publishes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitHubKey {
    /// The `Github-Public-Key-Identifier` that names it.
    pub key_identifier: String,
    /// The P-256 public key, PEM.
    pub key: String,
}

fn default_token_expiry_warning_days() -> Vec<u32> {
    vec![30, 7, 1]
}

fn default_auth_failures_per_minute() -> u32 {
    30
}

fn default_invitations_per_hour() -> u32 {
    crate::service::INVITATIONS_PER_HOUR
}

fn default_session_hours() -> u32 {
    12
}

fn default_cache_ttl_seconds() -> u64 {
    60
}

fn default_cache_max_tokens() -> u64 {
    100_000
}

fn default_bind() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

fn default_database_url() -> String {
    "sqlite://keygate.db".to_owned()
}

fn default_token_prefix() -> String {
    "kg".to_owned()
}

fn default_log() -> String {
    "info".to_owned()
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: default_bind(),
            public_url: None,
            database_url: default_database_url(),
            token_prefix: default_token_prefix(),
            token_pepper: None,
            log: default_log(),
            log_format: LogFormat::default(),
            cache_ttl_seconds: default_cache_ttl_seconds(),
            cache_max_tokens: default_cache_max_tokens(),
            auth_failures_per_minute: default_auth_failures_per_minute(),
            invitations_per_hour: default_invitations_per_hour(),
            signup: false,
            session_hours: default_session_hours(),
            trusted_proxies: Vec::new(),
            route: Vec::new(),
            forward_auth_headers: ForwardAuthHeaders::default(),
            webhook_allowed_networks: Vec::new(),
            token_expiry_warning_days: default_token_expiry_warning_days(),
            github_secret_scanning_keys: Vec::new(),
            github_secret_scanning_keys_url: None,
            gitlab_token_revocation_secret: None,
        }
    }
}

/// Values given as command-line flags; they override every other source.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {0} does not exist")]
    MissingFile(PathBuf),
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl From<figment::Error> for ConfigError {
    /// Figment's messages quote the offending value and, for a file, the offending line. Neither
    /// may show a secret: errors about `token_pepper` say only what is wrong, and quoted source
    /// lines are dropped.
    fn from(e: figment::Error) -> Self {
        if e.path.iter().any(|p| p == "token_pepper") {
            return ConfigError::Invalid(
                "token_pepper must be a string of at least 16 characters".into(),
            );
        }
        let text = e.to_string();
        let message: Vec<&str> = text
            .lines()
            .filter(|line| !is_quoted_source(line))
            .collect();
        ConfigError::Invalid(message.join(" "))
    }
}

/// A line of a TOML error's excerpt: `  |`, `1 | key = "..."`, `  |   ^`.
fn is_quoted_source(line: &str) -> bool {
    line.trim_start()
        .trim_start_matches(|c: char| c.is_ascii_digit())
        .trim_start()
        .starts_with('|')
}

impl Config {
    /// Loads and validates the configuration. `file` is an explicit `--config`; without it
    /// `keygate.toml` is read when present.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Self, ConfigError> {
        let file = match file {
            Some(path) if !path.exists() => {
                return Err(ConfigError::MissingFile(path.to_owned()));
            }
            Some(path) => Toml::file_exact(path),
            None => Toml::file(DEFAULT_FILE),
        };
        let config: Config = Figment::new()
            .merge(file)
            .merge(Env::prefixed("KEYGATE_").only(&ENV_KEYS))
            .merge(Serialized::globals(overrides))
            .extract()?;
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        self.token_format()?;
        self.routes()?;
        let url = self.database_url.as_str();
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return Err(ConfigError::Invalid(
                "database_url must start with sqlite:// or postgres://".into(),
            ));
        }
        if let Some(days) = self
            .token_expiry_warning_days
            .iter()
            .find(|d| !(1..=365).contains(*d))
        {
            return Err(ConfigError::Invalid(format!(
                "token_expiry_warning_days: {days} is not between 1 and 365"
            )));
        }
        for key in &self.github_secret_scanning_keys {
            if let Err(keygate_domain::leak::SignatureError::BadKey) =
                keygate_domain::leak::verify_github_signature(&key.key, "", b"")
            {
                return Err(ConfigError::Invalid(format!(
                    "github_secret_scanning_keys: {} is not a P-256 public key in PEM",
                    key.key_identifier
                )));
            }
        }
        if let Some(url) = &self.github_secret_scanning_keys_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return Err(ConfigError::Invalid(format!(
                "github_secret_scanning_keys_url: {url} is not an http(s) URL"
            )));
        }
        if let Some(pepper) = &self.token_pepper
            && pepper.expose_secret().len() < 16
        {
            return Err(ConfigError::Invalid(
                "token_pepper must be at least 16 characters long".into(),
            ));
        }
        Ok(())
    }

    pub fn webhook_settings(&self) -> crate::service::WebhookSettings {
        crate::service::WebhookSettings {
            allowed_networks: self.webhook_allowed_networks.clone(),
            expiry_horizons_days: self.token_expiry_warning_days.clone(),
        }
    }

    pub fn token_format(&self) -> Result<TokenFormat, ConfigError> {
        TokenFormat::new(&self.token_prefix)
            .map_err(|e| ConfigError::Invalid(format!("token_prefix: {e}")))
    }

    /// The forward-auth route rules, checked.
    pub fn routes(&self) -> Result<keygate_domain::route::RouteTable, ConfigError> {
        keygate_domain::route::RouteTable::new(self.route.clone())
            .map_err(|e| ConfigError::Invalid(e.to_string()))
    }

    pub fn cache_settings(&self) -> crate::service::CacheSettings {
        crate::service::CacheSettings {
            ttl: std::time::Duration::from_secs(self.cache_ttl_seconds.max(1)),
            max_tokens: self.cache_max_tokens.max(1),
        }
    }

    pub fn digester(&self) -> Digester {
        Digester::new(
            self.token_pepper
                .as_ref()
                .map(|p| p.expose_secret().as_bytes()),
        )
    }

    /// How long a web UI sign-in lasts.
    pub fn session_lifetime(&self) -> Result<chrono::Duration, ConfigError> {
        if !(1..=720).contains(&self.session_hours) {
            return Err(ConfigError::Invalid(format!(
                "session_hours must be between 1 and 720, not {}",
                self.session_hours
            )));
        }
        Ok(chrono::Duration::hours(i64::from(self.session_hours)))
    }

    /// The effective configuration as TOML, with the pepper hidden.
    pub fn describe(&self) -> String {
        let pepper = if self.token_pepper.is_some() {
            "\"[set, hidden]\""
        } else {
            "\"[not set]\""
        };
        format!(
            "bind = \"{}\"\npublic_url = \"{}\"\ndatabase_url = \"{}\"\ntoken_prefix = \"{}\"\ntoken_pepper = {}\nlog = \"{}\"\nlog_format = \"{}\"\ncache_ttl_seconds = {}\ncache_max_tokens = {}\nauth_failures_per_minute = {}\ninvitations_per_hour = {}\nsignup = {}\nsession_hours = {}\ntrusted_proxies = {:?}\nforward_auth_headers = \"{}\"\n",
            self.bind,
            self.public_url
                .as_deref()
                .unwrap_or("[from the request's Host header]"),
            redact_url_password(&self.database_url),
            self.token_prefix,
            pepper,
            self.log,
            match self.log_format {
                LogFormat::Text => "text",
                LogFormat::Json => "json",
            },
            self.cache_ttl_seconds,
            self.cache_max_tokens,
            self.auth_failures_per_minute,
            self.invitations_per_hour,
            self.signup,
            self.session_hours,
            self.trusted_proxies
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            self.forward_auth_headers.as_str(),
        )
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact_url_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
// figment::Jail's closures return figment's own (large) error type.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_layered_file_env_flags() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "keygate.toml",
                "bind = \"127.0.0.1:9000\"\ndatabase_url = \"sqlite://file.db\"\ntoken_prefix = \"acme\"\n",
            )?;
            let c = Config::load(None, &Overrides::default()).expect("loads");
            assert_eq!(c.bind.port(), 9000);
            assert_eq!(c.token_prefix, "acme");

            jail.set_env("KEYGATE_DATABASE_URL", "sqlite://env.db");
            jail.set_env("KEYGATE_TEST_DATABASE_URL", "ignored: not a config key");
            let c = Config::load(None, &Overrides::default()).expect("loads");
            assert_eq!(c.database_url, "sqlite://env.db");

            let flags = Overrides {
                database_url: Some("sqlite://flag.db".into()),
                bind: None,
            };
            let c = Config::load(None, &flags).expect("loads");
            assert_eq!(c.database_url, "sqlite://flag.db");
            assert_eq!(c.bind.port(), 9000);
            Ok(())
        });
    }

    #[test]
    fn defaults_without_a_file() {
        figment::Jail::expect_with(|_| {
            let c = Config::load(None, &Overrides::default()).expect("loads");
            assert_eq!(c.bind, default_bind());
            assert_eq!(c.database_url, "sqlite://keygate.db");
            assert_eq!(c.token_prefix, "kg");
            Ok(())
        });
    }

    #[test]
    fn bad_values_and_unknown_keys_are_refused() {
        figment::Jail::expect_with(|jail| {
            assert!(matches!(
                Config::load(Some(Path::new("nope.toml")), &Overrides::default()),
                Err(ConfigError::MissingFile(_))
            ));
            for body in [
                "token_prefix = \"Bad_\"",
                "database_url = \"mysql://x\"",
                "token_pepper = \"short\"",
                "bnd = \"127.0.0.1:1\"",
                "bind = \"not an address\"",
            ] {
                jail.create_file("keygate.toml", body)?;
                assert!(
                    Config::load(None, &Overrides::default()).is_err(),
                    "accepted {body}"
                );
            }
            Ok(())
        });
    }

    #[test]
    fn errors_never_quote_the_pepper() {
        figment::Jail::expect_with(|jail| {
            for body in [
                "token_pepper = \"very-secret-pepper-value\n",
                "token_pepper = 123456789012345678901",
                "token_pepper = \"very-secret\"\nbind = 1",
            ] {
                jail.create_file("keygate.toml", body)?;
                let err = Config::load(None, &Overrides::default()).expect_err(body);
                let text = err.to_string();
                assert!(!text.contains("very-secret"), "{text}");
                assert!(!text.contains("12345678901234"), "{text}");
            }
            jail.create_file("keygate.toml", "")?;
            jail.set_env("KEYGATE_TOKEN_PEPPER", "1234567890123456789");
            let err = Config::load(None, &Overrides::default());
            if let Err(e) = err {
                assert!(!e.to_string().contains("1234567890"), "{e}");
            }
            Ok(())
        });
    }

    #[test]
    fn forward_auth_headers_from_the_file_or_the_environment() {
        figment::Jail::expect_with(|jail| {
            let c = Config::load(None, &Overrides::default()).expect("loads");
            assert_eq!(c.forward_auth_headers, ForwardAuthHeaders::Any);
            jail.create_file("keygate.toml", "forward_auth_headers = \"x-original\"\n")?;
            let c = Config::load(None, &Overrides::default()).expect("loads");
            assert_eq!(c.forward_auth_headers, ForwardAuthHeaders::XOriginal);
            assert!(
                c.describe()
                    .contains("forward_auth_headers = \"x-original\"")
            );
            jail.set_env("KEYGATE_FORWARD_AUTH_HEADERS", "x-forwarded");
            let c = Config::load(None, &Overrides::default()).expect("loads");
            assert_eq!(c.forward_auth_headers, ForwardAuthHeaders::XForwarded);
            jail.set_env("KEYGATE_FORWARD_AUTH_HEADERS", "forwarded");
            assert!(Config::load(None, &Overrides::default()).is_err());
            Ok(())
        });
    }

    #[test]
    fn describe_hides_secrets() {
        let c = Config {
            token_pepper: Some("a very secret pepper".into()),
            database_url: "postgres://app:hunter2@db/keygate".into(),
            ..Config::default()
        };
        let text = c.describe();
        assert!(!text.contains("very secret"));
        assert!(!text.contains("hunter2"));
        assert!(text.contains("postgres://app:***@db/keygate"));
    }
}
