//! Importing works from an export document that may come from someone else.
//!
//! The registry stores manifests without reading them. An export shared between registries
//! could therefore carry, under one work's ID, the manifest of another work: `verify` would
//! then "recover" the wrong credentials for a file whose watermark carries that ID. Here every
//! work's manifest is read and its soft binding (algorithm [`inkseal_mark::ALGORITHM`], the
//! 8-byte work ID) must name the work's own ID, or the whole import is refused.

use std::io::Read;

use inkseal_c2pa::{CredentialReport, WatermarkAgreement};
use inkseal_mark::WorkId;
use inkseal_registry::{ImportReport, Registry, Work};

use crate::{Error, Result};

/// Whether `work`'s manifest belongs to it: the manifest reads, and its soft binding names
/// `work.id`. The error says what is wrong, for a message that names the work.
pub fn check_manifest_binding(work: &Work) -> std::result::Result<(), String> {
    let manifest = CredentialReport::from_manifest_store_bytes(&work.manifest, None)
        .map_err(|e| format!("its manifest cannot be read: {e}"))?;
    let alg = inkseal_mark::ALGORITHM;
    match manifest.check_watermark(alg, work.id) {
        WatermarkAgreement::Agree => Ok(()),
        WatermarkAgreement::Mismatch { manifest_work_id } => Err(format!(
            "its manifest's soft binding names work {}, not {}: the manifest belongs to another \
             work",
            WorkId(manifest_work_id),
            WorkId(work.id)
        )),
        WatermarkAgreement::NoSoftBinding => Err(format!(
            "its manifest has no soft binding of algorithm {alg}, so nothing ties it to work {}",
            WorkId(work.id)
        )),
        _ => Err(format!(
            "its manifest's soft binding of algorithm {alg} is not an 8-byte work ID"
        )),
    }
}

/// Imports an export document read from `reader` into `registry`, work by work, in one
/// transaction (see [`Registry::import_reader`]), refusing the whole document, with nothing
/// written, when a work's manifest does not belong to it ([`check_manifest_binding`]).
pub fn import(registry: &mut Registry, reader: impl Read) -> Result<ImportReport> {
    let what = format!("import into the registry {}", registry.path().display());
    registry
        .import_reader_checked(reader, &mut check_manifest_binding)
        .map_err(|e| Error::registry(what, e))
}
