//! Opening a registry: recognising the file, creating the schema, setting up WAL.

use std::io::Read as _;
use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::error::{Ctx, Error, Result, SqlContext as _, io, is_busy};
use crate::registry::Registry;
use crate::schema::{self, Found, SCHEMA_VERSION};

/// How long a write waits for another process's transaction by default.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How old a pending work must be before [`Registry::recover`] removes it when it cannot tell
/// whether the owning process is still running.
pub const DEFAULT_STALE_AFTER: Duration = Duration::from_secs(3600);

/// The first 16 bytes of every SQLite database file.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// Options for opening a registry; [`Registry::open`] uses the defaults.
///
/// ```
/// use std::time::Duration;
/// use inkseal_registry::OpenOptions;
///
/// let dir = tempfile::tempdir()?;
/// let registry = OpenOptions::new()
///     .busy_timeout(Duration::from_secs(30))
///     .open(dir.path().join("registry.sqlite"))?;
/// assert!(registry.list()?.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct OpenOptions {
    busy_timeout: Duration,
    stale_after: Duration,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self {
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
            stale_after: DEFAULT_STALE_AFTER,
        }
    }
}

impl OpenOptions {
    /// The defaults: [`DEFAULT_BUSY_TIMEOUT`] and [`DEFAULT_STALE_AFTER`].
    pub fn new() -> Self {
        Self::default()
    }

    /// How long an operation waits for other processes' transactions before failing with
    /// [`Error::Locked`].
    pub fn busy_timeout(&mut self, timeout: Duration) -> &mut Self {
        self.busy_timeout = timeout;
        self
    }

    /// How old a pending work must be before [`Registry::recover`] treats it as abandoned when
    /// it cannot tell whether its process still runs (another machine, container or boot, or
    /// a platform without `/proc`).
    pub fn stale_after(&mut self, age: Duration) -> &mut Self {
        self.stale_after = age;
        self
    }

    /// Opens the registry at `path`, creating it (and its parent directories) if missing.
    ///
    /// A file that is not an SQLite database, or is another program's database, is refused
    /// with [`Error::NotARegistry`] and left untouched. A registry SQLite reports as damaged
    /// gives [`Error::Corrupt`]. Opening does not recover pending works: call
    /// [`Registry::recover`].
    pub fn open(&self, path: impl AsRef<Path>) -> Result<Registry> {
        let path = path.as_ref();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
        }
        check_header(path)?;
        let ctx = Ctx {
            path: path.to_path_buf(),
            waited_ms: self.busy_timeout.as_millis(),
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(path, flags).ctx(&ctx)?;
        conn.busy_timeout(self.busy_timeout).ctx(&ctx)?;

        // Judge the file before changing anything in it: another program's database must come
        // out of this byte for byte unchanged (so no journal-mode switch before this).
        if is_empty(&ctx, inspect_snapshot(&mut conn).ctx(&ctx)?)? {
            enable_wal(&conn, &ctx, self.busy_timeout)?;
            // Several processes may create the same new registry at once: the second to get
            // the write lock finds the schema there.
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .ctx(&ctx)?;
            if is_empty(&ctx, schema::inspect(&tx).ctx(&ctx)?)? {
                schema::create(&tx).ctx(&ctx)?;
            }
            tx.commit().ctx(&ctx)?;
        }
        enable_wal(&conn, &ctx, self.busy_timeout)?;
        upgrade_if_old(&mut conn, &ctx)?;
        // FULL, not NORMAL: with WAL, NORMAL survives a killed process but may lose the last
        // commits on power loss, which could leave a marked file on disk whose work ID the
        // registry has forgotten. A mark makes three small commits; the fsyncs are nothing
        // next to encoding an image.
        conn.pragma_update(None, "synchronous", "FULL").ctx(&ctx)?;
        conn.pragma_update(None, "foreign_keys", true).ctx(&ctx)?;
        Ok(Registry {
            conn,
            ctx,
            stale_after: self.stale_after,
            lease: crate::Lease::new(),
        })
    }
}

/// Refuses a non-empty file that does not start with the SQLite header, and anything but a
/// regular file (a named pipe would block SQLite forever), without letting SQLite near it.
fn check_header(path: &Path) -> Result<()> {
    let file = match inkseal_io::read::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io(path, e)),
    };
    let mut head = Vec::with_capacity(SQLITE_MAGIC.len());
    file.take(SQLITE_MAGIC.len() as u64)
        .read_to_end(&mut head)
        .map_err(|e| io(path, e))?;
    if head.is_empty() || head == SQLITE_MAGIC {
        Ok(())
    } else {
        Err(Error::NotARegistry {
            path: path.to_path_buf(),
            reason: "not an SQLite database".into(),
        })
    }
}

/// [`schema::inspect`] in a read transaction, so the header fields and the table list come
/// from one snapshot even while another process is creating the schema.
fn inspect_snapshot(conn: &mut Connection) -> rusqlite::Result<Found> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
    let found = schema::inspect(&tx)?;
    tx.commit()?;
    Ok(found)
}

/// `Ok(true)` for a new, empty database, `Ok(false)` for a registry this crate can use.
fn is_empty(ctx: &Ctx, found: Found) -> Result<bool> {
    match found {
        Found::Empty => Ok(true),
        Found::Registry(version, true) if (1..=SCHEMA_VERSION).contains(&version) => Ok(false),
        Found::Registry(found, _) if found > SCHEMA_VERSION => Err(Error::NewerSchema {
            path: ctx.path.clone(),
            found,
            supported: SCHEMA_VERSION,
        }),
        Found::Registry(found, _) => Err(Error::Corrupt {
            path: ctx.path.clone(),
            detail: format!("registry header with schema version {found} but no works table"),
        }),
        Found::Foreign(reason) => Err(Error::NotARegistry {
            path: ctx.path.clone(),
            reason,
        }),
    }
}

/// Brings a registry of an older schema version up to date, in one write transaction (a
/// concurrent opener that got there first leaves nothing to do).
fn upgrade_if_old(conn: &mut Connection, ctx: &Ctx) -> Result<()> {
    if let Found::Registry(version, true) = inspect_snapshot(conn).ctx(ctx)?
        && version < SCHEMA_VERSION
    {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx(ctx)?;
        if let Found::Registry(version, true) = schema::inspect(&tx).ctx(ctx)?
            && version < SCHEMA_VERSION
        {
            schema::upgrade(&tx, version).ctx(ctx)?;
        }
        tx.commit().ctx(ctx)?;
    }
    Ok(())
}

/// Switches the file to write-ahead logging (a no-op when it already is).
///
/// Switching needs a moment of exclusive access, and SQLite reports `SQLITE_BUSY` at once
/// rather than calling the busy handler when another process holds the file at that moment
/// (several processes creating the same new registry). So retry until the busy timeout.
fn enable_wal(conn: &Connection, ctx: &Ctx, timeout: Duration) -> Result<()> {
    let current: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .ctx(ctx)?;
    if current.eq_ignore_ascii_case("wal") {
        return Ok(());
    }
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    let mode: String = loop {
        match conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0)) {
            Ok(mode) => break mode,
            Err(e) if is_busy(&e) && Instant::now() < deadline => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            Err(e) => return Err(e).ctx(ctx),
        }
    };
    if mode.eq_ignore_ascii_case("wal") {
        Ok(())
    } else {
        Err(Error::JournalMode {
            path: ctx.path.clone(),
            mode,
        })
    }
}
