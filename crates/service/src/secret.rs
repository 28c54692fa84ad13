//! Argon2id hashing for user passwords and client secrets. Hashing is
//! deliberately slow, so it runs on the blocking pool, never on the async
//! workers, and only on writes and at the token endpoint.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use crate::ServiceError;

/// Hashes a secret into a PHC string (`$argon2id$…`).
pub async fn hash(secret: String) -> Result<String, ServiceError> {
    tokio::task::spawn_blocking(move || hash_blocking(&secret))
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))?
}

pub fn hash_blocking(secret: &str) -> Result<String, ServiceError> {
    let hashed: PasswordHash = Argon2::default()
        .hash_password(secret.as_bytes())
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
    Ok(hashed.to_string())
}

/// Checks `secret` against a stored hash; false on any mismatch or bad hash.
pub async fn verify(secret: String, stored: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&stored).is_ok_and(|h| Argon2::default().verify_password(secret.as_bytes(), &h).is_ok())
    })
    .await
    .unwrap_or(false)
}

/// `n` random bytes as unpadded base64url, for client ids, secrets and keys.
pub fn random_token(n: usize) -> String {
    use base64::Engine as _;
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
