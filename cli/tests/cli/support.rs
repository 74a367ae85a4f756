//! Shared helpers: the binary, fixtures and small image builders.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use image::{DynamicImage, ImageFormat, ImageReader};

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The `inkseal` binary under test.
pub fn inkseal() -> assert_cmd::Command {
    assert_cmd::cargo::cargo_bin_cmd!("inkseal")
}

/// A file in the workspace's `testdata/`.
pub fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata")
        .join(name)
}

/// The coffee photo (600x400 RGB), decoded.
pub fn coffee() -> DynamicImage {
    image::open(testdata("coffee.png")).expect("testdata/coffee.png decodes")
}

/// Writes `img` to `dir/name` in the format its extension names (WebP is lossless).
pub fn save(img: &DynamicImage, dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    img.save(&path).expect("test image saves");
    path
}

/// The format of a file judged from its content only.
pub fn format_of(path: &Path) -> Option<ImageFormat> {
    let file = File::open(path).ok()?;
    ImageReader::new(BufReader::new(file))
        .with_guessed_format()
        .ok()?
        .format()
}

/// Decodes a file, trusting its content rather than its name.
pub fn decode(path: &Path) -> DynamicImage {
    let file = File::open(path).expect("file opens");
    ImageReader::new(BufReader::new(file))
        .with_guessed_format()
        .expect("format guess")
        .decode()
        .expect("image decodes")
}

/// A syntactically valid PNG (signature, IHDR, empty IDAT, IEND, correct CRCs) whose header
/// claims `width` x `height` RGB pixels.
pub fn png_header_only(width: u32, height: u32) -> Vec<u8> {
    png_header_with(width, height, 8, 2)
}

/// [`png_header_only`] with another bit depth and PNG colour type (0 gray, 2 RGB, 6 RGBA).
pub fn png_header_with(width: u32, height: u32, depth: u8, color: u8) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[depth, color, 0, 0, 0]); // deflate, no filter, no interlace
    png_chunk(&mut png, b"IHDR", &ihdr);
    // A zlib stream of zero bytes (stored block), so the decoder gets as far as the pixels.
    png_chunk(
        &mut png,
        b"IDAT",
        &[
            0x78, 0x01, 0x01, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01,
        ],
    );
    png_chunk(&mut png, b"IEND", &[]);
    png
}

/// Appends one PNG chunk (length, type, data, CRC) to `out`.
pub fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
    let mut digest = crc.digest();
    digest.update(kind);
    digest.update(data);
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&digest.finalize().to_be_bytes());
}

/// A small textured RGB image.
pub fn noise_rgb(width: u32, height: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(image::RgbImage::from_fn(width, height, |x, y| {
        let v = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)) >> 8;
        image::Rgb([v as u8, (v >> 8) as u8, (v >> 16) as u8])
    }))
}

/// stdout as text.
pub fn stdout_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// stderr as text.
pub fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts a failure that was reported, not a crash.
pub fn assert_clean_failure(out: &std::process::Output, needle: &str) {
    let err = stderr_of(out);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(!err.contains("panicked"), "panic: {err}");
    assert!(
        err.to_lowercase().contains(&needle.to_lowercase()),
        "expected {needle:?} in stderr: {err}"
    );
}

/// Whether `s` is exactly 16 lowercase hex digits.
pub fn is_hex16(s: &str) -> bool {
    s.len() == 16
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Runs `inkseal embed IN -o OUT ARGS…` and returns the printed work ID.
/// `inkseal embed INPUT -o OUTPUT`, ready for more arguments.
pub fn embed_cmd(input: &Path, output: impl AsRef<std::ffi::OsStr>) -> assert_cmd::Command {
    let mut cmd = inkseal();
    cmd.arg("embed").arg(input).arg("-o").arg(output);
    cmd
}

/// Runs `inkseal embed INPUT -o OUTPUT` and returns what it did.
pub fn run_embed(
    input: &Path,
    output: impl AsRef<std::ffi::OsStr>,
) -> std::io::Result<std::process::Output> {
    embed_cmd(input, output).output()
}

/// `inkseal key new -o PATH`, which must succeed.
pub fn new_key(path: &Path) {
    inkseal()
        .args(["key", "new", "-o"])
        .arg(path)
        .assert()
        .success();
}

pub fn embed_ok(input: &Path, output: &Path, args: &[&str]) -> String {
    let out = inkseal()
        .arg("embed")
        .arg(input)
        .arg("-o")
        .arg(output)
        .args(args)
        .output()
        .expect("inkseal runs");
    assert!(
        out.status.success(),
        "embed {} failed: {}",
        input.display(),
        stderr_of(&out)
    );
    let id = stdout_of(&out).trim_end().to_string();
    assert!(is_hex16(&id), "stdout was {:?}", stdout_of(&out));
    id
}

/// A private data directory for one test. Every command made by [`Sandbox::cmd`] points
/// `XDG_DATA_HOME` and `HOME` into it, so the default registry and local credentials live
/// there and nothing touches the real user's data. Test files go in [`Sandbox::path`].
pub struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().expect("temporary directory"),
        }
    }

    /// The sandbox's root directory (a scratch folder for inputs and outputs).
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `$XDG_DATA_HOME/inkseal`, where `directories` puts inkseal's data on Linux.
    pub fn data_dir(&self) -> PathBuf {
        self.path().join("xdg-data").join("inkseal")
    }

    /// The default registry file.
    pub fn registry(&self) -> PathBuf {
        self.data_dir().join("registry.sqlite")
    }

    /// The default credentials folder.
    pub fn credentials(&self) -> PathBuf {
        self.data_dir().join("credentials")
    }

    fn configure(&self, cmd: &mut std::process::Command) {
        cmd.env("XDG_DATA_HOME", self.path().join("xdg-data"))
            .env("HOME", self.path().join("home"))
            .env_remove("INKSEAL_FAULT");
    }

    /// `inkseal` with this sandbox's environment.
    pub fn cmd(&self) -> assert_cmd::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin!("inkseal"));
        self.configure(&mut cmd);
        assert_cmd::Command::from_std(cmd)
    }

    /// `inkseal` as a plain `std::process::Command` (for spawning several at once).
    pub fn std_cmd(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin!("inkseal"));
        self.configure(&mut cmd);
        cmd
    }

    /// `inkseal mark IN -o OUT --json ARGS…`, which must succeed; returns the JSON record.
    /// The title and artist are "Harbour at dusk" and "A. Painter" unless ARGS set them.
    pub fn mark(&self, input: &Path, output: &Path, args: &[&str]) -> serde_json::Value {
        let mut cmd = self.cmd();
        cmd.arg("mark")
            .arg(input)
            .arg("-o")
            .arg(output)
            .arg("--json");
        for (flag, default) in [("--title", "Harbour at dusk"), ("--artist", "A. Painter")] {
            if !args.contains(&flag) {
                cmd.args([flag, default]);
            }
        }
        let out = cmd.args(args).output().expect("inkseal runs");
        assert!(
            out.status.success(),
            "mark {} failed: {}",
            input.display(),
            stderr_of(&out)
        );
        let text = stdout_of(&out);
        assert_eq!(text.lines().count(), 1, "{text}");
        serde_json::from_str(&text).expect("mark prints JSON")
    }

    /// `inkseal verify --json FILE ARGS…`: the one record and the exit code.
    pub fn verify(&self, file: &Path, args: &[&str]) -> (serde_json::Value, Option<i32>) {
        let out = self
            .cmd()
            .args(["verify", "--json"])
            .arg(file)
            .args(args)
            .output()
            .expect("inkseal runs");
        let err = stderr_of(&out);
        assert!(!err.contains("panicked"), "panic: {err}");
        let text = stdout_of(&out);
        assert_eq!(text.lines().count(), 1, "stdout: {text}\nstderr: {err}");
        let record: serde_json::Value = serde_json::from_str(&text).expect("verify prints JSON");
        assert_eq!(record["type"], "verification", "{record:#}\nstderr: {err}");
        (record, out.status.code())
    }

    /// `inkseal works list --json ARGS…`, which must succeed: the rows, sorted by work ID.
    pub fn works(&self, args: &[&str]) -> Vec<serde_json::Value> {
        let out = self
            .cmd()
            .args(["works", "list", "--json"])
            .args(args)
            .output()
            .expect("inkseal runs");
        assert!(out.status.success(), "works list: {}", stderr_of(&out));
        let mut rows: Vec<serde_json::Value> = stdout_of(&out)
            .lines()
            .map(|l| serde_json::from_str(l).expect("works list prints JSON lines"))
            .collect();
        rows.sort_by(|a, b| a["work_id"].as_str().cmp(&b["work_id"].as_str()));
        rows
    }
}

/// A square RGB crop of the coffee photo (600x400) at (`x`, `y`).
pub fn coffee_crop(x: u32, y: u32, size: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(coffee().crop_imm(x, y, size, size).to_rgb8())
}

/// Writes `img` as a baseline JPEG of the given quality (the `image` crate's encoder: no
/// metadata segments at all).
pub fn save_jpeg(img: &DynamicImage, path: &Path, quality: u8) {
    let mut file = std::io::BufWriter::new(File::create(path).expect("JPEG file creates"));
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut file, quality);
    img.to_rgb8()
        .write_with_encoder(encoder)
        .expect("JPEG encodes");
}

/// The SHA-256 of a file, in lowercase hex.
pub fn sha256_hex(path: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(
        std::fs::read(path).expect("file reads"),
    ))
}

/// The names of the files in `dir`, sorted.
pub fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("dir reads")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Every row of a registry, read with SQLite directly (pending rows included, which
/// `works list` never shows): (work ID as 16 hex digits, state, staged SHA-256).
pub fn registry_rows(path: &Path) -> Vec<(String, String, Option<String>)> {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE)
            .expect("registry opens");
    let mut stmt = conn
        .prepare("SELECT id, state, sha256 FROM works ORDER BY id")
        .expect("query prepares");
    stmt.query_map([], |r| {
        // IDs are stored as the u64's bit pattern in an i64.
        let id = u64::from_ne_bytes(r.get::<_, i64>(0)?.to_ne_bytes());
        Ok((format!("{id:016x}"), r.get(1)?, r.get(2)?))
    })
    .expect("query runs")
    .collect::<Result<_, _>>()
    .expect("rows read")
}

/// The failure status codes of a credentials report.
pub fn failure_codes(credentials: &serde_json::Value) -> Vec<String> {
    credentials["statuses"]
        .as_array()
        .expect("statuses is an array")
        .iter()
        .filter(|s| s["kind"] == "failure")
        .map(|s| s["code"].as_str().expect("code").to_string())
        .collect()
}

/// The work ID a credentials report's inkseal soft binding carries, as 16 hex digits.
pub fn soft_binding_id(credentials: &serde_json::Value) -> String {
    let bindings = credentials["soft_bindings"]
        .as_array()
        .expect("soft_bindings is an array");
    let ours: Vec<&serde_json::Value> = bindings
        .iter()
        .filter(|b| b["alg"] == inkseal_mark::ALGORITHM)
        .collect();
    assert_eq!(ours.len(), 1, "{bindings:?}");
    format!(
        "{:016x}",
        ours[0]["work_id"].as_u64().expect("work_id is a u64")
    )
}

/// A tar archive of `(name, bytes)` members, in order.
pub fn tar_bytes<N: AsRef<str>, B: AsRef<[u8]>>(members: &[(N, B)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, bytes) in members {
        let bytes = bytes.as_ref();
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, name.as_ref(), bytes)
            .expect("tar member");
    }
    builder.into_inner().expect("tar finishes")
}
