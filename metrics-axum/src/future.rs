//! [`ResponseFuture`]: hands the request's recording over to the response body.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use http::{Response, StatusCode};
use metrics_toolkit::http::{ActiveRequest, Outcome};
use pin_project_lite::pin_project;

use crate::body::response_length;
use crate::{grpc, OutputBody, ResponseBody, Wrapped};

pin_project! {
    /// Response future of [`Metrics`](crate::Metrics).
    ///
    /// Dropped before the response is ready (the client went away, a timeout fired), the request
    /// is recorded as aborted with no status.
    ///
    /// The status recorded is the one the client gets, where hyper sends another: a 1xx other
    /// than 101 becomes hyper's 500 over HTTP/1 (recorded `500`, `error_type="500"`); any 1xx over
    /// HTTP/2 goes out as a final head that clients reject with a stream error (recorded with no
    /// status, `error_type="_OTHER"`, as a failed request). A successful CONNECT, whose body
    /// hyper never sends, completes with its head.
    pub struct ResponseFuture<F, O = Wrapped> {
        #[pin]
        inner: F,
        active: Option<ActiveRequest>,
        request: RequestKind,
        // A gRPC call: its status is in `grpc-status`, in the headers or the trailers.
        grpc: bool,
        output: PhantomData<fn() -> O>,
    }
}

/// What of the request decides what the server sends of its response.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestKind {
    pub(crate) is_head: bool,
    pub(crate) is_connect: bool,
    pub(crate) is_http2: bool,
}

impl<F, O> ResponseFuture<F, O> {
    pub(crate) fn new(
        inner: F,
        active: Option<ActiveRequest>,
        request: RequestKind,
        grpc: bool,
    ) -> Self {
        Self {
            inner,
            active,
            request,
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
                let mut status = response.status();
                // Servers never poll a body they will not send; waiting for its end would
                // misreport these requests as aborted.
                let mut bodiless = this.request.is_head || !status_has_body(status);
                if status.is_informational() || this.request.is_connect {
                    match sent_head(status, *this.request) {
                        SentHead::AsIs => {}
                        SentHead::Bodiless(sent) => {
                            status = sent;
                            bodiless = true;
                        }
                        SentHead::Rejected => {
                            if let Some(active) = active.take() {
                                active.finish(Outcome::Failed);
                            }
                        }
                    }
                }
                if let Some(active) = active.as_mut() {
                    active.set_status(status.as_u16());
                    // A trailers-only response (an error before any message) has it here.
                    if *this.grpc {
                        if let Some(grpc_status) = grpc::status_in(response.headers()) {
                            active.set_grpc_status(grpc_status);
                        }
                    }
                }
                // Excluded requests (no `active`) skip every check below.
                if active.is_some() && (bodiless || response.body().is_end_stream()) {
                    if let Some(active) = active.take() {
                        active.finish(Outcome::Completed);
                    }
                }
                // gRPC bodies end with trailers, after the last byte: they are waited for.
                let length = match active {
                    Some(_) if !*this.grpc => response_length(&response),
                    _ => None,
                };
                let grpc = *this.grpc;
                Poll::Ready(Ok(response.map(|body| {
                    O::output(ResponseBody::new(body, active, grpc, length))
                })))
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

/// What hyper sends for a response head it does not send as given.
enum SentHead {
    /// The head as given, and the body as usual.
    AsIs,
    /// This status, and no body.
    Bodiless(StatusCode),
    /// Nothing the client accepts as a response.
    Rejected,
}

/// What the client gets for `status` (a 1xx, or the answer to a CONNECT), as hyper 1 sends it.
#[cold]
fn sent_head(status: StatusCode, request: RequestKind) -> SentHead {
    if status.is_informational() {
        if request.is_http2 {
            // h2 sends the 1xx as the final HEADERS (with the body as DATA after it, or
            // END_STREAM); clients answer a PROTOCOL_ERROR. HTTP/2 has no 101 either.
            SentHead::Rejected
        } else if status == StatusCode::SWITCHING_PROTOCOLS {
            SentHead::Bodiless(status)
        } else {
            // hyper's HTTP/1 writer replaces any other 1xx with an empty 500.
            SentHead::Bodiless(StatusCode::INTERNAL_SERVER_ERROR)
        }
    } else if request.is_connect && status.is_success() {
        // The connection (or stream) becomes a tunnel after the head: no body is sent.
        SentHead::Bodiless(status)
    } else {
        SentHead::AsIs
    }
}
