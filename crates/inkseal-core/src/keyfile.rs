//! Watermark key files: loading the key a user names, and making new ones.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use inkseal_io::atomic::{self, Options, Replace};
use inkseal_mark::Key;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use crate::{Error, Result};

/// Key files are a few lines; anything much larger is the wrong file.
pub const MAX_KEY_FILE: u64 = 64 * 1024;

/// A key read from a file.
#[derive(Debug)]
pub struct LoadedKey {
    /// The key.
    pub key: Key,
    /// The file's permission bits when other users can read it (the caller should warn).
    pub readable_by_others: Option<u32>,
}

/// The key in `path`, or the public key when there is none.
pub fn load(path: Option<&Path>) -> Result<LoadedKey> {
    let Some(path) = path else {
        return Ok(LoadedKey {
            key: Key::public(),
            readable_by_others: None,
        });
    };
    let bad = |detail: String| Error::KeyFile {
        path: path.to_path_buf(),
        detail,
    };
    // A named pipe or a device is refused without blocking on it.
    let file = inkseal_io::read::open(path).map_err(|e| bad(e.to_string()))?;
    let meta = file.metadata().map_err(|e| bad(e.to_string()))?;
    if meta.len() > MAX_KEY_FILE {
        return Err(bad("not a key file (too large)".into()));
    }
    let mut text = String::new();
    file.take(MAX_KEY_FILE)
        .read_to_string(&mut text)
        .map_err(|e| bad(format!("not a key file: {e}")))?;
    let key = Key::from_text(&text).map_err(|e| bad(e.to_string()))?;
    let mode = meta.permissions().mode();
    Ok(LoadedKey {
        key,
        readable_by_others: (mode & 0o077 != 0).then_some(mode & 0o777),
    })
}

/// Makes a new random key and writes it to `path` (mode 0600, atomically; an existing file is
/// replaced only with `replace`).
pub fn create(path: &Path, replace: Replace) -> Result<Key> {
    let mut rng = ChaCha20Rng::try_from_os_rng().map_err(|e| {
        Error::file(
            "cannot get randomness from the operating system",
            std::io::Error::other(e.to_string()),
        )
    })?;
    let key = Key::generate(&mut rng);
    atomic::write(path, key.to_text().as_bytes(), &Options::private(replace))?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn a_created_key_loads_back_and_is_private()
    -> std::result::Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("studio.key");
        let key = create(&path, Replace::No)?;
        let loaded = load(Some(&path))?;
        assert_eq!(loaded.key.id(), key.id());
        assert_eq!(loaded.readable_by_others, None);
        assert!(create(&path, Replace::No).is_err());
        assert_eq!(load(Some(&path))?.key.id(), key.id());
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644))?;
        assert_eq!(load(Some(&path))?.readable_by_others, Some(0o644));
        fs::write(&path, "not a key")?;
        let err = load(Some(&path)).err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.starts_with(&format!("key file {}", path.display()))));
        Ok(())
    }
}
