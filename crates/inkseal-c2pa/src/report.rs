//! What a reader learns from a manifest: validation state and status codes, the artist's
//! terms, the soft binding and the signer.

use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::TrainingUse;
use crate::manifest::{METADATA_LABEL, SOFT_BINDING_LABEL, TRAINING_MINING_LABEL};

/// The C2PA validation state of a manifest store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum ValidationState {
    /// Well-formed, cryptographically intact and bound to the asset, and the signing
    /// certificate chains to a trust anchor.
    Trusted,
    /// Well-formed, cryptographically intact and bound to the asset; the signer is not (or
    /// could not be) checked against a trust anchor (`signingCredential.untrusted` only).
    Valid,
    /// Any other failure: tampered content, broken signature, invalid certificate, …
    Invalid,
}

impl ValidationState {
    /// `"Trusted"`, `"Valid"` or `"Invalid"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ValidationState::Trusted => "Trusted",
            ValidationState::Valid => "Valid",
            ValidationState::Invalid => "Invalid",
        }
    }
}

impl std::fmt::Display for ValidationState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a status code reports a success, information or a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusKind {
    /// A check passed (e.g. `claimSignature.validated`).
    Success,
    /// Informational (e.g. `timeStamp.untrusted`… depending on the SDK).
    Informational,
    /// A check failed (e.g. `assertion.dataHash.mismatch`).
    Failure,
}

/// One C2PA validation status code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusCode {
    /// The C2PA code, e.g. `assertion.dataHash.mismatch`.
    pub code: String,
    /// Success, informational or failure.
    pub kind: StatusKind,
    /// The JUMBF URI of what was checked, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The SDK's explanation, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
}

/// Where the manifest that was read came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", content = "path", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ManifestSource {
    /// Embedded in the asset.
    Embedded,
    /// A sidecar `.c2pa` file next to the asset.
    Sidecar(PathBuf),
    /// Manifest bytes supplied by the caller and checked against the asset.
    External,
    /// Stored manifest bytes read without any asset (e.g. from the registry): the binding to
    /// the content was not and could not be checked.
    Stored,
}

/// One CAWG training-and-data-mining entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrainingTerm {
    /// The entry key, e.g. `cawg.ai_generative_training`.
    pub entry: String,
    /// The permission.
    #[serde(rename = "use")]
    pub use_: TrainingUse,
}

/// A `c2pa.soft-binding` assertion as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SoftBindingInfo {
    /// The algorithm name (e.g. `org.inkseal.mark.1`).
    pub alg: String,
    /// The work ID when the first block's value is an 8-byte CBOR byte string.
    pub work_id: Option<u64>,
    /// The first block's value bytes when it is a byte string.
    #[serde(skip_serializing_if = "Option::is_none", with = "opt_hex")]
    pub value: Option<Vec<u8>>,
    /// Why the value is not a well-formed work ID, if it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// The signing certificate, as read from the manifest's certificate chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignerInfo {
    /// The signing certificate's subject distinguished name.
    pub subject: String,
    /// The signing certificate's issuer distinguished name.
    pub issuer: String,
    /// The subject's common name, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub common_name: Option<String>,
    /// Serial number (hex).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    /// The signing time claimed by the manifest (only trustworthy with a time stamp).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// The signature algorithm (e.g. `Es256`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
}

/// How the manifest's soft binding relates to a detected watermark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
#[non_exhaustive]
pub enum WatermarkAgreement {
    /// The manifest's soft binding names this algorithm and this work ID.
    Agree,
    /// The manifest names a different work ID for this algorithm: the manifest belongs to
    /// another work (e.g. it was swapped in).
    Mismatch {
        /// The work ID in the manifest.
        manifest_work_id: u64,
    },
    /// The manifest has no soft binding for this algorithm.
    NoSoftBinding,
    /// The manifest has a soft binding for this algorithm, but its value is not an 8-byte
    /// byte string.
    Malformed,
}

/// Everything a reader reports about an asset's Content Credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CredentialReport {
    /// The validation state. For [`ManifestSource::Stored`] manifests it covers the manifest
    /// alone (signature, certificate, assertion hashes), never the content binding.
    pub state: ValidationState,
    /// Whether the manifest's hard binding was checked against the asset's bytes.
    pub content_checked: bool,
    /// The validation status codes of the active manifest (successes, informational and
    /// failures, in the SDK's order).
    pub statuses: Vec<StatusCode>,
    /// Where the manifest came from.
    pub source: ManifestSource,
    /// The active manifest's label (`urn:c2pa:…`).
    pub active_manifest: Option<String>,
    /// The manifest title.
    pub title: Option<String>,
    /// `dc:creator` entries of `cawg.metadata`.
    pub creators: Vec<String>,
    /// `dc:rights` of `cawg.metadata` (licence text or URL).
    pub license: Option<String>,
    /// `cawg.training-mining` entries (empty when the assertion is absent).
    pub training: Vec<TrainingTerm>,
    /// `c2pa.soft-binding` assertions.
    pub soft_bindings: Vec<SoftBindingInfo>,
    /// Action names of the active manifest, in order (e.g. `c2pa.created`).
    pub actions: Vec<String>,
    /// The signing certificate.
    pub signer: Option<SignerInfo>,
}

impl CredentialReport {
    /// The failure status codes.
    pub fn failures(&self) -> impl Iterator<Item = &StatusCode> {
        self.statuses
            .iter()
            .filter(|s| s.kind == StatusKind::Failure)
    }

    /// Whether some status (of any kind) has this code.
    pub fn has_status(&self, code: &str) -> bool {
        self.statuses.iter().any(|s| s.code == code)
    }

    /// The first creator, if any.
    pub fn creator(&self) -> Option<&str> {
        self.creators.first().map(String::as_str)
    }

    /// The permission recorded for a training entry (e.g. `cawg.ai_training`).
    pub fn training_use(&self, entry: &str) -> Option<&TrainingUse> {
        self.training
            .iter()
            .find(|t| t.entry == entry)
            .map(|t| &t.use_)
    }

    /// The work ID of the soft binding made with `alg`, if present and well-formed.
    pub fn work_id(&self, alg: &str) -> Option<u64> {
        self.soft_bindings
            .iter()
            .find(|s| s.alg == alg)
            .and_then(|s| s.work_id)
    }

    /// Compares the manifest's soft binding with a watermark detected in the content.
    pub fn check_watermark(&self, alg: &str, detected_work_id: u64) -> WatermarkAgreement {
        let Some(binding) = self.soft_bindings.iter().find(|s| s.alg == alg) else {
            return WatermarkAgreement::NoSoftBinding;
        };
        match binding.work_id {
            Some(id) if id == detected_work_id => WatermarkAgreement::Agree,
            Some(id) => WatermarkAgreement::Mismatch {
                manifest_work_id: id,
            },
            None => WatermarkAgreement::Malformed,
        }
    }

    /// Builds the report from a c2pa Reader.
    pub(crate) fn from_reader(
        reader: &c2pa::Reader,
        source: ManifestSource,
        content_checked: bool,
    ) -> CredentialReport {
        let statuses = statuses(reader);
        let state = if content_checked {
            map_state(reader.validation_state())
        } else {
            state_without_content(&statuses)
        };
        let mut report = CredentialReport {
            state,
            content_checked,
            statuses,
            source,
            active_manifest: reader.active_label().map(str::to_owned),
            title: None,
            creators: Vec::new(),
            license: None,
            training: Vec::new(),
            soft_bindings: Vec::new(),
            actions: Vec::new(),
            signer: None,
        };
        if let Some(manifest) = reader.active_manifest() {
            report.title = manifest.title().map(str::to_owned);
            for assertion in manifest.assertions() {
                let Ok(value) = assertion.value() else {
                    continue;
                };
                match assertion.label() {
                    METADATA_LABEL => read_metadata(value, &mut report),
                    TRAINING_MINING_LABEL => read_training(value, &mut report),
                    SOFT_BINDING_LABEL => report.soft_bindings.push(read_soft_binding(value)),
                    l if l.starts_with("c2pa.actions") => read_actions(value, &mut report),
                    _ => {}
                }
            }
            report.signer = manifest.signature_info().map(signer_info);
        }
        report
    }
}

fn map_state(state: c2pa::ValidationState) -> ValidationState {
    match state {
        c2pa::ValidationState::Trusted => ValidationState::Trusted,
        c2pa::ValidationState::Valid => ValidationState::Valid,
        c2pa::ValidationState::Invalid => ValidationState::Invalid,
    }
}

/// Status codes that concern the binding between manifest and content. Without the asset they
/// are meaningless (the SDK reports the stored bytes themselves as the "asset").
const CONTENT_BINDING_CODES: [&str; 6] = [
    "assertion.dataHash.mismatch",
    "assertion.dataHash.malformed",
    "assertion.boxesHash.mismatch",
    "assertion.boxesHash.unknownBox",
    "assertion.bmffHash.mismatch",
    "assertion.collectionHash.mismatch",
];

/// The C2PA state rules applied to everything but the content binding.
fn state_without_content(statuses: &[StatusCode]) -> ValidationState {
    let has = |code: &str| {
        statuses
            .iter()
            .any(|s| s.code == code && s.kind == StatusKind::Success)
    };
    let failures: Vec<&StatusCode> = statuses
        .iter()
        .filter(|s| s.kind == StatusKind::Failure)
        .filter(|s| !CONTENT_BINDING_CODES.contains(&s.code.as_str()))
        .collect();
    let signature_ok = has("claimSignature.validated") && has("claimSignature.insideValidity");
    if !signature_ok
        || failures
            .iter()
            .any(|s| s.code != "signingCredential.untrusted")
    {
        ValidationState::Invalid
    } else if failures.is_empty() && has("signingCredential.trusted") {
        ValidationState::Trusted
    } else {
        ValidationState::Valid
    }
}

fn statuses(reader: &c2pa::Reader) -> Vec<StatusCode> {
    let convert = |s: &c2pa::validation_status::ValidationStatus, kind: StatusKind| StatusCode {
        code: s.code().to_owned(),
        kind,
        url: s.url().map(str::to_owned),
        explanation: s.explanation().map(str::to_owned),
    };
    if let Some(codes) = reader
        .validation_results()
        .and_then(|r| r.active_manifest())
    {
        let mut out = Vec::new();
        out.extend(
            codes
                .success()
                .iter()
                .map(|s| convert(s, StatusKind::Success)),
        );
        out.extend(
            codes
                .informational()
                .iter()
                .map(|s| convert(s, StatusKind::Informational)),
        );
        out.extend(
            codes
                .failure()
                .iter()
                .map(|s| convert(s, StatusKind::Failure)),
        );
        return out;
    }
    reader
        .validation_status()
        .unwrap_or_default()
        .iter()
        .map(|s| {
            let kind = if s.passed() {
                StatusKind::Success
            } else {
                StatusKind::Failure
            };
            convert(s, kind)
        })
        .collect()
}

fn read_metadata(value: &Value, report: &mut CredentialReport) {
    match value.get("dc:creator") {
        Some(Value::String(s)) => report.creators.push(s.clone()),
        Some(Value::Array(items)) => report.creators.extend(items.iter().filter_map(json_text)),
        _ => {}
    }
    if report.title.is_none() {
        report.title = value.get("dc:title").and_then(json_text);
    }
    report.license = value.get("dc:rights").and_then(json_text);
}

/// A JSON-LD text value: a string, a `{"@value": …}` object or the first of a list.
fn json_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("@value").and_then(json_text),
        Value::Array(a) => a.first().and_then(json_text),
        _ => None,
    }
}

fn read_training(value: &Value, report: &mut CredentialReport) {
    let Some(entries) = value.get("entries").and_then(Value::as_object) else {
        return;
    };
    for (entry, v) in entries {
        if let Some(use_) = v.get("use").and_then(Value::as_str) {
            report.training.push(TrainingTerm {
                entry: entry.clone(),
                use_: TrainingUse::parse(use_),
            });
        }
    }
}

/// The SDK turns CBOR into JSON: in c2pa 0.90 a byte string becomes an array of numbers and a
/// text string a JSON string, so the two stay distinguishable. (c2pa 0.91 renders byte strings
/// as base64 text instead: revisit this when the pin moves.)
fn read_soft_binding(value: &Value) -> SoftBindingInfo {
    let alg = value
        .get("alg")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let first = value
        .get("blocks")
        .and_then(Value::as_array)
        .and_then(|b| b.first())
        .and_then(|b| b.get("value"));
    let mut info = SoftBindingInfo {
        alg,
        work_id: None,
        value: None,
        problem: None,
    };
    match first {
        None => info.problem = Some("no block value".into()),
        Some(Value::String(_)) => {
            info.problem = Some("value is a text string, not a byte string".into());
        }
        Some(Value::Array(items)) => {
            let bytes: Option<Vec<u8>> = items
                .iter()
                .map(|n| n.as_u64().and_then(|n| u8::try_from(n).ok()))
                .collect();
            match bytes {
                Some(bytes) => {
                    match <[u8; 8]>::try_from(bytes.as_slice()) {
                        Ok(id) => info.work_id = Some(u64::from_be_bytes(id)),
                        Err(_) => {
                            info.problem = Some(format!("value has {} bytes, not 8", bytes.len()));
                        }
                    }
                    info.value = Some(bytes);
                }
                None => info.problem = Some("value is not a byte string".into()),
            }
        }
        Some(_) => info.problem = Some("value is not a byte string".into()),
    }
    info
}

fn read_actions(value: &Value, report: &mut CredentialReport) {
    if let Some(actions) = value.get("actions").and_then(Value::as_array) {
        report.actions.extend(
            actions
                .iter()
                .filter_map(|a| a.get("action").and_then(Value::as_str))
                .map(str::to_owned),
        );
    }
}

fn signer_info(si: &c2pa::SignatureInfo) -> SignerInfo {
    let leaf = x509_parser::pem::Pem::iter_from_buffer(si.cert_chain().as_bytes())
        .next()
        .and_then(Result::ok);
    let parsed = leaf.as_ref().and_then(|pem| {
        X509Certificate::from_der(&pem.contents)
            .ok()
            .map(|(_, c)| (c.subject().to_string(), c.issuer().to_string()))
    });
    let (subject, issuer) = parsed.unwrap_or_else(|| {
        (
            si.common_name.clone().unwrap_or_default(),
            si.issuer.clone().unwrap_or_default(),
        )
    });
    SignerInfo {
        subject,
        issuer,
        common_name: si.common_name.clone(),
        serial: si.cert_serial_number.clone(),
        time: si.time.clone(),
        alg: si.alg.map(|a| format!("{a:?}")),
    }
}

mod opt_hex {
    use serde::Serializer;

    pub(super) fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(bytes) => {
                let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                s.serialize_str(&hex)
            }
            None => s.serialize_none(),
        }
    }
}
