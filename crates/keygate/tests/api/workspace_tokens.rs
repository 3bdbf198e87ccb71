//! `/api/v1/workspaces/{ws}/tokens`: the tokens that belong to a workspace, for `tokens:manage`.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, backend_tests, send};

backend_tests!(managers_see_and_revoke_the_workspaces_own_tokens);

fn ids(list: &Value) -> Vec<String> {
    list["tokens"]
        .as_array()
        .expect("tokens")
        .iter()
        .filter_map(|t| t["id"].as_str().map(str::to_owned))
        .collect()
}

async fn managers_see_and_revoke_the_workspaces_own_tokens(app: TestApp) {
    let api_user = app.create_api_user(json!({"name": "exporter"})).await;
    let api_token = api_user["token"]["token"].as_str().expect("secret");
    let api_token = api_token.to_owned();
    let api_token_id = api_user["token"]["id"].as_str().expect("id").to_owned();
    let scoped = app
        .create_token(json!({"name": "acme only", "scope": {"workspaces": ["acme"]}}))
        .await;
    let unscoped = app.create_token(json!({"name": "everywhere"})).await;

    let (status, list) = send(app.as_owner(Method::GET, "/api/v1/workspaces/acme/tokens")).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let listed = ids(&list);
    assert!(listed.contains(&api_token_id));
    assert!(listed.contains(&scoped["id"].as_str().expect("id").to_owned()));
    assert!(!listed.contains(&unscoped["id"].as_str().expect("id").to_owned()));
    assert_eq!(list["tokens"].as_array().map(Vec::len), Some(2), "{list}");
    assert!(!list.to_string().contains(&api_token[4..]));
    let owner_of_api_token = list["tokens"]
        .as_array()
        .expect("tokens")
        .iter()
        .find(|t| t["id"] == api_token_id)
        .map(|t| t["owner"]["display_name"].clone());
    assert_eq!(owner_of_api_token, Some(json!("exporter")));

    // A token that also acts elsewhere is not the workspace's to revoke.
    let unscoped_id = unscoped["id"].as_str().expect("id");
    let got = send(app.as_owner(
        Method::DELETE,
        &format!("/api/v1/workspaces/acme/tokens/{unscoped_id}"),
    ))
    .await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");

    let (status, _) = send(app.as_owner(
        Method::DELETE,
        &format!("/api/v1/workspaces/acme/tokens/{api_token_id}"),
    ))
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let got = send(app.with_token(&api_token, Method::GET, "/api/v1/auth/me")).await;
    assert_error(&got, StatusCode::UNAUTHORIZED, "token_revoked");

    // Only holders of tokens:manage see the list.
    let viewer = app.join("viewer@example.com", &["viewer"]).await;
    let got =
        send(app.with_token(&viewer.token, Method::GET, "/api/v1/workspaces/acme/tokens")).await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(got.1["error"]["permission"], "tokens:manage");
}
