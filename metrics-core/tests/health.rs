//! Health checks against a real dependency on loopback: one that goes away and comes back (the
//! circuit breaker). The HTTP check's tests (a server that stops answering, panicking checks)
//! live with the HTTP check in metrics-exporter's `tests/http_check.rs`.

use std::time::Duration;

use metrics_toolkit::health::{BoxError, BreakerConfig, HealthCheck, HealthRegistry, Status};
use test_support::poll_until;
use tokio::net::TcpListener;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_breaker_opens_after_consecutive_failures_and_closes_after_a_pass() {
    // A dependency on a port we own; it goes away and comes back on the same port.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let cooldown = Duration::from_secs(2);
    let check = HealthCheck::tcp("cache", addr.to_string())
        .non_critical()
        .interval(Duration::from_millis(50))
        .timeout(Duration::from_secs(2))
        .breaker(BreakerConfig::new(3, cooldown));
    let health = HealthRegistry::builder()
        .check(check)
        .build()
        .expect("valid");
    health.start().expect("runtime");
    let up = poll_until(
        Duration::from_secs(10),
        || health.check("cache").expect("registered"),
        |r| r.runs >= 1,
    )
    .await;
    assert_eq!(up.status, Status::Pass, "{up:?}");

    drop(listener);
    let open = poll_until(
        Duration::from_secs(10),
        || health.check("cache").expect("registered"),
        |r| r.breaker_open,
    )
    .await;
    // Not critical: failing makes it warn.
    assert_eq!(open.status, Status::Warn);
    // Exactly the configured number of consecutive failures opened it.
    let output = open.output.as_deref().unwrap_or("");
    assert!(
        output.contains("circuit open after 3 consecutive failures"),
        "{output}"
    );

    // While open, the check is not run.
    tokio::time::sleep(cooldown / 4).await;
    let still_open = health.check("cache").expect("registered");
    assert!(still_open.breaker_open, "closed before its cooldown");
    assert_eq!(
        still_open.runs, open.runs,
        "no run while the breaker is open"
    );

    // The dependency comes back: after the cooldown one trial run passes and closes it.
    let _listener = TcpListener::bind(addr).await.expect("rebind the same port");
    let closed = poll_until(
        cooldown * 5,
        || health.check("cache").expect("registered"),
        |r| r.status == Status::Pass,
    )
    .await;
    assert!(!closed.breaker_open);
    assert!(closed.runs > open.runs);
}

#[test]
fn rejects_duplicate_and_invalid_names_and_zero_durations() {
    let ok = || async { Ok::<(), BoxError>(()) };
    let twice = HealthRegistry::builder()
        .check(HealthCheck::new("a", ok))
        .check(HealthCheck::new("a", ok))
        .build();
    assert!(twice.is_err());
    for name in ["", "a/b", "a\nb"] {
        assert!(HealthRegistry::builder()
            .check(HealthCheck::new(name, ok))
            .build()
            .is_err());
    }
    let zero = HealthRegistry::builder()
        .check(HealthCheck::new("z", ok).interval(Duration::ZERO))
        .build();
    assert!(zero.is_err());
    // Outside a runtime, start reports it instead of panicking.
    let health = HealthRegistry::builder()
        .check(HealthCheck::new("a", ok))
        .build()
        .expect("valid");
    assert!(health.start().is_err());
}

/// A check fails with a boxed error of any type: the report shows the error's `Display`, whether
/// it was a `String`, a `&str` or a typed error.
#[tokio::test(flavor = "current_thread")]
async fn typed_and_string_errors_are_reported_by_their_display() {
    let health = HealthRegistry::builder()
        .check(HealthCheck::new("io", || async {
            Err(std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "pool refused").into())
        }))
        .check(HealthCheck::new("text", || async {
            Err(format!("queue {} is full", "jobs").into())
        }))
        .check(HealthCheck::new("static", || async {
            Err("no quorum".into())
        }))
        .build()
        .expect("valid");
    health.start().expect("runtime");
    assert!(health.wait_for_first_round(Duration::from_secs(10)).await);
    for (name, output) in [
        ("io", "pool refused"),
        ("text", "queue jobs is full"),
        ("static", "no quorum"),
    ] {
        let report = health.check(name).expect("registered");
        assert_eq!(report.status, Status::Fail, "{report:?}");
        assert_eq!(report.output.as_deref(), Some(output), "{report:?}");
    }
}
