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
