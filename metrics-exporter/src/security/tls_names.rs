//! The Go `crypto/tls` names a web-config.yml uses for cipher suites, curves and versions,
//! mapped to what rustls (with *ring*) can do; the others are refused by name.

use rustls::crypto::ring::{cipher_suite, kx_group};
use rustls::crypto::SupportedKxGroup;
use rustls::SupportedCipherSuite;

use super::tls::{MaxVersion, MinVersion};
use super::SecurityError;

/// The meaning of one `cipher_suites` entry.
pub(crate) enum Suite {
    /// A TLS 1.2 suite rustls offers.
    Tls12(SupportedCipherSuite),
    /// A TLS 1.3 suite: Go accepts the name and ignores it (TLS 1.3 suites are not
    /// configurable there), and so does this exporter.
    Tls13,
}

/// Go's `tls.CipherSuites()` names (the ones exporter-toolkit accepts) that rustls lacks: the
/// CBC suites and RSA key exchange.
const UNSUPPORTED_SUITES: &[&str] = &[
    "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
];

const SUITES_FIELD: &str = "tls_server_config.cipher_suites";
const CURVES_FIELD: &str = "tls_server_config.curve_preferences";

/// One `cipher_suites` entry.
pub(crate) fn suite(name: &str) -> Result<Suite, SecurityError> {
    let tls12 = match name {
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" => {
            cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
        }
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" => {
            cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
        }
        // Go's name, and the older one it still accepts.
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"
        | "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305" => {
            cipher_suite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
        }
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" => {
            cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
        }
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" => {
            cipher_suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
        }
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" | "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305" => {
            cipher_suite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
        }
        "TLS_AES_128_GCM_SHA256" | "TLS_AES_256_GCM_SHA384" | "TLS_CHACHA20_POLY1305_SHA256" => {
            return Ok(Suite::Tls13)
        }
        unsupported if UNSUPPORTED_SUITES.contains(&unsupported) => {
            return Err(SecurityError::unsupported(
                SUITES_FIELD,
                format!(
                    "{unsupported} is not supported: rustls offers only the ECDHE AES-GCM and \
                     ChaCha20-Poly1305 suites for TLS 1.2"
                ),
            ))
        }
        unknown => {
            return Err(SecurityError::malformed(
                SUITES_FIELD,
                format!("unknown cipher: {unknown}"),
            ))
        }
    };
    Ok(Suite::Tls12(tls12))
}

/// One `curve_preferences` entry.
pub(crate) fn curve(name: &str) -> Result<&'static dyn SupportedKxGroup, SecurityError> {
    match name {
        "X25519" => Ok(kx_group::X25519),
        "CurveP256" => Ok(kx_group::SECP256R1),
        "CurveP384" => Ok(kx_group::SECP384R1),
        "CurveP521" => Err(SecurityError::unsupported(
            CURVES_FIELD,
            "CurveP521 is not supported: rustls offers X25519, CurveP256 and CurveP384".into(),
        )),
        unknown => Err(SecurityError::malformed(
            CURVES_FIELD,
            format!("unknown curve: {unknown}"),
        )),
    }
}

/// `min_version`.
pub(crate) fn min_version(name: &str) -> Result<MinVersion, SecurityError> {
    match name {
        "TLS12" => Ok(MinVersion::Tls12),
        "TLS13" => Ok(MinVersion::Tls13),
        "TLS10" | "TLS11" => Err(SecurityError::unsupported(
            "tls_server_config.min_version",
            format!("{name} cannot be served: rustls speaks TLS 1.2 and 1.3 only; use TLS12"),
        )),
        unknown => Err(SecurityError::malformed(
            "tls_server_config.min_version",
            format!("unknown TLS version: {unknown}: use TLS12 or TLS13"),
        )),
    }
}

/// `max_version`.
pub(crate) fn max_version(name: &str) -> Result<MaxVersion, SecurityError> {
    match name {
        "TLS12" => Ok(MaxVersion::Tls12),
        "TLS13" => Ok(MaxVersion::Tls13),
        "TLS10" | "TLS11" => Err(SecurityError::unsupported(
            "tls_server_config.max_version",
            format!("{name} cannot be served: rustls speaks TLS 1.2 and 1.3 only"),
        )),
        unknown => Err(SecurityError::malformed(
            "tls_server_config.max_version",
            format!("unknown TLS version: {unknown}: use TLS12 or TLS13"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_or_are_refused_by_name() {
        assert!(matches!(
            suite("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
            Ok(Suite::Tls12(s)) if s == cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
        ));
        assert!(matches!(suite("TLS_AES_128_GCM_SHA256"), Ok(Suite::Tls13)));
        for name in ["TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "TLS_BOGUS"] {
            let error = suite(name).err().unwrap();
            assert_eq!(error.field(), SUITES_FIELD);
            assert!(error.to_string().contains(name), "{error}");
        }
        assert_eq!(
            curve("CurveP384").unwrap().name(),
            kx_group::SECP384R1.name()
        );
        for name in ["CurveP521", "P256"] {
            let error = curve(name).err().unwrap();
            assert_eq!(error.field(), CURVES_FIELD);
            assert!(error.to_string().contains(name), "{error}");
        }
        assert!(min_version("TLS10").is_err() && max_version("TLS11").is_err());
    }
}
