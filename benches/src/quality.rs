//! Image quality metrics: PSNR over RGB, SSIM on luma, and SSIMULACRA2 (the perceptual metric
//! used to tune JPEG XL and AVIF; 90 is visually lossless, 70 high quality, 50 medium).

use image::RgbImage;

/// PSNR in dB over all RGB samples (peak 255); infinite for identical images.
pub fn psnr(a: &RgbImage, b: &RgbImage) -> f64 {
    let n = a.as_raw().len().max(1) as f64;
    let se: f64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| (x as f64 - y as f64).powi(2))
        .sum();
    if se == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0f64.powi(2) / (se / n)).log10()
    }
}

fn luma_plane(img: &RgbImage) -> Vec<f64> {
    img.pixels()
        .map(|p| 0.299 * p[0] as f64 + 0.587 * p[1] as f64 + 0.114 * p[2] as f64)
        .collect()
}

/// Mean SSIM (Wang et al. 2004) on BT.601 luma with an 11×11 Gaussian window (σ 1.5),
/// C1 = (0.01·255)², C2 = (0.03·255)², over every window that fits inside the image.
pub fn ssim(a: &RgbImage, b: &RgbImage) -> f64 {
    let (w, h) = (a.width() as usize, a.height() as usize);
    if w < 11 || h < 11 || a.dimensions() != b.dimensions() {
        return if a == b { 1.0 } else { 0.0 };
    }
    let (x, y) = (luma_plane(a), luma_plane(b));
    let g: Vec<f64> = (0..11)
        .map(|i| (-((i as f64 - 5.0).powi(2)) / (2.0 * 1.5 * 1.5)).exp())
        .collect();
    let gs: f64 = g.iter().sum();
    let g: Vec<f64> = g.iter().map(|v| v / gs).collect();
    // Separable Gaussian filter, valid region only.
    let filter = |src: &[f64]| -> Vec<f64> {
        let (ow, oh) = (w - 10, h - 10);
        let mut mid = vec![0.0; ow * h];
        for r in 0..h {
            for c in 0..ow {
                mid[r * ow + c] = (0..11).map(|k| g[k] * src[r * w + c + k]).sum();
            }
        }
        let mut out = vec![0.0; ow * oh];
        for r in 0..oh {
            for c in 0..ow {
                out[r * ow + c] = (0..11).map(|k| g[k] * mid[(r + k) * ow + c]).sum();
            }
        }
        out
    };
    let mx = filter(&x);
    let my = filter(&y);
    let xx = filter(&x.iter().map(|v| v * v).collect::<Vec<_>>());
    let yy = filter(&y.iter().map(|v| v * v).collect::<Vec<_>>());
    let xy = filter(&x.iter().zip(&y).map(|(a, b)| a * b).collect::<Vec<_>>());
    let (c1, c2) = ((0.01f64 * 255.0).powi(2), (0.03f64 * 255.0).powi(2));
    let n = mx.len() as f64;
    (0..mx.len())
        .map(|i| {
            let (ma, mb) = (mx[i], my[i]);
            let (va, vb, cov) = (xx[i] - ma * ma, yy[i] - mb * mb, xy[i] - ma * mb);
            ((2.0 * ma * mb + c1) * (2.0 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2))
        })
        .sum::<f64>()
        / n
}

/// SSIMULACRA2 of `distorted` against `reference` (both sRGB), by the rust-av `ssimulacra2`
/// crate through [`inkseal_mark::ssimulacra2`]: 100 for identical images, 90 visually
/// lossless, 70 high quality, 50 medium; NaN when the sizes differ or an image is under 8x8.
pub fn ssimulacra2(reference: &RgbImage, distorted: &RgbImage) -> f64 {
    match (crate::rgb_view(reference), crate::rgb_view(distorted)) {
        (Ok(a), Ok(b)) => inkseal_mark::ssimulacra2(a, b).unwrap_or(f64::NAN),
        _ => f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    fn texture(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            let v = ((x * 7 + y * 13) % 97 + 80) as u8;
            Rgb([v, v, v])
        })
    }

    #[test]
    fn psnr_of_identical_is_infinite_and_of_unit_offset_is_48_13_db() {
        let a = texture(32, 32);
        assert!(psnr(&a, &a).is_infinite());
        let b = RgbImage::from_fn(32, 32, |x, y| {
            let p = a.get_pixel(x, y);
            Rgb([p[0] + 1, p[1] + 1, p[2] + 1])
        });
        // MSE 1: 10 log10(255^2) = 20 log10(255) = 48.1308 dB.
        assert!((psnr(&a, &b) - 48.1308).abs() < 1e-3);
    }

    #[test]
    fn ssim_is_one_for_identical_and_drops_under_strong_noise() {
        let a = texture(64, 64);
        assert!((ssim(&a, &a) - 1.0).abs() < 1e-12);
        let noisy = RgbImage::from_fn(64, 64, |x, y| {
            let p = a.get_pixel(x, y)[0] as i32;
            let n = if (x * 31 + y * 17) % 2 == 0 { 40 } else { -40 };
            let v = (p + n).clamp(0, 255) as u8;
            Rgb([v, v, v])
        });
        assert!(ssim(&a, &noisy) < 0.9);
        // A constant offset keeps structure: SSIM stays high but below 1.
        let shifted = RgbImage::from_fn(64, 64, |x, y| {
            let v = a.get_pixel(x, y)[0] + 2;
            Rgb([v, v, v])
        });
        let s = ssim(&a, &shifted);
        assert!(s > 0.99 && s < 1.0, "{s}");
    }
}
