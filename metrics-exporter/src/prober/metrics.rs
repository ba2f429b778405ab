//! The blackbox-exporter-compatible `probe_*` families.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use metrics_toolkit::prometheus_client::encoding::{
    DescriptorEncoder, EncodeGaugeValue, NoLabelSet,
};
use metrics_toolkit::prometheus_client::metrics::MetricType;
use metrics_toolkit::prometheus_client::registry::Unit;

use super::cause::FailureCause;
use super::probe::ProbeOutcome;

/// What the prober remembers of one target between scrapes.
#[derive(Debug, Clone, Default)]
pub(crate) struct TargetState {
    pub(crate) last: Option<ProbeOutcome>,
    pub(crate) successes: u64,
    pub(crate) failures: [u64; FailureCause::ALL.len()],
    pub(crate) last_success_seconds: Option<f64>,
}

impl TargetState {
    pub(crate) fn record(&mut self, outcome: ProbeOutcome) {
        match outcome.cause {
            None => {
                self.successes += 1;
                self.last_success_seconds = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .ok()
                    .map(|d| d.as_secs_f64());
            }
            Some(cause) => self.failures[cause.index()] += 1,
        }
        self.last = Some(outcome);
    }
}

/// Encodes every family for `targets` (name, state), in the order given.
pub(crate) fn encode(
    encoder: &mut DescriptorEncoder,
    targets: &[(String, TargetState)],
) -> Result<(), fmt::Error> {
    let probed = || {
        targets
            .iter()
            .filter_map(|(name, state)| state.last.as_ref().map(|last| (name.as_str(), last)))
    };

    per_target_gauge(
        encoder,
        "probe_success",
        "Whether the last probe succeeded (1) or failed (0).",
        None,
        probed().map(|(name, last)| (name, i64::from(last.success))),
    )?;
    per_target_gauge(
        encoder,
        "probe_duration",
        "Duration of the last probe.",
        Some(&Unit::Seconds),
        probed().map(|(name, last)| (name, last.duration.as_secs_f64())),
    )?;
    per_target_gauge(
        encoder,
        "probe_http_status_code",
        "Status code of the last probe's response, 0 when there was none.",
        None,
        probed().map(|(name, last)| (name, i64::from(last.status_code.unwrap_or(0)))),
    )?;

    let mut family = encoder.encode_descriptor(
        "probe_http_duration",
        "Duration of each phase of the last probe (zero for phases not reached).",
        Some(&Unit::Seconds),
        MetricType::Gauge,
    )?;
    for (name, last) in probed() {
        let t = &last.timings;
        for (phase, took) in [
            ("resolve", t.resolve),
            ("connect", t.connect),
            ("tls", t.tls),
            ("processing", t.processing),
            ("transfer", t.transfer),
        ] {
            family
                .encode_family(&[("target", name), ("phase", phase)])?
                .encode_gauge(&took.as_secs_f64())?;
        }
    }

    per_target_gauge(
        encoder,
        "probe_ssl_earliest_cert_expiry",
        "Earliest expiry of the certificates the target sent, seconds since the Unix epoch.",
        None,
        probed().filter_map(|(name, last)| Some((name, last.cert_expiry?))),
    )?;

    let mut family = encoder.encode_descriptor(
        "probe_checks",
        "Probes made, by result, and by cause for failures.",
        None,
        MetricType::Counter,
    )?;
    for (name, state) in targets {
        if state.last.is_none() {
            continue;
        }
        family
            .encode_family(&[("target", name.as_str()), ("result", "success")])?
            .encode_counter::<NoLabelSet, _, u64>(&state.successes, None)?;
        for cause in FailureCause::ALL {
            let count = state.failures[cause.index()];
            // Causes never seen stay absent: a target has one or two causes, not six series.
            if count > 0 {
                let labels = [
                    ("target", name.as_str()),
                    ("result", "failure"),
                    ("cause", cause.as_str()),
                ];
                family
                    .encode_family(&labels)?
                    .encode_counter::<NoLabelSet, _, u64>(&count, None)?;
            }
        }
    }

    per_target_gauge(
        encoder,
        "probe_last_success_timestamp",
        "When the target last answered as expected, seconds since the Unix epoch.",
        Some(&Unit::Seconds),
        targets
            .iter()
            .filter_map(|(name, state)| Some((name.as_str(), state.last_success_seconds?))),
    )?;
    Ok(())
}

/// A gauge family with one series per target.
fn per_target_gauge<'a, V: EncodeGaugeValue>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    values: impl Iterator<Item = (&'a str, V)>,
) -> Result<(), fmt::Error> {
    let mut family = encoder.encode_descriptor(name, help, unit, MetricType::Gauge)?;
    for (target, value) in values {
        family
            .encode_family(&[("target", target)])?
            .encode_gauge(&value)?;
    }
    Ok(())
}
