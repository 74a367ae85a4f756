//! Atomic file writes: a temporary file in the destination directory, synced, then renamed.

use std::io::Write;
use std::path::Path;

use crate::{Error, Result};

/// Writes `bytes` to `path` atomically. With `overwrite == false` an existing `path` is an
/// [`Error::AlreadyExists`] (checked at rename time, so a file that appears meanwhile is not
/// clobbered). `private` files get mode 0600 on Unix, others 0644.
pub(crate) fn write_atomic(
    path: &Path,
    bytes: &[u8],
    overwrite: bool,
    private: bool,
) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{file_name}."))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    set_mode(tmp.as_file(), private).map_err(|e| Error::io(tmp.path(), e))?;
    tmp.write_all(bytes).map_err(|e| Error::io(tmp.path(), e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::io(tmp.path(), e))?;
    let persisted = if overwrite {
        tmp.persist(path)
    } else {
        tmp.persist_noclobber(path)
    };
    match persisted {
        Ok(_) => Ok(()),
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
            Err(Error::AlreadyExists(path.to_path_buf()))
        }
        Err(e) => Err(Error::io(path, e.error)),
    }
}

#[cfg(unix)]
fn set_mode(file: &std::fs::File, private: bool) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = if private { 0o600 } else { 0o644 };
    file.set_permissions(std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_file: &std::fs::File, _private: bool) -> std::io::Result<()> {
    Ok(())
}
