//! Driving a router in-process without a runtime: every future here is ready at once, so a
//! poll loop with a no-op waker measures the service and nothing else.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use std::convert::Infallible;

use axum::body::Body;
use http::{Request, Response};
use http_body_util::BodyExt;
use tower::{Service, ServiceExt};

/// Polls `future` to completion on this thread.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        std::thread::yield_now();
    }
}

/// One `GET /users/42` through a clone of `service` (as servers call it), body read to the end.
pub fn one_request<S>(service: &S) -> usize
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Clone,
{
    request_with(service, None)
}

/// [`one_request`], with a sampled W3C `traceparent` header.
pub fn one_traced_request<S>(service: &S) -> usize
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Clone,
{
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    request_with(service, Some(traceparent))
}

fn request_with<S>(service: &S, traceparent: Option<&'static str>) -> usize
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Clone,
{
    block_on(async {
        let mut request = Request::get("/users/42");
        if let Some(value) = traceparent {
            request = request.header("traceparent", value);
        }
        let request = request.body(Body::empty()).expect("request");
        let response = service.clone().oneshot(request).await.expect("infallible");
        let body = response.into_body().collect().await.expect("body");
        body.to_bytes().len()
    })
}
