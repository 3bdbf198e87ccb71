//! Cold verification (SPEC §7: figures reported): a token that is not in the cache, against a
//! database seeded with a million tokens by `bench/seed` (1 000 workspaces, 10 API users each).
//!
//! The cache here keeps nothing: its entries expire as soon as they are written, so every lookup
//! misses and goes to the database, and pays for the cache insert as a real miss does. Tokens
//! are taken in turn from the seeded sample, so consecutive lookups hit different rows.
//!
//! - `authenticate`: the token and its user from the database (one round trip).
//! - `decide`: as `POST /api/v1/verify` with a workspace, a permission and a resource: the token
//!   and its user, then the workspace by slug with the member's access and the public role, all
//!   from the database (two round trips).
//!
//! SQLite always: the seeded file is kept in `target/bench-data/` and reused by later runs.
//! PostgreSQL when `KEYGATE_BENCH_DATABASE_URL` names a database; an empty one is seeded on first
//! use (its sample is kept in `target/bench-data/`), otherwise it says it skipped.
//! `KEYGATE_BENCH_SEED_TOKENS` seeds fewer tokens for a quick run.
//!
//! `cargo bench -p keygate --bench cold`

use std::fs::File;
use std::hint::black_box;
use std::io::{BufRead, BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use keygate::service::{CacheSettings, Clock, Keygate, Policy, Question, WorkspaceRef};
use keygate_domain::{Digester, Permission, TokenFormat};

/// Sampled clear tokens and their workspaces, taken in turn.
struct Sample {
    tokens: Vec<(String, String)>,
    next: AtomicUsize,
}

impl Sample {
    fn read(path: &Path) -> Self {
        let file = File::open(path).expect("token sample");
        let tokens: Vec<(String, String)> = BufReader::new(file)
            .lines()
            .map(|line| {
                let line = line.expect("sample line");
                let (token, slug) = line.split_once(' ').expect("`<token> <slug>`");
                (token.to_owned(), slug.to_owned())
            })
            .collect();
        assert!(!tokens.is_empty(), "empty token sample {}", path.display());
        Self {
            tokens,
            next: AtomicUsize::new(0),
        }
    }

    fn next(&self) -> &(String, String) {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        &self.tokens[i % self.tokens.len()]
    }
}

fn data_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-data");
    std::fs::create_dir_all(&dir).expect("bench data directory");
    dir
}

fn plan() -> seed::Plan {
    let mut plan = seed::Plan::default();
    if let Ok(n) = std::env::var("KEYGATE_BENCH_SEED_TOKENS") {
        plan.tokens = n.parse().expect("KEYGATE_BENCH_SEED_TOKENS is a number");
        plan.sample = plan.sample.min(plan.tokens);
    }
    plan
}

/// Seeds `url` unless `sample_path` shows it was seeded before. The sample is written under a
/// temporary name and renamed at the end, so an interrupted run seeds again.
fn seed_once(rt: &tokio::runtime::Runtime, url: &str, sample_path: &Path, fresh: impl FnOnce()) {
    if sample_path.exists() {
        return;
    }
    fresh();
    let partial = sample_path.with_extension("partial");
    let mut out = BufWriter::new(File::create(&partial).expect("sample file"));
    let plan = plan();
    eprintln!(
        "seeding {} tokens (once; later runs reuse them)",
        plan.tokens
    );
    let seeded = rt
        .block_on(seed::seed(url, &plan, &mut out, &mut |_, _| {}))
        .expect("seeding");
    drop(out);
    std::fs::rename(&partial, sample_path).expect("sample file");
    eprintln!(
        "seeded {} tokens in {:.1} s",
        seeded.tokens,
        seeded.elapsed.as_secs_f64()
    );
}

fn cold_keygate(rt: &tokio::runtime::Runtime, url: &str) -> Keygate {
    rt.block_on(async {
        let store = keygate_store::connect(url).await.expect("database");
        Keygate::new(
            store,
            TokenFormat::default(),
            Digester::new(None),
            Clock::default(),
            // Entries expire the moment they are written: every lookup is a miss.
            CacheSettings {
                ttl: Duration::from_nanos(1),
                max_tokens: 100_000,
            },
            Policy::default(),
        )
    })
}

fn bench_backend(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    name: &str,
    url: &str,
    sample: &Path,
) {
    let keygate = cold_keygate(rt, url);
    let sample = Arc::new(Sample::read(sample));
    // Every sampled token must verify: the seed really made Keygate tokens.
    rt.block_on(async {
        let (token, _) = sample.next();
        keygate
            .authenticate(token, None)
            .await
            .expect("a seeded token verifies");
    });
    let permission = Permission::parse("devices:read").expect("permission");
    let mut group = c.benchmark_group(format!("cold/{name}"));
    group.bench_function("authenticate: token and user from the database", |b| {
        b.to_async(rt).iter(|| async {
            let (token, _) = sample.next();
            black_box(keygate.authenticate(token, None).await.expect("valid"))
        })
    });
    group.bench_function(
        "decide: token and user, then workspace, access and public role from the database",
        |b| {
            b.to_async(rt).iter(|| async {
                let (token, slug) = sample.next();
                let question = Question {
                    workspace: Some(WorkspaceRef::parse(slug)),
                    permission: Some(std::borrow::Cow::Borrowed(&permission)),
                    resource: Some("device:abc".into()),
                    cost: None,
                };
                let decision = keygate
                    .decide(Some(token), None, &question)
                    .await
                    .expect("decision");
                black_box(decision)
            })
        },
    );
    group.finish();
}

fn cold_verification(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = data_dir();

    let db = dir.join("cold-sqlite.db");
    let sample = dir.join("cold-sqlite.tokens");
    let url = format!("sqlite://{}", db.display());
    seed_once(&rt, &url, &sample, || {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
    });
    bench_backend(c, &rt, "sqlite", &url, &sample);

    match std::env::var("KEYGATE_BENCH_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            let name: String = url
                .rsplit('/')
                .next()
                .unwrap_or("postgres")
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            let sample = dir.join(format!("cold-postgres-{name}.tokens"));
            seed_once(&rt, &url, &sample, || {});
            bench_backend(c, &rt, "postgres", &url, &sample);
        }
        _ => eprintln!(
            "cold/postgres: skipped (set KEYGATE_BENCH_DATABASE_URL to an empty PostgreSQL \
             database to measure it)"
        ),
    }
}

criterion_group!(benches, cold_verification);
criterion_main!(benches);
