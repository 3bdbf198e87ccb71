//! Attacks that must fail, each test named after the attack it tries: privilege escalation,
//! consent, forged proxy headers, path tricks and input past reason.

mod consent;
mod fuzz_regressions;
mod input;
mod paths;
mod privileges;
mod proxies;
