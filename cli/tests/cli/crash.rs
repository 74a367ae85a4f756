//! Crash safety: a `mark` killed at any step leaves nothing half done once the registry is
//! opened again, and concurrent `mark`s never share a work ID. Needs the watermark.

use std::collections::BTreeSet;
use std::os::unix::process::ExitStatusExt;
use std::time::Instant;

use crate::support::*;

/// SIGABRT on Linux: what `std::process::abort` raises.
const SIGABRT: i32 = 6;

/// Runs `mark` with `INKSEAL_FAULT=step`, checks what the dead process left, lets
/// `works list` recover the registry, and returns the sandbox, the output path and the work
/// ID for the caller's checks.
fn killed_at(step: &str) -> (Sandbox, std::path::PathBuf, String) {
    let sb = Sandbox::new();
    let input = save(&coffee_crop(0, 0, 160), sb.path(), "in.png");
    let out_dir = sb.path().join("out");
    std::fs::create_dir(&out_dir).expect("dir");
    let output = out_dir.join("work.png");
    let out = sb
        .cmd()
        .env("INKSEAL_FAULT", step)
        .arg("mark")
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .args(["--title", "Dunes", "--artist", "A. Painter"])
        .output()
        .expect("inkseal runs");
    assert_eq!(out.status.code(), None, "{step}: {}", stderr_of(&out));
    assert_eq!(out.status.signal(), Some(SIGABRT), "{step}");
    assert!(out.stdout.is_empty());

    // The dead process left exactly one pending row: the fault struck where it should.
    let rows = registry_rows(&sb.registry());
    assert_eq!(rows.len(), 1, "{step}: {rows:?}");
    let (id, state, sha) = rows[0].clone();
    assert_eq!(state, "pending", "{step}");
    let temp = out_dir.join(format!(".work.png.{id}.tmp"));
    let on_disk = file_names(&out_dir);
    match step {
        "reserved" => assert_eq!(on_disk, Vec::<String>::new()),
        "written" => {
            assert_eq!(on_disk, [format!(".work.png.{id}.tmp")]);
            assert_eq!(sha, None, "not staged yet");
        }
        "staged" => {
            assert_eq!(on_disk, [format!(".work.png.{id}.tmp")]);
            assert_eq!(sha.as_deref(), Some(sha256_hex(&temp).as_str()));
        }
        "renamed" => {
            assert_eq!(on_disk, ["work.png"]);
            assert_eq!(sha.as_deref(), Some(sha256_hex(&output).as_str()));
        }
        _ => unreachable!(),
    }

    // Opening the registry settles the dead process's work.
    let out = sb
        .cmd()
        .args(["works", "list", "--json"])
        .output()
        .expect("inkseal runs");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let note = if step == "renamed" {
        format!("registry: finished work {id}")
    } else {
        format!("registry: removed work {id}")
    };
    assert!(stderr_of(&out).contains(&note), "{}", stderr_of(&out));
    (sb, output, id)
}

fn assert_nothing_left(step: &str) {
    let (sb, output, _) = killed_at(step);
    assert_eq!(registry_rows(&sb.registry()), [], "{step}");
    assert_eq!(sb.works(&[]), Vec::<serde_json::Value>::new());
    let dir = output.parent().expect("output dir");
    assert_eq!(file_names(dir), Vec::<String>::new(), "{step}");
}

#[test]
fn killed_after_reserving_leaves_nothing() {
    assert_nothing_left("reserved");
}

#[test]
fn killed_after_writing_the_temporary_file_leaves_nothing() {
    assert_nothing_left("written");
}

#[test]
fn killed_after_staging_leaves_nothing() {
    assert_nothing_left("staged");
}

#[test]
fn killed_after_renaming_leaves_a_complete_work() {
    let (sb, output, id) = killed_at("renamed");
    let sha = sha256_hex(&output);
    assert_eq!(
        registry_rows(&sb.registry()),
        [(id.clone(), "complete".to_string(), Some(sha.clone()))]
    );
    let rows = sb.works(&[]);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["work_id"], id.as_str());
    assert_eq!(rows[0]["sha256"], sha.as_str());
    let dir = output.parent().expect("output dir");
    assert_eq!(file_names(dir), ["work.png"]);

    let (r, code) = sb.verify(&output, &[]);
    assert_eq!(code, Some(0), "{r:#}");
    assert_eq!(r["verdict"], "verified");
    assert_eq!(r["bound_work_id"], id.as_str());
    assert_eq!(r["watermark"]["work_id"], id.as_str());
}

/// 4 processes at a time, 100 marks in all, on one fresh registry and data directory (so the
/// first marks also race to create the local credentials).
#[test]
fn parallel_marks_get_distinct_ids_and_rows() -> TestResult {
    const WORKERS: usize = 4;
    const EACH: usize = 25;
    let sb = Sandbox::new();
    let input = save(&coffee_crop(200, 100, 160), sb.path(), "in.png");
    let out_dir = sb.path().join("out");
    std::fs::create_dir(&out_dir)?;

    let started = Instant::now();
    let results: Vec<(std::path::PathBuf, std::process::Output)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..WORKERS)
            .map(|w| {
                let (sb, input, out_dir) = (&sb, &input, &out_dir);
                s.spawn(move || {
                    (0..EACH)
                        .map(|i| {
                            let output = out_dir.join(format!("w{w}-{i:02}.png"));
                            let out = sb
                                .std_cmd()
                                .arg("mark")
                                .arg(input)
                                .arg("-o")
                                .arg(&output)
                                .args(["--title", &format!("Work {w}/{i}")])
                                .args(["--artist", "A. Painter"])
                                .output()
                                .expect("inkseal runs");
                            (output, out)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|h| h.join().expect("worker thread"))
            .collect()
    });
    eprintln!(
        "{} marks by {WORKERS} concurrent processes in {:.1?}",
        results.len(),
        started.elapsed()
    );

    let mut ids = BTreeSet::new();
    for (output, out) in &results {
        assert!(
            out.status.success(),
            "{}: {}",
            output.display(),
            stderr_of(out)
        );
        let id = stdout_of(out).trim_end().to_string();
        assert!(is_hex16(&id), "{id:?}");
        assert!(ids.insert(id.clone()), "work ID {id} given twice");
        assert!(output.is_file());
    }
    assert_eq!(ids.len(), WORKERS * EACH);

    let rows = sb.works(&[]);
    let listed: BTreeSet<String> = rows
        .iter()
        .map(|r| r["work_id"].as_str().expect("work_id").to_string())
        .collect();
    assert_eq!(listed, ids);
    assert_eq!(rows.len(), WORKERS * EACH);
    // Each row records its own file, byte for byte.
    for row in &rows {
        let path = std::path::PathBuf::from(row["output_path"].as_str().expect("output_path"));
        assert_eq!(
            row["sha256"],
            sha256_hex(&path).as_str(),
            "{}",
            path.display()
        );
    }
    // No pending rows, no temporary files.
    assert!(
        registry_rows(&sb.registry())
            .iter()
            .all(|(_, state, _)| state == "complete")
    );
    assert_eq!(file_names(&out_dir).len(), WORKERS * EACH);
    // One set of local credentials was made and signed everything: works of the first and
    // the last worker are trusted with the CA now on disk.
    for name in ["w0-00.png", "w3-24.png"] {
        let (r, code) = sb.verify(&out_dir.join(name), &[]);
        assert_eq!(code, Some(0), "{r:#}");
        assert_eq!(r["credentials"]["state"], "Trusted", "{name}");
    }
    Ok(())
}
