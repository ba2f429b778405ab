//! Who gets in, on a real TCP server: a changed password hash takes effect at once, unknown
//! user names cost what the dearest real user costs, a busy password verifier answers 503 at
//! once instead of queueing past the scrape timeout, `/health/{check}` tells nothing to a caller
//! without credentials, and IPv4-mapped ranges match IPv4 clients.

use std::time::{Duration, Instant};

use base64::Engine as _;
use metrics_exporter::security::{AllowList, Security};
use metrics_toolkit::health::{HealthCheck, HealthRegistry};
use reqwest::StatusCode;
use test_support::Scrape;

mod common;
use common::Served;

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        // Bounds every test: no request here should take nearly this long.
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

async fn status(url: &str, authorization: Option<&str>) -> StatusCode {
    let mut request = client().get(url);
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request.send().await.expect("request").status()
}

async fn serve(security: Security) -> Served {
    common::serve(None, |e| e.security(security)).await
}

fn own_counter(exporter: &Served, name: &str, label: (&str, &str)) -> Option<f64> {
    let text = exporter
        .registry
        .encode(metrics_toolkit::Format::PrometheusText)
        .expect("encode");
    Scrape::parse(&text).get(name, &[label])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_password_hash_no_longer_accepts_the_old_password() {
    let old = bcrypt::hash("old-password", 4).expect("hash");
    let new = bcrypt::hash("new-password", 4).expect("hash");
    let before = Security::new()
        .basic_auth_user("alice", &old)
        .expect("user");
    let first = serve(before.clone()).await;
    let url = format!("{}/metrics", first.base);
    // Verified once, so remembered.
    assert_eq!(
        status(&url, Some(&basic("alice", "old-password"))).await,
        StatusCode::OK
    );

    let after = before.clone().basic_auth_user("alice", &new).expect("user");
    let second = serve(after).await;
    let url = format!("{}/metrics", second.base);
    assert_eq!(
        status(&url, Some(&basic("alice", "old-password"))).await,
        StatusCode::UNAUTHORIZED,
        "the old password is still accepted after the hash was replaced"
    );
    assert_eq!(
        status(&url, Some(&basic("alice", "new-password"))).await,
        StatusCode::OK
    );
    // The first configuration is unchanged by the second.
    let url = format!("{}/metrics", first.base);
    assert_eq!(
        status(&url, Some(&basic("alice", "old-password"))).await,
        StatusCode::OK
    );
    assert_eq!(
        status(&url, Some(&basic("alice", "new-password"))).await,
        StatusCode::UNAUTHORIZED
    );
}

/// How long one refused request takes.
async fn refusal_time(url: &str, authorization: &str) -> Duration {
    let start = Instant::now();
    assert_eq!(
        status(url, Some(authorization)).await,
        StatusCode::UNAUTHORIZED
    );
    start.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_user_costs_as_much_as_the_dearest_configured_user() {
    // bcrypt cost 10 is 64 times the work of cost 4 (about 1 ms against 60-200 ms here). An
    // unknown user that were checked against a cost-4 hash would answer several times faster
    // than the threshold below; checked against a cost-10 one it cannot, however loaded the
    // machine. Which hash an old-style check picked depended on the map's order, so four
    // separate configurations each with three cheap users and one dear one are tried.
    let cheap = bcrypt::hash("cheap", 4).expect("hash");
    let dear = bcrypt::hash("dear", 10).expect("hash");
    for round in 0..4 {
        let security = Security::new()
            .basic_auth_user("a", &cheap)
            .and_then(|s| s.basic_auth_user("b", &cheap))
            .and_then(|s| s.basic_auth_user("c", &cheap))
            .and_then(|s| s.basic_auth_user("dear", &dear))
            .expect("users");
        let exporter = serve(security).await;
        let url = format!("{}/metrics", exporter.base);
        // The dear user's wrong password, at its fastest of two tries.
        let mut dear_time = Duration::MAX;
        for _ in 0..2 {
            dear_time = dear_time.min(refusal_time(&url, &basic("dear", "wrong")).await);
        }
        let unknown_time = refusal_time(&url, &basic("nobody", "wrong")).await;
        assert!(
            unknown_time * 8 >= dear_time,
            "round {round}: an unknown user answered in {unknown_time:?}, a known one in {dear_time:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_behind_busy_password_verifiers_gets_503_with_retry_after_at_once() {
    // Two wrong passwords for a cost-13 user (0.5 s or more of bcrypt each) hold both
    // verifiers; the real user's first login must not queue behind them.
    let dear = bcrypt::hash("dear", 13).expect("hash");
    let security = Security::new()
        .basic_auth_user("flood", &dear)
        .and_then(|s| s.basic_auth_user("prometheus", &bcrypt::hash("pw", 4).expect("hash")))
        .expect("users")
        .max_password_wait(Duration::from_millis(100));
    let exporter = serve(security).await;
    let flood: Vec<_> = (0..2)
        .map(|_| {
            let url = format!("{}/health", exporter.base);
            tokio::spawn(async move { status(&url, Some(&basic("flood", "wrong"))).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(150)).await;

    let url = format!("{}/metrics", exporter.base);
    let start = Instant::now();
    let response = client()
        .get(&url)
        .header("authorization", basic("prometheus", "pw"))
        .send()
        .await
        .expect("request");
    let waited = start.elapsed();
    assert_eq!(
        response.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "answered after {waited:?}"
    );
    assert_eq!(response.headers()["retry-after"], "1");
    assert!(waited < Duration::from_secs(5), "waited {waited:?}");
    for request in flood {
        assert_eq!(request.await.expect("flood"), StatusCode::UNAUTHORIZED);
    }
    // Once the verifiers are free, the same login succeeds.
    assert_eq!(
        status(&url, Some(&basic("prometheus", "pw"))).await,
        StatusCode::OK
    );
    let rejected = ("result", "rejected");
    assert_eq!(
        own_counter(&exporter, "exporter_scrapes_total", rejected),
        Some(1.0)
    );
    let invalid = ("reason", "invalid");
    assert_eq!(
        own_counter(&exporter, "exporter_auth_failures_total", invalid),
        Some(2.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_health_does_not_tell_existing_checks_from_missing_ones() {
    let health = HealthRegistry::builder()
        .check(HealthCheck::new("postgres", || async {
            Err("connection refused".into())
        }))
        .build()
        .expect("valid");
    let security = Security::new()
        .bearer_token("t0ken")
        .expect("token")
        .public_health(true);
    let exporter = common::serve(None, |e| e.health(health.clone()).security(security)).await;
    assert!(health.wait_for_first_round(Duration::from_secs(10)).await);

    let existing = format!("{}/health/postgres", exporter.base);
    let missing = format!("{}/health/redis", exporter.base);
    for url in [&existing, &missing] {
        let response = client().get(url).send().await.expect("request");
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "{url} without credentials"
        );
        assert_eq!(
            response.headers()["www-authenticate"],
            "Bearer realm=\"metrics\""
        );
        assert_eq!(
            status(url, Some("Bearer wrong")).await,
            StatusCode::UNAUTHORIZED,
            "{url} with a wrong token"
        );
    }
    // The overall status stays public; each check is shown to authenticated callers.
    assert_eq!(
        status(&format!("{}/health", exporter.base), None).await,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        status(&existing, Some("Bearer t0ken")).await,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        status(&missing, Some("Bearer t0ken")).await,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv4_mapped_ranges_match_ipv4_clients() {
    let list = AllowList::new()
        .allow("::ffff:127.0.0.0/104")
        .expect("cidr");
    let exporter = serve(Security::new().allow_list(list)).await;
    assert_eq!(
        status(&format!("{}/metrics", exporter.base), None).await,
        StatusCode::OK,
        "::ffff:127.0.0.0/104 refused 127.0.0.1"
    );

    // A proxy named by its mapped address is trusted, and a mapped single address allowed.
    let list = AllowList::new()
        .allow("::ffff:10.0.0.1")
        .expect("cidr")
        .trust_forwarded_for_from("::ffff:127.0.0.1/128")
        .expect("cidr");
    let exporter = serve(Security::new().allow_list(list)).await;
    let response = client()
        .get(format!("{}/metrics", exporter.base))
        .header("x-forwarded-for", "10.0.0.1")
        .send()
        .await
        .expect("request");
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "the mapped trusted proxy was not trusted"
    );
}
