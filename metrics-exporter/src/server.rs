//! The exporter's own server: an accept loop over hyper-util, so TLS handshakes run off the
//! accept path and hyper's read buffer bounds request heads (axum::serve exposes neither).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower_service::Service;

use crate::security::{TlsConfig, MIN_HEADER_BYTES};

/// A handshake not finished in this time is dropped (a client that connects and sends
/// nothing holds only its own task, and only this long).
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for a request head to arrive once a connection is idle-reading.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) struct Options {
    pub(crate) tls: Option<TlsConfig>,
    pub(crate) max_header_bytes: usize,
    pub(crate) http2: bool,
}

pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    options: Options,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        // Some room above the limit so the middleware answers (and counts) a modest overflow;
        // anything longer is refused by hyper before it is buffered.
        .max_buf_size(options.max_header_bytes.saturating_add(MIN_HEADER_BYTES));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(options.max_header_bytes).unwrap_or(u32::MAX));
    let builder = if options.http2 {
        builder
    } else {
        builder.http1_only()
    };
    let builder = Arc::new(builder);
    let acceptor = options.tls.map(|tls| TlsAcceptor::from(tls.server));
    let graceful = GracefulShutdown::new();
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
        let _ = stream.set_nodelay(true);
        let watcher = graceful.watcher();
        let builder = Arc::clone(&builder);
        let router = router.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            match acceptor {
                None => connection(&builder, stream, peer, router, watcher).await,
                Some(acceptor) => {
                    let Ok(Ok(tls)) =
                        tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
                    else {
                        return;
                    };
                    connection(&builder, tls, peer, router, watcher).await;
                }
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

async fn connection<I>(
    builder: &Builder<TokioExecutor>,
    io: I,
    peer: SocketAddr,
    router: Router,
    watcher: hyper_util::server::graceful::Watcher,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        let mut router = router.clone();
        router.call(request)
    });
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
    // Errors are the client's (reset, malformed or oversized request): nothing to do.
    let _ = watcher.watch(conn).await;
}
