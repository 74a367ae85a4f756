//! `inkseal mark`: its record, and the refusals that must leave neither an output file nor
//! a registry row behind.

use std::fs;
use std::path::Path;

use crate::support::*;

/// Needs the watermark.
#[test]
fn json_record_has_the_documented_fields() -> TestResult {
    let sb = Sandbox::new();
    let input = save(&coffee_crop(100, 50, 256), sb.path(), "in.png");
    let output = sb.path().join("out.png");
    let license = "https://creativecommons.org/licenses/by/4.0/";
    let r = sb.mark(&input, &output, &["--license", license]);

    assert_eq!(r["type"], "mark");
    assert_eq!(r["input"], input.to_str().expect("utf-8"));
    assert_eq!(r["output"], output.to_str().expect("utf-8"));
    let id = r["work_id"].as_str().expect("work_id");
    assert!(is_hex16(id), "{id}");
    assert_eq!(r["title"], "Harbour at dusk");
    assert_eq!(r["artist"], "A. Painter");
    assert_eq!(r["license"], license);
    assert_eq!(r["training_allowed"], false);
    assert_eq!(r["key_id"], inkseal_mark::Key::public().id().as_str());
    // The first mark made local credentials named after the artist.
    assert_eq!(r["signer"], "CN=A. Painter, O=inkseal local credentials");
    assert!(sb.credentials().join("signer.key").is_file());
    assert_eq!(r["registry"], sb.registry().to_str().expect("utf-8"));
    assert_eq!(r["sha256"], sha256_hex(&output).as_str());
    assert!(r["psnr_db"].as_f64().expect("psnr_db") > 35.0, "{r}");
    assert_eq!(r["fragile"], false);
    assert_eq!(file_names(sb.path()), ["in.png", "out.png", "xdg-data"]);

    // The registry row describes the same file.
    let rows = sb.works(&[]);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["work_id"], id);
    assert_eq!(rows[0]["sha256"], r["sha256"]);
    assert_eq!(rows[0]["license"], license);
    assert_eq!(
        rows[0]["output_path"],
        fs::canonicalize(&output)?.to_str().expect("utf-8")
    );

    // Without --json: the bare work ID.
    let plain = sb.path().join("plain.png");
    let out = sb
        .cmd()
        .arg("mark")
        .arg(&input)
        .arg("-o")
        .arg(&plain)
        .args(["--title", "Second", "--artist", "A. Painter"])
        .output()?;
    assert!(out.status.success(), "{}", stderr_of(&out));
    let second = stdout_of(&out);
    assert!(
        second.ends_with('\n') && is_hex16(second.trim_end()),
        "{second:?}"
    );
    assert_ne!(second.trim_end(), id);
    assert_eq!(sb.works(&[]).len(), 2);
    Ok(())
}

/// `inkseal mark IN -o OUT --title … --artist … ARGS…` with the sandbox's environment.
fn run_mark(
    sb: &Sandbox,
    input: &Path,
    output: &Path,
    args: &[&str],
) -> std::io::Result<std::process::Output> {
    sb.cmd()
        .arg("mark")
        .arg(input)
        .arg("-o")
        .arg(output)
        .args(args)
        .output()
}

const WORK: [&str; 4] = ["--title", "Dunes", "--artist", "A. Painter"];

#[test]
fn output_naming_the_input_is_refused() -> TestResult {
    let sb = Sandbox::new();
    let input = save(&coffee_crop(0, 0, 256), sb.path(), "in.png");
    let before = fs::read(&input)?;
    let sub = sb.path().join("sub");
    fs::create_dir(&sub)?;
    for output in [input.clone(), sub.join("..").join("in.png")] {
        let out = run_mark(&sb, &input, &output, &WORK)?;
        assert_clean_failure(&out, "refusing to overwrite the input");
        assert!(out.stdout.is_empty());
    }
    assert_eq!(fs::read(&input)?, before);
    // Refused before anything was opened.
    assert!(!sb.registry().exists());
    assert_eq!(file_names(sb.path()), ["in.png", "sub"]);
    Ok(())
}

#[test]
fn empty_title_or_artist_is_refused() -> TestResult {
    let sb = Sandbox::new();
    let input = save(&coffee_crop(0, 0, 256), sb.path(), "in.png");
    let output = sb.path().join("out.png");
    for args in [
        ["--title", "", "--artist", "A. Painter"],
        ["--title", "  ", "--artist", "A. Painter"],
        ["--title", "Dunes", "--artist", ""],
    ] {
        let out = run_mark(&sb, &input, &output, &args)?;
        assert_clean_failure(&out, "--title and --artist must not be empty");
    }
    assert!(!output.exists());
    assert!(!sb.registry().exists());
    Ok(())
}

#[test]
fn too_small_image_leaves_no_output_and_no_row() -> TestResult {
    let sb = Sandbox::new();
    let input = save(&coffee_crop(0, 0, 100), sb.path(), "small.png");
    let output = sb.path().join("out.png");
    let out = run_mark(&sb, &input, &output, &WORK)?;
    assert_clean_failure(&out, "image too small to mark: 100x100 pixels");
    assert!(out.stdout.is_empty());
    assert_eq!(file_names(sb.path()), ["small.png", "xdg-data"]);
    // The work ID had been reserved: the pending row is gone again.
    assert!(sb.registry().exists());
    assert_eq!(registry_rows(&sb.registry()), []);
    Ok(())
}

/// Needs the watermark: the failure comes after marking and signing, when the file is written.
#[test]
fn unwritable_output_leaves_no_row() -> TestResult {
    let sb = Sandbox::new();
    let input = save(&coffee_crop(0, 0, 160), sb.path(), "in.png");
    let output = sb.path().join("missing-dir").join("out.png");
    let out = run_mark(&sb, &input, &output, &WORK)?;
    assert_clean_failure(&out, "cannot create");
    assert!(out.stdout.is_empty());
    assert_eq!(file_names(sb.path()), ["in.png", "xdg-data"]);
    assert_eq!(registry_rows(&sb.registry()), []);
    Ok(())
}

/// Needs the watermark (for the successful mark).
#[test]
fn own_certificate_works_and_a_key_of_another_certificate_is_refused() -> TestResult {
    let sb = Sandbox::new();
    let (one, two) = (sb.path().join("one"), sb.path().join("two"));
    for (dir, name) in [(&one, "One"), (&two, "Two")] {
        sb.cmd()
            .args(["credentials", "new", "--name", name, "--dir"])
            .arg(dir)
            .assert()
            .success();
    }
    let input = save(&coffee_crop(0, 0, 256), sb.path(), "in.png");
    let output = sb.path().join("out.png");
    let registry = sb.path().join("works.sqlite");
    let arg = |p: &Path| p.to_str().expect("utf-8").to_string();

    let mismatched = [
        "--cert".to_string(),
        arg(&one.join("signer.pem")),
        "--signing-key".to_string(),
        arg(&two.join("signer.key")),
        "--registry".to_string(),
        arg(&registry),
    ];
    let args: Vec<&str> = WORK
        .iter()
        .copied()
        .chain(mismatched.iter().map(String::as_str))
        .collect();
    let out = run_mark(&sb, &input, &output, &args)?;
    assert_clean_failure(
        &out,
        "the private key does not match the signing certificate's public key (CN=One",
    );
    assert!(!output.exists());
    assert!(!registry.exists(), "the registry was not even opened");
    // The default credentials were not created either: --cert was used instead.
    assert!(!sb.credentials().exists());

    // The matching pair signs, and whoever trusts One's CA trusts the result.
    let r = sb.mark(
        &input,
        &output,
        &[
            "--cert",
            &arg(&one.join("signer.pem")),
            "--signing-key",
            &arg(&one.join("signer.key")),
            "--registry",
            &arg(&registry),
        ],
    );
    assert_eq!(r["signer"], "CN=One, O=inkseal local credentials");
    assert!(!sb.credentials().exists());
    let (v, code) = sb.verify(
        &output,
        &[
            "--trust",
            &arg(&one.join("ca.pem")),
            "--registry",
            &arg(&registry),
        ],
    );
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(v["credentials"]["state"], "Trusted");
    assert_eq!(v["credentials"]["signer"]["common_name"], "One");
    Ok(())
}

#[test]
fn corrupt_registry_is_refused_and_left_untouched() -> TestResult {
    let sb = Sandbox::new();
    let input = save(&coffee_crop(0, 0, 256), sb.path(), "in.png");
    let output = sb.path().join("out.png");
    let registry = sb.path().join("registry.sqlite");
    // 4 KiB of deterministic noise.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let garbage: Vec<u8> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    fs::write(&registry, &garbage)?;
    let reg = registry.to_str().expect("utf-8");

    let out = run_mark(
        &sb,
        &input,
        &output,
        &[&WORK[..], &["--registry", reg]].concat(),
    )?;
    assert_clean_failure(&out, &format!("registry {reg}"));
    assert_clean_failure(&out, "is not an inkseal registry");
    assert!(out.stdout.is_empty());
    assert_eq!(fs::read(&registry)?, garbage);
    // No output, no temporary file, no -wal or -shm next to the registry.
    assert_eq!(
        file_names(sb.path()),
        ["in.png", "registry.sqlite", "xdg-data"]
    );

    for args in [
        &["works", "list", "--registry", reg][..],
        &["works", "export", "--registry", reg][..],
    ] {
        let out = sb.cmd().args(args).output()?;
        assert_clean_failure(&out, "is not an inkseal registry");
    }
    let out = sb
        .cmd()
        .args(["verify", "--registry", reg])
        .arg(&input)
        .output()?;
    assert_clean_failure(&out, "is not an inkseal registry");
    assert_eq!(fs::read(&registry)?, garbage);
    Ok(())
}

#[test]
fn a_registry_held_by_another_process_is_a_clear_error_and_leaves_nothing() -> TestResult {
    let sb = Sandbox::new();
    let input = save(&coffee_crop(0, 0, 256), sb.path(), "in.png");
    let first = sb.path().join("first.png");
    sb.mark(&input, &first, &[]);
    // Another writer holds the registry.
    let holder = rusqlite::Connection::open(sb.registry())?;
    holder.execute_batch("BEGIN EXCLUSIVE")?;
    let second = sb.path().join("second.png");
    let out = run_mark(
        &sb,
        &input,
        &second,
        &[&WORK[..], &["--lock-timeout", "0.3"]].concat(),
    )?;
    assert_clean_failure(&out, "is locked");
    assert!(!second.exists());
    holder.execute_batch("ROLLBACK")?;
    drop(holder);
    // Only the first work is there, and no temporary file was left.
    assert_eq!(sb.works(&[]).len(), 1);
    assert_eq!(file_names(sb.path()), ["first.png", "in.png", "xdg-data"]);
    Ok(())
}

/// The registry's rows (any state) whose recorded output is `output`: (work ID, state).
fn rows_for_output(sb: &Sandbox, output: &Path) -> Vec<(String, String)> {
    let conn = rusqlite::Connection::open(sb.registry()).expect("registry opens");
    let mut stmt = conn
        .prepare("SELECT id, state FROM works WHERE output_path = ?1 ORDER BY id")
        .expect("query prepares");
    let path = fs::canonicalize(output).unwrap_or_else(|_| output.to_path_buf());
    stmt.query_map([path.to_str().expect("utf-8")], |r| {
        let id = u64::from_ne_bytes(r.get::<_, i64>(0)?.to_ne_bytes());
        Ok((format!("{id:016x}"), r.get(1)?))
    })
    .expect("query runs")
    .collect::<Result<_, _>>()
    .expect("rows read")
}

/// Needs the watermark. Four `mark`s to one `-o` at once: one wins, the others fail cleanly
/// (exit 2, no temporary file, no row), and the file holds the one registered work.
#[test]
fn concurrent_marks_to_one_output_leave_one_work() -> TestResult {
    let sb = Sandbox::new();
    let input = save(&coffee_crop(0, 0, 160), sb.path(), "in.png");
    // A first mark creates the registry and the local credentials, so the race is only
    // about the output.
    sb.mark(&input, &sb.path().join("first.png"), &[]);
    let output = sb.path().join("out.png");
    let children: Vec<std::process::Child> = (0..4)
        .map(|i| {
            sb.std_cmd()
                .arg("mark")
                .arg(&input)
                .arg("-o")
                .arg(&output)
                .args(["--title", &format!("Take {i}"), "--artist", "A. Painter"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("inkseal starts")
        })
        .collect();
    let outputs: Vec<std::process::Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().expect("inkseal runs"))
        .collect();
    let winners: Vec<&std::process::Output> =
        outputs.iter().filter(|o| o.status.success()).collect();
    assert_eq!(
        winners.len(),
        1,
        "exit codes {:?}; stderr: {:?}",
        outputs.iter().map(|o| o.status.code()).collect::<Vec<_>>(),
        outputs.iter().map(stderr_of).collect::<Vec<_>>()
    );
    for out in outputs.iter().filter(|o| !o.status.success()) {
        assert_eq!(out.status.code(), Some(2), "{}", stderr_of(out));
        assert!(out.stdout.is_empty());
        let err = stderr_of(out);
        assert!(
            err.contains("already the output of work") || err.contains("already exists"),
            "{err}"
        );
        assert!(err.contains("out.png"), "{err}");
    }
    let id = stdout_of(winners[0]).trim_end().to_string();
    assert!(is_hex16(&id), "{id:?}");
    // One row for the path, the winner's, and it describes the file on disk.
    assert_eq!(
        rows_for_output(&sb, &output),
        [(id.clone(), "complete".into())]
    );
    let rows = registry_rows(&sb.registry());
    assert_eq!(rows.len(), 2, "{rows:?}");
    let row = rows.iter().find(|r| r.0 == id).expect("winner's row");
    assert_eq!(row.2.as_deref(), Some(sha256_hex(&output).as_str()));
    let (r, code) = sb.verify(&output, &[]);
    assert_eq!(
        (r["verdict"].as_str(), code),
        (Some("verified"), Some(0)),
        "{r:#}"
    );
    assert_eq!(r["watermark"]["work_id"], id.as_str());
    // No temporary file left by the losers.
    assert_eq!(
        file_names(sb.path()),
        ["first.png", "in.png", "out.png", "xdg-data"]
    );
    Ok(())
}

/// A file that exists at the output and was not written by this mark is never replaced.
#[test]
fn an_existing_output_is_refused_untouched() -> TestResult {
    let sb = Sandbox::new();
    let input = save(&coffee_crop(0, 0, 160), sb.path(), "in.png");
    let output = sb.path().join("out.png");
    fs::write(&output, b"someone's file")?;
    let out = run_mark(&sb, &input, &output, &WORK)?;
    assert_clean_failure(&out, "already exists and was not written by this mark");
    assert!(out.stdout.is_empty());
    assert_eq!(fs::read(&output)?, b"someone's file");
    assert_eq!(file_names(sb.path()), ["in.png", "out.png", "xdg-data"]);
    assert_eq!(registry_rows(&sb.registry()), []);
    Ok(())
}

/// Needs the watermark. A path the registry records as another work's output is refused even
/// when its file is gone, so one path never has two rows.
#[test]
fn an_output_recorded_for_another_work_is_refused() -> TestResult {
    let sb = Sandbox::new();
    let input = save(&coffee_crop(0, 0, 160), sb.path(), "in.png");
    let output = sb.path().join("out.png");
    let first = sb.mark(&input, &output, &[])["work_id"]
        .as_str()
        .expect("work_id")
        .to_string();
    let canonical = fs::canonicalize(&output)?;
    fs::remove_file(&output)?;
    let out = run_mark(&sb, &input, &output, &WORK)?;
    assert_clean_failure(
        &out,
        &format!("is already the output of work {first} (complete)"),
    );
    assert!(out.stdout.is_empty());
    assert!(!output.exists());
    assert_eq!(file_names(sb.path()), ["in.png", "xdg-data"]);
    let rows = registry_rows(&sb.registry());
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].0, first);
    let listed = sb.works(&[]);
    assert_eq!(listed[0]["output_path"], canonical.to_str().expect("utf-8"));
    Ok(())
}
