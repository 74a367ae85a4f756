//! The registry handle, and reading works from it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension as _};

use crate::error::{Ctx, Error, Result, SqlContext as _};
use crate::hexfmt;
use crate::open::OpenOptions;
use crate::work::Work;

/// An open registry: one SQLite connection.
///
/// Any number of processes and threads may each open the same file; writes are serialized
/// by SQLite (waiting up to the busy timeout), reads never wait for writes.
#[derive(Debug)]
pub struct Registry {
    pub(crate) conn: Connection,
    pub(crate) ctx: Ctx,
    pub(crate) stale_after: Duration,
    /// Owns the rows [`reserve`](Registry::reserve) makes through this handle.
    pub(crate) lease: crate::Lease,
}

/// The columns [`raw_work`] reads, in order.
pub(crate) const WORK_COLUMNS: &str = "id, title, artist, license, training_allowed, created, \
     sha256, phash, key_id, output_path, manifest";

/// A `works` row as stored, before its hex fields are checked.
pub(crate) struct RawWork {
    id: i64,
    title: String,
    artist: String,
    license: Option<String>,
    training_allowed: bool,
    created: String,
    sha256: Option<String>,
    phash: Option<String>,
    key_id: String,
    output_path: Option<String>,
    manifest: Option<Vec<u8>>,
}

/// Reads [`WORK_COLUMNS`].
pub(crate) fn raw_work(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawWork> {
    raw_work_at(row, 0)
}

/// Reads [`WORK_COLUMNS`] starting at column `at`.
pub(crate) fn raw_work_at(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<RawWork> {
    Ok(RawWork {
        id: row.get(at)?,
        title: row.get(at + 1)?,
        artist: row.get(at + 2)?,
        license: row.get(at + 3)?,
        training_allowed: row.get(at + 4)?,
        created: row.get(at + 5)?,
        sha256: row.get(at + 6)?,
        phash: row.get(at + 7)?,
        key_id: row.get(at + 8)?,
        output_path: row.get(at + 9)?,
        manifest: row.get(at + 10)?,
    })
}

impl RawWork {
    /// The work, or [`Error::Corrupt`] if the stored fields do not parse.
    pub(crate) fn into_work(self, ctx: &Ctx) -> Result<Work> {
        let id = id_from_sql(self.id);
        let bad = |what: &str| Error::Corrupt {
            path: ctx.path.clone(),
            detail: format!("work {id:016x} has no valid {what}"),
        };
        Ok(Work {
            id,
            title: self.title,
            artist: self.artist,
            license: self.license,
            training_allowed: self.training_allowed,
            created: self.created,
            sha256: self
                .sha256
                .as_deref()
                .and_then(hexfmt::sha256_from_hex)
                .ok_or_else(|| bad("SHA-256"))?,
            phash: self
                .phash
                .as_deref()
                .and_then(hexfmt::u64_from_hex)
                .ok_or_else(|| bad("perceptual hash"))?,
            key_id: self.key_id,
            output_path: self.output_path.map(PathBuf::from),
            manifest: self.manifest.ok_or_else(|| bad("manifest"))?,
        })
    }
}

/// The u64 work ID's bit pattern as SQLite's i64.
pub(crate) fn id_to_sql(id: u64) -> i64 {
    i64::from_ne_bytes(id.to_ne_bytes())
}

/// Inverse of [`id_to_sql`].
pub(crate) fn id_from_sql(id: i64) -> u64 {
    u64::from_ne_bytes(id.to_ne_bytes())
}

impl Registry {
    /// Opens (or creates) the registry at `path` with the default [`OpenOptions`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        OpenOptions::new().open(path)
    }

    /// `registry.sqlite` in the user's data directory (for example
    /// `~/.local/share/inkseal/registry.sqlite` on Linux).
    pub fn default_path() -> Result<PathBuf> {
        directories::ProjectDirs::from("org", "inkseal", "inkseal")
            .map(|dirs| dirs.data_dir().join("registry.sqlite"))
            .ok_or(Error::NoDataDir)
    }

    /// The registry file.
    pub fn path(&self) -> &Path {
        &self.ctx.path
    }

    /// All complete works, oldest first (by `created`, then ID).
    pub fn list(&self) -> Result<Vec<Work>> {
        self.query_works(
            &format!(
                "SELECT {WORK_COLUMNS} FROM works WHERE state = 'complete' ORDER BY created, id"
            ),
            [],
        )
    }

    /// The complete work with this ID, if any. Pending works are not shown.
    pub fn get(&self, id: u64) -> Result<Option<Work>> {
        let raw = self
            .conn
            .query_row(
                &format!("SELECT {WORK_COLUMNS} FROM works WHERE id = ?1 AND state = 'complete'"),
                [id_to_sql(id)],
                raw_work,
            )
            .optional()
            .ctx(&self.ctx)?;
        raw.map(|r| r.into_work(&self.ctx)).transpose()
    }

    /// The complete works whose marked file has this SHA-256 (normally at most one).
    pub fn find_by_sha256(&self, sha256: &[u8; 32]) -> Result<Vec<Work>> {
        self.query_works(
            &format!(
                "SELECT {WORK_COLUMNS} FROM works WHERE sha256 = ?1 AND state = 'complete' \
                 ORDER BY created, id"
            ),
            [hex::encode(sha256)],
        )
    }

    /// Complete works whose perceptual hash is within `max_distance` bits (Hamming distance)
    /// of `phash`, nearest first, with their distance.
    pub fn nearest_by_phash(&self, phash: u64, max_distance: u32) -> Result<Vec<(Work, u32)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, phash FROM works WHERE state = 'complete'")
            .ctx(&self.ctx)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
            .ctx(&self.ctx)?;
        let mut near = Vec::new();
        for row in rows {
            let (id, hash) = row.ctx(&self.ctx)?;
            let id = id_from_sql(id);
            let hash = hexfmt::u64_from_hex(&hash).ok_or_else(|| Error::Corrupt {
                path: self.ctx.path.clone(),
                detail: format!("work {id:016x} has no valid perceptual hash"),
            })?;
            let distance = (hash ^ phash).count_ones();
            if distance <= max_distance {
                near.push((id, distance));
            }
        }
        let mut out = Vec::with_capacity(near.len());
        for (id, distance) in near {
            // Complete works are never deleted, but skip one that is gone rather than fail.
            if let Some(work) = self.get(id)? {
                out.push((work, distance));
            }
        }
        out.sort_by(|(a, da), (b, db)| {
            da.cmp(db)
                .then_with(|| a.created.cmp(&b.created))
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(out)
    }

    /// IDs of the pending works: reserved by a `mark` that is still running, or that died
    /// before [`Registry::recover`] cleaned up after it.
    pub fn pending_ids(&self) -> Result<Vec<u64>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id FROM works WHERE state = 'pending' ORDER BY created, id")
            .ctx(&self.ctx)?;
        let ids = stmt
            .query_map([], |r| r.get::<_, i64>(0))
            .ctx(&self.ctx)?
            .map(|r| r.map(id_from_sql))
            .collect::<rusqlite::Result<Vec<_>>>()
            .ctx(&self.ctx)?;
        Ok(ids)
    }

    /// Runs SQLite's `PRAGMA quick_check` over the whole file: [`Error::Corrupt`] if it finds
    /// damage. It reads every page, so [`OpenOptions::open`] does not run it; damage it would
    /// find also surfaces as [`Error::Corrupt`] from any query that touches it.
    pub fn check(&self) -> Result<()> {
        let mut stmt = self.conn.prepare("PRAGMA quick_check").ctx(&self.ctx)?;
        let problems = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .ctx(&self.ctx)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .ctx(&self.ctx)?;
        if problems == ["ok"] {
            Ok(())
        } else {
            Err(Error::Corrupt {
                path: self.ctx.path.clone(),
                detail: problems.join("; "),
            })
        }
    }

    fn query_works<P: rusqlite::Params>(&self, sql: &str, params: P) -> Result<Vec<Work>> {
        let mut stmt = self.conn.prepare(sql).ctx(&self.ctx)?;
        let raws = stmt
            .query_map(params, raw_work)
            .ctx(&self.ctx)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .ctx(&self.ctx)?;
        raws.into_iter().map(|r| r.into_work(&self.ctx)).collect()
    }
}
