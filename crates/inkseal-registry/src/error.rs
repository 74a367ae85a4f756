//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong with a registry.
///
/// Work IDs in messages are 16 lowercase hex digits, as everywhere else in inkseal.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Another process kept the registry locked for longer than the busy timeout
    /// (see [`OpenOptions::busy_timeout`](crate::OpenOptions::busy_timeout)).
    #[error(
        "registry {path} is locked: another process kept it busy for longer than {waited_ms} ms; \
         try again when it has finished"
    )]
    Locked {
        /// The registry file.
        path: PathBuf,
        /// How long we waited, in milliseconds.
        waited_ms: u128,
    },

    /// The file is not an inkseal registry: not an SQLite database at all, or another
    /// program's database. The file was not modified.
    #[error("{path} is not an inkseal registry: {reason} (the file was left untouched)")]
    NotARegistry {
        /// The file.
        path: PathBuf,
        /// What it is instead.
        reason: String,
    },

    /// The registry is an SQLite database that SQLite reports as damaged.
    #[error(
        "registry {path} is corrupt: {detail}; restore it from a backup or rebuild it from an \
         export"
    )]
    Corrupt {
        /// The registry file.
        path: PathBuf,
        /// What SQLite or the schema check reported.
        detail: String,
    },

    /// The registry was written by a newer inkseal with a schema this version does not know.
    #[error(
        "registry {path} has schema version {found}, newer than the {supported} this inkseal \
         understands; upgrade inkseal"
    )]
    NewerSchema {
        /// The registry file.
        path: PathBuf,
        /// The schema version in the file.
        found: i64,
        /// The newest schema version this crate knows.
        supported: i64,
    },

    /// SQLite could not switch the registry to write-ahead logging, which the crash and
    /// concurrency guarantees rely on (typically a network file system).
    #[error(
        "registry {path}: SQLite could not enable write-ahead logging (journal mode stays \
         {mode:?}); keep the registry on a local disk"
    )]
    JournalMode {
        /// The registry file.
        path: PathBuf,
        /// The journal mode SQLite reported.
        mode: String,
    },

    /// A file or directory could not be read, written or removed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },

    /// Any other SQLite failure.
    #[error("registry {path}: {source}")]
    Sqlite {
        /// The registry file.
        path: PathBuf,
        /// The underlying SQLite error.
        #[source]
        source: rusqlite::Error,
    },

    /// A document given to [`Registry::import`](crate::Registry::import) is not a valid
    /// registry export.
    #[error("not a valid inkseal registry export: {0}")]
    Format(String),

    /// No work with this ID (in the state the operation needs).
    #[error("no work {0:016x} in the registry")]
    NotFound(u64),

    /// The work is already complete, so it can no longer be staged or abandoned.
    #[error("work {0:016x} is already complete")]
    NotPending(u64),

    /// [`Registry::complete`](crate::Registry::complete) was called before
    /// [`Registry::stage`](crate::Registry::stage).
    #[error("work {0:016x} cannot be completed: nothing was staged for it")]
    NotStaged(u64),

    /// The output path is already the output of another work, pending (a `mark` under way)
    /// or complete: one file holds one work, so it is never given to a second one.
    #[error(
        "{path} is already the output of work {id:016x} ({state}) in the registry; a marked file \
         is never replaced by another work: choose another output name"
    )]
    OutputTaken {
        /// The output path, as recorded.
        path: PathBuf,
        /// The work whose output it is.
        id: u64,
        /// `pending` (being marked now) or `complete`.
        state: String,
    },

    /// An argument the registry cannot store (for example a path that is not UTF-8, or a
    /// temporary path equal to the output path).
    #[error("invalid argument: {0}")]
    InvalidInput(String),

    /// The user's data directory is unknown (no home directory), so there is no default
    /// registry path.
    #[error("no home directory to put the default registry in; choose a registry path explicitly")]
    NoDataDir,
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The path and timeout errors are reported with.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) path: PathBuf,
    pub(crate) waited_ms: u128,
}

/// Attaches the registry's path to SQLite errors and classifies them.
pub(crate) trait SqlContext<T> {
    /// Maps an SQLite error to [`Error`].
    fn ctx(self, ctx: &Ctx) -> Result<T>;
}

impl<T> SqlContext<T> for rusqlite::Result<T> {
    fn ctx(self, ctx: &Ctx) -> Result<T> {
        self.map_err(|e| classify(&ctx.path, ctx.waited_ms, e))
    }
}

/// Classifies an SQLite error on the registry at `path`.
pub(crate) fn classify(path: &std::path::Path, waited_ms: u128, e: rusqlite::Error) -> Error {
    use rusqlite::ErrorCode;
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => Error::Locked {
            path: path.to_path_buf(),
            waited_ms,
        },
        // The header was checked before SQLite saw the file, so a file SQLite now calls "not
        // a database" started out as one: it is damaged.
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => Error::Corrupt {
            path: path.to_path_buf(),
            detail: e.to_string(),
        },
        _ => Error::Sqlite {
            path: path.to_path_buf(),
            source: e,
        },
    }
}

/// Whether SQLite said the database is busy or locked.
pub(crate) fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// An I/O error on `path`.
pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source,
    }
}
