//! SSIMULACRA2, the perceptual metric the mark's strength is chosen against.

use crate::pixels::{ImageRef, PixelLayout};
use crate::{Error, Result};

/// SSIMULACRA2 of `distorted` against `reference` (sRGB, BT.709 primaries; alpha ignored),
/// computed by the rust-av `ssimulacra2` crate: 100 for identical images, about 90 visually
/// lossless, 70 high quality, 50 medium. Images must have the same size, of at least 8x8.
///
/// This costs about 0.9 s per megapixel on one core, far more than marking.
pub fn ssimulacra2(reference: ImageRef<'_>, distorted: ImageRef<'_>) -> Result<f64> {
    if (reference.width, reference.height) != (distorted.width, distorted.height) {
        return Err(Error::Compare(format!(
            "a {}x{} image against a {}x{} one",
            reference.width, reference.height, distorted.width, distorted.height
        )));
    }
    let frame = |img: ImageRef<'_>| {
        let data: Vec<[f32; 3]> = match img.layout {
            PixelLayout::Gray8 => img.data.iter().map(|&v| [v as f32 / 255.0; 3]).collect(),
            layout => img
                .data
                .chunks_exact(layout.channels())
                .map(|p| [p[0], p[1], p[2]].map(|c| c as f32 / 255.0))
                .collect(),
        };
        ssimulacra2::Rgb::new(
            data,
            img.width as usize,
            img.height as usize,
            ssimulacra2::TransferCharacteristic::SRGB,
            ssimulacra2::ColorPrimaries::BT709,
        )
        .map_err(|e| Error::Compare(format!("SSIMULACRA2: {e:?}")))
    };
    ssimulacra2::compute_frame_ssimulacra2(frame(reference)?, frame(distorted)?)
        .map_err(|e| Error::Compare(format!("SSIMULACRA2: {e}")))
}
