//! The prober beside the real blackbox exporter (Debian `prometheus-blackbox-exporter`, 0.23):
//! both probe the same local servers (a plain page, a redirect chain, one redirect over the
//! limit of 10, a 300 with a `Location` (not followed), a 404, TLS with HTTP/2
//! and with HTTP/1.1 only, body expressions that match and that do not, a refused connection,
//! IPv6 loopback where the machine has it)
//! and their `probe_*` series are compared one by one: names, types, values and labels, with
//! timings compared for presence only. Our `target` label is removed first; the series only we
//! export and the deliberate differences are listed below, each with its reason (and in
//! docs/prober.md, "Differences from the blackbox exporter"). A comparison table per case is
//! printed (`--nocapture` shows it).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use axum::extract::Path as UrlPath;
use axum::http::header::{LAST_MODIFIED, LOCATION};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use axum::Router;
use metrics_exporter::prober::{IpProtocol, ProbeTarget, Prober};
use metrics_toolkit::{Format, MetricsRegistry};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use test_support::binaries::{free_port, require, ChildGuard};
use test_support::tls_server::TlsServer;
use test_support::Scrape;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The plain page's body and its `Last-Modified` (2015-10-21T07:28:00Z).
const PAGE: &str = "hello parity\n";
const LAST_MODIFIED_AT: &str = "Wed, 21 Oct 2015 07:28:00 GMT";
/// What the TLS servers answer, whatever the HTTP version.
const TLS_PAGE: &str = "hello over tls\n";
/// Time allowed to either prober for one probe; the servers answer at once.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Series only our prober exports, not the blackbox exporter (docs/prober.md lists them).
const OURS_ONLY: &[(&str, &str)] = &[
    (
        "probe_checks_total",
        "ours: the blackbox exporter answers one probe per scrape and keeps no count",
    ),
    (
        "probe_last_success_timestamp_seconds",
        "ours: a kept result needs its age; /probe answers are always fresh",
    ),
];

/// Timings: both must have them, with the same labels; values differ from run to run.
const TIMINGS: &[&str] = &[
    "probe_duration_seconds",
    "probe_dns_lookup_time_seconds",
    "probe_http_duration_seconds",
];

/// Deliberate differences from the blackbox exporter 0.23: a series, or a label of one, that
/// only our side has. Each is documented in docs/prober.md; where the blackbox exporter has it
/// too (a newer version), it is compared as any other.
struct Allowed {
    /// Series name.
    name: &'static str,
    /// A label only our side carries; `None`: the whole series differs.
    label: Option<&'static str>,
    reason: &'static str,
}

const ALLOWED: &[Allowed] = &[
    Allowed {
        name: "probe_ssl_last_chain_info",
        label: Some("serialnumber"),
        reason: "label added in blackbox exporter 0.26 (#1333); 0.23 lacks it",
    },
    Allowed {
        name: "probe_tls_cipher_info",
        label: None,
        reason: "series added in blackbox exporter 0.26 (#1203); 0.23 lacks it",
    },
];

/// A server stopped when dropped.
struct Server {
    task: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The plain server on `listener`: `/` (PAGE, with Last-Modified), `/hop/N` (N redirects,
/// 303 each, to `/hop/0` which answers "arrived"); anything else is a 404.
fn plain_server(listener: TcpListener) -> Server {
    let app = Router::new()
        .route(
            "/",
            get(|| async { ([(LAST_MODIFIED, LAST_MODIFIED_AT)], PAGE) }),
        )
        .route(
            "/hop/{n}",
            get(|UrlPath(n): UrlPath<u32>| async move {
                if n == 0 {
                    "arrived\n".into_response()
                } else {
                    Redirect::to(&format!("/hop/{}", n - 1)).into_response()
                }
            }),
        )
        // A 300 with a Location: an answer, not a redirect, to Go's client.
        .route(
            "/choices",
            get(|| async { (StatusCode::MULTIPLE_CHOICES, [(LOCATION, "/")]) }),
        );
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Server { task }
}

/// A TLS server on 127.0.0.1 with the test PKI's server certificate (`localhost`, signed by
/// its CA), offering `alpn` and speaking HTTP/2 when the client chose `h2`, HTTP/1.1 else.
async fn tls_server(pki: &test_support::pki::Pki, alpn: &[&[u8]]) -> (TlsServer, u16) {
    let chain = vec![CertificateDer::from_pem_file(&pki.server.0).expect("certificate")];
    let key = PrivateKeyDer::from_pem_file(&pki.server.1).expect("key");
    let server = test_support::tls_server::serve(chain, key, alpn, |_| {
        hyper::Response::new(http_body_util::Full::new(bytes::Bytes::from_static(
            TLS_PAGE.as_bytes(),
        )))
    })
    .await;
    let port = server.port;
    (server, port)
}

/// The real blackbox exporter on a free loopback port, killed when dropped.
struct Blackbox {
    _child: ChildGuard,
    base: String,
}

/// Modules of the blackbox exporter's configuration, one per kind of case; our targets get
/// the same options in [`ours`].
fn blackbox_config(ca_file: &Path) -> String {
    let module = |name: &str, extra: &str| {
        let protocol = if name == "ip6" { "ip6" } else { "ip4" };
        format!(
            "  {name}:\n    prober: http\n    timeout: {}s\n    http:\n      preferred_ip_protocol: {protocol}\n{extra}",
            PROBE_TIMEOUT.as_secs()
        )
    };
    [
        "modules:\n".to_owned(),
        module("plain", ""),
        module("ip6", ""),
        module(
            "tls",
            &format!(
                "      tls_config:\n        ca_file: {}\n",
                ca_file.display()
            ),
        ),
        module(
            "body_matches",
            "      fail_if_body_not_matches_regexp: ['hello \\w+']\n",
        ),
        module(
            "body_does_not_match",
            "      fail_if_body_not_matches_regexp: ['absent']\n",
        ),
        module(
            "body_forbidden",
            "      fail_if_body_matches_regexp: ['par+ity']\n",
        ),
    ]
    .concat()
}

async fn start_blackbox(dir: &Path, ca_file: &Path) -> Blackbox {
    let binary = require("prometheus-blackbox-exporter");
    let config = dir.join("blackbox.yml");
    std::fs::write(&config, blackbox_config(ca_file)).expect("write config");
    let port = free_port();
    let child = ChildGuard::spawn(
        Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn")
            .stdout(Stdio::null()),
    );
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let healthy = format!("{base}/-/healthy");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        match client.get(&healthy).send().await {
            Ok(response) if response.status().is_success() => break,
            other => {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the blackbox exporter did not come up: {other:?}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    Blackbox {
        _child: child,
        base,
    }
}

impl Blackbox {
    async fn probe(&self, url: &str, module: &str) -> Scrape {
        let response = reqwest::Client::new()
            .get(format!("{}/probe", self.base))
            .query(&[("target", url), ("module", module)])
            .send()
            .await
            .expect("ask the blackbox exporter");
        assert!(response.status().is_success(), "{response:?}");
        Scrape::parse(&response.text().await.expect("probe answer"))
    }
}

/// Our prober, one target with `options` applied to the defaults both sides share: IPv4
/// first (as the modules say) and the same timeout.
async fn ours(url: &str, options: impl FnOnce(ProbeTarget) -> ProbeTarget) -> Scrape {
    let target = options(
        ProbeTarget::new("case", url)
            .timeout(PROBE_TIMEOUT)
            .preferred_ip_protocol(IpProtocol::Ip4),
    );
    let prober = Prober::new(vec![target], 1).expect("valid target");
    let registry = MetricsRegistry::builder()
        .process_metrics(false)
        .build()
        .expect("registry");
    registry.register_collector(prober.clone());
    prober.probe_all().await;
    Scrape::parse(&registry.encode(Format::PrometheusText).expect("encode"))
}

/// A series as `name{label="value",...}` (labels sorted, `target` removed, and those for
/// which `drop(name, label)` holds) with its value and the type of its family.
fn series(scrape: &Scrape, drop: impl Fn(&str, &str) -> bool) -> BTreeMap<String, (f64, String)> {
    scrape
        .samples
        .iter()
        .filter(|s| s.name.starts_with("probe_"))
        .map(|s| {
            let labels: Vec<String> = s
                .labels
                .iter()
                .filter(|(k, _)| k.as_str() != "target" && !drop(&s.name, k))
                .map(|(k, v)| format!("{k}={v:?}"))
                .collect();
            let key = if labels.is_empty() {
                s.name.clone()
            } else {
                format!("{}{{{}}}", s.name, labels.join(","))
            };
            let family = s.name.strip_suffix("_total").unwrap_or(&s.name);
            let kind = scrape
                .types
                .get(&s.name)
                .or_else(|| scrape.types.get(family))
                .cloned()
                .unwrap_or_else(|| "untyped".to_owned());
            (key, (s.value, kind))
        })
        .collect()
}

fn name_of(key: &str) -> &str {
    key.split('{').next().unwrap_or(key)
}

/// Compares one case, prints its table, and returns the differences that are not allowed.
fn compare(case: &str, blackbox: &Scrape, ours: &Scrape) -> Vec<String> {
    // An allowed label of ours is set aside only while the blackbox exporter's series lacks it.
    let set_aside: Vec<&Allowed> = ALLOWED
        .iter()
        .filter(|a| {
            a.label.is_some_and(|label| {
                !blackbox
                    .samples
                    .iter()
                    .any(|s| s.name == a.name && s.labels.contains_key(label))
            })
        })
        .collect();
    let theirs = series(blackbox, |_, _| false);
    let mine = series(ours, |name, label| {
        set_aside
            .iter()
            .any(|a| a.name == name && a.label == Some(label))
    });
    let mine_in_full = series(ours, |_, _| false);
    let keys: BTreeSet<&String> = theirs.keys().chain(mine.keys()).collect();
    let mut rows = Vec::new();
    let mut differences = Vec::new();
    for key in keys {
        let name = name_of(key);
        let show = |side: Option<&(f64, String)>| {
            side.map_or("-".to_owned(), |(value, kind)| format!("{value} ({kind})"))
        };
        let (b, o) = (theirs.get(key), mine.get(key));
        let verdict = if let Some((_, reason)) = OURS_ONLY.iter().find(|(n, _)| *n == name) {
            if b.is_some() {
                format!("DIFF: the blackbox exporter has it ({reason})")
            } else {
                format!("ours only ({reason})")
            }
        } else if let Some(allowed) = ALLOWED
            .iter()
            .find(|a| a.name == name && a.label.is_none() && b.is_none())
        {
            // Only while the blackbox exporter lacks the series: if it has it, it is compared.
            format!("allowed: {}", allowed.reason)
        } else {
            match (b, o) {
                (Some((bv, bk)), Some((ov, ok))) if bk != ok => {
                    format!("DIFF: type {bk} vs {ok} (values {bv}, {ov})")
                }
                (Some(_), Some(_)) if TIMINGS.contains(&name) => "present (timing)".to_owned(),
                (Some((bv, _)), Some((ov, _))) if bv == ov => "same".to_owned(),
                (Some(_), Some(_)) => "DIFF: value".to_owned(),
                (Some(_), None) => "DIFF: blackbox only".to_owned(),
                (None, Some(_)) => "DIFF: ours only".to_owned(),
                (None, None) => unreachable!("a key comes from one side"),
            }
        };
        if verdict.starts_with("DIFF") {
            differences.push(format!("{case}: {key}: {verdict}"));
        }
        rows.push((shortened(key), show(b), show(o), verdict));
    }
    // Labels of ours set aside by the allow-list: shown, with the reason.
    for allowed in set_aside {
        for (key, value) in &mine_in_full {
            if name_of(key) == allowed.name {
                rows.push((
                    format!("  (ours in full) {}", shortened(key)),
                    "-".to_owned(),
                    show_value(value),
                    format!("allowed: {}", allowed.reason),
                ));
            }
        }
    }
    let width =
        |f: fn(&(String, String, String, String)) -> usize| rows.iter().map(f).max().unwrap_or(0);
    let (w0, w1, w2) = (
        width(|r| r.0.len()).max(6),
        width(|r| r.1.len()).max(8),
        width(|r| r.2.len()).max(4),
    );
    println!("\n== case {case} ==");
    println!(
        "{:w0$}  {:w1$}  {:w2$}  verdict",
        "series", "blackbox", "ours"
    );
    for (key, b, o, verdict) in &rows {
        println!("{key:w0$}  {b:w1$}  {o:w2$}  {verdict}");
    }
    differences
}

/// `key` with label values over 24 characters cut (fingerprints, serials) for the table.
fn shortened(key: &str) -> String {
    let mut out = String::new();
    for (i, part) in key.split('"').enumerate() {
        if i > 0 {
            out.push('"');
        }
        // Odd parts are label values.
        if i % 2 == 1 && part.chars().count() > 24 {
            out.extend(part.chars().take(12));
            out.push_str("...");
        } else {
            out.push_str(part);
        }
    }
    out
}

fn show_value((value, kind): &(f64, String)) -> String {
    format!("{value} ({kind})")
}

/// The value of the one sample named `name` of a scrape (a single target on both sides).
fn value(scrape: &Scrape, name: &str) -> Option<f64> {
    let mut values = scrape.samples.iter().filter(|s| s.name == name);
    let first = values.next().map(|s| s.value);
    assert!(values.next().is_none(), "one {name}");
    first
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_prober_agrees_with_the_blackbox_exporter() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pki = test_support::pki::write(dir.path());
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let plain_port = listener.local_addr().expect("addr").port();
    let _plain = plain_server(listener);
    // The IPv6 case where the machine has a loopback address for it.
    let (_v6, v6_port) = match TcpListener::bind("[::1]:0").await {
        Ok(listener) => {
            let port = listener.local_addr().expect("addr").port();
            (Some(plain_server(listener)), Some(port))
        }
        Err(e) => {
            eprintln!("note: no IPv6 loopback here ({e}); the ip6 case is skipped");
            (None, None)
        }
    };
    let (_h2, h2_port) = tls_server(&pki, &[b"h2", b"http/1.1"]).await;
    let (_h1, h1_port) = tls_server(&pki, &[b"http/1.1"]).await;
    let refused_port = free_port();
    let blackbox = start_blackbox(dir.path(), &pki.ca).await;

    let plain = format!("http://localhost:{plain_port}");
    let ca = pki.ca.clone();
    type Options = Box<dyn FnOnce(ProbeTarget) -> ProbeTarget>;
    let same = || -> Options { Box::new(|t| t) };
    let trusted = || -> Options {
        let ca = ca.clone();
        Box::new(move |t| t.ca_file(ca))
    };
    // (case, URL, blackbox module, our options, expected probe_success, probe_http_version)
    let cases: Vec<(&str, String, &str, Options, f64, f64)> = vec![
        ("plain 200", format!("{plain}/"), "plain", same(), 1.0, 1.1),
        (
            "redirect chain",
            format!("{plain}/hop/3"),
            "plain",
            same(),
            1.0,
            1.1,
        ),
        ("404", format!("{plain}/missing"), "plain", same(), 0.0, 1.1),
        // Eleven redirects: one over the limit of 10, the last one's status reported.
        (
            "over the redirect limit",
            format!("{plain}/hop/11"),
            "plain",
            same(),
            0.0,
            1.1,
        ),
        (
            "300 with a Location",
            format!("{plain}/choices"),
            "plain",
            same(),
            0.0,
            1.1,
        ),
        (
            "tls h2",
            format!("https://localhost:{h2_port}/"),
            "tls",
            trusted(),
            1.0,
            2.0,
        ),
        (
            "tls http/1.1 only",
            format!("https://localhost:{h1_port}/"),
            "tls",
            trusted(),
            1.0,
            1.1,
        ),
        (
            "body matches",
            format!("{plain}/"),
            "body_matches",
            Box::new(|t| t.fail_if_body_not_matches_regexp(r"hello \w+")),
            1.0,
            1.1,
        ),
        (
            "body does not match",
            format!("{plain}/"),
            "body_does_not_match",
            Box::new(|t| t.fail_if_body_not_matches_regexp("absent")),
            0.0,
            1.1,
        ),
        (
            "body forbidden",
            format!("{plain}/"),
            "body_forbidden",
            Box::new(|t| t.fail_if_body_matches_regexp("par+ity")),
            0.0,
            1.1,
        ),
        (
            "refused",
            format!("http://localhost:{refused_port}/"),
            "plain",
            same(),
            0.0,
            0.0,
        ),
    ];

    let mut cases = cases;
    if let Some(port) = v6_port {
        cases.push((
            "ipv6 [::1]",
            format!("http://[::1]:{port}/"),
            "ip6",
            Box::new(|t| t.preferred_ip_protocol(IpProtocol::Ip6)),
            1.0,
            1.1,
        ));
    }

    let mut differences = Vec::new();
    for (case, url, module, options, success, version) in cases {
        let theirs = blackbox.probe(&url, module).await;
        let mine = ours(&url, options).await;
        differences.extend(compare(case, &theirs, &mine));
        // Both sides against what the servers make certain, so agreeing in error fails too.
        for (side, scrape) in [("blackbox", &theirs), ("ours", &mine)] {
            assert_eq!(
                value(scrape, "probe_success"),
                Some(success),
                "{case}: {side}"
            );
            assert_eq!(
                value(scrape, "probe_http_version"),
                Some(version),
                "{case}: {side}"
            );
        }
    }
    assert!(
        differences.is_empty(),
        "differences from the blackbox exporter:\n{}",
        differences.join("\n")
    );
}
