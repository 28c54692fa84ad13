//! OAuth 2.0 client credentials: clients (secrets hashed at rest), signed
//! bearer tokens (HS256), and their verification. Tokens carry everything
//! needed to check them, so any instance sharing the signing key accepts
//! any other's tokens without shared session state; each also carries its
//! client's token generation, checked against [`KnownClients`], so that
//! deleting, disabling or rotating a client ends its tokens everywhere.

use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use oneroster::Clock;
use oneroster::wire::TokenResponse;
use rollcall_store::{ClientRecord, Store};
use serde::{Deserialize, Serialize};

use crate::idp::{ExternalIdp, IdpConfig};
use crate::known_clients::KnownClients;
use crate::{ServiceError, scope, secret};

/// Token lifetime: one hour, the common OneRoster provider default.
pub const TOKEN_TTL_SECS: u64 = 3600;
const ISSUER: &str = "rollcall";

/// The claims inside a Rollcall access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The client id.
    pub sub: String,
    /// Space-separated granted scopes (full v1p2 URIs).
    pub scope: String,
    pub iss: String,
    pub iat: i64,
    pub exp: i64,
    /// The client's token generation at issue (our tokens only): a token
    /// from an older generation was revoked.
    #[serde(rename = "gen", default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<i64>,
}

impl Claims {
    /// Whether the token grants `short` (e.g. `roster.readonly`), by its
    /// full URI.
    pub fn has_scope(&self, short: &str) -> bool {
        self.scope.split_whitespace().any(|s| scope::granted(s) == Some(short))
    }

    /// `Forbidden` unless the token holds a scope permitting `op`.
    pub fn require(&self, op: scope::Operation, demographics: bool) -> Result<(), AuthError> {
        let permitting = scope::permitting(op, demographics);
        if permitting.iter().any(|s| self.has_scope(s)) {
            Ok(())
        } else {
            let names: Vec<String> = permitting.iter().map(|s| scope::uri(s)).collect();
            Err(AuthError::Forbidden(format!(
                "this requires one of the scopes: {}",
                names.join(", ")
            )))
        }
    }
}

/// Why authentication failed. Messages are safe to show: they never contain
/// the secret or the token.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// RFC 6749 `invalid_client`: unknown client, wrong secret, or disabled.
    #[error("client authentication failed")]
    InvalidClient,
    /// RFC 6749 `invalid_scope`.
    #[error("{0}")]
    InvalidScope(String),
    /// A valid token without the scope the operation needs.
    #[error("{0}")]
    Forbidden(String),
    /// A missing, malformed, forged, expired or revoked bearer token.
    #[error("{0}")]
    InvalidToken(String),
    /// Too many client authentications are waiting for the password
    /// hasher; retry shortly.
    #[error("too many token requests are being checked; retry shortly")]
    Overloaded,
    #[error(transparent)]
    Service(#[from] ServiceError),
}

#[derive(Clone)]
pub struct Auth {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    encoding: EncodingKey,
    decoding: DecodingKey,
    external: Option<Arc<ExternalIdp>>,
    clients: Arc<KnownClients>,
}

/// The HS256 token signing key: at least [`SigningKey::MIN_LEN`] bytes, since
/// anyone who guesses it can mint tokens with any scope.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey(Vec<u8>);

impl SigningKey {
    /// RFC 7518 §3.2: an HS256 key must be at least as long as the hash.
    pub const MIN_LEN: usize = 32;

    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, ServiceError> {
        let bytes = bytes.into();
        if bytes.len() < Self::MIN_LEN {
            return Err(ServiceError::Invalid(format!(
                "the token signing key must be at least {} bytes; this one has {}",
                Self::MIN_LEN,
                bytes.len()
            )));
        }
        Ok(Self(bytes))
    }

    /// A new random key.
    pub fn generate() -> Self {
        Self(secret::random_token(Self::MIN_LEN).into_bytes())
    }

    /// The key's bytes, for deriving other keys from it (the cursor key).
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

/// A newly created client's credentials: shown once, never stored in clear.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct NewClient {
    pub client_id: String,
    pub client_secret: String,
}

impl std::fmt::Debug for NewClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewClient")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl Auth {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, signing_key: &SigningKey) -> Self {
        Self {
            clients: Arc::new(KnownClients::new(store.clone())),
            store,
            clock,
            encoding: EncodingKey::from_secret(&signing_key.0),
            decoding: DecodingKey::from_secret(&signing_key.0),
            external: None,
        }
    }

    /// Also accept tokens issued by an external OAuth server.
    pub fn with_external_idp(mut self, config: IdpConfig) -> Self {
        self.external = Some(Arc::new(ExternalIdp::new(config)));
        self
    }

    /// The client-credentials grant. `requested` (space-separated) may ask
    /// for a subset of the client's scopes; absent, all of them are granted.
    pub async fn issue_token(
        &self,
        client_id: &str,
        client_secret: &str,
        requested: Option<&str>,
    ) -> Result<TokenResponse, AuthError> {
        let client = self.store.client(client_id).await.map_err(ServiceError::from)?;
        let Some(client) = client.filter(|c| !c.disabled) else {
            // Spend the time of a real check when a hashing slot is free, so
            // ids cannot be probed by timing; under a flood of unknown ids it is
            // skipped (429) rather than let them delay real clients, which
            // leaves a saturated server open to that probe: the per-address
            // token limit is what bounds it.
            check_secret(client_secret, dummy_hash().await?, secret::Check::Decoy).await?;
            return Err(AuthError::InvalidClient);
        };
        // Not noted in the known clients: this copy was read before a slow
        // secret check, and could undo a revocation made meanwhile. A token
        // naming a generation the copy lacks refreshes it instead.
        if !check_secret(client_secret, client.secret_hash.clone(), secret::Check::Client).await? {
            return Err(AuthError::InvalidClient);
        }
        let granted = grant(&client, requested)?;
        let now = self.clock.now().timestamp();
        let claims = Claims {
            sub: client.client_id,
            scope: granted.join(" "),
            iss: ISSUER.into(),
            iat: now,
            exp: now + TOKEN_TTL_SECS as i64,
            generation: Some(client.token_generation),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        Ok(TokenResponse {
            access_token: token,
            token_type: "Bearer".into(),
            expires_in: TOKEN_TTL_SECS,
            scope: Some(claims.scope),
        })
    }

    /// Checks a bearer token: our own (HS256, signed with the shared key,
    /// its client still holding the generation it names) or, when
    /// configured, one from the external issuer. Expiry is checked against
    /// the injected clock.
    pub async fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let now = self.clock.now().timestamp();
        if let Some(idp) = self
            .external
            .as_ref()
            .filter(|idp| issuer_of(token).as_deref() == Some(idp.issuer()))
        {
            return idp.verify(token, now).await;
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|_| AuthError::InvalidToken("the access token is invalid".into()))?
            .claims;
        if claims.exp <= now {
            return Err(AuthError::InvalidToken("the access token has expired".into()));
        }
        let generation = claims
            .generation
            .ok_or_else(|| AuthError::InvalidToken("the access token is invalid".into()))?;
        if !self
            .clients
            .admits(&claims.sub, generation)
            .await
            .map_err(ServiceError::from)?
        {
            return Err(AuthError::InvalidToken(
                "the access token has been revoked (its client was deleted, disabled or given a new secret)".into(),
            ));
        }
        Ok(claims)
    }

    /// Creates a client with a random id and secret.
    pub async fn create_client(&self, name: &str, scopes: &[String]) -> Result<NewClient, ServiceError> {
        let client = NewClient {
            client_id: secret::random_token(12),
            client_secret: secret::random_token(32),
        };
        self.put_client(&client.client_id, name, &client.client_secret, scopes)
            .await?;
        Ok(client)
    }

    /// Replaces a client's secret with a new random one, shown once. Tokens
    /// issued under the old secret stop working.
    pub async fn rotate_secret(&self, client_id: &str) -> Result<NewClient, ServiceError> {
        let mut client = self.existing_client(client_id).await?;
        let secret_text = secret::random_token(32);
        client.secret_hash = secret::hash(secret_text.clone()).await?;
        client.token_generation = secret::random_generation();
        self.store_client(client).await?;
        Ok(NewClient {
            client_id: client_id.to_owned(),
            client_secret: secret_text,
        })
    }

    /// Disables or re-enables a client. A disabled client gets no new
    /// tokens, and the tokens it holds stop working (also once re-enabled).
    pub async fn set_disabled(&self, client_id: &str, disabled: bool) -> Result<(), ServiceError> {
        let mut client = self.existing_client(client_id).await?;
        client.disabled = disabled;
        client.token_generation = secret::random_generation();
        self.store_client(client).await
    }

    /// Deletes a client; its tokens stop working. `NotFound` if absent.
    pub async fn delete_client(&self, client_id: &str) -> Result<(), ServiceError> {
        if !self.store.delete_client(client_id).await? {
            return Err(ServiceError::NotFound(format!("no client '{client_id}'")));
        }
        self.clients.forget(client_id).await;
        Ok(())
    }

    async fn store_client(&self, client: ClientRecord) -> Result<(), ServiceError> {
        self.store.put_client(client.clone()).await?;
        self.clients.note(&client).await;
        Ok(())
    }

    async fn existing_client(&self, client_id: &str) -> Result<ClientRecord, ServiceError> {
        self.store
            .client(client_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("no client '{client_id}'")))
    }

    /// Creates or updates a client holding every scope (the bootstrap client).
    pub async fn put_admin_client(&self, id: &str, name: &str, secret_text: &str) -> Result<(), ServiceError> {
        let all: Vec<String> = scope::ALL.iter().map(|s| (*s).to_owned()).collect();
        self.put_client(id, name, secret_text, &all).await
    }

    /// Creates or updates (and enables) a client with known credentials.
    /// Updating it with the secret and scopes it already has keeps its
    /// tokens working (every instance re-applies the bootstrap client at
    /// start); any other change ends them.
    pub async fn put_client(
        &self,
        id: &str,
        name: &str,
        secret_text: &str,
        scopes: &[String],
    ) -> Result<(), ServiceError> {
        let scopes = scopes
            .iter()
            .map(|s| {
                scope::short_name(s)
                    .map(scope::uri)
                    .ok_or_else(|| ServiceError::Invalid(format!("unknown scope '{s}'")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let unchanged = match self.store.client(id).await? {
            Some(old)
                if !old.disabled
                    && old.scopes == scopes
                    && secret::verify(secret_text.to_owned(), old.secret_hash.clone()).await =>
            {
                Some(old)
            }
            _ => None,
        };
        let record = match unchanged {
            Some(old) => ClientRecord {
                name: name.to_owned(),
                ..old
            },
            None => ClientRecord {
                client_id: id.to_owned(),
                name: name.to_owned(),
                secret_hash: secret::hash(secret_text.to_owned()).await?,
                scopes,
                disabled: false,
                token_generation: secret::random_generation(),
            },
        };
        self.store_client(record).await
    }
}

/// Checks a presented client secret; `Overloaded` when the hasher is
/// saturated, so the token endpoint answers at once instead of queueing.
async fn check_secret(presented: &str, stored: String, check: secret::Check) -> Result<bool, AuthError> {
    secret::verify_admitted(presented.to_owned(), stored, check)
        .await
        .map_err(|secret::Saturated| AuthError::Overloaded)
}

/// An argon2 hash of a random string, verified against when the client is
/// unknown so that the response time does not reveal which ids exist.
async fn dummy_hash() -> Result<String, ServiceError> {
    static DUMMY_HASH: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DUMMY_HASH
        .get_or_try_init(|| secret::hash(secret::random_token(16)))
        .await
        .cloned()
}

/// The `iss` claim of a token, read without verifying it (only to choose
/// which verifier applies; the chosen one then checks everything).
fn issuer_of(token: &str) -> Option<String> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()?
        .get("iss")?
        .as_str()
        .map(str::to_owned)
}

fn grant(client: &ClientRecord, requested: Option<&str>) -> Result<Vec<String>, AuthError> {
    let Some(requested) = requested.filter(|r| !r.trim().is_empty()) else {
        return Ok(client.scopes.clone());
    };
    requested
        .split_whitespace()
        .map(|asked| {
            let short =
                scope::short_name(asked).ok_or_else(|| AuthError::InvalidScope(format!("unknown scope '{asked}'")))?;
            let uri = scope::uri(short);
            if client.scopes.contains(&uri) {
                Ok(uri)
            } else {
                Err(AuthError::InvalidScope(format!(
                    "scope '{asked}' is not granted to this client"
                )))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signing_keys_under_32_bytes_are_refused_and_never_shown() {
        for short in [&b""[..], b"k", &[7u8; 31]] {
            assert!(matches!(SigningKey::new(short), Err(ServiceError::Invalid(_))));
        }
        let key = SigningKey::new([7u8; 32]).unwrap();
        assert_eq!(format!("{key:?}"), "SigningKey(<redacted>)");
        assert_ne!(SigningKey::generate(), SigningKey::generate());
        assert!(SigningKey::generate().0.len() >= SigningKey::MIN_LEN);
    }
}
