//! Atomic file writes, through the workspace's one helper ([`inkseal_io::atomic`]): a
//! temporary file in the destination directory, synced, renamed, and the directory synced.

use std::path::Path;

use inkseal_io::atomic::{self, Options, Replace};

use crate::{Error, Result};

/// Writes `bytes` to `path` atomically. With `overwrite == false` an existing `path` is an
/// [`Error::AlreadyExists`] (checked at rename time, so a file that appears meanwhile is not
/// clobbered). `private` files get exactly mode 0600, others 0644.
pub(crate) fn write_atomic(
    path: &Path,
    bytes: &[u8],
    overwrite: bool,
    private: bool,
) -> Result<()> {
    let replace = if overwrite { Replace::Yes } else { Replace::No };
    let options = if private {
        Options::private(replace)
    } else {
        Options::new(replace).with_mode(0o644, true)
    };
    atomic::write(path, bytes, &options).map_err(|e| match e {
        inkseal_io::Error::AlreadyExists(p) => Error::AlreadyExists(p),
        inkseal_io::Error::Io { path, error, .. } => Error::io(path, error),
        other => Error::io(path, std::io::Error::other(other.to_string())),
    })
}
