//! `metrics_axum::Router` records each route as it is added, including routers built in other
//! modules and brought in with `nest` and `merge`: served around the whole router, every
//! request is labelled with the template axum's own `MatchedPath` gives the same router
//! (`Router::layer` on the `axum::Router` inside). Templates cannot drift from the router.

use std::collections::BTreeMap;
use std::convert::Infallible;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use metrics_axum::{MetricsLayer, Router};
use metrics_toolkit::{Format, HttpServerMetrics, MetricsRegistry};
use reqwest::{Client, Method};
use test_support::{request_labels, unmatched_request_labels, Scrape};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The application's shared state, provided once at the top.
#[derive(Clone)]
struct AppState {
    greeting: &'static str,
}

mod users {
    use axum::extract::State;
    use axum::routing::{get, post};
    use metrics_axum::Router;

    use super::AppState;

    pub fn routes() -> Router<AppState> {
        Router::new()
            .route("/{id}", get(|| async { "a user" }))
            // The same template for another method: one label.
            .route("/{id}", post(|| async { "updated" }))
            .route(
                "/me",
                get(|State(s): State<AppState>| async move { s.greeting }),
            )
            .route("/", get(|| async { "all users" }))
    }
}

mod api {
    use axum::routing::get;
    use metrics_axum::Router;

    use super::AppState;

    mod v1 {
        use axum::routing::get;
        use metrics_axum::Router;

        use crate::AppState;

        pub fn routes() -> Router<AppState> {
            Router::new()
                .route("/orders/{id}", get(|| async { "an order" }))
                .route("/files/{*path}", get(|| async { "a file" }))
        }
    }

    pub fn routes() -> Router<AppState> {
        Router::new()
            .route("/", get(|| async { "api root" }))
            .route("/v{version}/status", get(|| async { "status" }))
            .nest("/v1", v1::routes())
    }
}

mod admin {
    use axum::routing::get;
    use metrics_axum::Router;

    use super::AppState;

    pub fn routes() -> Router<AppState> {
        Router::new()
            .route("/admin/stats", get(|| async { "stats" }))
            .route_layer(tower::layer::util::Identity::new())
    }
}

/// Answers every request with its path: a stand-in for a file server or another app.
async fn echo_path(request: Request) -> Result<String, Infallible> {
    Ok(request.uri().path().to_owned())
}

fn app() -> Router {
    Router::new()
        .route(
            "/",
            get(|State(s): State<AppState>| async move { s.greeting }),
        )
        .nest("/users", users::routes())
        .nest("/api", api::routes())
        .merge(admin::routes())
        .route_service("/raw", tower::service_fn(echo_path))
        .nest_service("/static", tower::service_fn(echo_path))
        .fallback(|| async { (StatusCode::NOT_FOUND, "nothing here") })
        .with_state(AppState { greeting: "hello" })
}

/// (method, path, status): every kind of route above, its fallback and a wrong method.
const PLAN: [(&str, &str, u16); 21] = [
    ("GET", "/", 200),
    ("GET", "/users", 200),
    ("GET", "/users/", 404),
    ("GET", "/users/7", 200),
    ("POST", "/users/7", 200),
    ("GET", "/users/me", 200),
    ("DELETE", "/users/me", 405),
    ("GET", "/api", 200),
    ("GET", "/api/", 404),
    ("GET", "/api/v2/status", 200),
    ("GET", "/api/v1/orders/9", 200),
    ("GET", "/api/v1/files/css/site.css", 200),
    ("GET", "/admin/stats", 200),
    ("GET", "/raw", 200),
    ("GET", "/static", 200),
    ("GET", "/static/", 200),
    ("GET", "/static/app.js", 200),
    ("GET", "/static/css/site.css", 200),
    ("GET", "/nowhere", 404),
    ("GET", "/users/7/extra", 404),
    ("GET", "/api/v1/orders", 404),
];

struct Served {
    addr: std::net::SocketAddr,
    registry: MetricsRegistry,
    task: JoinHandle<()>,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves the service `arrange` builds with the layer it is given, on 127.0.0.1:0.
async fn serve<S>(arrange: impl FnOnce(MetricsLayer) -> S) -> Served
where
    S: tower::Service<Request, Response = axum::response::Response, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
{
    let registry = MetricsRegistry::builder().build().expect("registry");
    let http = HttpServerMetrics::builder().register(&registry);
    let service = arrange(MetricsLayer::new(http));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        let service = axum::ServiceExt::<Request>::into_make_service(service);
        let _ = axum::serve(listener, service).await;
    });
    Served {
        addr,
        registry,
        task,
    }
}

async fn run_plan(client: &Client, server: &Served) {
    for (method, path, status) in PLAN {
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        let response = client
            .request(method.clone(), format!("http://{}{path}", server.addr))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status().as_u16(), status, "{method} {path}");
        response.bytes().await.expect("body");
    }
}

/// `http_server_requests_total` by label set.
fn request_counts(scrape: &Scrape) -> BTreeMap<String, f64> {
    scrape
        .samples
        .iter()
        .filter(|s| s.name == "http_server_requests_total")
        .map(|s| (format!("{:?}", s.labels), s.value))
        .collect()
}

fn scrape(server: &Served) -> Scrape {
    let text = server
        .registry
        .encode(Format::PrometheusText)
        .expect("encode");
    Scrape::parse(&text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_is_labelled_as_axum_matched_it() {
    let ours = serve(|layer| app().with_metrics(layer)).await;
    // The same axum router, the layer inside it: the labels are axum's `MatchedPath`.
    let axums = serve(|layer| app().into_parts().0.layer(layer)).await;
    let client = Client::new();
    run_plan(&client, &ours).await;
    run_plan(&client, &axums).await;

    let (ours, axums) = (scrape(&ours), scrape(&axums));
    assert_eq!(request_counts(&ours), request_counts(&axums));
    // And what those labels are, for the nesting rules that matter.
    for (method, route, status) in [
        ("GET", "/", "200"),
        // `nest("/users", r)` with r's `/` route is `/users`; `/users/` is not routed.
        ("GET", "/users", "200"),
        ("GET", "/users/{id}", "200"),
        ("POST", "/users/{id}", "200"),
        ("GET", "/users/me", "200"),
        ("DELETE", "/users/me", "405"),
        ("GET", "/api", "200"),
        ("GET", "/api/v{version}/status", "200"),
        ("GET", "/api/v1/orders/{id}", "200"),
        ("GET", "/api/v1/files/{*path}", "200"),
        ("GET", "/admin/stats", "200"),
        ("GET", "/raw", "200"),
        // A nested service: its prefix (and the prefix with `/`) is labelled, as axum does;
        // what lies below it has no `MatchedPath`.
        ("GET", "/static", "200"),
        ("GET", "/static/", "200"),
    ] {
        let labels = request_labels(method, route, status);
        assert_eq!(
            ours.get("http_server_requests_total", &labels),
            Some(1.0),
            "{method} {route}"
        );
    }
    let below_static = unmatched_request_labels("GET", "200");
    assert_eq!(
        ours.get("http_server_requests_total", &below_static),
        Some(2.0)
    );
    let not_found = unmatched_request_labels("GET", "404");
    assert_eq!(
        ours.get("http_server_requests_total", &not_found),
        Some(5.0)
    );
}

#[test]
fn a_router_nested_at_a_prefix_ending_in_a_slash_keeps_axums_templates() {
    let inner = || {
        Router::<()>::new()
            .route("/", get(|| async { "root" }))
            .route("/x/{id}", post(|| async { "x" }))
    };
    let ours = Router::new()
        .nest("/a/", inner())
        .nest_service("/s/", tower::service_fn(echo_path));
    let (_, table) = ours.into_parts();
    assert_eq!(table.matching("/a/"), Some("/a/"));
    assert_eq!(table.matching("/a/x/1"), Some("/a/x/{id}"));
    assert_eq!(table.matching("/s/"), Some("/s/"));
    assert_eq!(table.matching("/s/file"), None);
    assert_eq!(table.len(), 4);
}
