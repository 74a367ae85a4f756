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
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
        let mut digest = crc.digest();
        digest.update(kind);
        digest.update(data);
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&digest.finalize().to_be_bytes());
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB, deflate, no filter, no interlace
    chunk(&mut png, b"IHDR", &ihdr);
    // A zlib stream of zero bytes (stored block), so the decoder gets as far as the pixels.
    chunk(
        &mut png,
        b"IDAT",
        &[
            0x78, 0x01, 0x01, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01,
        ],
    );
    chunk(&mut png, b"IEND", &[]);
    png
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
