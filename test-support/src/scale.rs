//! The scale-out path's real binaries for a test: VictoriaMetrics (stopped and restarted on the
//! same data), Prometheus in agent mode, vmalert and Alertmanager, each on a loopback port with
//! its state in a temporary directory, killed when dropped.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::binaries::{free_port, require, ChildGuard};
use crate::prometheus::wait_until_ok;

/// Replaces each `(from, to)` in `text`, panicking when one is absent (the shipped file changed
/// shape) or when `left` (a compose service name) is still there afterwards.
pub fn localize(text: &str, replacements: &[(&str, &str)], left: &[&str]) -> String {
    let mut out = text.to_owned();
    for (from, to) in replacements {
        assert!(out.contains(from), "{from:?} is not in the file any more");
        out = out.replace(from, to);
    }
    for name in left {
        assert!(!out.contains(name), "{name:?} is left in:\n{out}");
    }
    out
}

/// Where a server writes its log, and the log's tail for failure messages.
#[derive(Debug)]
struct Logged {
    path: PathBuf,
}

impl Logged {
    fn new(dir: &Path, name: &str) -> (Self, Stdio) {
        let path = dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&path).expect("create a log file");
        (Self { path }, Stdio::from(file))
    }

    fn tail(&self) -> String {
        let text = std::fs::read_to_string(&self.path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

/// A single-node VictoriaMetrics. Queries see samples within about a second
/// (`-search.latencyOffset=0s`, no response cache, and `/internal/force_flush` every 250 ms:
/// left alone, 1.79 makes a new series searchable only after about 10 s, which a chain of
/// recording rules pays once per step), so a test reads what was just written.
#[derive(Debug)]
pub struct VictoriaMetrics {
    /// Base URL of its HTTP API (Prometheus query API, `/api/v1/write`).
    pub url: String,
    addr: String,
    dedup: Option<String>,
    // Declared before `dir`: the process stops before its data goes.
    child: Option<ChildGuard>,
    flusher: Option<tokio::task::JoinHandle<()>>,
    dir: tempfile::TempDir,
    log: Logged,
}

impl Drop for VictoriaMetrics {
    fn drop(&mut self) {
        self.stop();
    }
}

impl VictoriaMetrics {
    /// Starts it, deduplicating to one sample per series per `dedup` when given (an HA pair),
    /// and waits until it is healthy.
    pub async fn start(dedup: Option<&str>) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let addr = format!("127.0.0.1:{}", free_port());
        let (log, _) = Logged::new(dir.path(), "victoria-metrics");
        let mut store = Self {
            url: format!("http://{addr}"),
            addr,
            dedup: dedup.map(str::to_owned),
            child: None,
            flusher: None,
            dir,
            log,
        };
        store.restart().await;
        store
    }

    /// Stops it (its data stays).
    pub fn stop(&mut self) {
        if let Some(flusher) = self.flusher.take() {
            flusher.abort();
        }
        self.child = None;
    }

    /// Starts it again on the same address and data, and waits until it is healthy.
    pub async fn restart(&mut self) {
        let binary = require("victoria-metrics");
        let log = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.log.path)
            .expect("open the store's log");
        let mut command = Command::new(binary);
        command
            .arg(format!(
                "-storageDataPath={}",
                self.dir.path().join("data").display()
            ))
            .arg(format!("-httpListenAddr={}", self.addr))
            .arg("-retentionPeriod=1d")
            .arg("-search.latencyOffset=0s")
            .arg("-search.disableCache")
            .stdout(Stdio::null())
            .stderr(Stdio::from(log));
        if let Some(dedup) = &self.dedup {
            command.arg(format!("-dedup.minScrapeInterval={dedup}"));
        }
        self.child = Some(ChildGuard::spawn(&mut command));
        wait_until_ok(&format!("{}/health", self.url), Duration::from_secs(20)).await;
        let flush = format!("{}/internal/force_flush", self.url);
        self.flusher = Some(tokio::spawn(async move {
            let client = reqwest::Client::new();
            loop {
                let _ = client.get(&flush).send().await;
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }));
    }

    /// The remote-write URL agents send to.
    pub fn write_url(&self) -> String {
        format!("{}/api/v1/write", self.url)
    }

    /// The tail of its log.
    pub fn logs(&self) -> String {
        format!("--- victoria-metrics\n{}", self.log.tail())
    }
}

/// A Prometheus server in agent mode (`--enable-feature=agent`, Prometheus 2.x) with the given
/// configuration.
#[derive(Debug)]
pub struct Agent {
    /// Base URL of its HTTP API (`/metrics`, `/api/v1/targets`).
    pub url: String,
    name: String,
    log: Logged,
    _child: ChildGuard,
    _dir: tempfile::TempDir,
}

impl Agent {
    /// Starts it with `config` (a file's text) and waits until it is ready.
    pub async fn start(name: &str, config: &str) -> Self {
        let binary = require("prometheus");
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let path = dir.path().join("agent.yml");
        std::fs::write(&path, config).expect("write the agent's config");
        let (log, stderr) = Logged::new(dir.path(), name);
        let child = ChildGuard::spawn(
            Command::new(binary)
                .arg("--enable-feature=agent")
                .arg(format!("--config.file={}", path.display()))
                .arg(format!(
                    "--storage.agent.path={}",
                    dir.path().join("wal").display()
                ))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .stdout(Stdio::null())
                .stderr(stderr),
        );
        let agent = Self {
            url: format!("http://127.0.0.1:{port}"),
            name: name.to_owned(),
            log,
            _child: child,
            _dir: dir,
        };
        wait_until_ok(&format!("{}/-/ready", agent.url), Duration::from_secs(20)).await;
        agent
    }

    /// The `instance` of every active target of `job`.
    pub async fn targets(&self, job: &str) -> Vec<String> {
        let answer: serde_json::Value = reqwest::get(format!("{}/api/v1/targets", self.url))
            .await
            .expect("the agent's targets")
            .json()
            .await
            .expect("targets are JSON");
        answer["data"]["activeTargets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| t["labels"]["job"] == job)
            .filter_map(|t| t["labels"]["instance"].as_str().map(str::to_owned))
            .collect()
    }

    /// The tail of its log.
    pub fn logs(&self) -> String {
        format!("--- {}\n{}", self.name, self.log.tail())
    }
}

/// vmalert evaluating rule files against a store, writing recording rules and alert state back
/// to it and notifying an Alertmanager.
#[derive(Debug)]
pub struct VmAlert {
    /// Base URL of its HTTP API (`/api/v1/rules`).
    pub url: String,
    log: Logged,
    _child: ChildGuard,
    _dir: tempfile::TempDir,
}

impl VmAlert {
    /// Starts it on `rules` (files), evaluating every `interval`, and waits until it is healthy.
    pub async fn start(rules: &[PathBuf], store: &str, alertmanager: &str, interval: &str) -> Self {
        let binary = require("vmalert");
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let (log, stderr) = Logged::new(dir.path(), "vmalert");
        let mut command = Command::new(binary);
        for rule in rules {
            command.arg(format!("-rule={}", rule.display()));
        }
        command
            .arg(format!("-datasource.url={store}"))
            .arg(format!("-remoteWrite.url={store}"))
            .arg(format!("-remoteRead.url={store}"))
            .arg(format!("-notifier.url={alertmanager}"))
            .arg(format!("-evaluationInterval={interval}"))
            // Recording rules that read other rules' results (the SLO ratios) see them once
            // they are flushed to the store: every 5 s by default, a step of the chain each.
            .arg("-remoteWrite.flushInterval=500ms")
            .arg("-external.label=stack=deploy")
            .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(stderr);
        let vmalert = Self {
            url: format!("http://127.0.0.1:{port}"),
            log,
            _child: ChildGuard::spawn(&mut command),
            _dir: dir,
        };
        wait_until_ok(&format!("{}/health", vmalert.url), Duration::from_secs(20)).await;
        vmalert
    }

    /// Every rule of every group, as `/api/v1/rules` lists them (vmalert 1.79 has no
    /// `/api/v1/groups`).
    pub async fn rules(&self) -> Vec<serde_json::Value> {
        let answer: serde_json::Value = reqwest::get(format!("{}/api/v1/rules", self.url))
            .await
            .expect("vmalert's rules")
            .json()
            .await
            .expect("groups are JSON");
        answer["data"]["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|group| group["rules"].as_array().cloned().unwrap_or_default())
            .collect()
    }

    /// The tail of its log.
    pub fn logs(&self) -> String {
        format!("--- vmalert\n{}", self.log.tail())
    }
}

/// Alertmanager with the shipped routing (`deploy/alertmanager/alertmanager.yml`), every
/// receiver posting to `webhook_url`, groups sent after `group_wait`.
#[derive(Debug)]
pub struct Alertmanager {
    /// Base URL of its API.
    pub url: String,
    _child: ChildGuard,
    _dir: tempfile::TempDir,
}

impl Alertmanager {
    /// Starts it and waits until it is ready.
    pub async fn start(webhook_url: &str, group_wait: &str) -> Self {
        let binary = require("prometheus-alertmanager");
        let dir = tempfile::tempdir().expect("temp dir");
        let secrets = format!(
            "{}/",
            crate::deploy::dir().join("alertmanager/secrets").display()
        );
        let config = localize(
            &crate::deploy::read("alertmanager/alertmanager.yml"),
            &[
                ("http://host.docker.internal:5001/alerts", webhook_url),
                (
                    "  group_wait: 30s\n",
                    &format!("  group_wait: {group_wait}\n"),
                ),
                ("/etc/alertmanager/secrets/", &secrets),
            ],
            &["host.docker.internal"],
        );
        let path = dir.path().join("alertmanager.yml");
        std::fs::write(&path, config).expect("write Alertmanager's config");
        let port = free_port();
        let child = ChildGuard::spawn(
            Command::new(binary)
                .arg(format!("--config.file={}", path.display()))
                .arg(format!(
                    "--storage.path={}",
                    dir.path().join("data").display()
                ))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .arg("--cluster.listen-address=")
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        );
        let alertmanager = Self {
            url: format!("http://127.0.0.1:{port}"),
            _child: child,
            _dir: dir,
        };
        wait_until_ok(
            &format!("{}/-/ready", alertmanager.url),
            Duration::from_secs(20),
        )
        .await;
        alertmanager
    }
}
