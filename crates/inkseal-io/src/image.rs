//! The one decoder for untrusted images (files and bytes) and the one encoder.
//!
//! Decoding recognises the format from the content, never from a name, reads the header and
//! checks [`Limits`] — the side lengths, the pixel count (100 megapixels by default, the
//! watermark engines' limit), and the memory the decoded buffer *and* the conversion to
//! 8-bit samples would take — before any pixel buffer is allocated. A 100000×100000 header,
//! or a 30000×30000 one that compresses to a few hundred kilobytes, is an error, not an
//! out-of-memory kill.
//!
//! ```
//! use inkseal_io::image::{DecodeOptions, Limits, decode_bytes};
//!
//! // A 64x64 PNG, read under limits of 32 pixels per side: refused from its header.
//! let mut png = std::io::Cursor::new(Vec::new());
//! image::RgbImage::new(64, 64).write_to(&mut png, image::ImageFormat::Png)?;
//! let tight = Limits { max_width: 32, max_height: 32, ..Limits::default() };
//! let options = DecodeOptions::default().with_limits(tight);
//! let err = decode_bytes(png.get_ref(), &options).err().ok_or("refused")?;
//! assert_eq!(err.to_string(), "image is 64x64 pixels; the limit is 32 pixels per side");
//!
//! let picture = decode_bytes(png.get_ref(), &DecodeOptions::default())?;
//! assert_eq!((picture.width, picture.height, picture.pixels.len()), (64, 64, 64 * 64 * 3));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Cursor, Seek, Write};
use std::path::Path;

use image::error::{ImageError, LimitErrorKind};
use image::{
    ColorType, DynamicImage, ExtendedColorType, ImageDecoder, ImageEncoder, ImageFormat,
    ImageReader,
};
use inkseal_mark::PixelLayout;

use crate::{Error, Result};

pub use image::ImageFormat as Format;

/// Largest accepted width or height by default, in pixels.
pub const MAX_SIDE: u32 = 30_000;
/// Most pixels (width × height) accepted by default: the watermark engines' own limit
/// ([`inkseal_mark::DEFAULT_MAX_PIXELS`], 100 megapixels), checked here from the header so
/// that a larger image is refused before it is decoded.
pub const MAX_PIXELS: u64 = inkseal_mark::DEFAULT_MAX_PIXELS;
/// Most memory a decode may take by default, in bytes (1 GiB).
pub const MAX_ALLOC: u64 = 1 << 30;
/// Quality of JPEG output.
pub const JPEG_QUALITY: u8 = 95;

/// Size limits for untrusted images, in the manner of image-rs's `Limits`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted width in pixels.
    pub max_width: u32,
    /// Largest accepted height in pixels.
    pub max_height: u32,
    /// Most pixels (width × height) accepted.
    pub max_pixels: u64,
    /// Most memory the decoded buffer plus the conversion to 8 bits may take, in bytes.
    pub max_alloc: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_width: MAX_SIDE,
            max_height: MAX_SIDE,
            max_pixels: MAX_PIXELS,
            max_alloc: MAX_ALLOC,
        }
    }
}

impl Limits {
    /// Checks an image of `width`×`height` that needs `bytes` to decode and convert.
    pub fn check(&self, width: u32, height: u32, bytes: u64) -> Result<()> {
        if width > self.max_width || height > self.max_height {
            let side = self.max_width.max(self.max_height);
            return Err(Error::TooLarge(format!(
                "image is {width}x{height} pixels; the limit is {side} pixels per side"
            )));
        }
        let pixels = u64::from(width) * u64::from(height);
        if pixels > self.max_pixels {
            return Err(Error::TooLarge(format!(
                "image is {width}x{height} pixels ({}); the limit is {}",
                megapixels(pixels),
                megapixels(self.max_pixels)
            )));
        }
        if bytes > self.max_alloc {
            return Err(Error::TooLarge(format!(
                "image is {width}x{height} pixels and would need {} MiB to decode; the limit is {} MiB",
                bytes.div_ceil(1 << 20),
                self.max_alloc >> 20
            )));
        }
        Ok(())
    }

    /// The limits handed to image-rs: its allocations while reading the header and decoding
    /// stay under `max_alloc`; the sides and the pixel count are checked by
    /// [`Limits::check`] so that the message names the image's size.
    fn to_image_rs(self) -> image::Limits {
        let mut limits = image::Limits::default();
        limits.max_alloc = Some(self.max_alloc);
        limits
    }
}

/// `n` pixels for messages: "900 megapixels", "100 megapixels", "12.5 megapixels".
fn megapixels(n: u64) -> String {
    if n.is_multiple_of(1_000_000) {
        format!("{} megapixels", n / 1_000_000)
    } else {
        format!("{:.1} megapixels", n as f64 / 1e6)
    }
}

/// Which formats a decode accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Formats {
    /// The formats a work can be marked in and written back: PNG, JPEG, WebP, TIFF.
    Markable,
    /// Everything that can be searched for a mark: also GIF and BMP.
    Readable,
}

impl Formats {
    /// The formats for messages.
    pub fn names(self) -> &'static str {
        match self {
            Formats::Markable => "PNG, JPEG, WebP, TIFF",
            Formats::Readable => "JPEG, PNG, WebP, TIFF, GIF or BMP",
        }
    }

    /// Whether `format` is accepted.
    pub fn accepts(self, format: ImageFormat) -> bool {
        match format {
            ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::WebP | ImageFormat::Tiff => true,
            ImageFormat::Gif | ImageFormat::Bmp => self == Formats::Readable,
            _ => false,
        }
    }
}

/// What to do with an alpha channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alpha {
    /// Keep it: RGBA out (gray with alpha becomes RGBA with equal colour channels).
    Keep,
    /// Drop it: gray or RGB out (the mark lives in luma; detection needs no alpha).
    Drop,
}

/// How to decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Size limits.
    pub limits: Limits,
    /// Accepted formats.
    pub formats: Formats,
    /// What happens to alpha.
    pub alpha: Alpha,
    /// Also read the ICC profile and EXIF (to write them back).
    pub metadata: bool,
}

impl Default for DecodeOptions {
    /// For detection: any readable format, alpha dropped, no metadata.
    fn default() -> Self {
        DecodeOptions {
            limits: Limits::default(),
            formats: Formats::Readable,
            alpha: Alpha::Drop,
            metadata: false,
        }
    }
}

impl DecodeOptions {
    /// For marking: the formats that can be written back, alpha and metadata kept.
    pub fn for_marking() -> Self {
        DecodeOptions {
            limits: Limits::default(),
            formats: Formats::Markable,
            alpha: Alpha::Keep,
            metadata: true,
        }
    }

    /// For detection in a single file, as `detect` and `verify` read it: the markable
    /// formats, alpha kept (so the pixels are those that were marked), no metadata.
    pub fn for_detection() -> Self {
        DecodeOptions {
            formats: Formats::Markable,
            alpha: Alpha::Keep,
            ..DecodeOptions::default()
        }
    }

    /// Sets the limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
}

/// A decoded image as 8-bit pixels, with what is needed to write it back in its format.
#[derive(Clone, Debug)]
pub struct Picture {
    /// The format the content is in.
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
    /// The pixels as the watermark engine reads them (detection, hashing, scoring).
    pub fn view(&self) -> inkseal_mark::Result<inkseal_mark::ImageRef<'_>> {
        inkseal_mark::ImageRef::new(&self.pixels, self.width, self.height, self.layout)
    }

    /// The pixels as the watermark engine writes them (embedding).
    pub fn view_mut(&mut self) -> inkseal_mark::Result<inkseal_mark::ImageMut<'_>> {
        inkseal_mark::ImageMut::new(&mut self.pixels, self.width, self.height, self.layout)
    }

    /// Whether the file stored gray plus alpha (held here as RGBA with equal colour channels).
    pub fn is_gray_alpha(&self) -> bool {
        !self.source_color.has_color() && self.source_color.has_alpha()
    }

    /// Whether the file stored more than 8 bits per sample.
    pub fn is_high_depth(&self) -> bool {
        self.source_color.bytes_per_pixel() > self.source_color.channel_count()
    }

    /// Bits per sample in the file.
    pub fn source_bits(&self) -> u16 {
        8 * u16::from(self.source_color.bytes_per_pixel())
            / u16::from(self.source_color.channel_count().max(1))
    }

    /// SSIMULACRA2 of `encoded`, the file written from this (marked) picture, against the
    /// `original` pixels it was marked from (same size and layout). A lossless output holds
    /// exactly the marked pixels, whose score the embedder already gave (`marked`); a JPEG
    /// is decoded again and scored, since its encoding costs quality of its own. `None`
    /// when it cannot be scored.
    pub fn encoded_quality(
        &self,
        original: &[u8],
        encoded: &[u8],
        marked: Option<f64>,
    ) -> Option<f64> {
        if self.format != ImageFormat::Jpeg {
            return marked;
        }
        let written = decode_bytes(encoded, &DecodeOptions::for_marking()).ok()?;
        if (written.width, written.height, written.layout) != (self.width, self.height, self.layout)
        {
            return None;
        }
        let view = |px| inkseal_mark::ImageRef::new(px, self.width, self.height, self.layout);
        inkseal_mark::ssimulacra2(view(original).ok()?, view(&written.pixels).ok()?).ok()
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

/// An image whose format has been recognised from its content, ready to decode.
pub struct Opened<R: BufRead + Seek> {
    reader: ImageReader<R>,
    options: DecodeOptions,
    /// The recognised format, one of those accepted.
    pub format: ImageFormat,
}

/// Opens `path` and recognises its format from the first bytes.
pub fn open_path(path: &Path, options: &DecodeOptions) -> Result<Opened<BufReader<File>>> {
    let file = crate::read::open(path).map_err(|e| Error::io("cannot open", path, e))?;
    open_reader(BufReader::new(file), options).map_err(|e| match e {
        Error::Io { error, .. } => Error::io("cannot read", path, error),
        other => other,
    })
}

/// Recognises the format of `bytes`.
pub fn open_bytes<'a>(
    bytes: &'a [u8],
    options: &DecodeOptions,
) -> Result<Opened<Cursor<&'a [u8]>>> {
    open_reader(Cursor::new(bytes), options)
}

fn open_reader<R: BufRead + Seek>(reader: R, options: &DecodeOptions) -> Result<Opened<R>> {
    let mut reader = ImageReader::new(reader)
        .with_guessed_format()
        .map_err(|e| Error::io("cannot read", "the image", e))?;
    let supported = options.formats.names();
    let format = match reader.format() {
        Some(f) if options.formats.accepts(f) => f,
        Some(f) if format_name(f) != "this format" => {
            return Err(Error::UnsupportedFormat {
                format: format_name(f),
                supported,
            });
        }
        _ => return Err(Error::UnknownFormat { supported }),
    };
    reader.limits(options.limits.to_image_rs());
    Ok(Opened {
        reader,
        options: *options,
        format,
    })
}

impl<R: BufRead + Seek> Opened<R> {
    /// Decodes into 8 bits per sample: gray stays gray, colour becomes RGB, alpha is kept as
    /// RGBA or dropped as the options say, deeper samples are reduced. The limits are checked
    /// from the header, for the decoded buffer and the conversion copy, before decoding.
    pub fn decode(self) -> Result<Picture> {
        let Opened {
            reader,
            options,
            format,
        } = self;
        let mut decoder = reader
            .into_decoder()
            .map_err(|e| decode_error(e, &options))?;
        let (width, height) = decoder.dimensions();
        let source_color = decoder.color_type();
        let layout = match (options.alpha, source_color) {
            (Alpha::Keep, c) if c.has_alpha() => PixelLayout::Rgba8,
            (_, c) if c.has_color() => PixelLayout::Rgb8,
            _ => PixelLayout::Gray8,
        };
        let out_color = match layout {
            PixelLayout::Rgba8 => ColorType::Rgba8,
            PixelLayout::Rgb8 => ColorType::Rgb8,
            _ => ColorType::L8,
        };
        let converted = if source_color == out_color {
            0
        } else {
            u64::from(width) * u64::from(height) * u64::from(out_color.bytes_per_pixel())
        };
        options.limits.check(
            width,
            height,
            decoder.total_bytes().saturating_add(converted),
        )?;
        // Metadata is a courtesy: a damaged profile must not stop the marking.
        let (icc, exif) = if options.metadata {
            (
                decoder.icc_profile().ok().flatten(),
                decoder.exif_metadata().ok().flatten(),
            )
        } else {
            (None, None)
        };
        let image = DynamicImage::from_decoder(decoder).map_err(|e| decode_error(e, &options))?;
        let pixels = match layout {
            PixelLayout::Rgba8 => image.into_rgba8().into_raw(),
            PixelLayout::Rgb8 => image.into_rgb8().into_raw(),
            _ => image.into_luma8().into_raw(),
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

/// Reads and decodes `path`.
pub fn decode_path(path: &Path, options: &DecodeOptions) -> Result<Picture> {
    open_path(path, options)?.decode()
}

/// Decodes `bytes`.
pub fn decode_bytes(bytes: &[u8], options: &DecodeOptions) -> Result<Picture> {
    open_bytes(bytes, options)?.decode()
}

fn decode_error(err: ImageError, options: &DecodeOptions) -> Error {
    let limits = options.limits;
    match &err {
        ImageError::Limits(l) => match l.kind() {
            LimitErrorKind::DimensionError => Error::TooLarge(format!(
                "image is larger than {} pixels per side",
                limits.max_width.max(limits.max_height)
            )),
            LimitErrorKind::InsufficientMemory => Error::TooLarge(format!(
                "image would need more than {} MiB to decode",
                limits.max_alloc >> 20
            )),
            _ => Error::TooLarge(format!("image exceeds the decoding limits: {err}")),
        },
        ImageError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            Error::Truncated(err.to_string())
        }
        _ => Error::Decode(err.to_string()),
    }
}

/// Checks that `path`'s extension names `format`, so a marked JPEG is not called `.png`.
pub fn check_extension(path: &Path, format: ImageFormat) -> Result<()> {
    let ext = path.extension().and_then(|e| e.to_str());
    if ext.and_then(ImageFormat::from_extension) == Some(format) {
        return Ok(());
    }
    let wanted = format.extensions_str().first().copied().unwrap_or("img");
    Err(Error::Extension(format!(
        "the input is {}, and the output keeps the input's format; name the output with a .{wanted} extension{}",
        format_name(format),
        match ext {
            Some(e) => format!(" (not .{e})"),
            None => String::new(),
        }
    )))
}

/// What was lost while writing, for notes to the user.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteNotes {
    /// The alpha channel was dropped (JPEG has none).
    pub dropped_alpha: bool,
    /// Gray with alpha was written as RGBA (TIFF output).
    pub gray_alpha_as_rgba: bool,
    /// Metadata that could not be carried over.
    pub dropped_metadata: Vec<&'static str>,
}

/// Encodes `picture` in its own format into `w`.
pub fn encode(picture: &Picture, w: impl Write + Seek) -> Result<WriteNotes> {
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
            enc.write_image(&data, width, height, color)
                .map_err(|e| Error::Encode(e.to_string()))?;
        }
        ImageFormat::WebP => {
            let mut enc = image::codecs::webp::WebPEncoder::new_lossless(&mut w);
            add_metadata(&mut enc, icc, exif, &mut notes);
            enc.write_image(&data, width, height, color)
                .map_err(|e| Error::Encode(e.to_string()))?;
        }
        ImageFormat::Tiff => {
            let mut enc = image::codecs::tiff::TiffEncoder::new(&mut w);
            add_metadata(&mut enc, icc, exif, &mut notes);
            enc.write_image(&data, width, height, color)
                .map_err(|e| Error::Encode(e.to_string()))?;
        }
        other => {
            return Err(Error::Encode(format!(
                "cannot write {} images",
                format_name(other)
            )));
        }
    }
    w.into_inner()
        .map_err(|e| Error::io("cannot write", "the image", e.into_error()))?;
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
        return Err(Error::Encode(format!(
            "image is {width}x{height} pixels; JPEG allows at most 65535 per side"
        )));
    };
    let jpeg_color = match color {
        ExtendedColorType::L8 => JpegColor::Luma,
        ExtendedColorType::Rgb8 => JpegColor::Rgb,
        other => {
            return Err(Error::Encode(format!(
                "cannot write {other:?} samples as JPEG"
            )));
        }
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
        .map_err(|e| Error::Encode(format!("JPEG: {e}")))?;
    Ok(())
}

/// Encodes `picture` in its own format into a new buffer.
pub fn encode_to_vec(picture: &Picture) -> Result<(Vec<u8>, WriteNotes)> {
    let mut out = Cursor::new(Vec::new());
    let notes = encode(picture, &mut out)?;
    Ok((out.into_inner(), notes))
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
    fn garbage_is_not_an_image() {
        let err = decode_bytes(b"definitely not an image", &DecodeOptions::default()).err();
        assert!(matches!(err, Some(Error::UnknownFormat { .. })), "{err:?}");
    }

    /// A PNG of `w`x`h` 16-bit RGB pixels that are all one value.
    fn png16(w: u32, h: u32) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        let samples: Vec<u8> = vec![0x80; (w * h * 6) as usize];
        if let Err(e) = image::codecs::png::PngEncoder::new(&mut out).write_image(
            &samples,
            w,
            h,
            ExtendedColorType::Rgb16,
        ) {
            unreachable!("encoding a small PNG: {e}");
        }
        out.into_inner()
    }

    #[test]
    fn the_conversion_copy_counts_against_the_limit() {
        // 100 x 100 16-bit RGB: 60000 bytes decoded, plus 30000 for the 8-bit copy.
        let png = png16(100, 100);
        let tight = |max_alloc| DecodeOptions {
            limits: Limits {
                max_alloc,
                ..Limits::default()
            },
            ..DecodeOptions::default()
        };
        let err = decode_bytes(&png, &tight(70_000)).err();
        assert!(
            matches!(&err, Some(Error::TooLarge(m)) if m.contains("would need")),
            "{err:?}"
        );
        let picture = decode_bytes(&png, &tight(90_000));
        assert!(picture.is_ok_and(|p| p.layout == PixelLayout::Rgb8
            && p.is_high_depth()
            && p.pixels.len() == 30_000
            && p.pixels.iter().all(|&v| v == 0x80)),);
    }

    /// A PNG whose header claims `width` x `height` 8-bit gray pixels, with an empty IDAT.
    fn gray_png_header(width: u32, height: u32) -> Vec<u8> {
        let crc = |kind: &[u8], data: &[u8]| {
            // CRC-32 (ISO-HDLC), bit by bit: enough for a few bytes of header.
            let mut c = 0xffff_ffffu32;
            for &b in kind.iter().chain(data) {
                c ^= u32::from(b);
                for _ in 0..8 {
                    c = if c & 1 == 1 {
                        (c >> 1) ^ 0xedb8_8320
                    } else {
                        c >> 1
                    };
                }
            }
            !c
        };
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut chunk = |kind: &[u8; 4], data: &[u8]| {
            png.extend_from_slice(&(data.len() as u32).to_be_bytes());
            png.extend_from_slice(kind);
            png.extend_from_slice(data);
            png.extend_from_slice(&crc(kind, data).to_be_bytes());
        };
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&width.to_be_bytes());
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
        chunk(b"IHDR", &ihdr);
        chunk(
            b"IDAT",
            &[
                0x78, 0x01, 0x01, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01,
            ],
        );
        chunk(b"IEND", &[]);
        png
    }

    #[test]
    fn the_pixel_count_is_checked_from_the_header() {
        // 30000 x 30000 gray: within the side limit and under 1 GiB, but 900 megapixels.
        let err = decode_bytes(&gray_png_header(30_000, 30_000), &DecodeOptions::default()).err();
        assert_eq!(
            err.map(|e| e.to_string()).as_deref(),
            Some("image is 30000x30000 pixels (900 megapixels); the limit is 100 megapixels")
        );
        // Exactly at the limit the header passes; the empty pixel stream is what fails.
        let err = decode_bytes(&gray_png_header(10_000, 10_000), &DecodeOptions::default()).err();
        assert!(!matches!(err, Some(Error::TooLarge(_)) | None), "{err:?}");
    }

    #[test]
    fn marking_refuses_formats_it_cannot_write_back() {
        let mut gif = Cursor::new(Vec::new());
        let frame = image::RgbImage::from_pixel(4, 4, image::Rgb([1, 2, 3]));
        assert!(
            DynamicImage::from(frame)
                .write_to(&mut gif, ImageFormat::Gif)
                .is_ok()
        );
        let gif = gif.into_inner();
        let err = decode_bytes(&gif, &DecodeOptions::for_marking()).err();
        assert!(
            err.as_ref().is_some_and(|e| e.to_string()
                == "GIF images are not supported (supported: PNG, JPEG, WebP, TIFF)"),
            "{err:?}"
        );
        assert!(decode_bytes(&gif, &DecodeOptions::default()).is_ok());
    }

    #[test]
    fn alpha_is_kept_for_marking_and_dropped_for_detection() {
        let rgba = image::RgbaImage::from_pixel(8, 8, image::Rgba([10, 20, 30, 40]));
        let mut png = Cursor::new(Vec::new());
        assert!(
            DynamicImage::from(rgba)
                .write_to(&mut png, ImageFormat::Png)
                .is_ok()
        );
        let png = png.into_inner();
        let kept = decode_bytes(&png, &DecodeOptions::for_marking()).ok();
        assert_eq!(
            kept.map(|p| (p.layout, p.pixels[..4].to_vec())),
            Some((PixelLayout::Rgba8, vec![10, 20, 30, 40]))
        );
        let dropped = decode_bytes(&png, &DecodeOptions::default()).ok();
        assert_eq!(
            dropped.map(|p| (p.layout, p.pixels[..3].to_vec())),
            Some((PixelLayout::Rgb8, vec![10, 20, 30]))
        );
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
