use std::process::ExitCode;

use clap::Parser;
use keygate::cli::{Cli, run};

/// jemalloc rather than glibc's allocator: a server that caches 100 000 tokens while serving
/// short-lived requests on several threads keeps far less resident memory with it (see
/// docs/benchmarks.md, "Resident memory"). Its options are set where it is built, in
/// `.cargo/config.toml`.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", describe(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, skipping a cause that only repeats the message before it
/// (some library errors print their source as part of their own message).
fn describe(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !out.is_empty() {
            if out.ends_with(&text) {
                continue;
            }
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}
