//! The explicit C2PA `Context` every Builder and Reader here is made from.

use c2pa::{Context, Settings};

use crate::{Error, Result};

/// Settings shared by signing and reading: no network (no remote manifest fetch, no OCSP
/// fetch), trust checked against `trust_anchors` when given.
pub(crate) fn context(trust_anchors: Option<&str>) -> Result<Context> {
    let settings_err = |e: c2pa::Error| Error::Settings(Box::new(e));
    let mut settings = Settings::new()
        .with_value("verify.remote_manifest_fetch", false)
        .map_err(settings_err)?
        .with_value("verify.ocsp_fetch", false)
        .map_err(settings_err)?
        .with_value("verify.verify_trust", true)
        .map_err(settings_err)?;
    if let Some(pem) = trust_anchors {
        check_anchors(pem)?;
        settings = settings
            .with_value("trust.trust_anchors", pem.to_owned())
            .map_err(settings_err)?;
    }
    Context::new().with_settings(settings).map_err(settings_err)
}

/// Trust anchors must be PEM certificates that parse; c2pa would otherwise fail late or
/// silently trust nothing.
fn check_anchors(pem: &str) -> Result<()> {
    let mut count = 0usize;
    for item in x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes()) {
        let item = item.map_err(|e| Error::NotPem {
            what: "trust anchors",
            reason: e.to_string(),
        })?;
        if item.label == "CERTIFICATE" {
            item.parse_x509()
                .map_err(|e| Error::InvalidCertificate(format!("trust anchor: {e}")))?;
            count += 1;
        }
    }
    if count == 0 {
        return Err(Error::NotPem {
            what: "trust anchors",
            reason: "no '-----BEGIN CERTIFICATE-----' block found".into(),
        });
    }
    Ok(())
}
