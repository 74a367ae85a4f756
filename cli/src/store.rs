//! The store options as an [`inkseal_core::Store`], and the notes its operations leave.

use anyhow::Result;
use inkseal_core::Store;
use inkseal_core::store::ChosenSigner;
use inkseal_registry::{RecoveryReport, Registry};

use crate::opts::StoreOpts;
use crate::output;

/// The store that `--registry`, `--lock-timeout` and a credentials folder name.
pub fn store(opts: &StoreOpts, credentials: Option<&std::path::Path>) -> Store {
    Store::new()
        .with_registry(opts.registry.clone())
        .with_credentials(credentials.map(std::path::Path::to_path_buf))
        .with_lock_timeout(std::time::Duration::from_secs_f64(opts.lock_timeout))
}

/// Opens (creating if needed) the registry, and says what recovery did.
pub fn open_registry(store: &Store) -> Result<Registry> {
    let opened = store.open_registry()?;
    report_recovery(&opened.recovery);
    Ok(opened.registry)
}

/// Opens the registry only if it exists (read-only commands never create one).
pub fn open_existing_registry(store: &Store) -> Result<Option<Registry>> {
    Ok(store.open_existing_registry()?.map(|opened| {
        report_recovery(&opened.recovery);
        opened.registry
    }))
}

fn report_recovery(report: &RecoveryReport) {
    for id in &report.completed {
        output::note(format!(
            "registry: finished work {id:016x}, whose mark was interrupted after its file was written"
        ));
    }
    for id in &report.removed {
        output::note(format!(
            "registry: removed work {id:016x}, whose mark was interrupted before its file was written"
        ));
    }
    for f in &report.failed {
        output::warning(format!(
            "registry: cannot clean up work {:016x} ({}): {}",
            f.id,
            f.path.display(),
            f.error
        ));
    }
}

/// Says so when local credentials were made for this signer.
pub fn report_signer(store: &Store, chosen: &ChosenSigner, name: &str) {
    if let Some(dir) = &chosen.created_in {
        let ca = store
            .local_ca()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        output::note(format!(
            "created local signing credentials for \"{name}\" in {} (CA: {ca}). They are trusted by \
             nobody else: others will see your Content Credentials as Valid, not Trusted, until a \
             recognised CA issues your certificate (use --cert/--signing-key then)",
            dir.display(),
        ));
    }
}
