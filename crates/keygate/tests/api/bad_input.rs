//! Bad input gets a 4xx JSON error, never a 500, a panic or a partial write.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, assert_error, backend_tests, send};

backend_tests!(
    malformed_bodies_are_refused_clearly,
    oversized_bodies_are_refused,
    bad_ids_and_unknown_routes,
    names_and_descriptions_are_bounded,
    error_messages_never_echo_a_token,
    refused_requests_write_nothing,
);

async fn malformed_bodies_are_refused_clearly(app: TestApp) {
    let raw = |body: &'static str| {
        app.as_owner(Method::POST, "/api/v1/tokens")
            .header("content-type", "application/json")
            .body(body)
    };
    assert_error(
        &send(raw("{\"name\": ")).await,
        StatusCode::BAD_REQUEST,
        "malformed_json",
    );
    assert_error(
        &send(raw("not json")).await,
        StatusCode::BAD_REQUEST,
        "malformed_json",
    );
    assert_error(
        &send(raw("")).await,
        StatusCode::BAD_REQUEST,
        "malformed_json",
    );
    for body in [
        json!({"name": 5}),
        json!({"expires_in_days": "soon"}),
        json!({"expires_in_days": 1.5}),
        json!({"expires_at": "tomorrow"}),
        json!({"nmae": "typo"}),
        json!(["a"]),
        json!(null),
    ] {
        let got = send(app.as_owner(Method::POST, "/api/v1/tokens").json(&body)).await;
        assert_error(&got, StatusCode::BAD_REQUEST, "invalid_body");
    }
    let got = send(
        app.as_owner(Method::POST, "/api/v1/tokens")
            .body("{\"name\":\"x\"}"),
    )
    .await;
    assert_error(
        &got,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
}

async fn oversized_bodies_are_refused(app: TestApp) {
    let huge = json!({"name": "x", "description": "y".repeat(70 * 1024)});
    let got = send(app.as_owner(Method::POST, "/api/v1/tokens").json(&huge)).await;
    assert_error(&got, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");

    // The same body in chunks, with no length announced: limited all the same.
    let head = format!(
        "POST /api/v1/tokens HTTP/1.1\r\nhost: keygate\r\nauthorization: Bearer {}\r\n\
         content-type: application/json\r\ntransfer-encoding: chunked\r\n\
         connection: close\r\n\r\n",
        app.owner.token
    );
    let body = huge.to_string();
    let mut chunked = String::new();
    for chunk in body.as_bytes().chunks(4096) {
        let chunk = std::str::from_utf8(chunk).expect("ASCII");
        chunked.push_str(&format!("{:x}\r\n{chunk}\r\n", chunk.len()));
    }
    chunked.push_str("0\r\n\r\n");
    let answer = raw_exchange(app.addr, &(head + &chunked)).await;
    assert!(
        answer.starts_with("HTTP/1.1 413"),
        "{}",
        &answer[..answer.len().min(300)]
    );
    assert!(answer.contains("payload_too_large"), "{answer}");
}

/// Sends `request` as it is and reads the answer until the server closes. The server may answer
/// before it has read all of it: what could not be written is not sent.
async fn raw_exchange(addr: std::net::SocketAddr, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let _ = stream.write_all(request.as_bytes()).await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    String::from_utf8_lossy(&answer).into_owned()
}

async fn bad_ids_and_unknown_routes(app: TestApp) {
    for path in ["/api/v1/tokens/not-a-uuid", "/api/v1/tokens/1234/rotate"] {
        let method = if path.ends_with("rotate") {
            Method::POST
        } else {
            Method::GET
        };
        let got = send(app.as_owner(method, path)).await;
        assert_error(&got, StatusCode::BAD_REQUEST, "invalid_path");
    }
    let got = send(app.as_owner(
        Method::GET,
        "/api/v1/tokens/0190b5a6-8e1f-7c5a-9b8e-0a1b2c3d4e5f",
    ))
    .await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    let got = send(app.as_owner(Method::GET, "/api/v1/nothing-here")).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    let got = send(app.anonymous(Method::GET, "/nothing")).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    let got = send(app.as_owner(Method::PUT, "/api/v1/tokens")).await;
    assert_error(&got, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    let got = send(app.anonymous(Method::DELETE, "/healthz")).await;
    assert_error(&got, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
}

async fn names_and_descriptions_are_bounded(app: TestApp) {
    for (body, field) in [
        (json!({"name": ""}), "name"),
        (json!({"name": "   "}), "name"),
        (json!({"name": "x".repeat(300)}), "name"),
        (json!({"name": "bell\u{7}"}), "name"),
        (json!({"description": "d".repeat(1001)}), "description"),
    ] {
        let got = send(app.as_owner(Method::POST, "/api/v1/tokens").json(&body)).await;
        assert_error(&got, StatusCode::BAD_REQUEST, "invalid_input");
        assert_eq!(got.1["error"]["field"], field);
    }
    let created = app
        .create_token(json!({"name": "  padded  ", "description": "   "}))
        .await;
    assert_eq!(created["name"], "padded");
    assert!(created["description"].is_null());
    let created = app.create_token(json!({"name": "é".repeat(100)})).await;
    assert_eq!(
        created["name"].as_str().map(|n| n.chars().count()),
        Some(100)
    );
}

async fn error_messages_never_echo_a_token(app: TestApp) {
    let t = app.owner.token.clone();
    let checks = [
        send(
            app.as_owner(Method::POST, "/api/v1/tokens")
                .json(&json!({"expires_in_days": t})),
        )
        .await,
        send(app.as_owner(Method::GET, &format!("/api/v1/tokens/{t}"))).await,
        send(
            app.anonymous(Method::POST, "/api/v1/verify")
                .json(&json!({"token": t, "again": t})),
        )
        .await,
    ];
    for got in checks {
        assert_eq!(got.0, StatusCode::BAD_REQUEST, "{}", got.1);
        assert!(
            !got.1.to_string().contains(&t[4..]),
            "token echoed in {}",
            got.1
        );
    }
}

async fn refused_requests_write_nothing(app: TestApp) {
    let before = send(app.as_owner(Method::GET, "/api/v1/tokens")).await.1;
    for body in [
        json!({"name": ""}),
        json!({"expires_in_days": 0}),
        json!({"x": 1}),
    ] {
        let (status, _) = send(app.as_owner(Method::POST, "/api/v1/tokens").json(&body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
    let after = send(app.as_owner(Method::GET, "/api/v1/tokens")).await.1;
    assert_eq!(before, after);
}
