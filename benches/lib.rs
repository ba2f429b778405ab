//! Nothing to link: the benchmarks live in `benches/` and the load tools in `examples/`.
