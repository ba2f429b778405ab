//! [`Exemplars`]: where the layer finds the trace of each request.

use std::sync::Arc;

use http::header::HeaderName;
use http::{Extensions, HeaderMap, HeaderValue};
use metrics_toolkit::http::{ActiveRequest, Exemplar};

/// Where [`MetricsLayer`](crate::MetricsLayer) finds the trace each request belongs to, kept as
/// the exemplar of the `http_server_request_duration_seconds` bucket the request landed in
/// (written in OpenMetrics and protobuf scrapes; text 0.0.4 has none). Each request takes the
/// first of, in this order:
///
/// 1. the current OpenTelemetry span, when sampled (feature `opentelemetry`, on by
///    [`new`](Self::new) when the feature is);
/// 2. the request's W3C `traceparent` header, when its sampled flag is set;
/// 3. a function of yours ([`or_else`](Self::or_else)).
///
/// Unsampled traces never give an exemplar. Finding none costs a header lookup; recording one
/// allocates nothing.
///
/// ```
/// use metrics_axum::{Exemplars, MetricsLayer};
/// use metrics_toolkit::http::{ActiveRequest, Exemplar};
/// use metrics_toolkit::HttpServerMetrics;
///
/// let http = HttpServerMetrics::builder().build();
/// let layer = MetricsLayer::new(http).exemplars(Exemplars::new().or_else(|headers, _| {
///     // A tracer of your own, say, that leaves the ids in a header of its own.
///     let value = headers.get("x-trace")?.as_bytes();
///     Exemplar::from_traceparent(value)
/// }));
/// ```
///
/// # OpenTelemetry
///
/// With the `opentelemetry` feature the layer reads `opentelemetry::Context::current()`
/// (opentelemetry 0.33). tracing-opentelemetry 0.34 (and every version since 0.32) makes a
/// tracing span's context current while the span is entered, so put the layer that creates the
/// request's span (tower-http's `TraceLayer`, say) *outside* this one: it enters the span while
/// it calls this layer. On another opentelemetry version, leave the feature off and read the
/// span in [`or_else`](Self::or_else):
/// `Exemplar::new(cx.trace_id().to_bytes(), cx.span_id().to_bytes())` from a sampled span
/// context.
#[derive(Clone)]
pub struct Exemplars {
    #[cfg(feature = "opentelemetry")]
    opentelemetry: bool,
    traceparent: bool,
    custom: Option<Arc<dyn ExemplarFn>>,
}

/// A function giving a request's exemplar from its headers and extensions.
trait ExemplarFn: Send + Sync + 'static {
    fn exemplar(&self, headers: &HeaderMap, extensions: &Extensions) -> Option<Exemplar>;
}

impl<F> ExemplarFn for F
where
    F: Fn(&HeaderMap, &Extensions) -> Option<Exemplar> + Send + Sync + 'static,
{
    fn exemplar(&self, headers: &HeaderMap, extensions: &Extensions) -> Option<Exemplar> {
        self(headers, extensions)
    }
}

/// Measured with callgrind (`benches/scripts/instructions.sh`): `HeaderMap::get` of a custom
/// name costs about 160 instructions more than finding it by a scan of a one-header map, and
/// the scan about 25 per header (`HeaderMap::iter` follows each header's extra values), so
/// the two meet near 8 headers.
const SCAN_UP_TO: usize = 8;

static TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");

impl Exemplars {
    /// Exemplars from sampled traces: the current OpenTelemetry span (with the
    /// `opentelemetry` feature), else the `traceparent` header.
    pub fn new() -> Self {
        Self {
            #[cfg(feature = "opentelemetry")]
            opentelemetry: true,
            traceparent: true,
            custom: None,
        }
    }

    /// Whether to read the W3C `traceparent` header (default: yes). Turn it off when clients
    /// you do not trust send it: a client can name any trace.
    pub fn traceparent(mut self, enabled: bool) -> Self {
        self.traceparent = enabled;
        self
    }

    /// Whether to read the current OpenTelemetry span (default: yes).
    #[cfg(feature = "opentelemetry")]
    #[cfg_attr(docsrs, doc(cfg(feature = "opentelemetry")))]
    pub fn opentelemetry(mut self, enabled: bool) -> Self {
        self.opentelemetry = enabled;
        self
    }

    /// A function asked last, when neither the OpenTelemetry span nor the `traceparent` header
    /// gave an exemplar. Return `None` for requests of traces that were not sampled.
    pub fn or_else<F>(mut self, f: F) -> Self
    where
        F: Fn(&HeaderMap, &Extensions) -> Option<Exemplar> + Send + Sync + 'static,
    {
        self.custom = Some(Arc::new(f));
        self
    }

    /// Gives `request` the exemplar of the first source that has one.
    #[inline]
    pub(crate) fn apply(
        &self,
        request: &mut ActiveRequest,
        headers: &HeaderMap,
        extensions: &Extensions,
    ) {
        #[cfg(feature = "opentelemetry")]
        if self.opentelemetry {
            if let Some(exemplar) = current_span() {
                return request.set_exemplar(exemplar);
            }
        }
        if self.traceparent {
            if let Some(value) = traceparent(headers) {
                if request.set_traceparent(value.as_bytes()) {
                    return;
                }
            }
        }
        if let Some(exemplar) = self
            .custom
            .as_ref()
            .and_then(|f| f.exemplar(headers, extensions))
        {
            request.set_exemplar(exemplar);
        }
    }
}

impl Default for Exemplars {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Exemplars {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut debug = f.debug_struct("Exemplars");
        #[cfg(feature = "opentelemetry")]
        debug.field("opentelemetry", &self.opentelemetry);
        debug
            .field("traceparent", &self.traceparent)
            .field("custom", &self.custom.is_some())
            .finish()
    }
}

/// The request's `traceparent` header: a scan of the names up to [`SCAN_UP_TO`] headers, a
/// hash lookup beyond.
#[inline]
fn traceparent(headers: &HeaderMap) -> Option<&HeaderValue> {
    if headers.keys_len() > SCAN_UP_TO {
        return headers.get(&TRACEPARENT);
    }
    headers
        .iter()
        .find(|(name, _)| is_traceparent(name.as_str().as_bytes()))
        .map(|(_, value)| value)
}

/// Whether a header name is `traceparent`: its length, then two overlapping 8-byte compares
/// (rather than 8, 2 and 1 bytes), for every header scanned.
#[inline(always)]
fn is_traceparent(name: &[u8]) -> bool {
    name.len() == 11 && name[..8] == *b"tracepar" && name[3..] == *b"ceparent"
}

/// The exemplar of the current OpenTelemetry span, if it is valid and sampled.
#[cfg(feature = "opentelemetry")]
fn current_span() -> Option<Exemplar> {
    use opentelemetry::trace::TraceContextExt;

    opentelemetry::Context::map_current(|cx| {
        let span = cx.span();
        let context = span.span_context();
        if !context.is_valid() || !context.is_sampled() {
            return None;
        }
        Exemplar::new(context.trace_id().to_bytes(), context.span_id().to_bytes())
    })
}
