//! [`Router`]: an axum `Router` that remembers its route templates, so that the layer around it
//! labels requests by route with no second list of routes to keep in sync.

use std::convert::Infallible;

use axum::extract::Request;
use axum::handler::Handler;
use axum::response::IntoResponse;
use axum::routing::{MethodRouter, Route};
use tower_layer::Layer;
use tower_service::Service;

use crate::{AxumBody, Metrics, MetricsLayer, RouteTable};

/// The parameter axum names the rest of a path below a `nest_service`: the same name keeps the
/// table's conflicts the same as axum's.
const NEST_TAIL: &str = "{*__private__axum_nest_tail_param}";

/// An [`axum::Router`] that records each route template as it is added, nest prefixes
/// included, for [`with_metrics`](Self::with_metrics) to put the metrics layer around the whole
/// router: the cheapest placement, with every request labelled by its template.
///
/// The methods are axum's, with the same arguments and panics; each forwards to the
/// `axum::Router` inside. Routers built elsewhere with this type keep their templates through
/// [`nest`](Self::nest) and [`merge`](Self::merge).
///
/// ```
/// use axum::routing::get;
/// use metrics_axum::{MetricsLayer, Router};
/// use metrics_toolkit::HttpServerMetrics;
///
/// mod users {
///     use axum::routing::get;
///     use metrics_axum::Router;
///
///     pub fn routes() -> Router {
///         Router::new().route("/{id}", get(|| async { "a user" }))
///     }
/// }
///
/// # async fn run(listener: tokio::net::TcpListener) -> std::io::Result<()> {
/// let http = HttpServerMetrics::builder().build();
/// let app = Router::new()
///     .route("/", get(|| async { "home" }))
///     .nest("/users", users::routes()) // recorded as `/users/{id}`
///     .with_metrics(MetricsLayer::new(http));
/// axum::serve(listener, app.into_make_service()).await
/// # }
/// ```
///
/// Labels are what axum's `MatchedPath` says: requests the fallback answers have no `http_route`
/// label (they matched no route), and neither have the paths below a [`nest_service`](Self::nest_service) (axum gives them no
/// `MatchedPath`), except the prefix itself.
#[must_use]
pub struct Router<S = ()> {
    router: axum::Router<S>,
    routes: RouteTable,
}

impl<S> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    /// An empty router, as `axum::Router::new`.
    pub fn new() -> Self {
        Self {
            router: axum::Router::new(),
            routes: RouteTable::empty(),
        }
    }

    /// Adds a route, as `axum::Router::route`; a template routed again (for another method) is
    /// recorded once.
    #[track_caller]
    pub fn route(mut self, path: &str, method_router: MethodRouter<S>) -> Self {
        self.router = self.router.route(path, method_router);
        self.record(path, Some(path));
        self
    }

    /// Routes `path` to a service, as `axum::Router::route_service`.
    #[track_caller]
    pub fn route_service<T>(mut self, path: &str, service: T) -> Self
    where
        T: Service<Request, Error = Infallible> + Clone + Send + Sync + 'static,
        T::Response: IntoResponse,
        T::Future: Send + 'static,
    {
        self.router = self.router.route_service(path, service);
        self.record(path, Some(path));
        self
    }

    /// Nests `router`'s routes under `path`, as `axum::Router::nest`: its templates are
    /// recorded with the prefix, as axum's `MatchedPath` reports them (`nest("/api", r)` with
    /// r's `/` route is `/api`).
    #[track_caller]
    pub fn nest(mut self, path: &str, router: Router<S>) -> Self {
        self.router = self.router.nest(path, router.router);
        let inner = &router.routes;
        for (template, label) in inner.templates().iter().zip(inner.labels()) {
            let nested = nested_path(path, template);
            self.record(&nested, label.as_ref().map(|_| nested.as_str()));
        }
        self
    }

    /// Nests a service under `path`, as `axum::Router::nest_service`. As with axum's
    /// `MatchedPath`, `path` itself (and `path/`) is labelled, what lies below it is not.
    #[track_caller]
    pub fn nest_service<T>(mut self, path: &str, service: T) -> Self
    where
        T: Service<Request, Error = Infallible> + Clone + Send + Sync + 'static,
        T::Response: IntoResponse,
        T::Future: Send + 'static,
    {
        self.router = self.router.nest_service(path, service);
        // The routes axum adds: the rest of the path, the prefix, and the prefix with a `/`.
        let below = match path.ends_with('/') {
            true => format!("{path}{NEST_TAIL}"),
            false => format!("{path}/{NEST_TAIL}"),
        };
        self.record(&below, None);
        self.record(path, Some(path));
        if !path.ends_with('/') {
            let slash = format!("{path}/");
            self.record(&slash, Some(&slash));
        }
        self
    }

    /// Adds `other`'s routes, as `axum::Router::merge`, with their templates.
    #[track_caller]
    pub fn merge(mut self, other: Router<S>) -> Self {
        self.router = self.router.merge(other.router);
        let inner = &other.routes;
        for (template, label) in inner.templates().iter().zip(inner.labels()) {
            self.record(template, label.as_deref());
        }
        self
    }

    /// Wraps every route and the fallback in `layer`, as `axum::Router::layer`.
    pub fn layer<L>(mut self, layer: L) -> Self
    where
        L: Layer<Route> + Clone + Send + Sync + 'static,
        L::Service: Service<Request> + Clone + Send + Sync + 'static,
        <L::Service as Service<Request>>::Response: IntoResponse + 'static,
        <L::Service as Service<Request>>::Error: Into<Infallible> + 'static,
        <L::Service as Service<Request>>::Future: Send + 'static,
    {
        self.router = self.router.layer(layer);
        self
    }

    /// Wraps the routes added so far in `layer`, as `axum::Router::route_layer`.
    #[track_caller]
    pub fn route_layer<L>(mut self, layer: L) -> Self
    where
        L: Layer<Route> + Clone + Send + Sync + 'static,
        L::Service: Service<Request> + Clone + Send + Sync + 'static,
        <L::Service as Service<Request>>::Response: IntoResponse + 'static,
        <L::Service as Service<Request>>::Error: Into<Infallible> + 'static,
        <L::Service as Service<Request>>::Future: Send + 'static,
    {
        self.router = self.router.route_layer(layer);
        self
    }

    /// Answers what no route matches with `handler`, as `axum::Router::fallback`; such
    /// requests are recorded without an `http_route` label.
    #[track_caller]
    pub fn fallback<H, T>(mut self, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        self.router = self.router.fallback(handler);
        self
    }

    /// Answers what no route matches with `service`, as `axum::Router::fallback_service`.
    pub fn fallback_service<T>(mut self, service: T) -> Self
    where
        T: Service<Request, Error = Infallible> + Clone + Send + Sync + 'static,
        T::Response: IntoResponse,
        T::Future: Send + 'static,
    {
        self.router = self.router.fallback_service(service);
        self
    }

    /// Provides the state, as `axum::Router::with_state`; the templates stay.
    pub fn with_state<S2>(self, state: S) -> Router<S2> {
        Router {
            router: self.router.with_state(state),
            routes: self.routes,
        }
    }

    /// The axum router and the table of its templates, for a placement of your own
    /// (`layer.routes(table).layer(router)`).
    pub fn into_parts(self) -> (axum::Router<S>, RouteTable) {
        (self.router, self.routes)
    }

    fn record(&mut self, template: &str, label: Option<&str>) {
        if self.routes.contains(template) {
            return;
        }
        // axum has just routed this template, and panics on any it refuses. The table follows
        // axum's syntax and precedence (checked against matchit, axum's matcher, by a property
        // test), so a refusal here is a template axum accepts and the table does not: a bug of
        // ours, reported as loudly as axum reports a bad route.
        if let Err(error) = self.routes.insert(template, label) {
            panic!("{error}, though axum routes it");
        }
    }
}

impl Router {
    /// The router with `layer` around it, serving `axum::Router`'s body type, for
    /// `axum::serve(listener, app.into_make_service())`. Each request is labelled with the
    /// template it matches among those this router recorded, matched once per request by the
    /// layer's [`RouteTable`].
    pub fn with_metrics<O>(self, layer: MetricsLayer<O>) -> Metrics<axum::Router, AxumBody> {
        // `with_state(())` turns the handlers into services once, as
        // `axum::Router::into_make_service` does, rather than on every request.
        let router = self.router.with_state(());
        layer.axum_body().routes(self.routes).layer(router)
    }
}

impl<S> Default for Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    fn default() -> Self {
        Self::new()
    }
}

impl<S> Clone for Router<S> {
    fn clone(&self) -> Self {
        Self {
            router: self.router.clone(),
            routes: self.routes.clone(),
        }
    }
}

impl<S> std::fmt::Debug for Router<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("routes", &self.routes)
            .finish_non_exhaustive()
    }
}

/// A route of a router nested at `prefix`, as axum 0.8 writes it (`path_for_nested_route`).
fn nested_path(prefix: &str, path: &str) -> String {
    if prefix.ends_with('/') {
        format!("{prefix}{}", path.trim_start_matches('/'))
    } else if path == "/" {
        prefix.to_owned()
    } else {
        format!("{prefix}{path}")
    }
}
