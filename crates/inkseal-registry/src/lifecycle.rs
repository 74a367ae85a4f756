//! The two-phase protocol that `mark` drives: reserve, stage, (rename), complete or abandon.

use std::path::{Path, PathBuf};

use rusqlite::{OptionalExtension as _, TransactionBehavior, params};

use crate::error::SqlContext as _;
use crate::error::{Error, Result};
use crate::hexfmt;
use crate::lease::Lease;
use crate::owner;
use crate::registry::{Registry, id_to_sql};
use crate::time;
use crate::work::{NewWork, Staged};

/// The state of one row, as the protocol steps need it.
enum RowState {
    Missing,
    Pending { staged: bool },
    Complete,
}

impl Registry {
    /// Allocates a new work ID and records a pending work for it.
    ///
    /// The ID is a random non-zero 64-bit number (so that IDs from different artists'
    /// registries do not collide), chosen and inserted in one write transaction: concurrent
    /// processes never get the same ID. The pending row records this process as its owner and
    /// is invisible to [`list`](Registry::list) and [`get`](Registry::get) until
    /// [`complete`](Registry::complete).
    ///
    /// The row is owned by this handle's [`Lease`]: it stays in progress while the handle is
    /// open. Use [`reserve_leased`](Registry::reserve_leased) to tie it to a shorter piece of
    /// work.
    pub fn reserve(&mut self, work: &NewWork) -> Result<u64> {
        let token = self.lease.token().to_string();
        self.reserve_from(work, &token, &mut rand::random)
    }

    /// [`reserve`](Registry::reserve), with the row owned by `lease`: once the lease is
    /// dropped, [`recover`](Registry::recover) in this process (or any process, once this one
    /// has exited) settles the row if it is still pending.
    pub fn reserve_leased(&mut self, work: &NewWork, lease: &Lease) -> Result<u64> {
        self.reserve_from(work, lease.token(), &mut rand::random)
    }

    /// [`reserve`](Registry::reserve) with IDs drawn from `next_id`.
    fn reserve_from(
        &mut self,
        work: &NewWork,
        token: &str,
        next_id: &mut dyn FnMut() -> u64,
    ) -> Result<u64> {
        let (created, reserved_unix) = time::now();
        let me = owner::current();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx(&self.ctx)?;
        let id = loop {
            let id = next_id();
            if id == 0 {
                continue;
            }
            let taken: bool = tx
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM works WHERE id = ?1)",
                    [id_to_sql(id)],
                    |r| r.get(0),
                )
                .ctx(&self.ctx)?;
            if !taken {
                break id;
            }
        };
        tx.execute(
            "INSERT INTO works (id, state, title, artist, license, training_allowed, created, \
             key_id, owner_pid, owner_start, owner_scope, reserved_unix, owner_token) \
             VALUES (?1, 'pending', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                id_to_sql(id),
                work.title,
                work.artist,
                work.license,
                work.training_allowed,
                created,
                work.key_id,
                me.pid,
                me.start,
                me.scope,
                reserved_unix,
                token,
            ],
        )
        .ctx(&self.ctx)?;
        tx.commit().ctx(&self.ctx)?;
        Ok(id)
    }

    /// Before the temporary file is created: records its name and the output name, so that
    /// if this process is killed while writing it, [`recover`](Registry::recover) deletes it.
    /// [`stage`](Registry::stage) records them anyway.
    ///
    /// This also reserves the output path for the work: in the same write transaction, a path
    /// that is already the output of another work (pending or complete) is refused with
    /// [`Error::OutputTaken`] and nothing is recorded. Of concurrent marks to one output,
    /// exactly one gets past this step.
    pub fn record_paths(&mut self, id: u64, temp_path: &Path, output_path: &Path) -> Result<()> {
        let (temp, output) = checked_paths(id, temp_path, output_path)?;
        self.update_pending(
            id,
            &output,
            "UPDATE works SET temp_path = ?2, output_path = ?3 WHERE id = ?1",
            params![id_to_sql(id), temp, output],
        )
    }

    /// Records what is about to be renamed into place: the finished file's SHA-256, its
    /// perceptual hash, the manifest, and the temporary and final paths. The work stays
    /// pending. Call it after the temporary file is complete (written and synced) and before
    /// renaming it to `output_path`: only then can [`recover`](Registry::recover) tell a rename
    /// that happened (output with this SHA-256) from one that did not.
    ///
    /// May be called again to replace what was staged. Errors with [`Error::NotFound`] if the
    /// row is gone (for example recovered as stale), [`Error::NotPending`] if the work is
    /// already complete, and [`Error::OutputTaken`] if the output path is another work's
    /// (see [`record_paths`](Registry::record_paths)).
    pub fn stage(&mut self, id: u64, staged: &Staged) -> Result<()> {
        let (temp, output) = checked_paths(id, &staged.temp_path, &staged.output_path)?;
        self.update_pending(
            id,
            &output,
            "UPDATE works SET sha256 = ?2, phash = ?3, manifest = ?4, temp_path = ?5, \
             output_path = ?6 WHERE id = ?1",
            params![
                id_to_sql(id),
                hex::encode(staged.sha256),
                hexfmt::u64_to_hex(staged.phash),
                staged.manifest,
                temp,
                output,
            ],
        )
    }

    /// Makes a staged work complete, after the caller renamed its temporary file to the
    /// output path. Completing a complete work is a no-op (recovery may have done it).
    pub fn complete(&mut self, id: u64) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx(&self.ctx)?;
        match row_state(&tx, id).ctx(&self.ctx)? {
            RowState::Missing => return Err(Error::NotFound(id)),
            RowState::Pending { staged: false } => return Err(Error::NotStaged(id)),
            RowState::Complete => return Ok(()),
            RowState::Pending { staged: true } => {}
        }
        tx.execute(
            "UPDATE works SET state = 'complete', temp_path = NULL WHERE id = ?1",
            [id_to_sql(id)],
        )
        .ctx(&self.ctx)?;
        tx.commit().ctx(&self.ctx)
    }

    /// Deletes a pending work: call it when marking fails, after removing the temporary file.
    /// Abandoning a work that is already gone is a no-op; a complete work is never deleted
    /// ([`Error::NotPending`]).
    pub fn abandon(&mut self, id: u64) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx(&self.ctx)?;
        match row_state(&tx, id).ctx(&self.ctx)? {
            RowState::Missing => return Ok(()),
            RowState::Complete => return Err(Error::NotPending(id)),
            RowState::Pending { .. } => {}
        }
        tx.execute("DELETE FROM works WHERE id = ?1", [id_to_sql(id)])
            .ctx(&self.ctx)?;
        tx.commit().ctx(&self.ctx)
    }

    /// Runs `sql` (an UPDATE of row `?1` that sets its output path to `output`) if the work
    /// is pending and no other work has that output path: checked and written in one write
    /// transaction, so two works can never both claim one path.
    fn update_pending(
        &mut self,
        id: u64,
        output: &str,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx(&self.ctx)?;
        match row_state(&tx, id).ctx(&self.ctx)? {
            RowState::Missing => return Err(Error::NotFound(id)),
            RowState::Complete => return Err(Error::NotPending(id)),
            RowState::Pending { .. } => {}
        }
        let holder: Option<(i64, String)> = tx
            .query_row(
                "SELECT id, state FROM works WHERE output_path = ?1 AND id <> ?2 LIMIT 1",
                params![output, id_to_sql(id)],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .ctx(&self.ctx)?;
        if let Some((other, state)) = holder {
            return Err(Error::OutputTaken {
                path: PathBuf::from(output),
                id: crate::registry::id_from_sql(other),
                state,
            });
        }
        tx.execute(sql, params).ctx(&self.ctx)?;
        tx.commit().ctx(&self.ctx)
    }
}

fn row_state(conn: &rusqlite::Connection, id: u64) -> rusqlite::Result<RowState> {
    let row: Option<(String, bool)> = conn
        .query_row(
            "SELECT state, sha256 IS NOT NULL FROM works WHERE id = ?1",
            [id_to_sql(id)],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(match row {
        None => RowState::Missing,
        Some((state, _)) if state == "complete" => RowState::Complete,
        Some((_, staged)) => RowState::Pending { staged },
    })
}

/// Absolute, UTF-8 and distinct (recovery runs from any directory and must never take the
/// output for the temporary file), and a temporary name that carries the work ID.
fn checked_paths(id: u64, temp: &Path, output: &Path) -> Result<(String, String)> {
    let temp = absolute_text(temp)?;
    let output = absolute_text(output)?;
    if temp == output {
        return Err(Error::InvalidInput(format!(
            "the temporary path {temp} is the output path"
        )));
    }
    if !is_temp_name_of(id, Path::new(&temp)) {
        return Err(Error::InvalidInput(format!(
            "the temporary file name {temp} must contain the work ID {id:016x}"
        )));
    }
    Ok((temp, output))
}

/// Whether `path` can be the temporary file of work `id`: its file name contains the ID as
/// 16 lowercase hex digits. [`Registry::recover`] deletes only such files, so a wrong path
/// (or a crafted registry) cannot make it delete an arbitrary file.
pub(crate) fn is_temp_name_of(id: u64, path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.contains(&hexfmt::u64_to_hex(id)))
}

pub(crate) fn absolute_text(path: &Path) -> Result<String> {
    let abs: PathBuf = std::path::absolute(path).map_err(|e| crate::error::io(path, e))?;
    abs.into_os_string().into_string().map_err(|p| {
        Error::InvalidInput(format!(
            "path {} is not valid UTF-8",
            Path::new(&p).display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserve_skips_zero_and_taken_ids() -> std::result::Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let mut registry = Registry::open(dir.path().join("r.sqlite"))?;
        let work = NewWork::default();
        assert_eq!(registry.reserve_from(&work, "t", &mut || 5)?, 5);
        let mut ids = [5u64, 0, 5, u64::MAX].into_iter();
        let mut next = || ids.next().unwrap_or(1);
        // 5 is taken and 0 never allocated: the next free draw wins.
        assert_eq!(registry.reserve_from(&work, "t", &mut next)?, u64::MAX);
        let pending: std::collections::BTreeSet<u64> =
            registry.pending_ids()?.into_iter().collect();
        assert_eq!(pending, [5, u64::MAX].into());
        Ok(())
    }

    #[test]
    fn an_output_path_belongs_to_one_work() -> std::result::Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let mut registry = Registry::open(dir.path().join("r.sqlite"))?;
        let work = NewWork::default();
        let out = dir.path().join("out.png");
        let temp = |id: u64| dir.path().join(format!(".out.png.{id:016x}.tmp"));
        let (a, b) = (
            registry.reserve_from(&work, "t", &mut || 1)?,
            registry.reserve_from(&work, "t", &mut || 2)?,
        );
        registry.record_paths(a, &temp(a), &out)?;
        // Again for the same work is fine; for another work it is refused, nothing recorded.
        registry.record_paths(a, &temp(a), &out)?;
        let taken = registry.record_paths(b, &temp(b), &out);
        assert!(
            matches!(taken, Err(Error::OutputTaken { id: 1, ref state, .. }) if state == "pending"),
            "{taken:?}"
        );
        let staged = Staged {
            sha256: [0; 32],
            phash: 0,
            manifest: vec![1],
            output_path: out.clone(),
            temp_path: temp(b),
        };
        assert!(matches!(
            registry.stage(b, &staged),
            Err(Error::OutputTaken { id: 1, .. })
        ));
        // Once the first work lets go of the path, the second may have it.
        registry.abandon(a)?;
        registry.record_paths(b, &temp(b), &out)?;
        registry.stage(b, &staged)?;
        registry.complete(b)?;
        let c = registry.reserve_from(&work, "t", &mut || 3)?;
        let taken = registry.record_paths(c, &temp(c), &out);
        assert!(
            matches!(taken, Err(Error::OutputTaken { id: 2, ref state, .. }) if state == "complete"),
            "{taken:?}"
        );
        Ok(())
    }
}
