//! `inkseal credentials new`: a local CA and a signer for Content Credentials.

use std::io::Write;

use anyhow::{Context, Result};
use inkseal_c2pa::Credentials;

use crate::opts::CredentialsNewOpts;
use crate::{Outcome, output, store};

/// Runs `inkseal credentials new`.
pub fn run_new(opts: &CredentialsNewOpts) -> Result<Outcome> {
    let dir = store::credentials_dir(opts.dir.as_deref())?;
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let paths = Credentials::generate(&opts.name)?
        .write_to_dir(&dir, opts.force)
        .with_context(|| format!("credentials in {}", dir.display()))?;
    output::note(
        "this local CA is trusted by nobody else: others will see your Content Credentials as \
         Valid, not Trusted, until a recognised CA issues your certificate",
    );
    let mut out = std::io::stdout().lock();
    let value = serde_json::json!({
        "type": "credentials",
        "dir": output::json_path(&dir),
        "ca": output::json_path(&paths.ca_cert),
        "signer": output::json_path(&paths.signer_chain),
        "key": output::json_path(&paths.signer_key),
    });
    if opts.json {
        output::json_line(&mut out, &value)?;
    } else {
        writeln!(out, "{}", dir.display())?;
    }
    out.flush()?;
    Ok(Outcome::Ok)
}
