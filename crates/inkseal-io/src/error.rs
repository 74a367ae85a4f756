//! The crate's error type.

use std::path::PathBuf;

/// What can go wrong while writing files or decoding and encoding images.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file-system operation failed.
    #[error("{what} {}: {error}", path.display())]
    Io {
        /// What was being done (`cannot create a file in`, `cannot write`, ...).
        what: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The cause (part of the message, so it is not also a `source`).
        error: std::io::Error,
    },
    /// The destination exists and replacing it was not allowed.
    #[error("{} already exists", .0.display())]
    AlreadyExists(PathBuf),
    /// The caller's writer failed while filling the temporary file.
    #[error("{0}")]
    Write(Box<dyn std::error::Error + Send + Sync>),
    /// The bytes are not an image in any format the caller accepts.
    #[error("not a supported image ({supported})")]
    UnknownFormat {
        /// The accepted formats, for people.
        supported: &'static str,
    },
    /// The image is in a format the caller does not accept.
    #[error("{format} images are not supported (supported: {supported})")]
    UnsupportedFormat {
        /// The format found.
        format: &'static str,
        /// The accepted formats, for people.
        supported: &'static str,
    },
    /// The image is larger than the decoding limits (checked before allocating).
    #[error("{0}")]
    TooLarge(String),
    /// The file ends early.
    #[error("cannot decode the image: the file is truncated or corrupt ({0})")]
    Truncated(String),
    /// The image could not be decoded.
    #[error("cannot decode the image: {0}")]
    Decode(String),
    /// The output file's extension does not name the format it must have.
    #[error("{0}")]
    Extension(String),
    /// The image could not be encoded.
    #[error("cannot encode the image: {0}")]
    Encode(String),
}

impl Error {
    /// An [`Error::Io`].
    pub fn io(what: &'static str, path: impl Into<PathBuf>, error: std::io::Error) -> Error {
        Error::Io {
            what,
            path: path.into(),
            error,
        }
    }

    /// Whether the cause is an I/O error of this kind (for example a closed pipe).
    pub fn is_io_kind(&self, kind: std::io::ErrorKind) -> bool {
        matches!(self, Error::Io { error, .. } if error.kind() == kind)
    }
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
