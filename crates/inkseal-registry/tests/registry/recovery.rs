//! Crash recovery with real processes, killed at each step of the protocol.

use super::*;

/// Starts a child that stops at `mode`'s step, checks that recovery leaves it alone while it
/// runs, kills it and runs recovery. Returns the work ID and the report.
fn kill_at(
    mode: &str,
) -> Result<(tempfile::TempDir, u64, inkseal_registry::RecoveryReport), Box<dyn std::error::Error>>
{
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("registry.sqlite");
    let mut registry = Registry::open(&path)?;
    let mut proc = child(mode, &path, dir.path()).spawn()?;
    // The test harness prints its own lines first.
    let mut said = String::new();
    let mut reader = BufReader::new(proc.stdout.take().ok_or("stdout")?);
    let id = loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            proc.kill()?;
            return Err(format!("child ended without READY: {said:?}").into());
        }
        if let Some(&id) = parse_ids(&line, "READY").first() {
            break id;
        }
        said.push_str(&line);
    };

    // The owner is alive: recovery must not touch its work.
    let report = registry.recover()?;
    assert_eq!(report.in_progress, vec![id]);
    assert!(report.completed.is_empty() && report.removed.is_empty());
    assert_eq!(registry.pending_ids()?, vec![id]);

    proc.kill()?;
    proc.wait()?;
    let report = registry.recover()?;
    assert!(
        registry.pending_ids()?.is_empty(),
        "no orphan row after recovery"
    );
    assert!(
        !temp_name(dir.path(), id).exists(),
        "no temporary file after recovery"
    );
    Ok((dir, id, report))
}

#[test]
fn killed_after_reserve_leaves_nothing() -> TestResult {
    let (dir, id, report) = kill_at("hold-reserved")?;
    assert_eq!(report.removed, vec![id]);
    assert!(report.removed_temp_files.is_empty());
    assert!(!output_name(dir.path(), id).exists());
    assert!(
        Registry::open(dir.path().join("registry.sqlite"))?
            .list()?
            .is_empty()
    );
    Ok(())
}

#[test]
fn killed_while_writing_the_temp_file_leaves_nothing() -> TestResult {
    let (dir, id, report) = kill_at("hold-writing")?;
    assert_eq!(report.removed, vec![id]);
    assert_eq!(report.removed_temp_files, vec![temp_name(dir.path(), id)]);
    assert!(!output_name(dir.path(), id).exists());
    Ok(())
}

#[test]
fn killed_after_stage_removes_row_and_temp_file() -> TestResult {
    let (dir, id, report) = kill_at("hold-staged")?;
    assert_eq!(report.removed, vec![id]);
    assert_eq!(report.removed_temp_files, vec![temp_name(dir.path(), id)]);
    assert!(!output_name(dir.path(), id).exists());
    assert!(
        Registry::open(dir.path().join("registry.sqlite"))?
            .list()?
            .is_empty()
    );
    Ok(())
}

#[test]
fn killed_after_rename_completes_the_work() -> TestResult {
    let (dir, id, report) = kill_at("hold-renamed")?;
    assert_eq!(report.completed, vec![id]);
    assert!(report.removed.is_empty());
    let registry = Registry::open(dir.path().join("registry.sqlite"))?;
    let work = registry.get(id)?.ok_or("recovered work is complete")?;
    assert_eq!(std::fs::read(output_name(dir.path(), id))?, content(id));
    assert_eq!(work.sha256, sha256(&content(id)));
    Ok(())
}

#[test]
fn output_with_another_hash_is_left_alone() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("registry.sqlite");
    let mut registry = Registry::open(&path)?;
    let out = child("exit-after-stage", &path, dir.path()).output()?;
    assert!(out.status.success());
    let id = *parse_ids(&String::from_utf8_lossy(&out.stdout), "ID")
        .first()
        .ok_or("child printed its ID")?;
    // Someone else's file sits at the output path; the temporary file was never renamed.
    let theirs = b"a different file that inkseal did not write".to_vec();
    std::fs::write(output_name(dir.path(), id), &theirs)?;
    assert!(temp_name(dir.path(), id).exists());

    let report = registry.recover()?;
    assert_eq!(report.removed, vec![id]);
    assert!(report.completed.is_empty());
    assert_eq!(
        std::fs::read(output_name(dir.path(), id))?,
        theirs,
        "output untouched"
    );
    assert!(
        !temp_name(dir.path(), id).exists(),
        "our temporary file is removed"
    );
    assert!(registry.pending_ids()?.is_empty());
    assert!(registry.list()?.is_empty());
    // Nothing left to do.
    assert!(registry.recover()?.is_empty());
    Ok(())
}
