//! Every rejection path of a protected exporter on a real TCP server: missing and wrong
//! credentials, a disallowed client, a spoofed `X-Forwarded-For`, oversized headers, too many
//! concurrent scrapes, a slow encoding; each answered and counted, and no secret exported.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use metrics_exporter::security::{AllowList, Limits, Security};
use metrics_toolkit::prometheus_client::collector::Collector;
use metrics_toolkit::prometheus_client::encoding::DescriptorEncoder;
use metrics_toolkit::MetricsRegistry;
use reqwest::StatusCode;
use test_support::raw_http;
use test_support::Scrape;

mod common;
use common::Served;

const TOKEN: &str = "s3cr3t-t0ken-value";
const PASSWORD: &str = "correct horse battery staple";

/// A collector whose encoding takes `0` (to hold scrape slots and hit the timeout).
#[derive(Debug)]
struct Slow(Duration);

impl Collector for Slow {
    fn encode(&self, _encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        std::thread::sleep(self.0);
        Ok(())
    }
}

async fn serve(security: Security, limits: Limits, slow: Option<Duration>) -> Served {
    let registry = MetricsRegistry::builder()
        .process_metrics(false)
        .build()
        .expect("registry");
    if let Some(delay) = slow {
        registry.register_collector(Slow(delay));
    }
    common::serve(Some(registry), |e| e.security(security).limits(limits)).await
}

/// The exporter's own counter `name` with `label`, read from its registry (not over HTTP, which
/// the test may have made unusable).
fn own_counter(exporter: &Served, name: &str, label: (&str, &str)) -> Option<f64> {
    let text = exporter
        .registry
        .encode(metrics_toolkit::Format::PrometheusText)
        .expect("encode");
    Scrape::parse(&text).get(name, &[label])
}

fn hash(password: &str) -> String {
    bcrypt::hash(password, 4).expect("hash")
}

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

async fn get(url: &str, authorization: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(url);
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request.send().await.expect("request")
}

/// Asserts a 401 and returns its `WWW-Authenticate` and body.
async fn refused(url: &str, authorization: Option<&str>) -> (String, String) {
    let response = get(url, authorization).await;
    assert_eq!(
        response.status(),
        StatusCode::UNAUTHORIZED,
        "{authorization:?}"
    );
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (challenge, response.text().await.expect("body"))
}

/// The exporter's own counters, read with valid credentials.
async fn counters(exporter: &Served, authorization: &str) -> Scrape {
    let response = get(&format!("{}/metrics", exporter.base), Some(authorization)).await;
    assert_eq!(response.status(), 200);
    let body = response.text().await.expect("body");
    assert!(
        !body.contains(TOKEN) && !body.contains(PASSWORD),
        "a secret was exported"
    );
    Scrape::parse(&body)
}

#[tokio::test]
async fn bearer_token_missing_or_wrong_is_401_and_counted() {
    let security = Security::new().bearer_token(TOKEN).expect("token");
    let exporter = serve(security, Limits::default(), None).await;
    let url = format!("{}/metrics", exporter.base);

    let (challenge, missing_body) = refused(&url, None).await;
    assert_eq!(challenge, "Bearer realm=\"metrics\"");

    let mut bodies = Vec::new();
    for wrong in [
        "Bearer wrong",
        "Bearer s3cr3t-t0ken-valu",
        "Bearer s3cr3t-t0ken-valuee",
        "Basic Zm9vOmJhcg==",
        "garbage",
    ] {
        bodies.push(refused(&url, Some(wrong)).await.1);
    }
    // The same answer whatever was wrong.
    assert!(bodies.iter().all(|b| *b == missing_body), "{bodies:?}");

    let ok = get(&url, Some(&format!("Bearer {TOKEN}"))).await;
    assert_eq!(ok.status(), 200);

    let scrape = counters(&exporter, &format!("Bearer {TOKEN}")).await;
    assert_eq!(
        scrape.get("exporter_auth_failures_total", &[("reason", "missing")]),
        Some(1.0)
    );
    assert_eq!(
        scrape.get("exporter_auth_failures_total", &[("reason", "invalid")]),
        Some(5.0)
    );
    assert_eq!(
        scrape.get("exporter_scrapes_total", &[("result", "unauthorized")]),
        Some(6.0)
    );
    // The first successful scrape, plus the one being encoded.
    assert_eq!(
        scrape.get("exporter_scrapes_total", &[("result", "success")]),
        Some(1.0)
    );
}

#[tokio::test]
async fn basic_auth_wrong_password_or_user_is_401_alike() {
    let security = Security::new()
        .basic_auth_user("prometheus", &hash(PASSWORD))
        .expect("user");
    let exporter = serve(security, Limits::default(), None).await;
    let url = format!("{}/metrics", exporter.base);

    let (challenge, _) = refused(&url, None).await;
    assert_eq!(challenge, "Basic realm=\"metrics\", charset=\"UTF-8\"");
    let wrong_password = refused(&url, Some(&basic("prometheus", "wrong"))).await;
    let wrong_user = refused(&url, Some(&basic("grafana", PASSWORD))).await;
    assert_eq!(wrong_password, wrong_user);
    // A bearer header is not accepted where only Basic users are configured.
    refused(&url, Some("Bearer anything")).await;

    let scrape = counters(&exporter, &basic("prometheus", PASSWORD)).await;
    assert_eq!(
        scrape.get("exporter_auth_failures_total", &[("reason", "invalid")]),
        Some(3.0)
    );
}

#[tokio::test]
async fn probes_stay_open_and_health_details_need_credentials() {
    let security = Security::new()
        .bearer_token(TOKEN)
        .expect("token")
        .public_health(true);
    let exporter = serve(security, Limits::default(), None).await;
    for path in ["/live", "/ready", "/startup"] {
        let response = get(&format!("{}{path}", exporter.base), None).await;
        assert_eq!(response.status(), 200, "{path}");
    }
    let landing = get(&format!("{}/", exporter.base), None).await;
    assert_eq!(landing.status(), StatusCode::UNAUTHORIZED);

    let anonymous: serde_json::Value = get(&format!("{}/health", exporter.base), None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(anonymous["status"], "pass");
    assert!(anonymous.get("checks").is_none(), "{anonymous}");
    let authenticated: serde_json::Value = get(
        &format!("{}/health", exporter.base),
        Some(&format!("Bearer {TOKEN}")),
    )
    .await
    .json()
    .await
    .expect("json");
    assert!(
        authenticated["checks"]["lifecycle"].is_array(),
        "{authenticated}"
    );
}

#[tokio::test]
async fn health_is_protected_unless_made_public_and_probes_can_be_closed() {
    let security = Security::new()
        .bearer_token(TOKEN)
        .expect("token")
        .open_probes(false);
    let exporter = serve(security, Limits::default(), None).await;
    for path in ["/health", "/health/database", "/live", "/ready"] {
        let response = get(&format!("{}{path}", exporter.base), None).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
}

#[tokio::test]
async fn a_client_outside_the_allow_list_is_403() {
    let security = Security::new().allow_list(AllowList::new().allow("10.0.0.0/8").expect("cidr"));
    let exporter = serve(security, Limits::default(), None).await;
    for path in ["/metrics", "/health", "/live", "/"] {
        let response = get(&format!("{}{path}", exporter.base), None).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
    }
    // Every refusal is counted as forbidden; only the /metrics one is a refused scrape.
    let reason = ("reason", "forbidden");
    assert_eq!(
        own_counter(&exporter, "exporter_auth_failures_total", reason),
        Some(4.0)
    );
    let result = ("result", "forbidden");
    assert_eq!(
        own_counter(&exporter, "exporter_scrapes_total", result),
        Some(1.0)
    );

    let allowed = AllowList::new()
        .allow("10.0.0.0/8")
        .expect("cidr")
        .allow("::1/128")
        .expect("cidr")
        .allow("127.0.0.0/8")
        .expect("cidr");
    let exporter = serve(Security::new().allow_list(allowed), Limits::default(), None).await;
    let response = get(&format!("{}/metrics", exporter.base), None).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn x_forwarded_for_from_an_untrusted_peer_is_ignored() {
    // 127.0.0.1 is not a trusted proxy: its X-Forwarded-For must not let it in.
    let list = AllowList::new()
        .allow("10.0.0.0/8")
        .expect("cidr")
        .trust_forwarded_for_from("192.168.0.0/16")
        .expect("cidr");
    let exporter = serve(Security::new().allow_list(list), Limits::default(), None).await;
    let spoofed = reqwest::Client::new()
        .get(format!("{}/metrics", exporter.base))
        .header("x-forwarded-for", "10.0.0.1")
        .send()
        .await
        .expect("request");
    assert_eq!(spoofed.status(), StatusCode::FORBIDDEN);

    // From a trusted proxy (here the loopback peer) the header is believed.
    let list = AllowList::new()
        .allow("10.0.0.0/8")
        .expect("cidr")
        .trust_forwarded_for_from("127.0.0.1/32")
        .expect("cidr");
    let exporter = serve(Security::new().allow_list(list), Limits::default(), None).await;
    let url = format!("{}/metrics", exporter.base);
    let client = reqwest::Client::new();
    let proxied = client
        .get(&url)
        .header("x-forwarded-for", "10.0.0.1")
        .send()
        .await
        .expect("request");
    assert_eq!(proxied.status(), 200);
    // An outside client prepending an allowed address is still seen as itself.
    let prepended = client
        .get(&url)
        .header("x-forwarded-for", "10.0.0.1, 8.8.8.8")
        .send()
        .await
        .expect("request");
    assert_eq!(prepended.status(), StatusCode::FORBIDDEN);
    let none = client.get(&url).send().await.expect("request");
    assert_eq!(none.status(), StatusCode::FORBIDDEN);
}

async fn raw_request(addr: &str, extra_header: &str) -> String {
    use tokio::io::AsyncWriteExt;
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request =
        format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\n{extra_header}Connection: close\r\n\r\n");
    // The server may close before reading everything it was sent.
    let _ = stream.write_all(request.as_bytes()).await;
    let answer = raw_http::read_some(&mut stream, 0, Duration::from_secs(5)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn oversized_headers_are_refused_and_the_server_keeps_serving() {
    let exporter = serve(
        Security::new(),
        Limits::default().max_header_bytes(10 * 1024),
        None,
    )
    .await;
    // Over the limit but within hyper's read buffer (the limit plus 8 KiB): refused, and
    // counted, by the middleware.
    let answer = raw_request(
        &exporter.addr,
        &format!("X-Big: {}\r\n", "a".repeat(12 * 1024)),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    // Far over: hyper's read buffer is bounded, so it refuses before holding the head.
    let answer = raw_request(
        &exporter.addr,
        &format!("X-Big: {}\r\n", "a".repeat(1024 * 1024)),
    )
    .await;
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 431"),
        "{answer}"
    );
    // Many small headers count as much as one big one (hyper also caps their number).
    let many: String = (0..500)
        .map(|i| format!("X-H{i}: {}\r\n", "b".repeat(20)))
        .collect();
    let answer = raw_request(&exporter.addr, &many).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");

    // The server keeps serving.
    let response = get(&format!("{}/metrics", exporter.base), None).await;
    assert_eq!(response.status(), 200);
    // Exactly the middleware's refusal: the two hyper refuses itself (buffer and header count)
    // never reach it (a known gap, documented).
    let rejected = ("result", "rejected");
    assert_eq!(
        own_counter(&exporter, "exporter_scrapes_total", rejected),
        Some(1.0)
    );
}

#[tokio::test]
async fn scrapes_past_the_limit_get_503_with_retry_after() {
    let exporter = serve(
        Security::new(),
        Limits::default().max_concurrent_scrapes(1),
        Some(Duration::from_millis(1500)),
    )
    .await;
    let url = format!("{}/metrics", exporter.base);
    let first = tokio::spawn({
        let url = url.clone();
        async move { get(&url, None).await.status() }
    });
    // Bounded wait until the first scrape holds the only slot.
    let mut second = None;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let response = get(&url, None).await;
        if response.status() == StatusCode::SERVICE_UNAVAILABLE {
            second = Some(response);
            break;
        }
    }
    let second = second.expect("a concurrent scrape was refused");
    assert_eq!(second.headers()["retry-after"], "1");
    assert_eq!(first.await.expect("first scrape"), 200);
    // The slot is free again.
    assert_eq!(get(&url, None).await.status(), 200);
    let rejected = ("result", "rejected");
    assert_eq!(
        own_counter(&exporter, "exporter_scrapes_total", rejected),
        Some(1.0)
    );
}

#[tokio::test]
async fn a_slow_encoding_times_out_with_503() {
    let exporter = serve(
        Security::new(),
        Limits::default().scrape_timeout(Duration::from_millis(200)),
        Some(Duration::from_millis(600)),
    )
    .await;
    let url = format!("{}/metrics", exporter.base);
    let response = get(&url, None).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        response.text().await.expect("body"),
        "encoding the metrics timed out\n"
    );
    let result = ("result", "timeout");
    assert_eq!(
        own_counter(&exporter, "exporter_scrapes_total", result),
        Some(1.0)
    );
    let success = ("result", "success");
    assert_eq!(
        own_counter(&exporter, "exporter_scrapes_total", success),
        Some(0.0)
    );
}
