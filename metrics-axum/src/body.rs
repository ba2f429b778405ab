//! [`ResponseBody`]: ends the request's recording when the body ends.

use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Buf;
use http::header::CONTENT_LENGTH;
use http::{HeaderMap, Response};
use http_body::{Body, Frame, SizeHint};
use metrics_toolkit::http::{ActiveRequest, Outcome};
use pin_project_lite::pin_project;

use crate::grpc;

pin_project! {
    /// Response body of [`Metrics`](crate::Metrics): the request's duration ends when this body
    /// ends. Dropped before its end (the client disconnected mid-body), the request is recorded
    /// as aborted with the status that was sent.
    ///
    /// A body ends when it says so, or once it has yielded its length: the exact size it
    /// announces, else a valid `Content-Length` of the response (as `ServeDir` and `ServeFile`
    /// set for their streamed files). hyper's HTTP/1 writer stops polling at that length and
    /// drops the body, so a drop with nothing left to send is a completed response.
    pub struct ResponseBody<B> {
        #[pin]
        inner: B,
        active: Option<ActiveRequest>,
        // Bytes still due when the length is known (the body's exact size, else the
        // `Content-Length` header): servers stop polling once that many were written, without
        // waiting for the body to say it has ended.
        remaining: Option<u64>,
        // A gRPC call: its trailers carry `grpc-status`.
        grpc: bool,
    }
}

// Used by the axum body conversion only.
#[cfg(feature = "axum")]
impl<B> ResponseBody<B> {
    /// Whether the request is no longer (or was never) being recorded: the body then only
    /// passes frames through.
    #[cfg(feature = "axum")]
    pub(crate) fn is_passthrough(&self) -> bool {
        self.active.is_none()
    }

    /// The wrapped body.
    #[cfg(feature = "axum")]
    pub(crate) fn into_inner(self) -> B {
        self.inner
    }
}

impl<B: Body> ResponseBody<B> {
    /// `remaining` is the response's length, if known ([`response_length`]); `None` for gRPC.
    #[inline]
    pub(crate) fn new(
        inner: B,
        mut active: Option<ActiveRequest>,
        grpc: bool,
        remaining: Option<u64>,
    ) -> Self {
        // Nothing to send: hyper's HTTP/1 writer will not poll the body at all.
        if remaining == Some(0) {
            if let Some(active) = active.take() {
                active.finish(Outcome::Completed);
            }
        }
        Self {
            inner,
            active,
            remaining,
            grpc,
        }
    }
}

impl<B: Body> Body for ResponseBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    #[inline]
    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        let frame = ready!(this.inner.as_mut().poll_frame(cx));
        if this.active.is_none() {
            return Poll::Ready(frame);
        }
        let outcome = match &frame {
            None => Some(Outcome::Completed),
            Some(Err(_)) => Some(Outcome::Failed),
            Some(Ok(frame)) => {
                if *this.grpc {
                    let status = frame.trailers_ref().and_then(grpc::status_in);
                    if let (Some(status), Some(active)) = (status, this.active.as_mut()) {
                        active.set_grpc_status(status);
                    }
                }
                if let (Some(remaining), Some(data)) = (this.remaining.as_mut(), frame.data_ref()) {
                    *remaining = remaining.saturating_sub(data.remaining() as u64);
                }
                // Trailers are the last frame, and servers poll no further after them; then
                // the byte count: it is known without asking the (often boxed) body.
                let ended =
                    frame.is_trailers() || *this.remaining == Some(0) || this.inner.is_end_stream();
                ended.then_some(Outcome::Completed)
            }
        };
        if let Some(outcome) = outcome {
            if let Some(active) = this.active.take() {
                active.finish(outcome);
            }
        }
        Poll::Ready(frame)
    }

    #[inline]
    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    #[inline]
    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The length of `response`'s body: its exact size hint, else its `Content-Length`.
#[inline]
pub(crate) fn response_length<B: Body>(response: &Response<B>) -> Option<u64> {
    let hint = response.body().size_hint().exact();
    if hint.is_some() {
        return hint;
    }
    content_length(response.headers())
}

/// The response's length from `Content-Length`, when every value of it is the same number
/// written in digits alone: what hyper's HTTP/1 writer accepts and then stops at. Anything else
/// (hyper refuses to send it) is no length.
fn content_length(headers: &HeaderMap) -> Option<u64> {
    let mut length = None;
    for value in headers.get_all(CONTENT_LENGTH) {
        let digits = value.as_bytes();
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let parsed = std::str::from_utf8(digits).ok()?.parse::<u64>().ok()?;
        if length.is_some_and(|previous| previous != parsed) {
            return None;
        }
        length = Some(parsed);
    }
    length
}
