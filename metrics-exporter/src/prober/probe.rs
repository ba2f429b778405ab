//! One probe of one target.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use std::sync::Arc;

use bytes::Bytes;
use http::Version;

use crate::client::{
    AddressChoice, HttpRequest, HttpResponse, RequestOptions, Timings, TlsInfo, Trace,
};

use super::cause::FailureCause;
use super::config::{BodyRegexps, Compression, ProbeTarget};
use super::error::{TargetError, TargetErrorKind};

/// The result of one probe: what the blackbox exporter's HTTP prober reports.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ProbeOutcome {
    /// Whether the target answered an accepted status in time, and passed the body and TLS
    /// conditions.
    pub success: bool,
    /// Time for the whole probe.
    pub duration: Duration,
    /// The status code of the last response, if any: also when the probe then failed (one
    /// redirect over the limit, a body over the size limit), as the blackbox exporter
    /// reports it.
    pub status_code: Option<u16>,
    /// Time per phase, summed over redirects.
    pub timings: Timings,
    /// Why it failed; `None` on success.
    pub cause: Option<FailureCause>,
    /// What happened, for logs.
    pub message: String,
    /// Time to resolve the URL's host, once done.
    pub dns_lookup: Option<Duration>,
    /// The address of the URL's host connected to (or last tried).
    pub ip_addr: Option<IpAddr>,
    /// Redirect responses received.
    pub redirects: u32,
    /// The last response's `Content-Length`, if it had one.
    pub content_length: Option<u64>,
    /// Bytes of the last response's body.
    pub body_length: u64,
    /// The HTTP version of the last response.
    pub http_version: Option<Version>,
    /// The last response's `Last-Modified`, seconds since the Unix epoch.
    pub last_modified: Option<i64>,
    /// The last connection's TLS version, cipher and certificates, when the last response
    /// came over TLS.
    pub tls: Option<TlsInfo>,
}

impl ProbeOutcome {
    /// For a response over TLS: the earliest certificate expiry, seconds since the Unix epoch.
    pub fn cert_expiry(&self) -> Option<i64> {
        self.tls.as_ref().and_then(|t| t.earliest_expiry)
    }

    /// Whether the last response came over TLS.
    pub fn ssl(&self) -> bool {
        self.tls.is_some()
    }

    /// Whether a body regular expression failed the probe.
    pub fn failed_due_to_regex(&self) -> bool {
        self.cause == Some(FailureCause::Regex)
    }
}

/// A target ready to probe: its settings, its prepared request, its compiled expressions.
#[derive(Debug)]
pub(crate) struct PreparedTarget {
    pub(crate) config: ProbeTarget,
    request: HttpRequest,
    regexps: Arc<BodyRegexps>,
}

impl PreparedTarget {
    /// Checks `config` (URL, CA file, expressions) and prepares its request.
    pub(crate) fn new(config: ProbeTarget) -> Result<Self, TargetError> {
        let name = config.name.as_str();
        if config.timeout.is_zero() || config.connect_timeout.is_some_and(|t| t.is_zero()) {
            return Err(TargetError::new(
                TargetErrorKind::OutOfRange,
                format!("target {name:?}: the timeout must be above zero"),
            ));
        }
        // Those compiled when the target file was read, unless changed since.
        let regexps = config.body_regexps()?;
        let ca_pem = match &config.ca_file {
            None => None,
            Some(path) => Some(std::fs::read(path).map_err(|e| {
                TargetError::new(
                    TargetErrorKind::Unreadable,
                    format!(
                        "target {name:?}: cannot read CA file {}: {e}",
                        path.display()
                    ),
                )
            })?),
        };
        let mut headers = config.headers.clone();
        // Kept out of hyper's and our `Debug` output: they may be tokens.
        for value in headers.values_mut() {
            value.set_sensitive(true);
        }
        let options = RequestOptions {
            method: config.method.clone(),
            headers,
            body: config
                .body
                .as_ref()
                .map_or_else(Bytes::new, |b| Bytes::from(b.clone())),
            max_redirects: config.follow_redirects.then_some(config.max_redirects),
            address: AddressChoice {
                preferred: config.preferred_ip_protocol,
                fallback: config.ip_protocol_fallback,
                connect_timeout: config.connect_timeout,
            },
            body_size_limit: config.body_size_limit,
            keep_body: !regexps.is_empty(),
            gzip: config.compression == Compression::Gzip,
        };
        let request = HttpRequest::new(&config.url, ca_pem.as_deref(), options)
            .map_err(|e| TargetError::new(TargetErrorKind::Url, format!("target {name:?}: {e}")))?;
        Ok(Self {
            config,
            request,
            regexps,
        })
    }

    pub(crate) async fn probe(&self) -> ProbeOutcome {
        let started = Instant::now();
        let result = self.request.send(self.config.timeout).await;
        let duration = started.elapsed();
        match result {
            Ok(response) => self.judge(response, duration),
            Err(error) => {
                let mut outcome = failed_request(error.trace, duration);
                outcome.cause = Some(error.kind.into());
                outcome.message = error.message;
                outcome
            }
        }
    }

    /// The verdict on an answer, in the blackbox exporter's order: status, body, TLS.
    fn judge(&self, response: HttpResponse, duration: Duration) -> ProbeOutcome {
        let code = response.status.as_u16();
        let config = &self.config;
        let failure = if !config.accepts(code) {
            Some((
                FailureCause::Status,
                format!("{code}, expected {}", config.accepted_statuses()),
            ))
        } else if let Some(message) = self.body_failure(response.body.as_ref()) {
            Some((FailureCause::Regex, message))
        } else if config.fail_if_ssl && response.https {
            Some((
                FailureCause::Ssl,
                "answered over TLS (fail_if_ssl)".to_owned(),
            ))
        } else if config.fail_if_not_ssl && !response.https {
            Some((
                FailureCause::Ssl,
                "answered without TLS (fail_if_not_ssl)".to_owned(),
            ))
        } else {
            None
        };
        let (cause, message) = match failure {
            Some((cause, message)) => (Some(cause), message),
            None => (None, code.to_string()),
        };
        ProbeOutcome {
            success: cause.is_none(),
            duration,
            status_code: Some(code),
            timings: response.trace.timings,
            cause,
            message,
            dns_lookup: response.trace.dns_lookup,
            ip_addr: response.trace.addr.map(|a| a.ip()),
            redirects: response.trace.redirects,
            content_length: response.content_length,
            body_length: response.body_bytes,
            http_version: Some(response.version),
            last_modified: response.last_modified,
            tls: response.tls,
        }
    }

    /// Why the body fails the target's regular expressions, if it does.
    fn body_failure(&self, body: Option<&Bytes>) -> Option<String> {
        let body = body.map_or(&[][..], |b| &b[..]);
        if let Some(found) = self.regexps.matches.iter().find(|r| r.is_match(body)) {
            return Some(format!("the body matches {:?}", found.as_str()));
        }
        self.regexps
            .not_matches
            .iter()
            .find(|r| !r.is_match(body))
            .map(|missing| format!("the body does not match {:?}", missing.as_str()))
    }
}

/// An outcome without a response; the caller sets the cause and message.
fn failed_request(trace: Trace, duration: Duration) -> ProbeOutcome {
    ProbeOutcome {
        success: false,
        duration,
        status_code: trace.last_head.map(|h| h.status.as_u16()),
        timings: trace.timings,
        cause: None,
        message: String::new(),
        dns_lookup: trace.dns_lookup,
        ip_addr: trace.addr.map(|a| a.ip()),
        redirects: trace.redirects,
        content_length: trace.last_head.and_then(|h| h.content_length),
        body_length: 0,
        http_version: trace.last_head.map(|h| h.version),
        last_modified: None,
        tls: None,
    }
}
