//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong while making credentials, signing or reading manifests.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },

    /// A file we were asked to create already exists (pass `overwrite` to replace it).
    #[error("{0} already exists (refusing to overwrite it)")]
    AlreadyExists(PathBuf),

    /// The output path is the input path: signing never overwrites its input.
    #[error("output {0} is the input file: signing never overwrites its input")]
    OutputIsInput(PathBuf),

    /// Certificate or key text is not PEM, or holds no object of the expected kind.
    #[error("{what} is not valid PEM: {reason}")]
    NotPem {
        /// What was being parsed ("certificate chain", "private key", "trust anchors").
        what: &'static str,
        /// Why it was rejected.
        reason: String,
    },

    /// A certificate could not be parsed as X.509.
    #[error("invalid certificate: {0}")]
    InvalidCertificate(String),

    /// The private key is not one we can sign with (only ECDSA P-256 / ES256 is supported).
    #[error("unsupported or invalid private key: {0}")]
    InvalidKey(String),

    /// The private key does not belong to the signing certificate (the first in the chain).
    #[error(
        "wrong key: the private key does not match the signing certificate's public key ({subject})"
    )]
    KeyMismatch {
        /// The subject of the signing certificate.
        subject: String,
    },

    /// Generating certificates failed.
    #[error("certificate generation failed: {0}")]
    CertificateGeneration(String),

    /// The input bytes are not in a format we can sign or read.
    #[error("unsupported asset format: {0}")]
    UnsupportedFormat(String),

    /// The work terms cannot be written into a manifest (e.g. an empty soft-binding algorithm).
    #[error("invalid work terms: {0}")]
    InvalidTerms(String),

    /// A manifest store is present but cannot be parsed (corrupt JUMBF, garbage bytes, broken
    /// claim structure). Validation failures of a well-formed manifest are *not* this error: they
    /// give a report whose state is [`ValidationState::Invalid`](crate::ValidationState::Invalid).
    #[error("corrupt or unreadable C2PA manifest: {0}")]
    CorruptManifest(#[source] Box<c2pa::Error>),

    /// A manifest store (a sidecar, a PNG's manifest chunk), or a file the SDK would hold
    /// whole, is larger than the limit; refused before it is read.
    #[error("{what} is {size} bytes; the limit is {max} bytes ({} MiB)", max >> 20)]
    TooLarge {
        /// What is too large ("the sidecar manifest art.c2pa", ...).
        what: String,
        /// Its size in bytes.
        size: u64,
        /// The limit in bytes.
        max: u64,
    },

    /// A PNG has more chunks than [`MAX_PNG_CHUNKS`](crate::MAX_PNG_CHUNKS); its credentials
    /// are not read.
    #[error("the PNG has more than {max} chunks; its Content Credentials are not read")]
    TooManyChunks {
        /// The limit.
        max: u64,
    },

    /// The C2PA SDK failed while building or signing a manifest.
    #[error("C2PA signing failed: {0}")]
    Signing(#[source] Box<c2pa::Error>),

    /// The C2PA SDK rejected our settings (a bug, or malformed trust anchors).
    #[error("C2PA settings rejected: {0}")]
    Settings(#[source] Box<c2pa::Error>),
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
