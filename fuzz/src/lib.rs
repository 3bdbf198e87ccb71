//! What each fuzz target checks, as functions of the input bytes. `domain` is shared with the
//! domain crate's regression test (`crates/keygate-domain/tests/fuzz_regressions.rs`), which
//! replays `regressions/<target>/*` through the same checks on a stable toolchain.

pub mod domain;
#[cfg(feature = "graphql")]
pub mod graphql;
