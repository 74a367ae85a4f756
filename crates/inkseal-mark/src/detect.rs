//! The detector: whitens, folds and correlates, then decodes the payload.

use crate::{Error, ImageRef, Key, Result, WorkId};

/// Settings for a [`Detector`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DetectConfig {
    /// A mark is reported only when its p-value is at or below this. Default 1e-6.
    pub threshold: f64,
    /// Largest image, in pixels, accepted.
    pub max_pixels: u64,
}

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig {
            threshold: 1e-6,
            max_pixels: crate::DEFAULT_MAX_PIXELS,
        }
    }
}

/// The outcome of one detection.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Detection {
    /// Whether a mark was found at the configured threshold.
    pub detected: bool,
    /// The decoded work ID; `Some` only when `detected`.
    pub work_id: Option<WorkId>,
    /// The probability that an unmarked image scores at least this high under this key,
    /// accounting for every candidate the detector searched.
    pub p_value: f64,
    /// Strength of the synchronisation peak, in standard deviations under the null.
    pub sync_z: f64,
    /// Mean agreement of the re-encoded payload with the soft bits, in [-1, 1].
    pub bit_agreement: f64,
    /// Why nothing was searched, when that is the case (for example a tiny image).
    pub note: Option<String>,
}

/// A reusable detection engine for one key. Build once, call [`Detector::detect`] many times.
#[derive(Clone, Debug)]
pub struct Detector {
    config: DetectConfig,
    #[allow(dead_code)]
    key: Key,
}

impl Detector {
    /// Builds an engine for `key`.
    pub fn new(key: &Key, config: DetectConfig) -> Result<Detector> {
        if !(config.threshold > 0.0 && config.threshold < 1.0) {
            return Err(Error::InvalidConfig(format!(
                "threshold {} is outside (0, 1)",
                config.threshold
            )));
        }
        Ok(Detector {
            config,
            key: key.clone(),
        })
    }

    /// Looks for a mark in `image`.
    pub fn detect(&mut self, image: ImageRef<'_>) -> Result<Detection> {
        let _ = (image, &self.config);
        Err(Error::InvalidConfig("not implemented yet".into()))
    }
}
