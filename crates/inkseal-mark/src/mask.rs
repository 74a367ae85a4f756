//! Perceptual masking: how much mark each pixel can hide.
//!
//! The mask is computed on 2x2 blocks of pixels (a quarter of the pixels) and interpolated
//! back to pixels while the mark is added: it is smooth by design, so nothing of it is lost,
//! and the statistics behind it stay exact because each block carries the sums of its pixels'
//! luma and squared luma, not just their mean.

use ndarray::Array2;
use rayon::prelude::*;

use crate::pixels::{ImageRef, PixelLayout};

/// Side, in pixels, of the square blocks the mask is computed on.
pub(crate) const BLOCK: usize = 2;
/// Local contrast (gray levels) at which the mask is 1.
const REFERENCE_ACTIVITY: f32 = 8.0;
/// Largest mask value, reached in strong texture.
const MAX_MASK: f32 = 2.0;
/// Mean texture (mask above the floor) below which an image's texture gets more mark,
/// by `(TARGET_EXCESS / mean)^2`.
const TARGET_EXCESS: f32 = 0.33;
/// Largest boost of texture in mostly flat images.
const MAX_GAIN: f32 = 5.0;
/// Largest mask after the boost, so boosted texture never carries more than 2.5x the
/// strongest mark of an ordinary photo.
const BOOSTED_MAX: f32 = 5.0;
/// Mask on perfectly flat areas: 0.6 gray levels at the default strength, which rounds to at
/// most one level (see `embed::TILE_PEAK`).
pub(crate) const FLOOR: f32 = 0.25;
/// Block rows per unit of parallel work.
const BAND: usize = 32;

/// BT.601 luma (weights 77, 150, 29 in 256ths), rounded to a gray level, of a pixel of `CH`
/// bytes (gray, RGB or RGBA). Whole levels keep every sum below exact in `u32`.
#[inline(always)]
fn luma8<const CH: usize>(p: &[u8]) -> u32 {
    if CH == 1 {
        p[0] as u32
    } else {
        (77 * p[0] as u32 + 150 * p[1] as u32 + 29 * p[2] as u32 + 128) >> 8
    }
}

/// Adds each block's luma and squared luma over one row of pixels `px` to `bl` and `bq`.
fn add_block_row<const CH: usize>(px: &[u8], bl: &mut [u32], bq: &mut [u32]) {
    let pairs = px.chunks_exact(BLOCK * CH);
    let rest = pairs.remainder();
    let mut cells = bl.iter_mut().zip(bq.iter_mut());
    for (pair, (l, q)) in pairs.zip(&mut cells) {
        let (a, b) = (luma8::<CH>(&pair[..CH]), luma8::<CH>(&pair[CH..]));
        *l += a + b;
        *q += a * a + b * b;
    }
    if !rest.is_empty()
        && let Some((l, q)) = cells.next()
    {
        let a = luma8::<CH>(rest);
        *l += a;
        *q += a * a;
    }
}

/// The sums of `src` over the clipped window of `radius` around each element, into `out`.
fn window_sums(src: &[u32], radius: usize, out: &mut [u32]) {
    let n = src.len();
    let mut sum: u32 = src[..radius.min(n)].iter().sum();
    for (i, o) in out.iter_mut().enumerate() {
        if i + radius < n {
            sum += src[i + radius];
        }
        if i > radius {
            sum -= src[i - radius - 1];
        }
        *o = sum;
    }
}

/// Number of pixels of a `len`-pixel line in each block, per block.
fn block_counts(len: usize) -> Vec<u32> {
    (0..len.div_ceil(BLOCK))
        .map(|b| (len - b * BLOCK).min(BLOCK) as u32)
        .collect()
}

/// Sums of `counts` over the clipped window of `radius` blocks around each block.
fn window_counts(counts: &[u32], radius: usize) -> Vec<u32> {
    (0..counts.len())
        .map(|i| {
            counts[i.saturating_sub(radius)..(i + radius + 1).min(counts.len())]
                .iter()
                .sum()
        })
        .collect()
}

/// [`block_mask_in`] in fresh memory.
#[cfg(test)]
pub(crate) fn block_mask(img: &ImageRef<'_>, radius: usize) -> Array2<f32> {
    block_mask_in(img, radius, Vec::new())
}

/// The perceptual mask of an 8-bit image on its 2x2 blocks ([`BLOCK`]), ready to be
/// interpolated to pixels by [`upsampled_row`]: a `ceil(h/2) x ceil(w/2)` plane.
///
/// For each block: the standard deviation of luma over the pixels of the clipped window of
/// `radius` blocks around it (texture and edges hide the mark; flat colour fields do not),
/// computed exactly from integer sums; the quietest of the four such windows `radius` blocks
/// away diagonally (inside texture all four are busy, but on the flat side of an edge at least
/// one is flat, so the mark does not spill from edges into flat colour); that activity over
/// [`REFERENCE_ACTIVITY`], clamped to `[FLOOR, MAX_MASK]`; a boost of texture in mostly flat
/// images; and a 3x3 clipped mean so the mask itself adds no fine structure. Rows of blocks
/// are shared among threads and every value is computed on its own, so the result does not
/// depend on the thread count.
///
/// The plane is made in the memory of `buf` (whatever it holds is overwritten).
pub(crate) fn block_mask_in(img: &ImageRef<'_>, radius: usize, mut buf: Vec<f32>) -> Array2<f32> {
    let (w, h) = (img.width as usize, img.height as usize);
    let (bw, bh) = (w.div_ceil(BLOCK), h.div_ceil(BLOCK));
    buf.clear();
    buf.resize(bw * bh, 0.0);
    let mut m = match Array2::from_shape_vec((bh, bw), buf) {
        Ok(m) => m,
        // Cannot happen: the buffer has exactly bh * bw values.
        Err(_) => Array2::zeros((bh, bw)),
    };
    let Some(flat) = m.as_slice_mut() else {
        return m;
    };
    if bw == 0 || bh == 0 {
        return m;
    }
    let counts = (
        window_counts(&block_counts(w), radius),
        window_counts(&block_counts(h), radius),
    );
    // Bands of block rows, each computed from the pixels on its own (the few rows of window
    // sums and deviations its neighbours also need are computed twice): no full-size
    // intermediate plane is ever held, and there is nothing to page in.
    let excess: f64 = flat
        .par_chunks_mut(bw * BAND)
        .enumerate()
        .map_init(
            || BandScratch::new(bw, radius),
            |scratch, (band, out)| {
                let rows = band * BAND..(band * BAND + out.len() / bw);
                raw_mask_band(img, radius, &counts, rows, out, scratch)
            },
        )
        .collect::<Vec<f64>>()
        .iter()
        .sum();
    // Mostly flat artwork (logos, clip art) has little texture to hide a mark in: give its
    // texture more, up to MAX_GAIN times, while flat areas keep the floor. The square makes
    // the boost sharp: a photo (mean texture 0.66 for coffee.png) gets none, the scikit-image
    // logo (0.18) 3.4x, clip art on white (0.05 for the lighthouse) the maximum.
    let excess = (excess / (bw * bh) as f64) as f32;
    let gain = if excess > 0.0 {
        (TARGET_EXCESS / excess).powi(2).clamp(1.0, MAX_GAIN)
    } else {
        1.0
    };
    flat.par_chunks_mut(bw * BAND).for_each(|rows| {
        for v in rows {
            *v = (FLOOR + gain * (*v - FLOOR)).min(BOOSTED_MAX);
        }
    });
    // The 3x3 clipped mean, in place, band by band: each band keeps a copy of the rows just
    // outside it, taken before any band is smoothed.
    let bands = bh.div_ceil(BAND);
    let outside: Vec<RowsAround> = (0..bands)
        .map(|b| {
            let (first, end) = (b * BAND, ((b + 1) * BAND).min(bh));
            let row = |r: usize| flat[r * bw..(r + 1) * bw].to_vec();
            (first.checked_sub(1).map(row), (end < bh).then(|| row(end)))
        })
        .collect();
    flat.par_chunks_mut(bw * BAND)
        .zip(outside.par_iter())
        .for_each_init(
            || (vec![0f32; bw], vec![0f32; bw], vec![0f32; bw]),
            |(above, here, col), (band, (before, after))| {
                let n = band.len() / bw;
                let mut has_above = match before {
                    Some(r) => {
                        above.copy_from_slice(r);
                        true
                    }
                    None => false,
                };
                for k in 0..n {
                    here.copy_from_slice(&band[k * bw..(k + 1) * bw]);
                    col.copy_from_slice(here);
                    let mut n_rows = 1.0f32;
                    if has_above {
                        col.iter_mut().zip(above.iter()).for_each(|(c, v)| *c += v);
                        n_rows += 1.0;
                    }
                    let below = if k + 1 < n {
                        Some(&band[(k + 1) * bw..(k + 2) * bw])
                    } else {
                        after.as_deref()
                    };
                    if let Some(below) = below {
                        col.iter_mut().zip(below).for_each(|(c, v)| *c += v);
                        n_rows += 1.0;
                    }
                    smooth_columns(col, n_rows, &mut band[k * bw..(k + 1) * bw]);
                    std::mem::swap(above, here);
                    has_above = true;
                }
            },
        );
    m
}

/// The rows just above and just below a band, where there are such rows.
type RowsAround = (Option<Vec<f32>>, Option<Vec<f32>>);

/// The 3-tap clipped mean along a row of column sums over `n_rows` rows, into `out`.
fn smooth_columns(col: &[f32], n_rows: f32, out: &mut [f32]) {
    let bw = col.len();
    let inv_rows = 1.0 / n_rows;
    if bw == 1 {
        out[0] = col[0] * inv_rows;
        return;
    }
    let (edge, inner) = (inv_rows / 2.0, inv_rows / 3.0);
    out[0] = (col[0] + col[1]) * edge;
    for (o, c) in out[1..bw - 1].iter_mut().zip(col.windows(3)) {
        *o = (c[0] + c[1] + c[2]) * inner;
    }
    out[bw - 1] = (col[bw - 2] + col[bw - 1]) * edge;
}

/// Working rows of one band of [`block_mask`].
struct BandScratch {
    /// One block row's luma sums and squared-luma sums.
    block_l: Vec<u32>,
    block_q: Vec<u32>,
    /// Horizontal window sums of the rows the band needs.
    win_l: Vec<u32>,
    win_q: Vec<u32>,
    /// Vertical sums of one row.
    col_l: Vec<u32>,
    col_q: Vec<u32>,
    /// Standard deviations of the rows the band needs.
    sd: Vec<f32>,
    /// Per column: the columns `radius` to the left and right, clipped.
    left: Vec<usize>,
    right: Vec<usize>,
}

impl BandScratch {
    fn new(bw: usize, radius: usize) -> BandScratch {
        BandScratch {
            block_l: vec![0; bw],
            block_q: vec![0; bw],
            win_l: Vec::new(),
            win_q: Vec::new(),
            col_l: vec![0; bw],
            col_q: vec![0; bw],
            sd: Vec::new(),
            left: (0..bw).map(|x| x.saturating_sub(radius)).collect(),
            right: (0..bw).map(|x| (x + radius).min(bw - 1)).collect(),
        }
    }
}

/// Block rows `rows` of the mask before its boost and smoothing, into `out`; returns their
/// summed excess over the floor. `counts` holds the window pixel counts along x and along y.
fn raw_mask_band(
    img: &ImageRef<'_>,
    radius: usize,
    counts: &(Vec<u32>, Vec<u32>),
    rows: std::ops::Range<usize>,
    out: &mut [f32],
    s: &mut BandScratch,
) -> f64 {
    let (w, h) = (img.width as usize, img.height as usize);
    let (bw, bh) = (w.div_ceil(BLOCK), h.div_ceil(BLOCK));
    let ch = img.layout.channels();
    // Deviation rows the band's quiet windows reach, and window-sum rows those reach.
    let sd_rows = rows.start.saturating_sub(radius)..(rows.end + radius).min(bh);
    let win_rows = sd_rows.start.saturating_sub(radius)..(sd_rows.end + radius).min(bh);
    s.win_l.resize(win_rows.len() * bw, 0);
    s.win_q.resize(win_rows.len() * bw, 0);
    for (k, by) in win_rows.clone().enumerate() {
        s.block_l.fill(0);
        s.block_q.fill(0);
        for y in by * BLOCK..((by + 1) * BLOCK).min(h) {
            let px = &img.data[y * w * ch..(y + 1) * w * ch];
            match img.layout {
                PixelLayout::Gray8 => add_block_row::<1>(px, &mut s.block_l, &mut s.block_q),
                PixelLayout::Rgb8 => add_block_row::<3>(px, &mut s.block_l, &mut s.block_q),
                PixelLayout::Rgba8 => add_block_row::<4>(px, &mut s.block_l, &mut s.block_q),
            }
        }
        window_sums(&s.block_l, radius, &mut s.win_l[k * bw..(k + 1) * bw]);
        window_sums(&s.block_q, radius, &mut s.win_q[k * bw..(k + 1) * bw]);
    }
    // Vertical window sums, then the standard deviation in gray levels.
    s.sd.resize(sd_rows.len() * bw, 0.0);
    for (k, by) in sd_rows.clone().enumerate() {
        s.col_l.fill(0);
        s.col_q.fill(0);
        for r in by.saturating_sub(radius)..(by + radius + 1).min(bh) {
            let i = (r - win_rows.start) * bw;
            for (a, b) in s.col_l.iter_mut().zip(&s.win_l[i..i + bw]) {
                *a += b;
            }
            for (a, b) in s.col_q.iter_mut().zip(&s.win_q[i..i + bw]) {
                *a += b;
            }
        }
        let ny = counts.1[by] as u64;
        let sd = &mut s.sd[k * bw..(k + 1) * bw];
        for (((o, &l), &q), &nx) in sd.iter_mut().zip(&s.col_l).zip(&s.col_q).zip(&counts.0) {
            let n = nx as u64 * ny;
            // n * sum(l^2) - sum(l)^2 = n^2 var, exactly.
            let v = (n * q as u64).saturating_sub(l as u64 * l as u64);
            *o = (v as f32).sqrt() / n as f32;
        }
    }
    // The quietest diagonal window, clamped.
    let mut excess = 0f64;
    for (by, row) in rows.zip(out.chunks_exact_mut(bw)) {
        let ru = by.saturating_sub(radius) - sd_rows.start;
        let rd = (by + radius).min(bh - 1) - sd_rows.start;
        let up = &s.sd[ru * bw..(ru + 1) * bw];
        let down = &s.sd[rd * bw..(rd + 1) * bw];
        let mut row_excess = 0f32;
        for ((v, &l), &r) in row.iter_mut().zip(&s.left).zip(&s.right) {
            let quiet = up[l].min(up[r]).min(down[l]).min(down[r]);
            *v = (quiet / REFERENCE_ACTIVITY).clamp(FLOOR, MAX_MASK);
            row_excess += *v - FLOOR;
        }
        excess += row_excess as f64;
    }
    excess
}

/// Row `y` of the block mask `m` interpolated bilinearly to pixels, into `out` (one value per
/// pixel of the row): block `b`'s value sits at the centre of its pixels, `BLOCK b + 0.5`,
/// and the edges repeat the outermost blocks. `line` is scratch of one value per block.
pub(crate) fn upsampled_row(m: &Array2<f32>, y: usize, line: &mut [f32], out: &mut [f32]) {
    let (bh, bw) = m.dim();
    if bh == 0 || bw == 0 {
        return;
    }
    // Pixel y sits at block coordinate (y + 0.5) / 2 - 0.5: a quarter of a block before its
    // own block's centre when even, a quarter after when odd.
    let b = (y / BLOCK).min(bh - 1);
    let other = if y.is_multiple_of(BLOCK) {
        b.saturating_sub(1)
    } else {
        (b + 1).min(bh - 1)
    };
    let (near, far) = (m.row(b), m.row(other));
    for ((l, a), c) in line.iter_mut().zip(near.iter()).zip(far.iter()) {
        *l = 0.75 * a + 0.25 * c;
    }
    // The same along the row, two pixels (one block) at a time.
    let last_block = (out.len().saturating_sub(1) / BLOCK).min(bw - 1);
    let mut pairs = out.chunks_exact_mut(BLOCK);
    for (b, pair) in (&mut pairs).enumerate() {
        let here = 0.75 * line[b];
        pair[0] = here + 0.25 * line[b.saturating_sub(1)];
        pair[1] = here + 0.25 * line[(b + 1).min(bw - 1)];
    }
    if let Some(last) = pairs.into_remainder().first_mut() {
        let b = last_block;
        *last = 0.75 * line[b] + 0.25 * line[b.saturating_sub(1)];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(data: &[u8], w: usize, h: usize, layout: PixelLayout) -> ImageRef<'_> {
        match ImageRef::new(data, w as u32, h as u32, layout) {
            Ok(img) => img,
            Err(e) => unreachable!("{e}"),
        }
    }

    /// The definition of [`block_mask`] written out directly, in `f64`, one block at a time.
    fn reference(img: &ImageRef<'_>, radius: usize) -> Vec<Vec<f64>> {
        let (w, h) = (img.width as usize, img.height as usize);
        let ch = img.layout.channels();
        let luma = |x: usize, y: usize| {
            let p = &img.data[(y * w + x) * ch..];
            match img.layout {
                PixelLayout::Gray8 => p[0] as f64,
                _ => ((77.0 * p[0] as f64 + 150.0 * p[1] as f64 + 29.0 * p[2] as f64) / 256.0)
                    .round(),
            }
        };
        let (bw, bh) = (w.div_ceil(BLOCK), h.div_ceil(BLOCK));
        let sd = |bx: usize, by: usize| {
            let (mut n, mut s, mut q) = (0f64, 0f64, 0f64);
            for y in by.saturating_sub(radius) * BLOCK..((by + radius + 1) * BLOCK).min(h) {
                for x in bx.saturating_sub(radius) * BLOCK..((bx + radius + 1) * BLOCK).min(w) {
                    let l = luma(x, y);
                    n += 1.0;
                    s += l;
                    q += l * l;
                }
            }
            ((q / n - (s / n).powi(2)).max(0.0)).sqrt()
        };
        let mut m = vec![vec![0f64; bw]; bh];
        for (by, row) in m.iter_mut().enumerate() {
            for (bx, v) in row.iter_mut().enumerate() {
                let (u, d) = (by.saturating_sub(radius), (by + radius).min(bh - 1));
                let (l, r) = (bx.saturating_sub(radius), (bx + radius).min(bw - 1));
                let quiet = sd(l, u).min(sd(r, u)).min(sd(l, d)).min(sd(r, d));
                *v = (quiet / REFERENCE_ACTIVITY as f64).clamp(FLOOR as f64, MAX_MASK as f64);
            }
        }
        let floor = FLOOR as f64;
        let excess = m.iter().flatten().map(|v| v - floor).sum::<f64>() / (bw * bh) as f64;
        let gain = if excess > 0.0 {
            (TARGET_EXCESS as f64 / excess)
                .powi(2)
                .clamp(1.0, MAX_GAIN as f64)
        } else {
            1.0
        };
        let boosted: Vec<Vec<f64>> = m
            .iter()
            .map(|r| {
                r.iter()
                    .map(|v| (floor + gain * (v - floor)).min(BOOSTED_MAX as f64))
                    .collect()
            })
            .collect();
        (0..bh)
            .map(|by| {
                (0..bw)
                    .map(|bx| {
                        let (mut s, mut n) = (0.0, 0.0);
                        for row in &boosted[by.saturating_sub(1)..(by + 2).min(bh)] {
                            for v in &row[bx.saturating_sub(1)..(bx + 2).min(bw)] {
                                s += v;
                                n += 1.0;
                            }
                        }
                        s / n
                    })
                    .collect()
            })
            .collect()
    }

    /// Texture, a flat field, a ramp and odd sizes (partial blocks at the right and bottom).
    fn picture(w: usize, h: usize, ch: usize, seed: u64, flat_share: f64) -> Vec<u8> {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..w * h * ch)
            .map(|i| {
                let (x, y) = ((i / ch) % w, (i / ch) / w);
                if (x as f64) < flat_share * w as f64 && y < h / 2 {
                    200 // a flat field
                } else if x % 11 < 5 {
                    rng.random_range(0..255) // texture
                } else {
                    (x * 2 + y) as u8 // a ramp
                }
            })
            .collect()
    }

    #[test]
    fn block_mask_matches_its_definition() {
        // flat_share 0.95 leaves so little texture that the boost is exercised too; 150x141
        // has three bands of block rows, the last one partial.
        for (w, h, flat_share) in [
            (97usize, 61usize, 0.4),
            (64, 40, 0.95),
            (5, 3, 0.0),
            (150, 141, 0.3),
        ] {
            for layout in [PixelLayout::Rgb8, PixelLayout::Gray8, PixelLayout::Rgba8] {
                let data = picture(w, h, layout.channels(), 3, flat_share);
                let img = image(&data, w, h, layout);
                let fast = block_mask(&img, 2);
                let slow = reference(&img, 2);
                assert_eq!(fast.dim(), (h.div_ceil(2), w.div_ceil(2)));
                for ((by, bx), v) in fast.indexed_iter() {
                    let r = slow[by][bx];
                    assert!(
                        (*v as f64 - r).abs() < 1e-4,
                        "{layout:?} {w}x{h} ({bx}, {by}): {v} vs {r}"
                    );
                }
            }
        }
    }

    #[test]
    fn flat_areas_get_the_floor_and_pixel_texture_is_kept() {
        let (w, h) = (48usize, 48usize);
        let flat = vec![200u8; w * h];
        let m = block_mask(&image(&flat, w, h, PixelLayout::Gray8), 2);
        assert!(m.iter().all(|&v| (v - FLOOR).abs() < 1e-6));
        // A one-pixel checkerboard has a flat mean over every 2x2 block, but its pixels vary
        // by 20 levels: sd 20 -> 2.5 -> clamped at MAX_MASK away from the borders.
        let checker: Vec<u8> = (0..w * h)
            .map(|i| if (i % w + i / w) % 2 == 0 { 100 } else { 140 })
            .collect();
        let m = block_mask(&image(&checker, w, h, PixelLayout::Gray8), 2);
        assert!((m[(12, 12)] - MAX_MASK).abs() < 1e-5, "{}", m[(12, 12)]);
        // Texture on the left half only: the mask stays at the floor from a few pixels
        // into the flat half.
        let half: Vec<u8> = (0..w * h)
            .map(|i| if i % w < w / 2 { checker[i] } else { 120 })
            .collect();
        let m = block_mask(&image(&half, w, h, PixelLayout::Gray8), 2);
        assert!((m[(12, 4)] - MAX_MASK).abs() < 1e-5);
        for by in 0..h / 2 {
            for bx in (w / 2 + 8) / 2..w / 2 {
                assert!((m[(by, bx)] - FLOOR).abs() < 1e-6, "({bx}, {by})");
            }
        }
    }

    #[test]
    fn block_mask_does_not_depend_on_the_thread_count() {
        let (w, h) = (301usize, 257usize);
        let data = picture(w, h, 3, 5, 0.3);
        let img = image(&data, w, h, PixelLayout::Rgb8);
        let run = |threads| match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
            Ok(pool) => pool.install(|| block_mask(&img, 2)),
            Err(e) => unreachable!("{e}"),
        };
        let one = run(1);
        assert!(
            one.iter()
                .zip(run(2).iter())
                .all(|(a, b)| a.to_bits() == b.to_bits())
        );
        assert!(
            one.iter()
                .zip(run(3).iter())
                .all(|(a, b)| a.to_bits() == b.to_bits())
        );
    }

    /// Bilinear interpolation reproduces a plane that is linear in the block coordinates at
    /// every pixel whose neighbours are inside, and repeats the edge blocks outside.
    #[test]
    fn upsampling_is_bilinear_between_block_centres() {
        let (bh, bw) = (5usize, 7usize);
        let m = Array2::from_shape_fn((bh, bw), |(j, i)| 1.0 + 0.5 * i as f32 + 0.25 * j as f32);
        let (w, h) = (2 * bw - 1, 2 * bh); // an odd width: the last block is half full
        let mut line = vec![0f32; bw];
        let mut out = vec![0f32; w];
        for y in 0..h {
            upsampled_row(&m, y, &mut line, &mut out);
            for (x, v) in out.iter().enumerate() {
                let clampx = ((x as f32 + 0.5) / 2.0 - 0.5).clamp(0.0, (bw - 1) as f32);
                let clampy = ((y as f32 + 0.5) / 2.0 - 0.5).clamp(0.0, (bh - 1) as f32);
                let want = 1.0 + 0.5 * clampx + 0.25 * clampy;
                assert!((v - want).abs() < 1e-5, "({x}, {y}): {v} vs {want}");
            }
        }
    }
}
