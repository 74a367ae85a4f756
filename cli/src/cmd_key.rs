//! `inkseal key new`, and loading the key that `--key` names.

use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};
use inkseal_core::atomic::Replace;
use inkseal_core::keyfile;
use inkseal_mark::Key;
use serde::Serialize;

use crate::Outcome;
use crate::opts::KeyNewOpts;
use crate::output;

/// The key named by `--key`, or the public key when there is none (warning when the file can
/// be read by other users).
pub fn load(path: Option<&Path>) -> Result<Key> {
    let loaded = keyfile::load(path)?;
    if let (Some(mode), Some(path)) = (loaded.readable_by_others, path) {
        output::warning(format!(
            "key file {} can be read by other users (mode {mode:o}); run `chmod 600 {}`",
            path.display(),
            path.display()
        ));
    }
    Ok(loaded.key)
}

#[derive(Serialize)]
struct KeyRecord<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    path: String,
    key_id: &'a str,
}

/// Runs `inkseal key new`.
pub fn run_new(opts: &KeyNewOpts) -> Result<Outcome> {
    let path = &opts.output;
    if !opts.force && fs::symlink_metadata(path).is_ok() {
        bail!(
            "{} already exists; use --force to replace it (the marks made with the old key can then no longer be found)",
            path.display()
        );
    }
    let replace = if opts.force {
        Replace::Yes
    } else {
        Replace::No
    };
    let key = keyfile::create(path, replace)
        .with_context(|| format!("cannot create key file {}", path.display()))?;

    let id = key.id();
    let mut out = std::io::stdout().lock();
    if opts.json {
        output::json_line(
            &mut out,
            &KeyRecord {
                kind: "key",
                path: output::json_path(path),
                key_id: &id,
            },
        )?;
    } else {
        writeln!(out, "{id}")?;
    }
    out.flush()?;
    Ok(Outcome::Ok)
}
