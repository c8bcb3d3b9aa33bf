//! The integration tests that read the process's log (`common::logs`), as a
//! binary of their own: the capture must be the logger before any Rocket
//! starts (Rocket installs its own logger otherwise, and a process has one),
//! so every app these tests launch installs it first; and what they assert is
//! absent from the log must not come from the other tests' apps.

/// Every app launched by the helpers installs the log capture first.
pub const CAPTURE_LOGS: bool = true;

#[macro_use]
mod common;

mod audit;
mod dyn_templates;
mod faults;
mod layout;
mod log_secrets;
