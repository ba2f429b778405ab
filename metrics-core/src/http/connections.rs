//! Connections: `http_server_active_connections` and `http_server_connections_total`.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

#[derive(Debug, Default)]
pub(super) struct Connections {
    pub(super) open: AtomicI64,
    pub(super) accepted: AtomicU64,
}

impl Connections {
    pub(super) fn open(self: &Arc<Self>) -> ConnectionGuard {
        self.accepted.fetch_add(1, Ordering::Relaxed);
        self.open.fetch_add(1, Ordering::Relaxed);
        ConnectionGuard {
            connections: Arc::clone(self),
        }
    }
}

/// An open connection (RAII): `http_server_active_connections` is lowered when it is dropped.
#[derive(Debug)]
pub struct ConnectionGuard {
    connections: Arc<Connections>,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.connections.open.fetch_sub(1, Ordering::Relaxed);
    }
}
