//! The blackbox-exporter-compatible `probe_*` families.

use std::fmt;
use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use http::Version;

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

/// What a probe changed in a target's state, for the logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    /// Same as before: up again, or down for the same cause.
    None,
    /// Newly down, or down for another cause.
    Down {
        cause: FailureCause,
        message: String,
    },
    /// Up after being down.
    Up,
}

impl TargetState {
    pub(crate) fn record(&mut self, outcome: ProbeOutcome) -> Change {
        let previous = self.last.as_ref().map(|last| last.cause);
        let change = match (previous, outcome.cause) {
            (previous, Some(cause)) if previous != Some(Some(cause)) => Change::Down {
                cause,
                message: outcome.message.clone(),
            },
            (Some(Some(_)), None) => Change::Up,
            _ => Change::None,
        };
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
        change
    }
}

/// FNV-1a (32 bits) of the address's bytes: 4 for IPv4 (also when written IPv4-mapped), 16
/// for IPv6, as the blackbox exporter hashes them (its 0.23 answers 3668918509 for 127.0.0.1).
fn ip_hash(ip: IpAddr) -> u32 {
    let fnv1a = |bytes: &[u8]| {
        bytes.iter().fold(0x811c_9dc5_u32, |hash, &byte| {
            (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
        })
    };
    match ip.to_canonical() {
        IpAddr::V4(v4) => fnv1a(&v4.octets()),
        IpAddr::V6(v6) => fnv1a(&v6.octets()),
    }
}

/// `probe_http_version`: 1.1, 2, ...; 0 without a response.
fn version_number(version: Option<Version>) -> f64 {
    match version {
        Some(Version::HTTP_09) => 0.9,
        Some(Version::HTTP_10) => 1.0,
        Some(Version::HTTP_11) => 1.1,
        Some(Version::HTTP_2) => 2.0,
        Some(Version::HTTP_3) => 3.0,
        _ => 0.0,
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
        "probe_dns_lookup_time",
        "Time taken to resolve the target's host in the last probe.",
        Some(&Unit::Seconds),
        probed().map(|(name, last)| (name, last.dns_lookup.unwrap_or_default().as_secs_f64())),
    )?;
    per_target_gauge(
        encoder,
        "probe_ip_protocol",
        "IP protocol of the address the last probe used: 4 or 6 (0 when none).",
        None,
        probed().map(|(name, last)| {
            let protocol = match last.ip_addr {
                Some(IpAddr::V4(_)) => 4,
                Some(IpAddr::V6(_)) => 6,
                None => 0,
            };
            (name, protocol)
        }),
    )?;
    per_target_gauge(
        encoder,
        "probe_ip_addr_hash",
        "Hash of the address the last probe used, to see when it changes.",
        None,
        probed().map(|(name, last)| (name, i64::from(last.ip_addr.map_or(0, ip_hash)))),
    )?;
    per_target_gauge(
        encoder,
        "probe_http_status_code",
        "Status code of the last probe's response, 0 when there was none.",
        None,
        probed().map(|(name, last)| (name, i64::from(last.status_code.unwrap_or(0)))),
    )?;
    per_target_gauge(
        encoder,
        "probe_http_content_length",
        "Content-Length of the last response: -1 when it had none, 0 without a response.",
        None,
        probed().map(|(name, last)| {
            let length = match (last.status_code, last.content_length) {
                (_, Some(length)) => i64::try_from(length).unwrap_or(i64::MAX),
                (Some(_), None) => -1,
                (None, None) => 0,
            };
            (name, length)
        }),
    )?;
    per_target_gauge(
        encoder,
        "probe_http_uncompressed_body_length",
        "Length of the last response's body, in bytes.",
        None,
        probed().map(|(name, last)| (name, i64::try_from(last.body_length).unwrap_or(i64::MAX))),
    )?;
    per_target_gauge(
        encoder,
        "probe_http_version",
        "HTTP version of the last response (1.1, 2), 0 when there was none.",
        None,
        probed().map(|(name, last)| (name, version_number(last.http_version))),
    )?;
    per_target_gauge(
        encoder,
        "probe_http_ssl",
        "Whether the last response (after redirects) came over TLS.",
        None,
        probed().map(|(name, last)| (name, i64::from(last.ssl()))),
    )?;
    per_target_gauge(
        encoder,
        "probe_http_redirects",
        "Redirect responses received in the last probe.",
        None,
        probed().map(|(name, last)| (name, i64::from(last.redirects))),
    )?;

    let mut family = encoder.encode_descriptor(
        "probe_http_duration",
        "Duration of each phase of the last probe, summed over redirects (zero for phases not reached).",
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
        "probe_http_last_modified_timestamp",
        "Last-Modified of the last response, seconds since the Unix epoch, when it had one.",
        Some(&Unit::Seconds),
        probed().filter_map(|(name, last)| Some((name, last.last_modified?))),
    )?;
    per_target_gauge(
        encoder,
        "probe_failed_due_to_regex",
        "Whether the last probe failed on a body regular expression.",
        None,
        probed().map(|(name, last)| (name, i64::from(last.failed_due_to_regex()))),
    )?;

    let tls = || probed().filter_map(|(name, last)| Some((name, last.tls.as_ref()?)));
    per_target_gauge(
        encoder,
        "probe_ssl_earliest_cert_expiry",
        "Earliest expiry of the certificates the target sent, seconds since the Unix epoch.",
        None,
        tls().filter_map(|(name, info)| Some((name, info.earliest_expiry?))),
    )?;
    per_target_gauge(
        encoder,
        "probe_ssl_last_chain_expiry_timestamp",
        "Earliest expiry along the certificate chain from the leaf, seconds since the Unix epoch.",
        Some(&Unit::Seconds),
        tls().filter_map(|(name, info)| Some((name, info.last_chain_expiry?))),
    )?;
    let mut family = encoder.encode_descriptor(
        "probe_ssl_last_chain_info",
        "The leaf certificate of the last probe (value 1).",
        None,
        MetricType::Gauge,
    )?;
    for (name, info) in tls() {
        let Some(leaf) = &info.leaf else { continue };
        let labels = [
            ("target", name),
            ("fingerprint_sha256", leaf.fingerprint_sha256.as_str()),
            ("subject", leaf.subject.as_str()),
            ("issuer", leaf.issuer.as_str()),
            ("subjectalternative", leaf.subject_alternative.as_str()),
            ("serialnumber", leaf.serial_number.as_str()),
        ];
        family.encode_family(&labels)?.encode_gauge(&1i64)?;
    }
    let mut family = encoder.encode_descriptor(
        "probe_tls_version_info",
        "The TLS version of the last probe (value 1).",
        None,
        MetricType::Gauge,
    )?;
    for (name, info) in tls() {
        family
            .encode_family(&[("target", name), ("version", info.version)])?
            .encode_gauge(&1i64)?;
    }
    let mut family = encoder.encode_descriptor(
        "probe_tls_cipher_info",
        "The TLS cipher suite of the last probe (value 1).",
        None,
        MetricType::Gauge,
    )?;
    for (name, info) in tls() {
        family
            .encode_family(&[("target", name), ("cipher", info.cipher.as_str())])?
            .encode_gauge(&1i64)?;
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_hashes_are_fnv1a_of_4_bytes_for_ipv4_and_16_for_ipv6() {
        // FNV-1a of 16 zero bytes, of the 4 bytes of 127.0.0.1 (also written IPv4-mapped,
        // the value the blackbox exporter shows), and of ::1.
        assert_eq!(ip_hash("::".parse().unwrap()), 0x6969_1905);
        assert_eq!(ip_hash("127.0.0.1".parse().unwrap()), 3_668_918_509);
        assert_eq!(ip_hash("::1".parse().unwrap()), 1_751_717_746);
        assert_eq!(
            ip_hash("127.0.0.1".parse().unwrap()),
            ip_hash("::ffff:127.0.0.1".parse().unwrap())
        );
        assert_ne!(
            ip_hash("127.0.0.1".parse().unwrap()),
            ip_hash("::1".parse().unwrap())
        );
    }

    #[test]
    fn versions_read_as_numbers() {
        assert_eq!(version_number(Some(Version::HTTP_11)), 1.1);
        assert_eq!(version_number(Some(Version::HTTP_2)), 2.0);
        assert_eq!(version_number(None), 0.0);
    }
}
