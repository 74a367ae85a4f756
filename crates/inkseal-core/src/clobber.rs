//! Refusing an output file that would replace a file the command reads: the registry, an
//! input, the key file, the resume state.
//!
//! Paths are compared canonicalised, and by device and inode where both exist, so a
//! symbolic or hard link to the registry is caught as well as its own name.

use std::path::{Path, PathBuf};

use crate::atomic;
use crate::{Error, Result};

/// A file the command reads, and what it is (for the error message: "the registry",
/// "the key file", ...).
#[derive(Clone, Copy, Debug)]
pub struct ReadFile<'a> {
    /// What the file is, as the error message names it.
    pub what: &'a str,
    /// Where it is.
    pub path: &'a Path,
}

impl<'a> ReadFile<'a> {
    /// `path`, described as `what`.
    pub fn new(what: &'a str, path: &'a Path) -> ReadFile<'a> {
        ReadFile { what, path }
    }
}

/// Fails with [`Error::WouldReplace`] when `output` is (under any name) one of `reads`.
pub fn check_output(output: &Path, reads: &[ReadFile<'_>]) -> Result<()> {
    match reads.iter().find(|r| atomic::is_same_file(r.path, output)) {
        Some(r) => Err(Error::WouldReplace {
            output: output.to_path_buf(),
            what: r.what.to_string(),
            path: r.path.to_path_buf(),
        }),
        None => Ok(()),
    }
}

/// The registry file and the files SQLite keeps next to it (write-ahead log, shared memory,
/// rollback journal): replacing any of them loses or corrupts the registry.
pub fn registry_files(registry: &Path) -> Vec<PathBuf> {
    let mut files = vec![registry.to_path_buf()];
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut name = registry.as_os_str().to_os_string();
        name.push(suffix);
        files.push(PathBuf::from(name));
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_the_registry_under_any_name_and_allows_other_files()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let registry = dir.path().join("registry.sqlite");
        std::fs::write(&registry, b"SQLite format 3\0")?;
        let hard = dir.path().join("hard.json");
        std::fs::hard_link(&registry, &hard)?;
        let soft = dir.path().join("soft.json");
        std::os::unix::fs::symlink(&registry, &soft)?;
        let files = registry_files(&registry);
        let reads: Vec<ReadFile<'_>> = files
            .iter()
            .map(|p| ReadFile::new("the registry", p))
            .collect();
        let wal = dir.path().join("registry.sqlite-wal");
        for out in [&registry, &hard, &soft, &wal] {
            match check_output(out, &reads) {
                Err(e @ Error::WouldReplace { .. }) => {
                    assert!(e.to_string().contains("the registry"), "{e}")
                }
                other => return Err(format!("{}: {other:?}", out.display()).into()),
            }
        }
        assert!(check_output(&dir.path().join("export.json"), &reads).is_ok());
        Ok(())
    }
}
