//! [`ClientCerts`]: asks for, requires and verifies client certificates the five ways Go's
//! `tls.ClientAuthType` (and so web-config.yml's `client_auth_type`) defines.

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, RootCertStore};

use super::tls::{read_certs, ClientAuth};
use super::SecurityError;

/// A client certificate verifier for every [`ClientAuth`] but `None`.
///
/// The modes that do not verify the chain (`Request`, `RequireAny`) still check the
/// handshake signature against the certificate's key, so a client proves it holds the key of
/// whatever certificate it sent.
#[derive(Debug)]
pub(crate) struct ClientCerts {
    auth: ClientAuth,
    /// Verifies the chain against the client CA, for the verifying modes.
    chain: Option<Arc<dyn ClientCertVerifier>>,
    /// The client CA's subjects, sent to help the client pick a certificate.
    hints: Vec<DistinguishedName>,
    algorithms: WebPkiSupportedAlgorithms,
    /// `client_allowed_sans`: the certificate must carry one of these.
    allowed_sans: Option<Arc<[String]>>,
}

impl ClientCerts {
    /// `ca`: the client CA bundle (PEM), required by the verifying modes, optional (hints
    /// only) otherwise.
    pub(crate) fn new(
        auth: ClientAuth,
        ca: Option<&[u8]>,
        provider: &Arc<CryptoProvider>,
        allowed_sans: Option<Arc<[String]>>,
    ) -> Result<Self, SecurityError> {
        let verifies = matches!(
            auth,
            ClientAuth::VerifyIfGiven | ClientAuth::RequireAndVerify
        );
        let webpki = match ca {
            Some(ca) => {
                let mut roots = RootCertStore::empty();
                for cert in read_certs(ca, "client_ca_file", "the client CA")? {
                    roots
                        .add(cert)
                        .map_err(|e| SecurityError::invalid("client_ca_file", e.to_string()))?;
                }
                // Whether a certificate is mandatory is this verifier's decision, not webpki's.
                let verifier = WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    Arc::clone(provider),
                )
                .allow_unauthenticated()
                .build()
                .map_err(|e| SecurityError::invalid("client_ca_file", e.to_string()))?;
                Some(verifier)
            }
            None if verifies => {
                return Err(SecurityError::missing(
                    "client_ca_file",
                    "is required to verify client certificates".into(),
                ))
            }
            None => None,
        };
        let hints = webpki
            .as_ref()
            .map(|v| v.root_hint_subjects().to_vec())
            .unwrap_or_default();
        Ok(Self {
            auth,
            chain: webpki.filter(|_| verifies),
            hints,
            algorithms: provider.signature_verification_algorithms,
            allowed_sans,
        })
    }
}

impl ClientCertVerifier for ClientCerts {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        matches!(
            self.auth,
            ClientAuth::RequireAny | ClientAuth::RequireAndVerify
        )
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if let Some(chain) = &self.chain {
            chain.verify_client_cert(end_entity, intermediates, now)?;
        }
        if let Some(allowed) = &self.allowed_sans {
            if !has_allowed_san(end_entity, allowed) {
                return Err(rustls::Error::InvalidCertificate(
                    CertificateError::ApplicationVerificationFailure,
                ));
            }
        }
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Whether the certificate has a DNS, e-mail, IP or URI subject alternative name equal to
/// one of `allowed` (exporter-toolkit compares the strings exactly; IPs in their usual text
/// form).
#[cfg(feature = "web-config")]
fn has_allowed_san(cert: &CertificateDer<'_>, allowed: &[String]) -> bool {
    use x509_parser::extensions::GeneralName;
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(cert.as_ref()) else {
        return false;
    };
    let Ok(Some(sans)) = cert.subject_alternative_name() else {
        return false;
    };
    sans.value.general_names.iter().any(|name| {
        let text = match name {
            GeneralName::DNSName(s) | GeneralName::RFC822Name(s) | GeneralName::URI(s) => {
                (*s).to_owned()
            }
            GeneralName::IPAddress(bytes) => match bytes.len() {
                4 => <[u8; 4]>::try_from(*bytes)
                    .map_or(String::new(), |b| std::net::Ipv4Addr::from(b).to_string()),
                // Go prints an IPv4-mapped address as IPv4.
                16 => <[u8; 16]>::try_from(*bytes).map_or(String::new(), |b| {
                    std::net::Ipv6Addr::from(b).to_canonical().to_string()
                }),
                _ => return false,
            },
            _ => return false,
        };
        allowed.contains(&text)
    })
}

/// Without `web-config` nothing sets `client_allowed_sans`.
#[cfg(not(feature = "web-config"))]
fn has_allowed_san(_cert: &CertificateDer<'_>, _allowed: &[String]) -> bool {
    false
}
