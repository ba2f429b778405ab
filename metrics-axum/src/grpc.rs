//! gRPC requests: which they are, and where their status is found.

use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderName, Method, Request, Version};
use metrics_toolkit::http::GrpcStatusLabel;

static GRPC_STATUS: HeaderName = HeaderName::from_static("grpc-status");

/// Whether `request` is a gRPC call: a `POST` over HTTP/2 or later whose content type is
/// `application/grpc` or `application/grpc+<codec>` (gRPC-Web, which carries its trailers in
/// the body, is not). HTTP/1.1 requests are told apart by their version alone, so the headers
/// are only looked at for HTTP/2 and HTTP/3 `POST`s.
#[inline]
pub(crate) fn is_grpc<B>(request: &Request<B>) -> bool {
    matches!(request.version(), Version::HTTP_2 | Version::HTTP_3)
        && request.method() == Method::POST
        && request
            .headers()
            .get(CONTENT_TYPE)
            .is_some_and(|value| is_grpc_content_type(value.as_bytes()))
}

fn is_grpc_content_type(value: &[u8]) -> bool {
    const GRPC: &[u8] = b"application/grpc";
    value.len() >= GRPC.len()
        && value[..GRPC.len()].eq_ignore_ascii_case(GRPC)
        && matches!(value.get(GRPC.len()), None | Some(b'+' | b';'))
}

/// The `grpc-status` in `headers` (response headers of a trailers-only response, or trailers).
#[inline]
pub(crate) fn status_in(headers: &HeaderMap) -> Option<GrpcStatusLabel> {
    headers
        .get(&GRPC_STATUS)
        .map(|value| GrpcStatusLabel::from_header_value(value.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(version: Version, method: Method, content_type: Option<&str>) -> Request<()> {
        let mut builder = Request::builder().version(version).method(method);
        if let Some(content_type) = content_type {
            builder = builder.header(CONTENT_TYPE, content_type);
        }
        builder.body(()).expect("valid request")
    }

    #[test]
    fn grpc_calls_are_http2_posts_with_a_grpc_content_type() {
        for content_type in [
            "application/grpc",
            "application/grpc+proto",
            "Application/GRPC;x=1",
        ] {
            assert!(is_grpc(&request(
                Version::HTTP_2,
                Method::POST,
                Some(content_type)
            )));
        }
        assert!(is_grpc(&request(
            Version::HTTP_3,
            Method::POST,
            Some("application/grpc")
        )));
    }

    #[test]
    fn anything_else_is_not_grpc() {
        let cases = [
            (Version::HTTP_11, Method::POST, Some("application/grpc")),
            (Version::HTTP_2, Method::GET, Some("application/grpc")),
            (Version::HTTP_2, Method::POST, Some("application/grpc-web")),
            (Version::HTTP_2, Method::POST, Some("application/grpcx")),
            (Version::HTTP_2, Method::POST, Some("application/json")),
            (Version::HTTP_2, Method::POST, None),
        ];
        for (version, method, content_type) in cases {
            assert!(
                !is_grpc(&request(version, method.clone(), content_type)),
                "{content_type:?}"
            );
        }
    }

    #[test]
    fn the_status_is_read_from_headers() {
        let mut headers = HeaderMap::new();
        assert_eq!(status_in(&headers), None);
        headers.insert("grpc-status", "14".parse().expect("valid value"));
        assert_eq!(status_in(&headers).map(GrpcStatusLabel::as_str), Some("14"));
    }
}
