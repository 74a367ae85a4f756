//! The perceptual model: how much mark each part of an image can hide.
//!
//! The mark lives at the spatial frequencies the eye sees best (periods of a few to a few tens
//! of pixels, chosen so it survives downscaling), so it must hide behind the image itself.
//! What hides it is *texture at the mark's own scale*: contrast masking is strong when the
//! masker has energy near the mark's frequencies in several orientations, and weak for
//! what the eye can predict. The model therefore works on blocks of about one analysis pixel
//! (the image at ~256 px on its short side, where the mark's band is 2.7-11 px periods) and
//! measures texture by the smaller eigenvalue of the local structure tensor of the block
//! means:
//!
//! - flat colour and smooth gradients have (nearly) no gradient or one coherent direction:
//!   no masking, so the mark there stays below visibility;
//! - a clean edge or line also has one direction (the eigenvalue across it is zero): a mark
//!   along a crisp edge shows as ragged ringing, so edges do not count as texture;
//! - fine regular patterns (pixel art, hatching, dithering) average out inside a block, so
//!   they do not count either: the eye would see the mark break their regularity;
//! - noise-like texture at the mark's scale (foliage, brush strokes, fur, rough stone) has
//!   gradients in every direction and takes a strong mark, growing with its contrast to the
//!   power 0.7 (Watson's contrast-masking slope).
//!
//! The texture is eroded by the window's radius (so the mark does not spill out of texture
//! into neighbouring flat colour) and then smoothed over a window (so the mask itself never
//! varies at a scale the eye reads as blotches). Very dark and very bright areas get less,
//! since a luma change there is a larger relative change of light or clips.

use ndarray::Array2;
use rayon::prelude::*;

use crate::pixels::{ImageRef, PixelLayout};
use crate::tile::ANALYSIS_SHORT_SIDE;

/// Gradient (gray levels per block) below which an edge does not count at all: smooth
/// gradients in paintings rise by a few levels per block.
const EDGE_ONSET: f32 = 6.0;

/// Parameters of the model (named so the experiments and tests can set them).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Model {
    /// Amplitude (gray levels of tile RMS) where there is no texture.
    pub(crate) flat: f32,
    /// Amplitude per unit of texture contrast raised to `slope`.
    pub(crate) gain: f32,
    /// Contrast-masking exponent.
    pub(crate) slope: f32,
    /// Largest amplitude.
    pub(crate) max: f32,
    /// Window radius, in blocks, of the structure tensor, the erosion and the smoothing.
    pub(crate) radius: usize,
    /// Weight (squared) of sharp edges' steepness above [`EDGE_ONSET`] as texture: 0.2 kept
    /// the lighthouse clip art's ID through JPEG 30 (0.05 did not, nor edges eroded with the
    /// texture) with no visible ringing at 100%.
    pub(crate) edge: f32,
}

impl Model {
    /// The model's parameters, chosen on `testdata/` and `testdata/art/` with the amplitude
    /// set per image for SSIMULACRA2 86 (`examples/quality`): a share of flat colour kept
    /// more IDs through WebP 50 and crop 25% than none (13 and 14 of 21 against 10 and 11),
    /// and a shallow masking slope (0.4) more than Watson's 0.7 or a linear one.
    pub(crate) fn standard() -> Model {
        Model {
            flat: 1.0,
            gain: 0.75,
            slope: 0.4,
            max: 6.0,
            radius: 2,
            edge: 0.2,
        }
    }
}

/// The mask per block of `block x block` pixels, to be interpolated to pixels, in two parts
/// so that the embedder can raise the mark in texture without raising it in flat colour:
/// `flat` is the share of the flat-colour amplitude each block takes (1 in mid-tones, less
/// towards black and white) and `texture` the amplitude texture adds on top.
#[derive(Debug)]
pub(crate) struct Mask {
    pub(crate) flat: Array2<f32>,
    pub(crate) texture: Array2<f32>,
    pub(crate) block: usize,
}

/// Side in pixels of the model's blocks for a `w x h` image: about one analysis pixel, at
/// least 2.
pub(crate) fn block_size(w: u32, h: u32) -> usize {
    let short = w.min(h) as usize;
    ((short + ANALYSIS_SHORT_SIDE / 2) / ANALYSIS_SHORT_SIDE).max(2)
}

/// BT.601 luma of a pixel of `CH` bytes (gray, RGB or RGBA), in gray levels.
#[inline(always)]
fn luma<const CH: usize>(p: &[u8]) -> u32 {
    if CH == 1 {
        p[0] as u32 * 256
    } else {
        77 * p[0] as u32 + 150 * p[1] as u32 + 29 * p[2] as u32
    }
}

/// Mean luma (gray levels) of each `b x b` block of `img` (partial blocks at the right and
/// bottom edges average the pixels they have).
fn block_means(img: &ImageRef<'_>, b: usize) -> Array2<f32> {
    let (w, h) = (img.width as usize, img.height as usize);
    let (bw, bh) = (w.div_ceil(b), h.div_ceil(b));
    let ch = img.layout.channels();
    let mut out = Array2::<f32>::zeros((bh, bw));
    let Some(flat) = out.as_slice_mut() else {
        return out;
    };
    flat.par_chunks_mut(bw.max(1))
        .enumerate()
        .for_each(|(by, row)| {
            let mut sums = vec![0u64; bw];
            let ys = by * b..((by + 1) * b).min(h);
            let rows = ys.len();
            for y in ys {
                let px = &img.data[y * w * ch..(y + 1) * w * ch];
                match img.layout {
                    PixelLayout::Gray8 => add_row::<1>(px, b, &mut sums),
                    PixelLayout::Rgb8 => add_row::<3>(px, b, &mut sums),
                    PixelLayout::Rgba8 => add_row::<4>(px, b, &mut sums),
                }
            }
            for (bx, (o, s)) in row.iter_mut().zip(&sums).enumerate() {
                let cols = (w - bx * b).min(b);
                *o = *s as f32 / (256.0 * (rows * cols) as f32);
            }
        });
    out
}

fn add_row<const CH: usize>(px: &[u8], b: usize, sums: &mut [u64]) {
    for (s, chunk) in sums.iter_mut().zip(px.chunks(b * CH)) {
        *s += chunk.chunks_exact(CH).map(luma::<CH>).sum::<u32>() as u64;
    }
}

/// Separable box filter with clipped windows (the mean over the part of the window inside).
fn box_mean(src: &Array2<f32>, r: usize) -> Array2<f32> {
    let (h, w) = src.dim();
    let mut mid = Array2::<f32>::zeros((h, w));
    for y in 0..h {
        let row = src.row(y);
        let mut acc = 0f32;
        let mut n = 0f32;
        // Window [x - r, x + r]; slide.
        for x in 0..r.min(w) {
            acc += row[x];
            n += 1.0;
        }
        for x in 0..w {
            if x + r < w {
                acc += row[x + r];
                n += 1.0;
            }
            if x > r {
                acc -= row[x - r - 1];
                n -= 1.0;
            }
            mid[(y, x)] = acc / n;
        }
    }
    let mut out = Array2::<f32>::zeros((h, w));
    for x in 0..w {
        let mut acc = 0f32;
        let mut n = 0f32;
        for y in 0..r.min(h) {
            acc += mid[(y, x)];
            n += 1.0;
        }
        for y in 0..h {
            if y + r < h {
                acc += mid[(y + r, x)];
                n += 1.0;
            }
            if y > r {
                acc -= mid[(y - r - 1, x)];
                n -= 1.0;
            }
            out[(y, x)] = acc / n;
        }
    }
    out
}

/// Separable minimum over the clipped `(2r+1) x (2r+1)` window.
fn box_min(src: &Array2<f32>, r: usize) -> Array2<f32> {
    let (h, w) = src.dim();
    let mut mid = Array2::<f32>::zeros((h, w));
    for y in 0..h {
        for x in 0..w {
            let lo = x.saturating_sub(r);
            let hi = (x + r + 1).min(w);
            mid[(y, x)] = (lo..hi).map(|i| src[(y, i)]).fold(f32::INFINITY, f32::min);
        }
    }
    let mut out = Array2::<f32>::zeros((h, w));
    for y in 0..h {
        let lo = y.saturating_sub(r);
        let hi = (y + r + 1).min(h);
        for x in 0..w {
            out[(y, x)] = (lo..hi).map(|j| mid[(j, x)]).fold(f32::INFINITY, f32::min);
        }
    }
    out
}

/// Texture contrast at the mark's scale: the square root of the smaller eigenvalue of the
/// structure tensor of the block means `l` (central differences, averaged over the clipped
/// window of radius `r`), in gray levels per block.
pub(crate) fn texture(l: &Array2<f32>, r: usize) -> Array2<f32> {
    structure(l, r).0
}

/// The square roots of the two eigenvalues of the structure tensor of `l` averaged over the
/// clipped window of radius `r`: (smaller, larger), in gray levels per block.
fn structure(l: &Array2<f32>, r: usize) -> (Array2<f32>, Array2<f32>) {
    let (h, w) = l.dim();
    let mut a = Array2::<f32>::zeros((h, w));
    let mut b = Array2::<f32>::zeros((h, w));
    let mut c = Array2::<f32>::zeros((h, w));
    for y in 0..h {
        for x in 0..w {
            let (x0, x1) = (x.saturating_sub(1), (x + 1).min(w - 1));
            let (y0, y1) = (y.saturating_sub(1), (y + 1).min(h - 1));
            let gx = (l[(y, x1)] - l[(y, x0)]) / (x1 - x0).max(1) as f32;
            let gy = (l[(y1, x)] - l[(y0, x)]) / (y1 - y0).max(1) as f32;
            a[(y, x)] = gx * gx;
            b[(y, x)] = gx * gy;
            c[(y, x)] = gy * gy;
        }
    }
    let (a, b, c) = (box_mean(&a, r), box_mean(&b, r), box_mean(&c, r));
    let mut small = Array2::<f32>::zeros((h, w));
    let mut large = Array2::<f32>::zeros((h, w));
    for (((s, g), (&a, &b)), &c) in small
        .iter_mut()
        .zip(large.iter_mut())
        .zip(a.iter().zip(b.iter()))
        .zip(c.iter())
    {
        let m = 0.5 * (a + c);
        let d = (0.25 * (a - c) * (a - c) + b * b).sqrt();
        *s = (m - d).max(0.0).sqrt();
        *g = (m + d).sqrt();
    }
    (small, large)
}

/// The mark's amplitude (gray levels per unit of tile) at strength 1 on each block of `img`.
pub(crate) fn perceptual_mask(img: &ImageRef<'_>, model: &Model) -> Mask {
    let block = block_size(img.width, img.height);
    let l = block_means(img, block);
    if l.is_empty() {
        return Mask {
            flat: l.clone(),
            texture: l,
            block,
        };
    }
    // Texture, eroded so it does not spill into flat colour; and sharp edges, in part: their
    // steepness above that of a smooth gradient, over a 3x3-block window, not eroded (an
    // edge is thinner than the erosion).
    let tex = box_min(&texture(&l, model.radius), model.radius);
    let edges = structure(&l, 1).1;
    let t: Array2<f32> = ndarray::Zip::from(&tex).and(&edges).map_collect(|&t, &e| {
        let e = (e - EDGE_ONSET).max(0.0);
        (t * t + model.edge * e * e).sqrt()
    });
    let mean_l = box_mean(&l, model.radius);
    let mut flat = Array2::<f32>::zeros(l.dim());
    let mut tex = Array2::<f32>::zeros(l.dim());
    for (((f, o), &t), &mu) in flat
        .iter_mut()
        .zip(tex.iter_mut())
        .zip(t.iter())
        .zip(mean_l.iter())
    {
        let lum = luminance(mu);
        *f = lum;
        *o = (model.gain * t.powf(model.slope)).min(model.max) * lum;
    }
    Mask {
        flat: box_mean(&flat, model.radius),
        texture: box_mean(&tex, model.radius),
        block,
    }
}

/// Luminance adaptation: full amplitude in mid-tones, less towards black and white.
fn luminance(mu: f32) -> f32 {
    let lo = (mu / 48.0).clamp(0.35, 1.0);
    let hi = ((255.0 - mu) / 24.0).clamp(0.35, 1.0);
    lo.min(hi)
}

/// Per pixel along an axis of `len` pixels, for blocks of `block` pixels (`blocks` of them):
/// the two blocks around the pixel's centre and the weight of the second (bilinear between
/// block centres, the edge blocks repeated outside).
pub(crate) fn block_coords(len: u32, block: usize, blocks: usize) -> Vec<(u32, u32, f32)> {
    let last = blocks.saturating_sub(1) as f32;
    (0..len)
        .map(|x| {
            let u = ((x as f32 + 0.5) / block as f32 - 0.5).clamp(0.0, last);
            let i0 = u.floor();
            let i1 = (i0 + 1.0).min(last);
            (i0 as u32, i1 as u32, u - i0)
        })
        .collect()
}

/// Row `y` of the mask interpolated to pixels, into `out`: `ys` and `xs` from
/// [`block_coords`]; `line` is scratch of one value per block.
pub(crate) fn mask_row(
    m: &Array2<f32>,
    (y0, y1, fy): (u32, u32, f32),
    xs: &[(u32, u32, f32)],
    line: &mut [f32],
    out: &mut [f32],
) {
    let (a, b) = (m.row(y0 as usize), m.row(y1 as usize));
    for ((l, &a), &b) in line.iter_mut().zip(a.iter()).zip(b.iter()) {
        *l = a + fy * (b - a);
    }
    for (o, &(x0, x1, fx)) in out.iter_mut().zip(xs) {
        let (a, b) = (line[x0 as usize], line[x1 as usize]);
        *o = a + fx * (b - a);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn plane(h: usize, w: usize, f: impl FnMut(usize, usize) -> f32) -> Array2<f32> {
        let mut f = f;
        Array2::from_shape_fn((h, w), |(y, x)| f(y, x))
    }

    /// Texture at the mark's scale is what masks it: noise-like texture scores its contrast,
    /// while flat colour, a smooth ramp and a clean straight edge (one gradient direction)
    /// score nothing.
    #[test]
    fn texture_counts_noise_but_not_ramps_or_edges() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let noise = plane(40, 40, |_, _| rng.random_range(0.0..40.0));
        let ramp = plane(40, 40, |y, x| 2.0 * x as f32 + 0.5 * y as f32);
        let edge = plane(40, 40, |_, x| if x < 20 { 50.0 } else { 200.0 });
        let diagonal = plane(40, 40, |y, x| if x + y < 40 { 50.0 } else { 200.0 });
        let inside = |t: &Array2<f32>| -> Vec<f32> {
            t.indexed_iter()
                .filter(|((y, x), _)| (5..35).contains(y) && (5..35).contains(x))
                .map(|(_, &v)| v)
                .collect()
        };
        let inner = |t: &Array2<f32>| inside(t).into_iter().fold(0f32, f32::max);
        let noise_t = inside(&texture(&noise, 2));
        let mean_noise = noise_t.iter().sum::<f32>() / noise_t.len() as f32;
        // Uniform noise of 40 levels: sd 11.5; a central difference of independent values
        // has sd 11.5 / sqrt(2) = 8.2 per axis.
        assert!(mean_noise > 4.0, "noise {mean_noise}");
        assert!(inner(&texture(&ramp, 2)) < 1e-3, "ramp");
        assert!(inner(&texture(&edge, 2)) < 1e-3, "edge");
        // A diagonal staircase edge is mostly one direction too: far below the noise.
        assert!(inner(&texture(&diagonal, 2)) < 0.2 * mean_noise, "diagonal");
    }

    /// A one-pixel checkerboard (or any pattern finer than a block) averages out in the
    /// block means: it does not count as texture, so the mark does not smear it.
    #[test]
    fn patterns_finer_than_a_block_do_not_mask() {
        let (w, h) = (256usize, 256usize);
        let checker: Vec<u8> = (0..w * h)
            .map(|i| if (i % w + i / w) % 2 == 0 { 60 } else { 190 })
            .collect();
        let img = match ImageRef::new(&checker, w as u32, h as u32, PixelLayout::Gray8) {
            Ok(i) => i,
            Err(e) => unreachable!("{e}"),
        };
        let m = perceptual_mask(&img, &Model::standard());
        assert_eq!(m.block, 2);
        assert!(
            m.texture.iter().all(|&v| v < 1e-3),
            "checkerboard counted as texture"
        );
        assert!(m.flat.iter().all(|&v| (v - 1.0).abs() < 1e-3));
    }

    #[test]
    fn bilinear_coordinates_stay_inside_and_interpolate_between_block_centres() {
        let c = block_coords(10, 3, 4);
        // Pixel 1 is the centre of block 0; pixel 4 the centre of block 1.
        assert_eq!(c[1], (0, 1, 0.0));
        assert!((c[4].2 - 0.0).abs() < 1e-6 && c[4].0 == 1);
        assert!((c[2].2 - 1.0 / 3.0).abs() < 1e-6);
        // Pixel 9 lies two thirds of the way from block 2's centre (pixel 7) to block 3's
        // (pixel 10); before the first centre the edge block repeats.
        assert_eq!((c[9].0, c[9].1), (2, 3));
        assert!((c[9].2 - 2.0 / 3.0).abs() < 1e-6);
        assert_eq!(c[0], (0, 1, 0.0));
        let short = block_coords(12, 3, 4);
        assert_eq!(short[11], (3, 3, 0.0));
        assert!(
            c.iter()
                .all(|&(a, b, f)| a <= 3 && b <= 3 && (0.0..=1.0).contains(&f))
        );
    }
}
