//! Where the `http_route` label comes from: a table of templates (given with
//! `MetricsLayer::routes`, or built by `Router`), axum's matched route, or a user's own
//! [`RouteExtractor`].

mod source;
mod table;

pub(crate) use source::RouteSource;
pub use table::{RouteTable, RouteTableError};

use http::{Extensions, Uri};

/// Finds the route template of a request: a bounded value such as `/users/{id}`, never the raw
/// path. Returning `None` records the request without an `http_route` label.
///
/// Given to [`MetricsLayer::route_extractor`](crate::MetricsLayer::route_extractor). Provided:
/// [`MatchedPathRoute`] (axum's match, inside a `Router`; the default) and [`NoRoute`]; a
/// [`RouteTable`] is one too, for use inside an extractor of your own, though the layer's own
/// table path ([`MetricsLayer::routes`](crate::MetricsLayer::routes)) is faster. Implement it
/// for other routers, e.g. one that leaves its match in the request's extensions; it runs once
/// per request, so keep it cheap:
///
/// ```
/// use http::{Extensions, Uri};
/// use metrics_axum::RouteExtractor;
///
/// /// A router that records its match as a `Matched` extension.
/// #[derive(Clone)]
/// struct Matched(&'static str);
///
/// struct FromMatched;
///
/// impl RouteExtractor for FromMatched {
///     fn route<'a>(&'a self, _: &'a Uri, extensions: &'a Extensions) -> Option<&'a str> {
///         extensions.get::<Matched>().map(|matched| matched.0)
///     }
/// }
/// ```
pub trait RouteExtractor: Send + Sync + 'static {
    /// The route template of the request with this URI and these extensions.
    fn route<'a>(&'a self, uri: &'a Uri, extensions: &'a Extensions) -> Option<&'a str>;
}

/// The route axum matched (`axum::extract::MatchedPath`), nest prefixes included.
///
/// Requires the layer to be added with `Router::layer`, which runs it after routing. Around the
/// whole `Router` (before routing) there is no matched route yet: build the routes with
/// [`Router`](crate::Router) there.
#[cfg(feature = "axum")]
#[derive(Debug, Clone, Copy, Default)]
pub struct MatchedPathRoute;

#[cfg(feature = "axum")]
impl RouteExtractor for MatchedPathRoute {
    #[inline]
    fn route<'a>(&'a self, _uri: &'a Uri, extensions: &'a Extensions) -> Option<&'a str> {
        extensions
            .get::<axum::extract::MatchedPath>()
            .map(|matched| matched.as_str())
    }
}

/// Records every request without a route: the default without the `axum` feature, until a real
/// extractor is configured.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRoute;

impl RouteExtractor for NoRoute {
    fn route<'a>(&'a self, _uri: &'a Uri, _extensions: &'a Extensions) -> Option<&'a str> {
        None
    }
}
