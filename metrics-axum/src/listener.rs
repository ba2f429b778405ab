//! Counting open connections: a listener wrapper for `axum::serve` and an I/O wrapper for any
//! accept loop.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use metrics_toolkit::http::ConnectionGuard;
use pin_project_lite::pin_project;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

pin_project! {
    /// A connection counted in `http_server_active_connections` until it is dropped.
    ///
    /// With plain hyper, wrap each accepted stream:
    ///
    /// ```no_run
    /// # async fn run(listener: tokio::net::TcpListener, http: metrics_toolkit::HttpServerMetrics) -> std::io::Result<()> {
    /// use metrics_axum::CountedIo;
    ///
    /// loop {
    ///     let (stream, _peer) = listener.accept().await?;
    ///     let stream = CountedIo::new(stream, http.open_connection());
    ///     // hand `stream` to hyper (e.g. through hyper_util::rt::TokioIo)
    /// #   drop(stream);
    /// }
    /// # }
    /// ```
    #[derive(Debug)]
    pub struct CountedIo<T> {
        #[pin]
        io: T,
        guard: ConnectionGuard,
    }
}

impl<T> CountedIo<T> {
    /// Wraps `io`, holding `guard` (from `HttpServerMetrics::open_connection`) until dropped.
    pub fn new(io: T, guard: ConnectionGuard) -> Self {
        Self { io, guard }
    }

    /// The wrapped I/O object.
    pub fn get_ref(&self) -> &T {
        &self.io
    }
}

impl<T: AsyncRead> AsyncRead for CountedIo<T> {
    #[inline]
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.project().io.poll_read(cx, buf)
    }
}

impl<T: AsyncWrite> AsyncWrite for CountedIo<T> {
    #[inline]
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.project().io.poll_write(cx, buf)
    }

    #[inline]
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().io.poll_flush(cx)
    }

    #[inline]
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().io.poll_shutdown(cx)
    }

    #[inline]
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().io.poll_write_vectored(cx, bufs)
    }

    #[inline]
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// Wraps a listener given to `axum::serve` so every accepted connection is counted in
/// `http_server_connections_total` and `http_server_active_connections`.
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// use axum::{routing::get, Router};
/// use metrics_axum::{CountingListener, MetricsLayer};
/// use metrics_toolkit::{HttpServerMetrics, MetricsRegistry};
///
/// let registry = MetricsRegistry::builder().build().unwrap();
/// let http = HttpServerMetrics::builder().register(&registry);
/// let app = Router::new()
///     .route("/", get(|| async { "hi" }))
///     .layer(MetricsLayer::new(http.clone()));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// axum::serve(CountingListener::new(listener, http), app).await
/// # }
/// ```
#[cfg(feature = "axum")]
#[derive(Debug)]
pub struct CountingListener<L> {
    inner: L,
    metrics: metrics_toolkit::HttpServerMetrics,
}

#[cfg(feature = "axum")]
impl<L> CountingListener<L> {
    /// Counts the connections `inner` accepts into `metrics`.
    pub fn new(inner: L, metrics: metrics_toolkit::HttpServerMetrics) -> Self {
        Self { inner, metrics }
    }
}

#[cfg(feature = "axum")]
impl<L: axum::serve::Listener> axum::serve::Listener for CountingListener<L> {
    type Io = CountedIo<L::Io>;
    type Addr = L::Addr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (io, addr) = self.inner.accept().await;
        (CountedIo::new(io, self.metrics.open_connection()), addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}
