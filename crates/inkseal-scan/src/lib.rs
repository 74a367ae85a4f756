//! Find watermarked works inside training datasets.
//!
//! `inkseal-scan` reads folders of images, WebDataset tar shards (plain or gzip), zip files
//! and Parquet files (Hugging Face `struct<bytes, path>` image columns and img2dataset binary
//! columns), decodes every image under size limits and looks for an `inkseal-mark` watermark
//! in it, on all cores. Inputs are streamed: a shard is never loaded whole. One bad sample, a
//! truncated shard or a null Parquet cell is an error [`Record`], never the end of a scan.
//!
//! ```
//! use inkseal_mark::{EmbedConfig, Embedder, ImageMut, Key, PixelLayout, WorkId};
//! use inkseal_scan::{Input, Record, ScanConfig, Scanner};
//!
//! // A marked 256x256 picture in a dataset folder, next to its caption.
//! let dir = tempfile::tempdir()?;
//! let (w, h) = (256u32, 256u32);
//! let mut pixels: Vec<u8> = (0..w * h * 3)
//!     .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8 / 2 + 64)
//!     .collect();
//! let key = Key::public();
//! Embedder::new(&key, EmbedConfig::default())?
//!     .embed(ImageMut::new(&mut pixels, w, h, PixelLayout::Rgb8)?, WorkId(0x1234))?;
//! image::save_buffer(dir.path().join("000.png"), &pixels, w, h, image::ColorType::Rgb8)?;
//! std::fs::write(dir.path().join("000.txt"), "a caption")?;
//!
//! let scanner = Scanner::new(&key, ScanConfig::default().with_threads(2))?;
//! let mut found = Vec::new();
//! let summary = scanner.scan(&[Input::from_path(dir.path())?], |record| {
//!     if let Record::Sample(s) = record {
//!         found.push((s.key, s.work_id));
//!     }
//! })?;
//! assert_eq!(found, [("000".to_string(), Some("0000000000001234".to_string()))]);
//! assert_eq!((summary.samples, summary.detected, summary.errors), (1, 1, 0));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod error;
mod input;
mod parquet_file;
mod record;
mod sample;
mod scanner;

pub use error::{Error, Result};
pub use inkseal_io::image::{Limits, MAX_ALLOC, MAX_PIXELS, MAX_SIDE};
pub use input::{Input, path_text};
pub use record::{ErrorRecord, Record, SampleRecord, Summary};
pub use sample::{
    IMAGE_EXTENSIONS, Sample, SampleError, SampleResult, is_image_name, webdataset_key,
};
pub use scanner::{DEFAULT_MAX_MEMBER_BYTES, Event, MAX_THREADS, ScanConfig, Scanner};
