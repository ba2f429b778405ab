//! What the benchmarks (`benches/`) and the measuring tools (`examples/`) share: the services
//! compared ([`variants`]), a way to drive them in-process ([`drive`]) and a registry holding
//! many label sets ([`label_sets`]). The peers compared with are ordinary dependencies of this
//! unpublished crate.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod drive;
pub mod label_sets;
pub mod variants;
