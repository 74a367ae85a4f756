//! The inkseal work registry: an artist's catalogue of marked works in one SQLite file.
//!
//! Each complete [`Work`] has a unique 64-bit work ID (the number the watermark carries),
//! title, artist, licence, training permission, creation time, the SHA-256 and perceptual
//! hash of the marked file, the signed C2PA manifest and the id of the key used. The file
//! lives in the user's data directory by default ([`Registry::default_path`]).
//!
//! # Crash safety: the mark protocol
//!
//! A `mark` never leaves half a work. It drives four steps, each a committed transaction
//! (SQLite in WAL mode, `synchronous=FULL`):
//!
//! 1. [`Registry::reserve`] allocates a random, unused work ID and records a *pending* work
//!    owned by this process and a [`Lease`] (the handle's, or the caller's with
//!    [`Registry::reserve_leased`]). Concurrent processes never get the same ID.
//! 2. The caller marks and signs the image, writes the result to a temporary file it owns in
//!    the output's directory (created with `create_new`, synced, its name containing the
//!    work ID in hex), then calls
//!    [`Registry::stage`] with the file's SHA-256, perceptual hash, manifest and both paths.
//!    ([`Registry::record_paths`] may record the paths earlier, so a kill while writing the
//!    temporary file is cleaned up too.)
//! 3. The caller renames the temporary file to the output path (and syncs the directory).
//! 4. [`Registry::complete`] makes the work complete; only now do [`Registry::list`],
//!    [`Registry::get`] and exports show it.
//!
//! On any error the caller deletes the file it created (the temporary file, or the output if
//! the rename already happened) and calls [`Registry::abandon`]; if even that fails, the
//! next [`Registry::recover`] deletes the row (its output is gone). If the process is killed
//! instead, [`Registry::recover`] (run it at the start of `mark`) finishes
//! the job once the owner is gone (the process has exited, or, seen from the owning process
//! itself, the row's lease was dropped): a work whose output is in place with the staged SHA-256
//! is completed, any other is deleted with its temporary file.
//!
//! # Example
//!
//! ```
//! use std::io::Write as _;
//! use inkseal_registry::{NewWork, Registry, Staged};
//! use sha2::{Digest as _, Sha256};
//!
//! let dir = tempfile::tempdir()?;
//! let mut registry = Registry::open(dir.path().join("registry.sqlite"))?;
//! registry.recover()?;
//!
//! let id = registry.reserve(&NewWork {
//!     title: "Harbour at dusk".into(),
//!     artist: "A. Painter".into(),
//!     license: Some("https://creativecommons.org/licenses/by-nc/4.0/".into()),
//!     training_allowed: false,
//!     key_id: "0123456789abcdef".into(),
//! })?;
//! // ... embed the watermark carrying `id`, sign the manifest, encode the image ...
//! let marked: &[u8] = b"the marked, signed image";
//! let manifest = b"the C2PA manifest store".to_vec();
//!
//! let output = dir.path().join("harbour.png");
//! let temp = dir.path().join(format!(".harbour.png.{id:016x}.tmp"));
//! let mut file = std::fs::File::create_new(&temp)?;
//! file.write_all(marked)?;
//! file.sync_all()?;
//! registry.stage(id, &Staged {
//!     sha256: Sha256::digest(marked).into(),
//!     phash: 0x8f3c_11aa_0042_9b7e, // inkseal_mark::perceptual_hash of the marked image
//!     manifest,
//!     output_path: output.clone(),
//!     temp_path: temp.clone(),
//! })?;
//! std::fs::rename(&temp, &output)?;
//! registry.complete(id)?;
//!
//! let work = registry.get(id)?.ok_or("the work is registered")?;
//! assert_eq!(work.title, "Harbour at dusk");
//! assert_eq!(registry.list()?.len(), 1);
//! let export = registry.export()?;
//! assert_eq!(export["works"][0]["id"], format!("{id:016x}"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Errors
//!
//! A registry locked by another process for longer than the busy timeout gives
//! [`Error::Locked`]; a file that is not a registry gives [`Error::NotARegistry`] and is not
//! modified; a damaged one gives [`Error::Corrupt`] (from any query that meets the damage, or
//! from [`Registry::check`]).

#![deny(missing_docs)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod error;
mod hexfmt;
mod lease;
mod lifecycle;
mod open;
mod owner;
mod recover;
mod registry;
mod schema;
mod time;
mod transfer;
mod work;

pub use error::{Error, Result};
pub use lease::Lease;
pub use open::{DEFAULT_BUSY_TIMEOUT, DEFAULT_STALE_AFTER, OpenOptions};
pub use recover::{RecoveryFailure, RecoveryReport};
pub use registry::Registry;
pub use transfer::{EXPORT_FORMAT, ImportReport, MAX_IMPORT_STRING, MAX_MANIFEST_BYTES};
pub use work::{NewWork, Staged, Work};
