//! rustls client configuration (ring provider): the Mozilla roots, plus CA files per target;
//! for the prober, what a TLS connection shows (version, cipher, certificates).

use std::fmt;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

/// A CA certificate bundle that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsError(pub(crate) String);

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TlsError {}

/// A client configuration trusting the Mozilla roots and the PEM certificates in
/// `extra_ca_pem`, offering `h2` then `http/1.1` in ALPN. Without extra certificates, one
/// configuration is built and shared (copying the roots for each target would cost ~150 KiB).
pub(crate) fn client_config(extra_ca_pem: Option<&[u8]>) -> Result<Arc<ClientConfig>, TlsError> {
    static DEFAULT: std::sync::OnceLock<Result<Arc<ClientConfig>, TlsError>> =
        std::sync::OnceLock::new();
    match extra_ca_pem {
        None => DEFAULT.get_or_init(|| build_client_config(None)).clone(),
        Some(pem) => build_client_config(Some(pem)),
    }
}

fn build_client_config(extra_ca_pem: Option<&[u8]>) -> Result<Arc<ClientConfig>, TlsError> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(pem) = extra_ca_pem {
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| TlsError(format!("invalid PEM certificate: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| TlsError(format!("unusable CA certificate: {e}")))?;
            added += 1;
        }
        if added == 0 {
            return Err(TlsError("no PEM certificate found".to_owned()));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError(format!("TLS configuration: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    // As browsers and Go's client: HTTP/2 when the server chooses it, else HTTP/1.1.
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// What a TLS connection showed: the blackbox exporter's `probe_ssl_*` and `probe_tls_*`.
#[cfg(feature = "prober")]
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsInfo {
    /// `TLS 1.2` or `TLS 1.3`.
    pub version: &'static str,
    /// The IANA name of the cipher suite, e.g. `TLS_AES_128_GCM_SHA256`.
    pub cipher: String,
    /// The earliest `notAfter` of the certificates the server sent, Unix seconds.
    pub earliest_expiry: Option<i64>,
    /// The earliest `notAfter` along the chain from the leaf, following issuers among the
    /// certificates sent, Unix seconds.
    pub last_chain_expiry: Option<i64>,
    /// The leaf certificate.
    pub leaf: Option<LeafCertificate>,
}

/// The leaf certificate's identity, as the labels of `probe_ssl_last_chain_info`.
#[cfg(feature = "prober")]
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LeafCertificate {
    /// SHA-256 of the DER, lowercase hex.
    pub fingerprint_sha256: String,
    /// The subject, most significant attribute last (`CN=host,O=org`, as Go prints it).
    pub subject: String,
    /// The issuer, in the same form.
    pub issuer: String,
    /// The DNS names of the subject alternative name extension, comma-separated.
    pub subject_alternative: String,
    /// The serial number, lowercase hex without leading zeros.
    pub serial_number: String,
}

#[cfg(feature = "prober")]
impl TlsInfo {
    /// Reads what the connection `state` negotiated and the certificates the server sent.
    pub(crate) fn of(state: &rustls::ClientConnection) -> Self {
        let version = match state.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => "TLS 1.3",
            Some(rustls::ProtocolVersion::TLSv1_2) => "TLS 1.2",
            _ => "unknown",
        };
        let cipher = state
            .negotiated_cipher_suite()
            .and_then(|s| s.suite().as_str())
            // rustls names TLS 1.3 suites TLS13_*; IANA (and Go) name them TLS_*.
            .map_or_else(
                || "unknown".to_owned(),
                |name| match name.strip_prefix("TLS13_") {
                    Some(rest) => format!("TLS_{rest}"),
                    None => name.to_owned(),
                },
            );
        let certs = state.peer_certificates().unwrap_or_default();
        let parsed: Vec<_> = certs
            .iter()
            .filter_map(|der| {
                x509_parser::parse_x509_certificate(der)
                    .ok()
                    .map(|(_, c)| c)
            })
            .collect();
        let earliest_expiry = parsed
            .iter()
            .map(|c| c.validity().not_after.timestamp())
            .min();
        let last_chain_expiry = chain_from_leaf(&parsed)
            .iter()
            .map(|c| c.validity().not_after.timestamp())
            .min();
        let leaf = certs
            .first()
            .zip(parsed.first())
            .map(|(der, cert)| LeafCertificate {
                fingerprint_sha256: hex(ring::digest::digest(&ring::digest::SHA256, der).as_ref()),
                subject: name_as_go_prints(cert.subject()),
                issuer: name_as_go_prints(cert.issuer()),
                subject_alternative: dns_names(cert),
                serial_number: serial_hex(cert.raw_serial()),
            });
        Self {
            version,
            cipher,
            earliest_expiry,
            last_chain_expiry,
            leaf,
        }
    }
}

/// The leaf, then each certificate whose subject is the previous one's issuer.
#[cfg(feature = "prober")]
fn chain_from_leaf<'a, 'b>(
    certs: &'a [x509_parser::certificate::X509Certificate<'b>],
) -> Vec<&'a x509_parser::certificate::X509Certificate<'b>> {
    let mut chain: Vec<&x509_parser::certificate::X509Certificate<'b>> = Vec::new();
    let Some(mut current) = certs.first() else {
        return chain;
    };
    chain.push(current);
    // Bounded by the certificates sent: each is used at most once.
    while let Some(next) = certs.iter().find(|c| {
        c.subject().as_raw() == current.issuer().as_raw()
            && !chain.iter().any(|used| std::ptr::eq(*used, *c))
    }) {
        chain.push(next);
        current = next;
    }
    chain
}

#[cfg(feature = "prober")]
fn name_as_go_prints(name: &x509_parser::x509::X509Name<'_>) -> String {
    let registry = x509_parser::objects::oid_registry();
    let mut parts = Vec::new();
    for rdn in name.iter_rdn() {
        let attrs: Vec<String> = rdn
            .iter()
            .map(|attr| {
                let key = x509_parser::objects::oid2abbrev(attr.attr_type(), registry).map_or_else(
                    |_| attr.attr_type().to_id_string(),
                    |abbrev| abbrev.to_owned(),
                );
                let value = attr
                    .as_str()
                    .map_or_else(|_| format!("#{}", hex(attr.as_slice())), str::to_owned);
                format!("{key}={}", value.replace(',', "\\,"))
            })
            .collect();
        parts.push(attrs.join("+"));
    }
    // RFC 4514 order: the most significant RDN last.
    parts.reverse();
    parts.join(",")
}

#[cfg(feature = "prober")]
fn dns_names(cert: &x509_parser::certificate::X509Certificate<'_>) -> String {
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return String::new();
    };
    san.value
        .general_names
        .iter()
        .filter_map(|name| match name {
            x509_parser::extensions::GeneralName::DNSName(dns) => Some(*dns),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(feature = "prober")]
fn serial_hex(raw: &[u8]) -> String {
    let digits = hex(raw);
    let trimmed = digits.trim_start_matches('0');
    if trimmed.is_empty() {
        "0".to_owned()
    } else {
        trimmed.to_owned()
    }
}

#[cfg(feature = "prober")]
fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(all(test, feature = "prober"))]
mod tests {
    use super::*;

    #[test]
    fn serials_drop_leading_zeros() {
        assert_eq!(serial_hex(&[0x00, 0x0a, 0xbc]), "abc");
        assert_eq!(serial_hex(&[0x00]), "0");
        assert_eq!(hex(&[0xde, 0xad]), "dead");
    }
}
