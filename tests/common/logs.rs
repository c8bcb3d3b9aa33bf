//! Every log line of the test binary at Rocket's "normal" level (info and
//! above), captured: install it before the first Rocket launches (Rocket's
//! own logger then stays out). Rocket applies its `log_level` only together
//! with its own logger, so the capture sets the level itself.

use std::sync::Mutex;

static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        let line = format!("{} {}: {}", record.level(), record.target(), record.args());
        LINES.lock().unwrap_or_else(|p| p.into_inner()).push(line);
    }

    fn flush(&self) {}
}

static CAPTURE: Capture = Capture;

/// Capture from now on (idempotent), at what Rocket's "normal" level lets
/// through: `LevelFilter::Info`, as Rocket's `From<LogLevel>` maps it.
pub fn install() {
    let _ = log::set_logger(&CAPTURE);
    log::set_max_level(log::LevelFilter::Info);
}

/// The lines logged so far.
pub fn lines() -> Vec<String> {
    LINES.lock().unwrap_or_else(|p| p.into_inner()).clone()
}
