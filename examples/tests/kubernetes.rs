//! deploy/kubernetes/, checked three ways. kubernetes-validate (PyPI, pinned in
//! scripts/install-test-deps.sh; it bundles the Kubernetes JSON schemas, so it works offline)
//! validates the core resources strictly against pinned Kubernetes versions. The
//! ServiceMonitors, which those schemas do not cover, use only fields of the Prometheus
//! Operator's API reference and select Services, ports and pods that exist. And the Deployments
//! are run as they say: the quickstart and the prober binary answer the probe paths on the
//! metrics port, the prober with the manifest's environment and the ConfigMap's target file,
//! whose targets succeed against the quickstart.

#[allow(dead_code)]
#[path = "../quickstart.rs"]
mod quickstart;

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::Served;
use metrics_exporter::prober::{parse_target_file, ProbeTarget};
use metrics_exporter::Lifecycle;
use serde_norway::Value;
use test_support::binaries::{free_port, ChildGuard};
use test_support::deploy;
use test_support::scrape::Scrape;

/// The kubernetes-validate release scripts/install-test-deps.sh installs.
const KUBERNETES_VALIDATE: &str = "1.37.0";
/// The Kubernetes versions the core resources are validated against: an older release still
/// common in managed clusters, and the newest whose schemas the pinned package bundles.
const KUBERNETES_VERSIONS: [&str; 2] = ["1.31.0", "1.37.0"];

// The fields the ServiceMonitors may use, as the Prometheus Operator's API reference documents
// them (https://prometheus-operator.dev/docs/api-reference/api/#monitoring.coreos.com/v1.ServiceMonitor).
// Check a field there before adding it here.
/// `ServiceMonitor`: the object.
const MONITOR_FIELDS: &[&str] = &["apiVersion", "kind", "metadata", "spec"];
/// `ServiceMonitor.metadata` (Kubernetes `ObjectMeta`; kustomize sets the namespace).
const METADATA_FIELDS: &[&str] = &["name", "labels", "annotations"];
/// `ServiceMonitorSpec` (#monitoring.coreos.com/v1.ServiceMonitorSpec).
const MONITOR_SPEC_FIELDS: &[&str] = &[
    "selector",
    "endpoints",
    "jobLabel",
    "namespaceSelector",
    "targetLabels",
    "podTargetLabels",
    "sampleLimit",
    "scrapeProtocols",
];
/// `Endpoint` (#monitoring.coreos.com/v1.Endpoint).
const ENDPOINT_FIELDS: &[&str] = &[
    "port",
    "targetPort",
    "path",
    "scheme",
    "interval",
    "scrapeTimeout",
    "honorLabels",
    "relabelings",
    "metricRelabelings",
];
/// `spec.selector`: a Kubernetes `LabelSelector`.
const SELECTOR_FIELDS: &[&str] = &["matchLabels", "matchExpressions"];

/// The quickstart's drain delay (`Lifecycle::drain_delay` in examples/quickstart.rs's `main`).
const QUICKSTART_DRAIN_DELAY_S: u64 = 1;

/// One resource of the kustomization and the file it is in.
struct Resource {
    file: String,
    doc: Value,
}

impl Resource {
    fn kind(&self) -> &str {
        text(&self.doc["kind"])
    }

    fn name(&self) -> &str {
        text(&self.doc["metadata"]["name"])
    }

    fn is_monitor(&self) -> bool {
        text(&self.doc["apiVersion"]).starts_with("monitoring.coreos.com/")
    }
}

fn kubernetes_dir() -> PathBuf {
    deploy::dir().join("kubernetes")
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

fn kustomization() -> Value {
    deploy::yaml("kubernetes/kustomization.yaml")
}

/// Every resource of the files kustomization.yaml lists, in its order.
fn resources() -> Vec<Resource> {
    let mut found = Vec::new();
    for file in kustomization()["resources"]
        .as_sequence()
        .expect("kustomization.yaml lists resources")
    {
        let file = text(file).to_owned();
        let source = deploy::read(&format!("kubernetes/{file}"));
        // Documents are separated by `---` lines (none of ours has one inside a block).
        let mut documents = vec![String::new()];
        for line in source.lines() {
            if line == "---" {
                documents.push(String::new());
            } else if let Some(last) = documents.last_mut() {
                last.push_str(line);
                last.push('\n');
            }
        }
        for document in documents {
            let doc: Value = serde_norway::from_str(&document)
                .unwrap_or_else(|e| panic!("{file} is not YAML: {e}"));
            if !doc.is_null() {
                found.push(Resource {
                    file: file.clone(),
                    doc,
                });
            }
        }
    }
    found
}

fn find<'a>(resources: &'a [Resource], kind: &str, name: &str) -> &'a Value {
    &resources
        .iter()
        .find(|r| r.kind() == kind && r.name() == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
        .doc
}

/// A mapping of strings (labels, a selector's matchLabels).
fn string_map(value: &Value) -> BTreeMap<String, String> {
    value
        .as_mapping()
        .into_iter()
        .flatten()
        .map(|(k, v)| (text(k).to_owned(), text(v).to_owned()))
        .collect()
}

/// Whether every label of `selector` is in `labels` (an empty selector selects nothing here:
/// ours are never empty).
fn selects(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

fn keys(value: &Value) -> BTreeSet<String> {
    value
        .as_mapping()
        .into_iter()
        .flatten()
        .map(|(k, _)| text(k).to_owned())
        .collect()
}

fn assert_only(value: &Value, allowed: &[&str], what: &str) {
    let unknown: Vec<String> = keys(value)
        .into_iter()
        .filter(|k| !allowed.contains(&k.as_str()))
        .collect();
    assert!(
        unknown.is_empty(),
        "{what}: {unknown:?} not in the operator's documented fields {allowed:?}"
    );
}

/// A Prometheus duration (`30s`, `1m30s`, `500ms`: units from y down to ms, each at most once
/// and in that order, as the operator's `Duration` pattern) in milliseconds.
fn prometheus_duration_ms(text: &str) -> u64 {
    const UNITS: [(&str, u64); 7] = [
        ("y", 365 * 86_400_000),
        ("w", 7 * 86_400_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("ms", 1),
        ("m", 60_000),
        ("s", 1000),
    ];
    const ORDER: [&str; 7] = ["y", "w", "d", "h", "m", "s", "ms"];
    let mut rest = text;
    let mut total = 0;
    let mut last = None;
    assert!(!rest.is_empty(), "an empty duration");
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        assert!(digits > 0, "{text:?} is not a Prometheus duration");
        let number: u64 = rest[..digits].parse().expect("digits");
        rest = &rest[digits..];
        let (unit, factor) = UNITS
            .iter()
            .find(|(unit, _)| rest.starts_with(unit))
            .unwrap_or_else(|| panic!("{text:?} is not a Prometheus duration"));
        let position = ORDER.iter().position(|u| u == unit);
        assert!(position > last, "{text:?}: units out of order");
        last = position;
        rest = &rest[unit.len()..];
        total += number * factor;
    }
    total
}

/// Whole seconds of a duration such as `10s` (the env values we set).
fn seconds(text: &str) -> u64 {
    text.strip_suffix('s')
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{text:?} is not a number of seconds"))
}

/// The one container of a Deployment.
fn container(deployment: &Value) -> &Value {
    let containers = deployment["spec"]["template"]["spec"]["containers"]
        .as_sequence()
        .expect("containers");
    assert_eq!(containers.len(), 1, "one container");
    &containers[0]
}

/// A container's environment.
fn env(container: &Value) -> BTreeMap<String, String> {
    container["env"]
        .as_sequence()
        .into_iter()
        .flatten()
        .map(|var| {
            (
                text(&var["name"]).to_owned(),
                text(&var["value"]).to_owned(),
            )
        })
        .collect()
}

/// A container's ports by name.
fn container_ports(container: &Value) -> BTreeMap<String, u64> {
    container["ports"]
        .as_sequence()
        .into_iter()
        .flatten()
        .map(|port| {
            (
                text(&port["name"]).to_owned(),
                port["containerPort"].as_u64().expect("containerPort"),
            )
        })
        .collect()
}

/// The port of an `IP:PORT` listen address.
fn port_of(addr: &str) -> u64 {
    addr.rsplit_once(':')
        .and_then(|(_, port)| port.parse().ok())
        .unwrap_or_else(|| panic!("{addr:?} is not IP:PORT"))
}

/// The probes are where the exporter serves them (`Exporter::router`: `/startup`, `/live`,
/// `/ready`), all on the container port named `metrics`, which is the port `METRICS_ADDR`
/// listens on.
fn assert_probes_on_the_metrics_port(deployment: &Value) {
    let container = container(deployment);
    let name = text(&deployment["metadata"]["name"]);
    for (probe, path) in [
        ("startupProbe", "/startup"),
        ("livenessProbe", "/live"),
        ("readinessProbe", "/ready"),
    ] {
        let get = &container[probe]["httpGet"];
        assert_eq!(text(&get["path"]), path, "{name}: {probe}'s path");
        assert_eq!(text(&get["port"]), "metrics", "{name}: {probe}'s port");
    }
    let ports = container_ports(container);
    assert_eq!(
        ports.get("metrics"),
        Some(&9464),
        "{name}: the metrics port"
    );
    assert_eq!(
        port_of(&env(container)["METRICS_ADDR"]),
        9464,
        "{name}: METRICS_ADDR listens on the metrics port"
    );
}

/// Non-root, read-only, no capability, the runtime's seccomp profile (the Pod Security
/// Standards' "restricted" profile, which namespace.yaml enforces), and resources set.
fn assert_restricted(deployment: &Value) {
    let name = text(&deployment["metadata"]["name"]);
    let pod = &deployment["spec"]["template"]["spec"]["securityContext"];
    assert_eq!(pod["runAsNonRoot"].as_bool(), Some(true), "{name}");
    // The distroless image's "nonroot" user: the kubelet checks runAsNonRoot only by number.
    assert_eq!(pod["runAsUser"].as_u64(), Some(65532), "{name}");
    assert_eq!(
        text(&pod["seccompProfile"]["type"]),
        "RuntimeDefault",
        "{name}"
    );
    let container = container(deployment);
    let security = &container["securityContext"];
    assert_eq!(
        security["readOnlyRootFilesystem"].as_bool(),
        Some(true),
        "{name}"
    );
    assert_eq!(
        security["allowPrivilegeEscalation"].as_bool(),
        Some(false),
        "{name}"
    );
    assert_eq!(security["runAsNonRoot"].as_bool(), Some(true), "{name}");
    assert_eq!(
        security["capabilities"]["drop"],
        serde_norway::from_str::<Value>("[ALL]").expect("YAML"),
        "{name}: every capability dropped"
    );
    assert_eq!(
        text(&container["imagePullPolicy"]),
        "IfNotPresent",
        "{name}"
    );
    for (section, resource) in [
        ("requests", "cpu"),
        ("requests", "memory"),
        ("limits", "memory"),
    ] {
        assert!(
            container["resources"][section][resource].is_string(),
            "{name}: resources.{section}.{resource}"
        );
    }
}

/// GETs `url` until it answers 200 (at most 15 s), for a server that is starting.
async fn wait_for_200(url: &str, diagnostics: &dyn Fn() -> String) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let status = reqwest::get(url).await.map(|r| r.status().as_u16());
        if matches!(status, Ok(200)) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{url} never answered 200 (last: {status:?}){}",
            diagnostics()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn status(url: &str) -> u16 {
    reqwest::get(url)
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
        .status()
        .as_u16()
}

/// GETs each probe path of `deployment` on `metrics` (`host:port`): /startup first, as the
/// kubelet does, then /live and /ready, each 200.
async fn assert_probe_paths_answer(
    deployment: &Value,
    metrics: &str,
    diagnostics: &dyn Fn() -> String,
) {
    let container = container(deployment);
    let path = |probe: &str| text(&container[probe]["httpGet"]["path"]).to_owned();
    wait_for_200(
        &format!("http://{metrics}{}", path("startupProbe")),
        diagnostics,
    )
    .await;
    for probe in ["livenessProbe", "readinessProbe"] {
        let url = format!("http://{metrics}{}", path(probe));
        assert_eq!(status(&url).await, 200, "{probe} {url}");
    }
    // A path the exporter does not serve is not 200: the checks above can fail.
    assert_eq!(status(&format!("http://{metrics}/healthz")).await, 404);
}

#[test]
fn the_kustomization_lists_every_manifest_and_the_resources_are_these() {
    let dir = kubernetes_dir();
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("list {}: {e}", dir.display()))
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.ends_with(".yaml") && name != "kustomization.yaml")
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = kustomization()["resources"]
        .as_sequence()
        .expect("resources")
        .iter()
        .map(|file| text(file).to_owned())
        .collect();
    listed.sort();
    assert_eq!(listed, on_disk, "kustomization.yaml lists every manifest");

    let resources = resources();
    let found: Vec<(&str, &str)> = resources.iter().map(|r| (r.kind(), r.name())).collect();
    assert_eq!(
        found,
        [
            ("Namespace", "rust-monitoring"),
            ("Deployment", "quickstart"),
            ("Service", "quickstart"),
            ("ServiceMonitor", "quickstart"),
            ("ConfigMap", "prober-targets"),
            ("Deployment", "prober"),
            ("Service", "prober"),
            ("ServiceMonitor", "prober"),
        ]
    );
    // kustomize puts everything in the namespace that namespace.yaml creates.
    let kustomization = kustomization();
    assert_eq!(text(&kustomization["namespace"]), "rust-monitoring");
    for resource in &resources {
        assert!(
            resource.doc["metadata"].get("namespace").is_none(),
            "{}: the kustomization sets the namespace",
            resource.file
        );
    }
    // Its image entries name the images the Deployments run.
    let images: BTreeSet<&str> = kustomization["images"]
        .as_sequence()
        .expect("images")
        .iter()
        .map(|image| text(&image["name"]))
        .collect();
    let used: BTreeSet<&str> = ["quickstart", "prober"]
        .into_iter()
        .map(|name| {
            let image = text(&container(find(&resources, "Deployment", name))["image"]);
            image
                .split_once(':')
                .map_or(image, |(repository, _)| repository)
        })
        .collect();
    assert_eq!(images, used);
    assert_eq!(
        used,
        BTreeSet::from(["rust-monitoring-quickstart", "rust-monitoring-prober"]),
        "the images docker-compose.yml builds"
    );
}

#[test]
fn kubernetes_validate_accepts_the_core_resources_strictly() {
    let resources = resources();
    let core: Vec<&Resource> = resources.iter().filter(|r| !r.is_monitor()).collect();
    let files: BTreeSet<&str> = core.iter().map(|r| r.file.as_str()).collect();
    for resource in resources.iter().filter(|r| r.is_monitor()) {
        assert!(
            !files.contains(resource.file.as_str()),
            "{}: keep the monitors in files of their own (kubernetes-validate has no schema for them)",
            resource.file
        );
    }
    let python = |args: &[&str]| {
        let output = Command::new("python3")
            .args(["-m", "kubernetes_validate"])
            .args(args)
            .current_dir(kubernetes_dir())
            .stdin(Stdio::null())
            .output()
            .expect("python3 runs");
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            !said.contains("No module named kubernetes_validate"),
            "kubernetes-validate is not installed: run `bash scripts/install-test-deps.sh` (PyPI kubernetes-validate)"
        );
        (output.status.code(), said)
    };
    let (code, version) = python(&["--version"]);
    assert_eq!(code, Some(0), "{version}");
    assert_eq!(version.trim(), KUBERNETES_VALIDATE, "the pinned release");
    let install = std::fs::read_to_string(deploy::dir().join("../scripts/install-test-deps.sh"))
        .expect("read scripts/install-test-deps.sh");
    assert!(
        install.contains(&format!("kubernetes-validate=={KUBERNETES_VALIDATE}")),
        "install-test-deps.sh pins the release this test expects"
    );

    let mut args = vec!["--strict"];
    for version in KUBERNETES_VERSIONS {
        args.extend(["-k", version]);
    }
    args.extend(files.iter().copied());
    let (code, said) = python(&args);
    assert_eq!(code, Some(0), "{said}");
    // "INFO FILE passed for resource KIND/NAME against version X.Y", one per resource and
    // version; nothing skipped (a WARN is a resource without a schema) or failed.
    let passed: BTreeSet<String> = said
        .lines()
        .filter(|line| line.starts_with("INFO ") && line.contains(" passed for resource "))
        .filter_map(|line| line.split_once(" passed for resource "))
        .map(|(_, rest)| rest.to_owned())
        .collect();
    let expected: BTreeSet<String> = core
        .iter()
        .flat_map(|r| {
            KUBERNETES_VERSIONS.iter().map(move |version| {
                let minor = version.rsplit_once('.').map_or(*version, |(v, _)| v);
                format!(
                    "{}/{} against version {minor}",
                    r.kind().to_lowercase(),
                    r.name()
                )
            })
        })
        .collect();
    assert_eq!(passed, expected, "{said}");
    assert_eq!(passed.len(), 6 * KUBERNETES_VERSIONS.len());
    assert!(
        !said
            .lines()
            .any(|l| l.starts_with("WARN") || l.starts_with("ERROR")),
        "{said}"
    );
    println!(
        "kubernetes-validate {KUBERNETES_VALIDATE} --strict: {} resources passed ({} resources x Kubernetes {})",
        passed.len(),
        core.len(),
        KUBERNETES_VERSIONS.join(", ")
    );
}

#[test]
fn the_service_monitors_use_documented_fields_and_select_a_service_port_and_pods() {
    let resources = resources();
    // The jobs the shipped stack scrapes: the Service name becomes the job label (no jobLabel),
    // so the rules and dashboards see the same jobs.
    let prometheus = deploy::yaml("prometheus/prometheus.yml");
    let jobs: BTreeSet<&str> = prometheus["scrape_configs"]
        .as_sequence()
        .expect("scrape_configs")
        .iter()
        .map(|job| text(&job["job_name"]))
        .collect();
    let monitors: Vec<&Resource> = resources.iter().filter(|r| r.is_monitor()).collect();
    assert_eq!(monitors.len(), 2);
    for monitor in monitors {
        let name = monitor.name();
        let doc = &monitor.doc;
        assert_eq!(text(&doc["apiVersion"]), "monitoring.coreos.com/v1");
        assert_eq!(monitor.kind(), "ServiceMonitor");
        assert_only(doc, MONITOR_FIELDS, name);
        assert_only(
            &doc["metadata"],
            METADATA_FIELDS,
            &format!("{name}: metadata"),
        );
        let spec = &doc["spec"];
        assert_only(spec, MONITOR_SPEC_FIELDS, &format!("{name}: spec"));
        assert_only(
            &spec["selector"],
            SELECTOR_FIELDS,
            &format!("{name}: spec.selector"),
        );
        assert!(
            spec.get("jobLabel").is_none(),
            "{name}: job is the Service name"
        );
        let endpoints = spec["endpoints"].as_sequence().expect("spec.endpoints");
        assert_eq!(endpoints.len(), 1, "{name}: one endpoint");
        let endpoint = &endpoints[0];
        assert_only(endpoint, ENDPOINT_FIELDS, &format!("{name}: endpoint"));
        assert_eq!(text(&endpoint["path"]), "/metrics", "{name}");
        let interval = prometheus_duration_ms(text(&endpoint["interval"]));
        let timeout = prometheus_duration_ms(text(&endpoint["scrapeTimeout"]));
        assert_eq!((interval, timeout), (15_000, 10_000), "{name}");
        assert!(
            timeout <= interval,
            "the operator refuses a timeout over the interval"
        );

        // The selector matches exactly one Service's labels...
        let selector = string_map(&spec["selector"]["matchLabels"]);
        let services: Vec<&Resource> = resources
            .iter()
            .filter(|r| r.kind() == "Service")
            .filter(|r| selects(&selector, &string_map(&r.doc["metadata"]["labels"])))
            .collect();
        assert_eq!(
            services.len(),
            1,
            "{name}: the Services its selector matches"
        );
        let service = &services[0].doc;
        assert_eq!(services[0].name(), name);
        assert!(
            jobs.contains(name),
            "{name} is a job of prometheus.yml: {jobs:?}"
        );
        // ...which has the endpoint's port, by name...
        let port = text(&endpoint["port"]);
        let service_port = service["spec"]["ports"]
            .as_sequence()
            .expect("ports")
            .iter()
            .find(|p| text(&p["name"]) == port)
            .unwrap_or_else(|| panic!("{name}: the Service has no port {port:?}"));
        assert_eq!(service_port["port"].as_u64(), Some(9464));
        // ...whose target port is the metrics port of the pods the Service selects.
        let pod_selector = string_map(&service["spec"]["selector"]);
        let deployments: Vec<&Resource> = resources
            .iter()
            .filter(|r| r.kind() == "Deployment")
            .filter(|r| {
                selects(
                    &pod_selector,
                    &string_map(&r.doc["spec"]["template"]["metadata"]["labels"]),
                )
            })
            .collect();
        assert_eq!(
            deployments.len(),
            1,
            "{name}: the Deployments its Service selects"
        );
        let deployment = &deployments[0].doc;
        assert_eq!(
            string_map(&deployment["spec"]["selector"]["matchLabels"]),
            pod_selector,
            "{name}: the Deployment's selector is the Service's"
        );
        let target_port = text(&service_port["targetPort"]);
        assert_eq!(target_port, "metrics");
        assert_eq!(
            container_ports(container(deployment)).get(target_port),
            Some(&9464),
            "{name}: the container port the Service targets"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quickstart_deployment_probes_what_the_quickstart_serves() {
    let resources = resources();
    let deployment = find(&resources, "Deployment", "quickstart");
    assert_probes_on_the_metrics_port(deployment);
    assert_restricted(deployment);
    let container = container(deployment);
    assert_eq!(
        text(&container["image"]),
        "rust-monitoring-quickstart:latest"
    );
    assert_eq!(container_ports(container).get("http"), Some(&3000));
    assert_eq!(port_of(&env(container)["APP_ADDR"]), 3000);
    // The Service forwards its API port to the container's.
    let service = find(&resources, "Service", "quickstart");
    let http = service["spec"]["ports"]
        .as_sequence()
        .expect("ports")
        .iter()
        .find(|p| text(&p["name"]) == "http")
        .expect("the Service's http port");
    assert_eq!(
        (http["port"].as_u64(), text(&http["targetPort"])),
        (Some(3000), "http")
    );

    // Shutdown fits the grace period: the preStop sleep, then the drain delay, then the drain
    // timeout for requests in flight.
    let pre_stop = &container["lifecycle"]["preStop"]["exec"]["command"];
    assert_eq!(
        pre_stop,
        &serde_norway::from_str::<Value>(r#"["/usr/local/bin/busybox", "sleep", "5"]"#)
            .expect("YAML")
    );
    let grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        .as_u64()
        .expect("terminationGracePeriodSeconds");
    assert_eq!(grace, 20);
    assert!(
        include_str!("../quickstart.rs").contains(&format!(
            "drain_delay(Duration::from_secs({QUICKSTART_DRAIN_DELAY_S}))"
        )),
        "the quickstart's drain delay is {QUICKSTART_DRAIN_DELAY_S} s"
    );
    let shutdown = 5 + QUICKSTART_DRAIN_DELAY_S + Lifecycle::DEFAULT_DRAIN_TIMEOUT.as_secs();
    assert!(shutdown < grace, "{shutdown} s of shutdown in {grace} s");

    // The quickstart itself answers the probes' paths on its metrics listener.
    let served = Served::start(quickstart::run, Lifecycle::new()).await;
    assert_probe_paths_answer(deployment, &served.metrics.to_string(), &String::new).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_prober_runs_with_the_manifest_env_and_probes_the_configmap_targets() {
    let resources = resources();
    let deployment = find(&resources, "Deployment", "prober");
    assert_probes_on_the_metrics_port(deployment);
    assert_restricted(deployment);
    let container = container(deployment);
    assert_eq!(text(&container["image"]), "rust-monitoring-prober:latest");
    let environment = env(container);

    // TARGETS_FILE is the ConfigMap's key, mounted from the volume of that ConfigMap.
    let mounts = container["volumeMounts"]
        .as_sequence()
        .expect("volumeMounts");
    assert_eq!(mounts.len(), 1);
    let volume = deployment["spec"]["template"]["spec"]["volumes"]
        .as_sequence()
        .expect("volumes")
        .iter()
        .find(|v| v["name"] == mounts[0]["name"])
        .expect("the mounted volume");
    assert_eq!(text(&volume["configMap"]["name"]), "prober-targets");
    let config_map = find(&resources, "ConfigMap", "prober-targets");
    let keys = keys(&config_map["data"]);
    assert_eq!(keys, BTreeSet::from(["targets.toml".to_owned()]));
    assert_eq!(
        environment["TARGETS_FILE"],
        format!("{}/targets.toml", text(&mounts[0]["mountPath"]))
    );

    // The target file parses as the prober's TOML, and probes the quickstart Service's API port.
    let toml = text(&config_map["data"]["targets.toml"]);
    let targets = parse_target_file(toml, &ProbeTarget::new("", ""))
        .unwrap_or_else(|e| panic!("targets.toml: {e}"));
    let found: Vec<(&str, &str)> = targets
        .iter()
        .map(|t| (t.name.as_str(), t.url.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("quickstart", "http://quickstart:3000/"),
            ("users", "http://quickstart:3000/users/1")
        ]
    );
    for target in &targets {
        assert_eq!(target.timeout, Duration::from_secs(5), "{}", target.name);
        assert!(
            target.accepts(200) && !target.accepts(204),
            "{}",
            target.name
        );
    }
    // Each URL's host and port are the quickstart Service's name and its API port.
    let service = find(&resources, "Service", "quickstart");
    let api_port = service["spec"]["ports"]
        .as_sequence()
        .expect("ports")
        .iter()
        .find(|p| text(&p["name"]) == "http")
        .and_then(|p| p["port"].as_u64())
        .expect("the Service's http port");
    for target in &targets {
        let authority = target
            .url
            .strip_prefix("http://")
            .and_then(|rest| rest.split('/').next())
            .expect("an http URL");
        assert_eq!(
            authority,
            format!("{}:{api_port}", text(&service["metadata"]["name"])),
            "{}",
            target.name
        );
    }

    // Shutdown fits the grace period: SHUTDOWN_DELAY, then SHUTDOWN_TIMEOUT.
    let grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        .as_u64()
        .expect("terminationGracePeriodSeconds");
    let delay = environment.get("SHUTDOWN_DELAY").map_or(0, |d| seconds(d));
    let shutdown = delay + seconds(&environment["SHUTDOWN_TIMEOUT"]);
    assert_eq!((shutdown, grace), (10, 15));

    // The binary, with the manifest's environment: only the listen address is loopback and the
    // target file's host is the quickstart running here.
    let served = Served::start(quickstart::run, Lifecycle::new()).await;
    let state = tempfile::tempdir().expect("temp dir");
    let local = toml.replace(
        "http://quickstart:3000/",
        &format!("http://{}/", served.app),
    );
    assert_eq!(local.matches(&served.app.to_string()).count(), 2);
    let targets_file = state.path().join("targets.toml");
    std::fs::write(&targets_file, local).expect("write targets.toml");
    let metrics = format!("127.0.0.1:{}", free_port());
    let log = state.path().join("prober.log");
    let mut command = Command::new(deploy::prober_binary());
    command
        .env_clear()
        .envs(&environment)
        .env("METRICS_ADDR", &metrics)
        .env("TARGETS_FILE", &targets_file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(&log).expect("log")));
    let _prober = ChildGuard::spawn(&mut command);
    let prober_log = || {
        format!(
            "; prober log:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        )
    };
    assert_probe_paths_answer(deployment, &metrics, &prober_log).await;

    // Both targets succeed (the first probe runs at start; allow a second round).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let text = reqwest::get(format!("http://{metrics}/metrics"))
            .await
            .expect("scrape the prober")
            .text()
            .await
            .expect("body");
        let scrape = Scrape::parse(&text);
        let success: Vec<f64> = ["quickstart", "users"]
            .iter()
            .map(|target| scrape.sum("probe_success", &[("target", target)]))
            .collect();
        if success == [1.0, 1.0] {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "probe_success {success:?}{}",
            prober_log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
