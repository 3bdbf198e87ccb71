//! Wire types of leak reports: GitHub's secret-scanning format, GitLab's token revocation API,
//! and a holder's own revocation.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::service::LeakReport;

/// One token GitHub found.
#[derive(Debug, Deserialize, ToSchema)]
pub struct GitHubReportJson {
    pub token: String,
    /// The token type registered with GitHub.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// Where it was found.
    #[serde(default)]
    pub url: Option<String>,
    /// What kind of place: `content`, `commit`, `pull_request_description`, ...
    #[serde(default)]
    pub source: Option<String>,
}

impl GitHubReportJson {
    /// The report, with the token type it names.
    pub fn into_report(self) -> (LeakReport, Option<String>) {
        let report = LeakReport {
            token: self.token,
            url: self.url,
            source: self.source,
        };
        (report, self.kind)
    }
}

/// GitHub's answer for one reported token.
#[derive(Debug, Serialize, ToSchema)]
pub struct GitHubVerdictJson {
    /// The lower-case hex SHA-256 of the reported string.
    pub token_hash: String,
    pub token_type: Option<String>,
    /// `true_positive` (a token of this Keygate) or `false_positive`.
    pub label: &'static str,
}

/// One token GitLab found.
#[derive(Debug, Deserialize, ToSchema)]
pub struct GitLabReportJson {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    pub token: String,
    /// Where it was found.
    #[serde(default)]
    pub location: Option<String>,
}

impl GitLabReportJson {
    /// The report, with the token type it names.
    pub fn into_report(self) -> (LeakReport, Option<String>) {
        let report = LeakReport {
            token: self.token,
            url: self.location,
            source: Some("gitlab".into()),
        };
        (report, self.kind)
    }
}

/// A token type GitLab may report.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenTypeJson {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    /// A regular expression that matches tokens of this type.
    pub pattern: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenTypesJson {
    pub types: Vec<TokenTypeJson>,
}

/// A token to revoke, by whoever holds it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeReportedJson {
    pub token: String,
}

/// The same answer whatever was sent.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevokedReportJson {
    pub revoked: &'static str,
}
