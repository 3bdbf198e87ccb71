//! Reports of leaked tokens: GitHub's secret-scanning partner program
//! (`/api/v1/leaks/github`), GitLab's token revocation API (`/api/v1/leaks/gitlab/v1/...`) and
//! anyone holding a token (`/api/v1/tokens/revoke`). The first two are authenticated by GitHub's
//! signature and GitLab's shared secret from the configuration; the last by holding the token.

pub(crate) mod json;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use keygate_domain::leak::{Reporter, SignatureError, token_hash, verify_github_signature};
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use self::json::{
    GitHubReportJson, GitHubVerdictJson, GitLabReportJson, RevokeReportedJson, RevokedReportJson,
    TokenTypeJson, TokenTypesJson,
};
use super::API_V1;
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::extract::{ClientIp, Json};
use crate::http::github_keys::KeyError;
use crate::http::openapi::{BadRequest, NotFound, TooManyRequests};
use crate::service::{LeakReport, LeakVerdict};

const GITHUB_KEY_ID: &str = "github-public-key-identifier";
const GITHUB_SIGNATURE: &str = "github-public-key-signature";
/// The token type Keygate registers with GitHub and GitLab.
const TOKEN_TYPE: &str = "keygate_token";

fn label(verdict: LeakVerdict) -> &'static str {
    match verdict {
        LeakVerdict::TruePositive => "true_positive",
        LeakVerdict::FalsePositive => "false_positive",
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Revokes a token, for whoever holds it.
///
/// A finder of a leaked token, or a scanner of one's own code, revokes it without an account.
/// The answer is the same whether the string was an active token of this Keygate or not, so
/// the route reveals nothing about tokens. A token revoked this way is marked leaked.
#[utoipa::path(context_path = API_V1, post, path = "/tokens/revoke",
    operation_id = "revoke_presented_token", tag = "leaks", security(()),
    request_body(content = RevokeReportedJson, example = json!({"token": "kgt_YpW561K2C7LvqWNHJNSIJvZ7ehP0ixH8C"})),
    responses(
        (status = 200, description = "Whatever was sent", body = RevokedReportJson),
        (status = 400, response = BadRequest),
        (status = 429, response = TooManyRequests),
    ))]
pub async fn revoke(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<RevokeReportedJson>,
) -> Result<axum::Json<RevokedReportJson>, ApiError> {
    state.keygate.revoke_presented(&body.token, ip).await?;
    Ok(axum::Json(RevokedReportJson {
        revoked: "if it was an active token of this Keygate, it no longer works",
    }))
}

/// GitHub secret scanning: tokens GitHub found in public places.
///
/// The body is GitHub's list of `{token, type, url, source}`, signed with one of the keys in
/// `github_secret_scanning_keys` (headers `Github-Public-Key-Identifier` and
/// `Github-Public-Key-Signature`); a bad signature is a 401 and changes nothing. Each token of
/// this Keygate is handled by its workspace's leak policy; the answer labels each report.
#[utoipa::path(context_path = API_V1, post, path = "/leaks/github",
    operation_id = "github_secret_scanning", tag = "leaks", security(()),
    request_body(content = Vec<GitHubReportJson>),
    params(
        ("Github-Public-Key-Identifier" = String, Header, description = "Which of GitHub's keys signed the body"),
        ("Github-Public-Key-Signature" = String, Header, description = "Base64 DER ECDSA P-256 signature of the raw body"),
    ),
    responses(
        (status = 200, description = "Each report, labelled", body = Vec<GitHubVerdictJson>),
        (status = 400, response = BadRequest),
        (status = 401, description = "The signature does not check out", body = crate::http::openapi::ErrorBody),
        (status = 404, response = NotFound),
        (status = 503, description = "The database cannot be reached, or the key the report names cannot be fetched from `github_secret_scanning_keys_url` now (`keys_unavailable`); GitHub sends the report again", body = crate::http::openapi::ErrorBody),
    ))]
pub async fn github(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<axum::Json<Vec<GitHubVerdictJson>>, ApiError> {
    let keys = &state.leak_reports.github_keys;
    if !keys.is_configured() {
        return Err(ApiError::NotConfigured(
            "GitHub secret scanning is not configured (github_secret_scanning_keys)",
        ));
    }
    let (Some(id), Some(signature)) = (
        header(&headers, GITHUB_KEY_ID),
        header(&headers, GITHUB_SIGNATURE),
    ) else {
        return Err(ApiError::BadReportSignature(
            "Github-Public-Key-Identifier and Github-Public-Key-Signature are required",
        ));
    };
    let key = match keys.key(id).await {
        Ok(key) => key,
        Err(KeyError::Unknown) => {
            return Err(ApiError::BadReportSignature(
                "unknown GitHub key identifier",
            ));
        }
        Err(KeyError::Unavailable) => return Err(ApiError::KeysUnavailable),
    };
    match verify_github_signature(&key, signature, &body) {
        Ok(()) => {}
        Err(SignatureError::UnknownKey | SignatureError::Mismatch | SignatureError::BadKey) => {
            return Err(ApiError::BadReportSignature(
                "the signature does not match the body",
            ));
        }
    }
    let reports = parse_reports(&body, "GitHub", GitHubReportJson::into_report)?;
    handle(&state, reports, Reporter::GitHub, ip).await
}

/// The reports in a body of `provider`'s format, each with the token type it names.
fn parse_reports<R: serde::de::DeserializeOwned>(
    body: &[u8],
    provider: &str,
    report: fn(R) -> (LeakReport, Option<String>),
) -> Result<Vec<(LeakReport, Option<String>)>, ApiError> {
    let found: Vec<R> = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(
            "invalid_body",
            format!("not {provider}'s report format: {e}"),
        )
    })?;
    Ok(found.into_iter().map(report).collect())
}

/// Handles the reports, each with the token type its reporter named, and labels each.
async fn handle(
    state: &AppState,
    reports: Vec<(LeakReport, Option<String>)>,
    reporter: Reporter,
    ip: Option<std::net::IpAddr>,
) -> Result<axum::Json<Vec<GitHubVerdictJson>>, ApiError> {
    let (reports, kinds): (Vec<LeakReport>, Vec<Option<String>>) = reports.into_iter().unzip();
    let verdicts = state.keygate.report_leaks(&reports, reporter, ip).await?;
    Ok(axum::Json(
        reports
            .iter()
            .zip(kinds)
            .zip(verdicts)
            .map(|((r, kind), verdict)| GitHubVerdictJson {
                token_hash: token_hash(&r.token),
                token_type: kind,
                label: label(verdict),
            })
            .collect(),
    ))
}

/// Checks GitLab's shared secret (`Authorization: Bearer ...`).
fn gitlab_authorized(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(secret) = &state.leak_reports.gitlab_secret else {
        return Err(ApiError::NotConfigured(
            "GitLab token revocation is not configured (gitlab_token_revocation_secret)",
        ));
    };
    let given = header(headers, "authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if bool::from(given.as_bytes().ct_eq(secret.expose_secret().as_bytes())) && !given.is_empty() {
        Ok(())
    } else {
        Err(ApiError::BadReportSignature(
            "the GitLab token revocation secret does not match",
        ))
    }
}

/// GitLab: the token types this Keygate revokes.
#[utoipa::path(context_path = API_V1, get, path = "/leaks/gitlab/v1/revocable_token_types",
    operation_id = "gitlab_revocable_token_types", tag = "leaks", security(()),
    responses(
        (status = 200, description = "The token types", body = TokenTypesJson),
        (status = 401, description = "The shared secret does not match", body = crate::http::openapi::ErrorBody),
        (status = 404, response = NotFound),
    ))]
pub async fn gitlab_types(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<axum::Json<TokenTypesJson>, ApiError> {
    gitlab_authorized(&state, &headers)?;
    let prefix = state.keygate.format().prefix();
    Ok(axum::Json(TokenTypesJson {
        types: vec![TokenTypeJson {
            kind: TOKEN_TYPE,
            name: "Keygate token",
            description: "A personal, named or API user token of this Keygate",
            pattern: format!(r"\b{prefix}[pta]_[0-9A-Za-z]{{33}}\b"),
        }],
    }))
}

/// GitLab: revokes the tokens GitLab found.
///
/// The body is `[{type, token, location}]`; each token of this Keygate is handled by its
/// workspace's leak policy.
#[utoipa::path(context_path = API_V1, post, path = "/leaks/gitlab/v1/revoke_tokens",
    operation_id = "gitlab_revoke_tokens", tag = "leaks", security(()),
    request_body(content = Vec<GitLabReportJson>),
    responses(
        (status = 200, description = "Each report, labelled", body = Vec<GitHubVerdictJson>),
        (status = 400, response = BadRequest),
        (status = 401, description = "The shared secret does not match", body = crate::http::openapi::ErrorBody),
        (status = 404, response = NotFound),
    ))]
pub async fn gitlab_revoke(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<axum::Json<Vec<GitHubVerdictJson>>, ApiError> {
    gitlab_authorized(&state, &headers)?;
    let reports = parse_reports(&body, "GitLab", GitLabReportJson::into_report)?;
    handle(&state, reports, Reporter::GitLab, ip).await
}

/// What a workspace does with a token of its that was reported leaked.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeakPolicyJson {
    /// `revoke` (the default): revoke it at once and tell; `notify`: mark it leaked and tell.
    #[schema(value_type = String, example = "revoke")]
    pub policy: keygate_domain::leak::LeakPolicy,
}

/// The workspace's leak policy.
#[utoipa::path(context_path = API_V1, get, path = "/workspaces/{ws}/leak-policy",
    operation_id = "get_leak_policy", tag = "leaks",
    responses((status = 200, description = "The policy", body = LeakPolicyJson)))]
pub async fn get_policy(
    State(state): State<AppState>,
    crate::http::extract::InWorkspace(actor, ws): crate::http::extract::InWorkspace,
) -> Result<axum::Json<LeakPolicyJson>, ApiError> {
    let policy = state.keygate.leak_policy(&actor, &ws).await?;
    Ok(axum::Json(LeakPolicyJson { policy }))
}

/// Sets what the workspace does with a token of its that was reported leaked
/// (`workspace:manage`).
#[utoipa::path(context_path = API_V1, put, path = "/workspaces/{ws}/leak-policy",
    operation_id = "set_leak_policy", tag = "leaks",
    request_body(content = LeakPolicyJson, example = json!({"policy": "notify"})),
    responses((status = 200, description = "Set", body = LeakPolicyJson),
        (status = 400, response = BadRequest)))]
pub async fn set_policy(
    State(state): State<AppState>,
    crate::http::extract::InWorkspace(actor, ws): crate::http::extract::InWorkspace,
    Json(body): Json<LeakPolicyJson>,
) -> Result<axum::Json<LeakPolicyJson>, ApiError> {
    let policy = state
        .keygate
        .set_leak_policy(&actor, &ws, body.policy)
        .await?;
    Ok(axum::Json(LeakPolicyJson { policy }))
}
