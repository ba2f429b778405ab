//! The monitoring stack in `deploy/`: its files, and the stack run natively by
//! `deploy/run-native.sh` (Prometheus and Alertmanager from the system, no Docker, and the
//! prober: this workspace's `metrics-exporter` binary).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::binaries::{free_port, require, ProcessGroup};

/// The repository's `deploy/` directory.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("test-support lives in the workspace")
        .join("deploy")
}

/// The text of `deploy/<relative>`.
pub fn read(relative: &str) -> String {
    let path = dir().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The workspace's root directory.
fn workspace() -> PathBuf {
    dir()
        .parent()
        .expect("deploy/ is in the workspace")
        .to_owned()
}

/// `deploy/<relative>` parsed as YAML.
pub fn yaml(relative: &str) -> serde_norway::Value {
    serde_norway::from_str(&read(relative))
        .unwrap_or_else(|e| panic!("{relative} is not YAML: {e}"))
}

/// `deploy/<relative>` parsed as JSON.
pub fn json(relative: &str) -> serde_json::Value {
    serde_json::from_str(&read(relative)).unwrap_or_else(|e| panic!("{relative} is not JSON: {e}"))
}

/// What the native stack scrapes and where it sends notifications.
#[derive(Debug, Clone)]
pub struct NativeStackConfig {
    /// `host:port` of the service's `/metrics`.
    pub demo_target: String,
    /// Where every Alertmanager receiver posts.
    pub webhook_url: String,
    /// Scrape and rule evaluation interval, e.g. `1s`.
    pub scrape_interval: String,
    /// Alertmanager's `group_wait`, e.g. `1s`.
    pub group_wait: String,
    /// One more rule file to load, besides the shipped ones.
    pub extra_rules: Option<PathBuf>,
    /// The prober to run, if any.
    pub prober: Option<ProberConfig>,
}

/// The prober that run-native.sh starts: the `metrics-exporter` binary, on a free loopback port.
#[derive(Debug, Clone)]
pub struct ProberConfig {
    /// The binary ([`prober_binary`]).
    pub binary: PathBuf,
    /// Its `TARGETS`: comma-separated, each optionally `name=URL`.
    pub targets: String,
    /// Its `PROBE_INTERVAL`, e.g. `1s`.
    pub interval: String,
}

/// The `metrics-exporter` binary that cargo built next to this test, checked to be newer than
/// the Rust sources it is built from (those of metrics-exporter and metrics-core: cargo
/// rebuilds, and so touches, the binary when one of them is newer).
///
/// Another package's binary is not available to a test through `CARGO_BIN_EXE_*`, and building
/// it from the test would race with, or rebuild for other features than, the cargo that runs
/// it. But `cargo test --workspace` (scripts/test.sh, CI) builds every package's binaries into
/// the target directory before it runs any test, so it is there, fresh. After a narrower
/// `cargo test -p examples`, build it first: `cargo build -p metrics-exporter --features standalone`; a missing or
/// stale binary fails the test with that advice, rather than testing old code.
pub fn prober_binary() -> PathBuf {
    let test = std::env::current_exe().expect("the test's own path");
    // <target>/<profile>/deps/<test>: the binaries are in <target>/<profile>/.
    let profile_dir = test
        .parent()
        .and_then(Path::parent)
        .expect("a test binary lives in <target>/<profile>/deps");
    let binary = profile_dir.join("metrics-exporter");
    let advice = "run `cargo test --workspace`, or `cargo build -p metrics-exporter --features standalone --bin metrics-exporter` before testing one package";
    let built = std::fs::metadata(&binary)
        .and_then(|m| m.modified())
        .unwrap_or_else(|e| {
            panic!(
                "no metrics-exporter binary at {} ({e}): {advice}",
                binary.display()
            )
        });
    let root = workspace();
    let mut sources = Vec::new();
    for package in ["metrics-exporter", "metrics-core"] {
        collect_rust_files(&root.join(package).join("src"), &mut sources);
    }
    for source in sources {
        let changed = std::fs::metadata(&source)
            .and_then(|m| m.modified())
            .unwrap_or_else(|e| panic!("{}: {e}", source.display()));
        assert!(
            changed <= built,
            "{} is older than {}: {advice}",
            binary.display(),
            source.display()
        );
    }
    binary
}

/// Every `.rs` file under `dir`, recursively.
fn collect_rust_files(dir: &Path, into: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("list {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            collect_rust_files(&path, into);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            into.push(path);
        }
    }
}

/// `deploy/run-native.sh` running on free loopback ports, with its state in a temporary
/// directory; the script and everything it started stop when this is dropped.
#[derive(Debug)]
pub struct NativeStack {
    /// Prometheus' base URL.
    pub prometheus_url: String,
    /// Alertmanager's base URL.
    pub alertmanager_url: String,
    // Declared first so it is dropped first: the servers stop before their state directory goes.
    script: ProcessGroup,
    state: tempfile::TempDir,
}

impl NativeStack {
    /// Starts the stack and waits until Prometheus and Alertmanager are ready. Alerts are resent
    /// every 2 s (a test cannot wait for the default minute if the first send is dropped).
    pub async fn start(config: &NativeStackConfig) -> Self {
        require("prometheus");
        require("prometheus-alertmanager");
        let state = tempfile::tempdir().expect("temp dir");
        let prometheus_addr = format!("127.0.0.1:{}", free_port());
        let alertmanager_addr = format!("127.0.0.1:{}", free_port());
        let mut command = Command::new("bash");
        command
            .arg(dir().join("run-native.sh"))
            .env("DEMO_TARGET", &config.demo_target)
            .env("PROMETHEUS_ADDR", &prometheus_addr)
            .env("ALERTMANAGER_ADDR", &alertmanager_addr)
            .env("NODE_EXPORTER_ADDR", format!("127.0.0.1:{}", free_port()))
            .env("SCRAPE_INTERVAL", &config.scrape_interval)
            .env("WEBHOOK_URL", &config.webhook_url)
            .env("GROUP_WAIT", &config.group_wait)
            .env("RESEND_DELAY", "2s")
            .env("STATE_DIR", state.path())
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(state.path().join("run-native.log"))
                    .expect("create the script's log"),
            ));
        if let Some(rules) = &config.extra_rules {
            command.env("EXTRA_RULES", rules);
        }
        match &config.prober {
            Some(prober) => {
                command
                    .env("PROBER_BIN", &prober.binary)
                    .env("PROBER_ADDR", format!("127.0.0.1:{}", free_port()))
                    .env("PROBE_TARGETS", &prober.targets)
                    .env("PROBE_INTERVAL", &prober.interval)
                    .env_remove("TARGETS_FILE");
            }
            None => {
                command.env("PROBER_BIN", "none");
            }
        }
        let mut stack = Self {
            prometheus_url: format!("http://{prometheus_addr}"),
            alertmanager_url: format!("http://{alertmanager_addr}"),
            script: ProcessGroup::spawn(&mut command),
            state,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready =
                is_ready(&stack.alertmanager_url).await && is_ready(&stack.prometheus_url).await;
            if ready {
                return stack;
            }
            assert!(
                stack.is_running() && Instant::now() < deadline,
                "the native stack stopped, or was not ready within 30 s:\n{}",
                stack.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Whether the script is still running.
    pub fn is_running(&mut self) -> bool {
        self.script.is_running()
    }

    /// The tail of the script's, Prometheus' and Alertmanager's logs, for failure messages.
    pub fn logs(&self) -> String {
        [
            "run-native.log",
            "prometheus.log",
            "alertmanager.log",
            "prober.log",
        ]
        .iter()
        .map(|name| {
            let text = std::fs::read_to_string(self.state.path().join(name)).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(15)..];
            format!("--- {name}\n{}", tail.join("\n"))
        })
        .collect::<Vec<_>>()
        .join("\n")
    }
}

/// Whether `{url}/-/ready` answers 200.
async fn is_ready(url: &str) -> bool {
    reqwest::get(format!("{url}/-/ready"))
        .await
        .is_ok_and(|response| response.status().is_success())
}

/// Every bundled dashboard: file name and JSON, sorted by name.
pub fn dashboards() -> Vec<(String, serde_json::Value)> {
    let folder = dir().join("grafana/dashboards");
    let mut names: Vec<String> = std::fs::read_dir(&folder)
        .unwrap_or_else(|e| panic!("list {}: {e}", folder.display()))
        .map(|entry| {
            entry
                .expect("directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.ends_with(".json"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let dashboard = json(&format!("grafana/dashboards/{name}"));
            (name, dashboard)
        })
        .collect()
}

/// Every panel of a dashboard, those inside rows included (rows themselves excluded).
pub fn panels(dashboard: &serde_json::Value) -> Vec<&serde_json::Value> {
    fn walk<'a>(panels: &'a serde_json::Value, into: &mut Vec<&'a serde_json::Value>) {
        for panel in panels.as_array().into_iter().flatten() {
            if panel["type"] == "row" {
                walk(&panel["panels"], into);
            } else {
                into.push(panel);
            }
        }
    }
    let mut found = Vec::new();
    walk(&dashboard["panels"], &mut found);
    found
}

/// The PromQL queries of a panel.
pub fn queries(panel: &serde_json::Value) -> Vec<&str> {
    panel["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|target| target["expr"].as_str())
        .collect()
}

/// A dashboard query as Grafana would send it with every variable at "All": each template
/// variable becomes its `allValue` (`.+`) and `$__rate_interval` becomes `rate_interval`.
pub fn substitute_variables(
    expr: &str,
    dashboard: &serde_json::Value,
    rate_interval: &str,
) -> String {
    let mut expr = expr.replace("$__rate_interval", rate_interval);
    for variable in dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let (Some(name), Some(all)) = (variable["name"].as_str(), variable["allValue"].as_str())
        else {
            continue;
        };
        expr = expr
            .replace(&format!("${{{name}}}"), all)
            .replace(&format!("${name}"), all);
    }
    expr
}
