//! A real Prometheus server for a test: temporary data dir, loopback address, stopped on drop.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::binaries::{free_port, require, ChildGuard};

/// A running Prometheus scraping the given targets.
#[derive(Debug)]
pub struct Prometheus {
    /// Base URL of its HTTP API, e.g. `http://127.0.0.1:9090`.
    pub url: String,
    _child: ChildGuard,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts Prometheus scraping `targets` (host:port) at `/metrics` every second, and waits
    /// until it is ready.
    pub async fn start(job: &str, targets: &[String]) -> Self {
        let targets = targets
            .iter()
            .map(|t| format!("'{t}'"))
            .collect::<Vec<_>>()
            .join(", ");
        Self::start_with_scrape_configs(&format!(
            "  - job_name: '{job}'\n    static_configs:\n      - targets: [{targets}]\n"
        ))
        .await
    }

    /// Starts Prometheus with a scrape interval of one second and the given `scrape_configs`
    /// entries (YAML list items indented by two spaces, e.g. with `authorization`, `basic_auth`
    /// or `tls_config` whose files the test wrote), and waits until it is ready.
    pub async fn start_with_scrape_configs(scrape_configs: &str) -> Self {
        Self::start_with_flags(scrape_configs, &[]).await
    }

    /// [`start_with_scrape_configs`](Self::start_with_scrape_configs), with more command-line
    /// flags (e.g. `--enable-feature=exemplar-storage`).
    pub async fn start_with_flags(scrape_configs: &str, flags: &[&str]) -> Self {
        let binary = require("prometheus");
        let dir = tempfile::tempdir().expect("temp dir");
        let config = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\nscrape_configs:\n{scrape_configs}"
        );
        let config_path: PathBuf = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, config).expect("write config");
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let child = ChildGuard::spawn(
            Command::new(binary)
                .arg(format!("--config.file={}", config_path.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.path().join("data").display()
                ))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .args(flags)
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        );
        let prometheus = Self {
            url,
            _child: child,
            _dir: dir,
        };
        wait_until_ok(
            &format!("{}/-/ready", prometheus.url),
            Duration::from_secs(20),
        )
        .await;
        prometheus
    }

    /// Runs an instant query; returns each series' labels and value.
    pub async fn query(&self, expr: &str) -> Vec<(serde_json::Value, f64)> {
        query(&self.url, expr).await
    }

    /// The trace ids of the exemplars stored for the series `selector` selects, over the last
    /// hour.
    pub async fn exemplar_trace_ids(&self, selector: &str) -> Vec<String> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        let response: serde_json::Value = reqwest::Client::new()
            .get(format!("{}/api/v1/query_exemplars", self.url))
            .query(&[
                ("query", selector.to_owned()),
                ("start", (now - 3600).to_string()),
                ("end", (now + 60).to_string()),
            ])
            .send()
            .await
            .expect("query exemplars")
            .json()
            .await
            .expect("exemplars are JSON");
        assert_eq!(response["status"], "success", "{response}");
        let mut ids: Vec<String> = response["data"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|series| series["exemplars"].as_array().cloned().unwrap_or_default())
            .filter_map(|e| e["labels"]["trace_id"].as_str().map(str::to_owned))
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// Polls `expr` until its single value equals `expected` or `timeout` passes; returns the
    /// last value seen.
    pub async fn wait_for_value(
        &self,
        expr: &str,
        expected: f64,
        timeout: Duration,
    ) -> Option<f64> {
        let deadline = Instant::now() + timeout;
        let mut last = None;
        while Instant::now() < deadline {
            let result = self.query(expr).await;
            last = result.first().map(|(_, v)| *v);
            if last == Some(expected) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        last
    }
}

/// Runs an instant query against the Prometheus at `url` and returns its whole JSON answer,
/// whatever its status (for asserting on errors).
pub async fn query_response(url: &str, expr: &str) -> serde_json::Value {
    reqwest::Client::new()
        .get(format!("{url}/api/v1/query"))
        .query(&[("query", expr)])
        .send()
        .await
        .expect("query Prometheus")
        .json()
        .await
        .expect("query result is JSON")
}

/// Runs an instant query against the Prometheus at `url`; panics unless it succeeds. Returns each
/// series' labels and value.
pub async fn query(url: &str, expr: &str) -> Vec<(serde_json::Value, f64)> {
    let response = query_response(url, expr).await;
    assert_eq!(response["status"], "success", "query {expr}: {response}");
    response["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|series| {
            let value = series["value"][1]
                .as_str()
                .and_then(|v| v.parse().ok())
                .unwrap_or(f64::NAN);
            (series["metric"].clone(), value)
        })
        .collect()
}

/// Waits until `GET url` answers 200 (e.g. a server's `/-/ready`), for at most `timeout`.
pub async fn wait_until_ok(url: &str, timeout: Duration) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + timeout;
    loop {
        let ok = client
            .get(url)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if ok {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{url} did not answer 200 in {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
