//! `inkseal mark DIR -o OUTDIR`: a whole portfolio, all or nothing per work, resumable.
//! Needs the watermark (the marked copies are checked with `detect`).

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};

use crate::support::*;

/// A portfolio folder with three markable images and a text file.
fn portfolio(sb: &Sandbox) -> PathBuf {
    let dir = sb.path().join("portfolio");
    fs::create_dir(&dir).expect("dir");
    save(&coffee_crop(0, 0, 240), &dir, "coffee_left.png");
    save(&coffee_crop(300, 100, 240), &dir, "coffee-right.png");
    save_jpeg(&coffee_crop(150, 50, 240), &dir.join("middle.jpg"), 92);
    fs::write(dir.join("notes.txt"), "not an image").expect("write");
    dir
}

/// `inkseal mark DIR -o OUT --artist "A. Painter" --json ARGS…`: exit code and records.
fn mark_dir(
    sb: &Sandbox,
    dir: &Path,
    out: &Path,
    args: &[&str],
) -> (Option<i32>, Vec<serde_json::Value>, String) {
    let output = sb
        .cmd()
        .arg("mark")
        .arg(dir)
        .arg("-o")
        .arg(out)
        .args(["--artist", "A. Painter", "--json"])
        .args(args)
        .output()
        .expect("inkseal runs");
    let records = stdout_of(&output)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON lines"))
        .collect();
    (output.status.code(), records, stderr_of(&output))
}

fn of_type<'a>(records: &'a [serde_json::Value], kind: &str) -> Vec<&'a serde_json::Value> {
    records.iter().filter(|r| r["type"] == kind).collect()
}

/// The work ID `detect` finds in a file.
fn detected_id(path: &Path) -> String {
    let out = inkseal()
        .args(["detect", "--json"])
        .arg(path)
        .output()
        .expect("inkseal runs");
    let record: serde_json::Value =
        serde_json::from_str(stdout_of(&out).trim()).expect("detect prints JSON");
    record["work_id"].as_str().unwrap_or("none").to_string()
}

#[test]
fn a_portfolio_is_marked_signed_and_registered() -> TestResult {
    let sb = Sandbox::new();
    let dir = portfolio(&sb);
    let before: BTreeMap<String, String> = file_names(&dir)
        .into_iter()
        .map(|n| (sha256_hex(&dir.join(&n)), n))
        .collect();
    let sidecar = sb.path().join("works.csv");
    fs::write(
        &sidecar,
        "file,title,license,allow_training\nmiddle.jpg,Cup from above,CC-BY-4.0,true\n",
    )?;
    let out = sb.path().join("marked");
    let (code, records, err) = mark_dir(
        &sb,
        &dir,
        &out,
        &[
            "--threads",
            "2",
            "--sidecar",
            sidecar.to_str().unwrap_or(""),
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    let marks = of_type(&records, "mark");
    assert_eq!(marks.len(), 3, "{records:?}");
    let summary = of_type(&records, "summary");
    assert_eq!(summary.len(), 1);
    assert_eq!(
        (&summary[0]["marked"], &summary[0]["failed"]),
        (&3.into(), &0.into())
    );

    // Same names in the output folder, each carrying the work ID its record names.
    assert_eq!(
        file_names(&out),
        ["coffee-right.png", "coffee_left.png", "middle.jpg"]
    );
    let mut titles = BTreeMap::new();
    for m in &marks {
        let output = PathBuf::from(m["output"].as_str().unwrap_or(""));
        assert_eq!(detected_id(&output), m["work_id"], "{m}");
        assert_eq!(m["sha256"], sha256_hex(&output).as_str());
        titles.insert(
            output.file_name().map(|n| n.to_string_lossy().into_owned()),
            (
                m["title"].clone(),
                m["training_allowed"].clone(),
                m["license"].clone(),
            ),
        );
    }
    assert_eq!(
        titles[&Some("coffee_left.png".to_string())],
        ("coffee left".into(), false.into(), serde_json::Value::Null)
    );
    assert_eq!(
        titles[&Some("middle.jpg".to_string())],
        ("Cup from above".into(), true.into(), "CC-BY-4.0".into())
    );

    // The registry holds the three complete works; the originals are untouched.
    let rows = registry_rows(&sb.registry());
    assert_eq!(rows.len(), 3);
    assert!(
        rows.iter().all(|(_, state, _)| state == "complete"),
        "{rows:?}"
    );
    let after: BTreeMap<String, String> = file_names(&dir)
        .into_iter()
        .map(|n| (sha256_hex(&dir.join(&n)), n))
        .collect();
    assert_eq!(before, after);

    // The signed manifest of a batch-marked work verifies.
    let (record, code) = sb.verify(&out.join("middle.jpg"), &[]);
    assert_eq!(code, Some(0), "{record:#}");
    assert_eq!(record["verdict"], "verified");
    Ok(())
}

#[test]
fn a_failed_work_leaves_nothing_and_a_rerun_finishes_the_batch() -> TestResult {
    let sb = Sandbox::new();
    let dir = portfolio(&sb);
    // Too small to carry a mark: this work fails, the others do not.
    save(&coffee_crop(0, 0, 100), &dir, "tiny.png");
    let out = sb.path().join("marked");
    let (code, records, err) = mark_dir(&sb, &dir, &out, &[]);
    assert_eq!(code, Some(2), "{err}");
    let errors = of_type(&records, "error");
    assert_eq!(errors.len(), 1, "{records:?}");
    assert!(
        errors[0]["path"]
            .as_str()
            .unwrap_or("")
            .ends_with("tiny.png")
    );
    assert!(
        errors[0]["error"]
            .as_str()
            .unwrap_or("")
            .contains("too small"),
        "{errors:?}"
    );
    let first: BTreeMap<String, String> = of_type(&records, "mark")
        .iter()
        .map(|m| (m["output"].to_string(), m["work_id"].to_string()))
        .collect();
    assert_eq!(first.len(), 3);
    assert!(!out.join("tiny.png").exists());
    assert_eq!(file_names(&out).len(), 3, "no temporary files left");
    assert_eq!(registry_rows(&sb.registry()).len(), 3);

    // The artist replaces the image and runs the same command: only that work is marked.
    save(&coffee_crop(200, 0, 256), &dir, "tiny.png");
    let (code, records, err) = mark_dir(&sb, &dir, &out, &[]);
    assert_eq!(code, Some(0), "{err}");
    let marks = of_type(&records, "mark");
    assert_eq!(marks.len(), 1, "{records:?}");
    assert!(
        marks[0]["input"]
            .as_str()
            .unwrap_or("")
            .ends_with("tiny.png")
    );
    let again: BTreeMap<String, String> = of_type(&records, "already_marked")
        .iter()
        .map(|m| (m["output"].to_string(), m["work_id"].to_string()))
        .collect();
    assert_eq!(again, first, "the same works, not new ones");
    let rows = registry_rows(&sb.registry());
    assert_eq!(rows.len(), 4);
    assert!(rows.iter().all(|(_, state, _)| state == "complete"));
    Ok(())
}

#[test]
fn a_killed_batch_is_finished_by_running_it_again() -> TestResult {
    let sb = Sandbox::new();
    let dir = portfolio(&sb);
    let out = sb.path().join("marked");
    // One thread, killed once the first work is staged (its file not yet renamed).
    let killed = sb
        .cmd()
        .env("INKSEAL_FAULT", "staged")
        .arg("mark")
        .arg(&dir)
        .arg("-o")
        .arg(&out)
        .args(["--artist", "A. Painter", "--threads", "1"])
        .output()?;
    assert_eq!(killed.status.signal(), Some(6), "{}", stderr_of(&killed));
    let rows = registry_rows(&sb.registry());
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].1, "pending");

    let (code, records, err) = mark_dir(&sb, &dir, &out, &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("registry: removed work"), "{err}");
    assert_eq!(of_type(&records, "mark").len(), 3, "{records:?}");
    assert_eq!(
        file_names(&out),
        ["coffee-right.png", "coffee_left.png", "middle.jpg"]
    );
    let rows = registry_rows(&sb.registry());
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(rows.iter().all(|(_, state, _)| state == "complete"));
    Ok(())
}

#[test]
fn an_output_that_is_not_ours_is_never_replaced() -> TestResult {
    let sb = Sandbox::new();
    let dir = portfolio(&sb);
    let out = sb.path().join("marked");
    fs::create_dir(&out)?;
    fs::write(out.join("middle.jpg"), b"someone else's file")?;
    let (code, records, err) = mark_dir(&sb, &dir, &out, &[]);
    assert_eq!(code, Some(2), "{err}");
    let errors = of_type(&records, "error");
    assert_eq!(errors.len(), 1, "{records:?}");
    assert!(
        errors[0]["error"]
            .as_str()
            .unwrap_or("")
            .contains("never replaced"),
        "{errors:?}"
    );
    assert_eq!(fs::read(out.join("middle.jpg"))?, b"someone else's file");
    assert_eq!(of_type(&records, "mark").len(), 2);
    Ok(())
}

#[test]
fn a_portfolio_is_never_marked_into_itself() -> TestResult {
    let sb = Sandbox::new();
    let dir = portfolio(&sb);
    let names = file_names(&dir);
    let out = sb
        .cmd()
        .arg("mark")
        .arg(&dir)
        .arg("-o")
        .arg(dir.join("."))
        .args(["--artist", "A. Painter"])
        .output()?;
    assert_clean_failure(&out, "is the input folder");
    assert_eq!(file_names(&dir), names);
    assert!(!sb.registry().exists());

    // A title names one work: for a folder it is a mistake, said before anything is done.
    let out = sb
        .cmd()
        .arg("mark")
        .arg(&dir)
        .arg("-o")
        .arg(sb.path().join("marked"))
        .args(["--artist", "A. Painter", "--title", "One"])
        .output()?;
    assert_clean_failure(&out, "--title names one work");
    assert!(!sb.path().join("marked").exists());
    Ok(())
}
