//! `inkseal verify`: Content Credentials, watermark and registry, side by side (the workflow
//! is [`inkseal_core::Verifier`]; this module calls it and prints).

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use inkseal_c2pa::{CredentialReport, TrainingUse};
use inkseal_core::{Verdict, Verification, Verifier};
use inkseal_mark::WorkId;
use serde::Serialize;

use crate::cmd_detect::GeometryRecord;
use crate::opts::VerifyOpts;
use crate::{Outcome, cmd_key, output, store};

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
    /// The work ID the stored manifest's soft binding names (16 hex digits).
    bound_work_id: Option<String>,
    /// How that soft binding relates to the watermark: `agree`, `mismatch` (the registry row
    /// holds another work's manifest: not recovered), `no_soft_binding`, `malformed` or
    /// `no_manifest` (unreadable).
    binding: &'static str,
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
    let store = store::store(&opts.store, opts.credentials.as_deref());
    let anchors = store.trust_anchors(opts.trust.as_deref())?;
    let mut verifier = Verifier::new(&key, anchors)?;
    let registry = store::open_existing_registry(&store)?;
    let mut out = std::io::stdout().lock();
    let (mut worst_missing, mut any_error) = (false, false);
    for path in &opts.inputs {
        match verifier.verify_file(path, registry.as_ref()) {
            Ok(found) => {
                worst_missing |= matches!(found.verdict, Verdict::Invalid | Verdict::Unverified);
                print(&mut out, opts.json, path, &record(path, found))?;
            }
            Err(err) => {
                any_error = true;
                output::file_error(&mut out, opts.json, path, &anyhow::Error::from(err))?;
            }
        }
    }
    out.flush()?;
    Ok(Outcome::of(any_error, worst_missing))
}

/// The report record of one verification.
fn record(path: &Path, v: Verification) -> Record {
    let recovered = v.recovered.map(|r| {
        let same_picture = r.same_picture();
        Box::new(RecoveredRecord {
            work_id: WorkId(r.work.id).to_string(),
            title: r.work.title,
            artist: r.work.artist,
            license: r.work.license,
            training_allowed: r.work.training_allowed,
            created: r.work.created,
            sha256: hex::encode(r.work.sha256),
            identical: r.identical,
            phash_distance: r.phash_distance,
            same_picture,
            manifest: r.manifest,
            manifest_error: r.manifest_error,
            bound_work_id: r.bound_work_id.map(|id| id.to_string()),
            binding: r.binding.as_str(),
        })
    });
    let found = v.detection;
    Record::Verification {
        path: output::json_path(path),
        verdict: v.verdict,
        bound_work_id: v.bound_work_id.map(|id| id.to_string()),
        credentials: v.credentials.map(Box::new),
        credentials_error: v.credentials_error,
        binding: v.binding.as_str(),
        watermark: WatermarkRecord {
            detected: found.detected,
            work_id: found.work_id.map(|id| id.to_string()),
            p_value: found.p_value,
            geometry: found.geometry.as_ref().map(GeometryRecord::from),
        },
        recovered,
    }
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
    // Everything from the file, its manifest or the registry is escaped: a title must not
    // be able to add a line such as "  manifest: Trusted".
    writeln!(out, "{}: {headline}", output::path(path))?;
    if let Some(e) = credentials_error {
        writeln!(out, "  manifest: unreadable: {}", output::escape(e))?;
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
            "  recovered: {} by {}, registered {}; this file is {} (perceptual hash {} bits away)",
            output::quoted(&r.title),
            output::escape(&r.artist),
            output::escape(&r.created),
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
            if r.binding != "agree" {
                let named = match &r.bound_work_id {
                    Some(id) => format!("names work {id}"),
                    None => "names no work".to_string(),
                };
                writeln!(
                    out,
                    "    soft binding: {named}, not the watermark's work {} ({}): the registry \
                     row holds another work's manifest",
                    r.work_id,
                    r.binding.replace('_', " ")
                )?;
            }
        }
    }
    Ok(())
}

fn describe(out: &mut impl Write, label: &str, c: &CredentialReport) -> Result<()> {
    writeln!(out, "  {label}: {}", c.state)?;
    if let Some(creator) = c.creator() {
        writeln!(out, "    creator: {}", output::escape(creator))?;
    }
    if let Some(title) = &c.title {
        writeln!(out, "    title: {}", output::escape(title))?;
    }
    if let Some(license) = &c.license {
        writeln!(out, "    licence: {}", output::escape(license))?;
    }
    for t in &c.training {
        writeln!(
            out,
            "    {}: {}",
            output::escape(&t.entry),
            output::escape(&training_use(&t.use_))
        )?;
    }
    // A stored manifest cannot be checked against this file's bytes: its content-binding
    // status says nothing about the manifest itself.
    let failures: Vec<&str> = c
        .failures()
        .map(|s| s.code.as_str())
        .filter(|code| c.content_checked || !code.starts_with("assertion.dataHash"))
        .collect();
    if !failures.is_empty() {
        writeln!(out, "    status: {}", output::escape(&failures.join(", ")))?;
    }
    Ok(())
}

/// A training permission as printed before (`NotAllowed`), any other value as it was found.
fn training_use(use_: &TrainingUse) -> std::borrow::Cow<'_, str> {
    match use_ {
        TrainingUse::Other(s) => s.into(),
        known => format!("{known:?}").into(),
    }
}
