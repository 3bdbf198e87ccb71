//! The admin web UI: stories run in headless Chromium (SQLite only, one browser per test, a
//! screenshot each in `ci-artifacts/ui-*.png`), and its defences checked over plain HTTP on both
//! backends: CSRF and origin checks, sign-in throttling, cookie flags, the Content-Security-Policy,
//! redirects to the sign-in page, and sessions ended by a password change.

use chrono::{DateTime, Duration, Utc};
use reqwest::header::{CONTENT_SECURITY_POLICY, ORIGIN};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::browser::Browser;
use crate::helpers::{
    Backend, OWNER_PASSWORD, SESSION_COOKIE, TestApp, WebClient, assert_decision, backend_tests,
    fetch, form, send, signed_in, spawn_web_app, spawn_web_app_with,
};
use crate::webhooks::Listener;

/// `GET /api/v1/auth/me` with `token`: the status and the body.
async fn me(app: &TestApp, token: &str) -> (StatusCode, Value) {
    send(app.with_token(token, Method::GET, "/api/v1/auth/me")).await
}

/// The owner's tokens, through the API.
async fn owner_tokens(app: &TestApp) -> Vec<Value> {
    let (status, list) = send(app.as_owner(Method::GET, "/api/v1/tokens")).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["tokens"].as_array().expect("a list of tokens").clone()
}

/// How pages show a token: its prefix and four characters, an ellipsis, its last four.
fn hint(token: &str) -> String {
    format!("{}…{}", &token[..8], &token[token.len() - 4..])
}

/// A browser and an app whose owner can sign in; `None` where Chromium is missing.
async fn start() -> Option<(Browser, TestApp)> {
    let browser = Browser::start().await?;
    let app = spawn_web_app(Backend::Sqlite).await.expect("SQLite");
    Some((browser, app))
}

/// As `start`, with the browser signed in as the owner.
async fn start_signed_in() -> Option<(Browser, TestApp)> {
    let (browser, app) = start().await?;
    browser
        .sign_in(&app, &app.owner.email, OWNER_PASSWORD)
        .await;
    Some((browser, app))
}

// ---------------------------------------------------------------------------------------------
// Stories in the browser.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_then_create_a_token_that_works_against_the_api() {
    let Some((browser, app)) = start().await else {
        return;
    };
    // A signed-out visit to the tokens page leads to the sign-in page, and back after it.
    browser.open(&app, "/tokens").await;
    let path = browser.wait_for_path(|p| p.starts_with("/signin")).await;
    assert_eq!(path, "/signin?next=%2Ftokens");
    browser.screenshot("ui-signin").await;

    // A wrong password is answered on the page itself, with the email kept.
    browser.fill("#email", &app.owner.email).await;
    browser.fill("#password", "not the password").await;
    browser
        .click("form[action='/signin'] button[type=submit]")
        .await;
    let error = browser.text("#signin-error").await;
    assert!(error.contains("email or password is wrong"), "{error}");
    assert_eq!(browser.value("#email").await, app.owner.email);
    browser.screenshot("ui-signin-error").await;

    browser.fill("#password", OWNER_PASSWORD).await;
    browser
        .click("form[action='/signin'] button[type=submit]")
        .await;
    assert_eq!(browser.wait_for_path(|p| p == "/tokens").await, "/tokens");
    browser.wait_for("a#new-token").await;

    // Create a token with a name, a description and a 90-day expiry.
    browser.click("a#new-token").await;
    browser.wait_for_path(|p| p == "/tokens/new").await;
    browser.fill("#name", "CI deploy").await;
    browser
        .fill("#description", "Deploys the firmware from CI")
        .await;
    browser
        .wait_for("#expiry")
        .await
        .select_by_value("90")
        .await
        .expect("choose 90 days");
    browser.screenshot("ui-token-new").await;
    browser.click("form.token-form button[type=submit]").await;
    let secret = browser.value("input#secret").await;
    assert!(secret.starts_with("kgt_"), "{secret}");
    let heading = browser.text("article.shown-once h1").await;
    assert!(heading.contains("CI deploy"), "{heading}");
    browser.screenshot("ui-token-created").await;

    // The copied value works against the API, as the owner, as that token.
    let (status, who) = me(&app, &secret).await;
    assert_eq!(status, StatusCode::OK, "{who}");
    assert_eq!(who["user"]["id"], app.owner.id.to_string());
    assert_eq!(who["user"]["email"], app.owner.email);
    assert_eq!(who["token"]["name"], "CI deploy");
    let expires: DateTime<Utc> = who["token"]["expires_at"]
        .as_str()
        .expect("an expiry")
        .parse()
        .expect("a date");
    let expected = app.clock.now() + Duration::days(90);
    assert!(
        (expires - expected).num_hours().abs() < 1,
        "expires {expires}, expected about {expected}"
    );
    let created = owner_tokens(&app)
        .await
        .into_iter()
        .find(|t| t["name"] == "CI deploy")
        .expect("the token is listed by the API");
    assert_eq!(created["description"], "Deploys the firmware from CI");

    // "Done" leads to the list, which shows the new token as active, with its hint only, and
    // soon its last use (written in the background).
    browser.click("article.shown-once a[role=button]").await;
    browser.wait_for_path(|p| p == "/tokens").await;
    let row = browser
        .reload_until("tr[data-token='CI deploy']", |row| {
            row.contains("127.0.0.1")
        })
        .await;
    assert!(row.contains("active"), "{row}");
    assert!(row.contains(&hint(&secret)), "{row}");
    assert!(row.contains("Deploys the firmware from CI"), "{row}");
    let source = browser.client.source().await.expect("page source");
    assert!(
        !source.contains(&secret[4..]),
        "the list does not show the secret"
    );
    browser.screenshot("ui-tokens").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refreshing_the_personal_token_kills_the_old_one() {
    let Some((browser, app)) = start().await else {
        return;
    };
    let old = app.owner.token.clone();
    assert_eq!(me(&app, &old).await.0, StatusCode::OK);
    browser
        .sign_in(&app, &app.owner.email, OWNER_PASSWORD)
        .await;
    browser.open(&app, "/account/token").await;
    assert_eq!(browser.text("#personal-hint").await, hint(&old));
    browser.screenshot("ui-api-token-before").await;

    // Cancelling the dialog changes nothing.
    browser.click("#refresh-token").await;
    let message = browser.confirmation().await;
    assert!(message.contains("stops working"), "{message}");
    browser.screenshot("ui-api-token-confirm").await;
    browser.click("#confirm-dialog [data-dialog=cancel]").await;
    assert_eq!(browser.path().await, "/account/token");
    assert_eq!(me(&app, &old).await.0, StatusCode::OK);

    // Confirming refreshes it.
    browser.click("#refresh-token").await;
    browser.confirmation().await;
    browser.click("#confirm-button").await;
    let new = browser.value("input#secret").await;
    assert!(new.starts_with("kgp_"), "{new}");
    assert_ne!(new, old);
    browser.screenshot("ui-api-token-refreshed").await;

    let (status, who) = me(&app, &new).await;
    assert_eq!(status, StatusCode::OK, "{who}");
    assert_eq!(who["user"]["id"], app.owner.id.to_string());
    assert_eq!(who["token"]["kind"], "personal");
    let (status, _) = me(&app, &old).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // "Done" leads back to the page, which now describes the new token and its use.
    browser.click("article.shown-once a[role=button]").await;
    browser.wait_for_path(|p| p == "/account/token").await;
    assert_eq!(browser.text("#personal-hint").await, hint(&new));
    browser
        .reload_until("#personal-last-used", |t| t.contains("127.0.0.1"))
        .await;
    browser.screenshot("ui-api-token").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invited_person_sets_a_password_and_gets_a_working_token() {
    let Some((browser, app)) = start_signed_in().await else {
        return;
    };
    browser.open(&app, "/w/acme/members").await;
    browser.fill("#invite-email", "grace@example.com").await;
    browser.click("#invite-form button[type=submit]").await;
    let link = browser.value("input#invite-link").await;
    assert!(
        link.starts_with(&app.url("/invitations/")),
        "the link opens this server's accept page: {link}"
    );
    browser.screenshot("ui-members").await;

    // Signed out, the invited person opens the link and chooses a password.
    browser
        .click("form[action='/signout'] button[type=submit]")
        .await;
    let path = browser.wait_for_path(|p| p.starts_with("/signin")).await;
    assert_eq!(path, "/signin?done=signed-out");
    assert!(
        browser
            .text("p.notice")
            .await
            .contains("You are signed out")
    );
    browser.client.goto(&link).await.expect("open the link");
    let heading = browser.text("h1").await;
    assert!(heading.contains("acme"), "{heading}");
    browser.fill("#display_name", "Grace").await;
    browser.fill("#password", "grace's long password").await;
    browser.screenshot("ui-invitation").await;
    browser
        .click("form[action^='/invitations/'] button[type=submit]")
        .await;
    let token = browser.value("input#secret").await;
    assert!(token.starts_with("kgp_"), "a personal token: {token}");
    browser.screenshot("ui-invitation-accepted").await;

    let (status, who) = me(&app, &token).await;
    assert_eq!(status, StatusCode::OK, "{who}");
    assert_eq!(who["user"]["email"], "grace@example.com");
    assert_eq!(who["user"]["display_name"], "Grace");
    let (status, members) =
        send(app.as_owner(Method::GET, "/api/v1/workspaces/acme/members")).await;
    assert_eq!(status, StatusCode::OK, "{members}");
    assert!(
        members.to_string().contains("grace@example.com"),
        "{members}"
    );
    // The person is signed in; the link worked once only.
    browser.open(&app, "/tokens").await;
    assert_eq!(browser.path().await, "/tokens");
    let status = fetch(app.client.get(&link)).await.status();
    assert!(
        status.is_client_error(),
        "a used invitation answers {status}"
    );

    // Back as the owner, the members page lists the new member with the role.
    browser
        .click("form[action='/signout'] button[type=submit]")
        .await;
    browser.wait_for_path(|p| p.starts_with("/signin")).await;
    browser
        .sign_in(&app, &app.owner.email, OWNER_PASSWORD)
        .await;
    browser.open(&app, "/w/acme/members").await;
    let row = browser.text("tr[data-member='grace@example.com']").await;
    assert!(row.contains("Grace") && row.contains("member"), "{row}");
    browser.screenshot("ui-members-joined").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_user_limited_to_one_device_reads_only_that_device() {
    let Some((browser, app)) = start_signed_in().await else {
        return;
    };

    // A custom role that reads devices.
    browser.open(&app, "/w/acme/roles").await;
    browser.fill("#role-name", "device-reader").await;
    browser.fill("#role-description", "Reads devices").await;
    browser.fill("#role-other", "devices:read").await;
    browser.click("#role-form button[type=submit]").await;
    browser
        .wait_for_path(|p| p == "/w/acme/roles?done=role-created")
        .await;
    let row = browser.text("tr[data-role='device-reader']").await;
    assert!(row.contains("devices:read"), "{row}");
    browser.screenshot("ui-roles").await;

    // An API user holding it, on device:abc only.
    browser.open(&app, "/w/acme/api-users").await;
    browser.fill("#au-name", "sensor-gateway").await;
    browser
        .fill("#au-description", "Reads the sensor on device abc")
        .await;
    browser
        .click("#api-user-form input[name=roles][value='device-reader']")
        .await;
    browser.fill("#au-grants", "device:abc").await;
    browser.screenshot("ui-api-user-new").await;
    browser.click("#api-user-form button[type=submit]").await;
    let token = browser.value("input#secret").await;
    assert!(token.starts_with("kga_"), "an API user's token: {token}");
    browser.screenshot("ui-api-user-created").await;

    let ask = |resource: &str, permission: &str| json!({"token": token, "workspace": "acme", "permission": permission, "resource": resource});
    assert_decision(
        &app.verify(ask("device:abc", "devices:read")).await,
        "ok",
        None,
    );
    assert_decision(
        &app.verify(ask("device:xyz", "devices:read")).await,
        "forbidden",
        Some("device:xyz"),
    );
    assert_decision(
        &app.verify(ask("device:abc", "devices:write")).await,
        "forbidden",
        Some("devices:write"),
    );

    // Its page lists the token; the audit log records what was done.
    browser.click("article.shown-once a[role=button]").await;
    browser
        .wait_for_path(|p| p.starts_with("/w/acme/api-users/"))
        .await;
    let tokens = browser.text("#api-user-tokens").await;
    assert!(tokens.contains("active"), "{tokens}");
    browser.screenshot("ui-api-user").await;
    browser.open(&app, "/w/acme/audit").await;
    let audit = browser.text("table#audit").await;
    for action in ["role.created", "api_user.created"] {
        assert!(audit.contains(action), "{action} in {audit}");
    }
    browser.screenshot("ui-audit").await;
    browser.close().await;
}

/// `GET /api/v1/auth/me` with `token`, from the loopback address `ip`: the status.
async fn me_from(app: &TestApp, ip: &str, token: &str) -> StatusCode {
    let client = reqwest::Client::builder()
        .local_address(ip.parse::<std::net::IpAddr>().expect("address"))
        .build()
        .expect("client");
    let request = client
        .get(app.url("/api/v1/auth/me"))
        .header("Authorization", format!("Token {token}"));
    send(request).await.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_held_to_an_address_is_made_and_moved_in_the_browser() {
    let Some((browser, app)) = start_signed_in().await else {
        return;
    };

    // A new token that works from 127.0.0.2 (and a documentation network) only.
    browser.open(&app, "/tokens/new").await;
    browser.fill("#name", "office printer").await;
    browser.click("details:has(#allowed_ips) > summary").await;
    browser
        .fill("#allowed_ips", "127.0.0.2\n2001:db8::/32")
        .await;
    browser.click("form.token-form button[type=submit]").await;
    let secret = browser.value("input#secret").await;
    app.remember(&secret);
    assert_eq!(me_from(&app, "127.0.0.2", &secret).await, StatusCode::OK);
    assert_eq!(
        me_from(&app, "127.0.0.3", &secret).await,
        StatusCode::FORBIDDEN
    );

    // Its page says where it may be used from; a wrong entry is explained on the page.
    let id = owner_tokens(&app)
        .await
        .into_iter()
        .find(|t| t["name"] == "office printer")
        .expect("listed")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    browser.open(&app, &format!("/tokens/{id}")).await;
    let shown = browser.text("#token-allowed-ips").await;
    assert_eq!(shown, "127.0.0.2/32, 2001:db8::/32");
    browser.fill("#allowed_ips", "the printer room").await;
    browser.click("#limits-form button[type=submit]").await;
    let error = browser.text("#limits-error").await;
    assert!(error.contains("the printer room"), "{error}");
    assert_eq!(me_from(&app, "127.0.0.2", &secret).await, StatusCode::OK);

    // Moved to 127.0.0.3: from there at once, and no longer from 127.0.0.2.
    browser.fill("#allowed_ips", "127.0.0.3").await;
    browser.click("#limits-form button[type=submit]").await;
    browser
        .wait_for_path(|p| p.ends_with("?done=limits-saved"))
        .await;
    assert_eq!(browser.text("#token-allowed-ips").await, "127.0.0.3/32");
    assert_eq!(me_from(&app, "127.0.0.3", &secret).await, StatusCode::OK);
    assert_eq!(
        me_from(&app, "127.0.0.2", &secret).await,
        StatusCode::FORBIDDEN
    );

    // Held to two requests a day besides: the third is refused until the day is over.
    if app.clock.now().timestamp().rem_euclid(86_400) > 86_400 - 600 {
        app.clock.advance(Duration::minutes(20));
    }
    // From the page itself, so that the save's redirect is a new address to wait for.
    browser.open(&app, &format!("/tokens/{id}")).await;
    browser.fill("#rate_limits", "printing 2/86400").await;
    browser.click("#limits-form button[type=submit]").await;
    browser
        .wait_for_path(|p| p.ends_with("?done=limits-saved"))
        .await;
    assert_eq!(
        browser.text("#token-rate-limits").await,
        "printing 2/86400s"
    );
    browser.screenshot("ui-token-limits").await;
    for expected in [
        StatusCode::OK,
        StatusCode::OK,
        StatusCode::TOO_MANY_REQUESTS,
    ] {
        assert_eq!(me_from(&app, "127.0.0.3", &secret).await, expected);
    }

    // An API user held to one network, for all its tokens.
    browser.open(&app, "/w/acme/api-users").await;
    browser.fill("#au-name", "meter-reader").await;
    browser.fill("#au-allowed-ips", "127.0.0.4").await;
    browser.click("#api-user-form button[type=submit]").await;
    let meter = browser.value("input#secret").await;
    app.remember(&meter);
    assert_eq!(me_from(&app, "127.0.0.4", &meter).await, StatusCode::OK);
    assert_eq!(
        me_from(&app, "127.0.0.5", &meter).await,
        StatusCode::FORBIDDEN
    );
    browser.click("article.shown-once a[role=button]").await;
    browser
        .wait_for_path(|p| p.starts_with("/w/acme/api-users/"))
        .await;
    let tokens = browser.text("#api-user-tokens").await;
    assert!(
        tokens.contains("anywhere"),
        "the token's own list: {tokens}"
    );
    assert_eq!(browser.value("#au-allowed-ips").await, "127.0.0.4/32");
    browser.fill("#au-allowed-ips", "").await;
    browser
        .click("section[aria-labelledby=settings-heading] button[type=submit]")
        .await;
    browser
        .wait_for_path(|p| p.ends_with("?done=api-user-saved"))
        .await;
    assert_eq!(me_from(&app, "127.0.0.5", &meter).await, StatusCode::OK);
    browser.screenshot("ui-api-user-allowed-ips").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_role_opens_one_device_to_anonymous_callers() {
    let Some((browser, app)) = start().await else {
        return;
    };
    let anonymous = |resource: &str| json!({"workspace": "acme", "permission": "devices:read", "resource": resource});
    assert_decision(
        &app.verify(anonymous("device:demo")).await,
        "forbidden",
        Some("devices:read"),
    );
    browser
        .sign_in(&app, &app.owner.email, OWNER_PASSWORD)
        .await;
    browser.open(&app, "/w/acme/roles").await;
    browser.click("tr[data-role='public'] a[role=button]").await;
    browser.wait_for_path(|p| p == "/w/acme/roles/public").await;
    browser.fill("#role-other", "devices:read").await;
    browser.fill("#role-grants", "device:demo").await;
    browser.click("#role-form button[type=submit]").await;
    browser
        .wait_for_path(|p| p == "/w/acme/roles/public?done=role-saved")
        .await;
    assert!(browser.text("p.notice").await.contains("Role saved"));
    assert_eq!(browser.value("#role-grants").await.trim(), "device:demo");
    browser.screenshot("ui-public-role").await;

    assert_decision(&app.verify(anonymous("device:demo")).await, "ok", None);
    // Another device stays closed (the public role holds the permission on device:demo only).
    assert_decision(
        &app.verify(anonymous("device:abc")).await,
        "forbidden",
        Some("devices:read"),
    );
    assert_decision(
        &app.verify(
            json!({"workspace": "acme", "permission": "devices:write", "resource": "device:demo"}),
        )
        .await,
        "forbidden",
        Some("devices:write"),
    );
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_a_token_asks_first_and_kills_it() {
    let Some((browser, app)) = start().await else {
        return;
    };
    let created = app
        .create_token(json!({"name": "old-ci", "expires_in_days": 30}))
        .await;
    let secret = created["token"].as_str().expect("secret").to_owned();
    assert_eq!(me(&app, &secret).await.0, StatusCode::OK);
    browser
        .sign_in(&app, &app.owner.email, OWNER_PASSWORD)
        .await;
    browser.open(&app, "/tokens").await;
    let revoke = "tr[data-token='old-ci'] form[action$='/revoke'] button";

    // Cancel first: nothing happens.
    browser.click(revoke).await;
    let message = browser.confirmation().await;
    assert!(message.contains("old-ci"), "{message}");
    browser.screenshot("ui-token-revoke-confirm").await;
    browser.click("#confirm-dialog [data-dialog=cancel]").await;
    assert_eq!(browser.path().await, "/tokens");
    assert_eq!(me(&app, &secret).await.0, StatusCode::OK);

    browser.click(revoke).await;
    browser.confirmation().await;
    browser.click("#confirm-button").await;
    browser
        .wait_for_path(|p| p == "/tokens?done=token-revoked")
        .await;
    assert!(browser.text("p.notice").await.contains("Token revoked"));
    let row = browser.text("tr[data-token='old-ci']").await;
    assert!(row.contains("revoked"), "{row}");
    browser.screenshot("ui-token-revoked").await;
    let (status, body) = me(&app, &secret).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_with_an_overlap_keeps_the_old_secret_until_it_is_ended() {
    let Some((browser, app)) = start().await else {
        return;
    };
    let created = app.create_token(json!({"name": "fleet"})).await;
    let old = created["token"].as_str().expect("secret").to_owned();
    let id = created["id"].as_str().expect("id").to_owned();
    browser
        .sign_in(&app, &app.owner.email, OWNER_PASSWORD)
        .await;
    browser.open(&app, "/tokens").await;
    browser
        .click("tr[data-token='fleet'] a[href^='/tokens/']")
        .await;
    browser
        .wait_for_path(|p| p == format!("/tokens/{id}"))
        .await;
    browser
        .wait_for("#grace_seconds")
        .await
        .select_by_value("3600")
        .await
        .expect("choose an hour");
    browser.click("#rotate-form button[type=submit]").await;
    let message = browser.confirmation().await;
    assert!(message.contains("fleet"), "{message}");
    browser.click("#confirm-button").await;
    let new = browser.value("input#secret").await;
    app.remember(&new);
    assert!(new.starts_with("kgt_") && new != old, "{new}");
    let detail = browser.text("article.shown-once").await;
    assert!(
        detail.contains("1 hour after this one is first used"),
        "{detail}"
    );

    // Both secrets work; the page says how long the old one does, and that it is still used.
    assert_eq!(me(&app, &old).await.0, StatusCode::OK);
    assert_eq!(me(&app, &new).await.0, StatusCode::OK);
    browser.open(&app, &format!("/tokens/{id}")).await;
    let state = browser
        .reload_until("#retiring-secret", |s| s.contains("Used 1 time"))
        .await;
    assert!(state.contains(&hint(&old)), "{state}");
    assert!(state.contains("127.0.0.1"), "{state}");
    browser.screenshot("ui-token-overlap").await;

    browser.click("#retiring-secret form button").await;
    browser.confirmation().await;
    browser.click("#confirm-button").await;
    browser
        .wait_for_path(|p| p.ends_with("done=overlap-ended"))
        .await;
    assert!(browser.text("#retiring-state").await.starts_with("Ended"));
    let (status, body) = me(&app, &old).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(me(&app, &new).await.0, StatusCode::OK);
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_registered_in_the_browser_receives_signed_events_and_sends_again() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = spawn_web_app_with(Backend::Sqlite, |c| {
        c.webhook_allowed_networks = vec!["127.0.0.0/8".parse().expect("net")];
    })
    .await
    .expect("SQLite");
    let listener = Listener::start().await;
    browser
        .sign_in(&app, &app.owner.email, OWNER_PASSWORD)
        .await;
    browser.open(&app, "/w/acme/webhooks").await;
    browser.fill("#webhook-url", &listener.url).await;
    browser
        .click("#webhook-form input[name=events][value='api_user.created']")
        .await;
    browser.click("#webhook-form button[type=submit]").await;
    let secret = browser.value("input#secret").await;
    assert!(secret.starts_with("whsec_"), "{secret}");
    browser.screenshot("ui-webhook-created").await;
    browser.click("article.shown-once a[role=button]").await;
    browser
        .wait_for_path(|p| p.starts_with("/w/acme/webhooks/"))
        .await;

    app.create_api_user(json!({"name": "sensor-9", "roles": ["viewer"]}))
        .await;
    let got = listener.wait_for(1).await;
    assert!(got[0].signed_with(&secret));
    let deliveries = browser
        .reload_until("#deliveries-section", |t| t.contains("delivered"))
        .await;
    assert!(deliveries.contains("api_user.created"), "{deliveries}");
    assert!(deliveries.contains("200"), "{deliveries}");
    browser.screenshot("ui-webhook").await;

    browser.click("#deliveries form button[type=submit]").await;
    browser
        .wait_for_path(|p| p.ends_with("done=webhook-redelivered"))
        .await;
    let again = listener.wait_for(2).await;
    assert_eq!(again[0].header("webhook-id"), again[1].header("webhook-id"));

    // Disabled, it is sent nothing.
    browser.click("#webhook-edit input[name=enabled]").await;
    browser.click("#webhook-edit button[type=submit]").await;
    browser
        .wait_for_path(|p| p.ends_with("done=webhook-saved"))
        .await;
    assert!(browser.text("#webhook-state").await.starts_with("disabled"));
    app.create_api_user(json!({"name": "sensor-10", "roles": ["viewer"]}))
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(listener.received().len(), 2);
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_admin_creates_finds_disables_and_deletes_a_user_in_the_browser() {
    let Some((browser, app)) = start_signed_in().await else {
        return;
    };
    browser.click("#admin-nav a[href='/admin/users']").await;
    browser.wait_for_path(|p| p == "/admin/users").await;
    browser.fill("#user-email", "rosa@example.com").await;
    browser.fill("#user-name", "Rosa Ünver").await;
    browser.fill("#user-workspace", "rosas").await;
    browser.click("#user-form button[type=submit]").await;
    let token = browser.value("input#secret").await;
    app.remember(&token);
    assert!(token.starts_with("kgp_"), "{token}");
    let detail = browser.text("article.shown-once").await;
    assert!(detail.contains("/password/"), "{detail}");
    assert_eq!(me(&app, &token).await.0, StatusCode::OK);
    browser.click("article.shown-once a[role=button]").await;
    browser
        .wait_for_path(|p| p.starts_with("/admin/users/"))
        .await;

    // Found by any case of their name.
    browser.open(&app, "/admin/users").await;
    browser.fill("#search-q", "ÜNVER").await;
    browser.click("#user-search button[type=submit]").await;
    browser.wait_for_path(|p| p.contains("q=")).await;
    let found = browser
        .reload_until("#users", |t| t.contains("rosa@example.com"))
        .await;
    assert!(!found.contains("owner@example.com"), "{found}");
    browser.screenshot("ui-admin-users").await;
    browser.click("tr[data-user='rosa@example.com'] a").await;
    browser
        .wait_for_path(|p| p.starts_with("/admin/users/"))
        .await;

    // Disabled: the token stops at once.
    browser
        .click("form[action$='/disable'] button[type=submit]")
        .await;
    browser.confirmation().await;
    browser.click("#confirm-button").await;
    browser
        .wait_for_path(|p| p.ends_with("done=user-disabled"))
        .await;
    assert_eq!(browser.text("#user-state").await, "disabled");
    assert_eq!(me(&app, &token).await.0, StatusCode::UNAUTHORIZED);
    browser.screenshot("ui-admin-user").await;

    // The last owner of `rosas`: deleted with it.
    browser
        .click("#delete-user-form input[value='delete']")
        .await;
    browser.click("#delete-user-form button[type=submit]").await;
    browser.confirmation().await;
    browser.click("#confirm-button").await;
    browser
        .wait_for_path(|p| p.ends_with("done=user-deleted"))
        .await;
    let (status, _) = app
        .get_as(&app.owner.token, "/api/v1/workspaces/rosas")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The instance's audit log tells it.
    browser.open(&app, "/admin/audit").await;
    let log = browser.text("main").await;
    assert!(
        log.contains("user.deleted") && log.contains("user.disabled"),
        "{log}"
    );
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_ends_the_session_for_its_cookie() {
    let Some((browser, app)) = start_signed_in().await else {
        return;
    };
    let cookie = browser
        .client
        .get_named_cookie(SESSION_COOKIE)
        .await
        .expect("the session cookie");
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(cookie.same_site(), Some(cookie::SameSite::Strict));
    let stolen = WebClient::new(&app);
    stolen.set_cookie(SESSION_COOKIE, cookie.value());
    assert_eq!(stolen.get("/tokens").await.status, StatusCode::OK);

    browser.open(&app, "/account").await;
    browser.screenshot("ui-account").await;
    browser
        .click("form[action='/signout'] button[type=submit]")
        .await;
    browser
        .wait_for_path(|p| p == "/signin?done=signed-out")
        .await;
    browser.screenshot("ui-signed-out").await;
    assert!(
        browser
            .client
            .get_named_cookie(SESSION_COOKIE)
            .await
            .is_err(),
        "the browser forgot the cookie"
    );
    let page = stolen.get("/tokens").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), Some("/signin?next=%2Ftokens"));
    browser.open(&app, "/tokens").await;
    browser.wait_for_path(|p| p.starts_with("/signin")).await;
    browser.close().await;
}

// ---------------------------------------------------------------------------------------------
// Defences, over plain HTTP, on both backends.

backend_tests!(
    using crate::helpers::spawn_web_app:
    a_forged_form_is_refused,
    the_session_cookie_and_the_pages_are_locked_down,
    a_session_ends_after_its_lifetime,
    a_password_change_signs_out_the_other_sessions,
    tokens_that_expire_soon_are_found_and_flagged,
    the_administration_pages_are_for_instance_admins_only,
);

async fn the_administration_pages_are_for_instance_admins_only(app: TestApp) {
    let created = app
        .admin_create_user(
            json!({"email": "plain@example.com", "password": "a plain long password"}),
        )
        .await;
    let id = created["user"]["id"].as_str().expect("id").to_owned();
    let web = WebClient::new(&app);
    web.sign_in("plain@example.com", "a plain long password")
        .await;
    let tokens = web.get("/tokens").await;
    assert_eq!(tokens.status, StatusCode::OK);
    assert!(
        !tokens.body.contains("admin-nav"),
        "no administration section"
    );
    for path in [
        "/admin/users",
        "/admin/audit",
        "/admin/users?q=owner",
        "/admin/webhooks",
    ] {
        let page = web.get(path).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
        assert!(!page.body.contains("owner@example.com"), "{path}");
    }
    let csrf = tokens.csrf().expect("csrf");
    let own = app.owner.id.to_string();
    for path in [
        "/admin/users".to_owned(),
        format!("/admin/users/{own}/disable"),
        format!("/admin/users/{own}/password-link"),
        format!("/admin/users/{own}/delete"),
        "/admin/webhooks".to_owned(),
    ] {
        let page = web
            .post(
                &path,
                &[
                    ("_csrf", csrf.as_str()),
                    ("email", "x@example.com"),
                    ("url", "http://1.1.1.1/hook"),
                    ("events", "user.created"),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}: {}", page.body);
        assert!(!page.body.contains("/password/"), "{path}");
    }
    assert_eq!(me(&app, &app.owner.token).await.0, StatusCode::OK);
    // An instance admin sees the section, and the person's page.
    let admin = WebClient::new(&app);
    admin.sign_in(&app.owner.email, OWNER_PASSWORD).await;
    assert!(admin.get("/tokens").await.body.contains("admin-nav"));
    let page = admin.get(&format!("/admin/users/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("plain@example.com"));
    // Instance-wide webhooks: the instance's events are offered, and one is registered with its
    // secret shown once.
    let hooks = admin.get("/admin/webhooks").await;
    assert_eq!(hooks.status, StatusCode::OK);
    assert!(
        hooks.body.contains("value=\"user.created\""),
        "{}",
        hooks.body
    );
    let made = admin
        .submit(
            "/admin/webhooks",
            "/admin/webhooks",
            &[("url", "http://1.1.1.1/hook"), ("events", "user.created")],
        )
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    assert!(
        made.input_value("secret")
            .is_some_and(|s| s.starts_with("whsec_"))
    );
    let (_, listed) = app
        .owner_call(Method::GET, "/api/v1/admin/webhooks", Value::Null)
        .await;
    assert_eq!(listed["webhooks"][0]["events"], json!(["user.created"]));
}

backend_tests!(using super::throttled_web_app: repeated_wrong_passwords_end_in_429);
backend_tests!(using super::tls_web_app: cookies_are_secure_when_keygate_is_reached_over_tls);

/// An app that refuses an address after three failed authentications a minute.
async fn throttled_web_app(backend: Backend) -> Option<TestApp> {
    spawn_web_app_with(backend, |c| c.auth_failures_per_minute = 3).await
}

/// An app that people reach over TLS, through a proxy.
async fn tls_web_app(backend: Backend) -> Option<TestApp> {
    spawn_web_app_with(backend, |c| {
        c.public_url = Some("https://keygate.example".into());
    })
    .await
}

/// The new-token form with `csrf`, sent from `origin` when given.
fn token_form(web: &WebClient, csrf: &str, origin: Option<&str>) -> reqwest::RequestBuilder {
    let mut request = web.request(Method::POST, "/tokens");
    if let Some(o) = origin {
        request = request.header(ORIGIN, o);
    }
    form(
        request,
        &[("_csrf", csrf), ("name", "from a form"), ("expiry", "7")],
    )
}

async fn a_forged_form_is_refused(app: TestApp) {
    let web = signed_in(&app).await;
    let csrf = web.get("/tokens/new").await.csrf().expect("a CSRF token");
    let before = owner_tokens(&app).await.len();
    let post = |csrf: Option<&str>, origin: Option<&str>| match csrf {
        Some(csrf) => token_form(&web, csrf, origin),
        None => form(
            web.request(Method::POST, "/tokens"),
            &[("name", "from a form"), ("expiry", "7")],
        ),
    };

    // No token, a wrong token, another session's token: refused before anything happens.
    let other = signed_in(&app).await;
    let other_csrf = other.get("/tokens/new").await.csrf().expect("a CSRF token");
    assert_ne!(other_csrf, csrf, "each session has its own CSRF token");
    let wrong = "0".repeat(csrf.len());
    for attempt in [
        None,
        Some(wrong.as_str()),
        Some(""),
        Some(other_csrf.as_str()),
    ] {
        let page = web.send(post(attempt, None)).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{attempt:?}");
        assert!(page.body.contains("Form expired"), "{}", page.body);
        assert!(page.input_value("secret").is_none());
    }
    // The right token from another site's page.
    for origin in ["http://evil.example", "null"] {
        let page = web.send(post(Some(&csrf), Some(origin))).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "Origin {origin}");
    }
    // Sign-out is a form too: a forged one leaves the session alive.
    let page = web.post("/signout", &[]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(web.get("/tokens").await.status, StatusCode::OK);
    assert_eq!(
        owner_tokens(&app).await.len(),
        before,
        "no token was created"
    );

    // The same form from this site, with its token, is accepted.
    let page = web.send(post(Some(&csrf), Some(&app.url("")))).await;
    assert_eq!(page.status, StatusCode::CREATED, "{}", page.body);
    let secret = page.input_value("secret").expect("the token, shown once");
    app.remember(&secret);
    assert_eq!(me(&app, &secret).await.0, StatusCode::OK);
    assert_eq!(owner_tokens(&app).await.len(), before + 1);
}

async fn repeated_wrong_passwords_end_in_429(app: TestApp) {
    let web = WebClient::new(&app);
    let mut refused_after = None;
    for attempt in 1..=8 {
        let page = web.sign_in(&app.owner.email, "a wrong password").await;
        if page.status == StatusCode::TOO_MANY_REQUESTS {
            refused_after = Some(attempt - 1);
            assert!(page.body.contains("Too many attempts"), "{}", page.body);
            break;
        }
        assert_eq!(page.status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
        assert!(
            page.body.contains("email or password is wrong"),
            "{}",
            page.body
        );
    }
    let failures = refused_after.expect("refused with 429 in the end");
    assert!(
        failures >= 3,
        "the first three failures are allowed, refused after {failures}"
    );
    // While refused, even the right password waits, and no session starts.
    let page = web.sign_in(&app.owner.email, OWNER_PASSWORD).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(web.cookie(SESSION_COOKIE).is_none());
    assert!(page.body.contains("retry in"), "{}", page.body);
}

async fn the_session_cookie_and_the_pages_are_locked_down(app: TestApp) {
    // Signed out: every page leads to the sign-in page, keeping where the person was going.
    let web = WebClient::new(&app);
    for (path, next) in [
        ("/tokens", "%2Ftokens"),
        ("/account/token", "%2Faccount%2Ftoken"),
        (
            "/w/acme/audit?action=token.revoked",
            "%2Fw%2Facme%2Faudit%3Faction%3Dtoken.revoked",
        ),
    ] {
        let page = web.get(path).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(
            page.location().map(str::to_owned),
            Some(format!("/signin?next={next}")),
            "{path}"
        );
    }

    // Signing in sets an HttpOnly, SameSite=Strict cookie for the whole site and goes back.
    let form = web.get("/signin?next=%2Fw%2Facme%2Fmembers").await;
    let csrf = form.csrf().expect("a CSRF token");
    let page = web
        .post(
            "/signin",
            &[
                ("_csrf", csrf.as_str()),
                ("email", app.owner.email.as_str()),
                ("password", OWNER_PASSWORD),
                ("next", "/w/acme/members"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location(), Some("/w/acme/members"));
    let cookie = page
        .set_cookies()
        .into_iter()
        .find(|c| c.name() == SESSION_COOKIE)
        .expect("a session cookie");
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(cookie.same_site(), Some(cookie::SameSite::Strict));
    assert_eq!(cookie.path(), Some("/"));
    assert_ne!(cookie.secure(), Some(true), "plain HTTP here");
    assert_eq!(
        cookie.max_age().map(|a| a.whole_hours()),
        Some(12),
        "the default session lifetime"
    );

    // A sign-in form cannot send anyone to another site.
    let again = WebClient::new(&app);
    for next in [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
    ] {
        // Once signed in, only the session's CSRF token is accepted: the form is opened afresh.
        let csrf = again.get("/signin").await.csrf().expect("a CSRF token");
        let page = again
            .post(
                "/signin",
                &[
                    ("_csrf", csrf.as_str()),
                    ("email", app.owner.email.as_str()),
                    ("password", OWNER_PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        assert_eq!(page.location(), Some("/"), "next={next}");
    }

    // Every page, signed in or not, forbids inline script and framing.
    for path in [
        "/signin",
        "/tokens",
        "/tokens/new",
        "/w/acme/roles",
        "/w/nowhere/members",
    ] {
        let page = web.get(path).await;
        let csp = page
            .headers
            .get(CONTENT_SECURITY_POLICY)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("{path} has a Content-Security-Policy"));
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-eval"), "{path}: {csp}");
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(
            !page.body.contains("<script>") && !page.body.contains(" onclick="),
            "{path} has no inline script"
        );
    }
}

async fn a_password_change_signs_out_the_other_sessions(app: TestApp) {
    let laptop = signed_in(&app).await;
    let phone = signed_in(&app).await;
    assert_eq!(phone.get("/tokens").await.status, StatusCode::OK);

    // A wrong current password changes nothing.
    let page = laptop
        .submit(
            "/account",
            "/account/password",
            &[
                ("current_password", "not my password"),
                ("new_password", "a brand new password"),
                ("confirm_password", "a brand new password"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(
        page.body.contains("current password is wrong"),
        "{}",
        page.body
    );
    assert_eq!(phone.get("/tokens").await.status, StatusCode::OK);

    let page = laptop
        .submit(
            "/account",
            "/account/password",
            &[
                ("current_password", OWNER_PASSWORD),
                ("new_password", "a brand new password"),
                ("confirm_password", "a brand new password"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location(), Some("/account?done=password"));
    // This session goes on; the other one is over.
    let page = laptop.get("/account?done=password").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("other sessions have been signed out"));
    let page = phone.get("/tokens").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), Some("/signin?next=%2Ftokens"));

    // The old password no longer signs in; the new one does.
    let fresh = WebClient::new(&app);
    let page = fresh.sign_in(&app.owner.email, OWNER_PASSWORD).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    let page = fresh
        .sign_in(&app.owner.email, "a brand new password")
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(fresh.get("/tokens").await.status, StatusCode::OK);
}

async fn cookies_are_secure_when_keygate_is_reached_over_tls(app: TestApp) {
    let web = WebClient::new(&app);
    let form = web.get("/signin").await;
    let csrf = form
        .set_cookies()
        .into_iter()
        .find(|c| c.name() == "keygate_csrf")
        .expect("a pre-session CSRF cookie");
    assert_eq!(csrf.secure(), Some(true));
    assert_eq!(csrf.http_only(), Some(true));
    let page = web.sign_in(&app.owner.email, OWNER_PASSWORD).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let session = page
        .set_cookies()
        .into_iter()
        .find(|c| c.name() == SESSION_COOKIE)
        .expect("a session cookie");
    assert_eq!(session.secure(), Some(true));
    assert_eq!(session.same_site(), Some(cookie::SameSite::Strict));
    // Forms posted from the public address pass the origin check.
    let page = web
        .send(token_form(
            &web,
            &web.get("/tokens/new").await.csrf().expect("a CSRF token"),
            Some("https://keygate.example"),
        ))
        .await;
    assert_eq!(page.status, StatusCode::CREATED, "{}", page.body);
    app.remember(&page.input_value("secret").expect("the token"));
}

async fn a_session_ends_after_its_lifetime(app: TestApp) {
    let web = signed_in(&app).await;
    app.clock.advance(Duration::hours(11));
    assert_eq!(web.get("/tokens").await.status, StatusCode::OK);
    app.clock.advance(Duration::hours(2));
    let page = web.get("/tokens").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), Some("/signin?next=%2Ftokens"));
}

/// Tokens about to expire: listed by `expiring_within_days` (REST and GraphQL), by status with the
/// expired ones kept, and flagged on the web UI's list.
async fn tokens_that_expire_soon_are_found_and_flagged(app: TestApp) {
    let mut secrets = Vec::new();
    for (name, days) in [("soon", Some(3)), ("later", Some(30)), ("forever", None)] {
        let created = app
            .create_token(json!({"name": name, "expires_in_days": days}))
            .await;
        secrets.push(created["token"].as_str().expect("secret").to_owned());
    }
    let revoked = app.create_token(json!({"name": "gone"})).await;
    let id = revoked["id"].as_str().expect("id");
    let (status, _) = send(app.as_owner(Method::DELETE, &format!("/api/v1/tokens/{id}"))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let names = |list: &Value| -> Vec<String> {
        list["tokens"]
            .as_array()
            .expect("tokens")
            .iter()
            .filter_map(|t| t["name"].as_str().map(str::to_owned))
            .collect()
    };
    assert_eq!(
        names(&listed(&app, "?expiring_within_days=7").await),
        ["soon"]
    );
    assert_eq!(names(&listed(&app, "?status=revoked").await), ["gone"]);
    let mut within_a_year = names(&listed(&app, "?expiring_within_days=365").await);
    within_a_year.sort();
    assert_eq!(within_a_year, ["later", "soon"]);
    for bad in [
        "?expiring_within_days=0",
        "?expiring_within_days=x",
        "?status=lost",
    ] {
        let got = send(app.as_owner(Method::GET, &format!("/api/v1/tokens{bad}"))).await;
        assert_eq!(got.0, StatusCode::BAD_REQUEST, "{bad}: {}", got.1);
    }

    let query = "{ user { tokens(expiringWithinDays: 7) { name } } }";
    let (status, body) = app
        .graphql(Some(&app.owner.token), query, Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["data"]["user"]["tokens"],
        json!([{"name": "soon"}]),
        "{body}"
    );

    // The web UI flags it; once in use, a banner names it; once expired it is still listed, as
    // expired.
    let web = signed_in(&app).await;
    let page = web.get("/tokens").await;
    assert!(!page.body.contains("expiring-banner"), "not in use yet");
    for secret in &secrets {
        assert_eq!(me(&app, secret).await.0, StatusCode::OK);
    }
    let start = std::time::Instant::now();
    let page = loop {
        let page = web.get("/tokens").await;
        if page.body.contains("expiring-banner") {
            break page;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "{}",
            page.body
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let banner = page.body.split("expiring-banner").nth(1).expect("banner");
    let banner = banner.split("</p>").next().expect("its text");
    assert!(
        banner.contains("soon") && !banner.contains("later"),
        "{banner}"
    );
    // Where a sign-in lands, too.
    let home = web.get("/").await;
    assert!(home.body.contains("expiring-banner"), "{}", home.body);
    assert!(
        page.body.contains("expires in 3 days") || page.body.contains("expires in 2 days"),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("expires in 29 days"),
        "only a week ahead"
    );
    app.clock.advance(Duration::days(4));
    assert_eq!(names(&listed(&app, "?status=expired").await), ["soon"]);
    assert!(names(&listed(&app, "?expiring_within_days=7").await).is_empty());
    let page = web.get("/tokens").await;
    assert!(!page.body.contains("status-expiring"), "{}", page.body);
}

/// `GET /api/v1/tokens{query}` as the owner: the answer.
async fn listed(app: &TestApp, query: &str) -> Value {
    let (status, list) = send(app.as_owner(Method::GET, &format!("/api/v1/tokens{query}"))).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list
}
