//! Decoding untrusted image bytes under size limits.

use std::io::Cursor;

use image::error::LimitErrorKind;
use image::{DynamicImage, ImageDecoder, ImageError, ImageReader, Limits};
use inkseal_mark::PixelLayout;

use crate::{Error, Result};

/// Largest accepted width or height, in pixels.
pub const MAX_SIDE: u32 = 30_000;
/// Largest allocation a decode may make, in bytes (1 GiB).
pub const MAX_ALLOC: u64 = 1 << 30;

/// Decoded 8-bit pixels.
#[derive(Debug)]
pub(crate) struct Pixels {
    pub width: u32,
    pub height: u32,
    pub layout: PixelLayout,
    pub data: Vec<u8>,
}

/// Decodes `bytes` (format guessed from the content, never from a name) into gray or RGB:
/// the mark lives in luma, so alpha is dropped.
pub(crate) fn decode(bytes: &[u8]) -> Result<Pixels> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(Error::Io)?;
    if reader.format().is_none() {
        return Err(Error::UnknownImageFormat);
    }
    let mut reader = reader;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let decoder = reader.into_decoder().map_err(decode_error)?;
    let (width, height) = decoder.dimensions();
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(Error::ImageTooLarge(format!(
            "{width}x{height} pixels; the limit is {MAX_SIDE} per side"
        )));
    }
    if decoder.total_bytes() > MAX_ALLOC {
        return Err(Error::ImageTooLarge(format!(
            "{width}x{height} pixels would need {} MiB; the limit is {} MiB",
            decoder.total_bytes() >> 20,
            MAX_ALLOC >> 20
        )));
    }
    let image = DynamicImage::from_decoder(decoder).map_err(decode_error)?;
    let (layout, data) = if image.color().has_color() {
        (PixelLayout::Rgb8, image.into_rgb8().into_raw())
    } else {
        (PixelLayout::Gray8, image.into_luma8().into_raw())
    };
    Ok(Pixels {
        width,
        height,
        layout,
        data,
    })
}

fn decode_error(err: ImageError) -> Error {
    match &err {
        ImageError::Limits(l)
            if matches!(
                l.kind(),
                LimitErrorKind::DimensionError | LimitErrorKind::InsufficientMemory
            ) =>
        {
            Error::ImageTooLarge(err.to_string())
        }
        _ => Error::Decode(err.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_not_an_image() {
        assert!(matches!(
            decode(b"definitely not an image"),
            Err(Error::UnknownImageFormat)
        ));
    }

    #[test]
    fn a_huge_header_is_refused_without_allocating() {
        // A valid PNG signature and IHDR claiming 100000 x 100000 pixels.
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&100_000u32.to_be_bytes());
        png.extend_from_slice(&100_000u32.to_be_bytes());
        png.extend_from_slice(&[8, 2, 0, 0, 0]);
        let crc = 0u32; // wrong CRC: either way it must be an error, not an allocation
        png.extend_from_slice(&crc.to_be_bytes());
        assert!(decode(&png).is_err());
    }
}
