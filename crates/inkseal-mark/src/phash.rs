//! A 64-bit perceptual hash (DCT hash) of an image's luma, to tell whether an image found in
//! the wild looks like a registered work even when its bytes differ (recompressed, resized).
//!
//! The luma is box-averaged onto a 32x32 grid (whatever the aspect ratio), transformed by a
//! 2-D DCT-II, and the 8x8 lowest frequencies (DC excluded from the threshold) are compared
//! with their median: one bit each. Recompression, resizing and mild filtering move few bits;
//! different pictures differ in about half. Crops and rotations change the hash: the
//! watermark, not this hash, is what survives geometry.

use crate::pixels::{ImageRef, PixelLayout};

/// Side of the grid the image is reduced to.
const GRID: usize = 32;
/// Side of the block of low frequencies that becomes the hash.
const BLOCK: usize = 8;

/// The perceptual hash of `image`.
pub fn perceptual_hash(image: ImageRef<'_>) -> u64 {
    let (w, h) = (image.width as usize, image.height as usize);
    let ch = image.layout.channels();
    let mut sum = [[0f64; GRID]; GRID];
    let mut count = [[0u32; GRID]; GRID];
    for y in 0..h {
        let gy = y * GRID / h.max(1);
        let row = &image.data[y * w * ch..(y + 1) * w * ch];
        for (x, px) in row.chunks_exact(ch).enumerate() {
            let gx = x * GRID / w.max(1);
            let v = match image.layout {
                PixelLayout::Gray8 => px[0] as f64,
                _ => 0.299 * px[0] as f64 + 0.587 * px[1] as f64 + 0.114 * px[2] as f64,
            };
            sum[gy][gx] += v;
            count[gy][gx] += 1;
        }
    }
    let mut grid = [[0f64; GRID]; GRID];
    for (g, (s, c)) in grid.iter_mut().zip(sum.iter().zip(&count)) {
        for (v, (a, n)) in g.iter_mut().zip(s.iter().zip(c)) {
            *v = if *n > 0 { a / *n as f64 } else { 0.0 };
        }
    }
    // DCT-II of rows then columns, only the BLOCK lowest frequencies.
    let basis: Vec<[f64; GRID]> = (0..BLOCK)
        .map(|k| {
            let mut b = [0f64; GRID];
            for (n, v) in b.iter_mut().enumerate() {
                *v = (std::f64::consts::PI * (n as f64 + 0.5) * k as f64 / GRID as f64).cos();
            }
            b
        })
        .collect();
    let mut rows = [[0f64; BLOCK]; GRID];
    for (r, g) in rows.iter_mut().zip(&grid) {
        for (v, b) in r.iter_mut().zip(&basis) {
            *v = g.iter().zip(b).map(|(x, c)| x * c).sum();
        }
    }
    let mut coeffs = [0f64; BLOCK * BLOCK];
    for (ky, b) in basis.iter().enumerate() {
        for kx in 0..BLOCK {
            coeffs[ky * BLOCK + kx] = rows.iter().zip(b).map(|(r, c)| r[kx] * c).sum();
        }
    }
    let mut ac: Vec<f64> = coeffs[1..].to_vec();
    ac.sort_by(f64::total_cmp);
    let median = ac[ac.len() / 2];
    coeffs
        .iter()
        .enumerate()
        .fold(0u64, |acc, (i, &c)| acc | (u64::from(c > median) << i))
}

/// Number of differing bits between two hashes (0 = same picture, ~32 = unrelated).
pub fn hash_distance(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn picture(w: usize, h: usize, seed: u32) -> Vec<u8> {
        (0..w * h)
            .map(|i| {
                let (x, y) = ((i % w) as f64 / w as f64, (i / w) as f64 / h as f64);
                let s = seed as f64;
                (127.0
                    + 60.0 * (6.0 * x + s).sin() * (4.0 * y * (1.0 + s / 3.0)).cos()
                    + 40.0 * (9.0 * x * y + s).cos()) as u8
            })
            .collect()
    }

    fn hash(data: &[u8], w: usize, h: usize) -> u64 {
        match ImageRef::new(data, w as u32, h as u32, PixelLayout::Gray8) {
            Ok(img) => perceptual_hash(img),
            Err(e) => unreachable!("{e}"),
        }
    }

    #[test]
    fn resizing_keeps_the_hash_and_other_pictures_differ() {
        let a = picture(300, 200, 1);
        let small = picture(150, 100, 1);
        let other = picture(300, 200, 7);
        let (ha, hs, ho) = (
            hash(&a, 300, 200),
            hash(&small, 150, 100),
            hash(&other, 300, 200),
        );
        assert!(
            hash_distance(ha, hs) <= 4,
            "resize moved {}",
            hash_distance(ha, hs)
        );
        assert!(
            hash_distance(ha, ho) >= 16,
            "different pictures {}",
            hash_distance(ha, ho)
        );
    }

    #[test]
    fn noise_moves_few_bits() {
        let a = picture(256, 256, 3);
        let noisy: Vec<u8> = a
            .iter()
            .enumerate()
            .map(|(i, &v)| v.saturating_add(((i * 7919) % 9) as u8).saturating_sub(4))
            .collect();
        assert!(hash_distance(hash(&a, 256, 256), hash(&noisy, 256, 256)) <= 4);
    }
}
