//! Fills a Keygate database with a realistic population for the benchmarks: workspaces with their
//! built-in roles, a human owner each (with a personal token), API users who are members with the
//! `member` role and a resource grant, and as many `kga_` tokens as asked for, spread evenly over
//! the API users. Tokens are made exactly as Keygate makes them (`TokenFormat`, `Digester`, hint),
//! so every one of them verifies. Rows go in with multi-row `INSERT`s, many per transaction.
//!
//! Only digests and hints are stored. The clear tokens of an evenly spread sample are written to
//! the sample writer, one `<token> <workspace slug>` per line, for the load and memory
//! benchmarks; nothing else ever sees them.

use std::io::Write;
use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use keygate_domain::model::builtin_role;
use keygate_domain::{ClearToken, Digester, TokenFormat, TokenKind};
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Pool, Postgres, QueryBuilder, Sqlite, Transaction};
use uuid::Uuid;

/// Slugs of seeded workspaces: `seed-0000`, `seed-0001`, ...
pub const SLUG_PREFIX: &str = "seed-";

/// The grant every seeded API user holds in its workspace.
pub const API_USER_GRANT: &str = "device:*";

/// What to put into the database.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Tokens in all, the owners' personal tokens included.
    pub tokens: u64,
    pub workspaces: u32,
    pub api_users_per_workspace: u32,
    /// Clear tokens to write to the sample, spread evenly over all tokens.
    pub sample: u64,
    pub format: TokenFormat,
    /// Must be the server's (same pepper), or the tokens will not verify.
    pub digester: Digester,
}

impl Default for Plan {
    fn default() -> Self {
        Self {
            tokens: 1_000_000,
            workspaces: 1_000,
            api_users_per_workspace: 10,
            sample: 100_000,
            format: TokenFormat::default(),
            digester: Digester::new(None),
        }
    }
}

/// What was written.
#[derive(Debug, Clone, Copy)]
pub struct Seeded {
    pub workspaces: u64,
    pub users: u64,
    pub tokens: u64,
    pub sampled: u64,
    pub elapsed: Duration,
}

/// Rows per transaction: large enough that commits cost little, small enough to show progress.
const ROWS_PER_TRANSACTION: usize = 50_000;
/// Bound parameters per statement, under SQLite's limit of 32 766 and PostgreSQL's of 65 535.
const PARAMS_PER_STATEMENT: usize = 30_000;

/// Applies Keygate's migrations to `url` (`sqlite://...` or `postgres://...`) and seeds it as
/// `plan` says. Refuses a database that was seeded already. `progress` hears about every
/// transaction committed.
pub async fn seed(
    url: &str,
    plan: &Plan,
    sample: &mut dyn Write,
    progress: &mut dyn FnMut(&str, u64),
) -> anyhow::Result<Seeded> {
    let started = Instant::now();
    let workspaces = u64::from(plan.workspaces);
    if plan.workspaces == 0 || plan.tokens < workspaces {
        bail!("need at least one workspace, and a token for each workspace's owner");
    }
    let api_users = workspaces * u64::from(plan.api_users_per_workspace);
    let api_tokens = plan.tokens - workspaces;
    if api_tokens > 0 && api_users == 0 {
        bail!("tokens beyond the owners' personal tokens need API users to hold them");
    }

    let store = keygate_store::connect(url)
        .await
        .context("cannot open the database")?;
    store.migrate().await.context("cannot apply migrations")?;
    store.close().await;

    let db = Db::open(url).await?;
    let first_slug = slug(0);
    if db.workspace_exists(&first_slug).await? {
        bail!("the database is seeded already (workspace `{first_slug}` exists); use a fresh one");
    }

    let now = micros(Utc::now());
    let mut loader = Loader::new(&db, progress);

    // Workspaces and their built-in roles.
    let ws: Vec<SeedWorkspace> = (0..plan.workspaces)
        .map(|i| SeedWorkspace {
            id: Uuid::now_v7(),
            slug: slug(i),
            roles: builtin_role::ALL.map(|(name, _, _)| (name, Uuid::now_v7())),
        })
        .collect();
    loader
        .load(
            "workspaces",
            &["id", "slug", "name", "created_at", "updated_at"],
            ws.iter().enumerate().map(|(i, w)| {
                vec![
                    V::Id(w.id),
                    V::Text(w.slug.clone()),
                    V::Text(format!("Seeded workspace {i}")),
                    V::Ts(now),
                    V::Ts(now),
                ]
            }),
        )
        .await?;
    loader
        .load(
            "roles",
            &[
                "id",
                "workspace_id",
                "name",
                "description",
                "permissions",
                "builtin",
                "created_at",
                "updated_at",
            ],
            ws.iter().flat_map(|w| {
                builtin_role::ALL.iter().zip(w.roles).map(
                    move |((name, description, permissions), (_, id))| {
                        vec![
                            V::Id(id),
                            V::Id(w.id),
                            V::Text((*name).to_owned()),
                            V::Text((*description).to_owned()),
                            V::Json(serde_json::json!(permissions)),
                            V::Bool(true),
                            V::Ts(now),
                            V::Ts(now),
                        ]
                    },
                )
            }),
        )
        .await?;

    // People: one owner per workspace. API users: members with the `member` role and a grant.
    let owners: Vec<Uuid> = ws.iter().map(|_| Uuid::now_v7()).collect();
    let api: Vec<(Uuid, usize)> = (0..ws.len())
        .flat_map(|w| (0..plan.api_users_per_workspace).map(move |_| (Uuid::now_v7(), w)))
        .collect();
    loader
        .load(
            "users",
            &[
                "id",
                "kind",
                "email",
                "display_name",
                "is_instance_admin",
                "created_at",
                "updated_at",
            ],
            owners.iter().enumerate().map(|(i, id)| {
                vec![
                    V::Id(*id),
                    V::Text("human".into()),
                    V::Text(format!("owner-{i}@seed.example")),
                    V::Text(format!("Owner {i}")),
                    V::Bool(false),
                    V::Ts(now),
                    V::Ts(now),
                ]
            }),
        )
        .await?;
    loader
        .load(
            "users",
            &[
                "id",
                "kind",
                "display_name",
                "workspace_id",
                "is_instance_admin",
                "created_at",
                "updated_at",
            ],
            api.iter().enumerate().map(|(i, (id, w))| {
                vec![
                    V::Id(*id),
                    V::Text("api".into()),
                    V::Text(format!("service {i}")),
                    V::Id(ws[*w].id),
                    V::Bool(false),
                    V::Ts(now),
                    V::Ts(now),
                ]
            }),
        )
        .await?;
    let members = || {
        owners
            .iter()
            .enumerate()
            .map(|(w, id)| (*id, w, builtin_role::OWNER))
            .chain(api.iter().map(|(id, w)| (*id, *w, builtin_role::MEMBER)))
    };
    loader
        .load(
            "members",
            &["workspace_id", "user_id", "created_at"],
            members().map(|(user, w, _)| vec![V::Id(ws[w].id), V::Id(user), V::Ts(now)]),
        )
        .await?;
    loader
        .load(
            "member_roles",
            &["workspace_id", "user_id", "role_id"],
            members()
                .map(|(user, w, role)| vec![V::Id(ws[w].id), V::Id(user), V::Id(ws[w].role(role))]),
        )
        .await?;
    loader
        .load(
            "member_grants",
            &["workspace_id", "user_id", "pattern"],
            api.iter().map(|(user, w)| {
                vec![
                    V::Id(ws[*w].id),
                    V::Id(*user),
                    V::Text(API_USER_GRANT.into()),
                ]
            }),
        )
        .await?;

    // Tokens: first the owners' personal tokens, then the API users' in contiguous runs, so
    // that a sample of every k-th token reaches every user.
    let every = (plan.tokens / plan.sample.max(1)).max(1);
    let mut sampled = 0u64;
    let mut sample_error = None;
    let mut no_randomness = false;
    let year = chrono::Duration::days(365);
    let tokens = (0..plan.tokens).map_while(|i| {
        let (user, w, kind) = if i < workspaces {
            let w = i as usize;
            (owners[w], w, TokenKind::Personal)
        } else {
            let j = i - workspaces;
            // Wide arithmetic: j * api_users may exceed u64 for absurd plans.
            let u = (u128::from(j) * u128::from(api_users) / u128::from(api_tokens)) as usize;
            let (id, w) = api[u];
            (id, w, TokenKind::Api)
        };
        let mut failed = false;
        let clear = plan.format.generate(kind, |buf| {
            failed |= getrandom::fill(buf).is_err();
        });
        if failed {
            no_randomness = true;
            return None;
        }
        if plan.sample > sampled && i.is_multiple_of(every) {
            sampled += 1;
            if let Err(e) = writeln!(sample, "{} {}", clear.expose(), ws[w].slug) {
                sample_error.get_or_insert(e);
            }
        }
        Some(token_row(plan, &clear, user, kind, i, now, year))
    });
    loader
        .load(
            "tokens",
            &[
                "id",
                "user_id",
                "kind",
                "name",
                "digest",
                "hint",
                "created_at",
                "expires_at",
            ],
            tokens,
        )
        .await?;
    if no_randomness {
        bail!("the operating system's random source failed");
    }
    if let Some(e) = sample_error {
        return Err(e).context("cannot write the token sample");
    }
    sample.flush().context("cannot write the token sample")?;
    loader.finish().await?;
    db.close().await;
    Ok(Seeded {
        workspaces,
        users: workspaces + api_users,
        tokens: plan.tokens,
        sampled,
        elapsed: started.elapsed(),
    })
}

fn token_row(
    plan: &Plan,
    clear: &ClearToken,
    user: Uuid,
    kind: TokenKind,
    i: u64,
    now: DateTime<Utc>,
    year: chrono::Duration,
) -> Vec<V> {
    let parsed = clear.parsed();
    let digest = plan.digester.digest(&parsed);
    let name = match kind {
        TokenKind::Personal => "personal".to_owned(),
        _ => format!("seeded token {i}"),
    };
    // A quarter of the tokens expire in a year; the rest never do.
    let expires = (i.is_multiple_of(4) && kind != TokenKind::Personal).then(|| now + year);
    vec![
        V::Id(Uuid::now_v7()),
        V::Id(user),
        V::Text(kind.as_str().to_owned()),
        V::Text(name),
        V::Bytes(digest.as_bytes().to_vec()),
        V::Text(parsed.hint()),
        V::Ts(now),
        V::OptTs(expires),
    ]
}

pub fn slug(i: u32) -> String {
    format!("{SLUG_PREFIX}{i:04}")
}

/// Microsecond precision, as Keygate stores timestamps.
fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

struct SeedWorkspace {
    id: Uuid,
    slug: String,
    roles: [(&'static str, Uuid); 5],
}

impl SeedWorkspace {
    fn role(&self, name: &str) -> Uuid {
        self.roles
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(self.roles[0].1, |(_, id)| *id)
    }
}

/// One value of a row, bound as each backend stores it.
enum V {
    Id(Uuid),
    Text(String),
    Bytes(Vec<u8>),
    Ts(DateTime<Utc>),
    OptTs(Option<DateTime<Utc>>),
    Bool(bool),
    Json(serde_json::Value),
}

enum Db {
    Sqlite(Pool<Sqlite>),
    Postgres(Pool<Postgres>),
}

enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl Db {
    async fn open(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = PgPoolOptions::new()
                .max_connections(1)
                .connect(url)
                .await
                .context("cannot connect to PostgreSQL")?;
            Ok(Db::Postgres(pool))
        } else {
            // The file stays in WAL mode, as Keygate opens it. `synchronous=NORMAL` and a large
            // page cache only for loading: a lost seed is simply seeded again.
            let options = SqliteConnectOptions::from_str(url)?
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .pragma("cache_size", "-262144");
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options)
                .await
                .context("cannot open the SQLite file")?;
            Ok(Db::Sqlite(pool))
        }
    }

    async fn workspace_exists(&self, slug: &str) -> anyhow::Result<bool> {
        const SQL: &str = "SELECT COUNT(*) FROM workspaces WHERE slug = $1";
        let (n,): (i64,) = match self {
            Db::Sqlite(pool) => sqlx::query_as(SQL).bind(slug).fetch_one(pool).await?,
            Db::Postgres(pool) => sqlx::query_as(SQL).bind(slug).fetch_one(pool).await?,
        };
        Ok(n > 0)
    }

    async fn begin(&self) -> anyhow::Result<Tx> {
        Ok(match self {
            Db::Sqlite(pool) => Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                // Only the loading connection, only this transaction: commits need not wait for
                // the disk; the final one is flushed with the next checkpoint.
                sqlx::query("SET LOCAL synchronous_commit = off")
                    .execute(&mut *tx)
                    .await?;
                Tx::Postgres(tx)
            }
        })
    }

    async fn close(&self) {
        match self {
            Db::Sqlite(pool) => {
                // Fold the WAL into the main file, so the seeded file is complete on its own.
                let _ = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .execute(pool)
                    .await;
                pool.close().await;
            }
            Db::Postgres(pool) => {
                let _ = sqlx::query("ANALYZE").execute(pool).await;
                pool.close().await;
            }
        }
    }
}

impl Tx {
    async fn insert(
        &mut self,
        table: &str,
        columns: &[&str],
        rows: Vec<Vec<V>>,
    ) -> anyhow::Result<()> {
        let head = format!("INSERT INTO {table} ({}) ", columns.join(", "));
        match self {
            Tx::Sqlite(tx) => {
                let mut q = QueryBuilder::<Sqlite>::new(head);
                q.push_values(rows, |mut b, row| {
                    for v in row {
                        match v {
                            V::Id(x) => b.push_bind(x),
                            V::Text(x) => b.push_bind(x),
                            V::Bytes(x) => b.push_bind(x),
                            V::Ts(x) => b.push_bind(x.timestamp_micros()),
                            V::OptTs(x) => b.push_bind(x.map(|t| t.timestamp_micros())),
                            V::Bool(x) => b.push_bind(x),
                            V::Json(x) => b.push_bind(x.to_string()),
                        };
                    }
                });
                q.build()
                    .execute(&mut **tx)
                    .await
                    .with_context(|| format!("cannot insert into {table}"))?;
            }
            Tx::Postgres(tx) => {
                let mut q = QueryBuilder::<Postgres>::new(head);
                q.push_values(rows, |mut b, row| {
                    for v in row {
                        match v {
                            V::Id(x) => b.push_bind(x),
                            V::Text(x) => b.push_bind(x),
                            V::Bytes(x) => b.push_bind(x),
                            V::Ts(x) => b.push_bind(x),
                            V::OptTs(x) => b.push_bind(x),
                            V::Bool(x) => b.push_bind(x),
                            V::Json(x) => b.push_bind(sqlx::types::Json(x)),
                        };
                    }
                });
                q.build()
                    .execute(&mut **tx)
                    .await
                    .with_context(|| format!("cannot insert into {table}"))?;
            }
        }
        Ok(())
    }

    async fn commit(self) -> anyhow::Result<()> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await?,
            Tx::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }
}

/// Multi-row `INSERT`s, committed every [`ROWS_PER_TRANSACTION`] rows.
struct Loader<'a> {
    db: &'a Db,
    tx: Option<Tx>,
    in_tx: usize,
    progress: &'a mut dyn FnMut(&str, u64),
}

impl<'a> Loader<'a> {
    fn new(db: &'a Db, progress: &'a mut dyn FnMut(&str, u64)) -> Self {
        Self {
            db,
            tx: None,
            in_tx: 0,
            progress,
        }
    }

    async fn load(
        &mut self,
        table: &str,
        columns: &[&str],
        rows: impl Iterator<Item = Vec<V>>,
    ) -> anyhow::Result<()> {
        let per_statement = (PARAMS_PER_STATEMENT / columns.len()).clamp(1, 1_000);
        let mut rows = rows.peekable();
        let mut done = 0u64;
        while rows.peek().is_some() {
            let chunk: Vec<Vec<V>> = rows.by_ref().take(per_statement).collect();
            let n = chunk.len();
            let tx = match self.tx.as_mut() {
                Some(tx) => tx,
                None => self.tx.insert(self.db.begin().await?),
            };
            tx.insert(table, columns, chunk).await?;
            self.in_tx += n;
            done += n as u64;
            if self.in_tx >= ROWS_PER_TRANSACTION {
                self.commit().await?;
                (self.progress)(table, done);
            }
        }
        (self.progress)(table, done);
        Ok(())
    }

    async fn commit(&mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.tx.take() {
            tx.commit().await?;
        }
        self.in_tx = 0;
        Ok(())
    }

    async fn finish(mut self) -> anyhow::Result<()> {
        self.commit().await
    }
}
