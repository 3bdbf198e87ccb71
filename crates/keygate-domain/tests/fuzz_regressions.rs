//! Replays the inputs the fuzzers once failed on (`fuzz/regressions/<target>/*`) through the
//! fuzz targets' own checks, on the ordinary toolchain: a fixed bug stays fixed without
//! cargo-fuzz or nightly. See `fuzz/README.md`.

#![allow(clippy::unwrap_used)]

#[path = "../../../fuzz/src/domain.rs"]
mod checks;

use std::path::PathBuf;

fn replay(target: &str, check: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/regressions")
        .join(target);
    // A target without regressions has no directory (git keeps no empty ones).
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    let mut inputs: Vec<PathBuf> = entries
        .map(|entry| entry.unwrap().path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n != ".gitkeep" && n != "README.md")
        })
        .collect();
    inputs.sort();
    for input in inputs {
        let data = std::fs::read(&input).unwrap();
        if let Err(e) = std::panic::catch_unwind(|| check(&data)) {
            std::panic::resume_unwind(Box::new(format!(
                "{} fails again: {:?}",
                input.display(),
                e.downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| e.downcast_ref::<&str>().copied())
            )));
        }
    }
}

#[test]
fn token_fuzz_regressions_pass() {
    replay("token", checks::token);
}

#[test]
fn route_fuzz_regressions_pass() {
    replay("route", checks::route);
}

#[test]
fn permission_fuzz_regressions_pass() {
    replay("permission", checks::permission);
}
