//! `inkseal detect`: output lines, JSON records and grep-like exit codes.

use std::io::Read;
use std::process::Stdio;

use crate::support::*;

#[test]
fn unmarked_image_exits_1() -> TestResult {
    let input = testdata("coffee.png");
    let out = inkseal().arg("detect").arg(&input).output()?;
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let line = stdout_of(&out);
    let prefix = format!("{}: no mark (p = ", input.display());
    assert!(line.starts_with(&prefix) && line.ends_with(")\n"), "{line}");
    Ok(())
}

/// Needs the watermark.
#[test]
fn exit_code_is_0_only_when_every_input_is_marked() -> TestResult {
    let dir = tempfile::tempdir()?;
    let a = dir.path().join("a.png");
    let b = dir.path().join("b.png");
    let id_a = embed_ok(&testdata("coffee.png"), &a, &[]);
    let id_b = embed_ok(&testdata("astronaut.png"), &b, &[]);

    let out = inkseal().arg("detect").arg(&a).arg(&b).output()?;
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].starts_with(&format!("{}: work_id {id_a} (p = ", a.display())));
    assert!(lines[1].starts_with(&format!("{}: work_id {id_b} (p = ", b.display())));

    let out = inkseal()
        .arg("detect")
        .arg(&a)
        .arg(testdata("coffee.png"))
        .output()?;
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out).lines().count(), 2);
    Ok(())
}

/// Needs the watermark for the marked record.
#[test]
fn json_records_have_the_documented_fields_and_types() -> TestResult {
    let dir = tempfile::tempdir()?;
    let marked = dir.path().join("m.png");
    embed_ok(
        &testdata("coffee.png"),
        &marked,
        &["--id", "fedcba9876543210"],
    );
    let unmarked = testdata("coffee.png");
    let out = inkseal()
        .args(["detect", "--json"])
        .arg(&marked)
        .arg(&unmarked)
        .output()?;
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    assert_eq!(records.len(), 2);
    let key_id = inkseal_mark::Key::public().id();
    for (r, path) in records.iter().zip([&marked, &unmarked]) {
        assert_eq!(r["type"], "detection");
        assert_eq!(r["path"], path.to_string_lossy().as_ref());
        assert!(r["detected"].is_boolean());
        assert!(r["p_value"].is_f64());
        assert!(r["sync_z"].is_f64());
        assert_eq!(r["key_id"], key_id.as_str());
    }
    assert_eq!(records[0]["detected"], true);
    assert_eq!(records[0]["work_id"], "fedcba9876543210");
    assert!(records[0]["p_value"].as_f64().is_some_and(|p| p < 1e-6));
    assert_eq!(records[1]["detected"], false);
    assert!(records[1]["work_id"].is_null());
    assert!(
        records[1]["p_value"]
            .as_f64()
            .is_some_and(|p| p > 1e-6 && p <= 1.0)
    );
    Ok(())
}

#[test]
fn a_missing_file_gives_an_error_record_and_the_rest_still_runs() -> TestResult {
    let dir = tempfile::tempdir()?;
    let missing = dir.path().join("missing.png");
    let present = testdata("coffee.png");
    let out = inkseal()
        .args(["detect", "--json"])
        .arg(&missing)
        .arg(&present)
        .output()?;
    assert_eq!(out.status.code(), Some(2), "errors win over 'no mark'");
    let text = stdout_of(&out);
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    assert_eq!(records.len(), 2, "{text}");
    assert_eq!(records[0]["type"], "error");
    assert_eq!(records[0]["path"], missing.to_string_lossy().as_ref());
    assert!(records[0]["error"].as_str().is_some_and(|e| !e.is_empty()));
    assert_eq!(records[1]["type"], "detection");
    assert_eq!(records[1]["path"], present.to_string_lossy().as_ref());
    assert_eq!(records[1]["detected"], false);
    Ok(())
}

#[test]
fn text_errors_go_to_stderr_and_the_rest_still_runs() -> TestResult {
    let dir = tempfile::tempdir()?;
    let missing = dir.path().join("missing.png");
    let out = inkseal()
        .arg("detect")
        .arg(&missing)
        .arg(testdata("coffee.png"))
        .output()?;
    assert_eq!(out.status.code(), Some(2));
    let err = stderr_of(&out);
    assert!(
        err.starts_with(&format!("{}: error: ", missing.display())),
        "{err}"
    );
    let text = stdout_of(&out);
    assert_eq!(text.lines().count(), 1);
    assert!(text.contains(": no mark (p = "));
    Ok(())
}

#[test]
fn a_closed_pipe_ends_quietly() -> TestResult {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin!("inkseal"))
        .arg("detect")
        .args(std::iter::repeat_n(testdata("coffee.png"), 3))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // Close the reading end before the first result can be written.
    drop(child.stdout.take());
    let mut err = String::new();
    child
        .stderr
        .take()
        .ok_or("no stderr")?
        .read_to_string(&mut err)?;
    let status = child.wait()?;
    assert_eq!(status.code(), Some(0), "stderr: {err}");
    assert_eq!(err, "");
    Ok(())
}
