//! This package holds the runnable examples and the tests that run them. Its library is the
//! README, so the README's code is compiled by `cargo test`.
#![doc = include_str!("../README.md")]
