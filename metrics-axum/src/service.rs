//! [`Metrics`]: the service that starts recording each request.

use std::marker::PhantomData;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use http::{Request, Response};
use metrics_toolkit::http::{ActiveRequest, Route, UrlScheme};
use tower_service::Service;

use crate::future::RequestKind;
use crate::layer::Settings;
use crate::route::RouteSource;
use crate::{MetricsLayer, OutputBody, ResponseFuture, Wrapped};

/// Records `http_server_*` metrics for the requests of `S`; built by [`MetricsLayer`]. `O`
/// chooses the response body type ([`OutputBody`]).
pub struct Metrics<S, O = Wrapped> {
    pub(crate) inner: S,
    // Routers clone their services per request: one `Arc` keeps that clone to one increment.
    state: Arc<ServiceState>,
    output: PhantomData<fn() -> O>,
}

impl<S: Clone, O> Clone for Metrics<S, O> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            state: self.state.clone(),
            output: PhantomData,
        }
    }
}

impl<S: std::fmt::Debug, O> std::fmt::Debug for Metrics<S, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("inner", &self.inner)
            .field("state", &self.state)
            .finish()
    }
}

/// Slots of the per-service route cache: under `Router::layer` a service sees one route, around
/// a whole router (with a `RouteTable`) it sees them all.
const ROUTE_CACHE_SLOTS: usize = 32;

struct ServiceState {
    settings: Settings,
    /// Routes this service has seen, direct-mapped by a cheap hash of the template: a hit costs
    /// one string comparison, not a map lookup.
    route_cache: [OnceLock<Route>; ROUTE_CACHE_SLOTS],
}

impl std::fmt::Debug for ServiceState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceState")
            .field("metrics", &self.settings.metrics)
            .field("exclusions", &self.settings.exclusions)
            .finish_non_exhaustive()
    }
}

impl<S, O> Metrics<S, O> {
    /// Wraps `inner`; the same as `layer.layer(inner)`.
    pub fn new(inner: S, layer: MetricsLayer<O>) -> Self {
        Self {
            inner,
            state: Arc::new(ServiceState {
                settings: layer.settings,
                route_cache: Default::default(),
            }),
            output: PhantomData,
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

#[cfg(feature = "axum")]
impl<S> Metrics<S, crate::AxumBody>
where
    Self: Service<axum::extract::Request>,
{
    /// The service for `axum::serve`, as `Router::into_make_service` makes it for a router.
    pub fn into_make_service(self) -> axum::routing::IntoMakeService<Self> {
        axum::ServiceExt::<axum::extract::Request>::into_make_service(self)
    }

    /// The service for `axum::serve` that puts the client's address in each request's
    /// extensions (`axum::extract::ConnectInfo<C>`), as the `Router` method of this name does.
    pub fn into_make_service_with_connect_info<C>(
        self,
    ) -> axum::extract::connect_info::IntoMakeServiceWithConnectInfo<Self, C> {
        axum::ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info(self)
    }
}

impl<S, O, ReqBody, ResBody> Service<Request<ReqBody>> for Metrics<S, O>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: http_body::Body,
    O: OutputBody<ResBody>,
{
    type Response = Response<O::Body>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, O>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    #[inline]
    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let state = &*self.state;
        let settings = &state.settings;
        let mut active = if settings.exclusions.contains(request.uri().path()) {
            None
        } else {
            let method = request.method();
            // Built in place: the guard is not moved again on its way into the future.
            Some(match &settings.route {
                RouteSource::Table { table, handles } => {
                    match table.index_of(request.uri().path()) {
                        Some(index) => handles[index].start_request(method),
                        None => settings.metrics.start_request(method, None),
                    }
                }
                RouteSource::Extractor(extractor) => {
                    let template = extractor.route(request.uri(), request.extensions());
                    state.start(template, method)
                }
            })
        };
        if let Some(active) = &mut active {
            if let Some(exemplars) = &settings.exemplars {
                exemplars.apply(active, request.headers(), request.extensions());
            }
            // The URI's scheme when the request carries one (HTTP/2, absolute-form), else the
            // layer's; bounded to `http`, `https` and `_OTHER`.
            let scheme = request.uri().scheme().map(UrlScheme::from_scheme);
            active.set_url_scheme(scheme.unwrap_or(settings.url_scheme));
            active.set_network_protocol_version(request.version());
        }
        let kind = RequestKind {
            is_head: request.method() == http::Method::HEAD,
            is_connect: request.method() == http::Method::CONNECT,
            is_http2: request.version() == http::Version::HTTP_2,
        };
        let grpc = active.is_some() && crate::grpc::is_grpc(&request);
        ResponseFuture::new(self.inner.call(request), active, kind, grpc)
    }
}

impl ServiceState {
    /// Starts recording on the route `template` (or none), through this service's cache
    /// of route handles: a hit borrows the handle, and no count shared by threads changes.
    #[inline]
    fn start(&self, template: Option<&str>, method: &http::Method) -> ActiveRequest {
        let Some(template) = template else {
            return self.settings.metrics.start_request(method, None);
        };
        let slot = &self.route_cache[cache_index(template)];
        if let Some(cached) = slot.get().filter(|h| h.name() == template) {
            return cached.start_request(method);
        }
        let handle = self.settings.metrics.route(Some(template));
        let request = handle.start_request(method);
        // First come keeps the slot; a colliding template goes through the map.
        let _ = slot.set(handle);
        request
    }
}

/// A route cache slot for `template`: its length and two of its bytes, mixed. Templates of one
/// application differ in one of these nearly always, and a collision only costs a map lookup.
#[inline]
fn cache_index(template: &str) -> usize {
    let bytes = template.as_bytes();
    let (Some(&last), Some(&middle)) = (bytes.last(), bytes.get(bytes.len() / 2)) else {
        return 0;
    };
    let mixed = bytes.len() as u32 ^ u32::from(last) << 8 ^ u32::from(middle) << 16;
    (mixed.wrapping_mul(0x9e37_79b9) >> 27) as usize & (ROUTE_CACHE_SLOTS - 1)
}
