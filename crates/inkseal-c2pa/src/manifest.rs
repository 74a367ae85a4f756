//! The manifest we write: actions, a typed soft binding, training-and-mining terms and
//! CAWG metadata.

use std::collections::BTreeMap;

use c2pa::{Builder, Context};
use serde::Serialize;
use serde_json::json;

use crate::terms::TRAINING_ENTRIES;
use crate::{Error, Result, WorkTerms};

/// Label of the C2PA actions assertion.
pub const ACTIONS_LABEL: &str = "c2pa.actions.v2";
/// Label of the C2PA soft-binding assertion.
pub const SOFT_BINDING_LABEL: &str = "c2pa.soft-binding";
/// Label of the CAWG training-and-data-mining assertion.
pub const TRAINING_MINING_LABEL: &str = "cawg.training-mining";
/// Label of the CAWG metadata assertion (JSON-LD, Dublin Core).
pub const METADATA_LABEL: &str = "cawg.metadata";
/// The action recording that a watermark used as a soft binding was added (C2PA 2.2+).
pub const WATERMARKED_BOUND_ACTION: &str = "c2pa.watermarked.bound";
/// The Dublin Core namespace used in `cawg.metadata`.
pub const DUBLIN_CORE: &str = "http://purl.org/dc/elements/1.1/";

/// `c2pa.soft-binding` as CBOR: serde_bytes makes `value` and `pad` CBOR byte strings, which
/// the manifest-JSON route cannot (it would write text).
#[derive(Serialize)]
struct SoftBindingAssertion<'a> {
    alg: &'a str,
    blocks: [SoftBindingBlock; 1],
    #[serde(with = "serde_bytes")]
    pad: Vec<u8>,
}

#[derive(Serialize)]
struct SoftBindingBlock {
    /// The whole asset: no timespan, no region.
    scope: BTreeMap<String, String>,
    #[serde(with = "serde_bytes")]
    value: Vec<u8>,
}

#[derive(Serialize)]
struct TrainingMining {
    entries: BTreeMap<&'static str, TrainingEntry>,
}

#[derive(Serialize)]
struct TrainingEntry {
    #[serde(rename = "use")]
    use_: &'static str,
}

/// A Builder holding every assertion of `terms`.
pub(crate) fn builder(terms: &WorkTerms, context: Context) -> Result<Builder> {
    if terms.alg.trim().is_empty() {
        return Err(Error::InvalidTerms(
            "the soft-binding algorithm name is empty".into(),
        ));
    }
    if terms.creator.trim().is_empty() {
        return Err(Error::InvalidTerms("the creator is empty".into()));
    }
    let sign_err = |e: c2pa::Error| Error::Signing(Box::new(e));
    let agent = json!({ "name": "inkseal", "version": env!("CARGO_PKG_VERSION") });
    let mut definition = json!({ "claim_generator_info": [agent] });
    if !terms.title.is_empty() {
        definition["title"] = json!(terms.title);
    }
    let mut builder = Builder::from_context(context)
        .with_definition(definition)
        .map_err(sign_err)?;

    builder
        .add_action(json!({
            "action": "c2pa.created",
            "digitalSourceType": terms.digital_source_type,
            "softwareAgent": agent,
        }))
        .map_err(sign_err)?;
    builder
        .add_action(json!({
            "action": WATERMARKED_BOUND_ACTION,
            "description": format!(
                "Invisible watermark carrying work ID {:016x} ({})",
                terms.work_id, terms.alg
            ),
            "softwareAgent": agent,
        }))
        .map_err(sign_err)?;

    let soft_binding = SoftBindingAssertion {
        alg: &terms.alg,
        blocks: [SoftBindingBlock {
            scope: BTreeMap::new(),
            value: terms.work_id_bytes().to_vec(),
        }],
        pad: Vec::new(),
    };
    builder
        .add_assertion(SOFT_BINDING_LABEL, &soft_binding)
        .map_err(sign_err)?;

    let use_ = if terms.training_allowed {
        "allowed"
    } else {
        "notAllowed"
    };
    let training = TrainingMining {
        entries: TRAINING_ENTRIES
            .iter()
            .map(|&k| (k, TrainingEntry { use_ }))
            .collect(),
    };
    builder
        .add_assertion(TRAINING_MINING_LABEL, &training)
        .map_err(sign_err)?;

    let mut metadata = json!({
        "@context": { "dc": DUBLIN_CORE },
        "dc:creator": [terms.creator],
    });
    if !terms.title.is_empty() {
        metadata["dc:title"] = json!(terms.title);
    }
    if let Some(license) = terms.license.as_deref().filter(|l| !l.trim().is_empty()) {
        metadata["dc:rights"] = json!(license);
    }
    builder
        .add_assertion_json(METADATA_LABEL, &metadata)
        .map_err(sign_err)?;
    Ok(builder)
}
