//! Argon2id hashing for user passwords and client secrets. Hashing is
//! deliberately slow, so it runs on the blocking pool, never on the async
//! workers, and only on writes and at the token endpoint.
//!
//! Each run holds argon2's working memory and a core while it lasts, so every
//! caller in the process (token requests, writes with passwords, imports)
//! shares one bound: at most one run per core at once, the rest wait their
//! turn. Without it a burst of token requests ran one hash each at once and
//! grew the process by argon2's memory per request. The token endpoint, open
//! to anyone, does not even wait in an unbounded line: past a short queue it
//! is refused at once ([`verify_admitted`]), so a flood is answered quickly and
//! the slots stay free for writes and imports. Decoy checks (for client ids
//! that do not exist) never queue: they run only when a slot is free at
//! once, so a flood of invented ids cannot make real clients wait.

use std::sync::{Arc, LazyLock};

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::ServiceError;

/// Argon2 runs allowed at once: one per core.
static RUNS: LazyLock<Arc<Semaphore>> = LazyLock::new(|| Arc::new(Semaphore::new(cores())));

/// Checks of real clients' secrets admitted at once, running or waiting
/// for a run: a few rounds of the run slots, so an admitted check answers
/// within a few hash times.
static CLIENT_CHECKS: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(cores() * 4));

/// Whose secret a token-endpoint check is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// A client that exists.
    Client,
    /// A decoy for a client id that does not exist: the same work, so the
    /// answer's timing does not tell which ids exist.
    Decoy,
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The hashing bound is full: the caller should answer "busy, retry soon".
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many secret checks are waiting")]
pub struct Saturated;

/// Hashes a secret into a PHC string (`$argon2id$…`), waiting for a run slot.
pub async fn hash(secret: String) -> Result<String, ServiceError> {
    let slot = run_slot().await?;
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        hash_now(&secret)
    })
    .await
    .map_err(|e| ServiceError::Internal(e.to_string()))?
}

fn hash_now(secret: &str) -> Result<String, ServiceError> {
    let hashed: PasswordHash = Argon2::default()
        .hash_password(secret.as_bytes())
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
    Ok(hashed.to_string())
}

/// Checks `secret` against a stored hash, waiting for a run slot; false on
/// any mismatch or bad hash.
pub async fn verify(secret: String, stored: String) -> bool {
    let Ok(slot) = run_slot().await else { return false };
    verify_in(slot, secret, stored).await
}

async fn verify_in(slot: OwnedSemaphorePermit, secret: String, stored: String) -> bool {
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        PasswordHash::new(&stored).is_ok_and(|h| Argon2::default().verify_password(secret.as_bytes(), &h).is_ok())
    })
    .await
    .unwrap_or(false)
}

/// As [`verify`], but refused at once with [`Saturated`] when as many
/// real clients' checks are already running or waiting as the bound admits,
/// or, for a decoy, when no run slot is free. For callers anyone can reach
/// (the token endpoint).
pub async fn verify_admitted(secret: String, stored: String, check: Check) -> Result<bool, Saturated> {
    match check {
        Check::Client => {
            let _admitted = CLIENT_CHECKS.try_acquire().map_err(|_| Saturated)?;
            Ok(verify(secret, stored).await)
        }
        Check::Decoy => {
            let slot = RUNS.clone().try_acquire_owned().map_err(|_| Saturated)?;
            Ok(verify_in(slot, secret, stored).await)
        }
    }
}

/// A run slot, moved into the blocking task so that it is held for as long
/// as the hash runs, even when the caller stops waiting for it.
async fn run_slot() -> Result<OwnedSemaphorePermit, ServiceError> {
    RUNS.clone()
        .acquire_owned()
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))
}

/// `n` random bytes as unpadded base64url, for client ids, secrets and keys.
pub fn random_token(n: usize) -> String {
    use base64::Engine as _;
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A random 63-bit number, for client token generations.
pub fn random_generation() -> i64 {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    (u64::from_le_bytes(bytes) >> 1) as i64
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// A flood of token checks is refused past the admission queue, and
    /// every run slot is returned afterwards.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn checks_past_the_queue_are_refused() {
        let stored = hash("right".into()).await.unwrap();
        let flood = cores() * 4 * 3;
        let started = std::time::Instant::now();
        let checks: Vec<_> = (0..flood)
            .map(|_| tokio::spawn(verify_admitted("wrong".into(), stored.clone(), Check::Decoy)))
            .collect();
        let mut refused = 0;
        for check in checks {
            match check.await.unwrap() {
                Ok(matched) => assert!(!matched),
                Err(Saturated) => refused += 1,
            }
        }
        assert!(refused > 0, "none of {flood} checks was refused");
        assert_eq!(RUNS.available_permits(), cores(), "every run slot is back");
        assert!(started.elapsed() < Duration::from_secs(30));
        assert_eq!(verify_admitted("right".into(), stored, Check::Client).await, Ok(true));
    }
}
