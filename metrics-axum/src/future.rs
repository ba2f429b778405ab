//! [`ResponseFuture`]: hands the request's recording over to the response body.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use http::{Response, StatusCode};
use metrics_core::http::{ActiveRequest, Outcome};
use pin_project_lite::pin_project;

use crate::{grpc, OutputBody, ResponseBody, Wrapped};

pin_project! {
    /// Response future of [`Metrics`](crate::Metrics).
    ///
    /// Dropped before the response is ready (the client went away, a timeout fired), the request
    /// is recorded as aborted with no status.
    pub struct ResponseFuture<F, O = Wrapped> {
        #[pin]
        inner: F,
        active: Option<ActiveRequest>,
        is_head: bool,
        // A gRPC call: its status is in `grpc-status`, in the headers or the trailers.
        grpc: bool,
        output: PhantomData<fn() -> O>,
    }
}

impl<F, O> ResponseFuture<F, O> {
    pub(crate) fn new(inner: F, active: Option<ActiveRequest>, is_head: bool, grpc: bool) -> Self {
        Self {
            inner,
            active,
            is_head,
            grpc,
            output: PhantomData,
        }
    }
}

impl<F, O, B, E> Future for ResponseFuture<F, O>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: http_body::Body,
    O: OutputBody<B>,
{
    type Output = Result<Response<O::Body>, E>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        let mut active = this.active.take();
        match result {
            Ok(response) => {
                let status = response.status();
                if let Some(active) = active.as_mut() {
                    active.set_status(status.as_u16());
                    // A trailers-only response (an error before any message) has it here.
                    if *this.grpc {
                        if let Some(grpc_status) = grpc::status_in(response.headers()) {
                            active.set_grpc_status(grpc_status);
                        }
                    }
                }
                // Servers never poll a body they will not send; waiting for its end would
                // misreport these requests as aborted.
                let bodiless = *this.is_head || !status_has_body(status);
                let (parts, body) = response.into_parts();
                // Excluded requests (no `active`) skip every check below.
                if active.is_some() && (bodiless || body.is_end_stream()) {
                    if let Some(active) = active.take() {
                        active.finish(Outcome::Completed);
                    }
                }
                let body = ResponseBody::new(body, active, *this.grpc, &parts.headers);
                Poll::Ready(Ok(Response::from_parts(parts, O::output(body))))
            }
            Err(error) => {
                if let Some(active) = active {
                    active.finish(Outcome::Failed);
                }
                Poll::Ready(Err(error))
            }
        }
    }
}

#[inline]
fn status_has_body(status: StatusCode) -> bool {
    !(status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED)
}
