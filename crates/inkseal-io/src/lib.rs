//! File and image I/O shared by every inkseal crate, so that each thing is done one way.
//!
//! - [`atomic`]: the one atomic-write helper. A file is written to a temporary file in the
//!   destination's directory, the file is synced, renamed into place and the directory is
//!   synced, so readers and crashes see the old file or the whole new one, never a part.
//! - [`image`] (feature `image`, on by default): the one decoder for untrusted image files and
//!   bytes, under [`image::Limits`] checked from the header before any pixel buffer (or
//!   conversion copy) is allocated, and the one encoder that writes marked pixels back in the
//!   input's format.
//! - [`read`]: the one way to open a file that came from outside: regular files only (a
//!   named pipe or a device is refused, never blocked on), whole-file reads capped before
//!   allocating.
//!
//! ```
//! use inkseal_io::atomic::{self, Replace};
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("notes.txt");
//! atomic::write(&path, b"first", &atomic::Options::new(Replace::No))?;
//! // Refused: the file exists and the options say not to replace it.
//! assert!(atomic::write(&path, b"second", &atomic::Options::new(Replace::No)).is_err());
//! assert_eq!(std::fs::read(&path)?, b"first");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod atomic;
mod error;
#[cfg(feature = "image")]
pub mod image;
pub mod read;

pub use error::{Error, Result};
