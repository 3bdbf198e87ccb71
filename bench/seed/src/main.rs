//! `seed`: fills a Keygate database for the benchmarks (see the library's documentation).
//!
//! ```text
//! cargo run --release -p seed -- --database-url sqlite://bench.db --sample-file tokens.txt
//! cargo run --release -p seed -- --database-url postgres://postgres@127.0.0.1:5432/keygate_bench \
//!     --tokens 1000000 --workspaces 1000 --api-users-per-workspace 10 --sample 100000 \
//!     --sample-file tokens.txt
//! ```
//!
//! The clear tokens of the sample go to `--sample-file` (created with mode 0600) and nowhere else.

use std::fs::OpenOptions;
use std::io::BufWriter;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use keygate_domain::{Digester, TokenFormat};

/// Fill a Keygate database (SQLite or PostgreSQL) with workspaces, users and tokens that really
/// verify, and write a sample of the clear tokens to a file.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The database to fill: sqlite://PATH or postgres://... Migrations are applied first.
    #[arg(long, env = "KEYGATE_DATABASE_URL")]
    database_url: String,
    /// Tokens in all, each workspace owner's personal token included.
    #[arg(long, default_value_t = 1_000_000)]
    tokens: u64,
    #[arg(long, default_value_t = 1_000)]
    workspaces: u32,
    /// API users in each workspace; they hold every token but the owners' personal ones.
    #[arg(long, default_value_t = 10)]
    api_users_per_workspace: u32,
    /// How many clear tokens to write to the sample file, spread evenly over all tokens.
    #[arg(long, default_value_t = 100_000)]
    sample: u64,
    /// Where the sample goes: one `<token> <workspace slug>` per line. Must not exist yet.
    #[arg(long)]
    sample_file: PathBuf,
    /// The server's token prefix.
    #[arg(long, env = "KEYGATE_TOKEN_PREFIX", default_value = "kg")]
    token_prefix: String,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let format = TokenFormat::new(&args.token_prefix)
        .map_err(|_| anyhow::anyhow!("the token prefix is not valid"))?;
    // The server's pepper, when it has one: digests must match for the tokens to verify.
    let pepper = std::env::var("KEYGATE_TOKEN_PEPPER").ok();
    let plan = seed::Plan {
        tokens: args.tokens,
        workspaces: args.workspaces,
        api_users_per_workspace: args.api_users_per_workspace,
        sample: args.sample,
        format,
        digester: Digester::new(pepper.as_deref().map(str::as_bytes)),
    };
    let mut open = OpenOptions::new();
    open.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
    let file = open
        .open(&args.sample_file)
        .with_context(|| format!("cannot create {}", args.sample_file.display()))?;
    let mut sample = BufWriter::new(file);
    let mut progress = |table: &str, rows: u64| {
        if rows.is_multiple_of(200_000) || table != "tokens" {
            eprintln!("{table}: {rows} rows");
        }
    };
    let seeded = match seed::seed(&args.database_url, &plan, &mut sample, &mut progress).await {
        Ok(seeded) => seeded,
        Err(e) => {
            // The file was created here: leave no partial sample behind.
            drop(sample);
            let _ = std::fs::remove_file(&args.sample_file);
            return Err(e);
        }
    };
    println!(
        "seeded {} workspaces, {} users, {} tokens in {:.1} s; {} clear tokens in {}",
        seeded.workspaces,
        seeded.users,
        seeded.tokens,
        seeded.elapsed.as_secs_f64(),
        seeded.sampled,
        args.sample_file.display()
    );
    Ok(())
}
