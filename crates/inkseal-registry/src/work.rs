//! What the registry stores about a work.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::hexfmt;

/// A complete work: what [`Registry::list`](crate::Registry::list) and
/// [`Registry::get`](crate::Registry::get) return, and one element of an export.
///
/// In JSON the work ID and perceptual hash are 16 lowercase hex digits, the SHA-256 64 hex
/// digits and the manifest lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Work {
    /// The 64-bit work ID carried by the watermark.
    #[serde(with = "hexfmt::u64_hex")]
    pub id: u64,
    /// Title of the work.
    pub title: String,
    /// The artist, as the credentials name the creator.
    pub artist: String,
    /// The licence, usually a URL; `None` if none was given.
    pub license: Option<String>,
    /// Whether the artist allows AI training, data mining and inference.
    pub training_allowed: bool,
    /// When the work was registered, RFC 3339 UTC (`2026-05-01T12:34:56.789Z`).
    pub created: String,
    /// SHA-256 of the marked, signed file as written.
    #[serde(with = "hexfmt::sha256_hex")]
    pub sha256: [u8; 32],
    /// Perceptual hash of the marked image (`inkseal_mark::perceptual_hash`).
    #[serde(with = "hexfmt::u64_hex")]
    pub phash: u64,
    /// Identifier of the key the work was marked with (opaque to the registry).
    pub key_id: String,
    /// Where the marked file was written, as an absolute path (informational).
    pub output_path: Option<PathBuf>,
    /// The signed C2PA manifest store (JUMBF bytes), kept so that credentials stripped from a
    /// copy can be recovered from the watermark's work ID.
    #[serde(with = "hexfmt::bytes_hex")]
    pub manifest: Vec<u8>,
}

/// The metadata of a work about to be marked: the argument of
/// [`Registry::reserve`](crate::Registry::reserve).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewWork {
    /// Title of the work.
    pub title: String,
    /// The artist.
    pub artist: String,
    /// The licence, usually a URL.
    pub license: Option<String>,
    /// Whether the artist allows AI training, data mining and inference.
    pub training_allowed: bool,
    /// Identifier of the key the work is marked with.
    pub key_id: String,
}

/// What is about to be moved into place for a reserved work: the argument of
/// [`Registry::stage`](crate::Registry::stage).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staged {
    /// SHA-256 of the finished file, exactly as it is (or will be) in `temp_path`.
    pub sha256: [u8; 32],
    /// Perceptual hash of the marked image.
    pub phash: u64,
    /// The signed C2PA manifest store.
    pub manifest: Vec<u8>,
    /// The final file name. Stored as an absolute path.
    pub output_path: PathBuf,
    /// The temporary file that will be renamed to `output_path`: a name the caller owns
    /// (created with `create_new`, best in the output's directory so the rename is atomic),
    /// which [`Registry::recover`](crate::Registry::recover) deletes if the owning process
    /// dies before the rename. Its file name must contain the work ID as 16 lowercase hex
    /// digits (for example `.harbour.png.0123456789abcdef.tmp`), else
    /// [`Error::InvalidInput`](crate::Error::InvalidInput). Stored as an absolute path.
    pub temp_path: PathBuf,
}
