//! What the example API's tests share: the API itself, started in this process.

use std::net::SocketAddr;

use keygate_client::Verifier;

/// Starts the example API on a random port of 127.0.0.1, asking the Keygate at `keygate_url`
/// about workspace `acme` with the client's default cache lifetime; returns its address.
pub async fn spawn_iot_api(keygate_url: &str) -> SocketAddr {
    let verifier = Verifier::builder(keygate_url)
        .workspace("acme")
        .build()
        .expect("verifier");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, iot_api::router(verifier)).await });
    addr
}
