//! `inkseal scan`: a dataset with a WebDataset shard in img2dataset's layout, a truncated
//! shard, a zip file and a loose image, holding two registered works (one attacked), an
//! unmarked sample, a corrupt JPEG and a text file named like an image. Needs the watermark.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};

use image::DynamicImage;
use serde_json::Value;

use crate::support::*;

const SIGABRT: i32 = 6;

struct Dataset {
    sb: Sandbox,
    /// The folder that is scanned.
    dir: PathBuf,
    /// "Harbour at dusk" by A. Painter.
    id_a: String,
    /// "Dunes" by B. Sculptor.
    id_b: String,
}

fn jpeg_bytes(img: &DynamicImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality);
    img.to_rgb8()
        .write_with_encoder(encoder)
        .expect("JPEG encodes");
    out
}

/// img2dataset's layout: `{key}.jpg`, `{key}.txt`, `{key}.json` per sample.
fn img2dataset(images: &[Vec<u8>]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (i, bytes) in images.iter().enumerate() {
        let key = format!("{i:05}");
        out.push((format!("{key}.jpg"), bytes.clone()));
        out.push((format!("{key}.txt"), format!("caption {i}").into_bytes()));
        out.push((
            format!("{key}.json"),
            format!("{{\"key\": \"{key}\", \"status\": \"success\"}}").into_bytes(),
        ));
    }
    out
}

fn dataset() -> Dataset {
    let sb = Sandbox::new();
    let src = sb.path().join("src");
    let dir = sb.path().join("dataset");
    std::fs::create_dir_all(&src).expect("src folder");
    std::fs::create_dir_all(dir.join("loose")).expect("dataset folder");

    let a_in = save(&coffee_crop(0, 0, 320), &src, "a.png");
    let a = src.join("a.marked.png");
    let id_a = sb.mark(&a_in, &a, &[])["work_id"]
        .as_str()
        .expect("work ID")
        .to_string();
    let b_in = save(&coffee(), &src, "b.png");
    let b = src.join("b.marked.png");
    // B is marked at strength 2: at the default perceptual target (SSIMULACRA2 86) the
    // coffee photo halved to 300x200 and recompressed at JPEG 75 keeps its ID only for some
    // IDs (the same attack as the robustness table's social row on a small photo).
    let id_b = sb.mark(
        &b_in,
        &b,
        &[
            "--title",
            "Dunes",
            "--artist",
            "B. Sculptor",
            "--strength",
            "2",
        ],
    )["work_id"]
        .as_str()
        .expect("work ID")
        .to_string();

    let marked_a = jpeg_bytes(&decode(&a), 90);
    let unmarked = jpeg_bytes(
        &DynamicImage::ImageRgb8(coffee_crop(200, 40, 320).to_rgb8()),
        90,
    );
    // A scraper's copy of B: halved and recompressed at quality 75.
    let attacked_b = jpeg_bytes(
        &decode(&b).resize_exact(300, 200, image::imageops::Triangle),
        75,
    );
    let mut corrupt = unmarked[..300].to_vec();
    corrupt.extend(std::iter::repeat_n(0x5a, 2000));
    let not_an_image = b"this is a caption, not a picture".to_vec();

    let shard = img2dataset(&[
        marked_a.clone(),
        unmarked.clone(),
        attacked_b.clone(),
        corrupt,
        not_an_image,
    ]);
    std::fs::write(dir.join("shard-00000.tar"), tar_bytes(&shard)).expect("shard");

    // A shard cut off in the middle of its third image.
    let whole = tar_bytes(&img2dataset(&[
        marked_a,
        unmarked.clone(),
        attacked_b.clone(),
    ]));
    let third = whole
        .windows(attacked_b.len().min(64))
        .position(|w| w == &attacked_b[..w.len()])
        .expect("the third image is in the shard");
    std::fs::write(
        dir.join("broken.tar"),
        &whole[..third + attacked_b.len() / 2],
    )
    .expect("truncated shard");

    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in [
        ("part/00010.png", std::fs::read(&b).expect("marked B")),
        ("part/00011.jpg", unmarked),
    ] {
        zip.start_file(name, zip::write::SimpleFileOptions::default())
            .expect("zip member");
        zip.write_all(&bytes).expect("zip member bytes");
    }
    let zip = zip.finish().expect("zip finishes").into_inner();
    std::fs::write(dir.join("images.zip"), zip).expect("zip file");

    std::fs::copy(&a, dir.join("loose/harbour.png")).expect("loose image");
    Dataset {
        sb,
        dir,
        id_a,
        id_b,
    }
}

impl Dataset {
    fn scan(&self, args: &[&str]) -> std::process::Output {
        self.sb
            .cmd()
            .arg("scan")
            .arg(&self.dir)
            .args(args)
            .output()
            .expect("inkseal runs")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.sb.path().join(name)
    }

    fn shown(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// `source[:member]` of a record.
fn location(r: &Value) -> String {
    match r["member"].as_str() {
        Some(m) => format!("{}:{m}", r["source"].as_str().unwrap_or("")),
        None => r["source"].as_str().unwrap_or("").to_string(),
    }
}

/// The records without the summary, and the summary without its timing.
fn report(lines: &[Value]) -> (Vec<Value>, Value) {
    let (summaries, records): (Vec<Value>, Vec<Value>) =
        lines.iter().cloned().partition(|r| r["type"] == "summary");
    assert_eq!(summaries.len(), 1, "one summary line: {lines:?}");
    let mut summary = summaries[0].clone();
    let timing = summary.as_object_mut().expect("summary object");
    assert!(
        timing
            .remove("seconds")
            .is_some_and(|s| s.as_f64() >= Some(0.0))
    );
    assert!(timing.remove("images_per_second").is_some());
    (records, summary)
}

#[test]
fn every_format_gives_exact_detections_and_errors_with_registry_names() {
    let ds = dataset();
    let out = ds.scan(&["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert!(
        !stderr_of(&out).contains("ETA"),
        "no progress bar when piped"
    );
    let (records, summary) = report(&json_lines(&stdout_of(&out)));

    let mut detections = BTreeMap::new();
    let mut unmarked = BTreeSet::new();
    let mut errors = BTreeMap::new();
    for r in &records {
        match r["type"].as_str() {
            Some("sample") if r["detected"] == true => {
                let id = r["work_id"].as_str().expect("work ID").to_string();
                let p = r["p_value"].as_f64().expect("p-value");
                assert!(p < 1e-6, "{r}");
                let names = (r["title"].clone(), r["artist"].clone());
                detections.insert(location(r), (id, names));
            }
            Some("sample") => {
                assert_eq!(r["work_id"], Value::Null);
                assert!(r["p_value"].as_f64() > Some(1e-6), "{r}");
                unmarked.insert(location(r));
            }
            Some("error") => {
                errors.insert(location(r), r["error"].as_str().unwrap_or("").to_string());
            }
            other => panic!("unexpected record type {other:?}"),
        }
    }
    let a = (
        ds.id_a.clone(),
        ("Harbour at dusk".into(), "A. Painter".into()),
    );
    let b = (ds.id_b.clone(), ("Dunes".into(), "B. Sculptor".into()));
    let named =
        |(id, (t, ar)): (String, (String, String))| (id, (Value::String(t), Value::String(ar)));
    let expected: BTreeMap<String, (String, (Value, Value))> = [
        (
            format!("{}:00000.jpg", ds.shown("broken.tar")),
            named(a.clone()),
        ),
        (
            format!("{}:part/00010.png", ds.shown("images.zip")),
            named(b.clone()),
        ),
        (ds.shown("loose/harbour.png"), named(a.clone())),
        (
            format!("{}:00000.jpg", ds.shown("shard-00000.tar")),
            named(a),
        ),
        (
            format!("{}:00002.jpg", ds.shown("shard-00000.tar")),
            named(b),
        ),
    ]
    .into_iter()
    .collect();
    assert_eq!(detections, expected);
    let expected_unmarked: BTreeSet<String> = [
        format!("{}:00001.jpg", ds.shown("broken.tar")),
        format!("{}:part/00011.jpg", ds.shown("images.zip")),
        format!("{}:00001.jpg", ds.shown("shard-00000.tar")),
    ]
    .into_iter()
    .collect();
    assert_eq!(unmarked, expected_unmarked);
    let error_places: BTreeSet<&String> = errors.keys().collect();
    let broken = format!("{}:00002.jpg", ds.shown("broken.tar"));
    let corrupt = format!("{}:00003.jpg", ds.shown("shard-00000.tar"));
    let text = format!("{}:00004.jpg", ds.shown("shard-00000.tar"));
    assert_eq!(
        error_places,
        [&broken, &corrupt, &text].into_iter().collect()
    );
    assert!(errors[&broken].contains("truncated"), "{errors:?}");
    assert!(errors[&corrupt].contains("decode"), "{errors:?}");
    assert!(
        errors[&text].contains("not a supported image"),
        "{errors:?}"
    );

    assert_eq!(summary["inputs"], 4);
    assert_eq!(summary["samples"], 8);
    assert_eq!(summary["detected"], 5);
    assert_eq!(summary["errors"], 3);
    let works: BTreeMap<String, (u64, Value)> = summary["works"]
        .as_array()
        .expect("works")
        .iter()
        .map(|w| {
            (
                w["work_id"].as_str().unwrap_or("").to_string(),
                (w["samples"].as_u64().unwrap_or(0), w["title"].clone()),
            )
        })
        .collect();
    assert_eq!(works[&ds.id_a], (3, Value::from("Harbour at dusk")));
    assert_eq!(works[&ds.id_b], (2, Value::from("Dunes")));
    assert_eq!(works.len(), 2);

    // CSV: the same records, one row each, under one header.
    let out = ds.scan(&["--csv"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let mut csv = csv::Reader::from_reader(out.stdout.as_slice());
    let header: Vec<String> = csv
        .headers()
        .expect("CSV header")
        .iter()
        .map(String::from)
        .collect();
    assert_eq!(
        header,
        [
            "type", "source", "member", "key", "detected", "work_id", "p_value", "title", "artist",
            "error"
        ]
    );
    let rows: Vec<csv::StringRecord> = csv.records().collect::<Result<_, _>>().expect("CSV rows");
    assert_eq!(rows.len(), records.len());
    for (row, r) in rows.iter().zip(&records) {
        assert_eq!(&row[0], r["type"].as_str().unwrap_or(""));
        assert_eq!(&row[1], r["source"].as_str().unwrap_or(""));
        assert_eq!(&row[2], r["member"].as_str().unwrap_or(""));
        assert_eq!(&row[5], r["work_id"].as_str().unwrap_or(""));
        assert_eq!(&row[7], r["title"].as_str().unwrap_or(""));
        if r["type"] == "sample" {
            let p: f64 = row[6].parse().expect("p-value column");
            assert_eq!(
                Some(p),
                r["p_value"].as_f64(),
                "the CSV keeps full precision"
            );
        } else {
            assert_eq!(&row[6], "");
            assert_eq!(&row[9], r["error"].as_str().unwrap_or(""));
        }
    }
    assert!(stderr_of(&out).contains("Scanned 8 samples in 4 files: 5 marked, 3 errors"));

    // Text: marks and errors only, each on one line, then the summary.
    let out = ds.scan(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    let harbour = format!("{}  {}  p = ", ds.shown("loose/harbour.png"), ds.id_a);
    assert!(
        text.lines()
            .any(|l| l.starts_with(&harbour) && l.ends_with("\"Harbour at dusk\" by A. Painter")),
        "{text}"
    );
    assert!(
        text.contains(&format!("{corrupt}: error: cannot decode")),
        "{text}"
    );
    assert!(
        !text.contains("00001.jpg"),
        "unmarked samples are not listed: {text}"
    );
    assert_eq!(text.lines().count(), 5 + 3 + 1 + 2, "{text}");
}

#[test]
fn a_dataset_without_marks_exits_1_and_bad_arguments_exit_2() {
    let ds = dataset();
    let clean = ds.path("clean");
    std::fs::create_dir(&clean).expect("folder");
    save(&coffee_crop(100, 50, 300), &clean, "x.png");
    let out = ds
        .sb
        .cmd()
        .arg("scan")
        .arg(&clean)
        .arg("--json")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let (records, summary) = report(&json_lines(&stdout_of(&out)));
    assert_eq!(records.len(), 1);
    assert_eq!(summary["detected"], 0);

    let missing = ds.path("nowhere");
    let out = ds
        .sb
        .cmd()
        .arg("scan")
        .arg(&missing)
        .output()
        .expect("runs");
    assert_clean_failure(&out, "nowhere");

    let out = ds.scan(&["--registry", ds.path("no.sqlite").to_str().unwrap_or("")]);
    assert_clean_failure(&out, "no registry at");
    assert!(!ds.path("no.sqlite").exists());

    // The report never replaces an input.
    let loose = ds.dir.join("loose/harbour.png");
    let before = sha256_hex(&loose);
    let out = ds
        .sb
        .cmd()
        .arg("scan")
        .arg(&loose)
        .arg("--out")
        .arg(&loose)
        .output()
        .expect("runs");
    assert_clean_failure(&out, "refusing to overwrite the input");
    assert_eq!(sha256_hex(&loose), before);
}

/// `inkseal scan DATASET --json --threads 2 --resume STATE --out REPORT`.
fn resume_cmd(ds: &Dataset, state: &Path, report: &Path) -> assert_cmd::Command {
    let mut cmd = ds.sb.cmd();
    cmd.arg("scan")
        .arg(&ds.dir)
        .args(["--json", "--threads", "2", "--resume"])
        .arg(state)
        .arg("--out")
        .arg(report);
    cmd
}

/// Runs a scan with `--resume` that aborts after `lines` state lines, as a kill would.
fn killed_scan(ds: &Dataset, state: &Path, report: &Path, lines: u64) {
    let out = resume_cmd(ds, state, report)
        .env("INKSEAL_FAULT", format!("scan-lines:{lines}"))
        .output()
        .expect("runs");
    assert_eq!(out.status.signal(), Some(SIGABRT), "{}", stderr_of(&out));
}

fn resumed_scan(ds: &Dataset, state: &Path, report: &Path) -> std::process::Output {
    resume_cmd(ds, state, report).output().expect("runs")
}

/// How many `done` lines the state file has for each input.
fn done_counts(state: &Path) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for line in std::fs::read_to_string(state).expect("state reads").lines() {
        let v: Value = serde_json::from_str(line).expect("state lines are JSON");
        if v["type"] == "done" {
            *counts
                .entry(v["input"].as_str().unwrap_or("").to_string())
                .or_insert(0) += 1;
        }
    }
    counts
}

#[test]
fn a_killed_scan_resumes_where_it_stopped_and_ends_with_the_same_report() {
    let ds = dataset();
    let full = ds.path("full.jsonl");
    let out = ds
        .sb
        .cmd()
        .arg("scan")
        .arg(&ds.dir)
        .args(["--json", "--out"])
        .arg(&full)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let (want_records, want_summary) = report(&json_lines(
        &std::fs::read_to_string(&full).expect("report"),
    ));

    let reports = ds.path("reports");
    std::fs::create_dir(&reports).expect("folder");
    let (state, resumed) = (ds.path("scan.state"), reports.join("resumed.jsonl"));
    // Killed mid-way through broken.tar (session line, one record, then the kill); then
    // right after it finished; then in the middle of the zip file.
    killed_scan(&ds, &state, &resumed, 2);
    assert!(!resumed.exists(), "a killed scan leaves no report");
    killed_scan(&ds, &state, &resumed, 5);
    killed_scan(&ds, &state, &resumed, 2);
    // A torn last line, as a kill in the middle of a write leaves.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&state)
        .and_then(|mut f| f.write_all(b"{\"type\":\"sample\",\"sou"))
        .expect("state appends");

    let out = resumed_scan(&ds, &state, &resumed);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("1 of 4 inputs were finished"),
        "{}",
        stderr_of(&out)
    );
    let (records, summary) = report(&json_lines(
        &std::fs::read_to_string(&resumed).expect("report"),
    ));
    assert_eq!(records, want_records);
    assert_eq!(summary, want_summary);
    // Each input was finished exactly once over all the runs: none was scanned twice.
    let counts = done_counts(&state);
    assert_eq!(counts.len(), 4, "{counts:?}");
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
    // The killed runs' partial reports are gone.
    assert_eq!(file_names(&reports), ["resumed.jsonl"]);

    // Everything is finished now: a rerun replays the whole report from the state.
    let out = resumed_scan(&ds, &state, &resumed);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("4 of 4 inputs were finished"),
        "{}",
        stderr_of(&out)
    );
    let (records, summary) = report(&json_lines(
        &std::fs::read_to_string(&resumed).expect("report"),
    ));
    assert_eq!(
        (records, summary),
        (want_records.clone(), want_summary.clone())
    );

    // An input that changed after it was scanned is scanned again.
    let loose = ds.dir.join("loose/harbour.png");
    save(&coffee_crop(150, 20, 320), &ds.dir, "loose/harbour.png");
    let out = resumed_scan(&ds, &state, &resumed);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let (records, _) = report(&json_lines(
        &std::fs::read_to_string(&resumed).expect("report"),
    ));
    let harbour: Vec<&Value> = records
        .iter()
        .filter(|r| r["source"] == loose.display().to_string())
        .collect();
    assert_eq!(harbour.len(), 1);
    assert_eq!(harbour[0]["detected"], false, "the new content has no mark");
}

#[test]
fn a_state_file_from_another_scan_or_not_a_state_file_is_refused_untouched() {
    let ds = dataset();
    let state = ds.path("scan.state");
    let out = ds.scan(&["--json", "--resume", state.to_str().unwrap_or("")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let before = std::fs::read(&state).expect("state");

    let key = ds.path("other.key");
    new_key(&key);
    let out = ds.scan(&[
        "--resume",
        state.to_str().unwrap_or(""),
        "--key",
        key.to_str().unwrap_or(""),
    ]);
    assert_clean_failure(&out, "other settings");
    let out = ds.scan(&["--resume", state.to_str().unwrap_or(""), "--column", "jpg"]);
    assert_clean_failure(&out, "other settings");
    assert_eq!(std::fs::read(&state).expect("state"), before);

    let notes = ds.path("notes.txt");
    std::fs::write(&notes, "my notes\nline two\n").expect("notes");
    let out = ds.scan(&["--resume", notes.to_str().unwrap_or("")]);
    assert_clean_failure(&out, "not an inkseal scan state file");
    assert_eq!(
        std::fs::read_to_string(&notes).expect("notes"),
        "my notes\nline two\n"
    );
}

#[test]
fn a_report_naming_the_registry_or_the_key_file_is_refused_untouched() {
    let ds = dataset();
    let registry = ds.sb.registry();
    let hard = ds.path("hard.jsonl");
    std::fs::hard_link(&registry, &hard).expect("hard link");
    let soft = ds.path("soft.jsonl");
    std::os::unix::fs::symlink(&registry, &soft).expect("symlink");
    let before = sha256_hex(&registry);
    for report in [&registry, &hard, &soft] {
        let out = ds.scan(&["--json", "--out", report.to_str().unwrap_or("")]);
        assert_clean_failure(&out, "refusing to overwrite the registry");
        assert_eq!(sha256_hex(&registry), before, "{}", report.display());
    }
    // The registry named with --registry, the report by a relative name.
    let out = ds
        .sb
        .cmd()
        .current_dir(registry.parent().expect("data folder"))
        .arg("scan")
        .arg(&ds.dir)
        .arg("--registry")
        .arg(&registry)
        .args(["--out", "./registry.sqlite"])
        .output()
        .expect("runs");
    assert_clean_failure(&out, "refusing to overwrite the registry");
    assert_eq!(sha256_hex(&registry), before);

    let key = ds.path("studio.key");
    new_key(&key);
    let key_before = sha256_hex(&key);
    let k = key.to_str().unwrap_or("");
    let out = ds.scan(&["--key", k, "--out", k]);
    assert_clean_failure(&out, "refusing to overwrite the key file");
    assert_eq!(sha256_hex(&key), key_before);
}

#[test]
fn a_second_scan_on_a_state_file_in_use_is_refused_and_keeps_the_first_report() {
    let ds = dataset();
    let reports = ds.path("reports");
    std::fs::create_dir(&reports).expect("folder");
    let state = ds.path("scan.state");
    // A first run that stopped part-way leaves its partial report next to REPORT.
    killed_scan(&ds, &state, &reports.join("first.jsonl"), 3);
    let files = file_names(&reports);
    assert!(!files.is_empty(), "the first run left its partial report");
    let state_before = sha256_hex(&state);

    // The first run is still going: it holds the lock on the state file.
    let held = std::fs::OpenOptions::new()
        .read(true)
        .append(true)
        .open(&state)
        .expect("state opens");
    held.try_lock().expect("the test takes the lock");
    let out = resumed_scan(&ds, &state, &reports.join("second.jsonl"));
    assert_clean_failure(&out, "is in use by another scan");
    assert!(
        stderr_of(&out).contains(&state.display().to_string()),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(file_names(&reports), files);
    assert_eq!(sha256_hex(&state), state_before);

    // Once the first run is over, the state resumes as before.
    drop(held);
    let out = resumed_scan(&ds, &state, &reports.join("second.jsonl"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
}
