//! The one atomic-write helper: temporary file in the destination's directory, fsync of the
//! file, rename into place, fsync of the directory.
//!
//! [`write`] and [`write_with`] do it in one call; [`AtomicFile`] splits it in two for
//! protocols that must record the temporary file before it is renamed (`mark` stages the
//! finished file in the registry between [`AtomicFile::sync`] and [`AtomicFile::commit`]).
//! Until it is committed, dropping an [`AtomicFile`] removes its temporary file: on any error
//! the destination is untouched and nothing is left behind.

use std::fs::{self, File, Permissions};
use std::io::Write as _;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Whether an existing file at the destination may be replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replace {
    /// Replace it (atomically).
    Yes,
    /// Fail with [`Error::AlreadyExists`] if it exists, even if it appears while we write.
    No,
}

/// How the file is created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// Permission bits of the new file (narrowed by the umask unless `exact_mode`).
    pub mode: u32,
    /// Set exactly `mode`, whatever the umask, before anything is written.
    pub exact_mode: bool,
    /// Whether an existing destination may be replaced.
    pub replace: Replace,
}

impl Options {
    /// A file like any other: mode 0666 less the umask.
    pub fn new(replace: Replace) -> Options {
        Options {
            mode: 0o666,
            exact_mode: false,
            replace,
        }
    }

    /// A private file: exactly mode 0600 (keys, credentials).
    pub fn private(replace: Replace) -> Options {
        Options {
            mode: 0o600,
            exact_mode: true,
            replace,
        }
    }

    /// Sets the permission bits.
    pub fn with_mode(mut self, mode: u32, exact: bool) -> Options {
        self.mode = mode;
        self.exact_mode = exact;
        self
    }

    /// A replaced file keeps its permissions; a new one gets 0666 less the umask.
    pub fn keeping_mode_of(path: &Path, replace: Replace) -> Options {
        match existing_mode(path) {
            Some(mode) => Options::new(replace).with_mode(mode, true),
            None => Options::new(replace),
        }
    }
}

/// A file being written atomically. See the [module documentation](self).
#[derive(Debug)]
pub struct AtomicFile {
    file: File,
    temp: PathBuf,
    dest: PathBuf,
    replace: Replace,
    committed: bool,
}

impl AtomicFile {
    /// Creates a temporary file named `.inkseal-*.tmp` (see [`is_temporary_name`]) next to
    /// `dest`.
    pub fn create(dest: &Path, options: &Options) -> Result<AtomicFile> {
        let dir = parent_dir(dest);
        let tmp = tempfile::Builder::new()
            .prefix(".inkseal-")
            .suffix(".tmp")
            .permissions(Permissions::from_mode(options.mode))
            .tempfile_in(&dir)
            .map_err(|e| Error::io("cannot create a file in", &dir, e))?;
        let (file, path) = tmp.into_parts();
        let temp = path
            .keep()
            .map_err(|e| Error::io("cannot create a file in", &dir, e.error))?;
        AtomicFile::finish_create(file, temp, dest, options)
    }

    /// Creates the temporary file `temp` (which must not exist; it must be in `dest`'s
    /// directory for the rename to be atomic), for callers whose protocol names it.
    pub fn create_named(dest: &Path, temp: &Path, options: &Options) -> Result<AtomicFile> {
        use std::os::unix::fs::OpenOptionsExt as _;
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(options.mode)
            .open(temp)
            .map_err(|e| Error::io("cannot create", temp, e))?;
        AtomicFile::finish_create(file, temp.to_path_buf(), dest, options)
    }

    fn finish_create(
        file: File,
        temp: PathBuf,
        dest: &Path,
        options: &Options,
    ) -> Result<AtomicFile> {
        let atomic = AtomicFile {
            file,
            temp,
            dest: dest.to_path_buf(),
            replace: options.replace,
            committed: false,
        };
        if options.exact_mode {
            atomic
                .file
                .set_permissions(Permissions::from_mode(options.mode))
                .map_err(|e| Error::io("cannot set the permissions of", &atomic.temp, e))?;
        }
        Ok(atomic)
    }

    /// The temporary file, to write to.
    pub fn file(&mut self) -> &mut File {
        &mut self.file
    }

    /// The temporary file's path.
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// The destination.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Forces what was written to disk (the file stays temporary).
    pub fn sync(&mut self) -> Result<()> {
        self.file
            .flush()
            .and_then(|()| self.file.sync_all())
            .map_err(|e| Error::io("cannot flush to disk", &self.temp, e))
    }

    /// Syncs the file, renames it over the destination (or, with [`Replace::No`], links it
    /// there, failing if the destination exists) and syncs the directory. On error the
    /// temporary file is removed and the destination is as it was.
    pub fn commit(mut self) -> Result<()> {
        self.sync()?;
        match self.replace {
            Replace::Yes => fs::rename(&self.temp, &self.dest)
                .map_err(|e| Error::io("cannot write", &self.dest, e))?,
            Replace::No => match fs::hard_link(&self.temp, &self.dest) {
                Ok(()) => {
                    // The destination is in place; the second name only costs a stray file.
                    let _ = fs::remove_file(&self.temp);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    return Err(Error::AlreadyExists(self.dest.clone()));
                }
                Err(e) => return Err(Error::io("cannot write", &self.dest, e)),
            },
        }
        self.committed = true;
        sync_dir(&parent_dir(&self.dest))
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// Writes `bytes` to `path` atomically.
pub fn write(path: &Path, bytes: &[u8], options: &Options) -> Result<()> {
    let mut file = AtomicFile::create(path, options)?;
    let temp = file.temp_path().to_path_buf();
    file.file()
        .write_all(bytes)
        .map_err(|e| Error::io("cannot write", temp, e))?;
    file.commit()
}

/// Writes `path` atomically with `fill`, which gets the temporary file and its path (so that
/// a process that may be killed can name it for later clean-up). If `fill` fails, nothing
/// is renamed and its error is returned.
pub fn write_with<T, E: From<Error>>(
    path: &Path,
    options: &Options,
    fill: impl FnOnce(&mut File, &Path) -> std::result::Result<T, E>,
) -> std::result::Result<T, E> {
    let mut file = AtomicFile::create(path, options)?;
    let temp = file.temp_path().to_path_buf();
    let value = fill(file.file(), &temp)?;
    file.commit()?;
    Ok(value)
}

/// Makes renames and new names in `dir` durable. Filesystems that cannot sync a directory
/// (`EINVAL`) are not an error.
pub fn sync_dir(dir: &Path) -> Result<()> {
    let d = File::open(dir).map_err(|e| Error::io("cannot open", dir, e))?;
    match d.sync_all() {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => Ok(()),
        Err(e) => Err(Error::io("cannot flush to disk", dir, e)),
    }
}

/// Whether `path` has the name of one of [`AtomicFile::create`]'s temporary files.
pub fn is_temporary_name(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with(".inkseal-") && n.ends_with(".tmp"))
}

/// The directory a path's file lives in (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> PathBuf {
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

    type TestResult = std::result::Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn writes_replace_or_refuse_and_leave_no_debris() -> TestResult {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("f.txt");
        write(&path, b"one", &Options::new(Replace::No))?;
        assert_eq!(fs::read(&path)?, b"one");
        let refused = write(&path, b"x", &Options::new(Replace::No));
        assert!(matches!(refused, Err(Error::AlreadyExists(p)) if p == path));
        assert_eq!(fs::read(&path)?, b"one");
        let failed: std::result::Result<(), Error> =
            write_with(&path, &Options::new(Replace::Yes), |f, _| {
                f.write_all(b"half").map_err(|e| Error::io("w", "x", e))?;
                Err(Error::Write("boom".into()))
            });
        assert!(failed.is_err());
        assert_eq!(fs::read(&path)?, b"one");
        write(&path, b"two", &Options::private(Replace::Yes))?;
        assert_eq!(fs::read(&path)?, b"two");
        assert_eq!(existing_mode(&path), Some(0o600));
        // A replaced file keeps its mode.
        write(
            &path,
            b"three",
            &Options::keeping_mode_of(&path, Replace::Yes),
        )?;
        assert_eq!(existing_mode(&path), Some(0o600));
        assert_eq!(fs::read_dir(dir.path())?.count(), 1);
        Ok(())
    }

    #[test]
    fn a_named_temporary_file_is_removed_unless_committed() -> TestResult {
        let dir = tempfile::tempdir()?;
        let dest = dir.path().join("out.png");
        let temp = dir.path().join(".out.png.00000000000000ff.tmp");
        let mut file = AtomicFile::create_named(&dest, &temp, &Options::new(Replace::No))?;
        file.file().write_all(b"pixels")?;
        file.sync()?;
        assert_eq!(fs::read(&temp)?, b"pixels");
        drop(file);
        assert!(!temp.exists() && !dest.exists());

        // An existing temporary name is never taken over.
        fs::write(&temp, b"someone else's")?;
        assert!(AtomicFile::create_named(&dest, &temp, &Options::new(Replace::No)).is_err());
        assert_eq!(fs::read(&temp)?, b"someone else's");
        fs::remove_file(&temp)?;

        let mut file = AtomicFile::create_named(&dest, &temp, &Options::new(Replace::No))?;
        file.file().write_all(b"pixels")?;
        file.commit()?;
        assert_eq!(fs::read(&dest)?, b"pixels");
        assert!(!temp.exists());
        Ok(())
    }

    #[test]
    fn no_replace_holds_even_if_the_file_appears_while_writing() -> TestResult {
        let dir = tempfile::tempdir()?;
        let dest = dir.path().join("late.txt");
        let mut file = AtomicFile::create(&dest, &Options::new(Replace::No))?;
        file.file().write_all(b"ours")?;
        fs::write(&dest, b"theirs")?;
        assert!(matches!(file.commit(), Err(Error::AlreadyExists(_))));
        assert_eq!(fs::read(&dest)?, b"theirs");
        assert_eq!(fs::read_dir(dir.path())?.count(), 1);
        Ok(())
    }

    #[test]
    fn same_file_sees_through_dots_and_links() -> TestResult {
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
