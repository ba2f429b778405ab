//! The deploy/ stack's configuration, checked by the real tools: promtool (config, agent
//! configs, rules, rule unit tests), vmalert (the rules as the scale-out path evaluates them),
//! amtool (routing, receivers) and docker-compose (the compose file with its scale profile,
//! without a Docker daemon); plus the conventions every alert follows.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_norway::Value;
use test_support::binaries::{require, run_ok};
use test_support::deploy;

const RUNBOOK_BASE: &str =
    "https://example.invalid/rust-prometheus-toolkit/blob/main/deploy/RUNBOOK.md";

/// Every alerting rule of the shipped rule files.
fn alert_rules() -> Vec<Value> {
    let rules = deploy::yaml("prometheus/rules/alerts.yml");
    rules["groups"]
        .as_sequence()
        .expect("alerts.yml has groups")
        .iter()
        .flat_map(|group| group["rules"].as_sequence().cloned().unwrap_or_default())
        .filter(|rule| rule.get("alert").is_some())
        .collect()
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

#[test]
fn promtool_accepts_the_prometheus_config_and_its_rule_files() {
    let promtool = require("promtool");
    let dir = deploy::dir().join("prometheus");
    let said = run_ok(
        Command::new(&promtool)
            .args(["check", "config", "prometheus.yml"])
            .current_dir(&dir),
    );
    assert!(said.contains("2 rule files found"), "{said}");
    let said = run_ok(
        Command::new(&promtool)
            .args(["check", "rules", "rules/recording.yml", "rules/alerts.yml"])
            .current_dir(&dir),
    );
    assert_eq!(said.matches("SUCCESS").count(), 2, "{said}");
}

#[test]
fn the_agent_configs_are_valid_in_agent_mode_and_differ_only_in_the_shard() {
    let promtool = require("promtool");
    let dir = deploy::dir().join("scale");
    for shard in ["0", "1"] {
        let file = format!("agent-shard-{shard}.yml");
        let said = run_ok(
            Command::new(&promtool)
                .args(["check", "config", "--agent", &file])
                .current_dir(&dir),
        );
        assert!(said.contains("SUCCESS"), "{said}");
        let config = deploy::yaml(&format!("scale/{file}"));
        let keep = &config["scrape_configs"][0]["relabel_configs"][1];
        assert_eq!(text(&keep["regex"]), shard, "{file}: the kept shard");
        assert_eq!(
            config["scrape_configs"][0]["relabel_configs"][0]["modulus"].as_u64(),
            Some(2),
            "{file}: the number of shards"
        );
    }
    // Shard 1's file is shard 0's with the shard number changed, in the comment and the regex.
    let zero = deploy::read("scale/agent-shard-0.yml");
    let one = deploy::read("scale/agent-shard-1.yml");
    let changed: Vec<(&str, &str)> = zero
        .lines()
        .zip(one.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(zero.lines().count(), one.lines().count());
    for (a, b) in &changed {
        assert_eq!(
            a.replace("shard 0", "shard 1")
                .replace("to 0", "to 1")
                .replace("\"0\"", "\"1\""),
            *b
        );
    }
    assert_eq!(changed.len(), 3, "{changed:?}");
}

#[test]
fn vmalert_accepts_every_shipped_rule_file() {
    let dir = deploy::dir().join("prometheus/rules");
    for file in ["recording.yml", "alerts.yml"] {
        run_ok(
            Command::new(require("vmalert"))
                .arg("-dryRun")
                .arg(format!("-rule={file}"))
                .current_dir(&dir),
        );
    }
}

#[test]
fn promtool_unit_tests_of_the_alert_rules_pass() {
    let said = run_ok(
        Command::new(require("promtool"))
            .args(["test", "rules", "alerts_test.yml"])
            .current_dir(deploy::dir().join("prometheus/tests")),
    );
    assert!(said.contains("SUCCESS"), "{said}");
}

#[test]
fn every_alert_rule_has_a_unit_test_where_it_fires_and_one_where_it_must_not() {
    let tests = deploy::yaml("prometheus/tests/alerts_test.yml");
    let mut fires = BTreeSet::new();
    let mut quiet = BTreeSet::new();
    for case in tests["tests"].as_sequence().expect("tests").iter() {
        for check in case["alert_rule_test"].as_sequence().into_iter().flatten() {
            let name = text(&check["alertname"]).to_owned();
            let expected = check["exp_alerts"]
                .as_sequence()
                .cloned()
                .unwrap_or_default();
            if expected.is_empty() {
                quiet.insert(name.clone());
            }
            for alert in expected {
                fires.insert((
                    name.clone(),
                    text(&alert["exp_labels"]["severity"]).to_owned(),
                ));
            }
        }
    }
    for rule in alert_rules() {
        let name = text(&rule["alert"]).to_owned();
        let severity = text(&rule["labels"]["severity"]).to_owned();
        assert!(
            fires.contains(&(name.clone(), severity.clone())),
            "no unit test where {name} ({severity}) fires"
        );
        // The Watchdog fires always, by design: there is no case where it must not.
        if name != "Watchdog" {
            assert!(
                quiet.contains(&name),
                "no unit test where {name} must not fire"
            );
        }
    }
}

#[test]
fn every_alert_has_a_severity_a_summary_a_description_and_a_runbook_section() {
    let runbook = deploy::read("RUNBOOK.md");
    let headings: BTreeSet<&str> = runbook
        .lines()
        .filter_map(|line| line.strip_prefix("## "))
        .collect();
    let rules = alert_rules();
    assert!(
        rules.len() >= 18,
        "fewer alert rules than shipped: {}",
        rules.len()
    );
    for rule in rules {
        let name = text(&rule["alert"]);
        let severity = text(&rule["labels"]["severity"]);
        assert!(
            ["critical", "warning", "none"].contains(&severity),
            "{name}: severity {severity:?}"
        );
        for annotation in ["summary", "description"] {
            assert!(
                !text(&rule["annotations"][annotation]).is_empty(),
                "{name} has no {annotation}"
            );
        }
        // GitHub's anchor for the heading "## Name" is "#name".
        let anchor = name.to_lowercase();
        assert_eq!(
            text(&rule["annotations"]["runbook_url"]),
            format!("{RUNBOOK_BASE}#{anchor}"),
            "{name}: runbook_url"
        );
        assert!(
            headings.contains(name),
            "RUNBOOK.md has no section \"## {name}\""
        );
    }
}

#[test]
fn amtool_accepts_the_routing() {
    let said = run_ok(
        Command::new(require("amtool"))
            .args(["check-config", "alertmanager/alertmanager.yml"])
            .current_dir(deploy::dir()),
    );
    assert!(said.contains("SUCCESS"), "{said}");
    assert!(said.contains("2 inhibit rules"), "{said}");
}

/// Uncomments the commented-out settings (`# key:` and `# - key:` lines) and keeps prose
/// comments.
fn uncomment_settings(config: &str) -> String {
    config
        .lines()
        .map(|line| {
            let indent = line.len() - line.trim_start().len();
            let Some(rest) = line.trim_start().strip_prefix("# ") else {
                return line.to_owned();
            };
            let setting = rest.trim_start().trim_start_matches("- ");
            let key = setting.split(':').next().unwrap_or_default();
            let is_setting = setting.contains(':')
                && !key.is_empty()
                && key.chars().all(|c| c.is_ascii_lowercase() || c == '_');
            if is_setting {
                format!("{}{rest}", " ".repeat(indent))
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_commented_email_slack_and_pagerduty_receivers_are_valid_once_uncommented() {
    let amtool = require("amtool");
    let dir = tempfile::tempdir().expect("temp dir");
    let secrets = dir.path().join("secrets");
    std::fs::create_dir(&secrets).expect("secrets dir");
    for name in [
        "smtp_password",
        "slack_webhook_url",
        "pagerduty_routing_key",
    ] {
        std::fs::write(secrets.join(name), "filled-in\n").expect("write a secret");
    }
    let config = uncomment_settings(&deploy::read("alertmanager/alertmanager.yml"))
        .replace("/etc/alertmanager/secrets", &secrets.display().to_string());
    for receiver in [
        "email_configs:",
        "slack_configs:",
        "pagerduty_configs:",
        "smtp_smarthost:",
    ] {
        assert!(
            config
                .lines()
                .any(|line| line.trim_start().starts_with(receiver)),
            "{receiver} was not uncommented"
        );
    }
    let path = dir.path().join("alertmanager.yml");
    std::fs::write(&path, config).expect("write the filled-in config");
    run_ok(Command::new(amtool).arg("check-config").arg(&path));
}

#[test]
fn alerts_are_routed_by_severity() {
    let amtool = require("amtool");
    let config = deploy::dir().join("alertmanager/alertmanager.yml");
    for (labels, receiver) in [
        (
            &[
                "alertname=HTTPErrorRatioHigh",
                "job=quickstart",
                "severity=critical",
            ][..],
            "critical",
        ),
        (
            &[
                "alertname=HTTPErrorRatioHigh",
                "job=quickstart",
                "severity=warning",
            ],
            "warning",
        ),
        (&["alertname=Watchdog", "severity=none"], "watchdog"),
        (&["alertname=Unknown", "severity=info"], "default"),
    ] {
        let said = run_ok(
            Command::new(&amtool)
                .args(["config", "routes", "test"])
                .arg(format!("--config.file={}", config.display()))
                // Exits non-zero when the alert would go elsewhere.
                .arg(format!("--verify.receivers={receiver}"))
                .args(labels),
        );
        assert_eq!(said.lines().next(), Some(receiver), "{labels:?}");
    }
}

/// The compose file as docker-compose resolves it (relative paths made absolute, defaults
/// applied), with no BIND_ADDRESS override, and the scale-out profile's services included.
fn resolved_compose() -> Value {
    let said = run_ok(
        Command::new(require("docker-compose"))
            .args(["-f", "docker-compose.yml", "--profile", "scale", "config"])
            .env_remove("BIND_ADDRESS")
            .current_dir(deploy::dir()),
    );
    serde_norway::from_str(&said).expect("docker-compose config prints YAML")
}

#[test]
fn docker_compose_validates_the_stack() {
    run_ok(
        Command::new(require("docker-compose"))
            .args([
                "-f",
                "docker-compose.yml",
                "--profile",
                "scale",
                "config",
                "-q",
            ])
            .current_dir(deploy::dir()),
    );
}

#[test]
fn every_file_the_stack_mounts_or_builds_from_exists() {
    let compose = resolved_compose();
    let services = compose["services"].as_mapping().expect("services");
    let mut mounts = 0;
    for (name, service) in services {
        for volume in service["volumes"].as_sequence().into_iter().flatten() {
            // Short syntax "source:target[:mode]"; a source that is not a path is a named volume.
            let source = match volume {
                Value::String(short) => short.split(':').next().unwrap_or_default().to_owned(),
                long => text(&long["source"]).to_owned(),
            };
            if source.starts_with('/') {
                assert!(
                    Path::new(&source).exists(),
                    "{name:?} mounts missing {source}"
                );
                mounts += 1;
            }
        }
        if let Some(context) = service["build"]["context"].as_str() {
            let dockerfile = Path::new(context).join(text(&service["build"]["dockerfile"]));
            assert!(
                dockerfile.is_file(),
                "{name:?}: no {}",
                dockerfile.display()
            );
        }
    }
    assert!(
        mounts >= 7,
        "expected the config, rules, routing and Grafana mounts, got {mounts}"
    );
}

#[test]
fn every_service_has_a_healthcheck_and_publishes_only_on_loopback() {
    let compose = resolved_compose();
    let services = compose["services"].as_mapping().expect("services");
    for wanted in [
        "prometheus",
        "alertmanager",
        "grafana",
        "node-exporter",
        "quickstart",
        "prober",
    ] {
        assert!(services.contains_key(wanted), "no service {wanted}");
    }
    for (name, service) in services {
        assert!(
            service["healthcheck"]["test"].is_sequence(),
            "{name:?} has no healthcheck"
        );
        assert!(
            service["networks"].get("monitoring").is_some(),
            "{name:?} not on the private network"
        );
        for port in service["ports"].as_sequence().into_iter().flatten() {
            let host_ip = match port {
                Value::String(short) => short.split(':').next().unwrap_or_default().to_owned(),
                long => text(&long["host_ip"]).to_owned(),
            };
            assert_eq!(host_ip, "127.0.0.1", "{name:?} publishes {port:?}");
        }
    }
    for volume in ["prometheus-data", "alertmanager-data", "grafana-data"] {
        assert!(
            compose["volumes"].get(volume).is_some(),
            "no named volume {volume}"
        );
    }
}

/// Each third-party image pinned to a release (no `latest`), Prometheus on 3.x; the agents use
/// 3.x's `--agent` (run-native.sh, on Debian's 2.42, `--enable-feature=agent`).
#[test]
fn the_stack_runs_pinned_current_releases() {
    let compose = resolved_compose();
    let services = compose["services"].as_mapping().expect("services");
    let mut prometheus_majors = BTreeSet::new();
    for (name, service) in services {
        let image = text(&service["image"]);
        if image.starts_with("rust-monitoring-") {
            continue;
        }
        let (repository, tag) = image
            .rsplit_once(':')
            .unwrap_or_else(|| panic!("{name:?}: {image} has no tag"));
        assert!(
            tag != "latest" && tag.chars().any(|c| c.is_ascii_digit()),
            "{name:?}: {image} is not pinned to a release"
        );
        if repository == "prom/prometheus" {
            prometheus_majors.insert(
                tag.trim_start_matches('v')
                    .split('.')
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
            );
            let command: Vec<&str> = service["command"]
                .as_sequence()
                .into_iter()
                .flatten()
                .map(text)
                .collect();
            if name.as_str().is_some_and(|n| n.starts_with("agent-")) {
                assert!(command.contains(&"--agent"), "{name:?}: {command:?}");
            }
            assert!(
                !command
                    .iter()
                    .any(|flag| flag.starts_with("--enable-feature=agent")),
                "{name:?}: 2.x's agent flag on a 3.x image"
            );
        }
    }
    assert_eq!(prometheus_majors, BTreeSet::from(["3".to_owned()]));
    assert!(deploy::read("run-native.sh").contains("--enable-feature=agent"));
}

/// A Dockerfile of the stack: multi-stage, a locked release build of `target`, run as the
/// distroless non-root user, serving metrics on every interface of the container.
fn assert_small_non_root_image(dockerfile: &str, target: &str) {
    let text = deploy::read(dockerfile);
    let stages = text.lines().filter(|l| l.starts_with("FROM ")).count();
    assert!(stages >= 2, "{dockerfile}: single-stage");
    assert!(
        text.contains("cargo build --release --locked"),
        "{dockerfile}: not a locked release build"
    );
    assert!(
        text.contains(target),
        "{dockerfile}: does not build {target}"
    );
    assert!(
        text.lines().any(|l| l == "USER nonroot"),
        "{dockerfile}: runs as root"
    );
    assert!(
        text.contains("METRICS_ADDR=0.0.0.0:9464"),
        "{dockerfile}: METRICS_ADDR"
    );
}

#[test]
fn the_demo_image_is_multi_stage_non_root_and_listens_on_all_interfaces() {
    assert_small_non_root_image("quickstart/Dockerfile", "--example quickstart");
    assert!(deploy::read("quickstart/Dockerfile").contains("APP_ADDR=0.0.0.0:3000"));
}

#[test]
fn the_prober_image_is_multi_stage_non_root_and_listens_on_all_interfaces() {
    assert_small_non_root_image(
        "prober/Dockerfile",
        "--package metrics-exporter --features standalone --bin metrics-exporter",
    );
}

/// The prober service probes the demo service by name, on the private network only, and
/// Prometheus scrapes it where its image listens.
#[test]
fn the_prober_probes_the_demo_and_prometheus_scrapes_it() {
    let compose = resolved_compose();
    let prober = &compose["services"]["prober"];
    assert_eq!(
        text(&prober["build"]["dockerfile"]),
        "deploy/prober/Dockerfile"
    );
    assert!(prober.get("ports").is_none(), "the prober publishes a port");
    let targets = text(&prober["environment"]["TARGETS"]);
    let urls: Vec<&str> = targets
        .split(',')
        .map(|t| t.split_once('=').map_or(t, |(_, url)| url))
        .collect();
    assert!(
        urls.iter()
            .any(|url| url.starts_with("http://quickstart:3000/")),
        "TARGETS does not probe the demo service: {targets}"
    );
    let config = deploy::yaml("prometheus/prometheus.yml");
    let job = config["scrape_configs"]
        .as_sequence()
        .expect("scrape_configs")
        .iter()
        .find(|job| job["job_name"] == "prober")
        .expect("a scrape job named prober");
    assert_eq!(
        job["static_configs"][0]["targets"][0].as_str(),
        Some("prober:9464")
    );
}
