//! The audit trail's writer: one task per app that takes the events the
//! [`Auditor`] handles queue and writes them, chained, to the table (through
//! the store), then hands them to the app's [`AuditSink`]s. The events, the
//! chain and the queue's handle are the core's (`core/audit.rs`); this task
//! is a service that runs beside the app.

use crate::core::audit::{AuditMessage, AuditSink, Auditor};
use crate::core::backend::Backend;
use crate::core::entity::EntitySet;
use crate::core::store::Store;
use std::sync::Arc;

/// Start the writer task on the current Tokio runtime, writing through
/// `store`; the handle queues events for it.
pub(crate) fn start<DB: Backend, E: EntitySet>(
    store: Store<DB, E>,
    sinks: Vec<Arc<dyn AuditSink>>,
) -> Auditor {
    let (auditor, mut rx) = Auditor::channel();
    tokio::spawn(async move {
        while let Some(message) = rx.recv().await {
            let event = match message {
                AuditMessage::Event(event) => event,
                AuditMessage::Flush(done) => {
                    let _ = done.send(());
                    continue;
                }
            };
            if let Err(e) = store.record_audit(&event).await {
                log::error!(
                    target: crate::core::AUDIT,
                    "audit event not written to the table ({e}): {event:?}"
                );
            }
            for sink in &sinks {
                sink.record(&event);
            }
        }
    });
    auditor
}
