//! Certificates for TLS tests: a CA, a server certificate and a client certificate, written as
//! PEM files.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

/// The PEM files [`write`] made: `ca.crt`, `server.crt`/`server.key` (for `localhost` and
/// `127.0.0.1`) and `client.crt`/`client.key`, all signed by the CA.
#[derive(Debug, Clone)]
pub struct Pki {
    /// The CA certificate.
    pub ca: PathBuf,
    /// The server certificate and its key.
    pub server: (PathBuf, PathBuf),
    /// The client certificate and its key.
    pub client: (PathBuf, PathBuf),
}

/// Generates a CA, a server and a client certificate into `dir`.
pub fn write(dir: &Path) -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "test CA");
    let ca =
        CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("key")).expect("CA");
    let ca_path = dir.join("ca.crt");
    std::fs::write(&ca_path, ca.pem()).expect("write");

    let issue = |name: &str, sans: Vec<String>, usage| {
        let mut params = CertificateParams::new(sans).expect("params");
        params.extended_key_usages = vec![usage];
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &ca).expect("sign");
        let cert_path = dir.join(format!("{name}.crt"));
        let key_path = dir.join(format!("{name}.key"));
        std::fs::write(&cert_path, cert.pem()).expect("write");
        std::fs::write(&key_path, key.serialize_pem()).expect("write");
        (cert_path, key_path)
    };
    let server = issue(
        "server",
        vec!["localhost".to_owned(), "127.0.0.1".to_owned()],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let client = issue(
        "client",
        vec!["prometheus".to_owned()],
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    Pki {
        ca: ca_path,
        server,
        client,
    }
}
