//! The route report and menu tests (`nav.rs`), as a binary of their own: the
//! `#[requires_*]` handlers record what they require in one process-wide
//! table, by handler name, method and path, so the other tests' apps (which
//! mount handlers such as `secret1` at `/secret1` in other modules) would
//! make the report's rows ambiguous.

/// The log capture (`common::logs`) is not installed in this binary.
pub const CAPTURE_LOGS: bool = false;

#[macro_use]
mod common;

mod nav;
