//! The exporter's own server: an accept loop over hyper, so TLS handshakes run off the accept
//! path, hyper's read buffer bounds request heads (axum::serve exposes neither), and no
//! connection is held forever: a connection cap, a first-request and an idle timeout, HTTP/2
//! keep-alive pings, and a drain deadline at shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, StatusCode};
use axum::Router;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
#[cfg(feature = "http2")]
use hyper::server::conn::http2;
#[cfg(feature = "http2")]
use hyper_util::rt::TokioExecutor;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulConnection;
use metrics_toolkit::prometheus_client::metrics::gauge::Gauge;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
#[cfg(feature = "tls")]
use tokio_rustls::TlsAcceptor;
use tower_service::Service;

use crate::response::plain;
use crate::security::refusals::Refusals;
#[cfg(feature = "tls")]
use crate::security::TlsConfig;
use crate::security::{Bucket, Limits, RateLimit};
use crate::self_metrics::{ScrapeResult, SelfMetrics};

/// A handshake not finished in this time is dropped (a client that connects and sends
/// nothing holds only its own task, and only this long).
#[cfg(feature = "tls")]
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// HTTP/2 pings a connection that sent nothing for this long...
#[cfg(feature = "http2")]
const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(30);
/// ...and closes it when the ping is not answered in this time (a peer that vanished).
#[cfg(feature = "http2")]
const KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(10);
/// Time given to a connection closed for idleness to finish its `GOAWAY` before it is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(1);
/// Time the tasks of cut connections get to drop them once the drain deadline has passed.
const CUT_GRACE: Duration = Duration::from_secs(1);
const H2_PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// How [`serve`] serves.
pub(crate) struct Options {
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<TlsConfig>,
    pub(crate) limits: Limits,
    pub(crate) http2: bool,
    /// `exporter_connections_open` and `exporter_connections_refused_total`.
    pub(crate) metrics: SelfMetrics,
    /// Added to every answer (web-config.yml `http_server_config.headers`).
    pub(crate) headers: HeaderMap,
    /// One token bucket for every request (web-config.yml `rate_limit`).
    pub(crate) rate_limit: Option<RateLimit>,
    /// Where refused requests are logged.
    pub(crate) refusals: Arc<Refusals>,
    /// The path `/metrics` is served at ([`Exporter::telemetry_path`](crate::Exporter::telemetry_path)):
    /// a request to it refused by the rate limit counts as a rejected scrape.
    pub(crate) telemetry_path: Arc<str>,
}

/// What the server does to every request before and after the router: the rate limit and
/// the configured headers.
struct Answers {
    headers: HeaderMap,
    bucket: Option<Bucket>,
    refusals: Arc<Refusals>,
    metrics: SelfMetrics,
    telemetry_path: Arc<str>,
}

impl Answers {
    /// `Some(429)` when the bucket is empty.
    fn limited(&self, path: &str, peer: SocketAddr) -> Option<axum::response::Response> {
        if self.bucket.as_ref().is_none_or(Bucket::try_take) {
            return None;
        }
        if path == &*self.telemetry_path {
            self.metrics.scrape(ScrapeResult::Rejected);
        }
        self.refusals
            .refused(StatusCode::TOO_MANY_REQUESTS.as_u16(), path, Some(peer));
        Some(plain(StatusCode::TOO_MANY_REQUESTS, "too many requests\n"))
    }

    fn finish(&self, response: &mut axum::response::Response) {
        for (name, value) in &self.headers {
            response.headers_mut().insert(name.clone(), value.clone());
        }
    }
}

/// Where the server is in its shutdown, as every connection task watches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Serving,
    /// The listener is closed: connections finish their requests and close.
    Draining,
    /// The drain deadline passed: connections are dropped.
    Cut,
}

/// What every connection task needs.
struct ConnectionContext {
    http1: http1::Builder,
    #[cfg(feature = "http2")]
    http2: http2::Builder<TokioExecutor>,
    /// HTTP/2 is served: the `http2` feature is on and the configuration allows it.
    http2_enabled: bool,
    #[cfg(feature = "tls")]
    tls: Option<TlsConfig>,
    limits: Limits,
    router: Router,
    answers: Arc<Answers>,
}

/// Serves `router` on `listener` until `shutdown`, then lets connections finish their requests
/// until `deadline`, and drops the rest.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    options: Options,
    shutdown: impl Future<Output = ()> + Send + 'static,
    deadline: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let limits = options.limits;
    let mut http1 = http1::Builder::new();
    http1
        .timer(TokioTimer::new())
        // The connection's own timers bound heads and idleness (see `drive`).
        .header_read_timeout(None)
        // Some room above the limit so the middleware answers (and counts) a modest overflow;
        // anything longer is refused by hyper before it is buffered.
        .max_buf_size(
            limits
                .header_bytes()
                .saturating_add(Limits::MIN_HEADER_BYTES),
        );
    #[cfg(feature = "http2")]
    let mut http2 = http2::Builder::new(TokioExecutor::new());
    #[cfg(feature = "http2")]
    http2
        .timer(TokioTimer::new())
        .keep_alive_interval(KEEP_ALIVE_INTERVAL)
        .keep_alive_timeout(KEEP_ALIVE_TIMEOUT)
        .max_header_list_size(u32::try_from(limits.header_bytes()).unwrap_or(u32::MAX));
    let http2_enabled = options.http2 && cfg!(feature = "http2");
    #[cfg(feature = "tls")]
    let tls = options.tls.map(|tls| {
        if http2_enabled {
            tls
        } else {
            // HTTP/1.1 only: not even offered in the handshake.
            tls.without_h2()
        }
    });
    let answers = Arc::new(Answers {
        headers: options.headers,
        bucket: options.rate_limit.map(Bucket::new),
        refusals: options.refusals,
        metrics: options.metrics.clone(),
        telemetry_path: options.telemetry_path,
    });
    let context = Arc::new(ConnectionContext {
        http1,
        #[cfg(feature = "http2")]
        http2,
        http2_enabled,
        #[cfg(feature = "tls")]
        tls,
        limits,
        router,
        answers,
    });
    let slots = Arc::new(Semaphore::new(limits.connections()));
    let (stage, _) = watch::channel(Stage::Serving);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors and the like: wait rather than spin or stop serving.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
            // Closed at once, unread: the cap bounds descriptors and tasks, and says so.
            options.metrics.connections_refused.inc();
            drop(stream);
            continue;
        };
        let open = Open::new(permit, &options.metrics.connections_open);
        let _ = stream.set_nodelay(true);
        let context = Arc::clone(&context);
        let stage = stage.subscribe();
        let mut cut = stage.clone();
        tokio::spawn(async move {
            let _open = open;
            // At the drain deadline every stage of the connection ends, handshakes included.
            tokio::select! {
                () = connection(&context, stream, peer, stage) => {}
                _ = cut.wait_for(|s| *s == Stage::Cut) => {}
            }
        });
    }
    drop(listener);
    stage.send_replace(Stage::Draining);
    tokio::pin!(deadline);
    // Every connection task holds a receiver: all closed once they have all ended.
    tokio::select! {
        () = stage.closed() => {}
        () = &mut deadline => {
            stage.send_replace(Stage::Cut);
            let _ = tokio::time::timeout(CUT_GRACE, stage.closed()).await;
        }
    }
    Ok(())
}

/// One open connection: its slot under the cap, counted in `exporter_connections_open`.
struct Open {
    _permit: OwnedSemaphorePermit,
    gauge: Gauge,
}

impl Open {
    fn new(permit: OwnedSemaphorePermit, gauge: &Gauge) -> Self {
        gauge.inc();
        Self {
            _permit: permit,
            gauge: gauge.clone(),
        }
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}

async fn connection(
    context: &ConnectionContext,
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    stage: watch::Receiver<Stage>,
) {
    #[cfg(feature = "tls")]
    if let Some(config) = &context.tls {
        // Per connection: a client CA file that changed is read before this handshake.
        let acceptor = TlsAcceptor::from(config.current());
        let handshake = tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream));
        // Debug only: scanners and health checkers of load balancers fail handshakes all day.
        let tls = match handshake.await {
            Ok(Ok(tls)) => tls,
            Ok(Err(cause)) => {
                tracing::debug!(peer = %peer, cause = %cause, "TLS handshake failed");
                return;
            }
            Err(_) => {
                tracing::debug!(peer = %peer, cause = "timed out", "TLS handshake failed");
                return;
            }
        };
        let started = Instant::now();
        // ALPN decides when the client used it; HTTP/2 only when it was offered.
        let (io, http2) = match tls.get_ref().1.alpn_protocol() {
            Some(b"h2") => (Prefixed::new(tls), true),
            Some(_) => (Prefixed::new(tls), false),
            None => match detect(context, tls, started).await {
                Some(detected) => detected,
                None => return,
            },
        };
        serve_connection(context, io, http2, peer, started, stage).await;
        return;
    }
    let started = Instant::now();
    let Some((io, http2)) = detect(context, stream, started).await else {
        return;
    };
    serve_connection(context, io, http2, peer, started, stage).await;
}

/// Tells HTTP/2 prior knowledge from HTTP/1 by the first bytes, within the first-request
/// timeout. `None`: the client closed, failed or was too slow.
async fn detect<I>(
    context: &ConnectionContext,
    mut io: I,
    started: Instant,
) -> Option<(Prefixed<I>, bool)>
where
    I: AsyncRead + Unpin,
{
    if !context.http2_enabled {
        return Some((Prefixed::new(io), false));
    }
    let mut prefix = [0u8; 24];
    let mut filled = 0;
    let read = async {
        while filled < prefix.len() {
            let n = io.read(&mut prefix[filled..]).await?;
            if n == 0 {
                break;
            }
            filled += n;
            if prefix[..filled] != H2_PREFACE[..filled] {
                break;
            }
        }
        Ok::<_, io::Error>(())
    };
    let deadline = later(started, context.limits.first_request());
    match tokio::time::timeout_at(deadline, read).await {
        Ok(Ok(())) => {}
        _ => return None,
    }
    // A single read may fill the buffer with an HTTP/1 request: compare, not count.
    let http2 = prefix[..filled] == H2_PREFACE[..];
    Some((
        Prefixed {
            prefix,
            start: 0,
            end: filled,
            io,
        },
        http2,
    ))
}

async fn serve_connection<I>(
    context: &ConnectionContext,
    io: Prefixed<I>,
    http2: bool,
    peer: SocketAddr,
    started: Instant,
    stage: watch::Receiver<Stage>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::new(Activity::new(started));
    let service = {
        let activity = Arc::clone(&activity);
        let router = context.router.clone();
        let answers = Arc::clone(&context.answers);
        hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let in_flight = InFlight::start(&activity);
            // A request over the rate limit never reaches the router.
            let call = match answers.limited(request.uri().path(), peer) {
                Some(limited) => Err(limited),
                None => Ok(router.clone().call(request)),
            };
            let answers = Arc::clone(&answers);
            async move {
                let mut response = match call {
                    Err(limited) => limited,
                    Ok(response) => response.await?,
                };
                answers.finish(&mut response);
                Ok::<_, Infallible>(response.map(|body| Tracked {
                    body,
                    _in_flight: in_flight,
                }))
            }
        })
    };
    let io = TokioIo::new(io);
    // Errors are the client's (reset, malformed or oversized request): nothing to do.
    if http2 {
        // Only detected (or negotiated) when HTTP/2 is enabled, so only with the feature.
        #[cfg(feature = "http2")]
        drive(
            context.http2.serve_connection(io, service),
            &activity,
            &context.limits,
            stage,
        )
        .await;
    } else {
        drive(
            context.http1.serve_connection(io, service),
            &activity,
            &context.limits,
            stage,
        )
        .await;
    }
}

/// Runs a connection until it ends, its first request is late, it is idle too long, or the
/// drain deadline passes; closes it gracefully when the server drains.
async fn drive<C>(conn: C, activity: &Activity, limits: &Limits, mut stage: watch::Receiver<Stage>)
where
    C: GracefulConnection,
{
    tokio::pin!(conn);
    let first_request_by = later(activity.started, limits.first_request());
    let mut check_at = first_request_by.min(later(activity.started, limits.idle()));
    let mut closing = false;
    let mut draining = false;
    loop {
        let next_stage = if draining {
            Stage::Cut
        } else {
            Stage::Draining
        };
        tokio::select! {
            _ = conn.as_mut() => return,
            () = tokio::time::sleep_until(check_at) => {
                if closing {
                    return;
                }
                match activity.idle_since() {
                    // The first request did not arrive in time: nothing to be graceful about.
                    Idle::Unused if Instant::now() >= first_request_by => return,
                    Idle::Unused => check_at = first_request_by,
                    Idle::Busy => check_at = later(Instant::now(), limits.idle()),
                    Idle::Since(at) if later(at, limits.idle()) > Instant::now() => {
                        check_at = later(at, limits.idle());
                    }
                    Idle::Since(_) => {
                        conn.as_mut().graceful_shutdown();
                        closing = true;
                        check_at = Instant::now() + CLOSE_GRACE;
                    }
                }
            }
            reached = stage.wait_for(|s| *s >= next_stage) => match reached.map(|s| *s) {
                Ok(Stage::Draining) => {
                    draining = true;
                    if !closing {
                        conn.as_mut().graceful_shutdown();
                    }
                }
                // Cut, or the server is gone.
                _ => return,
            },
        }
    }
}

/// `at + timeout`, or about a year later when a huge timeout would overflow (in effect none).
fn later(at: Instant, timeout: Duration) -> Instant {
    at.checked_add(timeout)
        .or_else(|| at.checked_add(Duration::from_secs(365 * 24 * 3600)))
        .unwrap_or(at)
}

/// When a connection last did something, as its requests report it.
struct Activity {
    started: Instant,
    in_flight: AtomicUsize,
    /// Milliseconds after `started` that the last request started or ended; `NEVER` before
    /// the first request.
    last: AtomicU64,
}

enum Idle {
    Unused,
    Busy,
    Since(Instant),
}

impl Activity {
    const NEVER: u64 = u64::MAX;

    fn new(started: Instant) -> Self {
        Self {
            started,
            in_flight: AtomicUsize::new(0),
            last: AtomicU64::new(Self::NEVER),
        }
    }

    fn touch(&self) {
        let millis = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
        self.last.store(millis, Ordering::Relaxed);
    }

    fn idle_since(&self) -> Idle {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return Idle::Busy;
        }
        match self.last.load(Ordering::Relaxed) {
            Self::NEVER => Idle::Unused,
            millis => Idle::Since(self.started + Duration::from_millis(millis)),
        }
    }
}

/// A request in flight, from its head to the end of its response body.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: &Arc<Activity>) -> Self {
        activity.touch();
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        Self(Arc::clone(activity))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that keeps its request in flight until hyper is done with it.
struct Tracked {
    body: axum::body::Body,
    _in_flight: InFlight,
}

impl Body for Tracked {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A stream whose first bytes, read to detect the protocol, are read again.
struct Prefixed<I> {
    prefix: [u8; 24],
    start: usize,
    end: usize,
    io: I,
}

impl<I> Prefixed<I> {
    fn new(io: I) -> Self {
        Self {
            prefix: [0; 24],
            start: 0,
            end: 0,
            io,
        }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Prefixed<I> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.start < this.end {
            let n = (this.end - this.start).min(buf.remaining());
            buf.put_slice(&this.prefix[this.start..this.start + n]);
            this.start += n;
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.io).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Prefixed<I> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
