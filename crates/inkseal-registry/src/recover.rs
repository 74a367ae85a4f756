//! Cleaning up after `mark` processes that died between reserve and complete.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::error::Result;
use crate::error::SqlContext as _;
use crate::hexfmt;
use crate::lifecycle::is_temp_name_of;
use crate::owner::{self, Owner};
use crate::registry::{Registry, id_from_sql, id_to_sql};
use crate::time;

/// What [`Registry::recover`] did. Work IDs serialize as 16 hex digits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RecoveryReport {
    /// Works whose process died after renaming the output into place (the output has the
    /// staged SHA-256): now complete.
    #[serde(serialize_with = "hexfmt::u64_hex_list::serialize")]
    pub completed: Vec<u64>,
    /// Works whose process died before the rename: deleted.
    #[serde(serialize_with = "hexfmt::u64_hex_list::serialize")]
    pub removed: Vec<u64>,
    /// Temporary files of removed works that were deleted.
    pub removed_temp_files: Vec<PathBuf>,
    /// Pending works whose process is, or may be, still running: left alone.
    #[serde(serialize_with = "hexfmt::u64_hex_list::serialize")]
    pub in_progress: Vec<u64>,
    /// Works left pending because a file could not be read or removed; a later `recover`
    /// tries again.
    pub failed: Vec<RecoveryFailure>,
}

impl RecoveryReport {
    /// Whether recovery changed nothing and found nothing wrong.
    pub fn is_empty(&self) -> bool {
        self.completed.is_empty()
            && self.removed.is_empty()
            && self.removed_temp_files.is_empty()
            && self.failed.is_empty()
    }
}

/// A pending work [`Registry::recover`] could not settle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecoveryFailure {
    /// The work.
    #[serde(with = "hexfmt::u64_hex")]
    pub id: u64,
    /// The file that could not be read or removed.
    pub path: PathBuf,
    /// Why.
    pub error: String,
}

struct PendingRow {
    id: u64,
    sha256: Option<String>,
    output_path: Option<String>,
    temp_path: Option<String>,
    owner: Owner,
    reserved_unix: i64,
}

impl Registry {
    /// Settles the pending works whose `mark` process is gone.
    ///
    /// A pending work is abandoned when its owning process has certainly exited (on Linux:
    /// same boot and pid namespace, and no process with that pid and start time), or, when
    /// that cannot be told (another machine or container, a reboot, no `/proc`), when it is
    /// older than [`OpenOptions::stale_after`](crate::OpenOptions::stale_after). Works of
    /// running processes are left alone. For each abandoned work:
    ///
    /// - if the output file exists and has the staged SHA-256, the process died between the
    ///   rename and [`complete`](Registry::complete): the work is completed;
    /// - otherwise the rename never happened: the temporary file is deleted if it exists
    ///   (its name was recorded by the process that owned it, and carries the work ID) and
    ///   the row is deleted. An
    ///   output file with another hash is never touched: it is not ours (a file that was
    ///   there before, or one written since), and deleting it could destroy someone's work.
    ///
    /// Call it at the start of `mark` and of commands that list works; it costs one query
    /// when nothing is pending.
    pub fn recover(&mut self) -> Result<RecoveryReport> {
        let rows = self.pending_rows()?;
        let now = time::now_unix();
        let mut report = RecoveryReport::default();
        for row in rows {
            if !owner::is_abandoned(&row.owner, row.reserved_unix, now, self.stale_after) {
                report.in_progress.push(row.id);
                continue;
            }
            let renamed = match (&row.sha256, &row.output_path) {
                (Some(sha256), Some(output)) => match sha256_file(Path::new(output)) {
                    Ok(found) => hex::encode(found) == *sha256,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
                    Err(e) => {
                        report.failed.push(failure(row.id, output, &e));
                        continue;
                    }
                },
                _ => false,
            };
            if renamed {
                let n = self
                    .conn
                    .execute(
                        "UPDATE works SET state = 'complete', temp_path = NULL \
                         WHERE id = ?1 AND state = 'pending'",
                        [id_to_sql(row.id)],
                    )
                    .ctx(&self.ctx)?;
                if n > 0 {
                    report.completed.push(row.id);
                }
                continue;
            }
            // Only a file named for this work (as `stage` required): never an arbitrary path.
            let temp = row
                .temp_path
                .as_ref()
                .filter(|t| is_temp_name_of(row.id, Path::new(t)));
            if let Some(temp) = temp {
                match std::fs::remove_file(temp) {
                    Ok(()) => report.removed_temp_files.push(PathBuf::from(temp)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        report.failed.push(failure(row.id, temp, &e));
                        continue;
                    }
                }
            }
            let n = self
                .conn
                .execute(
                    "DELETE FROM works WHERE id = ?1 AND state = 'pending'",
                    [id_to_sql(row.id)],
                )
                .ctx(&self.ctx)?;
            if n > 0 {
                report.removed.push(row.id);
            }
        }
        Ok(report)
    }

    fn pending_rows(&self) -> Result<Vec<PendingRow>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, sha256, output_path, temp_path, owner_pid, owner_start, owner_scope, \
                 reserved_unix, owner_token FROM works WHERE state = 'pending' \
                 ORDER BY created, id",
            )
            .ctx(&self.ctx)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(PendingRow {
                    id: id_from_sql(r.get(0)?),
                    sha256: r.get(1)?,
                    output_path: r.get(2)?,
                    temp_path: r.get(3)?,
                    owner: Owner {
                        pid: r.get::<_, Option<i64>>(4)?.unwrap_or(0),
                        start: r.get(5)?,
                        scope: r.get(6)?,
                        token: r.get(8)?,
                    },
                    reserved_unix: r.get(7)?,
                })
            })
            .ctx(&self.ctx)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .ctx(&self.ctx)?;
        Ok(rows)
    }
}

fn failure(id: u64, path: &str, e: &std::io::Error) -> RecoveryFailure {
    RecoveryFailure {
        id,
        path: PathBuf::from(path),
        error: e.to_string(),
    }
}

/// SHA-256 of a file's contents.
fn sha256_file(path: &Path) -> std::io::Result<[u8; 32]> {
    let mut file = inkseal_io::read::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(hasher.finalize().into())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::{NewWork, OpenOptions, Staged};

    type TestResult = std::result::Result<(), Box<dyn std::error::Error>>;

    fn setup() -> std::result::Result<(tempfile::TempDir, Registry), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let registry = OpenOptions::new()
            .stale_after(Duration::from_secs(3600))
            .open(dir.path().join("r.sqlite"))?;
        Ok((dir, registry))
    }

    fn reserve(registry: &mut Registry) -> Result<u64> {
        registry.reserve(&NewWork {
            title: "t".into(),
            artist: "a".into(),
            ..NewWork::default()
        })
    }

    /// Makes the row look owned by another process: `how` is SQL assignments.
    fn set_owner(registry: &Registry, id: u64, how: &str) -> Result<()> {
        registry
            .conn
            .execute(
                &format!("UPDATE works SET {how} WHERE id = ?1"),
                [id_to_sql(id)],
            )
            .ctx(&registry.ctx)?;
        Ok(())
    }

    fn stage(registry: &mut Registry, dir: &Path, id: u64, bytes: &[u8]) -> Result<Staged> {
        let staged = Staged {
            sha256: Sha256::digest(bytes).into(),
            phash: 7,
            manifest: vec![1, 2, 3],
            output_path: dir.join(format!("{id:016x}.png")),
            temp_path: dir.join(format!("{id:016x}.png.tmp")),
        };
        std::fs::write(&staged.temp_path, bytes).map_err(|e| crate::error::io(dir, e))?;
        registry.stage(id, &staged)?;
        Ok(staged)
    }

    #[test]
    fn own_pending_works_are_in_progress() -> TestResult {
        let (_dir, mut registry) = setup()?;
        let id = reserve(&mut registry)?;
        let report = registry.recover()?;
        assert_eq!(report.in_progress, vec![id]);
        assert!(report.is_empty());
        assert_eq!(registry.pending_ids()?, vec![id]);
        Ok(())
    }

    #[test]
    fn a_dropped_lease_releases_its_rows_in_the_same_process() -> TestResult {
        let (dir, mut registry) = setup()?;
        let work = NewWork {
            title: "t".into(),
            artist: "a".into(),
            ..NewWork::default()
        };
        let live = crate::Lease::new();
        let kept = registry.reserve_leased(&work, &live)?;
        let dropped = crate::Lease::new();
        let failed = registry.reserve_leased(&work, &dropped)?;
        let staged = stage(&mut registry, dir.path(), failed, b"half done")?;
        drop(dropped);
        // Another handle in the same long-lived process sees the failed mark as abandoned.
        let mut other = OpenOptions::new()
            .stale_after(Duration::from_secs(3600))
            .open(dir.path().join("r.sqlite"))?;
        let report = other.recover()?;
        assert_eq!(report.removed, vec![failed]);
        assert_eq!(report.in_progress, vec![kept]);
        assert_eq!(report.removed_temp_files, vec![staged.temp_path.clone()]);
        assert!(!staged.temp_path.exists());
        assert_eq!(registry.pending_ids()?, vec![kept]);
        drop(live);
        Ok(())
    }

    #[test]
    fn reused_pid_means_the_owner_is_gone() -> TestResult {
        let (dir, mut registry) = setup()?;
        // Died after the rename: completed.
        let renamed = reserve(&mut registry)?;
        let staged = stage(&mut registry, dir.path(), renamed, b"marked")?;
        std::fs::rename(&staged.temp_path, &staged.output_path)?;
        // Died before the rename: removed, with its temporary file.
        let unrenamed = reserve(&mut registry)?;
        let staged2 = stage(&mut registry, dir.path(), unrenamed, b"other")?;
        for id in [renamed, unrenamed] {
            set_owner(&registry, id, "owner_start = owner_start + 1")?;
        }
        let report = registry.recover()?;
        assert_eq!(report.completed, vec![renamed]);
        assert_eq!(report.removed, vec![unrenamed]);
        assert_eq!(report.removed_temp_files, vec![staged2.temp_path.clone()]);
        assert!(!staged2.temp_path.exists());
        assert!(registry.get(renamed)?.is_some());
        assert!(registry.pending_ids()?.is_empty());
        Ok(())
    }

    #[test]
    fn unknown_owners_are_recovered_only_when_stale() -> TestResult {
        let (_dir, mut registry) = setup()?;
        let young = reserve(&mut registry)?;
        let old = reserve(&mut registry)?;
        set_owner(&registry, young, "owner_scope = 'another machine'")?;
        set_owner(
            &registry,
            old,
            "owner_scope = NULL, owner_start = NULL, reserved_unix = reserved_unix - 3601",
        )?;
        let report = registry.recover()?;
        assert_eq!(report.in_progress, vec![young]);
        assert_eq!(report.removed, vec![old]);
        assert_eq!(registry.pending_ids()?, vec![young]);
        Ok(())
    }

    #[test]
    fn a_temp_file_that_cannot_be_removed_keeps_the_row() -> TestResult {
        let (dir, mut registry) = setup()?;
        let id = reserve(&mut registry)?;
        // A directory where the temporary file should be: remove_file fails.
        let temp = dir.path().join(format!("{id:016x}.tmp"));
        std::fs::create_dir(&temp)?;
        std::fs::write(temp.join("inside"), b"x")?;
        registry.record_paths(id, &temp, &dir.path().join("out.png"))?;
        set_owner(&registry, id, "owner_start = owner_start + 1")?;
        let report = registry.recover()?;
        assert_eq!(report.failed.len(), 1);
        assert_eq!(report.failed[0].id, id);
        assert_eq!(report.failed[0].path, temp);
        assert!(report.removed.is_empty());
        assert_eq!(registry.pending_ids()?, vec![id], "left for a later try");
        assert!(temp.join("inside").exists());
        Ok(())
    }

    #[test]
    fn only_files_named_for_the_work_are_deleted() -> TestResult {
        let (dir, mut registry) = setup()?;
        let id = reserve(&mut registry)?;
        // A registry edited by hand (or crafted) names a file that is not a temporary file.
        let precious = dir.path().join("precious.png");
        std::fs::write(&precious, b"keep me")?;
        set_owner(
            &registry,
            id,
            &format!(
                "owner_start = owner_start + 1, temp_path = '{}'",
                precious.display()
            ),
        )?;
        let report = registry.recover()?;
        assert_eq!(report.removed, vec![id]);
        assert!(report.removed_temp_files.is_empty());
        assert_eq!(std::fs::read(&precious)?, b"keep me");
        Ok(())
    }

    #[test]
    fn report_serializes_ids_as_hex() -> TestResult {
        let report = RecoveryReport {
            completed: vec![0xab],
            ..RecoveryReport::default()
        };
        let json = serde_json::to_value(&report)?;
        assert_eq!(json["completed"][0], "00000000000000ab");
        Ok(())
    }
}
