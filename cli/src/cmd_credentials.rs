//! `inkseal credentials new`: a local CA and a signer for Content Credentials.

use std::io::Write;

use anyhow::Result;

use crate::opts::CredentialsNewOpts;
use crate::{Outcome, output};

/// Runs `inkseal credentials new`.
pub fn run_new(opts: &CredentialsNewOpts) -> Result<Outcome> {
    let store = inkseal_core::Store::new().with_credentials(opts.dir.clone());
    let (dir, paths) = store.new_credentials(&opts.name, opts.force)?;
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
        writeln!(out, "{}", output::path(&dir))?;
    }
    out.flush()?;
    Ok(Outcome::Ok)
}
