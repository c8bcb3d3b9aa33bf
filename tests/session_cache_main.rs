//! The statements-per-request tests (`session_cache.rs`), as a binary of
//! their own: they count the statements kegauth sends in the whole process
//! (`kegauth::backend::statements_sent`), which other tests' apps would add to.

/// The log capture (`common::logs`) is not installed in this binary.
pub const CAPTURE_LOGS: bool = false;

#[macro_use]
mod common;

mod session_cache;
