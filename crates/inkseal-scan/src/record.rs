//! What a scan reports: one record per sample or failure, and a summary.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One line of a scan's report. Serialises with a `"type"` field (`"sample"` or `"error"`),
/// as one JSON Lines record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Record {
    /// A sample that was decoded and searched.
    Sample(SampleRecord),
    /// A sample, a member or an input that could not be read or decoded.
    Error(ErrorRecord),
}

/// The result of searching one sample.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SampleRecord {
    /// The file or shard.
    pub source: String,
    /// The member inside the shard, if any.
    pub member: Option<String>,
    /// The sample key.
    pub key: String,
    /// Whether a mark was found.
    pub detected: bool,
    /// The work ID found, as 16 hex digits; `None` when nothing was detected.
    pub work_id: Option<String>,
    /// The p-value of the detection (small means a mark is present).
    pub p_value: f64,
    /// The Hugging Face image struct's `path`, when the sample came from one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The carried columns ([`ScanConfig::with_columns`](crate::ScanConfig::with_columns)).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub with: BTreeMap<String, Option<String>>,
}

/// A failure, tied to as much of its location as is known.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorRecord {
    /// The file or shard.
    pub source: String,
    /// The member, if the failure belongs to one.
    pub member: Option<String>,
    /// The sample key, if known.
    pub key: Option<String>,
    /// What went wrong.
    pub error: String,
}

/// Totals for a whole scan. Serialises with `"type": "summary"`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "summary")]
pub struct Summary {
    /// Samples searched (errors excluded).
    pub samples: u64,
    /// Samples in which a mark was found.
    pub detected: u64,
    /// Detections per work ID (16 hex digits).
    pub per_work: BTreeMap<String, u64>,
    /// Error records.
    pub errors: u64,
    /// Wall-clock duration of the scan.
    pub seconds: f64,
    /// Samples searched per second.
    pub images_per_second: f64,
}

impl Summary {
    /// Counts one record (the time fields are left alone).
    pub fn add(&mut self, record: &Record) {
        match record {
            Record::Sample(s) => {
                self.samples += 1;
                if let (true, Some(id)) = (s.detected, &s.work_id) {
                    self.detected += 1;
                    *self.per_work.entry(id.clone()).or_insert(0) += 1;
                }
            }
            Record::Error(_) => self.errors += 1,
        }
    }
}
