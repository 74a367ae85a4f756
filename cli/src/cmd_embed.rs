//! `inkseal embed`: mark one image and write the copy.

use std::io::Write;

use anyhow::{Context, Result, bail};
use inkseal_mark::{EmbedConfig, Embedder, WorkId};
use rand::TryRngCore;
use rand::rngs::OsRng;
use serde::Serialize;

use inkseal_core::atomic::{self, Options, Replace};
use inkseal_core::image::{self, Limits, WriteNotes};

use crate::Outcome;
use crate::opts::EmbedOpts;
use crate::{cmd_key, output};

#[derive(Serialize)]
struct EmbedRecord {
    #[serde(rename = "type")]
    kind: &'static str,
    input: String,
    output: String,
    work_id: String,
    key_id: String,
    /// `null` when nothing changed (infinite PSNR).
    psnr_db: f64,
    /// SSIMULACRA2 of the written file against the input's pixels (90 visually lossless;
    /// re-saving as JPEG q90 scores about 85); `null` when it could not be computed.
    ssimulacra2: Option<f64>,
    /// The mark's amplitude against the perceptual model's default (strength included).
    gain: f64,
    /// The image is mostly pure white or black: the mark will not survive recompression.
    fragile: bool,
}

/// Runs `inkseal embed`.
pub fn run(opts: &EmbedOpts) -> Result<Outcome> {
    let (input, output) = (&opts.input, &opts.output);
    let shown = input.display();
    // Cheap checks first, so mistakes are reported before any decoding.
    if atomic::is_same_file(input, output) {
        bail!(
            "refusing to overwrite the input {shown}: the marked copy must go to another file (-o)"
        );
    }
    let key = cmd_key::load(opts.key.as_deref())?;
    let mut embedder = Embedder::new(&key, EmbedConfig::default().with_strength(opts.strength))?;
    let id = match opts.id {
        Some(id) => id,
        None => WorkId(
            OsRng
                .try_next_u64()
                .context("cannot get randomness from the operating system")?,
        ),
    };

    let mut picture = inkseal_core::mark::load_for_marking(input, output, Limits::default())?;
    if picture.is_high_depth() {
        output::note(format!(
            "{shown} has {}-bit samples; the marked output is 8-bit",
            picture.source_bits()
        ));
    }

    let original = picture.pixels.clone();
    let image = picture.view_mut()?;
    let report = match embedder.embed(image, id) {
        Ok(r) => r,
        Err(inkseal_mark::Error::TooSmall { width, height, min }) => bail!(
            "{shown}: image too small to mark: {width}x{height} pixels; the short side must be at least {min}"
        ),
        Err(e) => return Err(e).with_context(|| format!("{shown}: cannot mark the image")),
    };

    // A replaced file keeps its permissions; a new one gets the usual 0666 less the umask.
    let options = Options::keeping_mode_of(output, Replace::Yes);
    let notes = atomic::write_with(output, &options, |f, _| image::encode(&picture, f))
        .with_context(|| format!("output {}", output.display()))?;
    report_notes(&notes, output);
    let quality = std::fs::read(output)
        .ok()
        .and_then(|written| picture.encoded_quality(&original, &written, report.ssimulacra2));
    if report.is_fragile() {
        output::warning(format!(
            "{}: {:.0}% of this image is pure white or black, where a mark can only be one level \
             deep; it will be found in this file, but likely not after recompression (JPEG 75 or \
             lower, WebP), blur or a social-media upload{}",
            output.display(),
            report.extreme_share * 100.0,
            output::fragile_advice(opts.strength)
        ));
    }

    if !opts.json {
        output::quality_note(output, quality);
    }
    let mut out = std::io::stdout().lock();
    if opts.json {
        let record = EmbedRecord {
            kind: "embed",
            input: output::json_path(input),
            output: output::json_path(output),
            work_id: id.to_string(),
            key_id: key.id(),
            psnr_db: report.psnr_db,
            ssimulacra2: quality,
            gain: report.quality_gain,
            fragile: report.is_fragile(),
        };
        output::json_line(&mut out, &record)?;
    } else {
        writeln!(out, "{id}")?;
    }
    out.flush()?;
    Ok(Outcome::Ok)
}

fn report_notes(notes: &WriteNotes, path: &std::path::Path) {
    let shown = path.display();
    if notes.dropped_alpha {
        output::note(format!(
            "{shown}: JPEG has no transparency; the alpha channel was dropped"
        ));
    }
    if notes.gray_alpha_as_rgba {
        output::note(format!("{shown}: gray with alpha was written as RGBA"));
    }
    for what in &notes.dropped_metadata {
        output::note(format!("{shown}: the {what} could not be carried over"));
    }
}
