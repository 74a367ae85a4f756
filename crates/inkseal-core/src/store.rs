//! Where the registry and the signing credentials live, and opening them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use inkseal_c2pa::{
    CA_CERT_FILE, CredentialPaths, Credentials, SIGNER_CERT_FILE, SIGNER_KEY_FILE, Signer,
};
use inkseal_registry::{RecoveryReport, Registry};

use crate::{Error, Result, clobber};

/// The largest trust-anchor file read (4 MiB of PEM: thousands of CA certificates).
pub const MAX_TRUST_ANCHORS: u64 = 4 << 20;

/// The artist's or investigator's data: the registry file and the credentials folder, each
/// at an explicit path or in the user's data directory.
#[derive(Clone, Debug)]
pub struct Store {
    registry: Option<PathBuf>,
    credentials: Option<PathBuf>,
    lock_timeout: Duration,
}

impl Default for Store {
    fn default() -> Self {
        Store {
            registry: None,
            credentials: None,
            lock_timeout: inkseal_registry::DEFAULT_BUSY_TIMEOUT,
        }
    }
}

/// A registry opened by [`Store::open_registry`], with what its recovery did.
#[derive(Debug)]
pub struct Opened {
    /// The registry.
    pub registry: Registry,
    /// What recovery finished or removed (interrupted `mark`s), for the user to hear about.
    pub recovery: RecoveryReport,
}

/// A signer chosen by [`Store::signer`].
#[derive(Debug)]
pub struct ChosenSigner {
    /// The signer.
    pub signer: Signer,
    /// Set when local credentials were made for this call: their folder.
    pub created_in: Option<PathBuf>,
}

impl Store {
    /// The defaults: both in the user's data directory.
    pub fn new() -> Store {
        Store::default()
    }

    /// Uses the registry at `path`.
    pub fn with_registry(mut self, path: Option<PathBuf>) -> Store {
        self.registry = path;
        self
    }

    /// Uses the credentials folder `dir`.
    pub fn with_credentials(mut self, dir: Option<PathBuf>) -> Store {
        self.credentials = dir;
        self
    }

    /// How long to wait for a registry another process holds.
    pub fn with_lock_timeout(mut self, timeout: Duration) -> Store {
        self.lock_timeout = timeout;
        self
    }

    /// The registry file.
    pub fn registry_path(&self) -> Result<PathBuf> {
        match &self.registry {
            Some(p) => Ok(p.clone()),
            None => Registry::default_path().map_err(|_| Error::NoDataDir("registry")),
        }
    }

    /// Fails with [`Error::WouldReplace`] when `output` is the registry (under any name, or
    /// one of the files SQLite keeps next to it) or one of the other files in `reads`.
    pub fn check_output(&self, output: &Path, reads: &[clobber::ReadFile<'_>]) -> Result<()> {
        let registry = clobber::registry_files(&self.registry_path()?);
        let mut all: Vec<clobber::ReadFile<'_>> = registry
            .iter()
            .map(|p| clobber::ReadFile::new("the registry", p))
            .collect();
        all.extend_from_slice(reads);
        clobber::check_output(output, &all)
    }

    /// Opens (creating if needed) the registry, and finishes or removes what interrupted
    /// `mark`s left behind.
    pub fn open_registry(&self) -> Result<Opened> {
        let path = self.registry_path()?;
        let what = || format!("registry {}", path.display());
        let mut registry = inkseal_registry::OpenOptions::new()
            .busy_timeout(self.lock_timeout)
            .open(&path)
            .map_err(|e| Error::registry(what(), e))?;
        let recovery = registry.recover().map_err(|e| Error::registry(what(), e))?;
        Ok(Opened { registry, recovery })
    }

    /// Opens the registry only if it exists (read-only commands never create one).
    pub fn open_existing_registry(&self) -> Result<Option<Opened>> {
        if !self.registry_path()?.exists() {
            return Ok(None);
        }
        self.open_registry().map(Some)
    }

    /// The folder of the local credentials.
    pub fn credentials_dir(&self) -> Result<PathBuf> {
        match &self.credentials {
            Some(d) => Ok(d.clone()),
            None => directories::ProjectDirs::from("org", "inkseal", "inkseal")
                .map(|p| p.data_dir().join("credentials"))
                .ok_or(Error::NoDataDir("credentials")),
        }
    }

    /// Makes a new local CA and signer named `name` in the credentials folder.
    pub fn new_credentials(
        &self,
        name: &str,
        overwrite: bool,
    ) -> Result<(PathBuf, CredentialPaths)> {
        let dir = self.credentials_dir()?;
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::file(format!("cannot create {}", dir.display()), e))?;
        let paths = Credentials::generate(name)
            .and_then(|c| c.write_to_dir(&dir, overwrite))
            .map_err(|e| Error::credentials(format!("credentials in {}", dir.display()), e))?;
        Ok((dir, paths))
    }

    /// The signer for marking: the artist's own certificate and key when given, else the
    /// local credentials, made on first use (named after the artist).
    pub fn signer(&self, own: Option<(&Path, &Path)>, name: &str) -> Result<ChosenSigner> {
        if let Some((cert, key)) = own {
            let signer = Signer::from_files(cert, key).map_err(|e| {
                Error::credentials(
                    format!(
                        "signing credentials {} and {}",
                        cert.display(),
                        key.display()
                    ),
                    e,
                )
            })?;
            return Ok(ChosenSigner {
                signer,
                created_in: None,
            });
        }
        let dir = self.credentials_dir()?;
        let (cert, key) = (dir.join(SIGNER_CERT_FILE), dir.join(SIGNER_KEY_FILE));
        // Several first marks may run at once: whoever holds the lock on the folder makes the
        // credentials, and the others wait for it and then use them. (Taken only while the
        // files are missing; the lock is released when `_lock` is dropped.)
        let _lock = if cert.exists() && key.exists() {
            None
        } else {
            std::fs::create_dir_all(&dir)
                .map_err(|e| Error::file(format!("cannot create {}", dir.display()), e))?;
            let folder = std::fs::File::open(&dir)
                .map_err(|e| Error::file(format!("cannot open {}", dir.display()), e))?;
            folder
                .lock()
                .map_err(|e| Error::file(format!("cannot lock {}", dir.display()), e))?;
            Some(folder)
        };
        let mut created_in = None;
        if !cert.exists() && !key.exists() {
            Credentials::generate(name)
                .and_then(|c| c.write_to_dir(&dir, false))
                .map_err(|e| {
                    Error::credentials(format!("cannot write credentials to {}", dir.display()), e)
                })?;
            created_in = Some(dir.clone());
        }
        let signer = Signer::from_files(&cert, &key).map_err(|e| {
            Error::credentials(format!("signing credentials in {}", dir.display()), e)
        })?;
        Ok(ChosenSigner { signer, created_in })
    }

    /// Trust anchors for verification: the PEM file `trust`, else the local CA if there is
    /// one.
    pub fn trust_anchors(&self, trust: Option<&Path>) -> Result<Option<String>> {
        if let Some(path) = trust {
            return inkseal_io::read::to_string(path, MAX_TRUST_ANCHORS)
                .map(Some)
                .map_err(|e| {
                    Error::file(
                        format!("cannot read the trust anchors {}", path.display()),
                        e,
                    )
                });
        }
        let Ok(dir) = self.credentials_dir() else {
            return Ok(None);
        };
        Ok(inkseal_io::read::to_string(&dir.join(CA_CERT_FILE), MAX_TRUST_ANCHORS).ok())
    }

    /// The CA certificate of the local credentials.
    pub fn local_ca(&self) -> Result<PathBuf> {
        Ok(self.credentials_dir()?.join(CA_CERT_FILE))
    }
}
