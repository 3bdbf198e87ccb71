//! What pages show of domain values: dates in words a person reads, token states, scopes.

use chrono::{DateTime, Utc};
use keygate_domain::{AllowedIps, RateLimits, Token, TokenKind, TokenStatus, User};
use uuid::Uuid;

/// A person's email; empty for an API user, which has none.
pub fn email(user: &User) -> String {
    user.email
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default()
}

/// Items of a list in one line: `device:a, device:b`.
pub fn comma_list<T: std::fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    items
        .into_iter()
        .map(|item| item.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `2026-11-25 14:03 UTC`.
pub fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The day after `now`, `2026-11-26`: the earliest a date picker offers for an expiry.
pub fn tomorrow(now: DateTime<Utc>) -> String {
    (now + chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string()
}

pub fn when_or(t: Option<DateTime<Utc>>, none: &str) -> String {
    t.map_or_else(|| none.to_owned(), when)
}

/// A token as a row of a table.
pub struct TokenView {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub hint: String,
    pub personal: bool,
    pub scope: String,
    pub created: String,
    pub expires: String,
    pub last_used: String,
    /// `active`, `expired` or `revoked`.
    pub status: &'static str,
    /// "expires in 3 days" for an active token that expires within a week.
    pub expires_soon: Option<String>,
    /// "leaked: https://… (reported by github, 2026-12-04 10:00)" once it was reported leaked.
    pub leak: Option<String>,
    /// Where and how often it may be used.
    pub limits: LimitsView,
}

/// Where and how often a token (or an API user's tokens) may be used: as the forms edit it and
/// as pages say it on one line.
pub struct LimitsView {
    /// The networks, one per line; empty for anywhere.
    pub allowed_ips: String,
    /// The rate limits, `name limit/seconds` one per line; empty for none.
    pub rate_limits: String,
    /// "10.0.0.0/8, 2001:db8::/32", or "anywhere".
    pub allowed_from: String,
    /// "default 100/60s, burst 10/1s", or "no limit".
    pub limited_to: String,
}

impl LimitsView {
    pub fn new(allowed: Option<&AllowedIps>, limits: Option<&RateLimits>) -> Self {
        Self {
            allowed_ips: allowed.map(AllowedIps::to_lines).unwrap_or_default(),
            rate_limits: limits.map(RateLimits::to_lines).unwrap_or_default(),
            allowed_from: allowed.map_or_else(|| "anywhere".to_owned(), ToString::to_string),
            limited_to: limits.map_or_else(|| "no limit".to_owned(), ToString::to_string),
        }
    }
}

impl TokenView {
    /// `workspace_slug` names the workspaces a scope lists by id.
    pub fn new(t: &Token, now: DateTime<Utc>, workspace_slug: &dyn Fn(Uuid) -> String) -> Self {
        TokenView {
            id: t.id,
            name: t.name.clone().unwrap_or_else(|| match t.kind {
                TokenKind::Personal => "Personal token".to_owned(),
                _ => "(unnamed)".to_owned(),
            }),
            description: t.description.clone().unwrap_or_default(),
            hint: t.hint.clone(),
            personal: t.kind == TokenKind::Personal,
            scope: scope_summary(t, workspace_slug),
            created: when(t.created_at),
            expires: when_or(t.expires_at, "never"),
            last_used: match (&t.last_used_at, &t.last_used_ip) {
                (Some(at), Some(ip)) => format!("{} from {ip}", when(*at)),
                (Some(at), None) => when(*at),
                _ => "never".to_owned(),
            },
            status: t.status(now).as_str(),
            expires_soon: expires_soon(t, now),
            leak: t.leak.as_ref().map(|l| {
                let place = l
                    .url
                    .as_deref()
                    .map(|u| format!(" at {u}"))
                    .unwrap_or_default();
                format!("found{place}, reported by {} {}", l.reporter, when(l.at))
            }),
            limits: LimitsView::new(t.allowed_ips.as_ref(), t.rate_limits.as_ref()),
        }
    }

    pub fn is_active(&self) -> bool {
        self.status == TokenStatus::Active.as_str()
    }
}

/// "expires in 3 days" (or "today", "tomorrow") for an active token that expires within a week.
fn expires_soon(t: &Token, now: DateTime<Utc>) -> Option<String> {
    let at = t.expires_at?;
    if t.status(now) != TokenStatus::Active || at - now > chrono::Duration::days(7) {
        return None;
    }
    Some(match (at - now).num_days() {
        0 => "expires today".to_owned(),
        1 => "expires tomorrow".to_owned(),
        n => format!("expires in {n} days"),
    })
}

fn scope_summary(t: &Token, workspace_slug: &dyn Fn(Uuid) -> String) -> String {
    let Some(scope) = &t.scope else {
        return "all your access".to_owned();
    };
    let mut parts = Vec::new();
    if let Some(ws) = &scope.workspaces {
        let names: Vec<String> = ws.iter().map(|id| workspace_slug(*id)).collect();
        parts.push(format!("workspaces {}", names.join(", ")));
    }
    if let Some(p) = &scope.permissions {
        let list: Vec<String> = p.iter().map(ToString::to_string).collect();
        parts.push(list.join(", "));
    }
    if let Some(r) = &scope.resources {
        let list: Vec<String> = r.iter().map(ToString::to_string).collect();
        parts.push(format!("on {}", list.join(", ")));
    }
    if parts.is_empty() {
        "all your access".to_owned()
    } else {
        parts.join("; ")
    }
}

/// A secret shown once, with where it came from and what to do with it.
pub struct ShownOnce {
    pub heading: String,
    pub secret: String,
    pub detail: String,
    /// Where "Done" leads.
    pub back: String,
}
