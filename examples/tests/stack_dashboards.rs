//! The bundled Grafana dashboards: typed against `@grafana/schema` with tsc, and checked for the
//! conventions the stack relies on (unique panel ids, the provisioned datasource, units,
//! descriptions, `$__rate_interval`). Their queries run against a real Prometheus in
//! stack_e2e.rs.

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::Value;
use test_support::binaries::{require, run_ok};
use test_support::deploy;

/// The uid the datasource provisioning gives the stack's Prometheus.
const DATASOURCE_UID: &str = "prometheus";

#[test]
fn dashboards_type_check_against_the_grafana_schema() {
    let node = require("node");
    let check = deploy::dir().join("grafana/check");
    assert!(
        check.join("node_modules/typescript").is_dir() && check.join("node_modules/@grafana/schema").is_dir(),
        "the dashboard checker's packages are not installed: run `bash scripts/install-test-deps.sh` (npm ci in deploy/grafana/check)"
    );
    let said = run_ok(Command::new(node).arg("check.mjs").current_dir(&check));
    assert!(said.contains("3 dashboards match"), "{said}");
}

#[test]
fn the_datasource_is_provisioned_with_the_uid_the_dashboards_use() {
    let provisioning = deploy::yaml("grafana/provisioning/datasources/prometheus.yml");
    let datasource = &provisioning["datasources"][0];
    assert_eq!(datasource["uid"].as_str(), Some(DATASOURCE_UID));
    assert_eq!(datasource["type"].as_str(), Some("prometheus"));
    assert_eq!(datasource["url"].as_str(), Some("http://prometheus:9090"));
    let providers = deploy::yaml("grafana/provisioning/dashboards/dashboards.yml");
    assert_eq!(
        providers["providers"][0]["options"]["path"].as_str(),
        Some("/var/lib/grafana/dashboards"),
        "where docker-compose.yml mounts grafana/dashboards"
    );
}

fn assert_datasource_reference(reference: &Value, what: &str) {
    assert_eq!(reference["type"], "prometheus", "{what}: datasource type");
    let uid = reference["uid"].as_str().unwrap_or_default();
    assert!(
        uid == "${datasource}" || uid == DATASOURCE_UID,
        "{what}: datasource uid {uid:?} is neither the variable nor the provisioned uid"
    );
}

#[test]
fn every_dashboard_has_datasource_job_and_instance_variables() {
    for (name, dashboard) in deploy::dashboards() {
        let variables = dashboard["templating"]["list"]
            .as_array()
            .expect("variables");
        let find = |wanted: &str| variables.iter().find(|v| v["name"] == wanted);
        let datasource =
            find("datasource").unwrap_or_else(|| panic!("{name}: no datasource variable"));
        assert_eq!(datasource["type"], "datasource", "{name}");
        assert_eq!(datasource["query"], "prometheus", "{name}");
        assert_eq!(
            datasource["current"]["value"], DATASOURCE_UID,
            "{name}: default datasource"
        );
        for wanted in ["job", "instance"] {
            let variable = find(wanted).unwrap_or_else(|| panic!("{name}: no {wanted} variable"));
            assert_eq!(variable["type"], "query", "{name}: {wanted}");
            assert_eq!(
                variable["allValue"], ".+",
                "{name}: {wanted} matches every value at All"
            );
        }
        for variable in variables.iter().filter(|v| v["type"] == "query") {
            assert_datasource_reference(
                &variable["datasource"],
                &format!("{name}: variable {}", variable["name"]),
            );
        }
    }
}

#[test]
fn panels_have_unique_ids_a_unit_a_description_and_the_stack_datasource() {
    let mut uids = BTreeSet::new();
    for (name, dashboard) in deploy::dashboards() {
        let uid = dashboard["uid"].as_str().unwrap_or_default().to_owned();
        assert!(
            !uid.is_empty() && uids.insert(uid),
            "{name}: missing or duplicate uid"
        );
        let mut ids = BTreeSet::new();
        let panels = deploy::panels(&dashboard);
        assert!(panels.len() >= 8, "{name}: only {} panels", panels.len());
        for panel in panels {
            let title = panel["title"].as_str().unwrap_or_default();
            let what = format!("{name}: panel {title:?}");
            let id = panel["id"]
                .as_u64()
                .unwrap_or_else(|| panic!("{what} has no id"));
            assert!(ids.insert(id), "{what}: duplicate id {id}");
            assert!(
                !panel["description"].as_str().unwrap_or_default().is_empty(),
                "{what}: no description"
            );
            let unit = panel["fieldConfig"]["defaults"]["unit"]
                .as_str()
                .unwrap_or_default();
            assert!(!unit.is_empty(), "{what}: no unit");
            assert_datasource_reference(&panel["datasource"], &what);
            let targets = panel["targets"].as_array().filter(|t| !t.is_empty());
            for target in targets.unwrap_or_else(|| panic!("{what}: no queries")) {
                assert_datasource_reference(&target["datasource"], &what);
            }
        }
    }
}

/// The range selectors (`[...]`) of a query.
fn ranges(expr: &str) -> Vec<&str> {
    expr.split('[')
        .skip(1)
        .filter_map(|rest| rest.split(']').next())
        .collect()
}

#[test]
fn every_range_in_a_query_is_the_rate_interval() {
    for (name, dashboard) in deploy::dashboards() {
        for panel in deploy::panels(&dashboard) {
            for expr in deploy::queries(panel) {
                for range in ranges(expr) {
                    assert_eq!(
                        range, "$__rate_interval",
                        "{name}: panel {}: {expr}",
                        panel["title"]
                    );
                }
            }
        }
    }
}
