//! Bad inputs are refused with exit 2 and a clear message, never a panic or an allocation.
//! None of these needs a working watermark, except where noted.

use std::fs;

use crate::support::*;

/// Every file in `dir` except the ones named.
fn others_in(dir: &std::path::Path, keep: &[&str]) -> Vec<String> {
    fs::read_dir(dir)
        .expect("dir reads")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| !keep.contains(&n.as_str()))
        .collect()
}

#[test]
fn truncated_png_is_refused() -> TestResult {
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("truncated.png");
    fs::write(&input, &fs::read(testdata("coffee.png"))?[..100])?;
    let out = run_embed(&input, dir.path().join("out.png"))?;
    assert_clean_failure(&out, "truncated.png: ");
    assert_clean_failure(&out, "truncated or corrupt");
    assert!(out.stdout.is_empty());
    assert_eq!(
        others_in(dir.path(), &["truncated.png"]),
        Vec::<String>::new()
    );

    let out = inkseal().arg("detect").arg(&input).output()?;
    assert_clean_failure(&out, "truncated or corrupt");
    assert!(out.stdout.is_empty());
    Ok(())
}

#[test]
fn text_file_named_png_is_refused() -> TestResult {
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("notes.png");
    fs::write(&input, "this is not an image\n")?;
    let out = run_embed(&input, dir.path().join("out.png"))?;
    assert_clean_failure(&out, "not a supported image (PNG, JPEG, WebP, TIFF)");
    assert_eq!(others_in(dir.path(), &["notes.png"]), Vec::<String>::new());

    let out = inkseal().arg("detect").arg(&input).output()?;
    assert_clean_failure(&out, "not a supported image");
    Ok(())
}

#[test]
fn unsupported_format_is_named() -> TestResult {
    let dir = tempfile::tempdir()?;
    let input = save(&noise_rgb(200, 200), dir.path(), "pic.gif");
    let out = run_embed(&input, dir.path().join("out.gif"))?;
    assert_clean_failure(&out, "GIF images are not supported");
    Ok(())
}

#[test]
fn huge_png_header_is_refused_without_allocating() -> TestResult {
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("huge.png");
    fs::write(&input, png_header_only(100_000, 100_000))?;
    let out = run_embed(&input, dir.path().join("out.png"))?;
    assert_clean_failure(&out, "30000 pixels per side");
    assert_eq!(others_in(dir.path(), &["huge.png"]), Vec::<String>::new());

    let out = inkseal().arg("detect").arg(&input).output()?;
    assert_clean_failure(&out, "30000 pixels per side");
    Ok(())
}

#[test]
fn png_needing_too_much_memory_is_refused() -> TestResult {
    // Within the side and pixel limits, but 10000 x 10000 16-bit RGBA is 800 MB decoded,
    // and 400 MB more for its 8-bit copy: over 1 GiB.
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("big.png");
    fs::write(&input, png_header_with(10_000, 10_000, 16, 6))?;
    let out = inkseal().arg("detect").arg(&input).output()?;
    assert_clean_failure(&out, "the limit is 1024 MiB");
    Ok(())
}

#[test]
fn output_equal_to_input_is_refused() -> TestResult {
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("in.png");
    fs::copy(testdata("coffee.png"), &input)?;
    let before = fs::read(&input)?;
    fs::create_dir(dir.path().join("sub"))?;
    std::os::unix::fs::symlink(&input, dir.path().join("link.png"))?;
    fs::hard_link(&input, dir.path().join("hard.png"))?;

    let same_names = [
        input.clone(),
        dir.path().join("sub/../in.png"),
        dir.path().join("./in.png"),
        dir.path().join("link.png"),
        dir.path().join("hard.png"),
    ];
    for output in &same_names {
        let out = run_embed(&input, output)?;
        assert_clean_failure(&out, "refusing to overwrite the input");
        assert!(out.stdout.is_empty());
    }
    // The same, relative to the working directory.
    let out = inkseal()
        .current_dir(dir.path())
        .args(["embed", "in.png", "-o", "in.png"])
        .output()?;
    assert_clean_failure(&out, "refusing to overwrite the input");

    assert_eq!(fs::read(&input)?, before, "the input changed");
    assert_eq!(
        others_in(dir.path(), &["in.png", "sub", "link.png", "hard.png"]),
        Vec::<String>::new()
    );
    Ok(())
}

#[test]
fn bad_work_ids_are_rejected() -> TestResult {
    let dir = tempfile::tempdir()?;
    let output = dir.path().join("out.png");
    for bad in ["xyz", "123", "0123456789abcdeg", "0123456789abcdef0", ""] {
        let out = embed_cmd(&testdata("coffee.png"), &output)
            .args(["--id", bad])
            .output()?;
        assert_clean_failure(&out, "16 hexadecimal digits");
        assert!(!output.exists());
    }
    Ok(())
}

#[test]
fn bad_strength_is_rejected() -> TestResult {
    let dir = tempfile::tempdir()?;
    let output = dir.path().join("out.png");
    for bad in ["0", "-1", "9", "NaN"] {
        let out = embed_cmd(&testdata("coffee.png"), &output)
            .arg(format!("--strength={bad}"))
            .output()?;
        assert_clean_failure(&out, "strength");
        assert!(!output.exists());
    }
    Ok(())
}

#[test]
fn output_extension_must_match_the_input_format() -> TestResult {
    let dir = tempfile::tempdir()?;
    let output = dir.path().join("out.jpg");
    let out = run_embed(&testdata("coffee.png"), &output)?;
    assert_clean_failure(&out, "with a .png extension");
    assert!(!output.exists());
    Ok(())
}

#[test]
fn missing_input_and_missing_output_directory_are_errors() -> TestResult {
    let dir = tempfile::tempdir()?;
    let out = embed_cmd(&dir.path().join("nope.png"), dir.path().join("out.png")).output()?;
    assert_clean_failure(&out, "nope.png: cannot open");

    let out = run_embed(
        &testdata("coffee.png"),
        dir.path().join("no/such/dir/out.png"),
    )?;
    assert_clean_failure(&out, "cannot create a file in");
    Ok(())
}

#[test]
fn bad_key_files_are_rejected() -> TestResult {
    let dir = tempfile::tempdir()?;
    let key = dir.path().join("bad.key");
    fs::write(&key, "inkseal-key-v1 abcd\n")?;
    let out = inkseal()
        .arg("detect")
        .arg("--key")
        .arg(&key)
        .arg(testdata("coffee.png"))
        .output()?;
    assert_clean_failure(&out, "invalid key");
    assert!(out.stdout.is_empty());

    let out = inkseal()
        .arg("detect")
        .arg("--key")
        .arg(dir.path().join("missing.key"))
        .arg(testdata("coffee.png"))
        .output()?;
    assert_clean_failure(&out, "missing.key");
    Ok(())
}

#[test]
fn no_arguments_is_a_usage_error() -> TestResult {
    let out = inkseal().output()?;
    assert_eq!(out.status.code(), Some(2));
    let out = inkseal().arg("detect").output()?;
    assert_eq!(out.status.code(), Some(2));
    let out = inkseal().args(["embed", "x.png"]).output()?;
    assert_eq!(out.status.code(), Some(2));
    Ok(())
}

/// Needs the library's size checks (`Error::TooSmall`, and "not searched" in detection).
#[test]
fn tiny_images_are_too_small_to_mark_and_carry_no_mark() -> TestResult {
    let dir = tempfile::tempdir()?;
    for side in [1u32, 16] {
        let name = format!("tiny{side}.png");
        let input = save(&noise_rgb(side, side), dir.path(), &name);
        let output = dir.path().join(format!("out{side}.png"));
        let out = run_embed(&input, &output)?;
        assert_clean_failure(&out, "too small");
        assert!(out.stdout.is_empty());
        assert!(!output.exists());

        let out = inkseal().arg("detect").arg(&input).output()?;
        assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr_of(&out));
        assert!(stdout_of(&out).contains(": no mark"), "{}", stdout_of(&out));
    }
    let mut names = others_in(dir.path(), &[]);
    names.sort();
    assert_eq!(names, ["tiny1.png", "tiny16.png"], "debris left behind");
    Ok(())
}
