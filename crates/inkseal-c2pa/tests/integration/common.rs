//! Shared fixtures: fresh credentials per test and the test images from `testdata/`.

use std::path::{Path, PathBuf};

use inkseal_c2pa::{Credentials, Format, GeneratedCredentials, SignedBytes, Signer, WorkTerms};

/// The watermark algorithm name used in the tests (inkseal_mark::ALGORITHM).
pub const ALG: &str = "org.inkseal.mark.1";

pub struct Fixture {
    pub creds: GeneratedCredentials,
    pub signer: Signer,
}

pub fn fixture() -> Fixture {
    let creds = Credentials::generate("Ada Artist").unwrap();
    let signer = Signer::from_pem(&creds.signer_chain_pem, &creds.signer_key_pem).unwrap();
    Fixture { creds, signer }
}

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn testdata(name: &str) -> PathBuf {
    workspace().join("testdata").join(name)
}

/// The two formats the issue asks about, with their test images.
pub fn images() -> [(Format, &'static str, Vec<u8>); 2] {
    [
        (
            Format::Png,
            "coffee.png",
            std::fs::read(testdata("coffee.png")).unwrap(),
        ),
        (
            Format::Jpeg,
            "flower.jpg",
            std::fs::read(testdata("flower.jpg")).unwrap(),
        ),
    ]
}

pub fn terms(work_id: u64) -> WorkTerms {
    WorkTerms::new(work_id, "Harbour at dusk", "Ada Artist", ALG)
        .with_license("https://creativecommons.org/licenses/by-nc-nd/4.0/")
}

impl Fixture {
    pub fn sign(&self, format: &Format, bytes: &[u8], terms: &WorkTerms) -> SignedBytes {
        inkseal_c2pa::sign_bytes(format, bytes, terms, &self.signer).unwrap()
    }
}

/// Byte offset of `needle` in `haystack`.
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Non-success status codes, for assertion messages.
pub fn problems(report: &inkseal_c2pa::CredentialReport) -> Vec<String> {
    report
        .statuses
        .iter()
        .filter(|s| s.kind != inkseal_c2pa::StatusKind::Success)
        .map(|s| s.code.clone())
        .collect()
}
