//! Property test: arbitrary `Accept`, `Accept-Encoding`, `Authorization` and paths sent to a
//! protected exporter router never panic it, and every answer is well formed.

use std::io::Read;
use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use axum::Router;
use http::{header, HeaderValue, Request, StatusCode};
use http_body_util::BodyExt;
use metrics_exporter::security::{AllowList, Security};
use metrics_exporter::{Exporter, Lifecycle};
use metrics_toolkit::health::{HealthCheck, HealthRegistry};
use metrics_toolkit::MetricsRegistry;
use proptest::prelude::*;
use tower::ServiceExt;

fn router(runtime: &tokio::runtime::Runtime) -> Router {
    let _entered = runtime.enter();
    let registry = MetricsRegistry::builder()
        .process_metrics(false)
        .build()
        .expect("registry");
    let health = HealthRegistry::builder()
        .check(HealthCheck::new("dependency", || async { Ok(()) }))
        .build()
        .expect("health");
    let security = Security::new()
        .bearer_token("the-token")
        .expect("token")
        .basic_auth_user("prometheus", &bcrypt::hash("pw", 4).expect("hash"))
        .expect("user")
        .public_health(true)
        .allow_list(
            AllowList::new()
                .allow("127.0.0.0/8")
                .expect("cidr")
                .trust_forwarded_for_from("127.0.0.1/32")
                .expect("cidr"),
        );
    let lifecycle = Lifecycle::new();
    lifecycle.mark_ready();
    Exporter::new(registry, lifecycle)
        .health(health)
        .security(security)
        .router()
}

/// Header values: anything printable (what a `HeaderValue` can hold), plus the forms the
/// exporter parses.
fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,80}",
        "(Bearer|bearer|Basic|basic|Digest) [ -~]{0,40}",
        "Basic [A-Za-z0-9+/=]{0,40}",
        Just("Bearer the-token".to_owned()),
        Just("Basic cHJvbWV0aGV1czpwdw==".to_owned()),
        "(application/openmetrics-text|text/plain|\\*/\\*)(;[a-z]{0,8}=[ -~]{0,10}){0,3}(,[ -~]{0,20}){0,3}",
        "(gzip|x-gzip|\\*|identity|br)(;q=[0-9.]{0,5})?(, ?[ -~]{0,10}){0,3}",
    ]
}

fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        "/[ -~]{0,60}",
        "/(metrics|health|live|ready|startup|health/dependency|health/[a-z%0-9]{0,20})(\\?[ -~]{0,30})?",
        Just("/metrics".to_owned()),
        Just("/health?verbose".to_owned()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn every_answer_is_well_formed(
        accept in proptest::option::of(header_value()),
        encoding in proptest::option::of(header_value()),
        authorization in proptest::option::of(header_value()),
        forwarded in proptest::option::of("[0-9a-f.:, ]{0,40}"),
        path in path(),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let app = router(&runtime);
        let mut builder = Request::get(path.as_str());
        for (name, value) in [
            (header::ACCEPT, &accept),
            (header::ACCEPT_ENCODING, &encoding),
            (header::AUTHORIZATION, &authorization),
            (header::HeaderName::from_static("x-forwarded-for"), &forwarded),
        ] {
            if let Some(value) = value.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
                builder = builder.header(name, value);
            }
        }
        // A path that is not a valid URI never reaches a router: hyper refuses it.
        let Ok(mut request) = builder.body(axum::body::Body::empty()) else {
            return Ok(());
        };
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))));
        let (status, headers, body) = runtime.block_on(async {
            let response = app.oneshot(request).await.expect("infallible");
            let (parts, body) = response.into_parts();
            let body = body.collect().await.expect("body").to_bytes();
            (parts.status, parts.headers, body)
        });
        prop_assert!(status.as_u16() >= 200 && status.as_u16() < 600);
        if let Some(length) = headers.get(header::CONTENT_LENGTH) {
            prop_assert_eq!(length.to_str().ok().and_then(|l| l.parse::<usize>().ok()), Some(body.len()));
        }
        if status == StatusCode::UNAUTHORIZED {
            prop_assert!(headers.contains_key(header::WWW_AUTHENTICATE));
        }
        if status.is_success() || status.is_client_error() && status != StatusCode::NOT_FOUND && status != StatusCode::METHOD_NOT_ALLOWED {
            prop_assert!(headers.contains_key(header::CONTENT_TYPE), "{status} {headers:?}");
        }
        let text = if headers.get(header::CONTENT_ENCODING).is_some_and(|e| e == "gzip") {
            let mut text = String::new();
            flate2::read::GzDecoder::new(&body[..]).read_to_string(&mut text).expect("valid gzip");
            text
        } else {
            String::from_utf8(body.to_vec()).expect("UTF-8 body")
        };
        let uri_path = path.split('?').next().unwrap_or("");
        if uri_path == "/metrics" && status == StatusCode::OK {
            let content_type = headers[header::CONTENT_TYPE].to_str().expect("ascii");
            if content_type.starts_with("application/openmetrics-text") {
                prop_assert!(text.ends_with("# EOF\n"));
            } else {
                prop_assert!(content_type.starts_with("text/plain; version=0.0.4"));
            }
            prop_assert!(!text.contains("the-token") && !text.contains("$2"));
        }
    }
}
