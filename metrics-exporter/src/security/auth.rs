//! Checking the `Authorization` header: bearer token and Basic (bcrypt) credentials.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use base64::Engine as _;
use http::HeaderMap;
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

use super::SecurityError;

/// bcrypt runs at most this many at once: a flood of wrong passwords costs at most these
/// CPUs, the rest wait.
const BCRYPT_PARALLELISM: usize = 2;

/// The outcome of checking a request's credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Valid credentials.
    Authenticated,
    /// No `Authorization` header.
    Missing,
    /// Wrong, unknown or malformed credentials (never said which).
    Invalid,
}

/// A secret that never shows in `Debug` output.
#[derive(Clone)]
pub(crate) struct Secret(Arc<[u8]>);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Compares in time that depends only on the presented value's length, so neither the
/// expected value's bytes nor its length leak.
pub(crate) fn constant_time_eq(expected: &[u8], presented: &[u8]) -> bool {
    if expected.is_empty() {
        return false;
    }
    let mut equal = (presented.len() as u64).ct_eq(&(expected.len() as u64));
    for (i, byte) in presented.iter().enumerate() {
        equal &= byte.ct_eq(&expected[i % expected.len()]);
    }
    equal.into()
}

/// The configured credentials.
#[derive(Clone, Default)]
pub(crate) struct Credentials {
    pub(crate) bearer: Option<Secret>,
    /// user name → bcrypt hash.
    users: Arc<HashMap<String, String>>,
    /// user name → the last password that verified, so a scraper's every request does not
    /// pay for bcrypt (exporter-toolkit caches the same way).
    verified: Arc<Mutex<HashMap<String, Secret>>>,
    bcrypt_slots: Option<Arc<Semaphore>>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Names only: no token, password or hash.
        let mut users: Vec<&String> = self.users.keys().collect();
        users.sort();
        f.debug_struct("Credentials")
            .field("bearer", &self.bearer.is_some())
            .field("basic_auth_users", &users)
            .finish()
    }
}

impl Credentials {
    pub(crate) fn is_empty(&self) -> bool {
        self.bearer.is_none() && self.users.is_empty()
    }

    pub(crate) fn has_users(&self) -> bool {
        !self.users.is_empty()
    }

    pub(crate) fn set_bearer(&mut self, token: &[u8]) -> Result<(), SecurityError> {
        if token.is_empty() {
            return Err(SecurityError::new(
                "bearer_token",
                "the token is empty".into(),
            ));
        }
        if token.iter().any(|b| !(0x21..=0x7e).contains(b)) {
            return Err(SecurityError::new(
                "bearer_token",
                "the token must be printable ASCII without spaces (as sent in an Authorization header)".into(),
            ));
        }
        self.bearer = Some(Secret(Arc::from(token)));
        Ok(())
    }

    pub(crate) fn add_user(&mut self, name: &str, hash: &str) -> Result<(), SecurityError> {
        let field = "basic_auth_users";
        if name.is_empty() || name.contains(':') {
            return Err(SecurityError::new(
                field,
                format!("user name {name:?} is empty or contains ':'"),
            ));
        }
        if hash.parse::<bcrypt::HashParts>().is_err() {
            return Err(SecurityError::new(
                field,
                format!("the password of user {name:?} is not a bcrypt hash: use the output of `htpasswd -nBC 10 \"\" | tr -d ':\\n'`, starting with $2y$, $2b$ or $2a$"),
            ));
        }
        Arc::make_mut(&mut self.users).insert(name.to_owned(), hash.to_owned());
        self.bcrypt_slots
            .get_or_insert_with(|| Arc::new(Semaphore::new(BCRYPT_PARALLELISM)));
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
        if scheme.eq_ignore_ascii_case("basic") && self.has_users() {
            return self.check_basic(rest).await;
        }
        Verdict::Invalid
    }

    async fn check_basic(&self, encoded: &str) -> Verdict {
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded) else {
            return Verdict::Invalid;
        };
        let Some(colon) = decoded.iter().position(|&b| b == b':') else {
            return Verdict::Invalid;
        };
        let (user, password) = (&decoded[..colon], &decoded[colon + 1..]);
        let user = String::from_utf8_lossy(user);
        let cached = self
            .verified
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&*user)
            .cloned();
        if cached.is_some_and(|known| constant_time_eq(&known.0, password)) {
            return Verdict::Authenticated;
        }
        // An unknown user is checked against a real hash too, so the answer's timing does not
        // tell which user names exist.
        let known = self.users.get(&*user);
        let Some(hash) = known.or_else(|| self.users.values().next()).cloned() else {
            return Verdict::Invalid;
        };
        let Some(slots) = &self.bcrypt_slots else {
            return Verdict::Invalid;
        };
        let Ok(_slot) = slots.acquire().await else {
            return Verdict::Invalid;
        };
        let attempt = password.to_vec();
        let verified =
            tokio::task::spawn_blocking(move || bcrypt::verify(&attempt, &hash).unwrap_or(false))
                .await
                .unwrap_or(false);
        if verified && known.is_some() {
            self.verified
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(user.into_owned(), Secret(Arc::from(password)));
            Verdict::Authenticated
        } else {
            Verdict::Invalid
        }
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

    fn basic(user: &str, password: &str) -> HeaderMap {
        with_auth(&format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        ))
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
    async fn bearer_and_basic() {
        let mut creds = Credentials::default();
        creds.set_bearer(b"t0ken").unwrap();
        creds
            .add_user("prometheus", &bcrypt::hash("pw", 4).unwrap())
            .unwrap();
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
        assert_eq!(
            creds.check(&basic("prometheus", "pw")).await,
            Verdict::Authenticated
        );
        // Cached now; a wrong password still fails.
        assert_eq!(
            creds.check(&basic("prometheus", "pw")).await,
            Verdict::Authenticated
        );
        assert_eq!(
            creds.check(&basic("prometheus", "px")).await,
            Verdict::Invalid
        );
        assert_eq!(creds.check(&basic("other", "pw")).await, Verdict::Invalid);
        assert_eq!(creds.check(&with_auth("Basic !!!")).await, Verdict::Invalid);
        assert_eq!(creds.check(&with_auth("Digest x")).await, Verdict::Invalid);
    }

    #[test]
    fn debug_output_holds_no_secret() {
        let mut creds = Credentials::default();
        creds.set_bearer(b"t0ken").unwrap();
        let hash = bcrypt::hash("pw", 4).unwrap();
        creds.add_user("prometheus", &hash).unwrap();
        let debug = format!("{creds:?}");
        assert!(
            !debug.contains("t0ken") && !debug.contains(&hash),
            "{debug}"
        );
        assert!(debug.contains("prometheus"));
    }

    #[test]
    fn rejects_plain_passwords_and_bad_tokens() {
        let mut creds = Credentials::default();
        assert!(creds.add_user("u", "plaintext").is_err());
        assert!(creds
            .add_user("a:b", &bcrypt::hash("pw", 4).unwrap())
            .is_err());
        assert!(creds.set_bearer(b"").is_err());
        assert!(creds.set_bearer(b"has space").is_err());
    }
}
