//! Credentials users register for third-party applications (TimeBack's
//! `registerStudentCredentials`): kept in a table of their own, outside every
//! resource document, so no read, list or CSV export of a resource sees them.
//! The store holds the secret only sealed; sealing and opening is the service
//! layer's (`rollcall_service::credentials`).

use async_trait::async_trait;

use crate::StoreError;

/// One user's credential for one application.
#[derive(Clone, PartialEq, Eq)]
pub struct CredentialRecord {
    pub credential_id: String,
    pub user_id: String,
    /// A user has at most one credential per application name.
    pub application_name: String,
    /// The user profile the credential belongs to (TimeBack's `userProfileId`).
    pub profile_id: String,
    pub username: String,
    /// Which key sealed `sealed`, so keys can be rotated: old keys still
    /// open what they sealed.
    pub key_id: String,
    /// The password as the AEAD sealed it (nonce, ciphertext and tag).
    pub sealed: Vec<u8>,
}

impl std::fmt::Debug for CredentialRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialRecord")
            .field("credential_id", &self.credential_id)
            .field("user_id", &self.user_id)
            .field("application_name", &self.application_name)
            .field("profile_id", &self.profile_id)
            .field("username", &self.username)
            .field("key_id", &self.key_id)
            .field("sealed", &"<redacted>")
            .finish()
    }
}

#[async_trait]
pub trait CredentialStore: Send + Sync {
    /// Stores `record`, or, when its user already has a credential for its
    /// application, replaces that one's username, key and sealed secret,
    /// keeping its ids. Returns the stored record: its `credential_id` is
    /// the given one exactly when the credential is new.
    async fn put_credential(&self, record: CredentialRecord) -> Result<CredentialRecord, StoreError>;

    /// The user's credential with this id; `None` when absent or another
    /// user's.
    async fn credential(&self, user_id: &str, credential_id: &str) -> Result<Option<CredentialRecord>, StoreError>;

    /// Up to `limit` credentials sealed under a key other than `key_id`, in
    /// id order: what a key rotation still has to seal again.
    async fn credentials_sealed_otherwise(&self, key_id: &str, limit: u32)
    -> Result<Vec<CredentialRecord>, StoreError>;

    /// Replaces `old`'s key and sealed secret with `key_id` and `sealed`
    /// only if it is still stored as `old` has it (a registration in the
    /// meantime wins); returns whether it was replaced.
    async fn reseal_credential(
        &self,
        old: &CredentialRecord,
        key_id: &str,
        sealed: Vec<u8>,
    ) -> Result<bool, StoreError>;
}
