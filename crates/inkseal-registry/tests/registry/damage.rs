//! Locked registries, files that are not registries, damaged registries.

use super::*;

#[test]
fn a_held_write_lock_gives_locked() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("registry.sqlite");
    let mut holder = Registry::open(&path)?;
    let done = mark(&mut holder, dir.path(), 0)?;
    drop(holder);

    let other = rusqlite::Connection::open(&path)?;
    other.execute_batch("BEGIN EXCLUSIVE")?;
    // Opening and reading still work (WAL readers do not wait for writers) ...
    let mut registry = OpenOptions::new()
        .busy_timeout(Duration::from_millis(50))
        .open(&path)?;
    assert_eq!(ids(&registry.list()?), BTreeSet::from([done]));
    // ... but a write gives up after the timeout with a clear error.
    let err = registry
        .reserve(&new_work(1))
        .err()
        .ok_or("reserve must fail")?;
    assert!(matches!(err, Error::Locked { .. }), "{err:?}");
    assert!(err.to_string().contains("locked"), "{err}");
    other.execute_batch("ROLLBACK")?;
    registry.reserve(&new_work(1))?;
    Ok(())
}

fn assert_refused_untouched(path: &Path, expect: fn(&Error) -> bool) -> TestResult {
    let before = std::fs::read(path)?;
    let err = Registry::open(path).err().ok_or("open must fail")?;
    assert!(expect(&err), "{err:?}");
    assert_eq!(std::fs::read(path)?, before, "file modified");
    let wal = PathBuf::from(format!("{}-wal", path.display()));
    assert!(!wal.exists(), "WAL created next to a file that is not ours");
    Ok(())
}

#[test]
fn random_bytes_are_not_a_registry() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("noise.sqlite");
    let noise: Vec<u8> = (0..8192u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&path, noise)?;
    assert_refused_untouched(
        &path,
        |e| matches!(e, Error::NotARegistry { reason, .. } if reason.contains("not an SQLite database")),
    )?;
    // A few bytes only.
    std::fs::write(&path, b"hello")?;
    assert_refused_untouched(&path, |e| matches!(e, Error::NotARegistry { .. }))
}

#[test]
fn another_programs_database_is_not_a_registry() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("photos.db");
    {
        let conn = rusqlite::Connection::open(&path)?;
        conn.execute_batch(
            "CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT);
             INSERT INTO photos (name) VALUES ('beach.jpg');",
        )?;
    }
    assert_refused_untouched(
        &path,
        |e| matches!(e, Error::NotARegistry { reason, .. } if reason.contains("photos")),
    )
}

#[test]
fn a_newer_schema_is_refused() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("registry.sqlite");
    drop(Registry::open(&path)?);
    rusqlite::Connection::open(&path)?.pragma_update(None, "user_version", 3)?;
    let err = Registry::open(&path).err().ok_or("open must fail")?;
    assert!(
        matches!(
            err,
            Error::NewerSchema {
                found: 3,
                supported: 2,
                ..
            }
        ),
        "{err:?}"
    );
    Ok(())
}

#[test]
fn an_empty_file_becomes_a_registry() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("registry.sqlite");
    std::fs::write(&path, b"")?;
    let mut registry = Registry::open(&path)?;
    mark(&mut registry, dir.path(), 0)?;
    assert_eq!(registry.list()?.len(), 1);
    Ok(())
}

/// A registry of 40 works, closed (so its WAL is checkpointed into the file): its bytes.
fn closed_registry(dir: &Path, path: &Path) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    {
        let mut registry = Registry::open(path)?;
        for n in 0..40 {
            mark(&mut registry, dir, n)?;
        }
        registry.check()?;
    }
    let bytes = std::fs::read(path)?;
    assert!(bytes.len() > 4 * 4096, "several pages: {}", bytes.len());
    Ok(bytes)
}

/// Opening and listing, or failing that the full check, reports damage as `Corrupt`.
fn assert_corrupt(path: &Path) -> TestResult {
    let err = match Registry::open(path).and_then(|r| r.list().map(|_| r)) {
        Err(err) => err,
        Ok(registry) => registry.check().err().ok_or("damage must be found")?,
    };
    assert!(matches!(err, Error::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains("corrupt"), "{err}");
    Ok(())
}

#[test]
fn a_damaged_registry_is_corrupt() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("registry.sqlite");
    let mut bytes = closed_registry(dir.path(), &path)?;
    // Overwrite every page after the first (which holds the schema) with garbage.
    for (i, b) in bytes[4096..].iter_mut().enumerate() {
        *b = (i as u32).wrapping_mul(2_654_435_761).rotate_right(11) as u8;
    }
    std::fs::write(&path, &bytes)?;
    assert_corrupt(&path)
}

#[test]
fn a_truncated_registry_is_corrupt() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("registry.sqlite");
    let bytes = closed_registry(dir.path(), &path)?;
    std::fs::write(&path, &bytes[..bytes.len() / 2])?;
    assert_corrupt(&path)
}

#[test]
fn a_version_1_registry_is_upgraded_and_keeps_its_rows() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("registry.sqlite");
    let mut registry = Registry::open(&path)?;
    let id = registry.reserve(&inkseal_registry::NewWork {
        title: "Old".into(),
        artist: "A".into(),
        ..Default::default()
    })?;
    drop(registry);
    // Make it what schema version 1 wrote: no owner_token column.
    let conn = rusqlite::Connection::open(&path)?;
    conn.execute_batch("ALTER TABLE works DROP COLUMN owner_token")?;
    conn.pragma_update(None, "user_version", 1)?;
    drop(conn);

    let registry = Registry::open(&path)?;
    assert_eq!(registry.pending_ids()?, vec![id]);
    drop(registry);
    let conn = rusqlite::Connection::open(&path)?;
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    assert_eq!(version, 2);
    let token: Option<String> =
        conn.query_row("SELECT owner_token FROM works", [], |r| r.get(0))?;
    assert_eq!(token, None);
    Ok(())
}
