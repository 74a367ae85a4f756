//! Content Credentials (C2PA) for inkseal: make signing credentials, build and sign manifests
//! that name a work's watermark, embed them (or write a sidecar), and read and validate them.
//!
//! A manifest written here carries:
//! - `c2pa.actions.v2`: `c2pa.created` (digital source type `digitalCreation` by default) and
//!   `c2pa.watermarked.bound`;
//! - `c2pa.soft-binding`: the watermark's algorithm name and one block whose `value` is the
//!   64-bit work ID as an 8-byte big-endian CBOR byte string;
//! - `cawg.training-mining`: the four CAWG entries, `notAllowed` unless the artist allows
//!   training;
//! - `cawg.metadata`: Dublin Core creator, title and rights (licence).
//!
//! Signing and reading use an explicit C2PA `Context` with no network access (no remote
//! manifest fetch, no OCSP fetch); trust is checked against the anchors the caller passes.
//! Crypto is pure Rust: ECDSA P-256 (ES256) keys from `p256`, certificates from `rcgen`
//! without its C-based backends, and c2pa's RustCrypto validators.
//!
//! This crate knows nothing about how marks are made: the soft-binding algorithm name comes
//! in [`WorkTerms::alg`].
//!
//! # Example
//!
//! ```
//! use inkseal_c2pa::{Credentials, Format, Signer, ValidationState, WorkTerms};
//!
//! // A local CA and signer (P-256, C2PA certificate profile).
//! let creds = Credentials::generate("Ada Artist")?;
//! let signer = Signer::from_pem(&creds.signer_chain_pem, &creds.signer_key_pem)?;
//!
//! // Sign a small PNG in memory.
//! # let img = image::RgbImage::from_fn(32, 32, |x, y| image::Rgb([x as u8 * 8, y as u8 * 8, 90]));
//! # let mut png = Vec::new();
//! # img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)?;
//! let png: &[u8] = &png;
//! let terms = WorkTerms::new(0x0123_4567_89ab_cdef, "Harbour at dusk", "Ada Artist", "org.inkseal.mark.1")
//!     .with_license("https://creativecommons.org/licenses/by-nc/4.0/");
//! let signed = inkseal_c2pa::sign_bytes(&Format::Png, png, &terms, &signer)?;
//! assert!(signed.embedded);
//!
//! // Read it back: Valid on its own, Trusted with our CA as anchor.
//! let report = inkseal_c2pa::read_bytes(&Format::Png, &signed.asset, None)?
//!     .ok_or("no manifest")?;
//! assert_eq!(report.state, ValidationState::Valid);
//! assert_eq!(report.work_id("org.inkseal.mark.1"), Some(0x0123_4567_89ab_cdef));
//! assert_eq!(report.creator(), Some("Ada Artist"));
//!
//! let trusted = inkseal_c2pa::read_bytes(&Format::Png, &signed.asset, Some(&creds.ca_cert_pem))?
//!     .ok_or("no manifest")?;
//! assert_eq!(trusted.state, ValidationState::Trusted);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod context;
mod credentials;
mod error;
mod format;
mod fsutil;
mod limits;
mod manifest;
mod read;
mod report;
mod sign;
mod signer;
mod terms;

pub use credentials::{
    CA_CERT_FILE, CredentialPaths, Credentials, GeneratedCredentials, SIGNER_CERT_FILE,
    SIGNER_KEY_FILE,
};
pub use error::{Error, Result};
pub use format::Format;
pub use limits::{MAX_JPEG_BYTES, MAX_MANIFEST_BYTES, MAX_PNG_CHUNKS};
pub use manifest::{
    ACTIONS_LABEL, DUBLIN_CORE, METADATA_LABEL, SOFT_BINDING_LABEL, TRAINING_MINING_LABEL,
    WATERMARKED_BOUND_ACTION,
};
pub use read::{read_bytes, read_file, read_sidecar, read_with_manifest};
pub use report::{
    CredentialReport, ManifestSource, SignerInfo, SoftBindingInfo, StatusCode, StatusKind,
    TrainingTerm, ValidationState, WatermarkAgreement,
};
pub use sign::{Signed, SignedBytes, sidecar_path, sign_bytes, sign_file};
pub use signer::Signer;
pub use terms::{DIGITAL_CREATION, TRAINING_ENTRIES, TrainingUse, WorkTerms};

#[cfg(test)]
mod tests {
    /// The CLI moves these across threads and into `anyhow::Error`.
    #[test]
    fn public_types_are_send_and_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<crate::Error>();
        check::<crate::Signer>();
        check::<crate::CredentialReport>();
        check::<crate::GeneratedCredentials>();
    }
}
