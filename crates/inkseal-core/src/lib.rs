//! inkseal's workflows, for every shell (the `inkseal` CLI, the Python module, a server):
//! mark a work, verify a file, read and write images under limits, find the data directory
//! and the signer, load key files, resume scans.
//!
//! - [`Store`]: the registry, the signing credentials and the trust anchors, at explicit
//!   paths or in the user's data directory.
//! - [`image`]: the one decoder (files and bytes, [`image::Limits`] checked from the header
//!   before any allocation, conversion copies included) and the one encoder (the marked copy
//!   keeps the input's format).
//! - [`atomic`]: the one atomic-write helper (fsync of the file and of the directory).
//! - [`read`]: the one way to open a file from outside (regular files only, never blocking
//!   on a named pipe; whole-file reads capped before allocating).
//! - [`Marker`]: [`Marker::mark_file`] / [`Marker::mark_bytes`], the crash-safe
//!   reserve/stage/rename/complete protocol.
//! - [`Verifier`]: [`Verifier::verify_file`] / [`Verifier::verify_bytes`].
//! - [`works`]: importing an export document, every manifest checked against its work ID.
//! - [`batch`]: marking a whole portfolio folder, in parallel and resumably.
//! - [`keyfile`]: watermark key files.
//! - [`clobber`]: refusing an output that would replace the registry or another file the
//!   command reads.
//! - [`scan`]: the resume state of a scan and the registry lookup of found works.
//! - [`ResumableScan`]: the scan loop over that state: finished inputs replayed, the rest
//!   scanned, every record passed on in input order with its work's registry entry.
//!
//! Nothing here prints or exits: everything ends in a value or an [`Error`] whose message
//! is complete.
//!
//! ```
//! use inkseal_core::{Marker, Store, Verdict, Verifier, WorkInfo};
//! use inkseal_mark::{EmbedConfig, Key};
//!
//! let dir = tempfile::tempdir()?;
//! let store = Store::new()
//!     .with_registry(Some(dir.path().join("registry.sqlite")))
//!     .with_credentials(Some(dir.path().join("credentials")));
//!
//! // A 320x320 textured picture to mark.
//! let picture = image::RgbImage::from_fn(320, 320, |x, y| {
//!     let v = ((x * 7 + y * 13) % 97 + (x ^ y) % 61) as u8;
//!     image::Rgb([v, v / 2 + 40, 255 - v])
//! });
//! let input = dir.path().join("harbour.png");
//! picture.save(&input)?;
//!
//! let key = Key::public();
//! let signer = store.signer(None, "A. Painter")?.signer;
//! let mut registry = store.open_registry()?.registry;
//! let mut marker = Marker::new(&key, EmbedConfig::default())?;
//! let info = WorkInfo {
//!     title: "Harbour".into(),
//!     artist: "A. Painter".into(),
//!     ..WorkInfo::default()
//! };
//! let output = dir.path().join("harbour.marked.png");
//! let marked = marker.mark_file(&input, &output, &info, &signer, &mut registry)?;
//!
//! let mut verifier = Verifier::new(&key, store.trust_anchors(None)?)?;
//! let found = verifier.verify_file(&output, Some(&registry))?;
//! assert_eq!(found.verdict, Verdict::Verified);
//! assert_eq!(found.detection.work_id, Some(marked.work_id));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod batch;
pub mod clobber;
mod error;
mod fault;
pub mod keyfile;
pub mod mark;
pub mod resume;
pub mod scan;
pub mod store;
pub mod verify;
pub mod works;

pub use error::{Error, Result};
/// Test hook, empty unless the `fault-injection` feature is on (see `INKSEAL_PEAK_RSS` in
/// the tests).
#[doc(hidden)]
pub use fault::at_exit as test_hook_at_exit;
pub use inkseal_io::{atomic, image, read};
pub use mark::{Marked, Marker, WorkInfo};
pub use resume::ResumableScan;
pub use store::Store;
pub use verify::{Binding, Recovered, Verdict, Verification, Verifier};
