//! Tokens from an external OAuth server (Cognito, Keycloak, Entra, …), so a
//! platform that already runs one can front Rollcall. Tokens are checked
//! against the issuer's published keys (JWKS): issuer, audience (required),
//! expiry, not-before and signature; scopes count only as OneRoster scope
//! URIs (see [`crate::scope`]). Keys are cached, refreshed when they age, and
//! refetched when a token names a key not yet seen, which is how issuers
//! roll keys. Whatever tokens arrive, at most one fetch is under way and
//! fetches start at most once per `MIN_REFETCH`: tokens naming invented key
//! ids, or an issuer that does not answer, cost no more than that.

use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::{Mutex, RwLock};

use crate::auth::{AuthError, Claims};

/// Keys older than this are refetched before use.
const MAX_AGE: Duration = Duration::from_secs(600);
/// Fetches start no more often than this, whatever the tokens say.
const MIN_REFETCH: Duration = Duration::from_secs(10);
/// How far in the future a token's `nbf` may be: clocks differ slightly.
const NBF_LEEWAY_SECS: i64 = 60;

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
    /// The last key set fetched, and when.
    keys: RwLock<Option<(JwkSet, Instant)>>,
    /// When the last fetch started, successful or not; held while one runs.
    last_fetch: Mutex<Option<Instant>>,
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
    #[serde(default)]
    nbf: Option<i64>,
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
            last_fetch: Mutex::new(None),
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
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let claims = jsonwebtoken::decode::<ExternalClaims>(token, &key, &validation)
            .map_err(|e| invalid(&e.to_string()))?
            .claims;
        if claims.exp <= now {
            return Err(AuthError::InvalidToken("the access token has expired".into()));
        }
        if claims.nbf.is_some_and(|nbf| nbf > now + NBF_LEEWAY_SECS) {
            return Err(AuthError::InvalidToken(
                "the access token is not valid yet (nbf)".into(),
            ));
        }
        Ok(Claims {
            sub: claims.client_id.unwrap_or(claims.sub),
            scope: scopes(claims.scope, claims.scp),
            iss: self.config.issuer.clone(),
            iat: claims.iat.unwrap_or(now),
            exp: claims.exp,
            generation: None,
        })
    }

    /// The decoding key for `kid`, refetching the JWKS first if it is
    /// stale or lacks that key and no fetch started within `MIN_REFETCH`.
    async fn key(&self, kid: &str) -> Result<Option<DecodingKey>, AuthError> {
        let (mut jwk, fresh) = self.cached(kid).await;
        if jwk.is_none() || !fresh {
            let asked = Instant::now();
            let mut last_fetch = self.last_fetch.lock().await;
            // A fetch that started after we looked has answered for us.
            let due = last_fetch.is_none_or(|t| t < asked && t.elapsed() >= MIN_REFETCH);
            if due {
                *last_fetch = Some(Instant::now());
                match self.fetch().await {
                    Ok(set) => *self.keys.write().await = Some((set, Instant::now())),
                    Err(e) => tracing::warn!(error = %e, "could not fetch the identity provider's keys"),
                }
            }
            drop(last_fetch);
            let (now_cached, _) = self.cached(kid).await;
            if now_cached.is_none() && self.keys.read().await.is_none() {
                return Err(AuthError::InvalidToken(
                    "the identity provider's keys are unavailable".into(),
                ));
            }
            jwk = now_cached;
        }
        jwk.map(|j| DecodingKey::from_jwk(&j))
            .transpose()
            .map_err(|e| AuthError::InvalidToken(format!("the issuer published an unusable key: {e}")))
    }

    /// The cached key for `kid`, and whether the cached set is still fresh.
    async fn cached(&self, kid: &str) -> (Option<Jwk>, bool) {
        match self.keys.read().await.as_ref() {
            Some((set, at)) => (set.find(kid).cloned(), at.elapsed() <= MAX_AGE),
            None => (None, false),
        }
    }

    async fn fetch(&self) -> Result<JwkSet, reqwest::Error> {
        self.http
            .get(&self.config.jwks_url)
            .send()
            .await?
            .error_for_status()?
            .json::<JwkSet>()
            .await
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
