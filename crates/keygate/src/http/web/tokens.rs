//! The signed-in person's tokens: list, create (name, description, expiry, scope) with the
//! shown-once page, rotate and revoke.

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use keygate_domain::{ClearToken, RetiringSecret, Token};
use serde::Deserialize;
use uuid::Uuid;

use super::account::ShownOncePage;
use super::layout::Layout;
use super::session::Signed;
use super::views::{ShownOnce, TokenView, tomorrow, when};
use super::{
    Form, LimitsForm, WebResult, again, allow_list, done, filled, lines, rate_limits, refused,
};
use crate::http::AppState;
use crate::service::{Expiry, NewTokenRequest, ScopeRequest, ServiceError, TokenFilter};

#[derive(Template, WebTemplate)]
#[template(path = "tokens.html")]
pub struct TokensPage {
    layout: Layout,
    tokens: Vec<TokenView>,
    /// Names of the tokens in use (in the last week) that expire within a week: those will break
    /// something.
    expiring_in_use: Vec<String>,
}

pub async fn list(State(state): State<AppState>, signed: Signed) -> WebResult<TokensPage> {
    let layout = Layout::signed(&state, &signed, "Your tokens", "tokens", None).await?;
    let slugs: HashMap<Uuid, String> = state
        .keygate
        .list_workspaces(&signed)
        .await?
        .into_iter()
        .map(|m| (m.workspace.id, m.workspace.slug.to_string()))
        .collect();
    let now = state.keygate.clock().now();
    let all = state.keygate.list_tokens(&signed.user).await?;
    let expiring_in_use = expiring_in_use(&all, now);
    let mut tokens: Vec<TokenView> = all
        .iter()
        .map(|t| {
            TokenView::new(t, now, &|id| {
                slugs.get(&id).cloned().unwrap_or_else(|| id.to_string())
            })
        })
        .collect();
    // Active first, newest first within each state.
    tokens.sort_by_key(|t| !t.is_active());
    Ok(TokensPage {
        layout,
        tokens,
        expiring_in_use,
    })
}

/// Names of `tokens` used in the last week that expire within a week: those will break something,
/// so the pages a sign-in lands on (the workspaces, the token list) say so in a banner.
pub fn expiring_in_use(tokens: &[Token], now: DateTime<Utc>) -> Vec<String> {
    let week = chrono::Duration::days(7);
    let soon = TokenFilter {
        status: None,
        expiring_within_days: Some(7),
    };
    tokens
        .iter()
        .filter(|t| soon.admits(t, now) && t.last_used_at.is_some_and(|at| now - at <= week))
        .map(|t| t.name.clone().unwrap_or_else(|| t.hint.clone()))
        .collect()
}

/// What the create form sends; kept to fill the form again when it is refused.
#[derive(Deserialize, Default)]
pub struct TokenForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Days as a number, `never`, or `custom` (then `expires_on`).
    #[serde(default)]
    pub expiry: String,
    #[serde(default)]
    pub expires_on: String,
    #[serde(default)]
    pub workspaces: Vec<String>,
    #[serde(default)]
    pub permissions: String,
    #[serde(default)]
    pub resources: String,
    /// Networks or addresses, one per line; empty for anywhere.
    #[serde(default)]
    pub allowed_ips: String,
    /// `name limit/seconds`, one per line; empty for no limit.
    #[serde(default)]
    pub rate_limits: String,
}

impl TokenForm {
    pub fn expiry(&self) -> Result<Expiry, keygate_domain::ValidationError> {
        match self.expiry.as_str() {
            "never" => Ok(Expiry::Never),
            "custom" => {
                let date = NaiveDate::parse_from_str(self.expires_on.trim(), "%Y-%m-%d").map_err(
                    |_| keygate_domain::ValidationError::new("expires_on", "choose a date"),
                )?;
                let end = date
                    .and_hms_opt(23, 59, 59)
                    .map(|t| Utc.from_utc_datetime(&t))
                    .ok_or_else(|| {
                        keygate_domain::ValidationError::new("expires_on", "choose a date")
                    })?;
                Ok(Expiry::At(end))
            }
            days => days.parse().map(Expiry::InDays).map_err(|_| {
                keygate_domain::ValidationError::new("expiry", "choose an expiration")
            }),
        }
    }

    /// The token the form asks for, with `scope` (an API user's token has none of its own).
    pub fn request(
        &self,
        scope: Option<ScopeRequest>,
    ) -> Result<NewTokenRequest, keygate_domain::ValidationError> {
        Ok(NewTokenRequest {
            name: filled(&self.name),
            description: filled(&self.description),
            expiry: self.expiry()?,
            scope,
            allowed_ips: allow_list(&self.allowed_ips),
            rate_limits: rate_limits(&self.rate_limits)?,
        })
    }

    fn scope(&self) -> Option<ScopeRequest> {
        let permissions = lines(&self.permissions);
        let resources = lines(&self.resources);
        let scope = ScopeRequest {
            workspaces: (!self.workspaces.is_empty()).then(|| self.workspaces.clone()),
            permissions: (!permissions.is_empty()).then_some(permissions),
            resources: (!resources.is_empty()).then_some(resources),
        };
        (scope.workspaces.is_some() || scope.permissions.is_some() || scope.resources.is_some())
            .then_some(scope)
    }

    pub fn is_expiry(&self, value: &str) -> bool {
        self.expiry == value || (self.expiry.is_empty() && value == "30")
    }

    pub fn has_workspace(&self, slug: &str) -> bool {
        self.workspaces.iter().any(|w| w == slug)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "token_new.html")]
pub struct NewTokenPage {
    layout: Layout,
    form: TokenForm,
    error: Option<String>,
    /// The earliest custom date, for the date picker.
    tomorrow: String,
}

async fn new_page(
    state: &AppState,
    signed: &Signed,
    form: TokenForm,
    error: Option<String>,
) -> WebResult<NewTokenPage> {
    let tomorrow = tomorrow(state.keygate.clock().now());
    Ok(NewTokenPage {
        layout: Layout::signed(state, signed, "New token", "tokens", None).await?,
        form,
        error,
        tomorrow,
    })
}

pub async fn new(State(state): State<AppState>, signed: Signed) -> WebResult<NewTokenPage> {
    new_page(&state, &signed, TokenForm::default(), None).await
}

pub async fn create(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<TokenForm>,
) -> WebResult<Response> {
    let result = match form.request(form.scope()) {
        Ok(request) => state.keygate.create_token(&signed, request).await,
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(issued) => {
            let detail = "Send it as Authorization: Token <token>.";
            let page = shown_token(&state, &signed, issued, "created", detail).await?;
            Ok((StatusCode::CREATED, page).into_response())
        }
        Err(ServiceError::Invalid(e)) => Ok(again(
            new_page(&state, &signed, form, Some(e.to_string())).await?,
        )),
        Err(e) => Err(e.into()),
    }
}

/// One of the person's tokens: what it is, the secret its latest rotation replaced (how long it
/// works, how much it is still used), and the rotate form with its grace period.
#[derive(Template, WebTemplate)]
#[template(path = "token.html")]
pub struct TokenPage {
    layout: Layout,
    token: TokenView,
    retiring: Option<RetiringView>,
    error: Option<String>,
}

/// What the token page says of a replaced secret.
pub struct RetiringView {
    hint: String,
    working: bool,
    /// "Works until …", "Works until 1 hour after the new secret's first use …", "Retired …".
    state: String,
    /// "Used 2 times in the last hour and 3 times since the rotation, last … from 10.0.0.7."
    uses: String,
}

impl RetiringView {
    fn new(r: &RetiringSecret, now: DateTime<Utc>) -> Self {
        let until = r.works_until();
        let working = now < until;
        let state = match (working, r.retires_at, r.ended_at) {
            (false, _, Some(ended)) if ended <= until => format!("Ended {}.", when(ended)),
            (false, _, _) => format!("Retired {}.", when(until)),
            (true, Some(_), _) => format!("Works until {}.", when(until)),
            (true, None, _) => format!(
                "Works until {} after the new secret's first use, and {} at the latest.",
                grace_text(r.grace_seconds),
                when(r.deadline)
            ),
        };
        let times = |n: u64| format!("{n} time{}", if n == 1 { "" } else { "s" });
        let uses = match (r.uses, r.last_used_at) {
            (0, _) | (_, None) => "Not used since the rotation.".to_owned(),
            (n, Some(at)) => format!(
                "Used {} in the last hour and {} since the rotation, last {}{}.",
                times(r.uses_last_hour),
                times(n),
                when(at),
                r.last_used_ip
                    .as_deref()
                    .map(|ip| format!(" from {ip}"))
                    .unwrap_or_default()
            ),
        };
        Self {
            hint: r.hint.clone(),
            working,
            state,
            uses,
        }
    }
}

fn grace_text(seconds: u32) -> String {
    match seconds {
        86_400 => "1 day".to_owned(),
        3_600 => "1 hour".to_owned(),
        60 => "1 minute".to_owned(),
        s => format!("{s} seconds"),
    }
}

pub async fn page(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
) -> WebResult<TokenPage> {
    token_page(&state, &signed, id, None).await
}

async fn token_page(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    error: Option<String>,
) -> WebResult<TokenPage> {
    let token = state.keygate.token(&signed.user, id).await?;
    let view = state.keygate.token_view(token).await?;
    let title = view
        .token
        .name
        .clone()
        .unwrap_or_else(|| "Token".to_owned());
    let layout = Layout::signed(state, signed, &title, "tokens", None).await?;
    let now = state.keygate.clock().now();
    Ok(TokenPage {
        layout,
        token: TokenView::new(&view.token, now, &|id| id.to_string()),
        retiring: view.retiring.as_ref().map(|r| RetiringView::new(r, now)),
        error,
    })
}

pub async fn limits(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(form): Form<LimitsForm>,
) -> WebResult<Response> {
    let result = match form.patch() {
        Ok(patch) => state.keygate.update_token(&signed, id, patch).await,
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(_) => Ok(done(&format!("/tokens/{id}"), "limits-saved").into_response()),
        Err(e) => refused(e, |error| token_page(&state, &signed, id, Some(error))).await,
    }
}

/// What the rotate form sends: how long the current secret keeps working (none: not at all).
#[derive(Deserialize, Default)]
pub struct RotateForm {
    #[serde(default)]
    grace_seconds: Option<u32>,
}

pub async fn rotate(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(form): Form<RotateForm>,
) -> WebResult<ShownOncePage> {
    let grace = form.grace_seconds.unwrap_or(0);
    let issued = state.keygate.rotate_token(&signed, id, grace).await?;
    let detail = if grace == 0 {
        "The token keeps its name, expiry and scope; the old secret stopped working at once."
            .to_owned()
    } else {
        format!(
            "The token keeps its name, expiry and scope; the old secret keeps working until {} after this one is first used. The token's page shows who still uses it.",
            grace_text(grace)
        )
    };
    shown_token(&state, &signed, issued, "rotated", &detail).await
}

pub async fn end_overlap(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
) -> WebResult<Response> {
    state.keygate.end_token_overlap(&signed, id).await?;
    Ok(done(&format!("/tokens/{id}"), "overlap-ended").into_response())
}

/// The page that shows a token's new secret, once: `what` says what became of the token
/// ("created", "rotated").
async fn shown_token(
    state: &AppState,
    signed: &Signed,
    (token, clear): (Token, ClearToken),
    what: &str,
    detail: &str,
) -> WebResult<ShownOncePage> {
    let title = format!("Token {what}");
    Ok(ShownOncePage {
        layout: Layout::signed(state, signed, &title, "tokens", None).await?,
        shown: ShownOnce {
            heading: format!(
                "Token “{}” {what}",
                token.name.as_deref().unwrap_or("(unnamed)")
            ),
            secret: clear.into_exposed(),
            detail: detail.into(),
            back: "/tokens".into(),
        },
    })
}

pub async fn revoke(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
) -> WebResult<Response> {
    state.keygate.revoke_token(&signed, id).await?;
    Ok(done("/tokens", "token-revoked").into_response())
}
