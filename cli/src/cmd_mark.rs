//! `inkseal mark`: watermark, sign and register a work in one step, all or nothing (the
//! workflow is [`inkseal_core::Marker`]; this module parses, calls and prints).

use std::io::{IsTerminal, Write};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use inkseal_core::batch::{self, BatchConfig, Defaults, Outcome as WorkOutcome};
use inkseal_core::{Marked, Marker, WorkInfo};
use inkseal_mark::EmbedConfig;
use serde::Serialize;

use crate::opts::MarkOpts;
use crate::{Outcome, cmd_key, output, store};

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

/// Runs `inkseal mark`.
pub fn run(opts: &MarkOpts) -> Result<Outcome> {
    if opts.input.is_dir() {
        return run_batch(opts);
    }
    let (input, output) = (&opts.input, &opts.output);
    let Some(title) = &opts.title else {
        bail!(
            "--title is required to mark one file (for a folder, titles come from the file names)"
        );
    };
    if inkseal_core::atomic::is_same_file(input, output) {
        bail!(
            "refusing to overwrite the input {}: the marked copy must go to another file (-o)",
            input.display()
        );
    }
    if title.trim().is_empty() || opts.artist.trim().is_empty() {
        bail!("--title and --artist must not be empty");
    }
    let key = cmd_key::load(opts.key.as_deref())?;
    let mut marker = Marker::new(&key, EmbedConfig::default().with_strength(opts.strength))?;
    let picture = marker.load(input, output)?;
    let store = store::store(&opts.store, opts.credentials.as_deref());
    let own = opts.cert.as_deref().zip(opts.signing_key.as_deref());
    let chosen = store.signer(own, &opts.artist)?;
    store::report_signer(&store, &chosen, &opts.artist);
    let mut registry = store::open_registry(&store)?;
    let info = WorkInfo {
        title: title.clone(),
        artist: opts.artist.clone(),
        license: opts.license.clone(),
        training_allowed: opts.allow_training,
    };
    let marked = marker
        .mark_picture(picture, output, &info, &chosen.signer, &mut registry)
        .map_err(|e| inkseal_core::mark::name_input(e, input))?;
    let report = &marked.report;
    let quality = marked.ssimulacra2;
    if report.is_fragile() {
        output::warning(format!(
            "{}: {:.0}% of this image is pure white or black; the mark will likely not survive \
             recompression, blur or a social-media upload{}",
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
        let record = mark_record(input, &marked, &info, &key.id(), &chosen.signer, &registry);
        output::json_line(&mut out, &record)?;
    } else {
        writeln!(out, "{}", marked.work_id)?;
    }
    out.flush()?;
    Ok(Outcome::Ok)
}

fn mark_record(
    input: &std::path::Path,
    marked: &Marked,
    info: &WorkInfo,
    key_id: &str,
    signer: &inkseal_c2pa::Signer,
    registry: &inkseal_registry::Registry,
) -> MarkRecord {
    MarkRecord {
        kind: "mark",
        input: output::json_path(input),
        output: output::json_path(&marked.output),
        work_id: marked.work_id.to_string(),
        title: info.title.clone(),
        artist: info.artist.clone(),
        license: info.license.clone(),
        training_allowed: info.training_allowed,
        key_id: key_id.to_string(),
        signer: signer.subject().to_string(),
        registry: output::json_path(registry.path()),
        sha256: hex::encode(marked.sha256),
        psnr_db: marked.report.psnr_db,
        ssimulacra2: marked.ssimulacra2,
        gain: marked.report.quality_gain,
        fragile: marked.report.is_fragile(),
    }
}

/// `inkseal mark DIR -o OUTDIR`: every image of a portfolio folder.
fn run_batch(opts: &MarkOpts) -> Result<Outcome> {
    if opts.title.is_some() {
        bail!("--title names one work; for a folder, titles come from the file names or --sidecar");
    }
    if opts.artist.trim().is_empty() {
        bail!("--title and --artist must not be empty");
    }
    let defaults = Defaults {
        artist: opts.artist.clone(),
        license: opts.license.clone(),
        training_allowed: opts.allow_training,
    };
    let items = batch::plan(
        &opts.input,
        &opts.output,
        &defaults,
        opts.sidecar.as_deref(),
    )?;
    if items.is_empty() {
        bail!(
            "{}: no PNG, JPEG, WebP or TIFF images to mark",
            opts.input.display()
        );
    }
    let key = cmd_key::load(opts.key.as_deref())?;
    let store = store::store(&opts.store, opts.credentials.as_deref());
    let own = opts.cert.as_deref().zip(opts.signing_key.as_deref());
    let chosen = store.signer(own, &opts.artist)?;
    store::report_signer(&store, &chosen, &opts.artist);
    // Opened once here so that what recovery did is reported once.
    let registry = store::open_registry(&store)?;
    let config = BatchConfig {
        embed: EmbedConfig::default().with_strength(opts.strength),
        threads: opts.threads,
    };
    let progress = (!opts.no_progress && !opts.json && std::io::stderr().is_terminal())
        .then(|| progress_bar(items.len() as u64));
    let started = Instant::now();
    let mut out = std::io::stdout().lock();
    let mut failure: Option<anyhow::Error> = None;
    let key_id = key.id();
    let summary = batch::mark_all(
        &items,
        &key,
        &config,
        &chosen.signer,
        &store,
        |index, outcome| {
            let Some(item) = items.get(index) else {
                return;
            };
            let printed = suspend(progress.as_ref(), || -> Result<()> {
                match outcome {
                    WorkOutcome::Marked(marked) => {
                        if marked.report.is_fragile() {
                            output::warning(format!(
                                "{}: {:.0}% of this image is pure white or black; the mark will likely \
                             not survive recompression, blur or a social-media upload",
                                marked.output.display(),
                                marked.report.extreme_share * 100.0
                            ));
                        }
                        if opts.json {
                            let record = mark_record(
                                &item.input,
                                &marked,
                                &item.info,
                                &key_id,
                                &chosen.signer,
                                &registry,
                            );
                            output::json_line(&mut out, &record)?;
                        } else {
                            writeln!(out, "{}  {}", marked.work_id, output::path(&item.input))?;
                        }
                    }
                    WorkOutcome::AlreadyMarked { work_id } => {
                        if opts.json {
                            let record = serde_json::json!({
                                "type": "already_marked",
                                "input": output::json_path(&item.input),
                                "output": output::json_path(&item.output),
                                "work_id": work_id.to_string(),
                            });
                            output::json_line(&mut out, &record)?;
                        } else {
                            writeln!(
                                out,
                                "{work_id}  {} (already marked)",
                                output::path(&item.input)
                            )?;
                        }
                    }
                    WorkOutcome::Failed(e) => output::file_error(
                        &mut out,
                        opts.json,
                        &item.input,
                        &anyhow::Error::from(e),
                    )?,
                }
                out.flush()?;
                Ok(())
            });
            if let Err(e) = printed
                && failure.is_none()
            {
                failure = Some(e);
            }
            if let Some(bar) = &progress {
                bar.inc(1);
            }
        },
    )?;
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    if let Some(e) = failure {
        return Err(e);
    }
    let seconds = started.elapsed().as_secs_f64();
    if opts.json {
        let record = serde_json::json!({
            "type": "summary",
            "works": items.len(),
            "marked": summary.marked,
            "already_marked": summary.already_marked,
            "failed": summary.failed,
            "seconds": seconds,
        });
        output::json_line(&mut out, &record)?;
    } else {
        writeln!(
            out,
            "Marked {} of {} works in {seconds:.1} s: {} already marked, {} failed.",
            summary.marked,
            items.len(),
            summary.already_marked,
            summary.failed
        )
        .context("writing the summary")?;
    }
    out.flush()?;
    Ok(if summary.failed > 0 {
        Outcome::Error
    } else {
        Outcome::Ok
    })
}

fn progress_bar(works: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(works), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} works  ETA {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.enable_steady_tick(std::time::Duration::from_millis(250));
    bar
}

/// Runs `f` with the progress bar hidden, so that report lines and the bar do not mix.
fn suspend<T>(bar: Option<&ProgressBar>, f: impl FnOnce() -> T) -> T {
    match bar {
        Some(bar) => bar.suspend(f),
        None => f(),
    }
}
