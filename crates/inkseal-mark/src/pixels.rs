//! Borrowed 8-bit pixel buffers, the crate's only image representation.

use crate::{Error, Result};

/// How the bytes of a pixel buffer are laid out. Rows are tightly packed, top to bottom.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PixelLayout {
    /// One byte of gray per pixel.
    Gray8,
    /// Red, green, blue.
    Rgb8,
    /// Red, green, blue, alpha (alpha is never changed).
    Rgba8,
}

impl PixelLayout {
    /// Bytes per pixel.
    pub fn channels(self) -> usize {
        match self {
            PixelLayout::Gray8 => 1,
            PixelLayout::Rgb8 => 3,
            PixelLayout::Rgba8 => 4,
        }
    }
}

fn check(len: usize, width: u32, height: u32, layout: PixelLayout) -> Result<()> {
    let expected = (width as usize)
        .checked_mul(height as usize)
        .and_then(|n| n.checked_mul(layout.channels()));
    match expected {
        Some(expected) if expected == len => Ok(()),
        _ => Err(Error::BufferSize {
            width,
            height,
            layout,
            expected: expected.unwrap_or(usize::MAX),
            actual: len,
        }),
    }
}

/// Refuses a `width x height` image above `max_pixels` before anything is allocated for it.
pub(crate) fn check_pixel_limit(width: u32, height: u32, max_pixels: u64) -> Result<()> {
    if width as u64 * height as u64 > max_pixels {
        return Err(Error::TooLarge {
            width,
            height,
            max_pixels,
        });
    }
    Ok(())
}

/// A read-only image.
#[derive(Clone, Copy, Debug)]
pub struct ImageRef<'a> {
    pub(crate) data: &'a [u8],
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) layout: PixelLayout,
}

impl<'a> ImageRef<'a> {
    /// Wraps a buffer; fails if its length does not match `width * height * channels`.
    pub fn new(data: &'a [u8], width: u32, height: u32, layout: PixelLayout) -> Result<Self> {
        check(data.len(), width, height, layout)?;
        Ok(ImageRef {
            data,
            width,
            height,
            layout,
        })
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }
}

/// A writable image, marked in place.
#[derive(Debug)]
pub struct ImageMut<'a> {
    pub(crate) data: &'a mut [u8],
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) layout: PixelLayout,
}

impl<'a> ImageMut<'a> {
    /// Wraps a buffer; fails if its length does not match `width * height * channels`.
    pub fn new(data: &'a mut [u8], width: u32, height: u32, layout: PixelLayout) -> Result<Self> {
        check(data.len(), width, height, layout)?;
        Ok(ImageMut {
            data,
            width,
            height,
            layout,
        })
    }

    /// A read-only view of the same pixels.
    pub fn as_ref(&self) -> ImageRef<'_> {
        ImageRef {
            data: self.data,
            width: self.width,
            height: self.height,
            layout: self.layout,
        }
    }
}
