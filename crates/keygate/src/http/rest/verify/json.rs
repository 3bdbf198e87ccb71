//! Wire types of decisions: what `/verify` and `/auth/check` take and answer. They are the
//! contract's types (`keygate-proto`), which clients share; `/verify`'s answer is written by
//! `verify_answer` in the shape of `VerifyJson`.

pub use keygate_proto::{
    CheckAnswer as CheckJson, CheckRequest as CheckRequestJson, VerifyAnswer as VerifyJson,
    VerifyRequest as VerifyRequestJson,
};
