//! Watermark keys and work IDs.

use std::fmt;
use std::str::FromStr;

use rand::{CryptoRng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// The first word of a key file.
const KEY_TAG: &str = "inkseal-key-v1";

/// A 64-bit work ID, the payload of a mark. Shown as 16 lowercase hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WorkId(pub u64);

impl fmt::Display for WorkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl FromStr for WorkId {
    type Err = Error;

    /// Parses exactly 16 hex digits (an optional `0x` prefix is accepted).
    fn from_str(s: &str) -> Result<Self> {
        let t = s.trim();
        let t = t
            .strip_prefix("0x")
            .or_else(|| t.strip_prefix("0X"))
            .unwrap_or(t);
        if t.len() != 16 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::InvalidWorkId(s.to_string()));
        }
        u64::from_str_radix(t, 16)
            .map(WorkId)
            .map_err(|_| Error::InvalidWorkId(s.to_string()))
    }
}

/// A watermark key: 256 secret bits from which the tile, the carrier layout and the
/// scrambling of the payload are derived. Marks made with one key can only be found with it.
#[derive(Clone, PartialEq, Eq)]
pub struct Key {
    bytes: [u8; 32],
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material.
        write!(f, "Key({})", self.id())
    }
}

impl Key {
    /// The published default key. Anyone can read a work ID marked with it, which is what
    /// C2PA soft-binding lookups need.
    pub fn public() -> Key {
        let digest = Sha256::digest(b"inkseal public default watermark key, version 1");
        Key {
            bytes: digest.into(),
        }
    }

    /// A key from raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Key {
        Key { bytes }
    }

    /// A fresh random key.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Key {
        let mut bytes = [0u8; 32];
        rng.fill_bytes(&mut bytes);
        Key { bytes }
    }

    /// Whether this is the published default key.
    pub fn is_public(&self) -> bool {
        *self == Key::public()
    }

    /// A short, non-secret identifier of the key (16 hex digits), for registries and reports.
    pub fn id(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"inkseal key id");
        h.update(self.bytes);
        hex::encode(&h.finalize()[..8])
    }

    /// The key as the text of a key file.
    pub fn to_text(&self) -> String {
        format!(
            "# inkseal private watermark key (id {}). Keep this file secret: whoever holds it\n\
             # can find, prove and forge marks made with it.\n{KEY_TAG} {}\n",
            self.id(),
            hex::encode(self.bytes)
        )
    }

    /// Parses the text of a key file. Lines starting with `#` are comments.
    pub fn from_text(text: &str) -> Result<Key> {
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .ok_or_else(|| Error::InvalidKey("the key file is empty".into()))?;
        let mut parts = line.split_whitespace();
        let (Some(tag), Some(hexkey), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(Error::InvalidKey(format!(
                "expected `{KEY_TAG} <64 hex digits>`"
            )));
        };
        if tag != KEY_TAG {
            return Err(Error::InvalidKey(format!(
                "unknown key format {tag:?}; expected {KEY_TAG}"
            )));
        }
        let raw = hex::decode(hexkey)
            .map_err(|e| Error::InvalidKey(format!("key is not hexadecimal: {e}")))?;
        let bytes: [u8; 32] = raw
            .try_into()
            .map_err(|_| Error::InvalidKey("key must be 32 bytes (64 hex digits)".into()))?;
        Ok(Key { bytes })
    }

    /// A deterministic random stream for one named use of the key.
    pub(crate) fn stream(&self, purpose: &str) -> ChaCha20Rng {
        let mut h = Sha256::new();
        h.update(b"inkseal key stream");
        h.update(self.bytes);
        h.update((purpose.len() as u64).to_le_bytes());
        h.update(purpose.as_bytes());
        ChaCha20Rng::from_seed(h.finalize().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_id_round_trips_through_text() {
        let id = WorkId(0x0123_4567_89ab_cdef);
        assert_eq!(id.to_string(), "0123456789abcdef");
        assert_eq!("0123456789ABCDEF".parse::<WorkId>().ok(), Some(id));
        assert_eq!("0x0123456789abcdef".parse::<WorkId>().ok(), Some(id));
    }

    #[test]
    fn work_id_rejects_wrong_length_and_non_hex() {
        for bad in [
            "",
            "123",
            "0123456789abcdef0",
            "0123456789abcdeg",
            "+123456789abcdef",
        ] {
            assert!(bad.parse::<WorkId>().is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn key_text_round_trips_and_rejects_garbage() {
        let key = Key::generate(&mut ChaCha20Rng::seed_from_u64(7));
        let text = key.to_text();
        assert_eq!(Key::from_text(&text).ok(), Some(key.clone()));
        assert!(!text.contains("Key("));
        assert!(Key::from_text("").is_err());
        assert!(Key::from_text("inkseal-key-v1 abcd").is_err());
        assert!(Key::from_text("other-v1 00").is_err());
        assert!(Key::from_text(&format!("{KEY_TAG} {}", "zz".repeat(32))).is_err());
    }

    #[test]
    fn keys_are_distinct_and_public_key_is_stable() {
        let a = Key::generate(&mut ChaCha20Rng::seed_from_u64(1));
        let b = Key::generate(&mut ChaCha20Rng::seed_from_u64(2));
        assert_ne!(a.id(), b.id());
        assert_eq!(Key::public(), Key::public());
        assert!(Key::public().is_public());
        assert!(!a.is_public());
        // Debug output must not leak key bytes.
        assert!(!format!("{a:?}").contains(&hex::encode(a.bytes)));
    }
}
