//! `inkseal key new`, and loading the key that `--key` names.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::{Context, Result, bail};
use inkseal_mark::Key;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde::Serialize;

use crate::Outcome;
use crate::fsutil::{self, Replace};
use crate::opts::KeyNewOpts;
use crate::output;

/// Key files are a few lines; anything much larger is the wrong file.
const MAX_KEY_FILE: u64 = 64 * 1024;

/// The key named by `--key`, or the public key when there is none.
pub fn load(path: Option<&Path>) -> Result<Key> {
    let Some(path) = path else {
        return Ok(Key::public());
    };
    let ctx = || format!("key file {}", path.display());
    let file = fs::File::open(path).with_context(ctx)?;
    let meta = file.metadata().with_context(ctx)?;
    if !meta.is_file() {
        bail!("{}: not a regular file", ctx());
    }
    if meta.len() > MAX_KEY_FILE {
        bail!("{}: not a key file (too large)", ctx());
    }
    let mut text = String::new();
    file.take(MAX_KEY_FILE)
        .read_to_string(&mut text)
        .with_context(|| format!("{}: not a key file", ctx()))?;
    let key = Key::from_text(&text).with_context(ctx)?;
    let mode = meta.permissions().mode();
    if mode & 0o077 != 0 {
        output::warning(format!(
            "{} can be read by other users (mode {:o}); run `chmod 600 {}`",
            ctx(),
            mode & 0o777,
            path.display()
        ));
    }
    Ok(key)
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
    let mut rng = ChaCha20Rng::try_from_os_rng()
        .context("cannot get randomness from the operating system")?;
    let key = Key::generate(&mut rng);
    let replace = if opts.force {
        Replace::Yes
    } else {
        Replace::No
    };
    fsutil::write_atomic(path, 0o600, true, replace, |f| {
        f.write_all(key.to_text().as_bytes())?;
        Ok(())
    })
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
