//! `GET /health`, `/health/{check}`, `/live`, `/ready` and `/startup`.
//!
//! Every answer is read from the health registry's cache: no request runs a check.

use std::fmt::Write as _;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use metrics_toolkit::health::{CheckReport, Group, HealthReport, Status};
use serde_json::{json, Map, Value};

use crate::lifecycle::Phase;
use crate::response::plain;
use crate::security::guard::Authenticated;
use crate::state::HandlerState;

/// RFC 3339 in UTC with milliseconds, as the health format's `time` fields.
fn rfc3339(time: std::time::SystemTime) -> String {
    humantime::format_rfc3339_millis(time).to_string()
}

const HEALTH_JSON: &str = "application/health+json";
const TEXT: &str = "text/plain; charset=utf-8";

/// `/health` in the `application/health+json` format (draft-inadarei-api-health-check), or a
/// line per check with `?verbose`.
pub(crate) async fn health(
    State(state): State<HandlerState>,
    caller: Option<Extension<Authenticated>>,
    RawQuery(query): RawQuery,
) -> Response {
    let details = shows_details(&state, caller);
    let report = state.health.report(None);
    let (lifecycle_status, lifecycle_output) = match state.lifecycle.phase() {
        Phase::Ready => (Status::Pass, "ready"),
        Phase::Starting => (Status::Warn, "starting"),
        Phase::Draining => (Status::Warn, "shutting down"),
    };
    let status = report.status.max(lifecycle_status);
    if wants_verbose(query.as_deref()) {
        return verbose(details, status, lifecycle_status, lifecycle_output, &report);
    }
    let mut body = Map::new();
    body.insert("status".into(), status.as_str().into());
    body.insert("serviceId".into(), (*state.service_name).into());
    if details {
        let mut checks = Map::new();
        checks.insert(
            "lifecycle".into(),
            json!([{
                "status": lifecycle_status.as_str(),
                "observedValue": lifecycle_output,
                "time": rfc3339(std::time::SystemTime::now()),
            }]),
        );
        for check in &report.checks {
            checks.insert(check.name.clone(), json!([check_json(check)]));
        }
        body.insert("checks".into(), Value::Object(checks));
    }
    respond(status, Value::Object(body).to_string(), HEALTH_JSON)
}

/// `/health/{check}`: one check's cached result; 404 for an unknown name. With credentials
/// configured the guard lets only authenticated callers here, even with
/// [`crate::security::Security::public_health`]: a 404 beside a 200 or 503 would tell anyone
/// which checks exist.
pub(crate) async fn health_check(
    State(state): State<HandlerState>,
    caller: Option<Extension<Authenticated>>,
    Path(name): Path<String>,
) -> Response {
    let Some(check) = state.health.check(&name) else {
        let mut response = (StatusCode::NOT_FOUND, "no such health check\n").into_response();
        set_headers(&mut response, TEXT);
        return response;
    };
    let body = if shows_details(&state, caller) {
        let mut body = check_json(&check);
        if let Value::Object(map) = &mut body {
            map.insert("componentId".into(), check.name.clone().into());
        }
        body
    } else {
        json!({ "status": check.status.as_str() })
    };
    respond(check.status, body.to_string(), HEALTH_JSON)
}

/// `/live`: the process answers. Only checks in the `live` group count (none by default), and
/// only their cached results: dependencies are never checked here.
pub(crate) async fn live(State(state): State<HandlerState>) -> Response {
    let live = state.health.report(Some(&Group::Live));
    group_answer(&live, "ok")
}

/// `/ready`: 503 during startup and from the shutdown signal on; otherwise follows the `ready`
/// group.
pub(crate) async fn ready(State(state): State<HandlerState>) -> Response {
    match state.lifecycle.phase() {
        Phase::Ready => group_answer(&state.health.report(Some(&Group::Ready)), "ready"),
        Phase::Starting => plain(StatusCode::SERVICE_UNAVAILABLE, "starting\n"),
        Phase::Draining => plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting down\n".to_owned(),
        ),
    }
}

/// `/startup`: 503 until startup is done; then follows the `startup` group.
pub(crate) async fn startup(State(state): State<HandlerState>) -> Response {
    match state.lifecycle.phase() {
        Phase::Starting => plain(StatusCode::SERVICE_UNAVAILABLE, "starting\n"),
        Phase::Ready | Phase::Draining => {
            group_answer(&state.health.report(Some(&Group::Startup)), "started")
        }
    }
}

/// Details when configured, and only to authenticated callers when credentials are set
/// ([`crate::security::Security::public_health`]).
fn shows_details(state: &HandlerState, caller: Option<Extension<Authenticated>>) -> bool {
    state.health_details && caller.is_none_or(|Extension(Authenticated(yes))| yes)
}

/// 503 naming the failing checks when the group fails; 200 otherwise.
fn group_answer(report: &HealthReport, ok: &str) -> Response {
    if report.status == Status::Fail {
        let failing: Vec<&str> = report
            .checks
            .iter()
            .filter(|c| c.status == Status::Fail)
            .map(|c| c.name.as_str())
            .collect();
        plain(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("failing: {}\n", failing.join(", ")),
        )
    } else {
        plain(StatusCode::OK, format!("{ok}\n"))
    }
}

fn check_json(check: &CheckReport) -> Value {
    let mut entry = Map::new();
    entry.insert("status".into(), check.status.as_str().into());
    // The draft's `componentType` says what the check looks at (`component`, `datastore`,
    // `system` or another term); whether its failure fails the service goes in a key of our
    // own, as the draft allows: "additional user-defined keys can be included".
    entry.insert("componentType".into(), check.component_type.as_str().into());
    entry.insert("criticality".into(), check.kind.as_str().into());
    entry.insert(
        "observedValue".into(),
        json!(check.duration.as_secs_f64() * 1000.0),
    );
    entry.insert("observedUnit".into(), "ms".into());
    if let Some(time) = check.time {
        entry.insert("time".into(), rfc3339(time).into());
    }
    if let Some(output) = &check.output {
        entry.insert("output".into(), output.clone().into());
    }
    Value::Object(entry)
}

/// `?verbose`, `?verbose=`, `?verbose=1`, `?verbose=true`, also among other parameters.
fn wants_verbose(query: Option<&str>) -> bool {
    query.is_some_and(|q| {
        q.split('&').any(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            key == "verbose" && !matches!(value, "0" | "false")
        })
    })
}

/// One line per check: `[+]` pass, `[!]` warn, `[-]` fail, then the overall status.
fn verbose(
    details: bool,
    status: Status,
    lifecycle: Status,
    lifecycle_output: &str,
    report: &HealthReport,
) -> Response {
    let mut body = String::new();
    if details {
        let _ = writeln!(
            body,
            "{}lifecycle {} ({lifecycle_output})",
            mark(lifecycle),
            lifecycle.as_str()
        );
        for check in &report.checks {
            let _ = write!(
                body,
                "{}{} {} ({:.1}ms)",
                mark(check.status),
                check.name,
                check.status.as_str(),
                check.duration.as_secs_f64() * 1000.0
            );
            if let Some(output) = &check.output {
                // One line per check, whatever the output holds.
                let _ = write!(body, ": {}", output.replace(['\n', '\r'], " "));
            }
            body.push('\n');
        }
    }
    let _ = writeln!(body, "health: {}", status.as_str());
    respond(status, body, TEXT)
}

fn mark(status: Status) -> &'static str {
    match status {
        Status::Pass => "[+]",
        Status::Warn => "[!]",
        Status::Fail => "[-]",
    }
}

/// 200 for pass and warn, 503 for fail.
fn respond(status: Status, body: String, content_type: &'static str) -> Response {
    let code = if status == Status::Fail {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    let mut response = (code, body).into_response();
    set_headers(&mut response, content_type);
    response
}

fn set_headers(response: &mut Response, content_type: &'static str) {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Results are already cached server-side; a proxy cache would only serve stale health.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::{rfc3339, wants_verbose};

    #[test]
    fn times_are_rfc3339_utc_with_milliseconds() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let time = UNIX_EPOCH + Duration::from_millis(19_723 * 86_400_000 + 3_723_004);
        assert_eq!(rfc3339(time), "2024-01-01T01:02:03.004Z");
        let leap_day = UNIX_EPOCH + Duration::from_secs(11_016 * 86_400);
        assert_eq!(rfc3339(leap_day), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn reads_the_verbose_parameter() {
        assert!(wants_verbose(Some("verbose")));
        assert!(wants_verbose(Some("a=b&verbose=1")));
        assert!(!wants_verbose(Some("verbose=0")));
        assert!(!wants_verbose(Some("verbosity")));
        assert!(!wants_verbose(None));
    }
}
