//! Verification costs, in process: parsing and digesting a token, and deciding a request with a
//! cached token (SPEC §7 target: at most 2 µs). Run with `cargo bench -p keygate --bench verify`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use keygate::config::Config;
use keygate::service::{Bootstrap, Question, WorkspaceRef};
use keygate::startup::services;
use keygate_domain::{Digester, Permission, TokenFormat, TokenKind};

fn parse_and_digest(c: &mut Criterion) {
    let format = TokenFormat::default();
    let digester = Digester::new(None);
    let peppered = Digester::new(Some(b"a pepper of sixteen bytes or more"));
    let token = format.generate(TokenKind::User, |b| {
        getrandom::fill(b).expect("OS randomness");
    });
    let secret = token.expose().to_owned();
    c.bench_function("parse + SHA-256 digest", |b| {
        b.iter(|| {
            let parsed = format.parse(black_box(&secret)).expect("valid");
            black_box(digester.digest(&parsed))
        })
    });
    c.bench_function("parse + HMAC-SHA-256 digest", |b| {
        b.iter(|| {
            let parsed = format.parse(black_box(&secret)).expect("valid");
            black_box(peppered.digest(&parsed))
        })
    });
}

fn cached_verification(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Config {
        database_url: format!("sqlite://{}", dir.path().join("bench.db").display()),
        ..Config::default()
    };
    let (keygate, token) = rt.block_on(async {
        let keygate = services(&config, Default::default())
            .await
            .expect("services");
        let done = keygate
            .bootstrap(Bootstrap {
                email: "bench@example.com".into(),
                workspace: Some("bench".into()),
                password: None,
            })
            .await
            .expect("bootstrap");
        (keygate, done.clear.into_exposed())
    });
    let question = Question {
        workspace: Some(WorkspaceRef::parse("bench")),
        permission: Some(std::borrow::Cow::Owned(
            Permission::parse("devices:read").expect("permission"),
        )),
        resource: Some("device:abc".into()),
        cost: None,
    };
    // Warm the cache.
    rt.block_on(async {
        let decision = keygate
            .decide(Some(&token), None, &question)
            .await
            .expect("decision");
        assert!(decision.refusal.is_none());
    });
    c.bench_function("authenticate a cached token", |b| {
        b.to_async(&rt).iter(|| async {
            black_box(
                keygate
                    .authenticate(black_box(&token), None)
                    .await
                    .expect("valid"),
            )
        })
    });
    c.bench_function(
        "decide: cached token, workspace, permission, resource",
        |b| {
            b.to_async(&rt).iter(|| async {
                black_box(
                    keygate
                        .decide(Some(black_box(&token)), None, &question)
                        .await
                        .expect("decision"),
                )
            })
        },
    );
    let unknown = TokenFormat::default()
        .generate(TokenKind::User, |b| {
            getrandom::fill(b).expect("OS randomness")
        })
        .into_exposed();
    rt.block_on(async {
        let _ = keygate.authenticate(&unknown, None).await;
    });
    c.bench_function("reject an unknown (negatively cached) token", |b| {
        b.to_async(&rt).iter(|| async {
            black_box(
                keygate
                    .authenticate(black_box(&unknown), None)
                    .await
                    .is_err(),
            )
        })
    });
}

criterion_group!(benches, parse_and_digest, cached_verification);
criterion_main!(benches);
