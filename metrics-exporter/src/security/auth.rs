//! Checking the `Authorization` header: bearer token and Basic (bcrypt) credentials.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

#[cfg(feature = "basic-auth")]
use base64::Engine as _;
use http::HeaderMap;
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

use super::SecurityError;

/// bcrypt runs at most this many at once: a flood of wrong passwords costs at most these
/// CPUs, the rest wait.
#[cfg(feature = "basic-auth")]
const BCRYPT_PARALLELISM: usize = 2;

/// Default [`Security::max_password_wait`](super::Security::max_password_wait): far below
/// Prometheus' default 10 s scrape timeout, and time for a few verifications at cost 12 ahead.
#[cfg_attr(not(feature = "basic-auth"), allow(dead_code))]
pub const DEFAULT_MAX_PASSWORD_WAIT: Duration = Duration::from_secs(1);

/// The salt and digest of the hash unknown user names are checked against: the digest of no
/// password anyone sends, so the check always fails, after the full bcrypt work.
#[cfg(feature = "basic-auth")]
const DUMMY_SALT_AND_DIGEST: &str = "KiU00FQY3HC4I8q7qgtHUedummyDigestMatchesNoPassword00.";

/// The outcome of checking a request's credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Valid credentials.
    Authenticated,
    /// No `Authorization` header.
    Missing,
    /// Wrong, unknown or malformed credentials (never said which).
    Invalid,
    /// Basic credentials that could not be verified in time: every password verifier stayed
    /// busy for [`Credentials::max_wait`].
    #[cfg_attr(not(feature = "basic-auth"), allow(dead_code))]
    Busy,
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

/// One Basic user: the bcrypt hash and a password known to match it.
#[derive(Clone)]
#[cfg_attr(not(feature = "basic-auth"), allow(dead_code))]
struct User {
    hash: Arc<str>,
    cost: u32,
    /// A password that verified against `hash`, so a scraper's every request does not pay for
    /// bcrypt (exporter-toolkit caches the same way). It lives beside the hash it matched:
    /// replacing the hash replaces the entry, and a copied map copies it, so configurations
    /// never share what they remember.
    verified: OnceLock<Secret>,
}

/// The configured credentials. Without the `basic-auth` feature there are no users.
#[derive(Clone)]
#[cfg_attr(not(feature = "basic-auth"), allow(dead_code))]
pub(crate) struct Credentials {
    pub(crate) bearer: Option<Secret>,
    /// user name → hash and remembered password.
    users: Arc<HashMap<String, User>>,
    /// What unknown user names are checked against: a hash of the highest configured cost, so
    /// the answer's timing does not tell which user names exist.
    dummy_hash: Option<Arc<str>>,
    bcrypt_slots: Option<Arc<Semaphore>>,
    /// How long a request waits for a free bcrypt slot before it is answered [`Verdict::Busy`].
    pub(crate) max_wait: Duration,
}

impl Default for Credentials {
    fn default() -> Self {
        Self {
            bearer: None,
            users: Arc::default(),
            dummy_hash: None,
            bcrypt_slots: None,
            max_wait: DEFAULT_MAX_PASSWORD_WAIT,
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Names only: no token, password or hash.
        let mut users: Vec<&String> = self.users.keys().collect();
        users.sort();
        f.debug_struct("Credentials")
            .field("bearer", &self.bearer.is_some())
            .field("basic_auth_users", &users)
            .field("max_password_wait", &self.max_wait)
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

    #[cfg(feature = "basic-auth")]
    pub(crate) fn add_user(&mut self, name: &str, hash: &str) -> Result<(), SecurityError> {
        let field = "basic_auth_users";
        if name.is_empty() || name.contains(':') {
            return Err(SecurityError::new(
                field,
                format!("user name {name:?} is empty or contains ':'"),
            ));
        }
        let Ok(parts) = hash.parse::<bcrypt::HashParts>() else {
            return Err(SecurityError::new(
                field,
                format!("the password of user {name:?} is not a bcrypt hash: use the output of `htpasswd -nBC 10 \"\" | tr -d ':\\n'`, starting with $2y$, $2b$ or $2a$"),
            ));
        };
        let cost = parts.get_cost();
        // bcrypt refuses other costs at once: such a user could never log in, and answering
        // faster than the others would tell the name exists.
        if !(4..=31).contains(&cost) {
            return Err(SecurityError::new(
                field,
                format!(
                    "the password hash of user {name:?} has cost {cost}: bcrypt costs are 4 to 31"
                ),
            ));
        }
        let user = User {
            hash: Arc::from(hash),
            cost,
            verified: OnceLock::new(),
        };
        Arc::make_mut(&mut self.users).insert(name.to_owned(), user);
        // Recomputed from every user: replacing a user may lower the highest cost.
        self.dummy_hash = self
            .dummy_cost()
            .map(|cost| Arc::from(format!("$2b${cost:02}${DUMMY_SALT_AND_DIGEST}")));
        self.bcrypt_slots
            .get_or_insert_with(|| Arc::new(Semaphore::new(BCRYPT_PARALLELISM)));
        Ok(())
    }

    /// The cost unknown user names are checked at: the highest configured.
    #[cfg(feature = "basic-auth")]
    pub(crate) fn dummy_cost(&self) -> Option<u32> {
        self.users.values().map(|user| user.cost).max()
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
        if scheme.eq_ignore_ascii_case("basic") && self.has_users() {
            return self.check_basic(rest).await;
        }
        Verdict::Invalid
    }

    #[cfg(feature = "basic-auth")]
    async fn check_basic(&self, encoded: &str) -> Verdict {
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded) else {
            return Verdict::Invalid;
        };
        let Some(colon) = decoded.iter().position(|&b| b == b':') else {
            return Verdict::Invalid;
        };
        let (user, password) = (&decoded[..colon], &decoded[colon + 1..]);
        let known = self.users.get(&*String::from_utf8_lossy(user));
        if let Some(remembered) = known.and_then(|user| user.verified.get()) {
            if constant_time_eq(&remembered.0, password) {
                return Verdict::Authenticated;
            }
        }
        let hash = match (known, &self.dummy_hash) {
            (Some(user), _) => Arc::clone(&user.hash),
            (None, Some(dummy)) => Arc::clone(dummy),
            (None, None) => return Verdict::Invalid,
        };
        let Some(slots) = &self.bcrypt_slots else {
            return Verdict::Invalid;
        };
        // Waiting is bounded: behind a flood of wrong passwords a real scraper is answered at
        // once, not after the flood (and past its scrape timeout).
        let slot =
            match tokio::time::timeout(self.max_wait, Arc::clone(slots).acquire_owned()).await {
                Ok(Ok(slot)) => slot,
                Ok(Err(_closed)) => return Verdict::Invalid,
                Err(_elapsed) => return Verdict::Busy,
            };
        let attempt = password.to_vec();
        let verified = tokio::task::spawn_blocking(move || {
            // Held by the verification itself, so a caller that hangs up does not free its
            // slot while bcrypt still runs.
            let _slot = slot;
            bcrypt::verify(&attempt, &hash).unwrap_or(false)
        })
        .await
        .unwrap_or(false);
        match known {
            Some(user) if verified => {
                // A concurrent login may have remembered it first: either password matches.
                let _ = user.verified.set(Secret(Arc::from(password)));
                Verdict::Authenticated
            }
            _ => Verdict::Invalid,
        }
    }
}

// The tests make users with bcrypt.
#[cfg(all(test, feature = "basic-auth"))]
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
    fn unknown_users_are_checked_at_the_highest_configured_cost() {
        let mut creds = Credentials::default();
        assert_eq!(creds.dummy_cost(), None);
        creds
            .add_user("b", &bcrypt::hash("pw", 5).unwrap())
            .unwrap();
        creds
            .add_user("a", &bcrypt::hash("pw", 4).unwrap())
            .unwrap();
        assert_eq!(creds.dummy_cost(), Some(5));
        let dummy = creds.dummy_hash.clone().unwrap();
        assert_eq!(dummy.parse::<bcrypt::HashParts>().unwrap().get_cost(), 5);
        // A well-formed hash that no password matches.
        assert_eq!(bcrypt::verify("pw", &dummy).ok(), Some(false));
        // Replacing the dearest user lowers the cost with it.
        creds
            .add_user("b", &bcrypt::hash("pw", 4).unwrap())
            .unwrap();
        assert_eq!(creds.dummy_cost(), Some(4));
    }

    #[tokio::test]
    async fn a_clone_with_a_new_hash_forgets_the_old_password() {
        let mut before = Credentials::default();
        before
            .add_user("alice", &bcrypt::hash("old", 4).unwrap())
            .unwrap();
        assert_eq!(
            before.check(&basic("alice", "old")).await,
            Verdict::Authenticated
        );
        let mut after = before.clone();
        after
            .add_user("alice", &bcrypt::hash("new", 4).unwrap())
            .unwrap();
        assert_eq!(after.check(&basic("alice", "old")).await, Verdict::Invalid);
        assert_eq!(
            after.check(&basic("alice", "new")).await,
            Verdict::Authenticated
        );
        assert_eq!(before.check(&basic("alice", "new")).await, Verdict::Invalid);
    }

    #[tokio::test]
    async fn a_zero_wait_with_every_verifier_busy_is_busy() {
        let mut creds = Credentials::default();
        creds
            .add_user("prometheus", &bcrypt::hash("pw", 4).unwrap())
            .unwrap();
        creds.max_wait = Duration::ZERO;
        let slots = creds.bcrypt_slots.clone().unwrap();
        let held = slots.acquire_many(BCRYPT_PARALLELISM as u32).await.unwrap();
        assert_eq!(creds.check(&basic("prometheus", "pw")).await, Verdict::Busy);
        drop(held);
        assert_eq!(
            creds.check(&basic("prometheus", "pw")).await,
            Verdict::Authenticated
        );
    }

    #[test]
    fn rejects_plain_passwords_and_bad_tokens() {
        let mut creds = Credentials::default();
        assert!(creds.add_user("u", "plaintext").is_err());
        assert!(creds
            .add_user("a:b", &bcrypt::hash("pw", 4).unwrap())
            .is_err());
        let cost_3 = bcrypt::hash("pw", 4).unwrap().replacen("$04$", "$03$", 1);
        let cost_32 = bcrypt::hash("pw", 4).unwrap().replacen("$04$", "$32$", 1);
        for hash in [cost_3, cost_32] {
            let error = creds.add_user("u", &hash).unwrap_err();
            assert!(error.message.contains("costs are 4 to 31"), "{error}");
        }
        assert!(creds.set_bearer(b"").is_err());
        assert!(creds.set_bearer(b"has space").is_err());
    }
}
