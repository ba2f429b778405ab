//! A real Prometheus scrapes protected exporters: with `authorization` (bearer token from a
//! file), with `basic_auth` (a web-config.yml with a bcrypt hash), and over TLS with a client
//! certificate (`tls_config`; certificates made here with rcgen). The same scrapes without the
//! credentials fail and their `up` is 0.

use std::time::Duration;

use metrics_exporter::security::{Security, WebConfig};
use metrics_exporter::Exporter;
use test_support::prometheus::Prometheus;

mod common;
use common::Served;

async fn start(configure: impl FnOnce(Exporter) -> Exporter) -> (String, Served) {
    let served = common::serve(None, configure).await;
    (served.addr.clone(), served)
}

fn job(name: &str, target: &str, extra: &str) -> String {
    format!("  - job_name: '{name}'\n{extra}    static_configs:\n      - targets: ['{target}']\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_with_bearer_basic_auth_and_tls_and_fails_without() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();

    // Bearer token, read by both sides from files.
    std::fs::write(d.join("token"), "t0ken-for-prometheus\n").expect("write");
    let token_file = d.join("token");
    let (bearer_addr, _bearer) = start(|e| {
        e.security(
            Security::new()
                .bearer_token_file(&token_file)
                .expect("token file"),
        )
    })
    .await;

    // Basic auth from a web-config.yml, as node-exporter would read it.
    let hash = bcrypt::hash("scrape-password", 4).expect("hash");
    std::fs::write(d.join("password"), "scrape-password").expect("write");
    std::fs::write(
        d.join("basic-web-config.yml"),
        format!("basic_auth_users:\n  prometheus: {hash}\n"),
    )
    .expect("write");
    let basic = WebConfig::from_file(d.join("basic-web-config.yml")).expect("web config");
    let (basic_addr, _basic) = start(|e| e.web_config(&basic).expect("apply")).await;

    // TLS requiring a client certificate; paths relative to the file.
    test_support::pki::write(d);
    std::fs::write(
        d.join("tls-web-config.yml"),
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n  min_version: TLS12\n",
    )
    .expect("write");
    let tls = WebConfig::from_file(d.join("tls-web-config.yml")).expect("web config");
    let (tls_addr, _tls) = start(|e| e.web_config(&tls).expect("apply")).await;

    let p = d.display();
    let configs = [
        job(
            "bearer",
            &bearer_addr,
            &format!("    authorization:\n      type: Bearer\n      credentials_file: {p}/token\n"),
        ),
        job("bearer-none", &bearer_addr, ""),
        job(
            "basic",
            &basic_addr,
            &format!("    basic_auth:\n      username: prometheus\n      password_file: {p}/password\n"),
        ),
        job("basic-none", &basic_addr, ""),
        job(
            "tls",
            &tls_addr,
            &format!("    scheme: https\n    tls_config:\n      ca_file: {p}/ca.crt\n      cert_file: {p}/client.crt\n      key_file: {p}/client.key\n      server_name: localhost\n"),
        ),
        job(
            "tls-none",
            &tls_addr,
            &format!("    scheme: https\n    tls_config:\n      ca_file: {p}/ca.crt\n      server_name: localhost\n"),
        ),
    ]
    .concat();
    let prometheus = Prometheus::start_with_scrape_configs(&configs).await;

    let up = prometheus
        .wait_for_value(
            "sum(up{job=~\"bearer|basic|tls\"})",
            3.0,
            Duration::from_secs(25),
        )
        .await;
    assert_eq!(up, Some(3.0), "{:?}", prometheus.query("up").await);
    let down = prometheus
        .wait_for_value(
            "count(up{job=~\"bearer-none|basic-none|tls-none\"} == 0)",
            3.0,
            Duration::from_secs(10),
        )
        .await;
    assert_eq!(down, Some(3.0), "{:?}", prometheus.query("up").await);

    // The refused scrapes are visible in the exporter's own counters (the next scrape
    // carries the count of the refused ones).
    for (job, result) in [
        ("bearer", "unauthorized"),
        ("basic", "unauthorized"),
        ("tls", "success"),
    ] {
        let expr =
            format!("count(exporter_scrapes_total{{job=\"{job}\",result=\"{result}\"}} >= 1)");
        let seen = prometheus
            .wait_for_value(&expr, 1.0, Duration::from_secs(10))
            .await;
        assert_eq!(seen, Some(1.0), "{expr}");
    }
}
