//! Verifying a file: Content Credentials, watermark and registry, side by side.
//!
//! For each file: read its C2PA manifest (embedded or sidecar) and validate it against the
//! trust anchors; look for the watermark; say whether the manifest's soft binding names the
//! work the watermark carries. When the file has no manifest (a platform stripped it) but
//! carries a mark, the work is looked up in the registry and its stored manifest is
//! *recovered*, with the perceptual-hash distance between this file and the registered one.
//! A stored manifest counts as recovered only if its own soft binding names the work ID the
//! watermark carries: a registry row (perhaps imported from someone else's export) that holds
//! another work's manifest is reported as a mismatch, never as recovered.

use std::path::Path;

use inkseal_c2pa::{CredentialReport, Format, ValidationState, WatermarkAgreement};
use inkseal_io::image::{self, DecodeOptions, Limits, Picture};
use inkseal_mark::{
    DetectConfig, Detection, Detector, Key, WorkId, hash_distance, perceptual_hash,
};
use inkseal_registry::{Registry, Work};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// Perceptual-hash distance up to which a file counts as the registered picture.
pub const SAME_PICTURE_BITS: u32 = 10;

/// The overall finding for one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Valid or trusted credentials whose soft binding agrees with the watermark (or no
    /// watermark was found to disagree).
    Verified,
    /// No credentials in the file, but the watermark led to the registered work, whose stored
    /// manifest validates and whose soft binding names the watermark's work ID.
    Recovered,
    /// Credentials that fail validation, or that name another work than the watermark; or a
    /// stored manifest, recovered from the registry, whose soft binding does not name the
    /// watermark's work ID.
    Invalid,
    /// Neither credentials nor a registered mark.
    Unverified,
}

/// How the manifest's soft binding relates to the watermark.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Binding {
    /// The soft binding names the work the watermark carries.
    Agree,
    /// It names another work.
    Mismatch,
    /// The manifest has no soft binding of our algorithm.
    NoSoftBinding,
    /// The soft binding cannot be read.
    Malformed,
    /// There is a manifest but no watermark.
    NoWatermark,
    /// There is no manifest.
    NoManifest,
}

impl Binding {
    /// The name used in reports (`agree`, `no_soft_binding`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Binding::Agree => "agree",
            Binding::Mismatch => "mismatch",
            Binding::NoSoftBinding => "no_soft_binding",
            Binding::Malformed => "malformed",
            Binding::NoWatermark => "no_watermark",
            Binding::NoManifest => "no_manifest",
        }
    }
}

/// The registered work a stripped file's watermark led to.
#[derive(Clone, Debug)]
pub struct Recovered {
    /// The registry's row.
    pub work: Work,
    /// Whether this file is byte-identical to the registered one.
    pub identical: bool,
    /// Hamming distance of the perceptual hashes (0-64; small means the same picture).
    pub phash_distance: u32,
    /// The stored manifest, validated on its own (its content binding cannot be checked
    /// against this file, which is a different encoding).
    pub manifest: Option<CredentialReport>,
    /// Why the stored manifest could not be read.
    pub manifest_error: Option<String>,
    /// How the stored manifest's soft binding relates to the watermark that led to it:
    /// [`Binding::Agree`] unless the registry row holds a manifest of another work
    /// ([`Binding::Mismatch`]), one without our soft binding, or an unreadable one
    /// ([`Binding::NoManifest`]).
    pub binding: Binding,
    /// The work ID the stored manifest's soft binding names.
    pub bound_work_id: Option<WorkId>,
}

impl Recovered {
    /// Whether the file is the registered picture (perhaps re-encoded).
    pub fn same_picture(&self) -> bool {
        self.phash_distance <= SAME_PICTURE_BITS
    }
}

/// Everything [`Verifier`] found about one file.
#[derive(Clone, Debug)]
pub struct Verification {
    /// The overall finding.
    pub verdict: Verdict,
    /// The file's own credentials.
    pub credentials: Option<CredentialReport>,
    /// Why the manifest could not be read at all (for example a corrupt manifest).
    pub credentials_error: Option<String>,
    /// The work ID the manifest's soft binding names.
    pub bound_work_id: Option<WorkId>,
    /// How binding and watermark relate.
    pub binding: Binding,
    /// The watermark search.
    pub detection: Detection,
    /// The registered work, when the credentials were stripped.
    pub recovered: Option<Recovered>,
}

/// Verifies files with one key and one set of trust anchors (the detector's plans are
/// reused from file to file).
pub struct Verifier {
    detector: Detector,
    anchors: Option<String>,
    limits: Limits,
}

/// SHA-256 of the regular file at `path`, streamed (never held whole in memory).
pub(crate) fn sha256_file(path: &Path) -> std::io::Result<[u8; 32]> {
    let mut file = inkseal_io::read::open(path)?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)?;
    Ok(hasher.finalize().into())
}

/// How `manifest`'s soft binding (algorithm [`inkseal_mark::ALGORITHM`], the 8-byte work ID)
/// relates to the work ID `id` a watermark carries.
pub fn soft_binding(manifest: &CredentialReport, id: WorkId) -> Binding {
    match manifest.check_watermark(inkseal_mark::ALGORITHM, id.0) {
        WatermarkAgreement::Agree => Binding::Agree,
        WatermarkAgreement::Mismatch { .. } => Binding::Mismatch,
        WatermarkAgreement::NoSoftBinding => Binding::NoSoftBinding,
        _ => Binding::Malformed,
    }
}

impl Verifier {
    /// A verifier for marks made with `key`, trusting the CA certificates in
    /// `trust_anchors` (PEM).
    pub fn new(key: &Key, trust_anchors: Option<String>) -> Result<Verifier> {
        Ok(Verifier {
            detector: Detector::new(key, DetectConfig::default())?,
            anchors: trust_anchors,
            limits: Limits::default(),
        })
    }

    /// Sets the decoding limits.
    pub fn with_limits(mut self, limits: Limits) -> Verifier {
        self.limits = limits;
        self
    }

    /// Verifies the file at `path` (its sidecar `.c2pa` manifest too, if it has one).
    pub fn verify_file(
        &mut self,
        path: &Path,
        registry: Option<&Registry>,
    ) -> Result<Verification> {
        let options = DecodeOptions::for_detection().with_limits(self.limits);
        let picture = image::decode_path(path, &options).map_err(|e| Error::from(e).about(path))?;
        let credentials = inkseal_c2pa::read_file(path, self.anchors.as_deref());
        let file_sha = || sha256_file(path).map_err(|e| Error::file(path.display().to_string(), e));
        self.verify(&picture, credentials, file_sha, registry)
    }

    /// Verifies an encoded image held in memory (no sidecar).
    pub fn verify_bytes(
        &mut self,
        bytes: &[u8],
        registry: Option<&Registry>,
    ) -> Result<Verification> {
        let options = DecodeOptions::for_detection().with_limits(self.limits);
        let picture = image::decode_bytes(bytes, &options)?;
        let credentials = match Format::detect(bytes) {
            Some(format) => inkseal_c2pa::read_bytes(&format, bytes, self.anchors.as_deref()),
            None => Ok(None),
        };
        self.verify(
            &picture,
            credentials,
            || Ok(Sha256::digest(bytes).into()),
            registry,
        )
    }

    fn verify(
        &mut self,
        picture: &Picture,
        credentials: inkseal_c2pa::Result<Option<CredentialReport>>,
        file_sha: impl FnOnce() -> Result<[u8; 32]>,
        registry: Option<&Registry>,
    ) -> Result<Verification> {
        let found: Detection = self.detector.detect(picture.view()?)?;
        let (credentials, credentials_error) = match credentials {
            Ok(report) => (report, None),
            Err(e) => (None, Some(e.to_string())),
        };
        let alg = inkseal_mark::ALGORITHM;
        let bound = credentials.as_ref().and_then(|c| c.work_id(alg));
        let binding = match (&credentials, found.work_id) {
            (None, _) => Binding::NoManifest,
            (Some(_), None) => Binding::NoWatermark,
            (Some(c), Some(id)) => soft_binding(c, id),
        };

        let work = match (&credentials, found.work_id, registry) {
            (None, Some(id), Some(registry)) => registry.get(id.0).map_err(|e| {
                Error::registry(format!("registry {}", registry.path().display()), e)
            })?,
            _ => None,
        };
        let recovered = match work {
            Some(work) => {
                let distance = hash_distance(perceptual_hash(picture.view()?), work.phash);
                let identical = file_sha()? == work.sha256;
                let (manifest, manifest_error) = match CredentialReport::from_manifest_store_bytes(
                    &work.manifest,
                    self.anchors.as_deref(),
                ) {
                    Ok(m) => (Some(m), None),
                    Err(e) => (None, Some(e.to_string())),
                };
                // The row was found by the watermark's ID; its manifest must say so too.
                let binding = match (&manifest, found.work_id) {
                    (Some(m), Some(id)) => soft_binding(m, id),
                    _ => Binding::NoManifest,
                };
                Some(Recovered {
                    work,
                    identical,
                    phash_distance: distance,
                    bound_work_id: manifest.as_ref().and_then(|m| m.work_id(alg)).map(WorkId),
                    manifest,
                    manifest_error,
                    binding,
                })
            }
            None => None,
        };

        let verdict = match (&credentials, binding, &recovered, &credentials_error) {
            (_, _, _, Some(_)) => Verdict::Invalid,
            (Some(c), b, _, _) => {
                if c.state == ValidationState::Invalid
                    || matches!(b, Binding::Mismatch | Binding::Malformed)
                {
                    Verdict::Invalid
                } else {
                    Verdict::Verified
                }
            }
            (None, _, Some(r), _) => match &r.manifest {
                Some(m) if m.state == ValidationState::Invalid => Verdict::Unverified,
                Some(_) if r.binding == Binding::Agree => Verdict::Recovered,
                // The registry row holds a manifest of another work (or one that names none)
                // under this work's ID: never "recovered".
                Some(_) => Verdict::Invalid,
                None => Verdict::Unverified,
            },
            _ => Verdict::Unverified,
        };
        Ok(Verification {
            verdict,
            bound_work_id: bound.map(WorkId),
            credentials,
            credentials_error,
            binding,
            detection: found,
            recovered,
        })
    }
}
