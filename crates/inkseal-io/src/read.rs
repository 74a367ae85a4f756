//! The one way to open a file that came from outside for reading: regular files only, never
//! blocking, and whole-file reads capped before anything is allocated.
//!
//! A named pipe (FIFO) opened for reading blocks until something writes to it, and a device
//! can stream forever, so a scan that met one in a dataset folder, or a command given one as
//! `--key`, would hang. [`open`] looks at the file type before opening (so a device is never
//! opened), opens with `O_NONBLOCK` (so a pipe swapped in meanwhile cannot block the open)
//! and checks the type again on the open file. Anything but a regular file is an
//! [`InvalidInput`](std::io::ErrorKind::InvalidInput) error that names what it is.
//!
//! [`to_vec`] and [`to_string`] read a whole file only when its size is within a limit the
//! caller names, and never read past that limit even if the file grows meanwhile; a larger
//! file is a [`FileTooLarge`](std::io::ErrorKind::FileTooLarge) error, before any buffer is
//! allocated for it.
//!
//! ```
//! use inkseal_io::read;
//!
//! let dir = tempfile::tempdir()?;
//! let notes = dir.path().join("notes.txt");
//! std::fs::write(&notes, "twelve bytes")?;
//! assert_eq!(read::to_string(&notes, 64)?, "twelve bytes");
//! let err = read::to_vec(&notes, 4).err().ok_or("refused")?;
//! assert_eq!(err.to_string(), "the file is 12 bytes; the limit is 4 bytes");
//! let err = read::open(dir.path()).err().ok_or("refused")?;
//! assert_eq!(err.to_string(), "not a regular file (a folder)");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::path::Path;

/// Opens `path` for reading if it is a regular file (symbolic links are followed), without
/// ever blocking on a named pipe or opening a device.
pub fn open(path: &Path) -> io::Result<File> {
    open_with(path, OpenOptions::new().read(true))
}

/// Opens `path` with `options` (for a file that is also written, such as a scan's resume
/// state) under the same rules as [`open`]. A missing file is left to `options`: created, or
/// not found.
pub fn open_with(path: &Path, options: &mut OpenOptions) -> io::Result<File> {
    // The common case is refused without opening anything.
    match std::fs::metadata(path) {
        Ok(meta) => check_regular(&meta)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        // O_NONBLOCK: a pipe put in the file's place since the check cannot block the open
        // (reads from a regular file ignore the flag). O_NOCTTY: a terminal never becomes
        // the controlling one.
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let file = options.open(path)?;
    check_regular(&file.metadata()?)?;
    Ok(file)
}

/// Ok for a regular file; otherwise an [`InvalidInput`](io::ErrorKind::InvalidInput) error
/// naming what the file is ("not a regular file (a named pipe)").
pub fn check_regular(meta: &Metadata) -> io::Result<()> {
    let kind = meta.file_type();
    if kind.is_file() {
        return Ok(());
    }
    let what = if kind.is_dir() {
        "a folder"
    } else {
        special_kind(&kind)
    };
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("not a regular file ({what})"),
    ))
}

#[cfg(unix)]
fn special_kind(kind: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    if kind.is_fifo() {
        "a named pipe"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_block_device() || kind.is_char_device() {
        "a device"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn special_kind(_: &std::fs::FileType) -> &'static str {
    "a special file"
}

/// The whole of the regular file `path`, refused with a
/// [`FileTooLarge`](io::ErrorKind::FileTooLarge) error before reading when it is larger than
/// `max` bytes.
pub fn to_vec(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    let file = open(path)?;
    let size = file.metadata()?.len();
    if size > max {
        return Err(too_large(size, max));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    // The size was checked, but the file may grow: never read more than `max + 1`.
    file.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(too_large(bytes.len() as u64, max));
    }
    Ok(bytes)
}

/// [`to_vec`] as UTF-8 text ([`InvalidData`](io::ErrorKind::InvalidData) if it is not).
pub fn to_string(path: &Path, max: u64) -> io::Result<String> {
    String::from_utf8(to_vec(path, max)?).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "the file is not UTF-8 text".to_string(),
        )
    })
}

/// The error for a file of `size` bytes over the limit `max`.
pub fn too_large(size: u64, max: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::FileTooLarge,
        format!("the file is {size} bytes; the limit is {max} bytes"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_pipe_is_refused_without_blocking() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let fifo = dir.path().join("key.fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status()?;
        assert!(made.success());
        // Nobody writes to it: a blocking open would never return.
        let err = open(&fifo).err().map(|e| (e.kind(), e.to_string()));
        assert_eq!(
            err,
            Some((
                io::ErrorKind::InvalidInput,
                "not a regular file (a named pipe)".to_string()
            ))
        );
        assert!(to_vec(&fifo, 100).is_err());
        Ok(())
    }

    #[test]
    fn devices_are_refused() {
        let err = to_vec(Path::new("/dev/zero"), 100)
            .err()
            .map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("not a regular file (a device)"));
    }

    #[test]
    fn a_large_sparse_file_is_refused_before_reading() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("big.c2pa");
        File::create(&path)?.set_len(3 << 30)?;
        let err = to_vec(&path, 64 << 20).err();
        assert_eq!(
            err.map(|e| (e.kind(), e.to_string())),
            Some((
                io::ErrorKind::FileTooLarge,
                "the file is 3221225472 bytes; the limit is 67108864 bytes".to_string()
            ))
        );
        let small = dir.path().join("small.c2pa");
        File::create(&small)?.set_len(1000)?;
        assert_eq!(to_vec(&small, 1000)?, vec![0u8; 1000]);
        assert!(to_vec(&small, 999).is_err());
        Ok(())
    }
}
