//! Hostile files (issue 15, items 5 and 6): named pipes where files are expected, names that
//! are not UTF-8, and sizes over the limits (pixels, manifests, an import, threads). Every
//! one is a clear error or an error record, in bounded memory, and never a hang. The inputs
//! are made here, small (sparse where they must be large).

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::*;

/// The peak memory bound, generous (the machine is shared and noisy): each command below
/// takes 10-20 MiB. Unbounded, their inputs cost 385 MiB (the import) to 1 GiB.
const SMALL_MIB: u64 = 150;

/// Makes a named pipe that nobody writes to: opening it for reading would block forever.
fn mkfifo(path: &Path) {
    let made = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(made.success(), "mkfifo {}", path.display());
}

/// Runs `cmd` to the end and returns its output and its peak resident set in MiB (reported
/// by the test build's `INKSEAL_PEAK_RSS` hook). A command still running after two minutes
/// has hung (on a pipe): it is killed and the test fails, rather than hanging the suite.
fn run(mut cmd: Command, scratch: &Path) -> (Output, u64) {
    let peak_file = scratch.join(format!(
        "peak-{}.txt",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    cmd.env("INKSEAL_PEAK_RSS", &peak_file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("inkseal starts");
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let out = child.wait_with_output().expect("killed child");
            panic!(
                "the command hung (killed after 120 s); stderr: {}",
                stderr_of(&out)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    let kb: u64 = fs::read_to_string(&peak_file)
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(0);
    assert!(
        kb > 0,
        "no peak memory reported; stderr: {}",
        stderr_of(&out)
    );
    (out, kb / 1024)
}

/// JSON Lines of stdout.
fn records(out: &Output) -> Vec<Value> {
    stdout_of(out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

/// A small unmarked PNG.
fn small_png(dir: &Path, name: impl AsRef<OsStr>) -> PathBuf {
    let path = dir.join(name.as_ref());
    coffee_crop(0, 0, 256)
        .save_with_format(&path, image::ImageFormat::Png)
        .expect("PNG saves");
    path
}

#[test]
fn a_scan_records_files_whose_names_are_not_utf8() -> TestResult {
    let sb = Sandbox::new();
    let dir = sb.path().join("dataset");
    fs::create_dir(&dir)?;
    small_png(&dir, "plain.png");
    // Latin-1 "café.png", as an old scraper might have written it.
    small_png(&dir, OsStr::from_bytes(b"caf\xe9.png"));
    fs::write(dir.join(OsStr::from_bytes(b"bad\xff.jpg")), b"not a JPEG")?;
    let mut cmd = sb.std_cmd();
    cmd.args(["scan", "--json", "--threads", "2"]).arg(&dir);
    let (out, _) = run(cmd, sb.path());
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let records = records(&out);
    let sources: Vec<(String, String)> = records
        .iter()
        .filter(|r| r["type"] != "summary")
        .map(|r| {
            let source = r["source"].as_str().unwrap_or("");
            let name = source.rsplit('/').next().unwrap_or("").to_string();
            (r["type"].as_str().unwrap_or("").to_string(), name)
        })
        .collect();
    assert_eq!(
        sources,
        [
            ("error".to_string(), "bad\\xff.jpg".to_string()),
            ("sample".to_string(), "caf\\xe9.png".to_string()),
            ("sample".to_string(), "plain.png".to_string()),
        ],
        "{records:?}"
    );
    let keys: Vec<&str> = records.iter().filter_map(|r| r["key"].as_str()).collect();
    assert!(keys.contains(&"caf\\xe9"), "{keys:?}");
    Ok(())
}

#[test]
fn a_named_pipe_in_a_scanned_folder_is_an_error_record() -> TestResult {
    let sb = Sandbox::new();
    let dir = sb.path().join("dataset");
    fs::create_dir(&dir)?;
    small_png(&dir, "a.png");
    mkfifo(&dir.join("b.png"));
    mkfifo(&dir.join("c.tar"));
    let state = sb.path().join("scan.state");
    let mut cmd = sb.std_cmd();
    cmd.args(["scan", "--json", "--threads", "2", "--resume"])
        .arg(&state)
        .arg(&dir);
    let (out, _) = run(cmd, sb.path());
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let records = records(&out);
    let errors: Vec<(String, String)> = records
        .iter()
        .filter(|r| r["type"] == "error")
        .map(|r| {
            let source = r["source"].as_str().unwrap_or("");
            let name = source.rsplit('/').next().unwrap_or("").to_string();
            (name, r["error"].as_str().unwrap_or("").to_string())
        })
        .collect();
    let pipe = "not a regular file (a named pipe)".to_string();
    assert_eq!(
        errors,
        [
            ("b.png".to_string(), pipe.clone()),
            ("c.tar".to_string(), pipe)
        ],
        "{records:?}"
    );
    let summary = records.last().ok_or("no summary")?;
    assert_eq!(
        (&summary["samples"], &summary["errors"]),
        (&1.into(), &2.into())
    );
    Ok(())
}

#[test]
fn a_named_pipe_as_any_input_path_is_refused() -> TestResult {
    let sb = Sandbox::new();
    let pipe = sb.path().join("pipe");
    mkfifo(&pipe);
    let image_pipe = sb.path().join("pipe.png");
    mkfifo(&image_pipe);
    let dir = sb.path().join("dataset");
    fs::create_dir(&dir)?;
    let png = small_png(&dir, "a.png");
    let p = pipe.to_str().ok_or("path")?;
    let runs: Vec<Vec<&OsStr>> = vec![
        ["scan", "--key", p].map(OsStr::new).to_vec(),
        ["detect", "--key", p].map(OsStr::new).to_vec(),
        ["scan", "--resume", p].map(OsStr::new).to_vec(),
        ["scan", "--registry", p].map(OsStr::new).to_vec(),
        ["verify", "--trust", p].map(OsStr::new).to_vec(),
        ["works", "import", p].map(OsStr::new).to_vec(),
    ];
    for args in runs {
        let mut cmd = sb.std_cmd();
        cmd.args(&args);
        if args[0] != "works" {
            cmd.arg(if args[0] == "scan" { &dir } else { &png });
        }
        let (out, _) = run(cmd, sb.path());
        assert_clean_failure(&out, "not a regular file (a named pipe)");
    }
    for command in ["detect", "verify"] {
        let mut cmd = sb.std_cmd();
        cmd.arg(command).arg(&image_pipe);
        let (out, _) = run(cmd, sb.path());
        assert_clean_failure(&out, "not a regular file (a named pipe)");
    }
    Ok(())
}

/// A real 30000x30000 8-bit gray PNG, all black, in well under a megabyte: the zlib stream
/// of one band of zero rows is repeated (each band is compressed alone and ends on a full
/// flush, so copies decode one after the other).
fn gray_png_30000() -> Vec<u8> {
    use flate2::{Compress, Compression, FlushCompress};
    const SIDE: u32 = 30_000;
    const BAND: usize = 500; // rows per band; 60 bands
    let band = vec![0u8; BAND * (SIDE as usize + 1)]; // filter byte 0 and zero samples
    let mut deflate = Compress::new(Compression::best(), false);
    let mut compressed = Vec::with_capacity(band.len() / 500);
    deflate
        .compress_vec(&band, &mut compressed, FlushCompress::Full)
        .expect("deflate");
    assert_eq!(
        deflate.total_in() as usize,
        band.len(),
        "one call compresses the band"
    );
    let mut zlib = vec![0x78, 0xda];
    for _ in 0..SIDE as usize / BAND {
        zlib.extend_from_slice(&compressed);
    }
    zlib.extend_from_slice(&[0x01, 0x00, 0x00, 0xff, 0xff]); // last block: empty, stored
    // Adler-32 of all-zero data: A = 1, B = length mod 65521.
    let total = u64::from(SIDE) * (u64::from(SIDE) + 1);
    zlib.extend_from_slice(&(((total % 65521) << 16) as u32 | 1).to_be_bytes());
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&SIDE.to_be_bytes());
    ihdr.extend_from_slice(&SIDE.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]); // 8-bit gray
    png_chunk(&mut png, b"IHDR", &ihdr);
    png_chunk(&mut png, b"IDAT", &zlib);
    png_chunk(&mut png, b"IEND", &[]);
    png
}

#[test]
fn a_30000_square_png_is_refused_from_its_header_in_bounded_memory() -> TestResult {
    let sb = Sandbox::new();
    let dir = sb.path().join("dataset");
    fs::create_dir(&dir)?;
    let big = dir.join("black.png");
    let png = gray_png_30000();
    assert!(png.len() < 1 << 20, "{} bytes", png.len());
    fs::write(&big, &png)?;
    let limit = "image is 30000x30000 pixels (900 megapixels); the limit is 100 megapixels";

    let mut cmd = sb.std_cmd();
    cmd.arg("detect").arg(&big);
    let (out, mib) = run(cmd, sb.path());
    assert_clean_failure(&out, limit);
    assert!(mib < SMALL_MIB, "detect peaked at {mib} MiB");

    small_png(&dir, "small.png");
    let mut cmd = sb.std_cmd();
    cmd.args(["scan", "--json", "--threads", "2"]).arg(&dir);
    let (out, mib) = run(cmd, sb.path());
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let records = records(&out);
    assert_eq!(records[0]["type"], "error", "{records:?}");
    assert_eq!(records[0]["error"], limit, "{records:?}");
    assert_eq!(records[1]["type"], "sample", "{records:?}");
    assert!(mib < SMALL_MIB, "scan peaked at {mib} MiB");
    Ok(())
}

#[test]
fn a_huge_sidecar_manifest_is_refused_before_reading() -> TestResult {
    let sb = Sandbox::new();
    let png = small_png(sb.path(), "art.png");
    // 1 GiB of nothing (sparse): read whole, it would cost 1 GiB.
    File::create(sb.path().join("art.c2pa"))?.set_len(1 << 30)?;
    let mut cmd = sb.std_cmd();
    cmd.args(["verify", "--json"]).arg(&png);
    let (out, mib) = run(cmd, sb.path());
    let records = records(&out);
    let error = records[0]["credentials_error"].as_str().unwrap_or("");
    assert!(
        error.contains("is 1073741824 bytes; the limit is 67108864 bytes (64 MiB)"),
        "{records:?}\n{}",
        stderr_of(&out)
    );
    assert_eq!(records[0]["verdict"], "invalid");
    assert_eq!(out.status.code(), Some(1));
    assert!(mib < SMALL_MIB, "verify peaked at {mib} MiB");
    Ok(())
}

#[test]
fn a_huge_embedded_png_manifest_chunk_is_refused_before_reading() -> TestResult {
    let sb = Sandbox::new();
    let small = small_png(sb.path(), "small.png");
    let bytes = fs::read(&small)?;
    // The picture's chunks up to IEND, then a 256 MiB caBX chunk of zeros (a hole in a
    // sparse file), its CRC and IEND.
    let iend = bytes.len() - 12;
    let path = sb.path().join("art.png");
    let mut file = File::create(&path)?;
    file.write_all(&bytes[..iend])?;
    let length: u32 = 256 << 20;
    file.write_all(&length.to_be_bytes())?;
    file.write_all(b"caBX")?;
    let crc = crc::Crc::<u32, crc::Table<16>>::new(&crc::CRC_32_ISO_HDLC);
    let mut digest = crc.digest();
    digest.update(b"caBX");
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..256 {
        digest.update(&zeros);
    }
    file.seek(SeekFrom::Current(i64::from(length)))?;
    file.write_all(&digest.finalize().to_be_bytes())?;
    file.write_all(&bytes[iend..])?;
    drop(file);

    let mut cmd = sb.std_cmd();
    cmd.args(["verify", "--json"]).arg(&path);
    let (out, mib) = run(cmd, sb.path());
    let records = records(&out);
    assert_eq!(
        records[0]["credentials_error"],
        "the PNG's manifest chunk (caBX) is 268435456 bytes; the limit is 67108864 bytes \
         (64 MiB)",
        "{records:?}\n{}",
        stderr_of(&out)
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(mib < SMALL_MIB, "verify peaked at {mib} MiB");
    Ok(())
}

/// An export document of `n` copies of `work` (one work of an export, as JSON text).
fn export_document(work: &str, n: usize) -> Vec<u8> {
    let mut doc = b"{\"format\": \"inkseal-registry-v1\", \"works\": [\n".to_vec();
    for i in 0..n {
        if i > 0 {
            doc.extend_from_slice(b",\n");
        }
        doc.extend_from_slice(work.as_bytes());
    }
    doc.extend_from_slice(b"\n]}\n");
    doc
}

/// Needs the watermark (to mark the work). Every work of an import has its manifest read
/// (its soft binding must name the work), so the document repeats one real work: the first
/// copy is added, the others are identical.
#[test]
fn works_import_of_a_50_mb_export_streams() -> TestResult {
    let sb = Sandbox::new();
    let input = save(&coffee_crop(0, 0, 160), sb.path(), "in.png");
    sb.mark(&input, &sb.path().join("out.png"), &[]);
    let one = sb.cmd().args(["works", "export"]).output()?;
    assert!(one.status.success(), "{}", stderr_of(&one));
    let one: Value = serde_json::from_slice(&one.stdout)?;
    let work = serde_json::to_string(&one["works"][0])?;
    let n = 50_000_000 / work.len() + 1;
    let export = sb.path().join("export.json");
    let doc = export_document(&work, n);
    assert!(doc.len() > 50_000_000, "{} bytes", doc.len());
    fs::write(&export, &doc)?;
    drop(doc);
    let registry = sb.path().join("registry.sqlite");
    let mut cmd = sb.std_cmd();
    cmd.args(["works", "import", "--registry"])
        .arg(&registry)
        .arg(&export);
    let (out, mib) = run(cmd, sb.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let report: Value = serde_json::from_str(&stdout_of(&out))?;
    assert_eq!(report["added"], 1);
    assert_eq!(report["skipped_identical"], n - 1);
    assert!(mib < SMALL_MIB, "works import peaked at {mib} MiB");
    Ok(())
}

#[test]
fn too_many_threads_are_refused_before_starting() -> TestResult {
    let sb = Sandbox::new();
    let dir = sb.path().join("dataset");
    fs::create_dir(&dir)?;
    small_png(&dir, "a.png");
    let mut cmd = sb.std_cmd();
    cmd.args(["scan", "--threads", "100000"]).arg(&dir);
    let (out, mib) = run(cmd, sb.path());
    assert_clean_failure(&out, "100000 worker threads asked for; the limit is 256");
    assert!(mib < SMALL_MIB, "scan peaked at {mib} MiB");

    let out_dir = sb.path().join("marked");
    let mut cmd = sb.std_cmd();
    cmd.args([
        "mark",
        "--artist",
        "A. Painter",
        "--threads",
        "100000",
        "-o",
    ])
    .arg(&out_dir)
    .arg(&dir);
    let (out, _) = run(cmd, sb.path());
    assert_clean_failure(&out, "100000 threads asked for; the limit is 256");
    assert!(!out_dir.exists() || fs::read_dir(&out_dir)?.next().is_none());
    Ok(())
}
