//! Tokens from an external OAuth server (Cognito, Keycloak, Entra, …), so a
//! platform that already runs one can front Rollcall. Tokens are checked
//! against the issuer's published keys (JWKS): issuer, audience, expiry
//! and signature. Keys are cached, refreshed when they age, and refetched at
//! once (at most every `MIN_REFETCH`) when a token names a key not yet seen,
//! which is how issuers roll keys.

use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::RwLock;

use crate::auth::{AuthError, Claims};

/// Keys older than this are refetched before use.
const MAX_AGE: Duration = Duration::from_secs(600);
/// An unknown key id triggers a refetch no more often than this.
const MIN_REFETCH: Duration = Duration::from_secs(10);

/// Settings for trusting an external issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpConfig {
    pub issuer: String,
    pub audience: String,
    pub jwks_url: String,
}

pub struct ExternalIdp {
    config: IdpConfig,
    http: reqwest::Client,
    keys: RwLock<Option<(JwkSet, Instant)>>,
}

/// The claims we read from an external token. Scopes arrive as `scope`
/// (space-separated, RFC 8693/Keycloak/Cognito) or `scp` (Entra).
#[derive(Deserialize)]
struct ExternalClaims {
    sub: String,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    scp: Option<Value>,
    iat: Option<i64>,
    exp: i64,
}

impl ExternalIdp {
    pub fn new(config: IdpConfig) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("HTTP client");
        Self {
            config,
            http,
            keys: RwLock::new(None),
        }
    }

    pub fn issuer(&self) -> &str {
        &self.config.issuer
    }

    /// Verifies `token` (already known to name our issuer) at `now` (unix seconds).
    pub async fn verify(&self, token: &str, now: i64) -> Result<Claims, AuthError> {
        let invalid = |m: &str| AuthError::InvalidToken(format!("the access token is invalid: {m}"));
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid("malformed"))?;
        let kid = header.kid.ok_or_else(|| invalid("no key id"))?;
        let key = self
            .key(&kid)
            .await?
            .ok_or_else(|| invalid("signed with an unknown key"))?;
        let mut validation = Validation::new(header.alg);
        validation.validate_exp = false;
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        let claims = jsonwebtoken::decode::<ExternalClaims>(token, &key, &validation)
            .map_err(|e| invalid(&e.to_string()))?
            .claims;
        if claims.exp <= now {
            return Err(AuthError::InvalidToken("the access token has expired".into()));
        }
        Ok(Claims {
            sub: claims.client_id.unwrap_or(claims.sub),
            scope: scopes(claims.scope, claims.scp),
            iss: self.config.issuer.clone(),
            iat: claims.iat.unwrap_or(now),
            exp: claims.exp,
        })
    }

    /// The decoding key for `kid`, refetching the JWKS if it is stale or
    /// does not have that key (rate-limited).
    async fn key(&self, kid: &str) -> Result<Option<DecodingKey>, AuthError> {
        let cached = self
            .keys
            .read()
            .await
            .as_ref()
            .map(|(set, at)| (set.find(kid).cloned(), at.elapsed()));
        let refetch = match &cached {
            None => true,
            Some((found, age)) => *age > MAX_AGE || (found.is_none() && *age > MIN_REFETCH),
        };
        let jwk = if refetch {
            let set = self.fetch().await?;
            let jwk = set.find(kid).cloned();
            *self.keys.write().await = Some((set, Instant::now()));
            jwk
        } else {
            cached.and_then(|(found, _)| found)
        };
        jwk.map(|j| DecodingKey::from_jwk(&j))
            .transpose()
            .map_err(|e| AuthError::InvalidToken(format!("the issuer published an unusable key: {e}")))
    }

    async fn fetch(&self) -> Result<JwkSet, AuthError> {
        let unavailable = |e: reqwest::Error| {
            tracing::warn!(error = %e, "could not fetch the identity provider's keys");
            AuthError::InvalidToken("the identity provider's keys are unavailable".into())
        };
        self.http
            .get(&self.config.jwks_url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(unavailable)?
            .json::<JwkSet>()
            .await
            .map_err(unavailable)
    }
}

/// Normalises `scope`/`scp` into one space-separated string.
fn scopes(scope: Option<String>, scp: Option<Value>) -> String {
    match (scope, scp) {
        (Some(s), _) => s,
        (None, Some(Value::String(s))) => s,
        (None, Some(Value::Array(items))) => items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" "),
        _ => String::new(),
    }
}
