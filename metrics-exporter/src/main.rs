//! `metrics-exporter`: probes the targets named in `TARGETS` (and `TARGETS_FILE`) and serves
//! `/metrics`, `/health`, `/live` and `/ready` on `METRICS_ADDR`, protected as
//! `--web.config.file` and the `METRICS_*` security variables say. See docs/standalone.md and
//! docs/security.md for every variable and its default.
#![deny(unsafe_code)]

use std::process::ExitCode;

use metrics_exporter::standalone::{Settings, Standalone};
use metrics_exporter::Lifecycle;

#[tokio::main]
async fn main() -> ExitCode {
    let standalone = match Settings::from_env_and_args(std::env::args().skip(1))
        .map_err(|e| e.to_string())
        .and_then(|settings| Standalone::new(settings).map_err(|e| e.to_string()))
    {
        Ok(standalone) => standalone,
        Err(message) => {
            eprintln!("metrics-exporter: invalid configuration: {message}");
            return ExitCode::from(2);
        }
    };
    let listener = match standalone.bind().await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("metrics-exporter: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Ok(addr) = listener.local_addr() {
        eprintln!(
            "metrics-exporter: serving {}://{addr}/metrics",
            standalone.scheme()
        );
    }
    let lifecycle = Lifecycle::new()
        .drain_delay(standalone.shutdown_delay())
        .drain_timeout(standalone.shutdown_timeout());
    tokio::spawn(lifecycle.clone().shutdown_on_signals());
    let served = standalone.serve(listener, lifecycle.clone()).await;
    if lifecycle.drain_aborted() {
        eprintln!("metrics-exporter: second signal: stopped without draining");
        // At once: not even waiting for blocking tasks (a probe's name lookup) to end.
        std::process::exit(1);
    }
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("metrics-exporter: {e}");
            ExitCode::FAILURE
        }
    }
}
