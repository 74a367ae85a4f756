//! The crate's error type.

/// Everything that can go wrong in `inkseal-mark`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The image is too small to carry a mark.
    #[error(
        "image is {width}x{height} pixels; marking needs at least {min} pixels on the short side"
    )]
    TooSmall {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// Minimum short side in pixels.
        min: u32,
    },
    /// The image is larger than the configured limits allow.
    #[error("image is {width}x{height} pixels; the limit is {max_pixels} pixels")]
    TooLarge {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// Largest accepted pixel count.
        max_pixels: u64,
    },
    /// The pixel buffer does not match the stated size and layout.
    #[error("pixel buffer has {actual} bytes; {width}x{height} {layout:?} needs {expected}")]
    BufferSize {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// The stated layout.
        layout: crate::PixelLayout,
        /// Bytes needed.
        expected: usize,
        /// Bytes given.
        actual: usize,
    },
    /// A key file or key text could not be read.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// A work ID could not be parsed.
    #[error("invalid work ID {0:?}: expected 16 hexadecimal digits")]
    InvalidWorkId(String),
    /// A configuration value is out of range.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// Two images to compare differ in size, or are too small for the quality metric.
    #[error("cannot compare images: {0}")]
    Compare(String),
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
