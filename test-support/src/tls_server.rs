//! An https server on 127.0.0.1 for a test: a given certificate, a given ALPN offer, HTTP/2 when
//! the client chose `h2` and HTTP/1.1 otherwise, every request answered by a plain function.
//! Stopped when dropped.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;

/// What answers each request.
pub type Respond = fn(&Request<Incoming>) -> Response<Full<Bytes>>;

/// A running https server; its accept loop ends when this is dropped.
#[derive(Debug)]
pub struct TlsServer {
    /// Its port on 127.0.0.1 (the certificate names `localhost`, say).
    pub port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `chain` and `key`, offering `alpn` (e.g. `[b"h2"]` for HTTP/2 only, none for
/// HTTP/1.1), with `respond` answering every request.
pub async fn serve(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    alpn: &[&[u8]],
    respond: Respond,
) -> TlsServer {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("server config");
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
                let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                    let response = respond(&request);
                    async move { Ok::<_, std::convert::Infallible>(response) }
                });
                let io = hyper_util::rt::TokioIo::new(tls);
                if h2 {
                    let _ = hyper::server::conn::http2::Builder::new(
                        hyper_util::rt::TokioExecutor::new(),
                    )
                    .serve_connection(io, service)
                    .await;
                } else {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, service)
                        .await;
                }
            });
        }
    });
    TlsServer { port, task }
}

/// A self-signed certificate and key from `params` (e.g. for `localhost`): the chain and key to
/// serve, and the certificate's PEM for the client to trust.
pub fn self_signed(
    params: rcgen::CertificateParams,
) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>, String) {
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("certificate");
    let pem = cert.pem();
    (
        vec![cert.der().clone()],
        PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        pem,
    )
}
