//! `inkseal key new`.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::support::*;

#[test]
fn creates_a_private_parseable_key_and_prints_its_id() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("studio.key");
    let out = inkseal().args(["key", "new", "-o"]).arg(&path).output()?;
    assert!(out.status.success(), "{}", stderr_of(&out));
    let mode = fs::metadata(&path)?.permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "mode {mode:o}");
    let key = inkseal_mark::Key::from_text(&fs::read_to_string(&path)?)?;
    assert!(!key.is_public());
    assert_eq!(stdout_of(&out), format!("{}\n", key.id()));
    assert_eq!(
        fs::read_dir(dir.path())?.count(),
        1,
        "temporary files left behind"
    );
    Ok(())
}

#[test]
fn refuses_to_overwrite_unless_forced() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("studio.key");
    new_key(&path);
    let first = fs::read(&path)?;

    let out = inkseal().args(["key", "new", "-o"]).arg(&path).output()?;
    assert_clean_failure(&out, "already exists");
    assert_clean_failure(&out, "--force");
    assert!(out.stdout.is_empty());
    assert_eq!(fs::read(&path)?, first, "the key was replaced");

    let out = inkseal()
        .args(["key", "new", "--force", "--json", "-o"])
        .arg(&path)
        .output()?;
    assert!(out.status.success(), "{}", stderr_of(&out));
    let second = fs::read_to_string(&path)?;
    assert_ne!(second.as_bytes(), first.as_slice());
    let key = inkseal_mark::Key::from_text(&second)?;
    let record: serde_json::Value = serde_json::from_str(&stdout_of(&out))?;
    assert_eq!(record["type"], "key");
    assert_eq!(record["key_id"], key.id());
    assert_eq!(record["path"], path.to_string_lossy().as_ref());
    assert_eq!(fs::metadata(&path)?.permissions().mode() & 0o777, 0o600);
    Ok(())
}

#[test]
fn a_key_readable_by_others_draws_a_warning() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("studio.key");
    new_key(&path);
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644))?;
    let out = inkseal()
        .arg("detect")
        .arg("--key")
        .arg(&path)
        .arg(testdata("coffee.png"))
        .output()?;
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("chmod 600"), "{}", stderr_of(&out));
    Ok(())
}
