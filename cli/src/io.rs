//! Reading untrusted image files into 8-bit pixels, and writing marked pixels back out in the
//! same format.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufReader, BufWriter, Seek, Write};
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use image::error::{ImageError, LimitErrorKind};
use image::{
    ColorType, DynamicImage, ExtendedColorType, ImageDecoder, ImageEncoder, ImageFormat,
    ImageReader, Limits,
};
use inkseal_mark::PixelLayout;

/// Largest accepted width or height, in pixels.
pub const MAX_SIDE: u32 = 30_000;
/// Most memory the decoder may allocate, in bytes.
pub const MAX_ALLOC: u64 = 1 << 30;
/// The formats we read and write, for messages.
const SUPPORTED: &str = "PNG, JPEG, WebP, TIFF";
/// Quality of JPEG output.
const JPEG_QUALITY: u8 = 95;

/// A decoded image as 8-bit pixels, with what is needed to write it back in its format.
pub struct Picture {
    /// The format the file's content is in.
    pub format: ImageFormat,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// How `pixels` is laid out.
    pub layout: PixelLayout,
    /// Tightly packed 8-bit samples.
    pub pixels: Vec<u8>,
    /// The colour type stored in the file, before conversion to 8 bits.
    pub source_color: ColorType,
    /// ICC colour profile, when asked for and present.
    pub icc: Option<Vec<u8>>,
    /// Raw EXIF (starting at the TIFF header), when asked for and present.
    pub exif: Option<Vec<u8>>,
}

impl Picture {
    /// SSIMULACRA2 of the file written at `path` from this (marked) picture against the
    /// `original` pixels it was marked from (same size and layout). A lossless output holds
    /// exactly the marked pixels, whose score the embedder already gave (`marked`); a JPEG
    /// is decoded again and scored, since its encoding costs quality of its own.
    pub fn file_quality(&self, original: &[u8], path: &Path, marked: Option<f64>) -> Option<f64> {
        if self.format != ImageFormat::Jpeg {
            return marked;
        }
        let written = open(path).ok()?.decode(false).ok()?;
        if (written.width, written.height, written.layout) != (self.width, self.height, self.layout)
        {
            return None;
        }
        let view = |px| inkseal_mark::ImageRef::new(px, self.width, self.height, self.layout);
        inkseal_mark::ssimulacra2(view(original).ok()?, view(&written.pixels).ok()?).ok()
    }

    /// Whether the file stored gray plus alpha (held here as RGBA with equal colour channels).
    pub fn is_gray_alpha(&self) -> bool {
        !self.source_color.has_color() && self.source_color.has_alpha()
    }

    /// Whether the file stored more than 8 bits per sample.
    pub fn is_high_depth(&self) -> bool {
        self.source_color.bytes_per_pixel() > self.source_color.channel_count()
    }
}

/// The name of a format for messages.
pub fn format_name(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Png => "PNG",
        ImageFormat::Jpeg => "JPEG",
        ImageFormat::WebP => "WebP",
        ImageFormat::Tiff => "TIFF",
        ImageFormat::Gif => "GIF",
        ImageFormat::Bmp => "BMP",
        _ => "this format",
    }
}

/// A file opened for decoding whose format has been recognised from its content.
pub struct Opened {
    reader: ImageReader<BufReader<File>>,
    /// The recognised format, one of those we support.
    pub format: ImageFormat,
}

/// Opens `path` and recognises its format from the first bytes (never from the name).
pub fn open(path: &Path) -> Result<Opened> {
    let file = File::open(path).context("cannot open")?;
    let mut reader = ImageReader::new(BufReader::new(file))
        .with_guessed_format()
        .context("cannot read")?;
    let format = match reader.format() {
        Some(
            f @ (ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::WebP | ImageFormat::Tiff),
        ) => f,
        Some(f) => bail!(
            "{} images are not supported (supported: {SUPPORTED})",
            format_name(f)
        ),
        None => bail!("not a supported image ({SUPPORTED})"),
    };
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    Ok(Opened { reader, format })
}

impl Opened {
    /// Decodes the pixels (and, if `metadata`, the colour profile and EXIF) into 8 bits per
    /// sample: gray stays gray, gray with alpha becomes RGBA, deeper samples are reduced.
    pub fn decode(self, metadata: bool) -> Result<Picture> {
        let format = self.format;
        let mut decoder = self.reader.into_decoder().map_err(decode_error)?;
        let (width, height) = decoder.dimensions();
        if width > MAX_SIDE || height > MAX_SIDE {
            bail!("image is {width}x{height} pixels; the limit is {MAX_SIDE} pixels per side");
        }
        if decoder.total_bytes() > MAX_ALLOC {
            bail!(
                "image is {width}x{height} pixels and would need {} MiB to decode; the limit is {} MiB",
                decoder.total_bytes() >> 20,
                MAX_ALLOC >> 20
            );
        }
        let source_color = decoder.color_type();
        // Metadata is a courtesy: a damaged profile must not stop the marking.
        let (icc, exif) = if metadata {
            (
                decoder.icc_profile().ok().flatten(),
                decoder.exif_metadata().ok().flatten(),
            )
        } else {
            (None, None)
        };
        let image = DynamicImage::from_decoder(decoder).map_err(decode_error)?;
        let color = image.color();
        let (layout, pixels) = if color.has_alpha() {
            (PixelLayout::Rgba8, image.into_rgba8().into_raw())
        } else if color.has_color() {
            (PixelLayout::Rgb8, image.into_rgb8().into_raw())
        } else {
            (PixelLayout::Gray8, image.into_luma8().into_raw())
        };
        Ok(Picture {
            format,
            width,
            height,
            layout,
            pixels,
            source_color,
            icc,
            exif,
        })
    }
}

/// Reads and decodes `path` (pixels only).
pub fn read_pixels(path: &Path) -> Result<Picture> {
    open(path)?.decode(false)
}

fn decode_error(err: ImageError) -> anyhow::Error {
    match &err {
        ImageError::Limits(l) => match l.kind() {
            LimitErrorKind::DimensionError => {
                anyhow!("image is larger than {MAX_SIDE} pixels per side")
            }
            LimitErrorKind::InsufficientMemory => anyhow!(
                "image would need more than {} MiB to decode",
                MAX_ALLOC >> 20
            ),
            _ => anyhow!("image exceeds the decoding limits: {err}"),
        },
        ImageError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            anyhow!("the file is truncated or corrupt ({err})")
        }
        _ => anyhow!("cannot decode the image: {err}"),
    }
}

/// Checks that `path`'s extension names `format`, so a marked JPEG is not called `.png`.
pub fn check_extension(path: &Path, format: ImageFormat) -> Result<()> {
    let ext = path.extension().and_then(|e| e.to_str());
    if ext.and_then(ImageFormat::from_extension) == Some(format) {
        return Ok(());
    }
    let wanted = format.extensions_str().first().copied().unwrap_or("img");
    bail!(
        "the input is {}, and the output keeps the input's format; name the output with a .{wanted} extension{}",
        format_name(format),
        match ext {
            Some(e) => format!(" (not .{e})"),
            None => String::new(),
        }
    )
}

/// What was lost while writing, for notes to the user.
#[derive(Debug, Default)]
pub struct WriteNotes {
    /// The alpha channel was dropped (JPEG has none).
    pub dropped_alpha: bool,
    /// Gray with alpha was written as RGBA (TIFF output).
    pub gray_alpha_as_rgba: bool,
    /// Metadata that could not be carried over.
    pub dropped_metadata: Vec<&'static str>,
}

/// Encodes `picture` in its own format into `w`.
pub fn write(picture: &Picture, w: impl Write + Seek) -> Result<WriteNotes> {
    let mut notes = WriteNotes::default();
    let (color, data) = output_samples(picture, &mut notes);
    let gray = matches!(color, ExtendedColorType::L8 | ExtendedColorType::La8);
    let icc = picture
        .icc
        .clone()
        .filter(|p| icc_matches(p, gray))
        .or_else(|| {
            if picture.icc.is_some() {
                notes.dropped_metadata.push("ICC profile");
            }
            None
        });
    let exif = picture.exif.clone();
    let (width, height) = (picture.width, picture.height);
    let mut w = BufWriter::new(w);
    match picture.format {
        ImageFormat::Jpeg => {
            write_jpeg(&mut w, &data, width, height, color, icc, exif, &mut notes)?
        }
        ImageFormat::Png => {
            let mut enc = image::codecs::png::PngEncoder::new(&mut w);
            add_metadata(&mut enc, icc, exif, &mut notes);
            enc.write_image(&data, width, height, color)?;
        }
        ImageFormat::WebP => {
            let mut enc = image::codecs::webp::WebPEncoder::new_lossless(&mut w);
            add_metadata(&mut enc, icc, exif, &mut notes);
            enc.write_image(&data, width, height, color)?;
        }
        ImageFormat::Tiff => {
            let mut enc = image::codecs::tiff::TiffEncoder::new(&mut w);
            add_metadata(&mut enc, icc, exif, &mut notes);
            enc.write_image(&data, width, height, color)?;
        }
        other => bail!("cannot write {} images", format_name(other)),
    }
    w.into_inner()
        .map_err(|e| e.into_error())
        .context("cannot write the image")?;
    Ok(notes)
}

/// The samples to encode and their colour type, given what the output format can hold.
fn output_samples<'a>(
    picture: &'a Picture,
    notes: &mut WriteNotes,
) -> (ExtendedColorType, Cow<'a, [u8]>) {
    let px = &picture.pixels;
    let jpeg = picture.format == ImageFormat::Jpeg;
    match picture.layout {
        PixelLayout::Gray8 => (ExtendedColorType::L8, Cow::Borrowed(px)),
        PixelLayout::Rgb8 => (ExtendedColorType::Rgb8, Cow::Borrowed(px)),
        PixelLayout::Rgba8 if picture.is_gray_alpha() => {
            if jpeg {
                notes.dropped_alpha = true;
                (
                    ExtendedColorType::L8,
                    Cow::Owned(px.chunks_exact(4).map(gray_of).collect()),
                )
            } else if picture.format == ImageFormat::Tiff {
                notes.gray_alpha_as_rgba = true;
                (ExtendedColorType::Rgba8, Cow::Borrowed(px))
            } else {
                let la = px
                    .chunks_exact(4)
                    .flat_map(|p| [gray_of(p), p[3]])
                    .collect();
                (ExtendedColorType::La8, Cow::Owned(la))
            }
        }
        PixelLayout::Rgba8 if jpeg => {
            notes.dropped_alpha = true;
            let rgb = px
                .chunks_exact(4)
                .flat_map(|p| [p[0], p[1], p[2]])
                .collect();
            (ExtendedColorType::Rgb8, Cow::Owned(rgb))
        }
        _ => (ExtendedColorType::Rgba8, Cow::Borrowed(px)),
    }
}

/// Gray of a pixel whose colour channels started equal (weights sum to 1000, so equal
/// channels give back the same value exactly).
fn gray_of(p: &[u8]) -> u8 {
    let v = (u32::from(p[0]) * 299 + u32::from(p[1]) * 587 + u32::from(p[2]) * 114 + 500) / 1000;
    v.min(255) as u8
}

/// Whether an ICC profile describes the colour space we write (bytes 16..20 of its header).
fn icc_matches(profile: &[u8], gray: bool) -> bool {
    let wanted: &[u8] = if gray { b"GRAY" } else { b"RGB " };
    profile.get(16..20) == Some(wanted)
}

fn add_metadata(
    enc: &mut impl ImageEncoder,
    icc: Option<Vec<u8>>,
    exif: Option<Vec<u8>>,
    notes: &mut WriteNotes,
) {
    if let Some(icc) = icc
        && enc.set_icc_profile(icc).is_err()
    {
        notes.dropped_metadata.push("ICC profile");
    }
    if let Some(exif) = exif
        && enc.set_exif_metadata(exif).is_err()
    {
        notes.dropped_metadata.push("EXIF");
    }
}

#[allow(clippy::too_many_arguments)]
fn write_jpeg(
    w: &mut impl Write,
    data: &[u8],
    width: u32,
    height: u32,
    color: ExtendedColorType,
    icc: Option<Vec<u8>>,
    exif: Option<Vec<u8>>,
    notes: &mut WriteNotes,
) -> Result<()> {
    use jpeg_encoder::{ColorType as JpegColor, Encoder, SamplingFactor};
    let (Ok(w16), Ok(h16)) = (u16::try_from(width), u16::try_from(height)) else {
        bail!("image is {width}x{height} pixels; JPEG allows at most 65535 per side");
    };
    let jpeg_color = match color {
        ExtendedColorType::L8 => JpegColor::Luma,
        ExtendedColorType::Rgb8 => JpegColor::Rgb,
        other => bail!("cannot write {other:?} samples as JPEG"),
    };
    let mut enc = Encoder::new(w, JPEG_QUALITY);
    enc.set_sampling_factor(SamplingFactor::R_4_4_4);
    enc.set_optimized_huffman_tables(true);
    if let Some(icc) = icc
        && enc.add_icc_profile(&icc).is_err()
    {
        notes.dropped_metadata.push("ICC profile");
    }
    if let Some(exif) = exif
        && enc.add_exif_metadata(&exif).is_err()
    {
        notes.dropped_metadata.push("EXIF");
    }
    enc.encode(data, w16, h16, jpeg_color)
        .context("cannot encode JPEG")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gray_of_equal_channels_is_exact() {
        for v in 0..=255u8 {
            assert_eq!(gray_of(&[v, v, v, 7]), v);
        }
    }

    #[test]
    fn extensions_must_match_the_format() {
        assert!(check_extension(Path::new("a.JPG"), ImageFormat::Jpeg).is_ok());
        assert!(check_extension(Path::new("a.jpeg"), ImageFormat::Jpeg).is_ok());
        assert!(check_extension(Path::new("a.tif"), ImageFormat::Tiff).is_ok());
        let err = check_extension(Path::new("a.png"), ImageFormat::Jpeg).err();
        assert!(err.is_some_and(|e| e.to_string().contains(".jpg")));
        assert!(check_extension(Path::new("noext"), ImageFormat::Png).is_err());
    }

    #[test]
    fn icc_profiles_are_kept_only_for_their_colour_space() {
        let mut rgb = vec![0u8; 128];
        rgb[16..20].copy_from_slice(b"RGB ");
        assert!(icc_matches(&rgb, false));
        assert!(!icc_matches(&rgb, true));
        assert!(!icc_matches(&[0u8; 10], false));
    }
}
