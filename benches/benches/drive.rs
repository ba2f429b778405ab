//! Driving a router in-process without a runtime: every future here is ready at once, so a
//! poll loop with a no-op waker measures the service and nothing else.

#![allow(dead_code)]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use axum::body::Body;
use axum::Router;
use http::Request;
use http_body_util::BodyExt;
use tower::ServiceExt;

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

/// One `GET /users/42` through `router`, body read to the end.
pub fn one_request(router: &Router) -> usize {
    block_on(async {
        let request = Request::get("/users/42")
            .body(Body::empty())
            .expect("request");
        let response = router.clone().oneshot(request).await.expect("infallible");
        let body = response.into_body().collect().await.expect("body");
        body.to_bytes().len()
    })
}
