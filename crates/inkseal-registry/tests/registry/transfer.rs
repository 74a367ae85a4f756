//! Export and import.

use super::*;

fn filled_registry(
    dir: &Path,
    name: &str,
    n: usize,
) -> Result<Registry, Box<dyn std::error::Error>> {
    let mut registry = Registry::open(dir.join(name))?;
    for i in 0..n {
        mark(&mut registry, dir, i)?;
    }
    Ok(registry)
}

#[test]
fn export_import_round_trips_exactly() -> TestResult {
    let dir = tempfile::tempdir()?;
    let source = filled_registry(dir.path(), "a.sqlite", 6)?;
    let document = source.export()?;
    assert_eq!(document["format"], "inkseal-registry-v1");
    let first = &document["works"][0];
    let id = first["id"].as_str().ok_or("id is a string")?;
    assert!(
        id.len() == 16
            && id
                .bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
    );
    assert_eq!(first["sha256"].as_str().map(str::len), Some(64));

    let mut target = Registry::open(dir.path().join("b.sqlite"))?;
    let report = target.import(&document)?;
    assert_eq!((report.added, report.skipped_identical), (6, 0));
    assert!(report.conflicts.is_empty());
    assert_eq!(target.list()?, source.list()?);
    assert_eq!(target.export()?, document);
    assert_eq!(target.export_json()?, source.export_json()?);

    // The text form imports the same way; everything is already there.
    let again = target.import_str(&source.export_json()?)?;
    assert_eq!((again.added, again.skipped_identical), (0, 6));
    assert!(again.conflicts.is_empty());
    assert_eq!(target.list()?.len(), 6);
    Ok(())
}

#[test]
fn import_reports_conflicts_and_never_overwrites() -> TestResult {
    let dir = tempfile::tempdir()?;
    let source = filled_registry(dir.path(), "a.sqlite", 3)?;
    let mut target = Registry::open(dir.path().join("b.sqlite"))?;
    target.import(&source.export()?)?;
    let original = target.list()?;

    let mut document = source.export()?;
    document["works"][1]["title"] = "Someone else's title".into();
    let new_work = {
        let mut w = document["works"][0].clone();
        w["id"] = "00000000000000aa".into();
        w
    };
    document["works"]
        .as_array_mut()
        .ok_or("works array")?
        .push(new_work);
    let report = target.import(&document)?;
    assert_eq!(report.added, 1);
    assert_eq!(report.skipped_identical, 2);
    assert_eq!(report.conflicts, vec![original[1].id]);
    assert_eq!(
        target.get(original[1].id)?.as_ref(),
        Some(&original[1]),
        "kept ours"
    );
    assert!(target.get(0xaa)?.is_some());
    Ok(())
}

#[test]
fn import_refuses_bad_documents_and_writes_nothing() -> TestResult {
    let dir = tempfile::tempdir()?;
    let source = filled_registry(dir.path(), "a.sqlite", 2)?;
    let mut target = Registry::open(dir.path().join("b.sqlite"))?;

    let mut wrong_format = source.export()?;
    wrong_format["format"] = "inkseal-registry-v2".into();
    let err = target.import(&wrong_format).err().ok_or("must fail")?;
    assert!(
        matches!(&err, Error::Format(m) if m.contains("inkseal-registry-v2")),
        "{err:?}"
    );

    // The first work is fine, the second is not: nothing at all is imported.
    let mut bad_second = source.export()?;
    bad_second["works"][1]["created"] = "yesterday".into();
    let err = target.import(&bad_second).err().ok_or("must fail")?;
    assert!(
        matches!(&err, Error::Format(m) if m.contains("works[1]")),
        "{err:?}"
    );

    for broken in [
        serde_json::json!({"works": []}),
        serde_json::json!([1, 2]),
        serde_json::json!({"format": "inkseal-registry-v1", "works": [{"id": "12"}]}),
        serde_json::json!({"format": "inkseal-registry-v1", "works": [], "extra": 1}),
    ] {
        assert!(
            matches!(target.import(&broken), Err(Error::Format(_))),
            "{broken}"
        );
    }
    let mut zero_id = source.export()?;
    zero_id["works"][0]["id"] = "0000000000000000".into();
    assert!(matches!(target.import(&zero_id), Err(Error::Format(_))));
    let mut unknown_field = source.export()?;
    unknown_field["works"][0]["colour"] = "blue".into();
    assert!(matches!(
        target.import(&unknown_field),
        Err(Error::Format(_))
    ));
    assert!(matches!(
        target.import_str("{not json"),
        Err(Error::Format(_))
    ));

    assert!(target.list()?.is_empty());
    Ok(())
}
