//! Wiring: from a `Config` to a running server, or to the services the CLI uses.

use std::net::SocketAddr;

use axum::ServiceExt as _;
use tokio::net::TcpListener;

use crate::config::{Config, ConfigError};
use crate::http::{self, AppState};
use crate::service::{Clock, Keygate};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot open the database")]
    Store(#[from] keygate_store::StoreError),
    #[error("cannot listen on {addr}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Opens the database, applies pending migrations and builds the services.
pub async fn services(config: &Config, clock: Clock) -> Result<Keygate, StartupError> {
    let store = keygate_store::connect(&config.database_url).await?;
    store.migrate().await?;
    Ok(Keygate::new(
        store,
        config.token_format()?,
        config.digester(),
        clock,
        config.cache_settings(),
        crate::service::Policy {
            auth_failures_per_minute: config.auth_failures_per_minute,
            invitations_per_hour: config.invitations_per_hour,
            signup: config.signup,
        },
    )
    .with_webhooks(config.webhook_settings()))
}

/// A server bound to its address, ready to run.
pub struct Application {
    listener: TcpListener,
    app: http::front_door::FrontDoor,
    keygate: Keygate,
}

impl Application {
    pub async fn build(config: &Config) -> Result<Self, StartupError> {
        Self::build_with_clock(config, Clock::default()).await
    }

    /// As `build`, with a clock the caller keeps (tests move it forward).
    pub async fn build_with_clock(config: &Config, clock: Clock) -> Result<Self, StartupError> {
        crate::metrics::handle();
        let keygate = services(config, clock).await?;
        let listener =
            TcpListener::bind(config.bind)
                .await
                .map_err(|source| StartupError::Bind {
                    addr: config.bind,
                    source,
                })?;
        let app = http::app(AppState::new(http::Shared {
            keygate: keygate.clone(),
            graphql: http::graphql::schema(),
            public_url: config.public_url.clone(),
            trusted_proxies: std::sync::Arc::new(config.trusted_proxies.clone()),
            routes: std::sync::Arc::new(config.routes()?),
            forward_auth_headers: config.forward_auth_headers,
            session_lifetime: config.session_lifetime()?,
            leak_reports: std::sync::Arc::new(http::LeakReporters {
                github_keys: http::github_keys::GitHubKeys::new(
                    config.github_secret_scanning_keys.clone(),
                    config.github_secret_scanning_keys_url.clone(),
                ),
                gitlab_secret: config.gitlab_token_revocation_secret.clone(),
            }),
        }));
        Ok(Self {
            listener,
            app,
            keygate,
        })
    }

    /// The bound address; with port 0 in the config, the port the system chose.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    pub fn keygate(&self) -> &Keygate {
        &self.keygate
    }

    /// Serves until SIGINT or SIGTERM, then finishes requests in flight, writes the token uses
    /// noted so far and closes the pool. Alongside: the listener for other nodes' change notices,
    /// the writer of token uses, the webhook dispatcher, the expiry notices and the sharing of
    /// rate limit counts.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        tracing::info!("listening on http://{}", self.local_addr());
        let listener = tokio::spawn(self.keygate.clone().run_change_listener());
        let usage = tokio::spawn(self.keygate.clone().run_usage_writer());
        let webhooks = tokio::spawn(self.keygate.clone().run_webhook_dispatcher());
        let expiry = tokio::spawn(self.keygate.clone().run_expiry_notices());
        let rates = tokio::spawn(self.keygate.clone().run_rate_sync());
        let keygate = self.keygate.clone();
        let store = self.keygate.store().clone();
        axum::serve(
            self.listener,
            self.app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown_signal())
        .await?;
        listener.abort();
        usage.abort();
        webhooks.abort();
        expiry.abort();
        rates.abort();
        keygate.sync_rates().await;
        keygate.flush_usage().await;
        store.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
