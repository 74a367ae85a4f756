//! Blind, robust image watermarking of a 64-bit work ID.
//!
//! `inkseal-mark` hides a [`WorkId`] in the luma of an image as a key-derived periodic tile
//! and finds it again without the original, returning a p-value for every detection.
//! It is pure signal processing: no files, no formats, no C2PA.
//!
//! ```
//! use inkseal_mark::{Detector, DetectConfig, EmbedConfig, Embedder, ImageMut, ImageRef, Key,
//!                    PixelLayout, WorkId};
//!
//! // A 256x256 RGB test picture with some texture.
//! let (w, h) = (256u32, 256u32);
//! let mut pixels: Vec<u8> = (0..w * h * 3)
//!     .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8 / 2 + 64)
//!     .collect();
//!
//! let key = Key::public();
//! let mut embedder = Embedder::new(&key, EmbedConfig::default())?;
//! embedder.embed(ImageMut::new(&mut pixels, w, h, PixelLayout::Rgb8)?, WorkId(0xfeed_beef_1234_5678))?;
//!
//! let mut detector = Detector::new(&key, DetectConfig::default())?;
//! let found = detector.detect(ImageRef::new(&pixels, w, h, PixelLayout::Rgb8)?)?;
//! assert!(found.detected);
//! assert_eq!(found.work_id, Some(WorkId(0xfeed_beef_1234_5678)));
//! assert!(found.p_value < 1e-6);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod code;
mod detect;
mod embed;
mod error;
mod fft;
mod key;
mod mask;
mod num;
mod phash;
mod pixels;
mod pool;
mod quality;
mod region;
mod resample;
mod stats;
mod sync;
mod tile;

pub use detect::{
    Analysis, DetectConfig, Detection, Detector, Geometry, TileMap, Verification, WorkTest,
};
pub use embed::{EmbedConfig, EmbedReport, Embedder};
pub use error::{Error, Result};
pub use key::{Key, WorkId};
pub use phash::{hash_distance, perceptual_hash};
pub use pixels::{ImageMut, ImageRef, PixelLayout};
pub use quality::ssimulacra2;
pub use region::Region;

/// The smallest short side, in pixels, that [`Embedder`] accepts.
pub const MIN_EMBED_SIDE: u32 = 128;
/// Below this short side, in pixels, [`Detector`] reports "not detected" without searching.
pub const MIN_DETECT_SIDE: u32 = 64;
/// Default largest image, in pixels, that the engines accept (100 megapixels).
pub const DEFAULT_MAX_PIXELS: u64 = 100_000_000;
/// The algorithm's name and version, as used for C2PA soft bindings.
pub const ALGORITHM: &str = "org.inkseal.mark.1";
