//! Protecting the exporter on its own, without a reverse proxy: bearer token, basic auth
//! (bcrypt), TLS from a Prometheus `web-config.yml`, a client IP allow-list, and [`Limits`] on
//! the work a caller can cause.
//!
//! A [`Security`] given to [`Exporter::security`](crate::Exporter::security) guards the
//! exporter's routes. By default `/live`, `/ready` and `/startup` stay open (the kubelet's
//! probes carry no credentials) while `/metrics`, `/health` and `/` need credentials; with
//! [`Security::public_health`] `/health` answers everyone but shows the checks only to
//! authenticated callers (`/health/{check}` stays protected). The allow-list applies to every
//! route.
//!
//! A request without credentials is answered 401 with `WWW-Authenticate`; wrong credentials
//! are answered the same 401 whatever was wrong (user, password or token); a client outside
//! the allow-list gets 403. Each is counted in `exporter_auth_failures_total{reason}`
//! (`missing`, `invalid`, `forbidden`); no token, password or hash is ever logged, exported or
//! shown by `Debug`. Basic credentials that wait longer than
//! [`Security::max_password_wait`] for a password verifier get 503 with `Retry-After`
//! (counted, for `/metrics`, in `exporter_scrapes_total{result="rejected"}`).
//!
//! ```
//! use metrics_toolkit::MetricsRegistry;
//! use metrics_exporter::security::{AllowList, Security};
//! use metrics_exporter::{Exporter, Lifecycle};
//!
//! # fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let security = Security::new()
//!     .bearer_token("s3cr3t-token")?
//!     .allow_list(AllowList::new().allow("10.0.0.0/8")?.allow("127.0.0.1")?);
//! let registry = MetricsRegistry::builder().build()?;
//! let exporter = Exporter::new(registry, Lifecycle::new()).security(security);
//! # Ok(()) }
//! # run().unwrap();
//! ```

mod allow_list;
mod auth;
#[cfg(feature = "basic-auth")]
mod basic_auth;
#[cfg(feature = "tls")]
mod client_certs;
mod error;
pub(crate) mod guard;
mod limits;
// Only a web-config.yml sets a rate limit; the server's side of it is always built.
#[cfg_attr(not(feature = "web-config"), allow(dead_code))]
mod rate_limit;
pub(crate) mod refusals;
#[cfg(feature = "tls")]
mod reload;
#[cfg(feature = "web-config")]
mod response_headers;
mod secret;
#[cfg(feature = "tls")]
mod tls;
#[cfg(feature = "web-config")]
mod tls_names;
mod verdict;
#[cfg(feature = "web-config")]
mod web_config;

use std::path::Path;
#[cfg(feature = "basic-auth")]
use std::time::Duration;

pub use allow_list::AllowList;
pub use error::{SecurityError, SecurityErrorKind};
pub use limits::Limits;
pub(crate) use rate_limit::Bucket;
#[cfg(feature = "web-config")]
#[cfg_attr(docsrs, doc(cfg(feature = "web-config")))]
pub use rate_limit::RateLimit;
#[cfg(not(feature = "web-config"))]
pub(crate) use rate_limit::RateLimit;
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub use tls::{ClientAuth, MinVersion, TlsConfig};
#[cfg(feature = "web-config")]
#[cfg_attr(docsrs, doc(cfg(feature = "web-config")))]
pub use web_config::WebConfig;

pub(crate) use auth::Credentials;
pub(crate) use verdict::Verdict;

/// Who may reach the exporter's routes: credentials (bearer token, Basic users), an IP
/// allow-list, and which routes stay open. The default protects nothing.
#[derive(Debug, Clone)]
pub struct Security {
    pub(crate) credentials: Credentials,
    pub(crate) allow_list: AllowList,
    pub(crate) open_probes: bool,
    pub(crate) public_health: bool,
}

impl Default for Security {
    fn default() -> Self {
        Self::new()
    }
}

impl Security {
    /// Default [`max_password_wait`](Self::max_password_wait): far below Prometheus' default
    /// 10 s scrape timeout, and time for a few verifications at cost 12 ahead.
    #[cfg(feature = "basic-auth")]
    #[cfg_attr(docsrs, doc(cfg(feature = "basic-auth")))]
    pub const DEFAULT_MAX_PASSWORD_WAIT: Duration = Duration::from_secs(1);

    /// No credentials, no allow-list; probes open, `/health` protected once credentials are set.
    pub fn new() -> Self {
        Self {
            credentials: Credentials::default(),
            allow_list: AllowList::new(),
            open_probes: true,
            public_health: false,
        }
    }

    /// Accepts `Authorization: Bearer <token>` (Prometheus' `authorization: {credentials: ..}`),
    /// compared in constant time.
    pub fn bearer_token(mut self, token: &str) -> Result<Self, SecurityError> {
        self.credentials.set_bearer(token.trim().as_bytes())?;
        Ok(self)
    }

    /// Reads the bearer token from a file (surrounding whitespace and the final newline are
    /// ignored), as Prometheus' `authorization: {credentials_file: ..}` does.
    ///
    /// ```
    /// use metrics_exporter::security::Security;
    ///
    /// let error = Security::new().bearer_token_file("/nonexistent/token").unwrap_err();
    /// assert_eq!(error.field(), "bearer_token_file");
    /// ```
    pub fn bearer_token_file(self, path: impl AsRef<Path>) -> Result<Self, SecurityError> {
        let path = path.as_ref();
        let token = std::fs::read_to_string(path).map_err(|e| {
            SecurityError::unreadable(
                "bearer_token_file",
                format!("cannot read {}: {e}", path.display()),
            )
        })?;
        self.bearer_token(&token)
            .map_err(|e| e.in_field("bearer_token_file").prefixed(path.display()))
    }

    /// Accepts `Authorization: Basic` for `user` with a password matching `bcrypt_hash`
    /// (`$2y$`, `$2b$` or `$2a$`, cost 4 to 31, as `htpasswd -B` writes). A verified password
    /// is remembered in memory, beside its hash, so each scrape does not pay for bcrypt;
    /// giving `user` a new hash forgets it, and a clone that changes its users shares nothing
    /// remembered with the original.
    ///
    /// An unknown user name is checked against a hash of the highest configured cost, so the
    /// answer's timing does not tell which names exist.
    ///
    /// ```
    /// use metrics_exporter::security::Security;
    ///
    /// let hash = "$2y$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG";
    /// let security = Security::new().basic_auth_user("prometheus", hash).unwrap();
    /// assert!(security.has_credentials());
    /// assert!(Security::new().basic_auth_user("prometheus", "plain").is_err());
    /// ```
    #[cfg(feature = "basic-auth")]
    #[cfg_attr(docsrs, doc(cfg(feature = "basic-auth")))]
    pub fn basic_auth_user(mut self, user: &str, bcrypt_hash: &str) -> Result<Self, SecurityError> {
        self.credentials.basic.add_user(user, bcrypt_hash)?;
        Ok(self)
    }

    /// The users of a [`WebConfig`]'s `basic_auth_users`.
    #[cfg(feature = "web-config")]
    #[cfg_attr(docsrs, doc(cfg(feature = "web-config")))]
    pub fn web_config_users(mut self, config: &WebConfig) -> Result<Self, SecurityError> {
        for (user, hash) in config.basic_auth_users() {
            self.credentials.basic.add_user(user, hash)?;
        }
        Ok(self)
    }

    /// How long a Basic-auth request waits for a free password verifier (bcrypt runs on at most two
    /// threads at once) before it is answered 503 with `Retry-After: 1`; default
    /// [`DEFAULT_MAX_PASSWORD_WAIT`](Self::DEFAULT_MAX_PASSWORD_WAIT) (1 s). Behind a flood of
    /// wrong passwords a real scraper's first login is then refused at once, well within its scrape
    /// timeout, rather than answered after the flood; once its password verified it is remembered
    /// and never waits again. A refused `/metrics` request is counted in
    /// `exporter_scrapes_total{result="rejected"}`. Zero answers 503 unless a verifier is free at
    /// once.
    ///
    /// ```
    /// use std::time::Duration;
    /// use metrics_exporter::security::Security;
    ///
    /// let security = Security::new().max_password_wait(Duration::from_millis(500));
    /// # let _ = security;
    /// ```
    #[cfg(feature = "basic-auth")]
    #[cfg_attr(docsrs, doc(cfg(feature = "basic-auth")))]
    pub fn max_password_wait(mut self, wait: Duration) -> Self {
        self.credentials.basic.max_wait = wait;
        self
    }

    /// Only clients in the list reach any route (403 otherwise). Needs the peer address: the
    /// exporter's own server gives it; when merging the router into an app, serve the app with
    /// `into_make_service_with_connect_info::<SocketAddr>()`, or every request is refused.
    pub fn allow_list(mut self, list: AllowList) -> Self {
        self.allow_list = list;
        self
    }

    /// Whether `/live`, `/ready` and `/startup` answer without credentials (default true).
    pub fn open_probes(mut self, open: bool) -> Self {
        self.open_probes = open;
        self
    }

    /// Whether `/health` answers without credentials, with the overall status only;
    /// authenticated callers see every check (default false: protected).
    ///
    /// `/health/{check}` names a check, so it stays protected either way: without valid
    /// credentials it answers 401 whether or not the check exists, as any protected route
    /// does, so the names of the checks are not told to anyone.
    pub fn public_health(mut self, public: bool) -> Self {
        self.public_health = public;
        self
    }

    /// Whether any credential is configured.
    pub fn has_credentials(&self) -> bool {
        !self.credentials.is_empty()
    }
}
