//! `metrics-exporter`: probes the targets of `--probe.targets` (and `--probe.targets-file`)
//! and serves `/metrics`, `/health`, `/live` and `/ready` on `--web.listen-address`, protected
//! as `--web.config.file` and the `--web.*` security flags say; logs to stderr. `--help` lists
//! every flag with its environment variables and default (as does the crate's README).
#![deny(unsafe_code)]

use std::process::ExitCode;

use metrics_exporter::standalone::{install_logs, CommandLine, Standalone};
use metrics_exporter::Lifecycle;

/// Exit status of a configuration error, as for a usage error.
const INVALID_CONFIGURATION: u8 = 2;

#[tokio::main]
async fn main() -> ExitCode {
    let command_line = match CommandLine::parse_from(std::env::args_os()) {
        Ok(command_line) => command_line,
        Err(e) => {
            // --help and --version go to stdout and exit 0; usage errors to stderr, exit 2.
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(INVALID_CONFIGURATION));
        }
    };
    let (level, format) = command_line.logs();
    if let Err(e) = install_logs(level, format) {
        // Nothing to log with: the one place a plain line is written.
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            format!("metrics-exporter: {e}\n").as_bytes(),
        );
        return ExitCode::FAILURE;
    }
    let standalone = match command_line
        .settings()
        .map_err(|e| e.to_string())
        .and_then(|settings| Standalone::new(settings).map_err(|e| e.to_string()))
    {
        Ok(standalone) => standalone,
        Err(message) => {
            tracing::error!("invalid configuration: {message}");
            return ExitCode::from(INVALID_CONFIGURATION);
        }
    };
    let listener = match standalone.bind().await {
        Ok(listener) => listener,
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::FAILURE;
        }
    };
    if let Ok(addr) = listener.local_addr() {
        standalone.log_start(addr);
    }
    let lifecycle = Lifecycle::new()
        .drain_delay(standalone.shutdown_delay())
        .drain_timeout(standalone.shutdown_timeout());
    tokio::spawn(lifecycle.clone().shutdown_on_signals());
    let served = standalone.serve(listener, lifecycle.clone()).await;
    if lifecycle.drain_aborted() {
        tracing::warn!("stopped without draining");
        // At once: not even waiting for blocking tasks (a probe's name lookup) to end.
        std::process::exit(1);
    }
    match served {
        Ok(()) => {
            tracing::info!("drained: stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}
