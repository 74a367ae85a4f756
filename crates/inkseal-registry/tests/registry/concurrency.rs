//! Concurrent `mark`s in threads and in processes never share an ID or lose a row.

use super::*;

#[test]
fn four_threads_get_100_distinct_ids() -> TestResult {
    let dir = tempfile::tempdir()?;
    // The file does not exist yet: the threads also race to create it.
    let path = dir.path().join("fresh/registry.sqlite");
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let path = path.clone();
            let out = dir.path().to_path_buf();
            std::thread::spawn(move || -> Result<Vec<u64>, String> {
                let mut registry = Registry::open(&path).map_err(|e| e.to_string())?;
                (0..25)
                    .map(|n| mark(&mut registry, &out, t * 25 + n).map_err(|e| e.to_string()))
                    .collect()
            })
        })
        .collect();
    let mut all = Vec::new();
    for handle in handles {
        all.extend(handle.join().map_err(|_| "thread panicked")??);
    }
    let distinct: BTreeSet<u64> = all.iter().copied().collect();
    assert_eq!(all.len(), 100);
    assert_eq!(distinct.len(), 100);
    let registry = Registry::open(&path)?;
    let works = registry.list()?;
    assert_eq!(works.len(), 100);
    assert_eq!(ids(&works), distinct);
    assert!(registry.pending_ids()?.is_empty());
    Ok(())
}

#[test]
fn four_processes_get_100_distinct_ids() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("registry.sqlite");
    let children: Vec<_> = (0..4)
        .map(|_| child("mark25", &path, dir.path()).spawn())
        .collect::<Result<_, _>>()?;
    let mut all = Vec::new();
    for c in children {
        let out = c.wait_with_output()?;
        assert!(out.status.success(), "child failed: {:?}", out.status);
        all.extend(parse_ids(&String::from_utf8_lossy(&out.stdout), "ID"));
    }
    let distinct: BTreeSet<u64> = all.iter().copied().collect();
    assert_eq!(all.len(), 100);
    assert_eq!(distinct.len(), 100);
    let registry = Registry::open(&path)?;
    let works = registry.list()?;
    assert_eq!(works.len(), 100);
    assert_eq!(ids(&works), distinct);
    assert!(registry.pending_ids()?.is_empty());
    for work in &works {
        let bytes = std::fs::read(work.output_path.as_ref().ok_or("output path")?)?;
        assert_eq!(sha256(&bytes), work.sha256);
    }
    Ok(())
}
