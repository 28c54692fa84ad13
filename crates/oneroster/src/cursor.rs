//! Keyset cursors: an opaque token in the `Link: rel="next"` URL that pins
//! the sort, the filter and the position (the last row's sort value and
//! sourcedId), so a client following `next` pages through any number of rows
//! with no duplicates, no misses and no OFFSET scan, even while rows change.
//!
//! Tokens are signed (HMAC-SHA256 under a [`CursorKey`] derived from the
//! server's signing key): a client cannot rebuild one with another position
//! or offset, and every instance sharing the key accepts the others' tokens.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Sha256;

use crate::path;
use crate::query::SortKey;

type HmacSha256 = Hmac<Sha256>;

/// The key cursors are signed with. Derived from the server's signing key
/// rather than using it directly, so a cursor's MAC can never double as
/// anything else signed with that key.
#[derive(Clone)]
pub struct CursorKey([u8; 32]);

impl CursorKey {
    pub fn derive(secret: &[u8]) -> Self {
        let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
        mac.update(b"rollcall keyset cursor v1");
        Self(mac.finalize().into_bytes().into())
    }

    fn mac(&self) -> HmacSha256 {
        HmacSha256::new_from_slice(&self.0).expect("HMAC takes any key length")
    }
}

/// Never prints the key.
impl std::fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorKey(***)")
    }
}

/// Where the next page starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The last row's sort value (absent when sorting by sourcedId or when
    /// the row had no value).
    #[serde(rename = "v", default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The last row's sourcedId, the tie-breaker.
    #[serde(rename = "i")]
    pub id: String,
    /// The offset of the page this cursor opens, so totals stay meaningful.
    #[serde(rename = "o")]
    pub offset: u64,
    /// Fingerprint of sort, order, filter and search: a cursor is only valid
    /// for the query it came from.
    #[serde(rename = "q")]
    pub query: u64,
}

impl Cursor {
    /// The cursor that follows `last`, the final row of a page.
    pub fn after(last: &Value, sort: Option<SortKey>, offset: u64, query: u64) -> Option<Self> {
        let id = last.get("sourcedId")?.as_str()?.to_owned();
        let value = sort.filter(|k| k.field.name != "sourcedId").and_then(|k| {
            if k.field.in_document() {
                // Compared as JSON (see `ListQuery`'s typed extension values).
                return path::value_at(last, k.field.name)
                    .filter(|v| !v.is_null())
                    .map(Value::to_string);
            }
            path::values_at(last, k.field.name).into_iter().next()
        });
        Some(Self {
            value,
            id,
            offset,
            query,
        })
    }

    /// The token for a URL: `<payload>.<mac>`, both base64url.
    pub fn seal(&self, key: &CursorKey) -> String {
        let payload = serde_json::to_vec(self).expect("cursor serialises");
        let mut mac = key.mac();
        mac.update(&payload);
        let tag = mac.finalize().into_bytes();
        format!("{}.{}", URL_SAFE_NO_PAD.encode(&payload), URL_SAFE_NO_PAD.encode(tag))
    }

    /// The cursor in `token`, if `key` signed it (checked in constant time
    /// before the payload is parsed).
    pub fn open(token: &str, key: &CursorKey) -> Option<Self> {
        let (payload, tag) = token.split_once('.')?;
        let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let mut mac = key.mac();
        mac.update(&payload);
        mac.verify_slice(&URL_SAFE_NO_PAD.decode(tag).ok()?).ok()?;
        serde_json::from_slice(&payload).ok()
    }
}

/// FNV-1a over the parts that shape a result order: stable across builds
/// and instances, unlike `std`'s hasher.
pub fn fingerprint(parts: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0xff)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor() -> Cursor {
        Cursor {
            value: Some("O'Brien".into()),
            id: "u-9".into(),
            offset: 3000,
            query: 42,
        }
    }

    #[test]
    fn round_trips_and_rejects_garbage() {
        let key = CursorKey::derive(b"k");
        assert_eq!(Cursor::open(&cursor().seal(&key), &key), Some(cursor()));
        assert_eq!(Cursor::open("not a cursor", &key), None);
        assert_eq!(Cursor::open("a.b", &key), None);
    }

    #[test]
    fn only_the_signing_key_opens_a_token() {
        let key = CursorKey::derive(b"k");
        let token = cursor().seal(&key);
        assert_eq!(Cursor::open(&token, &CursorKey::derive(b"other")), None);
        let (_, tag) = token.split_once('.').unwrap();
        let forged = Cursor {
            offset: u64::MAX,
            ..cursor()
        };
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        assert_eq!(
            Cursor::open(&format!("{payload}.{tag}"), &key),
            None,
            "a rebuilt payload"
        );
        assert_eq!(Cursor::open(&payload, &key), None, "an unsigned payload");
    }

    #[test]
    fn the_key_never_prints() {
        assert_eq!(format!("{:?}", CursorKey::derive(b"secret")), "CursorKey(***)");
    }

    #[test]
    fn fingerprints_separate_parts() {
        assert_ne!(fingerprint(&["ab", "c"]), fingerprint(&["a", "bc"]));
        assert_eq!(fingerprint(&["x"]), fingerprint(&["x"]));
    }
}
