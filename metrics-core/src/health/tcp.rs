//! The ready-made TCP check.

use std::sync::Arc;

use super::check::HealthCheck;

impl HealthCheck {
    /// Passes when a TCP connection to `address` (`host:port`) opens.
    ///
    /// ```
    /// use metrics_toolkit::health::HealthCheck;
    ///
    /// let redis = HealthCheck::tcp("redis", "127.0.0.1:6379");
    /// ```
    pub fn tcp(name: impl Into<String>, address: impl Into<String>) -> Self {
        let address: Arc<str> = Arc::from(address.into());
        Self::new(name, move || {
            let address = Arc::clone(&address);
            async move {
                tokio::net::TcpStream::connect(&*address)
                    .await
                    .map(drop)
                    .map_err(|e| format!("connecting to {address}: {e}").into())
            }
        })
    }
}
