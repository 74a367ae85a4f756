//! `inkseal verify`: Content Credentials, watermark and registry, side by side.
//!
//! For each file: read its C2PA manifest (embedded or sidecar) and validate it against the
//! trust anchors; look for the watermark; say whether the manifest's soft binding names the
//! work the watermark carries. When the file has no manifest (a platform stripped it) but
//! carries a mark, the work is looked up in the registry and its stored manifest is shown as
//! *recovered*, with the perceptual-hash distance between this file and the registered one.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use inkseal_c2pa::{CredentialReport, ValidationState, WatermarkAgreement};
use inkseal_mark::{
    DetectConfig, Detection, Detector, ImageRef, WorkId, hash_distance, perceptual_hash,
};
use inkseal_registry::Registry;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::cmd_detect::GeometryRecord;
use crate::opts::VerifyOpts;
use crate::{Outcome, cmd_key, io, output, store};

/// Perceptual-hash distance up to which a file counts as the registered picture.
const SAME_PICTURE_BITS: u32 = 10;

/// The overall finding for one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Verdict {
    /// Valid or trusted credentials whose soft binding agrees with the watermark (or no
    /// watermark was found to disagree).
    Verified,
    /// No credentials in the file, but the watermark led to the registered work.
    Recovered,
    /// Credentials that fail validation, or that name another work than the watermark.
    Invalid,
    /// Neither credentials nor a registered mark.
    Unverified,
}

#[derive(Serialize)]
struct WatermarkRecord {
    detected: bool,
    work_id: Option<String>,
    p_value: f64,
    geometry: Option<GeometryRecord>,
}

#[derive(Serialize)]
struct RecoveredRecord {
    work_id: String,
    title: String,
    artist: String,
    license: Option<String>,
    training_allowed: bool,
    created: String,
    /// The registered file's SHA-256 (hex) and whether this file is byte-identical.
    sha256: String,
    identical: bool,
    /// Hamming distance of the perceptual hashes (0-64; small means the same picture).
    phash_distance: u32,
    same_picture: bool,
    /// The stored manifest, validated on its own (its content binding cannot be checked
    /// against this file, which is a different encoding).
    manifest: Option<CredentialReport>,
    manifest_error: Option<String>,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Record {
    Verification {
        path: String,
        verdict: Verdict,
        credentials: Option<Box<CredentialReport>>,
        /// Why the manifest could not be read at all (for example a corrupt manifest).
        credentials_error: Option<String>,
        /// The work ID the manifest's soft binding names (16 hex digits).
        bound_work_id: Option<String>,
        /// `agree`, `mismatch`, `no_soft_binding`, `malformed`, `no_watermark` or
        /// `no_manifest`.
        binding: &'static str,
        watermark: WatermarkRecord,
        recovered: Option<Box<RecoveredRecord>>,
    },
}

/// Runs `inkseal verify`.
pub fn run(opts: &VerifyOpts) -> Result<Outcome> {
    let key = cmd_key::load(opts.key.as_deref())?;
    let mut detector = Detector::new(&key, DetectConfig::default())?;
    let anchors = store::trust_anchors(opts.trust.as_deref(), opts.credentials.as_deref())?;
    let registry = store::open_existing_registry(&opts.store)?;
    let mut out = std::io::stdout().lock();
    let (mut worst_missing, mut any_error) = (false, false);
    for path in &opts.inputs {
        match verify_one(path, &mut detector, anchors.as_deref(), registry.as_ref()) {
            Ok(record) => {
                let Record::Verification { verdict, .. } = &record;
                worst_missing |= matches!(verdict, Verdict::Invalid | Verdict::Unverified);
                print(&mut out, opts.json, path, &record)?;
            }
            Err(err) => {
                any_error = true;
                output::file_error(&mut out, opts.json, path, &err)?;
            }
        }
    }
    out.flush()?;
    Ok(Outcome::of(any_error, worst_missing))
}

fn verify_one(
    path: &Path,
    detector: &mut Detector,
    anchors: Option<&str>,
    registry: Option<&Registry>,
) -> Result<Record> {
    let picture = io::read_pixels(path).with_context(|| path.display().to_string())?;
    let image = ImageRef::new(
        &picture.pixels,
        picture.width,
        picture.height,
        picture.layout,
    )?;
    let found: Detection = detector.detect(image)?;
    let (credentials, credentials_error) = match inkseal_c2pa::read_file(path, anchors) {
        Ok(report) => (report, None),
        Err(e) => (None, Some(format!("{e}"))),
    };
    let alg = inkseal_mark::ALGORITHM;
    let bound = credentials.as_ref().and_then(|c| c.work_id(alg));
    let binding = match (&credentials, found.work_id) {
        (None, _) => "no_manifest",
        (Some(_), None) => "no_watermark",
        (Some(c), Some(id)) => match c.check_watermark(alg, id.0) {
            WatermarkAgreement::Agree => "agree",
            WatermarkAgreement::Mismatch { .. } => "mismatch",
            WatermarkAgreement::NoSoftBinding => "no_soft_binding",
            _ => "malformed",
        },
    };

    let mut recovered = None;
    let work = match (&credentials, found.work_id, registry) {
        (None, Some(id), Some(registry)) => registry.get(id.0)?,
        _ => None,
    };
    if let Some(work) = work {
        let phash = perceptual_hash(image);
        let distance = hash_distance(phash, work.phash);
        let bytes = std::fs::read(path).with_context(|| path.display().to_string())?;
        let sha: [u8; 32] = Sha256::digest(&bytes).into();
        let (manifest, manifest_error) =
            match CredentialReport::from_manifest_store_bytes(&work.manifest, anchors) {
                Ok(m) => (Some(m), None),
                Err(e) => (None, Some(format!("{e}"))),
            };
        recovered = Some(Box::new(RecoveredRecord {
            work_id: WorkId(work.id).to_string(),
            title: work.title,
            artist: work.artist,
            license: work.license,
            training_allowed: work.training_allowed,
            created: work.created,
            sha256: hex::encode(work.sha256),
            identical: sha == work.sha256,
            phash_distance: distance,
            same_picture: distance <= SAME_PICTURE_BITS,
            manifest,
            manifest_error,
        }));
    }

    let verdict = match (&credentials, binding, &recovered, &credentials_error) {
        (_, _, _, Some(_)) => Verdict::Invalid,
        (Some(c), b, _, _) => {
            if c.state == ValidationState::Invalid || matches!(b, "mismatch" | "malformed") {
                Verdict::Invalid
            } else {
                Verdict::Verified
            }
        }
        (None, _, Some(r), _)
            if r.manifest
                .as_ref()
                .is_some_and(|m| m.state != ValidationState::Invalid) =>
        {
            Verdict::Recovered
        }
        _ => Verdict::Unverified,
    };
    Ok(Record::Verification {
        path: output::json_path(path),
        verdict,
        bound_work_id: bound.map(|id| WorkId(id).to_string()),
        credentials: credentials.map(Box::new),
        credentials_error,
        binding,
        watermark: WatermarkRecord {
            detected: found.detected,
            work_id: found.work_id.map(|id| id.to_string()),
            p_value: found.p_value,
            geometry: found.geometry.as_ref().map(GeometryRecord::from),
        },
        recovered,
    })
}

fn print(out: &mut impl Write, json: bool, path: &Path, record: &Record) -> Result<()> {
    if json {
        return output::json_line(out, record);
    }
    let Record::Verification {
        verdict,
        credentials,
        credentials_error,
        bound_work_id,
        binding,
        watermark,
        recovered,
        ..
    } = record;
    let headline = match verdict {
        Verdict::Verified => "verified",
        Verdict::Recovered => "credentials recovered from the registry",
        Verdict::Invalid => "INVALID",
        Verdict::Unverified => "no credentials",
    };
    writeln!(out, "{}: {headline}", path.display())?;
    if let Some(e) = credentials_error {
        writeln!(out, "  manifest: unreadable: {e}")?;
    }
    if let Some(c) = credentials {
        describe(out, "manifest", c)?;
        if let Some(id) = bound_work_id {
            writeln!(
                out,
                "  soft binding: work {id} ({})",
                binding.replace('_', " ")
            )?;
        }
    }
    match &watermark.work_id {
        Some(id) => writeln!(
            out,
            "  watermark: work {id} ({})",
            output::format_p(watermark.p_value)
        )?,
        None => writeln!(out, "  watermark: none found")?,
    }
    if let Some(r) = recovered {
        writeln!(
            out,
            "  recovered: \"{}\" by {}, registered {}; this file is {} (perceptual hash {} bits away)",
            r.title,
            r.artist,
            r.created,
            if r.identical {
                "the registered file"
            } else if r.same_picture {
                "the same picture, re-encoded"
            } else {
                "a different picture"
            },
            r.phash_distance
        )?;
        if let Some(m) = &r.manifest {
            describe(out, "stored manifest", m)?;
        }
    }
    Ok(())
}

fn describe(out: &mut impl Write, label: &str, c: &CredentialReport) -> Result<()> {
    writeln!(out, "  {label}: {}", c.state)?;
    if let Some(creator) = c.creator() {
        writeln!(out, "    creator: {creator}")?;
    }
    if let Some(title) = &c.title {
        writeln!(out, "    title: {title}")?;
    }
    if let Some(license) = &c.license {
        writeln!(out, "    licence: {license}")?;
    }
    for t in &c.training {
        writeln!(out, "    {}: {:?}", t.entry, t.use_)?;
    }
    // A stored manifest cannot be checked against this file's bytes: its content-binding
    // status says nothing about the manifest itself.
    let failures: Vec<&str> = c
        .failures()
        .map(|s| s.code.as_str())
        .filter(|code| c.content_checked || !code.starts_with("assertion.dataHash"))
        .collect();
    if !failures.is_empty() {
        writeln!(out, "    status: {}", failures.join(", "))?;
    }
    Ok(())
}
