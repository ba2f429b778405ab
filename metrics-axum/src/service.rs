//! [`Metrics`]: the service that starts recording each request.

use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use crate::{MetricsLayer, ResponseBody, ResponseFuture};

/// Records `http_server_*` metrics for the requests of `S`; built by [`MetricsLayer`].
#[derive(Clone, Debug)]
pub struct Metrics<S> {
    pub(crate) inner: S,
    pub(crate) layer: MetricsLayer,
}

impl<S> Metrics<S> {
    /// Wraps `inner`; the same as `layer.layer(inner)`.
    pub fn new(inner: S, layer: MetricsLayer) -> Self {
        Self { inner, layer }
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

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let layer = &self.layer;
        let active = if layer.exclusions.contains(request.uri().path()) {
            None
        } else {
            let route = layer.route.route(request.uri(), request.extensions());
            Some(layer.metrics.start_request(request.method(), route))
        };
        let is_head = request.method() == http::Method::HEAD;
        ResponseFuture::new(self.inner.call(request), active, is_head)
    }
}
