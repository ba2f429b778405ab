//! Checking the `Authorization` header against the configured credentials: a bearer token,
//! and Basic users ([`super::basic_auth`]).

use std::fmt;
use std::sync::Arc;

use http::HeaderMap;

#[cfg(feature = "basic-auth")]
use super::basic_auth::BasicUsers;
use super::secret::{constant_time_eq, Secret};
use super::verdict::Verdict;
use super::SecurityError;

/// The configured credentials. Without the `basic-auth` feature there are no Basic users.
#[derive(Clone, Default)]
pub(crate) struct Credentials {
    pub(crate) bearer: Option<Secret>,
    #[cfg(feature = "basic-auth")]
    pub(crate) basic: BasicUsers,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // No token, password or hash.
        let mut debug = f.debug_struct("Credentials");
        debug.field("bearer", &self.bearer.is_some());
        #[cfg(feature = "basic-auth")]
        debug.field("basic_auth_users", &self.basic);
        debug.finish()
    }
}

impl Credentials {
    pub(crate) fn is_empty(&self) -> bool {
        self.bearer.is_none() && !self.has_basic_users()
    }

    /// Whether Basic credentials are accepted (never without the `basic-auth` feature).
    pub(crate) fn has_basic_users(&self) -> bool {
        #[cfg(feature = "basic-auth")]
        return self.basic.has_users();
        #[cfg(not(feature = "basic-auth"))]
        false
    }

    pub(crate) fn set_bearer(&mut self, token: &[u8]) -> Result<(), SecurityError> {
        if token.is_empty() {
            return Err(SecurityError::invalid(
                "bearer_token",
                "the token is empty".into(),
            ));
        }
        if token.iter().any(|b| !(0x21..=0x7e).contains(b)) {
            return Err(SecurityError::malformed(
                "bearer_token",
                "the token must be printable ASCII without spaces (as sent in an Authorization header)".into(),
            ));
        }
        self.bearer = Some(Secret(Arc::from(token)));
        Ok(())
    }

    /// Checks the request's `Authorization` header against every configured scheme.
    pub(crate) async fn check(&self, headers: &HeaderMap) -> Verdict {
        let Some(value) = headers.get(http::header::AUTHORIZATION) else {
            return Verdict::Missing;
        };
        let Some((scheme, rest)) = value.to_str().ok().and_then(|v| v.trim().split_once(' '))
        else {
            return Verdict::Invalid;
        };
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("bearer") {
            return match &self.bearer {
                Some(token) if constant_time_eq(&token.0, rest.as_bytes()) => {
                    Verdict::Authenticated
                }
                _ => Verdict::Invalid,
            };
        }
        #[cfg(feature = "basic-auth")]
        if scheme.eq_ignore_ascii_case("basic") && self.basic.has_users() {
            return self.basic.check(rest).await;
        }
        Verdict::Invalid
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn with_auth(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_str(value).unwrap(),
        );
        headers
    }

    #[test]
    fn constant_time_eq_compares_whole_values() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secre"));
        assert!(!constant_time_eq(b"secret", b"secretsecret"));
        assert!(!constant_time_eq(b"secret", b"Secret"));
        assert!(!constant_time_eq(b"", b""));
    }

    #[tokio::test]
    async fn bearer_tokens() {
        let mut creds = Credentials::default();
        creds.set_bearer(b"t0ken").unwrap();
        assert_eq!(creds.check(&HeaderMap::new()).await, Verdict::Missing);
        assert_eq!(
            creds.check(&with_auth("Bearer t0ken")).await,
            Verdict::Authenticated
        );
        assert_eq!(
            creds.check(&with_auth("bearer t0ken")).await,
            Verdict::Authenticated
        );
        assert_eq!(
            creds.check(&with_auth("Bearer t0ke")).await,
            Verdict::Invalid
        );
        assert_eq!(creds.check(&with_auth("Bearer")).await, Verdict::Invalid);
        // Basic without users, or another scheme: invalid.
        assert_eq!(creds.check(&with_auth("Basic !!!")).await, Verdict::Invalid);
        assert_eq!(creds.check(&with_auth("Digest x")).await, Verdict::Invalid);
    }

    #[test]
    fn debug_output_holds_no_token() {
        let mut creds = Credentials::default();
        creds.set_bearer(b"t0ken").unwrap();
        let debug = format!("{creds:?}");
        assert!(!debug.contains("t0ken"), "{debug}");
    }

    #[test]
    fn rejects_bad_tokens() {
        let mut creds = Credentials::default();
        assert!(creds.set_bearer(b"").is_err());
        assert!(creds.set_bearer(b"has space").is_err());
    }
}
