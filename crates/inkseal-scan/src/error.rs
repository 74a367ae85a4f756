//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong while scanning. Most of these end up in an error
/// [`Record`](crate::Record) for one sample or one input; the scan itself goes on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading a file or a stream failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A path names nothing that can be scanned (not a folder, a shard, a zip, a Parquet
    /// file or an image).
    #[error("{}: not a folder, .tar, .tar.gz, .tgz, .zip, .parquet or image file", .0.display())]
    UnsupportedInput(PathBuf),
    /// A file's first bytes do not match the format its extension names.
    #[error("not a {expected} file (its first bytes do not match)")]
    BadMagic {
        /// The format the extension promised.
        expected: &'static str,
    },
    /// The tar stream ended or broke in the middle of an archive.
    #[error("the tar archive is truncated or corrupt: {0}")]
    Tar(std::io::Error),
    /// The zip archive could not be read.
    #[error("cannot read the zip archive: {0}")]
    Zip(String),
    /// The Parquet file could not be read.
    #[error("cannot read the Parquet file: {0}")]
    Parquet(String),
    /// The Parquet file has no column that holds images.
    #[error(
        "no image column found (looked for a struct<bytes, path> column or a binary column named like image, img, jpg, png or bytes); name one with the column option"
    )]
    NoImageColumn,
    /// The named Parquet column does not exist or does not hold bytes.
    #[error("column {0:?} does not exist or does not hold image bytes")]
    BadColumn(String),
    /// A column named to be carried into the records does not exist in a Parquet file.
    #[error("column {0:?} (named to be carried into the records) does not exist in this file")]
    MissingColumn(String),
    /// A Parquet image cell is null.
    #[error("null image cell")]
    NullImage,
    /// A member is larger than the configured cap; it was skipped without being read.
    #[error("member is {size} bytes; the limit is {max} bytes")]
    MemberTooLarge {
        /// The member's size in bytes.
        size: u64,
        /// The configured cap.
        max: u64,
    },
    /// The bytes are not a supported image, or are too large or damaged to decode.
    #[error(transparent)]
    Image(#[from] inkseal_io::Error),
    /// The decoder failed in an unexpected way.
    #[error("cannot decode the image: {0}")]
    Decode(String),
    /// The watermark detector refused the image or the configuration.
    #[error(transparent)]
    Mark(#[from] inkseal_mark::Error),
    /// More worker threads were asked for than [`MAX_THREADS`](crate::MAX_THREADS).
    #[error("{asked} worker threads asked for; the limit is {max}")]
    TooManyThreads {
        /// The number asked for.
        asked: usize,
        /// The limit.
        max: usize,
    },
    /// The worker threads could not be started.
    #[error("cannot start the worker threads: {0}")]
    Threads(String),
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
