//! `inkseal verify`: Content Credentials, the watermark and the registry, side by side.
//! All of these need the watermark.

use image::imageops::FilterType;
use serde_json::Value;

use crate::support::*;
use crate::surgery::{app11_range, jpeg_segments};

const TRAINING_ENTRIES: [&str; 4] = [
    "cawg.ai_generative_training",
    "cawg.ai_inference",
    "cawg.ai_training",
    "cawg.data_mining",
];

/// The training entries of a credentials report, sorted, with their `use`.
fn training(credentials: &Value) -> Vec<(String, String)> {
    let mut terms: Vec<(String, String)> = credentials["training"]
        .as_array()
        .expect("training is an array")
        .iter()
        .map(|t| {
            (
                t["entry"].as_str().expect("entry").to_string(),
                t["use"].as_str().expect("use").to_string(),
            )
        })
        .collect();
    terms.sort();
    terms
}

fn all_training(use_: &str) -> Vec<(String, String)> {
    TRAINING_ENTRIES
        .iter()
        .map(|e| (e.to_string(), use_.to_string()))
        .collect()
}

/// The headline scenario: the credentials survive a platform that strips the manifest,
/// re-encodes and downsizes the picture, because the watermark leads back to the registry.
#[test]
fn stripped_reencoded_and_halved_copy_is_recovered_from_the_registry() -> TestResult {
    let sb = Sandbox::new();
    let input = sb.path().join("photo.jpg");
    save_jpeg(&coffee_crop(100, 0, 400), &input, 90);
    let marked = sb.path().join("photo.marked.jpg");
    let license = "https://creativecommons.org/licenses/by-nc/4.0/";
    let record = sb.mark(&input, &marked, &["--license", license]);
    let id = record["work_id"].as_str().expect("work_id").to_string();

    // What a platform does: decode, drop every metadata segment, re-encode, then downsize.
    let reencoded = sb.path().join("reencoded.jpg");
    save_jpeg(&decode(&marked), &reencoded, 90);
    let (segments, _) = jpeg_segments(&std::fs::read(&reencoded)?);
    assert!(
        segments.iter().all(|s| s.marker != 0xEB),
        "the re-encoded copy still has an APP11 (JUMBF) segment"
    );
    let halved = sb.path().join("halved.jpg");
    let small = decode(&reencoded).resize_exact(200, 200, FilterType::Triangle);
    save_jpeg(&small, &halved, 90);

    let (r, code) = sb.verify(&halved, &[]);
    assert_eq!(code, Some(0), "{r:#}");
    assert_eq!(r["verdict"], "recovered", "{r:#}");
    assert_eq!(r["credentials"], Value::Null);
    assert_eq!(r["credentials_error"], Value::Null);
    assert_eq!(r["binding"], "no_manifest");
    assert_eq!(r["watermark"]["detected"], true);
    assert_eq!(r["watermark"]["work_id"], id.as_str());
    let rec = &r["recovered"];
    assert_eq!(rec["work_id"], id.as_str());
    assert_eq!(rec["title"], "Harbour at dusk");
    assert_eq!(rec["artist"], "A. Painter");
    assert_eq!(rec["license"], license);
    assert_eq!(rec["training_allowed"], false);
    assert_eq!(rec["sha256"], sha256_hex(&marked).as_str());
    assert_eq!(rec["identical"], false);
    let distance = rec["phash_distance"].as_u64().expect("phash_distance");
    eprintln!(
        "recovered: watermark p = {}, perceptual hash {distance} bits away",
        r["watermark"]["p_value"]
    );
    assert!(distance <= 6, "perceptual hash {distance} bits away");
    assert_eq!(rec["same_picture"], true);
    assert_eq!(rec["manifest_error"], Value::Null);
    let manifest = &rec["manifest"];
    // The local CA is the default trust anchor; the stored manifest is checked on its own.
    assert_eq!(manifest["state"], "Trusted", "{manifest:#}");
    assert_eq!(manifest["content_checked"], false);
    assert_eq!(manifest["source"]["type"], "stored");
    assert_eq!(manifest["title"], "Harbour at dusk");
    assert_eq!(manifest["creators"], serde_json::json!(["A. Painter"]));
    assert_eq!(manifest["license"], license);
    assert_eq!(soft_binding_id(manifest), id);
    assert_eq!(training(manifest), all_training("notAllowed"));

    // The recovery comes from the registry: with an empty one there is nothing to show.
    let empty = sb.path().join("empty.sqlite");
    sb.cmd()
        .args(["works", "import", "--registry"])
        .arg(&empty)
        .arg(write_empty_export(sb.path())?)
        .assert()
        .success();
    let (r, code) = sb.verify(&halved, &["--registry", empty.to_str().expect("utf-8")]);
    assert_eq!(code, Some(1), "{r:#}");
    assert_eq!(r["verdict"], "unverified");
    assert_eq!(r["watermark"]["work_id"], id.as_str());
    assert_eq!(r["recovered"], Value::Null);
    Ok(())
}

fn write_empty_export(dir: &std::path::Path) -> std::io::Result<std::path::PathBuf> {
    let path = dir.join("empty-export.json");
    std::fs::write(&path, r#"{"format":"inkseal-registry-v1","works":[]}"#)?;
    Ok(path)
}

#[test]
fn signed_jpeg_is_trusted_with_the_local_ca_and_valid_with_another() -> TestResult {
    let sb = Sandbox::new();
    let input = sb.path().join("in.jpg");
    save_jpeg(&coffee_crop(100, 50, 256), &input, 90);
    let marked = sb.path().join("marked.jpg");
    let id = sb.mark(&input, &marked, &[])["work_id"]
        .as_str()
        .expect("work_id")
        .to_string();

    let (r, code) = sb.verify(&marked, &[]);
    assert_eq!(code, Some(0), "{r:#}");
    assert_eq!(r["verdict"], "verified");
    let c = &r["credentials"];
    assert_eq!(c["state"], "Trusted", "{c:#}");
    assert_eq!(c["content_checked"], true);
    assert_eq!(c["source"]["type"], "embedded");
    assert_eq!(failure_codes(c), Vec::<String>::new());
    assert_eq!(c["title"], "Harbour at dusk");
    assert_eq!(c["creators"], serde_json::json!(["A. Painter"]));
    assert_eq!(c["signer"]["common_name"], "A. Painter");
    assert_eq!(training(c), all_training("notAllowed"));
    assert_eq!(soft_binding_id(c), id);
    assert_eq!(r["bound_work_id"], id.as_str());
    assert_eq!(r["watermark"]["work_id"], id.as_str());
    assert_eq!(r["binding"], "agree");
    // The file carries its own credentials: no registry lookup.
    assert_eq!(r["recovered"], Value::Null);

    // Someone who trusts another CA sees a sound manifest from an unknown signer.
    let other = sb.path().join("other-ca");
    sb.cmd()
        .args(["credentials", "new", "--dir"])
        .arg(&other)
        .assert()
        .success();
    let trust = other.join("ca.pem");
    let (r, code) = sb.verify(&marked, &["--trust", trust.to_str().expect("utf-8")]);
    assert_eq!(code, Some(0), "{r:#}");
    assert_eq!(r["verdict"], "verified");
    assert_eq!(r["credentials"]["state"], "Valid");
    assert_eq!(
        failure_codes(&r["credentials"]),
        vec!["signingCredential.untrusted".to_string()]
    );
    assert_eq!(r["binding"], "agree");

    // The human-readable form says the same.
    let out = sb.cmd().arg("verify").arg(&marked).output()?;
    assert_eq!(out.status.code(), Some(0));
    let text = stdout_of(&out);
    assert!(
        text.starts_with(&format!("{}: verified\n", marked.display())),
        "{text}"
    );
    assert!(text.contains("  manifest: Trusted\n"), "{text}");
    assert!(
        text.contains(&format!("  soft binding: work {id} (agree)\n")),
        "{text}"
    );
    Ok(())
}

#[test]
fn allow_training_is_written_into_a_png_manifest() -> TestResult {
    let sb = Sandbox::new();
    let input = save(&coffee_crop(300, 100, 256), sb.path(), "in.png");
    let marked = sb.path().join("marked.png");
    let record = sb.mark(&input, &marked, &["--allow-training"]);
    assert_eq!(record["training_allowed"], true);
    assert_eq!(format_of(&marked), Some(image::ImageFormat::Png));

    let (r, code) = sb.verify(&marked, &[]);
    assert_eq!(code, Some(0), "{r:#}");
    assert_eq!(r["verdict"], "verified");
    assert_eq!(r["credentials"]["state"], "Trusted");
    assert_eq!(training(&r["credentials"]), all_training("allowed"));
    assert_eq!(r["binding"], "agree");
    assert_eq!(sb.works(&[])[0]["training_allowed"], true);
    Ok(())
}

#[test]
fn unsigned_image_is_unverified() -> TestResult {
    let sb = Sandbox::new();
    let plain = save(&coffee_crop(0, 0, 256), sb.path(), "plain.png");
    let (r, code) = sb.verify(&plain, &[]);
    assert_eq!(code, Some(1), "{r:#}");
    assert_eq!(r["verdict"], "unverified");
    assert_eq!(r["credentials"], Value::Null);
    assert_eq!(r["credentials_error"], Value::Null);
    assert_eq!(r["binding"], "no_manifest");
    assert_eq!(r["watermark"]["detected"], false);
    assert_eq!(r["recovered"], Value::Null);
    // Reading never creates a registry.
    assert!(!sb.registry().exists());

    let out = sb.cmd().arg("verify").arg(&plain).output()?;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout_of(&out),
        format!(
            "{}: no credentials\n  watermark: none found\n",
            plain.display()
        )
    );
    Ok(())
}

#[test]
fn one_bad_file_among_good_ones_exits_1() -> TestResult {
    let sb = Sandbox::new();
    let input = save(&coffee_crop(0, 0, 256), sb.path(), "plain.png");
    let marked = sb.path().join("marked.png");
    sb.mark(&input, &marked, &[]);
    let out = sb
        .cmd()
        .args(["verify", "--json"])
        .arg(&marked)
        .arg(&input)
        .output()?;
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let verdicts: Vec<String> = stdout_of(&out)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).map(|v| v["verdict"].to_string()))
        .collect::<Result<_, _>>()?;
    assert_eq!(verdicts, ["\"verified\"", "\"unverified\""]);
    Ok(())
}

#[test]
fn garbage_in_the_manifest_is_invalid_not_a_crash() -> TestResult {
    let sb = Sandbox::new();
    let input = sb.path().join("in.jpg");
    save_jpeg(&coffee_crop(100, 50, 256), &input, 90);
    let marked = sb.path().join("marked.jpg");
    sb.mark(&input, &marked, &[]);

    // The APP11 segment: FF EB, length (2), "JP", instance (2), sequence (4), then the JUMBF
    // superbox: LBox (4), TBox "jumb" (4). Spoil the box type.
    let mut bytes = std::fs::read(&marked)?;
    let app11 = app11_range(&bytes);
    let tbox = app11.start + 16;
    assert_eq!(&bytes[tbox..tbox + 4], b"jumb");
    bytes[tbox] = b'x';
    let corrupt = sb.path().join("corrupt.jpg");
    std::fs::write(&corrupt, &bytes)?;

    let (r, code) = sb.verify(&corrupt, &[]);
    assert_eq!(code, Some(1), "{r:#}");
    assert_eq!(r["verdict"], "invalid");
    assert_eq!(r["credentials"], Value::Null);
    let error = r["credentials_error"].as_str().expect("credentials_error");
    assert!(
        error.contains("corrupt or unreadable C2PA manifest"),
        "{error}"
    );
    // The pixels are intact: the watermark still leads to the registered work, which is shown
    // for reference, but the file's own credentials are broken and that decides.
    let id = r["watermark"]["work_id"]
        .as_str()
        .expect("watermark work_id");
    assert_eq!(r["recovered"]["work_id"], id);
    assert_eq!(r["recovered"]["identical"], false);

    let out = sb.cmd().arg("verify").arg(&corrupt).output()?;
    assert_eq!(out.status.code(), Some(1));
    let text = stdout_of(&out);
    assert!(
        text.starts_with(&format!(
            "{}: INVALID\n  manifest: unreadable: ",
            corrupt.display()
        )),
        "{text}"
    );
    Ok(())
}

/// The row's ID as SQLite stores it (the u64's bit pattern in an i64).
fn sql_id(hex: &str) -> i64 {
    let id = u64::from_str_radix(hex, 16).expect("16 hex digits");
    i64::from_ne_bytes(id.to_ne_bytes())
}

/// A registry row for work A that holds work B's manifest (planted in the SQLite file, as a
/// crafted export or registry would): the watermark leads to row A, but the stored manifest
/// names B, so the verdict is not "recovered".
#[test]
fn a_stored_manifest_of_another_work_is_a_mismatch_not_recovered() -> TestResult {
    let sb = Sandbox::new();
    let input_a = save(&coffee_crop(0, 0, 256), sb.path(), "a.png");
    let input_b = save(&coffee_crop(300, 100, 256), sb.path(), "b.png");
    let (marked_a, marked_b) = (
        sb.path().join("a.marked.png"),
        sb.path().join("b.marked.png"),
    );
    let a = sb.mark(&input_a, &marked_a, &["--title", "Work A"])["work_id"]
        .as_str()
        .expect("work_id")
        .to_string();
    let b = sb.mark(&input_b, &marked_b, &["--title", "Work B"])["work_id"]
        .as_str()
        .expect("work_id")
        .to_string();
    // A copy of A with its credentials stripped (the pixels carry A's watermark).
    let stripped = save(&decode(&marked_a), sb.path(), "a.stripped.png");
    let (r, code) = sb.verify(&stripped, &[]);
    assert_eq!(
        (r["verdict"].as_str(), code),
        (Some("recovered"), Some(0)),
        "{r:#}"
    );
    assert_eq!(r["recovered"]["binding"], "agree");
    assert_eq!(r["recovered"]["bound_work_id"], a.as_str());

    let conn = rusqlite::Connection::open(sb.registry())?;
    let planted = conn.execute(
        "UPDATE works SET manifest = (SELECT manifest FROM works WHERE id = ?2) WHERE id = ?1",
        [sql_id(&a), sql_id(&b)],
    )?;
    assert_eq!(planted, 1);
    drop(conn);

    let (r, code) = sb.verify(&stripped, &[]);
    assert_eq!(code, Some(1), "{r:#}");
    assert_eq!(r["verdict"], "invalid", "{r:#}");
    assert_eq!(r["watermark"]["work_id"], a.as_str());
    let rec = &r["recovered"];
    assert_eq!(rec["work_id"], a.as_str());
    assert_eq!(rec["binding"], "mismatch");
    assert_eq!(rec["bound_work_id"], b.as_str());
    // The planted manifest is still shown (it is validly signed, by B's artist), for reference.
    assert_eq!(rec["manifest"]["state"], "Trusted");
    assert_eq!(soft_binding_id(&rec["manifest"]), b);

    let out = sb.cmd().arg("verify").arg(&stripped).output()?;
    assert_eq!(out.status.code(), Some(1));
    let text = stdout_of(&out);
    assert!(
        text.lines()
            .next()
            .is_some_and(|l| l.ends_with(": INVALID")),
        "{text}"
    );
    assert!(!text.contains("recovered from the registry"), "{text}");
    assert!(
        text.contains(&format!(
            "soft binding: names work {b}, not the watermark's work {a} (mismatch)"
        )),
        "{text}"
    );
    Ok(())
}
