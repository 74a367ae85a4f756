//! `inkseal mark`: watermark, sign and register a work in one step, all or nothing.
//!
//! The registry drives a crash-safe protocol: the work ID is reserved as a pending row, the
//! signed file is written to a temporary file next to OUT (its name carries the ID), the row
//! is staged with the file's hash, the file is renamed into place and the row completed. A
//! failure at any step removes the temporary file and the row; a kill leaves a pending row
//! that the next command opening the registry finishes (the file was renamed) or removes
//! (it was not). So there is never a registry row without its file, or the other way round.

use std::fs::File;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use inkseal_c2pa::{Format, WorkTerms, sign_bytes};
use inkseal_mark::{EmbedConfig, Embedder, ImageMut, ImageRef, WorkId, perceptual_hash};
use inkseal_registry::{NewWork, Registry, Staged};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::opts::MarkOpts;
use crate::{Outcome, cmd_key, fsutil, io, output, store};

#[derive(Serialize)]
struct MarkRecord {
    #[serde(rename = "type")]
    kind: &'static str,
    input: String,
    output: String,
    work_id: String,
    title: String,
    artist: String,
    license: Option<String>,
    training_allowed: bool,
    key_id: String,
    signer: String,
    registry: String,
    sha256: String,
    psnr_db: f64,
    /// SSIMULACRA2 of the written file against the input's pixels (90 visually lossless;
    /// re-saving as JPEG q90 scores about 85); `null` when it could not be computed.
    ssimulacra2: Option<f64>,
    /// The mark's amplitude against the perceptual model's default (strength included).
    gain: f64,
    fragile: bool,
}

/// Test hook: `INKSEAL_FAULT=<step>` aborts the process right after that step, as a kill
/// would (`reserved`, `written`, `staged`, `renamed`). Used by the crash-safety tests.
fn fault_point(step: &str) {
    if std::env::var("INKSEAL_FAULT").is_ok_and(|v| v == step) {
        std::process::abort();
    }
}

/// Runs `inkseal mark`.
pub fn run(opts: &MarkOpts) -> Result<Outcome> {
    let (input, output) = (&opts.input, &opts.output);
    let shown = input.display();
    if fsutil::is_same_file(input, output) {
        bail!(
            "refusing to overwrite the input {shown}: the marked copy must go to another file (-o)"
        );
    }
    if opts.title.trim().is_empty() || opts.artist.trim().is_empty() {
        bail!("--title and --artist must not be empty");
    }
    let key = cmd_key::load(opts.key.as_deref())?;
    let mut embedder = Embedder::new(&key, EmbedConfig::default().with_strength(opts.strength))?;
    let opened = io::open(input).with_context(|| shown.to_string())?;
    io::check_extension(output, opened.format)
        .with_context(|| format!("output {}", output.display()))?;
    let mut picture = opened.decode(true).with_context(|| shown.to_string())?;
    let signer = store::signer(
        opts.cert.as_deref(),
        opts.signing_key.as_deref(),
        opts.credentials.as_deref(),
        &opts.artist,
    )?;
    let mut registry = store::open_registry(&opts.store)?;

    let id = registry
        .reserve(&NewWork {
            title: opts.title.clone(),
            artist: opts.artist.clone(),
            license: opts.license.clone(),
            training_allowed: opts.allow_training,
            key_id: key.id(),
        })
        .context("cannot allocate a work ID")?;
    fault_point("reserved");
    let temp = temp_path(output, id);
    let original = picture.pixels.clone();
    let result = write_work(
        &mut registry,
        &mut embedder,
        &mut picture,
        opts,
        &signer,
        id,
        &temp,
    );
    let (report, sha256) = match result {
        Ok(done) => done,
        Err(err) => {
            // Undo: the temporary file (if it is still there) and the pending row.
            let _ = std::fs::remove_file(&temp);
            if let Err(e) = registry.abandon(id) {
                output::warning(format!(
                    "cannot remove the pending work {id:016x} from the registry ({e}); the next \
                     command that opens it will"
                ));
            }
            return Err(err);
        }
    };

    let quality = picture.file_quality(&original, output, report.ssimulacra2);
    if report.is_fragile() {
        output::warning(format!(
            "{}: {:.0}% of this image is pure white or black; the mark will likely not survive \
             recompression, blur or a social-media upload",
            output.display(),
            report.extreme_share * 100.0
        ));
    }
    if !opts.json {
        output::quality_note(output, quality);
    }
    let mut out = std::io::stdout().lock();
    let work_id = WorkId(id).to_string();
    if opts.json {
        let record = MarkRecord {
            kind: "mark",
            input: output::json_path(input),
            output: output::json_path(output),
            work_id,
            title: opts.title.clone(),
            artist: opts.artist.clone(),
            license: opts.license.clone(),
            training_allowed: opts.allow_training,
            key_id: key.id(),
            signer: signer.subject().to_string(),
            registry: output::json_path(registry.path()),
            sha256: hex::encode(sha256),
            psnr_db: report.psnr_db,
            ssimulacra2: quality,
            gain: report.quality_gain,
            fragile: report.is_fragile(),
        };
        output::json_line(&mut out, &record)?;
    } else {
        writeln!(out, "{work_id}")?;
    }
    out.flush()?;
    Ok(Outcome::Ok)
}

/// `.<name>.<id>.tmp` next to `output`: the registry only ever deletes temporary files whose
/// name carries their work ID.
fn temp_path(output: &Path, id: u64) -> PathBuf {
    let name = output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    output.with_file_name(format!(".{name}.{id:016x}.tmp"))
}

/// Marks, signs, writes and registers; on error the caller cleans up.
fn write_work(
    registry: &mut Registry,
    embedder: &mut Embedder,
    picture: &mut io::Picture,
    opts: &MarkOpts,
    signer: &inkseal_c2pa::Signer,
    id: u64,
    temp: &Path,
) -> Result<(inkseal_mark::EmbedReport, [u8; 32])> {
    let shown = opts.input.display();
    let (w, h, layout) = (picture.width, picture.height, picture.layout);
    let report = match embedder.embed(
        ImageMut::new(&mut picture.pixels, w, h, layout)?,
        WorkId(id),
    ) {
        Ok(r) => r,
        Err(inkseal_mark::Error::TooSmall { width, height, min }) => bail!(
            "{shown}: image too small to mark: {width}x{height} pixels; the short side must be at least {min}"
        ),
        Err(e) => return Err(e).with_context(|| format!("{shown}: cannot mark the image")),
    };
    let phash = perceptual_hash(ImageRef::new(&picture.pixels, w, h, layout)?);

    let mut encoded = Cursor::new(Vec::new());
    io::write(picture, &mut encoded)?;
    let encoded = encoded.into_inner();
    let format = Format::detect_or_path(&encoded, &opts.output);
    let mut terms = WorkTerms::new(id, &opts.title, &opts.artist, inkseal_mark::ALGORITHM)
        .with_training_allowed(opts.allow_training);
    if let Some(license) = &opts.license {
        terms = terms.with_license(license);
    }
    let signed = sign_bytes(&format, &encoded, &terms, signer)
        .context("cannot sign the Content Credentials")?;
    if !signed.embedded {
        bail!(
            "{}: the credentials could not be embedded in this format",
            opts.output.display()
        );
    }
    let sha256: [u8; 32] = Sha256::digest(&signed.asset).into();

    registry.record_paths(id, temp, &opts.output)?;
    let mut file =
        File::create_new(temp).with_context(|| format!("cannot create {}", temp.display()))?;
    file.write_all(&signed.asset)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", temp.display()))?;
    drop(file);
    fault_point("written");
    registry.stage(
        id,
        &Staged {
            sha256,
            phash,
            manifest: signed.manifest,
            output_path: opts.output.clone(),
            temp_path: temp.to_path_buf(),
        },
    )?;
    fault_point("staged");
    std::fs::rename(temp, &opts.output)
        .with_context(|| format!("cannot write {}", opts.output.display()))?;
    if let Some(dir) = opts.output.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(d) = File::open(dir)
    {
        let _ = d.sync_all();
    }
    fault_point("renamed");
    if let Err(e) = registry.complete(id) {
        // The file is in place but unrecorded: take it back so nothing is left half done.
        let _ = std::fs::remove_file(&opts.output);
        return Err(e).context("cannot record the work in the registry");
    }
    Ok((report, sha256))
}
