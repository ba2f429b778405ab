//! `GET /health`, `/live` and `/ready`.

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::exporter::Shared;
use crate::Phase;

/// `/health` in the `application/health+json` format (draft-inadarei-api-health-check).
pub(crate) async fn health(State(shared): State<Shared>) -> Response {
    let phase = shared.lifecycle.phase();
    let (status, output) = match phase {
        Phase::Ready => ("pass", "ready"),
        Phase::Starting => ("warn", "starting"),
        Phase::Draining => ("warn", "shutting down"),
    };
    let body = serde_json::json!({
        "status": status,
        "serviceId": &*shared.service_name,
        "checks": {
            "lifecycle": [{
                "status": status,
                "observedValue": output,
                "time": now_rfc3339(),
            }]
        }
    });
    let mut response = (StatusCode::OK, body.to_string()).into_response();
    set_headers(&mut response, "application/health+json");
    response
}

/// `/live`: the process answers; never checks dependencies.
pub(crate) async fn live() -> Response {
    let mut response = (StatusCode::OK, "ok\n").into_response();
    set_headers(&mut response, "text/plain; charset=utf-8");
    response
}

/// `/ready`: 200 once startup is done, 503 before that and from the shutdown signal on.
pub(crate) async fn ready(State(shared): State<Shared>) -> Response {
    let (status, text) = match shared.lifecycle.phase() {
        Phase::Ready => (StatusCode::OK, "ready\n"),
        Phase::Starting => (StatusCode::SERVICE_UNAVAILABLE, "starting\n"),
        Phase::Draining => (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n"),
    };
    let mut response = (status, text).into_response();
    set_headers(&mut response, "text/plain; charset=utf-8");
    response
}

fn set_headers(response: &mut Response, content_type: &'static str) {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// The current UTC time as RFC 3339, without a date-time dependency.
fn now_rfc3339() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, secs) = (seconds / 86_400, seconds % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), Howard Hinnant's civil-from-days algorithm.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::civil_from_days;

    #[test]
    fn converts_days_to_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
