//! Tamper evidence: edited pixels under an intact manifest, and a manifest moved onto another
//! picture, are reported `invalid`, never `verified`. Needs the watermark.

use serde_json::Value;

use crate::support::*;
use crate::surgery::{app11_range, jpeg_segments, png_chunks, replace_png_pixels};

/// Prints what a tampered file was found to be (visible with `--nocapture`).
fn report(case: &str, r: &Value) {
    eprintln!(
        "{case}: verdict {}, state {}, binding {}, failures {:?}",
        r["verdict"],
        r["credentials"]["state"],
        r["binding"],
        failure_codes(&r["credentials"])
    );
}

#[test]
fn edited_png_pixels_under_an_intact_manifest_are_invalid() -> TestResult {
    let sb = Sandbox::new();
    let input = save(&coffee_crop(100, 50, 256), sb.path(), "in.png");
    let marked = sb.path().join("marked.png");
    let id = sb.mark(&input, &marked, &[])["work_id"]
        .as_str()
        .expect("work_id")
        .to_string();
    let original = std::fs::read(&marked)?;

    // Paint over a 24x24 block, then write the new pixels into the file's IDAT (stored
    // deflate, fresh CRC), keeping every other chunk, the caBX manifest included.
    let mut pixels = decode(&marked).to_rgb8();
    for y in 100..124 {
        for x in 100..124 {
            let p = pixels.get_pixel_mut(x, y);
            p.0 = [255 - p.0[0], 255 - p.0[1], 255 - p.0[2]];
        }
    }
    let edited = replace_png_pixels(&original, 256, pixels.as_raw());
    let tampered = sb.path().join("tampered.png");
    std::fs::write(&tampered, &edited)?;
    // The edit is what we meant: the file decodes to exactly the painted pixels, and the
    // manifest chunk is byte for byte where it was.
    assert_eq!(decode(&tampered).to_rgb8(), pixels);
    let cabx = |bytes: &[u8]| {
        let chunk = png_chunks(bytes)
            .into_iter()
            .find(|c| &c.kind == b"caBX")
            .expect("a caBX chunk");
        (chunk.range.start, bytes[chunk.range].to_vec())
    };
    assert_eq!(cabx(&edited), cabx(&original));

    let (r, code) = sb.verify(&tampered, &[]);
    report("png pixels", &r);
    assert_invalid_verdict(&r, code);
    assert_eq!(r["credentials"]["content_checked"], true);
    assert_failure(&r, "assertion.dataHash.mismatch");
    // The manifest itself is intact and still names the work.
    assert_eq!(r["bound_work_id"], id.as_str());
    // Credentials that fail are not replaced by the registry's copy.
    assert_eq!(r["recovered"], Value::Null);
    Ok(())
}

#[test]
fn flipped_bits_in_a_jpeg_scan_are_invalid() -> TestResult {
    let sb = Sandbox::new();
    let input = sb.path().join("in.jpg");
    save_jpeg(&coffee_crop(100, 50, 256), &input, 90);
    let marked = sb.path().join("marked.jpg");
    sb.mark(&input, &marked, &[]);
    let original = std::fs::read(&marked)?;
    let app11 = app11_range(&original);
    let (_, scan) = jpeg_segments(&original);
    assert!(scan > app11.end);

    // Flip one bit in 64 bytes in the middle of the entropy-coded data, leaving 0xFF bytes
    // (markers, stuffing) and their successors alone and never creating a 0xFF.
    let mut bytes = original.clone();
    let from = scan + (bytes.len() - scan) / 2;
    let mut flipped = 0;
    for i in from..from + 64 {
        if bytes[i] != 0xFF && bytes[i - 1] != 0xFF && bytes[i] ^ 0x10 != 0xFF {
            bytes[i] ^= 0x10;
            flipped += 1;
        }
    }
    assert!(flipped > 32);
    assert_eq!(bytes[..scan], original[..scan]);
    let tampered = sb.path().join("tampered.jpg");
    std::fs::write(&tampered, &bytes)?;
    assert_ne!(decode(&tampered).to_rgb8(), decode(&marked).to_rgb8());

    let (r, code) = sb.verify(&tampered, &[]);
    report("jpeg scan", &r);
    assert_invalid_verdict(&r, code);
    assert_failure(&r, "assertion.dataHash.mismatch");
    Ok(())
}

#[test]
fn a_manifest_moved_onto_another_picture_is_invalid() -> TestResult {
    let sb = Sandbox::new();
    let (a_in, b_in) = (sb.path().join("a.jpg"), sb.path().join("b.jpg"));
    save_jpeg(&coffee_crop(0, 0, 256), &a_in, 90);
    save_jpeg(&coffee_crop(320, 120, 256), &b_in, 90);
    let (a, b) = (
        sb.path().join("a.marked.jpg"),
        sb.path().join("b.marked.jpg"),
    );
    let id_a = sb.mark(&a_in, &a, &[])["work_id"]
        .as_str()
        .expect("work_id")
        .to_string();
    let id_b = sb.mark(&b_in, &b, &[])["work_id"]
        .as_str()
        .expect("work_id")
        .to_string();
    assert_ne!(id_a, id_b);

    // A's bytes with its APP11 (JUMBF) segments replaced by B's.
    let (a_bytes, b_bytes) = (std::fs::read(&a)?, std::fs::read(&b)?);
    let (a_app11, b_app11) = (app11_range(&a_bytes), app11_range(&b_bytes));
    let mut swapped = a_bytes[..a_app11.start].to_vec();
    swapped.extend_from_slice(&b_bytes[b_app11]);
    swapped.extend_from_slice(&a_bytes[a_app11.end..]);
    let path = sb.path().join("swapped.jpg");
    std::fs::write(&path, &swapped)?;
    assert_eq!(decode(&path).to_rgb8(), decode(&a).to_rgb8());

    let (r, code) = sb.verify(&path, &[]);
    report("swapped manifest", &r);
    assert_invalid_verdict(&r, code);
    // Both defences fire: the hash of the content no longer matches, and the manifest's soft
    // binding names B while the watermark in the pixels says A.
    assert_failure(&r, "assertion.dataHash.mismatch");
    assert_eq!(r["binding"], "mismatch");
    assert_eq!(r["bound_work_id"], id_b.as_str());
    assert_eq!(r["watermark"]["work_id"], id_a.as_str());
    Ok(())
}

/// `verify` found the credentials invalid: exit 1, verdict `invalid`, state `Invalid`.
fn assert_invalid_verdict(r: &serde_json::Value, code: Option<i32>) {
    assert_eq!(code, Some(1), "{r:#}");
    assert_eq!(r["verdict"], "invalid");
    assert_eq!(r["credentials"]["state"], "Invalid");
}

/// The credentials' failures include `code`.
fn assert_failure(r: &serde_json::Value, code: &str) {
    assert!(
        failure_codes(&r["credentials"]).contains(&code.to_string()),
        "no {code} in {r:#}"
    );
}
