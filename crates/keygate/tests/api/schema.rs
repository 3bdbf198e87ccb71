//! The SQLite and PostgreSQL migrations give both backends the same tables, columns and indexes.

use std::collections::BTreeSet;

use sqlx::Connection;

use crate::helpers::{Backend, TestDb, pg_url_with_database, spawn_app};

#[tokio::test]
async fn both_backends_have_the_same_tables_columns_and_indexes() {
    let Some(pg) = spawn_app(Backend::Postgres).await else {
        return;
    };
    let sqlite = spawn_app(Backend::Sqlite).await.expect("SQLite");

    let TestDb::Sqlite { dir } = &sqlite.db else {
        unreachable!("spawned on SQLite")
    };
    let url = format!("sqlite://{}", dir.path().join("keygate.db").display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.expect("sqlite");
    let sqlite_columns: BTreeSet<(String, String)> = sqlx::query_as(
        "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%'",
    )
    .fetch_all(&mut conn)
    .await
    .expect("sqlite columns")
    .into_iter()
    .collect();
    let sqlite_indexes: BTreeSet<(String,)> = sqlx::query_as(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'",
    )
    .fetch_all(&mut conn)
    .await
    .expect("sqlite indexes")
    .into_iter()
    .collect();

    let TestDb::Postgres { admin_url, name } = &pg.db else {
        unreachable!("spawned on PostgreSQL")
    };
    let mut conn = sqlx::PgConnection::connect(&pg_url_with_database(admin_url, name))
        .await
        .expect("postgres");
    let pg_columns: BTreeSet<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name NOT LIKE '\\_sqlx%'",
    )
    .fetch_all(&mut conn)
    .await
    .expect("postgres columns")
    .into_iter()
    .collect();
    let pg_indexes: BTreeSet<(String,)> = sqlx::query_as(
        "SELECT indexname::text FROM pg_indexes WHERE schemaname = 'public' \
         AND indexname NOT LIKE '%\\_pkey' AND tablename NOT LIKE '\\_sqlx%'",
    )
    .fetch_all(&mut conn)
    .await
    .expect("postgres indexes")
    .into_iter()
    .collect();

    assert!(sqlite_columns.contains(&("tokens".to_owned(), "digest".to_owned())));
    assert_eq!(sqlite_columns, pg_columns);
    assert!(!sqlite_indexes.is_empty());
    assert_eq!(sqlite_indexes, pg_indexes);
}

crate::helpers::backend_tests!(using super::spawn_with_sign_up:
    accounts_made_before_email_vouching_are_vouched_for_as_the_audit_log_shows_them_made,
);

async fn spawn_with_sign_up(backend: Backend) -> Option<crate::helpers::TestApp> {
    crate::helpers::spawn_app_with(backend, |c| c.signup = true).await
}

/// The people of the database and whether their email is vouched for, by email; first, when
/// `reset_and_backfill`, every account is set not vouched for and the migration's backfill runs
/// again.
async fn vouched(db: &TestDb, reset_and_backfill: bool) -> Vec<(String, bool)> {
    let migration = match db {
        TestDb::Sqlite { .. } => {
            include_str!("../../../keygate-store/migrations/sqlite/0014_email_vouched.sql")
        }
        TestDb::Postgres { .. } => {
            include_str!("../../../keygate-store/migrations/postgres/0014_email_vouched.sql")
        }
    };
    let backfill = &migration[migration.find("UPDATE users").expect("the backfill")..];
    let steps = [
        "UPDATE users SET email_vouched = FALSE",
        backfill.trim().trim_end_matches(';'),
    ];
    let steps = if reset_and_backfill { &steps[..] } else { &[] };
    match db {
        TestDb::Sqlite { dir } => {
            let url = format!("sqlite://{}", dir.path().join("keygate.db").display());
            steps_then_people::<sqlx::SqliteConnection>(&url, steps).await
        }
        TestDb::Postgres { admin_url, name } => {
            let url = pg_url_with_database(admin_url, name);
            steps_then_people::<sqlx::PgConnection>(&url, steps).await
        }
    }
}

/// Runs `steps` on the database at `url`, then reads each person's email and whether it is
/// vouched for.
async fn steps_then_people<C>(url: &str, steps: &[&str]) -> Vec<(String, bool)>
where
    C: Connection,
    for<'c> &'c mut C: sqlx::Executor<'c, Database = C::Database>,
    for<'r> (String, bool): sqlx::FromRow<'r, <C::Database as sqlx::Database>::Row>,
    for<'q> <C::Database as sqlx::Database>::Arguments: sqlx::IntoArguments<C::Database>,
{
    let mut conn = C::connect(url).await.expect("connect");
    for step in steps {
        sqlx::raw_sql(sqlx::AssertSqlSafe(*step))
            .execute(&mut conn)
            .await
            .expect("a step");
    }
    sqlx::query_as("SELECT email, email_vouched FROM users WHERE kind = 'human' ORDER BY email")
        .fetch_all(&mut conn)
        .await
        .expect("read")
}

async fn accounts_made_before_email_vouching_are_vouched_for_as_the_audit_log_shows_them_made(
    app: crate::helpers::TestApp,
) {
    use reqwest::{Method, StatusCode};
    use serde_json::json;
    // The owner was bootstrapped; an instance admin makes Ada; Sue signs up; Ivy accepts an
    // invitation.
    app.admin_create_user(json!({"email": "ada@example.com"}))
        .await;
    app.sign_up("sue@example.com", "a long enough password", "sues")
        .await;
    let invite = json!({"email": "ivy@example.com"});
    let (status, invited) = crate::helpers::send(
        app.as_owner(Method::POST, "/api/v1/workspaces/acme/members")
            .json(&invite),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{invited}");
    let code = invited["code"].as_str().expect("code");
    let (status, made) = crate::helpers::send(
        app.anonymous(Method::POST, &format!("/api/v1/invitations/{code}/accept"))
            .json(&json!({"password": "a long enough password"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    app.remember(made["token"].as_str().expect("token"));

    let expected = vec![
        ("ada@example.com".to_owned(), true),
        ("ivy@example.com".to_owned(), false),
        (app.owner.email.clone(), true),
        ("sue@example.com".to_owned(), false),
    ];
    assert_eq!(vouched(&app.db, false).await, expected, "as made");
    assert_eq!(
        vouched(&app.db, true).await,
        expected,
        "as the migration finds them"
    );
}
