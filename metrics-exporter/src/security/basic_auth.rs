//! Basic authentication: users with bcrypt password hashes, as in Prometheus'
//! `web-config.yml`, a verified password remembered beside its hash.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64::Engine as _;
use tokio::sync::Semaphore;

use super::secret::{constant_time_eq, Secret};
use super::verdict::Verdict;
use super::SecurityError;

/// bcrypt runs at most this many at once: a flood of wrong passwords costs at most these
/// CPUs, the rest wait.
const BCRYPT_PARALLELISM: usize = 2;

/// The salt and digest of the hash unknown user names are checked against: the digest of no
/// password anyone sends, so the check always fails, after the full bcrypt work.
const DUMMY_SALT_AND_DIGEST: &str = "KiU00FQY3HC4I8q7qgtHUedummyDigestMatchesNoPassword00.";

/// One Basic user: the bcrypt hash and a password known to match it.
#[derive(Clone)]
struct User {
    hash: Arc<str>,
    cost: u32,
    /// A password that verified against `hash`, so a scraper's every request does not pay for
    /// bcrypt (exporter-toolkit caches the same way). It lives beside the hash it matched:
    /// replacing the hash replaces the entry, and a copied map copies it, so configurations
    /// never share what they remember.
    verified: OnceLock<Secret>,
}

/// The configured Basic users.
#[derive(Clone)]
pub(crate) struct BasicUsers {
    /// user name → hash and remembered password.
    users: Arc<HashMap<String, User>>,
    /// What unknown user names are checked against: a hash of the highest configured cost, so
    /// the answer's timing does not tell which user names exist.
    dummy_hash: Option<Arc<str>>,
    bcrypt_slots: Option<Arc<Semaphore>>,
    /// How long a request waits for a free password verifier before it is answered [`Verdict::Busy`].
    pub(crate) max_wait: Duration,
}

impl Default for BasicUsers {
    fn default() -> Self {
        Self {
            users: Arc::default(),
            dummy_hash: None,
            bcrypt_slots: None,
            max_wait: super::Security::DEFAULT_MAX_PASSWORD_WAIT,
        }
    }
}

impl fmt::Debug for BasicUsers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Names only: no password or hash.
        let mut users: Vec<&String> = self.users.keys().collect();
        users.sort();
        f.debug_struct("BasicUsers")
            .field("users", &users)
            .field("max_password_wait", &self.max_wait)
            .finish()
    }
}

impl BasicUsers {
    pub(crate) fn has_users(&self) -> bool {
        !self.users.is_empty()
    }

    pub(crate) fn add_user(&mut self, name: &str, hash: &str) -> Result<(), SecurityError> {
        let field = "basic_auth_users";
        if name.is_empty() || name.contains(':') {
            return Err(SecurityError::invalid(
                field,
                format!("user name {name:?} is empty or contains ':'"),
            ));
        }
        let Ok(parts) = hash.parse::<bcrypt::HashParts>() else {
            return Err(SecurityError::malformed(
                field,
                format!("the password of user {name:?} is not a bcrypt hash: use the output of `htpasswd -nBC 10 \"\" | tr -d ':\\n'`, starting with $2y$, $2b$ or $2a$"),
            ));
        };
        let cost = parts.get_cost();
        // bcrypt refuses other costs at once: such a user could never log in, and answering
        // faster than the others would tell the name exists.
        if !(4..=31).contains(&cost) {
            return Err(SecurityError::invalid(
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
    pub(crate) fn dummy_cost(&self) -> Option<u32> {
        self.users.values().map(|user| user.cost).max()
    }

    /// Checks the credentials of an `Authorization: Basic` header (`encoded`: what follows
    /// the scheme).
    pub(crate) async fn check(&self, encoded: &str) -> Verdict {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user: &str, password: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    }

    #[tokio::test]
    async fn verifies_and_remembers_passwords() {
        let mut users = BasicUsers::default();
        users
            .add_user("prometheus", &bcrypt::hash("pw", 4).unwrap())
            .unwrap();
        assert_eq!(
            users.check(&basic("prometheus", "pw")).await,
            Verdict::Authenticated
        );
        // Remembered now; a wrong password still fails.
        assert_eq!(
            users.check(&basic("prometheus", "pw")).await,
            Verdict::Authenticated
        );
        assert_eq!(
            users.check(&basic("prometheus", "px")).await,
            Verdict::Invalid
        );
        assert_eq!(users.check(&basic("other", "pw")).await, Verdict::Invalid);
        assert_eq!(users.check("!!!").await, Verdict::Invalid);
    }

    #[test]
    fn debug_output_holds_no_hash() {
        let mut users = BasicUsers::default();
        let hash = bcrypt::hash("pw", 4).unwrap();
        users.add_user("prometheus", &hash).unwrap();
        let debug = format!("{users:?}");
        assert!(!debug.contains(&hash), "{debug}");
        assert!(debug.contains("prometheus"));
    }

    #[test]
    fn unknown_users_are_checked_at_the_highest_configured_cost() {
        let mut users = BasicUsers::default();
        assert_eq!(users.dummy_cost(), None);
        users
            .add_user("b", &bcrypt::hash("pw", 5).unwrap())
            .unwrap();
        users
            .add_user("a", &bcrypt::hash("pw", 4).unwrap())
            .unwrap();
        assert_eq!(users.dummy_cost(), Some(5));
        let dummy = users.dummy_hash.clone().unwrap();
        assert_eq!(dummy.parse::<bcrypt::HashParts>().unwrap().get_cost(), 5);
        // A well-formed hash that no password matches.
        assert_eq!(bcrypt::verify("pw", &dummy).ok(), Some(false));
        // Replacing the dearest user lowers the cost with it.
        users
            .add_user("b", &bcrypt::hash("pw", 4).unwrap())
            .unwrap();
        assert_eq!(users.dummy_cost(), Some(4));
    }

    #[tokio::test]
    async fn a_clone_with_a_new_hash_forgets_the_old_password() {
        let mut before = BasicUsers::default();
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
        let mut users = BasicUsers::default();
        users
            .add_user("prometheus", &bcrypt::hash("pw", 4).unwrap())
            .unwrap();
        users.max_wait = Duration::ZERO;
        let slots = users.bcrypt_slots.clone().unwrap();
        let held = slots.acquire_many(BCRYPT_PARALLELISM as u32).await.unwrap();
        assert_eq!(users.check(&basic("prometheus", "pw")).await, Verdict::Busy);
        drop(held);
        assert_eq!(
            users.check(&basic("prometheus", "pw")).await,
            Verdict::Authenticated
        );
    }

    #[test]
    fn rejects_plain_passwords_and_bad_names() {
        let mut users = BasicUsers::default();
        assert!(users.add_user("u", "plaintext").is_err());
        assert!(users
            .add_user("a:b", &bcrypt::hash("pw", 4).unwrap())
            .is_err());
        let cost_3 = bcrypt::hash("pw", 4).unwrap().replacen("$04$", "$03$", 1);
        let cost_32 = bcrypt::hash("pw", 4).unwrap().replacen("$04$", "$32$", 1);
        for hash in [cost_3, cost_32] {
            let error = users.add_user("u", &hash).unwrap_err();
            assert!(error.message.contains("costs are 4 to 31"), "{error}");
        }
    }
}
