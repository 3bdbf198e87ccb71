//! Instance administration for instance admins (anyone else gets the service's 403): the users
//! of this Keygate, searched and filtered; creating a person's account, whose personal token and
//! password link are shown once; a user's page with their tokens, disable and enable, a new
//! password link, and deleting them, with the workspaces they are the last owner of deleted or
//! handed over in the same step.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use keygate_domain::{User, UserKind};
use serde::Deserialize;
use uuid::Uuid;

use super::account::ShownOncePage;
use super::layout::Layout;
use super::session::Signed;
use super::views::{ShownOnce, TokenView, email, when};
use super::{Form, WebResult, done, filled, refused};
use crate::http::AppState;
use crate::service::{MAX_USER_PAGE, NewUserRequest, Orphans, UserQuery};

pub struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub kind: &'static str,
    pub instance_admin: bool,
    pub disabled: bool,
    pub created: String,
}

impl UserRow {
    fn new(u: &User) -> Self {
        UserRow {
            id: u.id,
            email: email(u),
            name: u.display_name.clone(),
            kind: match u.kind {
                UserKind::Human => "person",
                UserKind::Api => "API user",
            },
            instance_admin: u.is_instance_admin,
            disabled: u.is_disabled(),
            created: when(u.created_at),
        }
    }
}

#[derive(Deserialize, Default)]
pub struct UserSearch {
    #[serde(default)]
    q: String,
    /// `human`, `api`, or empty for both.
    #[serde(default)]
    kind: String,
    #[serde(default)]
    after: Option<Uuid>,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin_users.html")]
pub struct UsersPage {
    layout: Layout,
    users: Vec<UserRow>,
    search: UserSearch,
    next: Option<String>,
    error: Option<String>,
}

async fn users_page(
    state: &AppState,
    signed: &Signed,
    search: UserSearch,
    error: Option<String>,
) -> WebResult<UsersPage> {
    let query = UserQuery {
        kind: UserKind::parse(&search.kind),
        search: filled(&search.q),
        disabled: None,
        cursor: search.after,
        limit: Some(50),
    };
    let page = state.keygate.admin_list_users(signed, &query).await?;
    let next = page.next_cursor.map(|c| {
        format!(
            "/admin/users?q={}&kind={}&after={c}",
            super::encode(&search.q),
            super::encode(&search.kind)
        )
    });
    Ok(UsersPage {
        layout: Layout::signed(state, signed, "Users", "admin-users", None).await?,
        users: page.users.iter().map(UserRow::new).collect(),
        search,
        next,
        error,
    })
}

pub async fn users(
    State(state): State<AppState>,
    signed: Signed,
    Query(search): Query<UserSearch>,
) -> WebResult<UsersPage> {
    users_page(&state, &signed, search, None).await
}

#[derive(Deserialize)]
pub struct NewUserForm {
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    workspace: String,
    /// "on" when ticked.
    #[serde(default)]
    instance_admin: Option<String>,
}

/// Creates a person's account with a password link: their token and the link, shown once.
pub async fn create(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    Form(form): Form<NewUserForm>,
) -> WebResult<Response> {
    let request = NewUserRequest {
        email: form.email.trim().to_owned(),
        display_name: filled(&form.name),
        password: None,
        workspace: filled(&form.workspace),
        instance_admin: form.instance_admin.is_some(),
        password_link: true,
    };
    match state.keygate.admin_create_user(&signed, request).await {
        Ok(created) => {
            let link = created
                .password_link
                .as_ref()
                .map(|l| crate::http::password_link_url(&state.public_url(&headers), &l.code))
                .unwrap_or_default();
            let page = ShownOncePage {
                layout: Layout::signed(&state, &signed, "User created", "admin-users", None)
                    .await?,
                shown: ShownOnce {
                    heading: format!("Account for {} created", email(&created.user)),
                    secret: created.clear.into_exposed(),
                    detail: format!(
                        "This is their personal token. Send them this one-time link, valid 7 \
                         days, to choose their password for the web UI: {link}"
                    ),
                    back: format!("/admin/users/{}", created.user.id),
                },
            };
            Ok(page.into_response())
        }
        Err(e) => {
            refused(e, |error| {
                users_page(&state, &signed, UserSearch::default(), Some(error))
            })
            .await
        }
    }
}

/// Someone to hand workspaces over to.
pub struct Heir {
    pub id: Uuid,
    pub label: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin_user.html")]
pub struct UserPage {
    layout: Layout,
    user: UserRow,
    tokens: Vec<TokenView>,
    heirs: Vec<Heir>,
    error: Option<String>,
}

async fn user_page(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    error: Option<String>,
) -> WebResult<UserPage> {
    let keygate = &state.keygate;
    let user = keygate.admin_user(signed, id).await?;
    let now = keygate.clock().now();
    let tokens = keygate
        .list_tokens(&user)
        .await?
        .iter()
        .map(|t| TokenView::new(t, now, &|ws| ws.to_string()))
        .collect();
    let people = UserQuery {
        kind: Some(UserKind::Human),
        disabled: Some(false),
        limit: Some(MAX_USER_PAGE),
        ..UserQuery::default()
    };
    let heirs = keygate
        .admin_list_users(signed, &people)
        .await?
        .users
        .iter()
        .filter(|u| u.id != id)
        .map(|u| Heir {
            id: u.id,
            label: email(u),
        })
        .collect();
    Ok(UserPage {
        layout: Layout::signed(state, signed, &user.display_name, "admin-users", None).await?,
        user: UserRow::new(&user),
        tokens,
        heirs,
        error,
    })
}

pub async fn user(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
) -> WebResult<UserPage> {
    user_page(&state, &signed, id, None).await
}

pub async fn disable(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
) -> WebResult<Response> {
    set_disabled(&state, &signed, id, true).await
}

pub async fn enable(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
) -> WebResult<Response> {
    set_disabled(&state, &signed, id, false).await
}

async fn set_disabled(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    disabled: bool,
) -> WebResult<Response> {
    let what = if disabled {
        "user-disabled"
    } else {
        "user-enabled"
    };
    match state.keygate.admin_set_disabled(signed, id, disabled).await {
        Ok(_) => Ok(done(&format!("/admin/users/{id}"), what).into_response()),
        Err(e) => refused(e, |error| user_page(state, signed, id, Some(error))).await,
    }
}

/// A new one-time password link, shown once.
pub async fn password_link(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
) -> WebResult<Response> {
    match state.keygate.admin_password_link(&signed, id).await {
        Ok(link) => Ok(ShownOncePage {
            layout: Layout::signed(&state, &signed, "Password link", "admin-users", None).await?,
            shown: ShownOnce {
                heading: "New password link".into(),
                secret: crate::http::password_link_url(&state.public_url(&headers), &link.code),
                detail: "Send it to the person: it lets them choose their password once, within 7 \
                         days. Earlier links stopped working."
                    .into(),
                back: format!("/admin/users/{id}"),
            },
        }
        .into_response()),
        Err(e) => refused(e, |error| user_page(&state, &signed, id, Some(error))).await,
    }
}

#[derive(Deserialize)]
pub struct DeleteForm {
    /// `refuse`, `delete` or `hand_over`.
    #[serde(default)]
    orphans: String,
    #[serde(default)]
    heir: Option<Uuid>,
}

pub async fn delete(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(form): Form<DeleteForm>,
) -> WebResult<Response> {
    let orphans = match (form.orphans.as_str(), form.heir) {
        ("delete", _) => Orphans::Delete,
        ("hand_over", Some(heir)) => Orphans::HandOverTo(heir),
        _ => Orphans::Refuse,
    };
    match state.keygate.admin_delete_user(&signed, id, orphans).await {
        Ok(()) => Ok(done("/admin/users", "user-deleted").into_response()),
        Err(e) => refused(e, |error| user_page(&state, &signed, id, Some(error))).await,
    }
}
