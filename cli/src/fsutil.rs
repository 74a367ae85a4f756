//! File-system safety: atomic replacement and same-file checks.

use std::fs::{self, File, Permissions};
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// Whether an existing file at the destination may be replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replace {
    /// Replace it (atomically).
    Yes,
    /// Fail if it exists, even if it appears while we write.
    No,
}

/// Writes a file all at once: `write` fills a temporary file in `path`'s directory, which is
/// synced and then renamed over `path`. Readers see the old file or the whole new one, never
/// a part; on any error the temporary file is removed and `path` is untouched.
///
/// The temporary file is created with `mode` (narrowed by the umask) and then set to exactly
/// `mode` when `exact_mode` is true, before anything is written to it.
pub fn write_atomic(
    path: &Path,
    mode: u32,
    exact_mode: bool,
    replace: Replace,
    write: impl FnOnce(&mut File) -> Result<()>,
) -> Result<()> {
    write_atomic_named(path, mode, exact_mode, replace, |file, _| write(file))
}

/// [`write_atomic`], also telling `write` the temporary file's path (so that a process that
/// may be killed can name it for later clean-up). Temporary files are named
/// `.inkseal-*.tmp`; see [`is_temporary_name`].
pub fn write_atomic_named(
    path: &Path,
    mode: u32,
    exact_mode: bool,
    replace: Replace,
    write: impl FnOnce(&mut File, &Path) -> Result<()>,
) -> Result<()> {
    let dir = parent_dir(path);
    let mut tmp = tempfile::Builder::new()
        .prefix(".inkseal-")
        .suffix(".tmp")
        .permissions(Permissions::from_mode(mode))
        .tempfile_in(&dir)
        .with_context(|| format!("cannot create a file in {}", dir.display()))?;
    if exact_mode {
        tmp.as_file()
            .set_permissions(Permissions::from_mode(mode))
            .context("cannot set the permissions of the temporary file")?;
    }
    let tmp_path = tmp.path().to_path_buf();
    write(tmp.as_file_mut(), &tmp_path)?;
    tmp.as_file()
        .sync_all()
        .context("cannot flush the output to disk")?;
    let persisted = match replace {
        Replace::Yes => tmp.persist(path),
        Replace::No => tmp.persist_noclobber(path),
    };
    if let Err(e) = persisted {
        // Dropping `e.file` removes the temporary file.
        if e.error.kind() == io::ErrorKind::AlreadyExists {
            bail!("{} already exists", path.display());
        }
        return Err(e.error).with_context(|| format!("cannot write {}", path.display()));
    }
    // Make the rename itself durable; failing here loses nothing already written.
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Whether `path` has the name of one of [`write_atomic`]'s temporary files.
pub fn is_temporary_name(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with(".inkseal-") && n.ends_with(".tmp"))
}

/// The directory a path's file lives in (`.` for a bare file name).
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Whether writing to `output` would replace the file `input`: the same path, the same path
/// after resolving symbolic links and `..`, or another name (a hard link) for the same file.
/// An `input` that cannot be resolved is left for the reader to report.
pub fn is_same_file(input: &Path, output: &Path) -> bool {
    if input == output {
        return true;
    }
    let Ok(input_real) = fs::canonicalize(input) else {
        return false;
    };
    let output_real = match fs::canonicalize(output) {
        Ok(p) => p,
        // OUT does not exist yet: resolve its directory instead.
        Err(_) => match (fs::canonicalize(parent_dir(output)), output.file_name()) {
            (Ok(dir), Some(name)) => dir.join(name),
            _ => return false,
        },
    };
    if input_real == output_real {
        return true;
    }
    match (fs::metadata(input), fs::metadata(output)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// The permission bits of an existing file, if there is one.
pub fn existing_mode(path: &Path) -> Option<u32> {
    fs::metadata(path)
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.permissions().mode() & 0o7777)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn atomic_write_replaces_or_refuses_and_leaves_no_debris() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("f.txt");
        write_atomic(&path, 0o644, false, Replace::No, |f| {
            Ok(f.write_all(b"one")?)
        })?;
        assert_eq!(fs::read(&path)?, b"one");
        assert!(
            write_atomic(&path, 0o644, false, Replace::No, |f| Ok(f.write_all(b"x")?)).is_err()
        );
        assert_eq!(fs::read(&path)?, b"one");
        assert!(write_atomic(&path, 0o644, false, Replace::Yes, |_| bail!("boom")).is_err());
        assert_eq!(fs::read(&path)?, b"one");
        write_atomic(&path, 0o600, true, Replace::Yes, |f| {
            Ok(f.write_all(b"two")?)
        })?;
        assert_eq!(fs::read(&path)?, b"two");
        assert_eq!(existing_mode(&path), Some(0o600));
        assert_eq!(fs::read_dir(dir.path())?.count(), 1);
        Ok(())
    }

    #[test]
    fn same_file_sees_through_dots_and_links() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let a = dir.path().join("a.png");
        fs::write(&a, b"x")?;
        let sub = dir.path().join("sub");
        fs::create_dir(&sub)?;
        assert!(is_same_file(&a, &a));
        assert!(is_same_file(&a, &sub.join("..").join("a.png")));
        let hard = dir.path().join("hard.png");
        fs::hard_link(&a, &hard)?;
        assert!(is_same_file(&a, &hard));
        let soft = dir.path().join("soft.png");
        std::os::unix::fs::symlink(&a, &soft)?;
        assert!(is_same_file(&a, &soft));
        assert!(!is_same_file(&a, &dir.path().join("b.png")));
        assert!(!is_same_file(&dir.path().join("missing.png"), &a));
        Ok(())
    }
}
