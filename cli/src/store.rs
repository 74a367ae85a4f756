//! Where the registry and the signing credentials live, and opening them.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use inkseal_c2pa::{CA_CERT_FILE, Credentials, SIGNER_CERT_FILE, SIGNER_KEY_FILE, Signer};
use inkseal_registry::Registry;

use crate::opts::StoreOpts;
use crate::output;

/// The registry file: `--registry` or the default in the user's data directory.
pub fn registry_path(store: &StoreOpts) -> Result<PathBuf> {
    match &store.registry {
        Some(p) => Ok(p.clone()),
        None => Registry::default_path().context("cannot find a data directory for the registry"),
    }
}

/// Opens (creating if needed) the registry, and finishes or removes what an interrupted
/// `mark` left behind.
pub fn open_registry(store: &StoreOpts) -> Result<Registry> {
    let path = registry_path(store)?;
    let mut registry = inkseal_registry::OpenOptions::new()
        .busy_timeout(std::time::Duration::from_secs_f64(store.lock_timeout))
        .open(&path)
        .with_context(|| format!("registry {}", path.display()))?;
    let report = registry
        .recover()
        .with_context(|| format!("registry {}", path.display()))?;
    for id in &report.completed {
        output::note(format!(
            "registry: finished work {id:016x}, whose mark was interrupted after its file was written"
        ));
    }
    for id in &report.removed {
        output::note(format!(
            "registry: removed work {id:016x}, whose mark was interrupted before its file was written"
        ));
    }
    for f in &report.failed {
        output::warning(format!(
            "registry: cannot clean up work {:016x} ({}): {}",
            f.id,
            f.path.display(),
            f.error
        ));
    }
    Ok(registry)
}

/// Opens the registry only if it exists (read-only commands never create one).
pub fn open_existing_registry(store: &StoreOpts) -> Result<Option<Registry>> {
    let path = registry_path(store)?;
    if !path.exists() {
        return Ok(None);
    }
    open_registry(store).map(Some)
}

/// The folder of the local credentials: `--credentials`/`--dir` or the default.
pub fn credentials_dir(dir: Option<&Path>) -> Result<PathBuf> {
    match dir {
        Some(d) => Ok(d.to_path_buf()),
        None => directories::ProjectDirs::from("org", "inkseal", "inkseal")
            .map(|p| p.data_dir().join("credentials"))
            .context("cannot find a data directory for the credentials"),
    }
}

/// The signer for `mark`: the artist's own certificate and key when given, else the local
/// credentials, made on first use (named after the artist).
pub fn signer(
    cert: Option<&Path>,
    key: Option<&Path>,
    dir: Option<&Path>,
    name: &str,
) -> Result<Signer> {
    if let (Some(cert), Some(key)) = (cert, key) {
        return Signer::from_files(cert, key).with_context(|| {
            format!(
                "signing credentials {} and {}",
                cert.display(),
                key.display()
            )
        });
    }
    let dir = credentials_dir(dir)?;
    let (cert, key) = (dir.join(SIGNER_CERT_FILE), dir.join(SIGNER_KEY_FILE));
    // Several first `mark`s may run at once: whoever holds the lock on the folder makes the
    // credentials, and the others wait for it and then use them. (Taken only while the files
    // are missing; the lock is released when `_lock` is dropped.)
    let _lock = if cert.exists() && key.exists() {
        None
    } else {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let folder =
            std::fs::File::open(&dir).with_context(|| format!("cannot open {}", dir.display()))?;
        folder
            .lock()
            .with_context(|| format!("cannot lock {}", dir.display()))?;
        Some(folder)
    };
    if !cert.exists() && !key.exists() {
        Credentials::generate(name)?
            .write_to_dir(&dir, false)
            .with_context(|| format!("cannot write credentials to {}", dir.display()))?;
        output::note(format!(
            "created local signing credentials for \"{name}\" in {} (CA: {}). They are trusted by \
             nobody else: others will see your Content Credentials as Valid, not Trusted, until a \
             recognised CA issues your certificate (use --cert/--signing-key then)",
            dir.display(),
            dir.join(CA_CERT_FILE).display()
        ));
    }
    Signer::from_files(&cert, &key)
        .with_context(|| format!("signing credentials in {}", dir.display()))
}

/// Trust anchors for `verify`: `--trust`, else the local CA if there is one.
pub fn trust_anchors(trust: Option<&Path>, dir: Option<&Path>) -> Result<Option<String>> {
    if let Some(path) = trust {
        return std::fs::read_to_string(path)
            .map(Some)
            .with_context(|| format!("cannot read the trust anchors {}", path.display()));
    }
    let Ok(dir) = credentials_dir(dir) else {
        return Ok(None);
    };
    let ca = dir.join(CA_CERT_FILE);
    match std::fs::read_to_string(&ca) {
        Ok(pem) => Ok(Some(pem)),
        Err(_) => Ok(None),
    }
}
