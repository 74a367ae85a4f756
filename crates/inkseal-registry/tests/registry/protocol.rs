//! The mark protocol: reserve, stage, complete, abandon, and the queries.

use super::*;

#[test]
fn reserve_stage_complete_round_trip() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut registry = Registry::open(dir.path().join("nested/dirs/registry.sqlite"))?;
    let id = registry.reserve(&new_work(2))?;
    assert_ne!(id, 0);
    // Pending: invisible to list and get.
    assert_eq!(registry.pending_ids()?, vec![id]);
    assert!(registry.list()?.is_empty());
    assert_eq!(registry.get(id)?, None);

    let staged = write_and_stage(&mut registry, dir.path(), id)?;
    assert!(registry.list()?.is_empty(), "staged is still pending");
    std::fs::rename(&staged.temp_path, &staged.output_path)?;
    registry.complete(id)?;

    let work = registry.get(id)?.ok_or("complete work is visible")?;
    let expected = new_work(2);
    assert_eq!(work.id, id);
    assert_eq!(work.title, expected.title);
    assert_eq!(work.artist, expected.artist);
    assert_eq!(work.license, expected.license);
    assert_eq!(work.training_allowed, expected.training_allowed);
    assert_eq!(work.key_id, expected.key_id);
    assert_eq!(work.sha256, staged.sha256);
    assert_eq!(work.phash, staged.phash);
    assert_eq!(work.manifest, staged.manifest);
    assert_eq!(
        work.output_path.as_deref(),
        Some(staged.output_path.as_path())
    );
    assert!(
        work.created.ends_with('Z') && work.created.len() == 24,
        "{}",
        work.created
    );
    assert_eq!(registry.list()?, vec![work.clone()]);
    assert!(registry.pending_ids()?.is_empty());

    // Reopening sees the same thing.
    drop(registry);
    let registry = Registry::open(dir.path().join("nested/dirs/registry.sqlite"))?;
    assert_eq!(registry.get(id)?, Some(work));
    Ok(())
}

#[test]
fn list_shows_only_complete_works_oldest_first() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut registry = Registry::open(dir.path().join("r.sqlite"))?;
    let first = mark(&mut registry, dir.path(), 1)?;
    let pending = registry.reserve(&new_work(2))?;
    let staged_only = registry.reserve(&new_work(3))?;
    write_and_stage(&mut registry, dir.path(), staged_only)?;
    let abandoned = registry.reserve(&new_work(4))?;
    registry.abandon(abandoned)?;
    let second = mark(&mut registry, dir.path(), 5)?;

    let listed: Vec<u64> = registry.list()?.iter().map(|w| w.id).collect();
    assert_eq!(listed, vec![first, second]);
    assert_eq!(
        registry.pending_ids()?.into_iter().collect::<BTreeSet<_>>(),
        BTreeSet::from([pending, staged_only])
    );
    assert_eq!(registry.get(pending)?, None);
    assert_eq!(registry.get(abandoned)?, None);
    Ok(())
}

fn dummy_staged(dir: &Path, id: u64) -> Staged {
    Staged {
        sha256: [1; 32],
        phash: 2,
        manifest: vec![3],
        output_path: output_name(dir, id),
        temp_path: temp_name(dir, id),
    }
}

#[test]
fn protocol_steps_refuse_the_wrong_state() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut registry = Registry::open(dir.path().join("r.sqlite"))?;
    let unknown = 0x0123_4567_89ab_cdef;
    let staged = dummy_staged(dir.path(), unknown);
    assert!(matches!(registry.stage(unknown, &staged), Err(Error::NotFound(id)) if id == unknown));
    assert!(matches!(
        registry.complete(unknown),
        Err(Error::NotFound(_))
    ));
    registry.abandon(unknown)?; // already gone: fine

    let id = registry.reserve(&new_work(0))?;
    let staged = dummy_staged(dir.path(), id);
    assert!(matches!(registry.complete(id), Err(Error::NotStaged(x)) if x == id));
    registry.stage(id, &staged)?;
    registry.complete(id)?;
    registry.complete(id)?; // idempotent
    assert!(matches!(registry.stage(id, &staged), Err(Error::NotPending(x)) if x == id));
    assert!(matches!(registry.abandon(id), Err(Error::NotPending(_))));
    assert!(
        registry.get(id)?.is_some(),
        "a complete work is never abandoned"
    );
    Ok(())
}

#[test]
fn stage_refuses_unsafe_temporary_paths() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut registry = Registry::open(dir.path().join("r.sqlite"))?;
    let id = registry.reserve(&new_work(0))?;
    let good = dummy_staged(dir.path(), id);
    let same = Staged {
        temp_path: good.output_path.clone(),
        ..good.clone()
    };
    let anonymous = Staged {
        temp_path: dir.path().join("out.png.tmp"),
        ..good.clone()
    };
    for bad in [same, anonymous] {
        let err = registry.stage(id, &bad).err().ok_or("must fail")?;
        assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    }
    let err = registry
        .record_paths(id, &dir.path().join("x.tmp"), &good.output_path)
        .err()
        .ok_or("must fail")?;
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    registry.stage(id, &good)?;
    Ok(())
}

#[test]
fn relative_paths_are_stored_absolute() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut registry = Registry::open(dir.path().join("r.sqlite"))?;
    let id = registry.reserve(&new_work(0))?;
    registry.stage(id, &dummy_staged(Path::new("relative"), id))?;
    registry.complete(id)?;
    let work = registry.get(id)?.ok_or("work")?;
    let expected = std::env::current_dir()?.join(output_name(Path::new("relative"), id));
    assert_eq!(work.output_path, Some(expected));
    Ok(())
}

#[test]
fn lookups_by_sha256_and_perceptual_hash() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut registry = Registry::open(dir.path().join("r.sqlite"))?;
    let mut hashes = Vec::new();
    for (n, phash) in [
        0xffff_0000_0000_0000u64,
        0xffff_0000_0000_0007,
        0x0000_ffff_ffff_ffff,
    ]
    .into_iter()
    .enumerate()
    {
        let id = registry.reserve(&new_work(n))?;
        let bytes = content(id);
        let staged = Staged {
            sha256: sha256(&bytes),
            phash,
            manifest: vec![n as u8],
            output_path: output_name(dir.path(), id),
            temp_path: temp_name(dir.path(), id),
        };
        registry.stage(id, &staged)?;
        registry.complete(id)?;
        hashes.push((id, staged.sha256));
    }
    let (id1, sha1) = hashes[1];
    assert_eq!(ids(&registry.find_by_sha256(&sha1)?), BTreeSet::from([id1]));
    assert!(registry.find_by_sha256(&[0; 32])?.is_empty());

    // Query 1 bit away from work 0, 2 bits away from work 1 (3 set bits vs. 1), far from 2.
    let near = registry.nearest_by_phash(0xffff_0000_0000_0001, 4)?;
    let got: Vec<(u64, u32)> = near.iter().map(|(w, d)| (w.id, *d)).collect();
    assert_eq!(got, vec![(hashes[0].0, 1), (hashes[1].0, 2)]);
    assert_eq!(
        registry.nearest_by_phash(0xffff_0000_0000_0001, 1)?.len(),
        1
    );
    assert!(
        registry
            .nearest_by_phash(0x00ff_00ff_00ff_00ff, 8)?
            .is_empty()
    );
    Ok(())
}

#[test]
fn default_path_is_registry_sqlite_in_the_data_dir() -> TestResult {
    let path = Registry::default_path()?;
    assert_eq!(
        path.file_name().and_then(|n| n.to_str()),
        Some("registry.sqlite")
    );
    assert!(path.is_absolute());
    Ok(())
}
