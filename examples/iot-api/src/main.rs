//! `iot-api`: the example IoT API, guarded by the Keygate at `--keygate`.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use keygate_client::Verifier;

/// An example IoT API (devices and measurements, in memory) guarded by Keygate.
#[derive(Debug, Parser)]
#[command(name = "iot-api", version)]
struct Args {
    /// Where Keygate listens.
    #[arg(long, env = "IOT_API_KEYGATE", default_value = "http://127.0.0.1:8080")]
    keygate: String,
    /// The Keygate workspace (slug or id) every route is judged in.
    #[arg(long, env = "IOT_API_WORKSPACE", default_value = "acme")]
    workspace: String,
    /// Address and port to listen on.
    #[arg(long, env = "IOT_API_BIND", default_value = "127.0.0.1:8090")]
    bind: SocketAddr,
    /// How long Keygate's answers are reused, in milliseconds (0: ask every time).
    #[arg(long, env = "IOT_API_CACHE_TTL_MS", default_value_t = 1000)]
    cache_ttl_ms: u64,
    /// How long a call to Keygate may take, in milliseconds, before requests are refused with 503.
    #[arg(long, env = "IOT_API_TIMEOUT_MS", default_value_t = 2000)]
    timeout_ms: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let verifier = Verifier::builder(&args.keygate)
        .workspace(&args.workspace)
        .cache_ttl(Duration::from_millis(args.cache_ttl_ms))
        .timeout(Duration::from_millis(args.timeout_ms))
        .build()?;
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("cannot listen on {}", args.bind))?;
    tracing::info!(
        addr = %listener.local_addr()?,
        keygate = %args.keygate,
        workspace = %args.workspace,
        "iot-api listening"
    );
    axum::serve(listener, iot_api::router(verifier))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
