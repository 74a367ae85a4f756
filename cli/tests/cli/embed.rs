//! `inkseal embed`. Everything here needs a working watermark.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use image::{ColorType, DynamicImage, ImageFormat};

use crate::support::*;

/// Detects with the public key and returns the result line printed for the file (without
/// the geometry and tile-map lines indented under it).
fn detect_line(path: &Path) -> String {
    let out = inkseal().arg("detect").arg(path).output().expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    let (first, details) = text.split_once('\n').unwrap_or((&text, ""));
    assert!(details.lines().all(|l| l.starts_with("  ")), "{text}");
    format!("{first}\n")
}

#[test]
fn prints_only_the_work_id() -> TestResult {
    let dir = tempfile::tempdir()?;
    let output = dir.path().join("out.png");
    let out = embed_cmd(&testdata("coffee.png"), &output)
        .args(["--id", "0123456789ABCDEF"])
        .output()?;
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "0123456789abcdef\n");
    let line = detect_line(&output);
    let prefix = format!("{}: work_id 0123456789abcdef (p = ", output.display());
    assert!(line.starts_with(&prefix) && line.ends_with(")\n"), "{line}");
    assert_eq!(line.lines().count(), 1);
    Ok(())
}

#[test]
fn random_ids_differ_and_are_found() -> TestResult {
    let dir = tempfile::tempdir()?;
    let a = dir.path().join("a.png");
    let b = dir.path().join("b.png");
    let id_a = embed_ok(&testdata("coffee.png"), &a, &[]);
    let id_b = embed_ok(&testdata("coffee.png"), &b, &[]);
    assert_ne!(id_a, id_b);
    assert!(detect_line(&a).contains(&id_a));
    assert!(detect_line(&b).contains(&id_b));
    Ok(())
}

#[test]
fn json_record_has_the_documented_fields() -> TestResult {
    let dir = tempfile::tempdir()?;
    let output = dir.path().join("out.png");
    let out = embed_cmd(&testdata("coffee.png"), &output)
        .args(["--id", "00000000000000ff", "--json"])
        .output()?;
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    assert_eq!(text.lines().count(), 1);
    let v: serde_json::Value = serde_json::from_str(&text)?;
    assert_eq!(v["type"], "embed");
    assert_eq!(
        v["input"],
        testdata("coffee.png").to_string_lossy().as_ref()
    );
    assert_eq!(v["output"], output.to_string_lossy().as_ref());
    assert_eq!(v["work_id"], "00000000000000ff");
    assert_eq!(v["key_id"], inkseal_mark::Key::public().id());
    let psnr = v["psnr_db"].as_f64().ok_or("psnr_db is not a number")?;
    assert!(psnr > 30.0 && psnr < 80.0, "psnr {psnr}");
    Ok(())
}

#[test]
fn output_keeps_the_input_format() -> TestResult {
    let dir = tempfile::tempdir()?;
    let photo = coffee();
    for (name, format) in [
        ("in.png", ImageFormat::Png),
        ("in.jpg", ImageFormat::Jpeg),
        ("in.webp", ImageFormat::WebP),
        ("in.tiff", ImageFormat::Tiff),
    ] {
        let input = save(&photo, dir.path(), name);
        let ext = name.rsplit('.').next().unwrap_or_default();
        let output = dir.path().join(format!("out.{ext}"));
        let id = embed_ok(&input, &output, &[]);
        assert_eq!(format_of(&output), Some(format), "{name}");
        let marked = decode(&output);
        assert_eq!(marked.color(), ColorType::Rgb8, "{name}");
        assert_eq!((marked.width(), marked.height()), (600, 400));
        let line = detect_line(&output);
        assert!(line.contains(&format!("work_id {id}")), "{name}: {line}");
    }
    Ok(())
}

#[test]
fn lossless_outputs_change_pixels_only_slightly() -> TestResult {
    let dir = tempfile::tempdir()?;
    let output = dir.path().join("out.webp");
    let input = save(&coffee(), dir.path(), "in.webp");
    embed_ok(&input, &output, &[]);
    let (a, b) = (coffee().into_rgb8(), decode(&output).into_rgb8());
    let max = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| x.abs_diff(y))
        .max()
        .unwrap_or(0);
    assert!(max > 0, "nothing was marked");
    assert!(max <= 40, "a sample moved by {max}");
    Ok(())
}

/// JPEG segment markers: returns the payload of the first SOF0/SOF1/SOF2 segment.
fn jpeg_sof(bytes: &[u8]) -> Option<&[u8]> {
    let mut i = 2;
    while i + 4 <= bytes.len() {
        if bytes[i] != 0xff {
            return None;
        }
        let marker = bytes[i + 1];
        let len = u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]) as usize;
        if matches!(marker, 0xc0..=0xc2) {
            return bytes.get(i + 4..i + 2 + len);
        }
        i += 2 + len;
    }
    None
}

#[test]
fn jpeg_output_is_full_chroma_and_gray_stays_gray() -> TestResult {
    let dir = tempfile::tempdir()?;
    let colour = save(&coffee(), dir.path(), "colour.jpg");
    let out_colour = dir.path().join("colour.out.jpeg");
    embed_ok(&colour, &out_colour, &[]);
    let bytes = fs::read(&out_colour)?;
    let sof = jpeg_sof(&bytes).ok_or("no SOF")?;
    // precision, height, width, component count, then (id, sampling, table) per component.
    assert_eq!(sof[5], 3);
    for c in 0..3 {
        assert_eq!(sof[6 + 3 * c + 1], 0x11, "component {c} is subsampled");
    }

    let gray = save(
        &DynamicImage::ImageLuma8(coffee().into_luma8()),
        dir.path(),
        "gray.jpg",
    );
    let out_gray = dir.path().join("gray.out.jpg");
    let id = embed_ok(&gray, &out_gray, &[]);
    let bytes = fs::read(&out_gray)?;
    let sof = jpeg_sof(&bytes).ok_or("no SOF")?;
    assert_eq!(sof[5], 1, "gray JPEG became colour");
    assert_eq!(decode(&out_gray).color(), ColorType::L8);
    assert!(detect_line(&out_gray).contains(&id));
    Ok(())
}

#[test]
fn gray_gray_alpha_and_rgba_keep_their_channels() -> TestResult {
    let dir = tempfile::tempdir()?;
    let photo = coffee();
    let mut rgba = photo.to_rgba8();
    for (i, p) in rgba.pixels_mut().enumerate() {
        p[3] = (i % 251) as u8;
    }
    let mut la = photo.to_luma_alpha8();
    for (i, p) in la.pixels_mut().enumerate() {
        p[1] = (i % 241) as u8;
    }
    let cases = [
        (
            "gray.png",
            DynamicImage::ImageLuma8(photo.to_luma8()),
            ColorType::L8,
        ),
        ("la.png", DynamicImage::ImageLumaA8(la), ColorType::La8),
        ("rgba.png", DynamicImage::ImageRgba8(rgba), ColorType::Rgba8),
        (
            "rgba.webp",
            DynamicImage::ImageRgba8(photo.to_rgba8()),
            ColorType::Rgba8,
        ),
    ];
    for (name, img, color) in cases {
        let input = save(&img, dir.path(), name);
        let output = dir.path().join(format!("out.{name}"));
        let id = embed_ok(&input, &output, &[]);
        let marked = decode(&output);
        assert_eq!(marked.color(), color, "{name}");
        if color.has_alpha() {
            let alpha_in: Vec<u8> = img.to_rgba8().pixels().map(|p| p[3]).collect();
            let alpha_out: Vec<u8> = marked.to_rgba8().pixels().map(|p| p[3]).collect();
            assert!(alpha_in == alpha_out, "{name}: alpha changed");
        }
        assert!(detect_line(&output).contains(&id), "{name}");
    }
    Ok(())
}

#[test]
fn sixteen_bit_input_gives_eight_bit_output_with_a_note() -> TestResult {
    let dir = tempfile::tempdir()?;
    let input = save(
        &DynamicImage::ImageRgb16(coffee().to_rgb16()),
        dir.path(),
        "deep.png",
    );
    let output = dir.path().join("out.png");
    let out = run_embed(&input, &output)?;
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("8-bit"), "{}", stderr_of(&out));
    assert!(is_hex16(stdout_of(&out).trim_end()));
    assert_eq!(decode(&output).color(), ColorType::Rgb8);
    detect_line(&output);
    Ok(())
}

#[test]
fn an_existing_output_is_replaced_atomically_keeping_its_mode() -> TestResult {
    let dir = tempfile::tempdir()?;
    let output = dir.path().join("out.png");
    fs::write(&output, "old contents")?;
    fs::set_permissions(&output, fs::Permissions::from_mode(0o640))?;
    let id = embed_ok(&testdata("coffee.png"), &output, &[]);
    assert_eq!(format_of(&output), Some(ImageFormat::Png));
    assert_eq!(fs::metadata(&output)?.permissions().mode() & 0o777, 0o640);
    assert!(detect_line(&output).contains(&id));
    let names: Vec<_> = fs::read_dir(dir.path())?.collect();
    assert_eq!(names.len(), 1, "temporary files left behind");
    Ok(())
}

#[test]
fn private_keys_mark_what_only_they_find() -> TestResult {
    let dir = tempfile::tempdir()?;
    let key = dir.path().join("studio.key");
    new_key(&key);
    let output = dir.path().join("out.png");
    let id = embed_ok(
        &testdata("coffee.png"),
        &output,
        &["--key", key.to_str().ok_or("utf-8")?],
    );
    let out = inkseal()
        .arg("detect")
        .arg("--key")
        .arg(&key)
        .arg(&output)
        .output()?;
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert!(stdout_of(&out).contains(&id));

    // The public key does not see it.
    let out = inkseal().arg("detect").arg(&output).output()?;
    assert_eq!(out.status.code(), Some(1), "{}", stdout_of(&out));
    Ok(())
}

#[test]
fn mostly_white_artwork_draws_a_fragility_warning() -> TestResult {
    let dir = tempfile::tempdir()?;
    // Clip art on white from the held-out set: 96% pure white or black.
    let input = testdata("holdout/oc_07.png");
    let output = dir.path().join("out.png");
    let out = embed_cmd(&input, &output).arg("--json").output()?;
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("pure white or black"),
        "{}",
        stderr_of(&out)
    );
    let record: serde_json::Value = serde_json::from_str(&stdout_of(&out))?;
    assert_eq!(record["fragile"], true);
    // A photograph draws no such warning.
    let out = embed_cmd(&testdata("coffee.png"), dir.path().join("c.png"))
        .arg("--json")
        .output()?;
    assert!(!stderr_of(&out).contains("pure white or black"));
    let record: serde_json::Value = serde_json::from_str(&stdout_of(&out))?;
    assert_eq!(record["fragile"], false);
    Ok(())
}
