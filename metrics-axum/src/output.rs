//! What the layer's responses carry as their body: its own [`ResponseBody`], or that body boxed
//! into `axum::body::Body` for servers that take only axum's body type.

use crate::ResponseBody;

/// Turns the layer's [`ResponseBody`] into the body type its responses carry.
///
/// [`Wrapped`] (the default) keeps `ResponseBody<B>`; [`AxumBody`] boxes it into
/// `axum::body::Body`, which `axum::serve` requires of a service placed around a `Router`.
pub trait OutputBody<B> {
    /// The response body type.
    type Body;

    /// The body handed out for `body`.
    fn output(body: ResponseBody<B>) -> Self::Body;
}

/// Responses carry [`ResponseBody<B>`] (the default).
#[derive(Debug, Clone, Copy, Default)]
pub struct Wrapped;

impl<B> OutputBody<B> for Wrapped {
    type Body = ResponseBody<B>;

    #[inline]
    fn output(body: ResponseBody<B>) -> ResponseBody<B> {
        body
    }
}

/// Responses carry `axum::body::Body`, as `axum::serve` requires: see
/// [`MetricsLayer::axum_body`](crate::MetricsLayer::axum_body).
#[cfg(feature = "axum")]
#[derive(Debug, Clone, Copy, Default)]
pub struct AxumBody;

#[cfg(feature = "axum")]
impl<B> OutputBody<B> for AxumBody
where
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Body = axum::body::Body;

    #[inline]
    fn output(body: ResponseBody<B>) -> axum::body::Body {
        // Nothing left to record (excluded path, body-less response): hand the inner body on,
        // which costs no allocation when it already is an `axum::body::Body`.
        if body.is_passthrough() {
            return axum::body::Body::new(body.into_inner());
        }
        axum::body::Body::new(body)
    }
}
