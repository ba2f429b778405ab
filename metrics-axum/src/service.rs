//! [`Metrics`]: the service that starts recording each request.

use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use http::{Request, Response};
use metrics_core::http::RouteHandle;
use tower_service::Service;

use crate::{MetricsLayer, ResponseBody, ResponseFuture};

/// Records `http_server_*` metrics for the requests of `S`; built by [`MetricsLayer`].
#[derive(Clone, Debug)]
pub struct Metrics<S> {
    pub(crate) inner: S,
    // Routers clone their services per request: one `Arc` keeps that clone to one increment.
    state: Arc<ServiceState>,
}

#[derive(Debug)]
struct ServiceState {
    layer: MetricsLayer,
    /// The first route this service saw. `Router::layer` gives every route its own service, so
    /// after the first request the route is found by one string comparison, not a map lookup.
    route_cache: OnceLock<RouteHandle>,
}

impl<S> Metrics<S> {
    /// Wraps `inner`; the same as `layer.layer(inner)`.
    pub fn new(inner: S, layer: MetricsLayer) -> Self {
        Self {
            inner,
            state: Arc::new(ServiceState {
                layer,
                route_cache: OnceLock::new(),
            }),
        }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Metrics<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: http_body::Body,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    #[inline]
    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let state = &*self.state;
        let active = if state.layer.exclusions.contains(request.uri().path()) {
            None
        } else {
            let template = state.layer.route.route(request.uri(), request.extensions());
            Some(state.route(template).start_request(request.method()))
        };
        let is_head = request.method() == http::Method::HEAD;
        ResponseFuture::new(self.inner.call(request), active, is_head)
    }
}

impl ServiceState {
    #[inline]
    fn route(&self, template: Option<&str>) -> RouteHandle {
        let Some(template) = template else {
            return self.layer.metrics.route(None);
        };
        if let Some(cached) = self.route_cache.get().filter(|h| h.name() == template) {
            return cached.clone();
        }
        let handle = self.layer.metrics.route(Some(template));
        let _ = self.route_cache.set(handle.clone());
        handle
    }
}
