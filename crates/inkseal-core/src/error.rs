//! The crate's error type.
//!
//! Every message is complete on its own (the cause is part of the text, not a separate
//! `source`), so a shell can print `to_string()` as it is: the CLI on stderr, the Python
//! module in an exception.

use std::path::PathBuf;

/// What can go wrong in a workflow.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Writing a file, or decoding or encoding an image.
    #[error(transparent)]
    Io(#[from] inkseal_io::Error),
    /// Another file-system operation failed.
    #[error("{what}: {error}")]
    File {
        /// What was being done, naming the path.
        what: String,
        /// The cause.
        error: std::io::Error,
    },
    /// An error about one input file (named first).
    #[error("{}: {error}", path.display())]
    Input {
        /// The input.
        path: PathBuf,
        /// What went wrong with it.
        error: Box<Error>,
    },
    /// The watermark engine refused the image or the settings.
    #[error(transparent)]
    Mark(#[from] inkseal_mark::Error),
    /// The image is too small to carry a mark.
    #[error(
        "image too small to mark: {width}x{height} pixels; the short side must be at least {min}"
    )]
    TooSmall {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// The smallest short side that can be marked.
        min: u32,
    },
    /// The embedder refused the image.
    #[error("cannot mark the image: {0}")]
    CannotMark(inkseal_mark::Error),
    /// A registry operation failed.
    #[error("{what}: {error}")]
    Registry {
        /// What was being done (`registry PATH`, `cannot allocate a work ID`, ...).
        what: String,
        /// The cause.
        error: inkseal_registry::Error,
    },
    /// A Content Credentials operation failed.
    #[error("{what}: {error}")]
    Credentials {
        /// What was being done.
        what: String,
        /// The cause.
        error: inkseal_c2pa::Error,
    },
    /// A scan failed as a whole.
    #[error(transparent)]
    Scan(#[from] inkseal_scan::Error),
    /// The scan's resume state cannot be used.
    #[error("state file {}: {detail}", path.display())]
    ScanState {
        /// The state file.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// A key file cannot be used.
    #[error("key file {}: {detail}", path.display())]
    KeyFile {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// The output would replace the input.
    #[error(
        "refusing to overwrite the input {}: the marked copy must go to another file (-o)",
        .0.display()
    )]
    WouldOverwriteInput(PathBuf),
    /// The output file exists (or appeared while the work was being marked, for example
    /// another `mark` to the same path) and was not written by this mark: it is never
    /// replaced.
    #[error(
        "{} already exists and was not written by this mark; it is never replaced (choose \
         another output name, or move it away first)",
        .0.display()
    )]
    OutputExists(PathBuf),
    /// An output would replace a file the command reads (the registry, an input, the key
    /// file, the resume state).
    #[error(
        "refusing to overwrite {what} {} with the output {}; name another output file",
        path.display(),
        output.display()
    )]
    WouldReplace {
        /// The output as given.
        output: PathBuf,
        /// What the file it would replace is ("the registry", ...).
        what: String,
        /// That file, as the command was given it.
        path: PathBuf,
    },
    /// A scan state file is in use by another scan.
    #[error(
        "state file {} is in use by another scan (it holds the lock); wait for it to finish \
         or name another state file",
        .0.display()
    )]
    StateInUse(PathBuf),
    /// A request that makes no sense (an empty title, an output in a format that cannot hold
    /// credentials, ...).
    #[error("{0}")]
    Invalid(String),
    /// No data directory could be found for the registry or the credentials.
    #[error("cannot find a data directory for the {0}")]
    NoDataDir(&'static str),
    /// A step failed and even undoing it failed; the next command that opens the registry
    /// finishes the clean-up.
    #[error(
        "{error} (and the pending work {id:016x} could not be removed from the registry: \
         {cleanup}; the next command that opens it will)"
    )]
    Cleanup {
        /// The first failure.
        error: Box<Error>,
        /// The pending work.
        id: u64,
        /// Why it could not be removed.
        cleanup: inkseal_registry::Error,
    },
}

impl Error {
    /// [`Error::File`].
    pub(crate) fn file(what: impl Into<String>, error: std::io::Error) -> Error {
        Error::File {
            what: what.into(),
            error,
        }
    }

    /// [`Error::Registry`].
    pub(crate) fn registry(what: impl Into<String>, error: inkseal_registry::Error) -> Error {
        Error::Registry {
            what: what.into(),
            error,
        }
    }

    /// [`Error::Credentials`].
    pub(crate) fn credentials(what: impl Into<String>, error: inkseal_c2pa::Error) -> Error {
        Error::Credentials {
            what: what.into(),
            error,
        }
    }

    /// This error, about the input `path`.
    pub fn about(self, path: impl Into<PathBuf>) -> Error {
        Error::Input {
            path: path.into(),
            error: Box::new(self),
        }
    }

    /// Whether the root cause is an I/O error of this kind (a closed pipe, a missing file).
    pub fn is_io_kind(&self, kind: std::io::ErrorKind) -> bool {
        match self {
            Error::Io(e) => e.is_io_kind(kind),
            Error::File { error, .. } => error.kind() == kind,
            Error::Input { error, .. } | Error::Cleanup { error, .. } => error.is_io_kind(kind),
            _ => false,
        }
    }
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
