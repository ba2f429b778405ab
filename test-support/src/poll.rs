//! Waiting for a value that settles in the background (a health check's report, a counter).

use std::fmt::Debug;
use std::time::{Duration, Instant};

/// Reads `read()` every 20 ms until `done` holds for the value, and returns it; panics with the
/// last value after `limit`.
pub async fn poll_until<T: Debug>(
    limit: Duration,
    mut read: impl FnMut() -> T,
    done: impl Fn(&T) -> bool,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        let value = read();
        if done(&value) {
            return value;
        }
        assert!(Instant::now() < deadline, "gave up waiting: {value:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
