//! What the artist states about a work: identity, authorship, licence and AI-training terms.

use serde::{Deserialize, Serialize};

/// IPTC digital source type for media made by a human with non-generative tools.
pub const DIGITAL_CREATION: &str = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCreation";

/// The four CAWG training-and-data-mining entries written into every manifest.
pub const TRAINING_ENTRIES: [&str; 4] = [
    "cawg.ai_generative_training",
    "cawg.ai_training",
    "cawg.data_mining",
    "cawg.ai_inference",
];

/// The terms written into a work's manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkTerms {
    /// The 64-bit work ID carried by the watermark; written as the soft binding's value
    /// (8 bytes, big-endian).
    pub work_id: u64,
    /// Title of the work (`dc:title` and the manifest title).
    pub title: String,
    /// The creator's name (`dc:creator`).
    pub creator: String,
    /// Licence text or URL (`dc:rights`), if any.
    pub license: Option<String>,
    /// `true` marks every training/mining entry `allowed`; `false` (the default) `notAllowed`.
    pub training_allowed: bool,
    /// The soft-binding algorithm name of the watermark (e.g. `org.inkseal.mark.1`).
    pub alg: String,
    /// The digital source type of the `c2pa.created` action ([`DIGITAL_CREATION`] by default).
    pub digital_source_type: String,
}

impl WorkTerms {
    /// Terms for `work_id` marked with the soft-binding algorithm `alg`, with no licence,
    /// training not allowed and the `digitalCreation` source type.
    pub fn new(
        work_id: u64,
        title: impl Into<String>,
        creator: impl Into<String>,
        alg: impl Into<String>,
    ) -> Self {
        WorkTerms {
            work_id,
            title: title.into(),
            creator: creator.into(),
            license: None,
            training_allowed: false,
            alg: alg.into(),
            digital_source_type: DIGITAL_CREATION.to_owned(),
        }
    }

    /// Sets the licence (text or URL).
    #[must_use]
    pub fn with_license(mut self, license: impl Into<String>) -> Self {
        self.license = Some(license.into());
        self
    }

    /// Allows (or forbids) AI training and data mining.
    #[must_use]
    pub fn with_training_allowed(mut self, allowed: bool) -> Self {
        self.training_allowed = allowed;
        self
    }

    /// The work ID as the soft binding's value: 8 bytes, big-endian.
    pub fn work_id_bytes(&self) -> [u8; 8] {
        self.work_id.to_be_bytes()
    }
}

/// A CAWG training-and-data-mining permission.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum TrainingUse {
    /// `"allowed"`
    Allowed,
    /// `"notAllowed"`
    NotAllowed,
    /// `"constrained"` (see the entry's constraint info)
    Constrained,
    /// Any other value found in a manifest.
    #[serde(untagged)]
    Other(String),
}

impl TrainingUse {
    /// The CAWG spelling (`allowed`, `notAllowed`, `constrained`).
    pub fn as_str(&self) -> &str {
        match self {
            TrainingUse::Allowed => "allowed",
            TrainingUse::NotAllowed => "notAllowed",
            TrainingUse::Constrained => "constrained",
            TrainingUse::Other(s) => s,
        }
    }

    pub(crate) fn parse(s: &str) -> TrainingUse {
        match s {
            "allowed" => TrainingUse::Allowed,
            "notAllowed" => TrainingUse::NotAllowed,
            "constrained" => TrainingUse::Constrained,
            other => TrainingUse::Other(other.to_owned()),
        }
    }
}

impl std::fmt::Display for TrainingUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
