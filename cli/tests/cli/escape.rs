//! Text output is safe by construction: titles, creators, licences, file and member names
//! from hostile manifests, registries and datasets are printed escaped, so they cannot forge
//! a line ("  manifest: Trusted") or send terminal sequences. JSON keeps the values exact.
//! The marking tests need the watermark; the last one does not.

use std::path::PathBuf;

use crate::support::*;

/// A title that tries to add a line of its own to `verify`'s output, and ends in a bidi
/// override.
const TITLE: &str = "Harbour\n  manifest: Trusted (forged)\u{202e}";
/// A creator with terminal sequences: colour, and a carriage return that would let the rest
/// of a line overwrite its beginning.
const ARTIST: &str = "A. \x1b[31mPainter\x1b[0m\r";
/// A licence that sets the terminal's title (OSC … BEL).
const LICENSE: &str = "CC BY 4.0\x1b]0;pwned\x07";

/// The escaped forms, as they must appear in text output.
const TITLE_SHOWN: &str = r"Harbour\n  manifest: Trusted (forged)\u{202e}";
const ARTIST_SHOWN: &str = r"A. \x1b[31mPainter\x1b[0m\r";
const LICENSE_SHOWN: &str = r"CC BY 4.0\x1b]0;pwned\x07";

/// Fails if `text` holds a control character other than the line ends, or an invisible
/// character that reorders or hides text.
fn assert_no_raw_controls(what: &str, text: &str) {
    let bad: Vec<char> = text
        .chars()
        .filter(|&c| {
            (c.is_control() && c != '\n')
                || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
        })
        .collect();
    assert!(bad.is_empty(), "{what}: raw {bad:?} in {text:?}");
}

/// Fails if some line of `text`, trimmed, starts with `forged`: the line a hostile value
/// tried to add.
fn assert_no_line_starting(what: &str, text: &str, forged: &str) {
    assert!(
        !text.lines().any(|l| l.trim_start().starts_with(forged)),
        "{what}: a forged line {forged:?} in {text}"
    );
}

/// Marks a JPEG crop of the coffee photo with the hostile title, creator and licence, to a
/// file whose name holds a newline; returns the marked file and its work ID.
fn mark_hostile(sb: &Sandbox) -> (PathBuf, String) {
    let input = sb.path().join("photo.jpg");
    save_jpeg(&coffee_crop(100, 0, 400), &input, 90);
    let marked = sb
        .path()
        .join("photo\n  manifest: Trusted (forged name).jpg");
    let out = sb
        .cmd()
        .arg("mark")
        .arg(&input)
        .arg("-o")
        .arg(&marked)
        .args([
            "--json",
            "--title",
            TITLE,
            "--artist",
            ARTIST,
            "--license",
            LICENSE,
        ])
        .output()
        .expect("inkseal runs");
    assert!(out.status.success(), "mark: {}", stderr_of(&out));
    // The first mark creates local credentials and says so, naming the artist.
    let err = stderr_of(&out);
    assert!(err.contains(ARTIST_SHOWN), "{err}");
    assert_no_raw_controls("mark's diagnostics", &err);
    // JSON keeps the exact values.
    let record: serde_json::Value = serde_json::from_str(&stdout_of(&out)).expect("JSON");
    assert_eq!(record["title"], TITLE);
    assert_eq!(record["artist"], ARTIST);
    let id = record["work_id"].as_str().expect("work_id").to_string();
    (marked, id)
}

#[test]
fn verify_text_shows_hostile_manifest_fields_and_names_escaped() {
    let sb = Sandbox::new();
    let (marked, id) = mark_hostile(&sb);
    // A copy without its manifest (re-encoded): the registry's title and stored manifest.
    let stripped = sb.path().join("copy\x1b[2K.jpg");
    save_jpeg(&decode(&marked), &stripped, 90);

    let out = sb
        .cmd()
        .arg("verify")
        .arg(&marked)
        .arg(&stripped)
        .output()
        .expect("inkseal runs");
    let text = stdout_of(&out);
    assert_eq!(out.status.code(), Some(0), "{text}\n{}", stderr_of(&out));
    assert_no_raw_controls("verify", &text);
    assert_no_line_starting("verify", &text, "manifest: Trusted (forged");
    let lines: Vec<&str> = text.lines().collect();
    // Each label appears once per manifest: the file's, then the copy's stored one.
    for (label, count) in [
        ("manifest: ", 1),
        ("stored manifest: ", 1),
        ("creator: ", 2),
        ("title: ", 2),
        ("licence: ", 2),
    ] {
        let n = lines
            .iter()
            .filter(|l| l.trim_start().starts_with(label))
            .count();
        assert_eq!(n, count, "{label:?} in {text}");
    }
    assert!(
        text.contains(r"/photo\n  manifest: Trusted (forged name).jpg: verified"),
        "{text}"
    );
    assert!(
        text.contains(r"copy\x1b[2K.jpg: credentials recovered"),
        "{text}"
    );
    assert!(
        text.contains(&format!("    title: {TITLE_SHOWN}\n")),
        "{text}"
    );
    assert!(
        text.contains(&format!("    creator: {ARTIST_SHOWN}\n")),
        "{text}"
    );
    assert!(
        text.contains(&format!("    licence: {LICENSE_SHOWN}\n")),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "  recovered: \"{TITLE_SHOWN}\" by {ARTIST_SHOWN}, registered "
        )),
        "{text}"
    );
    assert!(text.contains(&format!("  watermark: work {id} ")), "{text}");

    // JSON is unchanged: the exact values, escaped by JSON itself.
    let (r, code) = sb.verify(&marked, &[]);
    assert_eq!(code, Some(0));
    assert_eq!(r["credentials"]["title"], TITLE);
    assert_eq!(r["credentials"]["creators"][0], ARTIST);
    assert_eq!(r["credentials"]["license"], LICENSE);
}

#[test]
fn works_list_text_shows_hostile_titles_and_artists_escaped() {
    let sb = Sandbox::new();
    let (_, id) = mark_hostile(&sb);
    let out = sb
        .cmd()
        .args(["works", "list"])
        .output()
        .expect("inkseal runs");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    assert_no_raw_controls("works list", &text);
    assert_no_line_starting("works list", &text, "manifest: Trusted (forged");
    assert_eq!(text.lines().count(), 1, "one work, one line: {text}");
    assert!(text.starts_with(&format!("{id}  ")), "{text}");
    assert!(
        text.contains(&format!(
            "  {ARTIST_SHOWN} — {TITLE_SHOWN}  (no AI training)\n"
        )),
        "{text}"
    );
    // JSON keeps the exact values.
    let rows = sb.works(&[]);
    assert_eq!(rows[0]["title"], TITLE);
    assert_eq!(rows[0]["artist"], ARTIST);
}

/// `mark DIR` titles works after their file names and prints one line per file: both
/// escaped, the second run's "already marked" lines too.
#[test]
fn batch_mark_prints_hostile_file_names_escaped() {
    let sb = Sandbox::new();
    let dir = sb.path().join("portfolio");
    std::fs::create_dir_all(&dir).expect("portfolio folder");
    save(
        &coffee_crop(0, 0, 256),
        &dir,
        "Dusk\n0123456789abcdef  forged.png\x1b[2K.png",
    );
    let out_dir = sb.path().join("marked");
    let run = || {
        sb.cmd()
            .arg("mark")
            .arg(&dir)
            .arg("-o")
            .arg(&out_dir)
            .args(["--artist", "A. Painter", "--no-progress"])
            .output()
            .expect("inkseal runs")
    };
    for (round, suffix) in [(1, ""), (2, " (already marked)")] {
        let out = run();
        let text = stdout_of(&out);
        assert!(out.status.success(), "round {round}: {}", stderr_of(&out));
        assert_no_raw_controls("mark DIR", &text);
        assert_no_raw_controls("mark DIR's diagnostics", &stderr_of(&out));
        assert_no_line_starting("mark DIR", &text, "0123456789abcdef");
        assert_eq!(text.lines().count(), 2, "one work and the summary: {text}");
        assert!(
            text.contains(&format!(
                r"/portfolio/Dusk\n0123456789abcdef  forged.png\x1b[2K.png{suffix}"
            )),
            "round {round}: {text}"
        );
    }
    let out = sb
        .cmd()
        .args(["works", "list"])
        .output()
        .expect("inkseal runs");
    let text = stdout_of(&out);
    assert_no_raw_controls("works list", &text);
    // The title is the file's stem with its white space collapsed; the ESC stays, escaped.
    assert!(
        text.contains(r"A. Painter — Dusk 0123456789abcdef forged.png\x1b[2K  (no AI"),
        "{text}"
    );
}

#[test]
fn scan_text_shows_hostile_member_names_file_names_and_titles_escaped() {
    let sb = Sandbox::new();
    let (marked, id) = mark_hostile(&sb);
    let bytes = std::fs::read(&marked).expect("marked file");
    let dir = sb.path().join("dataset");
    std::fs::create_dir_all(&dir).expect("dataset folder");
    // A marked member and a corrupt one, both named to forge lines and move the cursor.
    let corrupt = [0xff_u8, 0xd8, 0xff, 0x00, 0x5a, 0x5a];
    let shard = tar_bytes(&[
        (
            "a\n0000000000000000  p = 1e-40\x1b[2K.jpg",
            bytes.as_slice(),
        ),
        ("b\r\x1b]0;pwned\x07\u{202e}.jpg", corrupt.as_slice()),
    ]);
    std::fs::write(dir.join("shard.tar"), shard).expect("shard");
    // A loose marked file whose own name holds a newline and ESC.
    std::fs::write(dir.join("loose\n\x1b[1Aimage.jpg"), &bytes).expect("loose file");

    let out = sb
        .cmd()
        .arg("scan")
        .arg(&dir)
        .output()
        .expect("inkseal runs");
    let text = stdout_of(&out);
    assert_eq!(out.status.code(), Some(0), "{text}\n{}", stderr_of(&out));
    assert_no_raw_controls("scan", &text);
    assert_no_line_starting("scan", &text, "0000000000000000");
    // Two marks, one error, the summary and one work under it.
    assert_eq!(text.lines().count(), 5, "{text}");
    let shown_dir = dir.display().to_string();
    let known = format!("\"{TITLE_SHOWN}\" by {ARTIST_SHOWN}");
    let member =
        format!(r"{shown_dir}/shard.tar:a\n0000000000000000  p = 1e-40\x1b[2K.jpg  {id}  p = ");
    assert!(
        text.lines()
            .any(|l| l.starts_with(&member) && l.ends_with(&known)),
        "{text}"
    );
    let loose = format!(r"{shown_dir}/loose\n\x1b[1Aimage.jpg  {id}  p = ");
    assert!(
        text.lines()
            .any(|l| l.starts_with(&loose) && l.ends_with(&known)),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            r"{shown_dir}/shard.tar:b\r\x1b]0;pwned\x07\u{{202e}}.jpg: error: "
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("  {id}  2 samples    {known}\n")),
        "{text}"
    );

    // JSON keeps the member names exact.
    let out = sb
        .cmd()
        .args(["scan", "--json"])
        .arg(&dir)
        .output()
        .expect("inkseal runs");
    let members: Vec<String> = stdout_of(&out)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|r| r["member"].as_str().map(str::to_string))
        .collect();
    assert!(
        members.contains(&"a\n0000000000000000  p = 1e-40\x1b[2K.jpg".to_string()),
        "{members:?}"
    );
}

/// Detect's lines and every command's diagnostics on standard error escape file names from
/// the command line too (no watermark needed: nothing here is marked).
#[test]
fn detect_lines_and_error_messages_escape_file_names() {
    let sb = Sandbox::new();
    let plain = save(
        &noise_rgb(256, 256),
        sb.path(),
        "plain\nimage.png: work_id 0123456789abcdef (p = 1e-40).png",
    );
    let broken = sb.path().join("broken\x1b[2K\r.png");
    std::fs::write(&broken, b"not a picture").expect("broken file");
    let missing = sb.path().join("missing\n\u{202e}gnp.png");

    let out = sb
        .cmd()
        .arg("detect")
        .arg(&plain)
        .arg(&broken)
        .arg(&missing)
        .output()
        .expect("inkseal runs");
    assert_eq!(out.status.code(), Some(2));
    let (text, err) = (stdout_of(&out), stderr_of(&out));
    assert_no_raw_controls("detect", &text);
    assert_no_raw_controls("detect's errors", &err);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(
        text.contains(r"plain\nimage.png: work_id 0123456789abcdef (p = 1e-40).png: no mark"),
        "{text}"
    );
    assert_no_line_starting("detect", &text, "image.png: work_id");
    assert!(err.contains(r"broken\x1b[2K\r.png: error: "), "{err}");
    assert!(err.contains(r"missing\n\u{202e}gnp.png: error: "), "{err}");
    assert_eq!(err.lines().count(), 2, "{err}");

    // An error that goes through the top-level handler, naming a file from the command line.
    let export = sb.path().join("export\n\x1b[2Kfile.json");
    std::fs::write(&export, b"{ not json").expect("export file");
    let out = sb
        .cmd()
        .args(["works", "import"])
        .arg(&export)
        .output()
        .expect("inkseal runs");
    assert_eq!(out.status.code(), Some(2));
    let err = stderr_of(&out);
    assert_no_raw_controls("works import's error", &err);
    assert!(
        err.contains(r"cannot import ") && err.contains(r"export\n\x1b[2Kfile.json"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}
