//! Hex text for IDs, hashes and bytes, in JSON and in the database.

use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

/// A u64 as 16 lowercase hex digits.
pub(crate) fn u64_to_hex(v: u64) -> String {
    format!("{v:016x}")
}

/// Exactly 16 hex digits (either case) as a u64.
pub(crate) fn u64_from_hex(s: &str) -> Option<u64> {
    if s.len() == 16 && s.bytes().all(|c| c.is_ascii_hexdigit()) {
        u64::from_str_radix(s, 16).ok()
    } else {
        None
    }
}

/// Exactly 64 hex digits as 32 bytes.
pub(crate) fn sha256_from_hex(s: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

/// Serde: u64 as 16 hex digits.
pub(crate) mod u64_hex {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&u64_to_hex(*v))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let text = String::deserialize(d)?;
        u64_from_hex(&text)
            .ok_or_else(|| D::Error::custom(format!("{text:?} is not 16 hex digits")))
    }
}

/// Serde: a list of u64 as 16-hex-digit strings.
pub(crate) mod u64_hex_list {
    use serde::ser::SerializeSeq;

    use super::*;

    pub(crate) fn serialize<S: Serializer>(v: &[u64], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(v.len()))?;
        for id in v {
            seq.serialize_element(&u64_to_hex(*id))?;
        }
        seq.end()
    }
}

/// Serde: 32 bytes as 64 hex digits.
pub(crate) mod sha256_hex {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        sha256_from_hex(&text)
            .ok_or_else(|| D::Error::custom(format!("{text:?} is not 64 hex digits")))
    }
}

/// Serde: bytes as lowercase hex.
pub(crate) mod bytes_hex {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        hex::decode(&text).map_err(|e| D::Error::custom(format!("not hex bytes: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u64_hex_round_trip_and_strictness() {
        for v in [0, 1, 0x0123_4567_89ab_cdef, u64::MAX] {
            assert_eq!(u64_from_hex(&u64_to_hex(v)), Some(v));
        }
        assert_eq!(u64_to_hex(0xab), "00000000000000ab");
        assert_eq!(
            u64_from_hex("0123456789ABCDEF"),
            Some(0x0123_4567_89ab_cdef)
        );
        for bad in [
            "",
            "123",
            "+123456789abcdef",
            "0123456789abcdeg",
            "0123456789abcdef0",
        ] {
            assert_eq!(u64_from_hex(bad), None, "{bad}");
        }
    }

    #[test]
    fn sha256_hex_needs_64_digits() {
        let h = [0xa5u8; 32];
        assert_eq!(sha256_from_hex(&hex::encode(h)), Some(h));
        assert_eq!(sha256_from_hex(&hex::encode([0u8; 31])), None);
        assert_eq!(sha256_from_hex("zz"), None);
    }
}
