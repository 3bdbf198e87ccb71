//! The signed-in person's tokens: list, create (name, description, expiry, scope) with the
//! shown-once page, rotate and revoke.

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, TimeZone, Utc};
use keygate_domain::{ClearToken, Token};
use serde::Deserialize;
use uuid::Uuid;

use super::account::ShownOncePage;
use super::layout::Layout;
use super::session::Signed;
use super::views::{ShownOnce, TokenView, tomorrow};
use super::{Form, WebResult, again, done, filled, lines};
use crate::http::AppState;
use crate::service::{Expiry, NewTokenRequest, ScopeRequest, ServiceError};

#[derive(Template, WebTemplate)]
#[template(path = "tokens.html")]
pub struct TokensPage {
    layout: Layout,
    tokens: Vec<TokenView>,
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
    let mut tokens: Vec<TokenView> = state
        .keygate
        .list_tokens(&signed.user)
        .await?
        .iter()
        .map(|t| {
            TokenView::new(t, now, &|id| {
                slugs.get(&id).cloned().unwrap_or_else(|| id.to_string())
            })
        })
        .collect();
    // Active first, newest first within each state.
    tokens.sort_by_key(|t| !t.is_active());
    Ok(TokensPage { layout, tokens })
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
    let request = form.expiry().map(|expiry| NewTokenRequest {
        name: filled(&form.name),
        description: filled(&form.description),
        expiry,
        scope: form.scope(),
    });
    let result = match request {
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

pub async fn rotate(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
) -> WebResult<ShownOncePage> {
    let issued = state.keygate.rotate_token(&signed, id, 0).await?;
    let detail =
        "The token keeps its name, expiry and scope; the old secret stopped working at once.";
    shown_token(&state, &signed, issued, "rotated", detail).await
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
