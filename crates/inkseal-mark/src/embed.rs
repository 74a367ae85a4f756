//! The embedder: adds the keyed, masked tile to an image's luma.

use ndarray::Array2;
use rayon::prelude::*;
use rustfft::num_complex::Complex32;

use crate::code;
use crate::fft::Fft2;
use crate::mask::{Mask, Model, block_coords, mask_row, perceptual_mask};
use crate::pixels::PixelLayout;
use crate::pool;
use crate::quality::ssimulacra2;
use crate::tile::{ANALYSIS_SHORT_SIDE, Layout, OVERSAMPLE, TILE};
use crate::{Error, ImageMut, ImageRef, Key, Result, WorkId};

/// Mark amplitude in gray levels where the mask is 1, at strength 1.
const BASE_AMPLITUDE: f32 = 2.5;
/// Largest amplitude in flat colour at strength 1, in gray levels of tile RMS (peaks reach 2.2
/// times this): at 0.8 (what the metric allowed on smooth illustrations) a mottled pattern
/// showed on plasma_elarun's gradients and gnome_truchet's flat orange at 100%. A strength
/// above 1 raises it in proportion: whoever asks for a stronger mark gets it in flat colour
/// too, which is the only place flat clip art has for it.
const FLAT_CAP: f32 = 0.5;
/// Pixels whose every channel is at least this are near white.
const NEAR_WHITE: f32 = 245.0;
/// Pixels whose every channel is at most this are near black.
const NEAR_BLACK: f32 = 10.0;
/// Largest tile value, in units of its RMS.
const TILE_PEAK: f32 = 2.2;
/// Default perceptual target: the SSIMULACRA2 of the marked image against its original.
pub const DEFAULT_TARGET_QUALITY: f64 = 86.0;
/// How close to the target the chosen strength must come.
const TARGET_TOLERANCE: f64 = 0.75;
/// Most markings (each scored) when aiming at the target.
const MAX_TRIES: usize = 6;
/// The first gain tried: about the median chosen on `testdata/` and `testdata/art/`
/// (0.13 to 1.5), so most images need two or three scorings.
const FIRST_GAIN: f32 = 0.5;
/// Range of the gain the target may choose, against the model's amplitude.
const GAIN_RANGE: (f32, f32) = (0.05, 6.0);
/// Rows per unit of parallel work when the mark is added.
const BAND_ROWS: usize = 32;

/// Settings for an [`Embedder`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct EmbedConfig {
    /// Scales the mark's amplitude. 1.0 is the default trade-off; larger is more robust and
    /// more visible. Accepted range: (0, 8].
    pub strength: f32,
    /// Largest image, in pixels, accepted.
    pub max_pixels: u64,
    /// The SSIMULACRA2 score the mark aims at (at strength 1): the embedder marks, scores
    /// the result against the original and adjusts the mark's amplitude until it lands
    /// within a point of this (2-4 scorings, about 0.9 s per megapixel each). `None` marks
    /// once at the perceptual model's fixed amplitude, fast, with no guarantee of quality.
    pub target_quality: Option<f64>,
    /// Whether to score the marked image when no target is set (the score is always given
    /// when there is a target).
    pub score_quality: bool,
}

impl Default for EmbedConfig {
    fn default() -> Self {
        EmbedConfig {
            strength: 1.0,
            max_pixels: crate::DEFAULT_MAX_PIXELS,
            target_quality: Some(DEFAULT_TARGET_QUALITY),
            score_quality: false,
        }
    }
}

impl EmbedConfig {
    /// Sets the strength.
    pub fn with_strength(mut self, strength: f32) -> Self {
        self.strength = strength;
        self
    }

    /// Sets the largest image, in pixels, accepted.
    pub fn with_max_pixels(mut self, max_pixels: u64) -> Self {
        self.max_pixels = max_pixels;
        self
    }

    /// Sets the perceptual target ([`EmbedConfig::target_quality`]); `None` for the fast,
    /// fixed-amplitude mark.
    pub fn with_target_quality(mut self, target: Option<f64>) -> Self {
        self.target_quality = target;
        self
    }

    /// Sets whether to score the mark when there is no target.
    pub fn with_score_quality(mut self, score: bool) -> Self {
        self.score_quality = score;
        self
    }
}

/// What an embedding changed.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct EmbedReport {
    /// PSNR of the marked image against the original over all colour samples, in dB
    /// (infinite if nothing changed).
    pub psnr_db: f64,
    /// The tile period in image pixels.
    pub period_px: f64,
    /// Share of pixels that are near white or near black (every channel at least 245, or at
    /// most 10). Such pixels can carry only a one-level mark, so an image made mostly of them
    /// (icons, pictograms, clip art on white) keeps its mark through no attack and mild edits
    /// but loses it to JPEG quality 75 and below, WebP and blur: see
    /// [`EmbedReport::FRAGILE_EXTREME_SHARE`].
    pub extreme_share: f64,
    /// The mark's amplitude against the perceptual model's, as chosen for the target
    /// quality and times the strength (the strength alone when there is no target).
    pub quality_gain: f64,
    /// SSIMULACRA2 of the marked image against the original (100 identical, 90 visually
    /// lossless, 70 high quality), when scored: always with a target quality.
    pub ssimulacra2: Option<f64>,
}

impl EmbedReport {
    /// Above this [`EmbedReport::extreme_share`] the mark is fragile. Measured on 10 held-out
    /// clip-art images with 84-100% such pixels: none kept its ID through JPEG 50, while all
    /// 17 test and held-out images with at most 30% kept it through JPEG 30 and WebP 50.
    pub const FRAGILE_EXTREME_SHARE: f64 = 0.8;

    /// Whether the image is mostly near-white or near-black, so the mark will not survive
    /// recompression.
    pub fn is_fragile(&self) -> bool {
        self.extreme_share > Self::FRAGILE_EXTREME_SHARE
    }
}

/// A reusable embedding engine for one key. Build once, call [`Embedder::embed`] many times.
#[derive(Clone, Debug)]
pub struct Embedder {
    config: EmbedConfig,
    layout: Layout,
    fft: Fft2,
    /// The tile's spectrum and the oversampled tile, kept between calls so that every image
    /// does not page in fresh memory for them.
    spectrum: Vec<Complex32>,
    tile: Array2<f32>,
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
            layout: Layout::new(key),
            fft: Fft2::new(TILE * OVERSAMPLE),
            spectrum: Vec::new(),
            tile: Array2::zeros((TILE * OVERSAMPLE, TILE * OVERSAMPLE)),
        })
    }

    /// The oversampled spatial tile for `id`, scaled to unit RMS, into `self.tile`.
    fn fine_tile(&mut self, id: WorkId) {
        let n = self.fft.n();
        let coded = code::encode(id);
        self.layout.spectrum_into(&coded, n, &mut self.spectrum);
        let spec = &mut self.spectrum;
        self.fft.inverse(spec);
        let rms = (spec.iter().map(|c| c.re * c.re).sum::<f32>() / (n * n) as f32).sqrt();
        let scale = if rms > 0.0 { 1.0 / rms } else { 0.0 };
        // Clip the rare peaks so a flat area (mask at its floor) never moves by more than
        // one gray level at the default strength.
        for (t, c) in self.tile.iter_mut().zip(spec.iter()) {
            *t = (c.re * scale).clamp(-TILE_PEAK, TILE_PEAK);
        }
    }

    /// Marks `image` in place with `id`.
    pub fn embed(&mut self, image: ImageMut<'_>, id: WorkId) -> Result<EmbedReport> {
        let (w, h) = (image.width, image.height);
        let short = w.min(h);
        if short < crate::MIN_EMBED_SIDE {
            return Err(Error::TooSmall {
                width: w,
                height: h,
                min: crate::MIN_EMBED_SIDE,
            });
        }
        crate::pixels::check_pixel_limit(w, h, self.config.max_pixels)?;
        // Working memory comes from this thread's pool and goes back to it at the end, so
        // marking many images does not page in fresh memory for each.
        let view = image.as_ref();
        let n = self.fft.n();
        // Image pixel x sits at analysis coordinate (x + 0.5) * s - 0.5, in tile cells.
        let s = ANALYSIS_SHORT_SIDE as f64 / short as f64;
        let coords = |len: u32| tile_coords(len, s, n);
        // The tile interpolated along x once per tile row: every image row is then a blend of
        // two of these lines, with no per-pixel gather. Only for images with enough rows that
        // the table is smaller than the image (n tile rows of f32 against h rows of 3 bytes);
        // shorter images interpolate the two lines each row needs, with the same arithmetic.
        let xs = coords(w);
        let table_buf = (n * 4 <= h as usize * 3).then(|| pool::take_any(n * w as usize));
        // The tile (an inverse FFT) and its table are made while the mask is computed.
        let (mask, table) = rayon::join(
            || perceptual_mask(&view, &Model::standard()),
            || {
                self.fine_tile(id);
                table_buf.map(|mut table: Vec<f32>| {
                    table
                        .par_chunks_mut(w as usize)
                        .enumerate()
                        .for_each(|(r, line)| tile_line(&self.tile, r, &xs, line));
                    table
                })
            },
        );
        let tile = &self.tile;
        let (bh, bw) = mask.flat.dim();
        let mut painter = Painter {
            mask_xs: block_coords(w, mask.block, bw),
            mask_ys: block_coords(h, mask.block, bh),
            mask: &mask,
            tile,
            table: table.as_deref(),
            xs,
            ys: coords(h),
            amp: BASE_AMPLITUDE,
            flat: Model::standard().flat,
            flat_cap: FLAT_CAP * self.config.strength,
            layout: image.layout,
        };
        let ImageMut {
            data,
            layout,
            width: _,
            height: _,
        } = image;
        let outcome = match self.config.target_quality {
            None => {
                let original = self.config.score_quality.then(|| data.to_vec());
                let gain = self.config.strength;
                let stats = painter.paint(data, gain);
                let score = match original {
                    Some(original) => Some(ssimulacra2(
                        ImageRef::new(&original, w, h, layout)?,
                        ImageRef::new(data, w, h, layout)?,
                    )?),
                    None => None,
                };
                (stats, gain as f64, score)
            }
            Some(target) => {
                // The target is sought at strength 1, with the flat-colour cap of strength 1.
                painter.flat_cap = FLAT_CAP;
                let original = data.to_vec();
                let score = |marked: &[u8]| -> Result<f64> {
                    ssimulacra2(
                        ImageRef::new(&original, w, h, layout)?,
                        ImageRef::new(marked, w, h, layout)?,
                    )
                };
                let mut tried: Vec<(f32, f64)> = Vec::new();
                let mut gain = FIRST_GAIN;
                let mut stats;
                loop {
                    data.copy_from_slice(&original);
                    stats = painter.paint(data, gain);
                    let s = score(data)?;
                    tried.push((gain, s));
                    if (s - target).abs() <= TARGET_TOLERANCE || tried.len() >= MAX_TRIES {
                        break;
                    }
                    let next = next_gain(&tried, target);
                    if (next - gain).abs() < 1e-3 * gain {
                        break;
                    }
                    gain = next;
                }
                let last = tried.last().copied().unwrap_or((gain, 100.0));
                // The last try missed the target from below: fall back to the strongest try
                // that met it, or the weakest tried.
                let (g, s) = if last.1 + TARGET_TOLERANCE < target {
                    tried
                        .iter()
                        .copied()
                        .filter(|t| t.1 + TARGET_TOLERANCE >= target)
                        .max_by(|a, b| a.0.total_cmp(&b.0))
                        .or_else(|| tried.iter().copied().min_by(|a, b| a.0.total_cmp(&b.0)))
                        .unwrap_or(last)
                } else {
                    last
                };
                if g != last.0 {
                    data.copy_from_slice(&original);
                    stats = painter.paint(data, g);
                }
                let mut score_out = Some(s);
                let mut g = g;
                if self.config.strength != 1.0 {
                    g *= self.config.strength;
                    painter.flat_cap = FLAT_CAP * self.config.strength;
                    data.copy_from_slice(&original);
                    stats = painter.paint(data, g);
                    score_out = Some(score(data)?);
                }
                (stats, g as f64, score_out)
            }
        };
        let ((sq_err, extreme), gain, score) = outcome;
        drop(painter);
        if let Some(table) = table {
            pool::give(table);
        }
        let colour = match layout {
            PixelLayout::Gray8 => 1,
            _ => 3,
        };
        let mse = sq_err as f64 / (w as f64 * h as f64 * colour as f64);
        let psnr_db = if mse > 0.0 {
            10.0 * (255.0f64 * 255.0 / mse).log10()
        } else {
            f64::INFINITY
        };
        Ok(EmbedReport {
            psnr_db,
            period_px: TILE as f64 / s,
            extreme_share: extreme as f64 / (w as f64 * h as f64),
            quality_gain: gain,
            ssimulacra2: score,
        })
    }
}

/// The next gain to try towards `target`, from the tries so far (gain, score). The error
/// 100 - score grows about as a power of the gain, so the next gain comes from a straight
/// line in log error against log gain: between the closest tries on either side of the
/// target once there are such, else through the two tries closest to it (exponent 1 from a
/// single try).
fn next_gain(tried: &[(f32, f64)], target: f64) -> f32 {
    let err = |s: f64| (100.0 - s).max(1e-3);
    let want = err(target);
    let closest = |above: bool| {
        tried
            .iter()
            .copied()
            .filter(|t| (t.1 >= target) == above)
            .min_by(|a, b| (a.1 - target).abs().total_cmp(&(b.1 - target).abs()))
    };
    let pair = match (closest(true), closest(false)) {
        (Some(a), Some(b)) => Some((a, b)),
        _ => {
            let mut near: Vec<(f32, f64)> = tried.to_vec();
            near.sort_by(|a, b| (a.1 - target).abs().total_cmp(&(b.1 - target).abs()));
            near.get(1).map(|&b| (near[0], b))
        }
    };
    let g = match pair {
        Some(((ga, sa), (gb, sb))) => {
            let fit = (err(sa) / err(sb)).ln() / (ga as f64 / gb as f64).ln();
            let slope = if fit.is_finite() && fit > 0.2 {
                fit.min(4.0)
            } else {
                1.0
            };
            ga as f64 * (want / err(sa)).powf(1.0 / slope)
        }
        None => match tried.first() {
            Some(&(g, s)) => g as f64 * want / err(s),
            None => 1.0,
        },
    };
    (g as f32).clamp(GAIN_RANGE.0, GAIN_RANGE.1)
}

/// Adds the mark to one row of pixels at a time: everything a row needs, shared by the
/// threads.
struct Painter<'a> {
    /// The perceptual mask on blocks of pixels.
    mask: &'a Mask,
    /// Per image column and row: the two mask blocks around it and the weight of the second.
    mask_xs: Vec<(u32, u32, f32)>,
    mask_ys: Vec<(u32, u32, f32)>,
    /// The oversampled spatial tile.
    tile: &'a Array2<f32>,
    /// Each row of the tile interpolated at every image column ([`tile_line`]), when the
    /// image has enough rows for the table to pay.
    table: Option<&'a [f32]>,
    /// Per image column and row: the two tile cells around it and the weight of the second.
    xs: Vec<(u32, u32, f32)>,
    ys: Vec<(u32, u32, f32)>,
    /// Mark amplitude in gray levels where the mask is 1, before the quality gain.
    amp: f32,
    /// The model's flat-colour amplitude, in units of the mask.
    flat: f32,
    /// Largest flat-colour amplitude ([`FLAT_CAP`] times the strength).
    flat_cap: f32,
    layout: PixelLayout,
}

/// A thread's row buffers.
struct RowScratch {
    /// One value per block of the row.
    blocks: Vec<f32>,
    /// The two parts of the mask per pixel.
    mask: Vec<f32>,
    mask_texture: Vec<f32>,
    /// The two tile rows around the row, interpolated at every column (without a table).
    lines: [Vec<f32>; 2],
    /// The change each pixel asks for, in whole gray levels, before the pixel's own limits.
    want: Vec<i32>,
}

/// For each of `len` image pixels along an axis, at `s` analysis pixels per image pixel: the two
/// cells of the `n`-cell oversampled tile around it and the weight of the second. Image pixel
/// `x` sits at analysis coordinate `(x + 0.5) s - 0.5`, in tile cells.
fn tile_coords(len: u32, s: f64, n: usize) -> Vec<(u32, u32, f32)> {
    let fine = OVERSAMPLE as f64;
    (0..len)
        .map(|x| {
            let u = (((x as f64 + 0.5) * s - 0.5) * fine).rem_euclid(n as f64);
            let i0 = (u.floor() as usize) % n;
            (i0 as u32, ((i0 + 1) % n) as u32, (u - u.floor()) as f32)
        })
        .collect()
}

/// Row `r` of `tile` interpolated at every image column (`xs`: the two tile cells around each
/// column and the weight of the second), into `out`.
fn tile_line(tile: &Array2<f32>, r: usize, xs: &[(u32, u32, f32)], out: &mut [f32]) {
    let cells = tile.row(r);
    for (v, &(x0, x1, fx)) in out.iter_mut().zip(xs) {
        *v = (1.0 - fx) * cells[x0 as usize] + fx * cells[x1 as usize];
    }
}

/// A uniform value in [0, 1) for pixel `(x, y)`, from an integer hash of its position.
#[inline(always)]
fn dither(x: u32, y: u32) -> f32 {
    let mut k = x.wrapping_mul(0x9e37_79b1) ^ y.wrapping_mul(0x85eb_ca77).rotate_left(13);
    k ^= k >> 16;
    k = k.wrapping_mul(0x7feb_352d);
    k ^= k >> 15;
    k = k.wrapping_mul(0x846c_a68b);
    k ^= k >> 16;
    (k >> 8) as f32 * (1.0 / (1u32 << 24) as f32)
}
/// [`NEAR_WHITE`] and [`NEAR_BLACK`] as bytes.
const NEAR_WHITE_U8: u8 = NEAR_WHITE as u8;
const NEAR_BLACK_U8: u8 = NEAR_BLACK as u8;

/// The change to one pixel whose colour channels are `px` when the mark asks for `want`
/// levels: every channel moves by the same amount, within the room the pixel has, so hue and
/// saturation never shift where a channel would clip. Near white and near black the mark
/// can only go one way and shows as grey dots, so there it moves by one level at most.
/// Returns the change and whether the pixel is near white or near black.
#[inline(always)]
fn limit<const COLOUR: usize>(px: &[u8], want: i32) -> (i32, bool) {
    let (mut lo, mut hi) = (px[0], px[0]);
    for &c in &px[1..COLOUR] {
        lo = lo.min(c);
        hi = hi.max(c);
    }
    let (white, black) = (lo >= NEAR_WHITE_U8, hi <= NEAR_BLACK_U8);
    let down = if white { 1 } else { lo as i32 };
    let up = if black { 1 } else { 255 - hi as i32 };
    (want.clamp(-down, up), white || black)
}

impl Painter<'_> {
    fn scratch(&self) -> RowScratch {
        let w = self.xs.len();
        let lines = if self.table.is_some() { 0 } else { w };
        RowScratch {
            blocks: vec![0.0; self.mask.flat.dim().1],
            mask: vec![0.0; w],
            mask_texture: vec![0.0; w],
            lines: [vec![0.0; lines], vec![0.0; lines]],
            want: vec![0; w],
        }
    }

    /// Fills the scratch with the change row `row` asks for at each pixel at amplitude `amp`:
    /// the tile at each pixel (between the two tile rows around the row, each already
    /// interpolated at the pixel's column), times the mask, rounded (rounding commutes with
    /// the pixel's whole-level limits applied after), and at most one level in flat colour.
    fn prepare(&self, row: usize, amp: f32, scratch: &mut RowScratch) {
        mask_row(
            &self.mask.flat,
            self.mask_ys[row],
            &self.mask_xs,
            &mut scratch.blocks,
            &mut scratch.mask,
        );
        mask_row(
            &self.mask.texture,
            self.mask_ys[row],
            &self.mask_xs,
            &mut scratch.blocks,
            &mut scratch.mask_texture,
        );
        // Flat colour never takes more than FLAT_CAP gray levels (tile RMS), whatever the
        // gain: the eye sees a smooth pattern there well before the metric objects.
        let amp_flat = (amp * self.flat).min(self.flat_cap);
        let (y0, y1, fy) = self.ys[row];
        let (y0, y1) = (y0 as usize, y1 as usize);
        let w = self.xs.len();
        let [l0, l1] = &mut scratch.lines;
        let (t0, t1): (&[f32], &[f32]) = match self.table {
            Some(table) => (&table[y0 * w..(y0 + 1) * w], &table[y1 * w..(y1 + 1) * w]),
            None => {
                tile_line(self.tile, y0, &self.xs, l0);
                tile_line(self.tile, y1, &self.xs, l1);
                (l0, l1)
            }
        };
        for (x, ((((want, &f), &m), &a), &b)) in scratch
            .want
            .iter_mut()
            .zip(&scratch.mask)
            .zip(&scratch.mask_texture)
            .zip(t0)
            .zip(t1)
            .enumerate()
        {
            let t = (1.0 - fy) * a + fy * b;
            let m = amp_flat * f + amp * m;
            // Dithered rounding: the expected change is exactly the mark, so a mark below one
            // gray level is kept as a fine scatter of one-level changes instead of flat
            // patches where rounding would switch it on and off.
            *want = (m * t + dither(x as u32, row as u32)).floor() as i32;
        }
    }

    /// Marks every row of `data` at `gain` times the amplitude; returns the squared error over
    /// colour samples and the number of near-white or near-black pixels. Rows are shared
    /// among threads; the sums are integers, so the result never depends on the thread count.
    fn paint(&self, data: &mut [u8], gain: f32) -> (u64, u64) {
        let row_len = self.xs.len() * self.layout.channels();
        let bands: Vec<(u64, u64)> = data
            .par_chunks_mut(row_len * BAND_ROWS)
            .enumerate()
            .map_init(
                || self.scratch(),
                |scratch, (band, chunk)| {
                    let (mut sq_err, mut extreme) = (0u64, 0u64);
                    for (i, line) in chunk.chunks_exact_mut(row_len).enumerate() {
                        let (e, x) = self.paint_row(band * BAND_ROWS + i, line, gain, scratch);
                        sq_err += e;
                        extreme += x;
                    }
                    (sq_err, extreme)
                },
            )
            .collect();
        (
            bands.iter().map(|b| b.0).sum(),
            bands.iter().map(|b| b.1).sum(),
        )
    }

    /// Marks row `row` in place; returns its squared error over colour samples and its
    /// number of near-white or near-black pixels.
    fn paint_row(
        &self,
        row: usize,
        line: &mut [u8],
        gain: f32,
        scratch: &mut RowScratch,
    ) -> (u64, u64) {
        self.prepare(row, self.amp * gain, scratch);
        match self.layout {
            PixelLayout::Gray8 => paint::<1, 1>(line, &scratch.want),
            PixelLayout::Rgb8 => paint::<3, 3>(line, &scratch.want),
            PixelLayout::Rgba8 => paint::<4, 3>(line, &scratch.want),
        }
    }
}

/// Adds the prepared `want` to a row of `CH`-byte pixels; returns the squared error over its
/// colour samples and its number of near-white or near-black pixels.
fn paint<const CH: usize, const COLOUR: usize>(line: &mut [u8], want: &[i32]) -> (u64, u64) {
    let (mut sq_err, mut extreme) = (0u64, 0u64);
    for (px, &want) in line.chunks_exact_mut(CH).zip(want) {
        let px = &mut px[..COLOUR];
        let (d, ext) = limit::<COLOUR>(px, want);
        extreme += u64::from(ext);
        // `limit` keeps every channel within 0..=255.
        for c in px.iter_mut() {
            *c = (*c as i32 + d) as u8;
        }
        sq_err += (COLOUR as i32 * d * d) as u64;
    }
    (sq_err, extreme)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The per-row interpolation used for short images asks for exactly the change the
    /// table of interpolated tile rows gives, on every row.
    #[test]
    fn rows_without_the_table_equal_rows_from_it() {
        let (w, h) = (173u32, 151u32);
        let data: Vec<u8> = (0..(w * h * 3) as usize)
            .map(|i| ((i * 7919) % 251) as u8)
            .collect();
        let view = match crate::ImageRef::new(&data, w, h, PixelLayout::Rgb8) {
            Ok(v) => v,
            Err(e) => unreachable!("{e}"),
        };
        let mut embedder = match Embedder::new(&Key::public(), EmbedConfig::default()) {
            Ok(e) => e,
            Err(e) => unreachable!("{e}"),
        };
        embedder.fine_tile(WorkId(0x0123_4567_89ab_cdef));
        let tile = embedder.tile.clone();
        let mask = perceptual_mask(&view, &Model::standard());
        let (bh, bw) = mask.flat.dim();
        let n = tile.dim().0;
        let s = ANALYSIS_SHORT_SIDE as f64 / h as f64;
        let xs = tile_coords(w, s, n);
        let mut table = vec![0f32; n * w as usize];
        for (r, line) in table.chunks_exact_mut(w as usize).enumerate() {
            tile_line(&tile, r, &xs, line);
        }
        let painter = |table| Painter {
            mask_xs: block_coords(w, mask.block, bw),
            mask_ys: block_coords(h, mask.block, bh),
            mask: &mask,
            tile: &tile,
            table,
            xs: xs.clone(),
            ys: tile_coords(h, s, n),
            amp: BASE_AMPLITUDE,
            flat: Model::standard().flat,
            flat_cap: FLAT_CAP,
            layout: PixelLayout::Rgb8,
        };
        let (with, without) = (painter(Some(&table[..])), painter(None));
        let (mut a, mut b) = (with.scratch(), without.scratch());
        let mut nonzero = 0;
        for row in 0..h as usize {
            with.prepare(row, 3.0, &mut a);
            without.prepare(row, 3.0, &mut b);
            assert_eq!(a.want, b.want, "row {row}");
            nonzero += a.want.iter().filter(|&&v| v != 0).count();
        }
        // The comparison is not vacuous: the mark asks for changes.
        assert!(nonzero > (w * h / 4) as usize, "{nonzero}");
    }
}
