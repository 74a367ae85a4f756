//! The database schema and how an existing file is recognised.

use rusqlite::Connection;

/// `PRAGMA application_id` of an inkseal registry: "inks" in ASCII.
pub(crate) const APPLICATION_ID: i64 = 0x696e_6b73;

/// `PRAGMA user_version` this crate writes and understands. Version 2 added `owner_token`;
/// version 1 files are upgraded when opened.
pub(crate) const SCHEMA_VERSION: i64 = 2;

/// Version 1. IDs are the u64 work ID's bit pattern as i64 (`INTEGER PRIMARY KEY` is the
/// rowid, so uniqueness costs nothing). Complete rows must carry the staged data.
const SCHEMA_V1: &str = "
CREATE TABLE works (
    id               INTEGER PRIMARY KEY CHECK (id <> 0),
    state            TEXT    NOT NULL CHECK (state IN ('pending', 'complete')),
    title            TEXT    NOT NULL,
    artist           TEXT    NOT NULL,
    license          TEXT,
    training_allowed INTEGER NOT NULL CHECK (training_allowed IN (0, 1)),
    created          TEXT    NOT NULL,
    sha256           TEXT    CHECK (sha256 IS NULL OR length(sha256) = 64),
    phash            TEXT    CHECK (phash IS NULL OR length(phash) = 16),
    manifest         BLOB,
    key_id           TEXT    NOT NULL,
    output_path      TEXT,
    temp_path        TEXT,
    owner_pid        INTEGER,
    owner_start      INTEGER,
    owner_scope      TEXT,
    reserved_unix    INTEGER NOT NULL,
    CHECK (state = 'pending'
           OR (sha256 IS NOT NULL AND phash IS NOT NULL AND manifest IS NOT NULL))
) STRICT;
CREATE INDEX works_by_state_created ON works (state, created);
CREATE INDEX works_by_sha256 ON works (sha256);
";

/// What a database file holds, judged from its header fields and table list.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Found {
    /// No tables and no application ID: a new file.
    Empty,
    /// An inkseal registry with this schema version, and whether its `works` table exists.
    Registry(i64, bool),
    /// Someone else's database.
    Foreign(String),
}

/// Reads the application ID, schema version and table names. Writes nothing.
pub(crate) fn inspect(conn: &Connection) -> rusqlite::Result<Found> {
    let app: i64 = conn.pragma_query_value(None, "application_id", |r| r.get(0))?;
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let mut stmt =
        conn.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")?;
    let tables = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(if app == APPLICATION_ID {
        Found::Registry(version, tables.iter().any(|t| t == "works"))
    } else if app == 0 && version == 0 && tables.is_empty() {
        Found::Empty
    } else if tables.is_empty() {
        Found::Foreign(format!(
            "an SQLite database with application ID {app:#x} and version {version}"
        ))
    } else {
        Found::Foreign(format!(
            "an SQLite database of another program (tables: {})",
            tables.join(", ")
        ))
    })
}

/// Version 2: the token of the lease that owns a pending row (see `Lease`), so that a process
/// that lives long can tell its own abandoned rows from those still in progress.
const UPGRADE_V1_TO_V2: &str = "ALTER TABLE works ADD COLUMN owner_token TEXT;";

/// Creates the schema in an empty database (inside the caller's transaction).
pub(crate) fn create(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(SCHEMA_V1)?;
    conn.pragma_update(None, "application_id", APPLICATION_ID)?;
    upgrade(conn, 1)
}

/// Upgrades a registry of schema `from` to [`SCHEMA_VERSION`] (inside the caller's
/// transaction).
pub(crate) fn upgrade(conn: &Connection, from: i64) -> rusqlite::Result<()> {
    if from < 2 {
        conn.execute_batch(UPGRADE_V1_TO_V2)?;
    }
    conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    Ok(())
}
