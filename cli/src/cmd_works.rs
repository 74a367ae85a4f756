//! `inkseal works`: list, show, export and import the registry's works.

use std::io::Write;

use anyhow::{Context, Result, bail};
use inkseal_c2pa::CredentialReport;
use inkseal_mark::WorkId;
use inkseal_registry::Work;
use serde::Serialize;

use crate::opts::{WorksCommand, WorksExportOpts, WorksImportOpts, WorksListOpts, WorksShowOpts};
use crate::{Outcome, output, store};
use inkseal_core::atomic::{self, Options, Replace};

/// A work as listed: everything but the manifest bytes.
#[derive(Serialize)]
struct WorkSummary<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    work_id: String,
    title: &'a str,
    artist: &'a str,
    license: Option<&'a str>,
    training_allowed: bool,
    created: &'a str,
    sha256: String,
    phash: String,
    key_id: &'a str,
    output_path: Option<String>,
    manifest_bytes: usize,
}

impl<'a> From<&'a Work> for WorkSummary<'a> {
    fn from(w: &'a Work) -> Self {
        WorkSummary {
            kind: "work",
            work_id: WorkId(w.id).to_string(),
            title: &w.title,
            artist: &w.artist,
            license: w.license.as_deref(),
            training_allowed: w.training_allowed,
            created: &w.created,
            sha256: hex::encode(w.sha256),
            phash: format!("{:016x}", w.phash),
            key_id: &w.key_id,
            output_path: w.output_path.as_deref().map(output::json_path),
            manifest_bytes: w.manifest.len(),
        }
    }
}

#[derive(Serialize)]
struct WorkDetail<'a> {
    #[serde(flatten)]
    summary: WorkSummary<'a>,
    /// The stored manifest, validated on its own (signature, certificate, assertions).
    manifest: Option<CredentialReport>,
    manifest_error: Option<String>,
}

/// Runs `inkseal works …`.
pub fn run(command: &WorksCommand) -> Result<Outcome> {
    match command {
        WorksCommand::List(o) => list(o),
        WorksCommand::Show(o) => show(o),
        WorksCommand::Export(o) => export(o),
        WorksCommand::Import(o) => import(o),
    }
}

fn list(opts: &WorksListOpts) -> Result<Outcome> {
    let Some(registry) = store::open_existing_registry(&store::store(&opts.store, None))? else {
        output::note(format!(
            "no registry at {}: nothing marked yet",
            store::store(&opts.store, None).registry_path()?.display()
        ));
        return Ok(Outcome::Ok);
    };
    let works = registry.list()?;
    let mut out = std::io::stdout().lock();
    for w in &works {
        if opts.json {
            output::json_line(&mut out, &WorkSummary::from(w))?;
        } else {
            writeln!(
                out,
                "{}  {}  {} — {}{}",
                WorkId(w.id),
                output::escape(&w.created),
                output::escape(&w.artist),
                output::escape(&w.title),
                if w.training_allowed {
                    ""
                } else {
                    "  (no AI training)"
                }
            )?;
        }
    }
    out.flush()?;
    Ok(Outcome::Ok)
}

fn show(opts: &WorksShowOpts) -> Result<Outcome> {
    let Some(registry) = store::open_existing_registry(&store::store(&opts.store, None))? else {
        bail!(
            "no registry at {}",
            store::store(&opts.store, None).registry_path()?.display()
        );
    };
    let Some(work) = registry.get(opts.id.0)? else {
        output::error(&anyhow::anyhow!(
            "no work {} in {}",
            opts.id,
            registry.path().display()
        ));
        return Ok(Outcome::NotFound);
    };
    let (manifest, manifest_error) =
        match CredentialReport::from_manifest_store_bytes(&work.manifest, None) {
            Ok(m) => (Some(m), None),
            Err(e) => (None, Some(e.to_string())),
        };
    let detail = WorkDetail {
        summary: WorkSummary::from(&work),
        manifest,
        manifest_error,
    };
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &detail)?;
    writeln!(out)?;
    out.flush()?;
    Ok(Outcome::Ok)
}

fn export(opts: &WorksExportOpts) -> Result<Outcome> {
    let store = store::store(&opts.store, None);
    if let Some(path) = &opts.output {
        store.check_output(path, &[])?;
    }
    let Some(registry) = store::open_existing_registry(&store)? else {
        bail!("no registry at {}", store.registry_path()?.display());
    };
    let json = registry.export_json()?;
    match &opts.output {
        Some(path) => atomic::write(
            path,
            format!("{json}\n").as_bytes(),
            &Options::private(Replace::Yes),
        )
        .with_context(|| format!("export to {}", path.display()))?,
        None => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{json}")?;
            out.flush()?;
        }
    }
    Ok(Outcome::Ok)
}

fn import(opts: &WorksImportOpts) -> Result<Outcome> {
    // Read work by work: a large export never sits whole in memory.
    let file = inkseal_core::read::open(&opts.input)
        .with_context(|| format!("cannot read {}", opts.input.display()))?;
    let mut registry = store::open_registry(&store::store(&opts.store, None))?;
    // Every work's manifest must name its own ID (a shared export could plant another's).
    let report = inkseal_core::works::import(&mut registry, std::io::BufReader::new(file))
        .with_context(|| format!("cannot import {}", opts.input.display()))?;
    let mut out = std::io::stdout().lock();
    let conflicts: Vec<String> = report
        .conflicts
        .iter()
        .map(|id| WorkId(*id).to_string())
        .collect();
    output::json_line(
        &mut out,
        &serde_json::json!({
            "type": "import",
            "added": report.added,
            "skipped_identical": report.skipped_identical,
            "conflicts": conflicts,
        }),
    )?;
    out.flush()?;
    if !conflicts.is_empty() {
        output::warning(format!(
            "{} work(s) already in the registry with different content were not imported: {}",
            conflicts.len(),
            conflicts.join(", ")
        ));
        return Ok(Outcome::NotFound);
    }
    Ok(Outcome::Ok)
}
