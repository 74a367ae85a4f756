//! The attacks of `shared/attacks.md`, as pure functions on 8-bit RGB images.
//!
//! Choices where the list leaves room: downscaling uses Lanczos3 (what PIL-based scrapers and
//! img2dataset use), upscaling CatmullRom; sizes round to the nearest pixel; rotation is
//! bilinear about the centre on the original canvas (the same as expanding the canvas and
//! cropping back to the original size), filling uncovered corners with black; 90° is exact
//! (`rotate90`, so a non-square canvas becomes H×W); contrast pivots on the image's mean
//! luma; saturation blends each pixel toward its BT.601 luma; JPEG is 4:2:0 (jpeg-encoder);
//! WebP is libwebp lossy; noise is seeded, so every run sees the same pixels.

use image::imageops::{self, FilterType};
use image::{Rgb, RgbImage};
use imageproc::geometric_transformations::{
    Border, Interpolation, Projection, rotate_about_center, warp,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// One attack: a name, its family and target from `attacks.md`, and what it does.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Attack {
    /// Short name, as printed in the table.
    pub name: &'static str,
    /// Family, as in `attacks.md`.
    pub family: &'static str,
    /// Required share of images recovered exactly (1.0 or 0.9).
    pub target: f64,
    /// Whether it changes the image's geometry (crops, rotations, mirrors, aspect, shear).
    pub geometric: bool,
    kind: Kind,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    None,
    Jpeg(u8),
    Webp(f32),
    Scale(f64),
    CentreCrop(f64),
    CropRight(f64),
    Rotate(f32),
    Rotate90,
    FlipH,
    Blur(f32),
    Noise(f64),
    Median,
    Brightness(f32),
    Contrast(f32),
    Gamma(f32),
    Saturation(f32),
    Gray,
    Social,
    Training(u32),
    Aspect(f64),
    Shear(f32),
    RotateCrop(f32, f64),
}

const fn attack(name: &'static str, family: &'static str, target: f64, kind: Kind) -> Attack {
    let geometric = matches!(
        kind,
        Kind::CentreCrop(_)
            | Kind::CropRight(_)
            | Kind::Rotate(_)
            | Kind::Rotate90
            | Kind::FlipH
            | Kind::Aspect(_)
            | Kind::Shear(_)
            | Kind::RotateCrop(..)
    );
    Attack {
        name,
        family,
        target,
        geometric,
        kind,
    }
}

/// Every attack of `attacks.md`, in its order.
pub const ALL: &[Attack] = &[
    attack("none", "none", 1.0, Kind::None),
    attack("jpeg90", "compression", 1.0, Kind::Jpeg(90)),
    attack("jpeg75", "compression", 1.0, Kind::Jpeg(75)),
    attack("jpeg50", "compression", 1.0, Kind::Jpeg(50)),
    attack("webp80", "compression", 1.0, Kind::Webp(80.0)),
    attack("jpeg30", "compression, hard", 0.9, Kind::Jpeg(30)),
    attack("webp50", "compression, hard", 0.9, Kind::Webp(50.0)),
    attack("down0.5", "scaling", 1.0, Kind::Scale(0.5)),
    attack("up2", "scaling", 1.0, Kind::Scale(2.0)),
    attack("down0.25", "scaling, hard", 0.9, Kind::Scale(0.25)),
    attack("crop75", "cropping", 1.0, Kind::CentreCrop(0.75)),
    attack("crop50", "cropping", 1.0, Kind::CentreCrop(0.5)),
    attack("cropside10", "cropping", 1.0, Kind::CropRight(0.1)),
    attack("crop25", "cropping, hard", 0.9, Kind::CentreCrop(0.25)),
    attack("rot1", "rotation", 1.0, Kind::Rotate(1.0)),
    attack("rot5", "rotation", 1.0, Kind::Rotate(5.0)),
    attack("rot15", "rotation", 1.0, Kind::Rotate(15.0)),
    attack("rot45", "rotation", 1.0, Kind::Rotate(45.0)),
    attack("rot90", "rotation", 1.0, Kind::Rotate90),
    attack("flip", "mirror", 1.0, Kind::FlipH),
    attack("blur1", "filtering", 1.0, Kind::Blur(1.0)),
    attack("noise5", "filtering", 1.0, Kind::Noise(5.0)),
    attack("median3", "filtering", 1.0, Kind::Median),
    attack("blur2", "filtering, hard", 0.9, Kind::Blur(2.0)),
    attack("noise10", "filtering, hard", 0.9, Kind::Noise(10.0)),
    attack("bright1.3", "colour", 1.0, Kind::Brightness(1.3)),
    attack("contrast0.7", "colour", 1.0, Kind::Contrast(0.7)),
    attack("gamma0.8", "colour", 1.0, Kind::Gamma(0.8)),
    attack("sat0.5", "colour", 1.0, Kind::Saturation(0.5)),
    attack("gray", "colour", 1.0, Kind::Gray),
    attack("social", "social upload", 1.0, Kind::Social),
    attack("train512", "training pipeline", 1.0, Kind::Training(512)),
    attack(
        "train256",
        "training pipeline, small",
        0.9,
        Kind::Training(256),
    ),
];

/// Geometric attacks beyond `attacks.md` that the synchronisation is built for (issue 3:
/// aspect change up to 25%, shear from mild perspective, combinations). Same table format;
/// the target is the goal, not a requirement of `attacks.md`.
pub const EXTRA: &[Attack] = &[
    attack("aspect1.25", "extra: aspect", 1.0, Kind::Aspect(1.25)),
    attack("aspect0.8", "extra: aspect", 1.0, Kind::Aspect(0.8)),
    attack("shear0.1", "extra: shear", 1.0, Kind::Shear(0.1)),
    attack(
        "rot30crop50",
        "extra: rotation + crop",
        1.0,
        Kind::RotateCrop(30.0, 0.5),
    ),
];

impl Attack {
    /// Looks an attack up by name.
    pub fn by_name(name: &str) -> Option<Attack> {
        ALL.iter().chain(EXTRA).copied().find(|a| a.name == name)
    }

    /// Whether the attack applies to an image of this size (0.25× only for short side ≥ 1000).
    pub fn applies_to(&self, img: &RgbImage) -> bool {
        match self.kind {
            Kind::Scale(s) if s < 0.5 => img.width().min(img.height()) >= 1000,
            _ => true,
        }
    }

    /// Applies the attack. `seed` makes noise reproducible.
    pub fn apply(&self, img: &RgbImage, seed: u64) -> RgbImage {
        match self.kind {
            Kind::None => img.clone(),
            Kind::Jpeg(q) => jpeg(img, q),
            Kind::Webp(q) => webp(img, q),
            Kind::Scale(s) => scale(img, s),
            Kind::CentreCrop(area) => centre_crop(img, area.sqrt()),
            Kind::CropRight(frac) => {
                let w = ((img.width() as f64 * (1.0 - frac)).round() as u32).max(1);
                imageops::crop_imm(img, 0, 0, w, img.height()).to_image()
            }
            Kind::Rotate(deg) => rotate_about_center(
                img,
                deg.to_radians(),
                Interpolation::Bilinear,
                Border::Constant(Rgb([0, 0, 0])),
            ),
            Kind::Rotate90 => imageops::rotate90(img),
            Kind::FlipH => imageops::flip_horizontal(img),
            Kind::Blur(sigma) => imageproc::filter::gaussian_blur_f32(img, sigma),
            Kind::Noise(sigma) => noise(img, sigma, seed),
            Kind::Median => imageproc::filter::median_filter(img, 1, 1),
            Kind::Brightness(f) => map_channels(img, |v| v * f),
            Kind::Contrast(f) => {
                let mean = mean_luma(img);
                map_channels(img, |v| mean + (v - mean) * f)
            }
            Kind::Gamma(g) => map_channels(img, |v| 255.0 * (v / 255.0).powf(g)),
            Kind::Saturation(f) => map_pixels(img, |[r, g, b]| {
                let y = luma(r, g, b);
                [r, g, b].map(|c| y + (c - y) * f)
            }),
            Kind::Gray => map_pixels(img, |[r, g, b]| [luma(r, g, b); 3]),
            Kind::Social => {
                let long = img.width().max(img.height());
                let s = if long > 1080 {
                    1080.0 / long as f64
                } else {
                    0.5
                };
                jpeg(&scale(img, s), 75)
            }
            Kind::Aspect(f) => {
                let w = ((img.width() as f64 * f).round() as u32).max(1);
                imageops::resize(img, w, img.height(), FilterType::Lanczos3)
            }
            Kind::Shear(k) => {
                // x' = x + k (y - centre): a parallelogram on the same canvas, black outside.
                let cy = img.height() as f32 / 2.0;
                match Projection::from_matrix([1.0, k, -k * cy, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]) {
                    Some(p) => warp(
                        img,
                        p,
                        Interpolation::Bilinear,
                        Border::Constant(Rgb([0, 0, 0])),
                    ),
                    None => img.clone(),
                }
            }
            Kind::RotateCrop(deg, area) => {
                let rotated = rotate_about_center(
                    img,
                    deg.to_radians(),
                    Interpolation::Bilinear,
                    Border::Constant(Rgb([0, 0, 0])),
                );
                centre_crop(&rotated, area.sqrt())
            }
            Kind::Training(side) => {
                let short = img.width().min(img.height());
                let resized = scale(img, side as f64 / short as f64);
                jpeg(&centre_crop_to(&resized, side, side), 95)
            }
        }
    }
}

fn luma(r: f32, g: f32, b: f32) -> f32 {
    0.299 * r + 0.587 * g + 0.114 * b
}

fn mean_luma(img: &RgbImage) -> f32 {
    let sum: f64 = img
        .pixels()
        .map(|p| luma(p[0] as f32, p[1] as f32, p[2] as f32) as f64)
        .sum();
    (sum / (img.width() as f64 * img.height() as f64).max(1.0)) as f32
}

fn to_u8(v: f32) -> u8 {
    v.round().clamp(0.0, 255.0) as u8
}

fn map_channels(img: &RgbImage, f: impl Fn(f32) -> f32) -> RgbImage {
    map_pixels(img, |px| px.map(&f))
}

fn map_pixels(img: &RgbImage, f: impl Fn([f32; 3]) -> [f32; 3]) -> RgbImage {
    let mut out = img.clone();
    for p in out.pixels_mut() {
        let v = f([p[0] as f32, p[1] as f32, p[2] as f32]);
        *p = Rgb(v.map(to_u8));
    }
    out
}

/// JPEG at `quality` with 4:2:0 chroma subsampling, decoded back.
pub fn jpeg(img: &RgbImage, quality: u8) -> RgbImage {
    let mut buf = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut buf, quality);
    enc.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_2_0);
    // Box-average each 2x2 chroma block, as libjpeg (PIL, browsers) does; the crate's
    // default takes the top-left sample.
    enc.set_chroma_subsampling_method(jpeg_encoder::ChromaSubsamplingMethod::Average);
    let (w, h) = (img.width() as u16, img.height() as u16);
    match enc.encode(img.as_raw(), w, h, jpeg_encoder::ColorType::Rgb) {
        Ok(()) => decode(&buf).unwrap_or_else(|| img.clone()),
        Err(_) => img.clone(),
    }
}

/// Lossy WebP at `quality`, decoded back.
pub fn webp(img: &RgbImage, quality: f32) -> RgbImage {
    let data = webp::Encoder::from_rgb(img.as_raw(), img.width(), img.height()).encode(quality);
    decode(&data).unwrap_or_else(|| img.clone())
}

fn decode(bytes: &[u8]) -> Option<RgbImage> {
    image::load_from_memory(bytes).ok().map(|i| i.to_rgb8())
}

/// Resizes by `s` on both axes, rounding sizes to the nearest pixel.
pub fn scale(img: &RgbImage, s: f64) -> RgbImage {
    let w = ((img.width() as f64 * s).round() as u32).max(1);
    let h = ((img.height() as f64 * s).round() as u32).max(1);
    let filter = if s < 1.0 {
        FilterType::Lanczos3
    } else {
        FilterType::CatmullRom
    };
    imageops::resize(img, w, h, filter)
}

fn centre_crop(img: &RgbImage, side_factor: f64) -> RgbImage {
    let w = ((img.width() as f64 * side_factor).round() as u32).max(1);
    let h = ((img.height() as f64 * side_factor).round() as u32).max(1);
    centre_crop_to(img, w, h)
}

fn centre_crop_to(img: &RgbImage, w: u32, h: u32) -> RgbImage {
    let (w, h) = (w.min(img.width()), h.min(img.height()));
    let x = (img.width() - w) / 2;
    let y = (img.height() - h) / 2;
    imageops::crop_imm(img, x, y, w, h).to_image()
}

fn noise(img: &RgbImage, sigma: f64, seed: u64) -> RgbImage {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = img.clone();
    if let Ok(normal) = Normal::new(0.0, sigma) {
        for v in out.iter_mut() {
            *v = to_u8(*v as f32 + normal.sample(&mut rng) as f32);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
        })
    }

    fn size(name: &str, img: &RgbImage) -> (u32, u32) {
        Attack::by_name(name)
            .map(|a| a.apply(img, 1).dimensions())
            .unwrap_or((0, 0))
    }

    #[test]
    fn geometry_of_resizing_cropping_and_pipelines() {
        let wide = gradient(1920, 1080);
        let small = gradient(600, 400);
        assert_eq!(size("social", &wide), (1080, 608)); // 1080 * 1080 / 1920 = 607.5
        assert_eq!(size("social", &small), (300, 200));
        assert_eq!(size("train512", &wide), (512, 512));
        assert_eq!(size("train256", &small), (256, 256));
        assert_eq!(size("down0.5", &small), (300, 200));
        assert_eq!(size("up2", &small), (1200, 800));
        assert_eq!(size("crop50", &small), (424, 283)); // sqrt(0.5) = 0.7071
        assert_eq!(size("crop25", &small), (300, 200));
        assert_eq!(size("cropside10", &small), (540, 400));
        assert_eq!(size("rot5", &small), (600, 400));
        assert_eq!(size("rot90", &small), (400, 600));
    }

    #[test]
    fn quarter_scale_applies_only_to_large_images() {
        let a = Attack::by_name("down0.25");
        assert_eq!(a.map(|a| a.applies_to(&gradient(1200, 1000))), Some(true));
        assert_eq!(a.map(|a| a.applies_to(&gradient(1200, 999))), Some(false));
    }

    #[test]
    fn flip_twice_is_identity_and_gray_is_gray() {
        let img = gradient(64, 48);
        let flip = Attack::by_name("flip").map(|a| a.apply(&a.apply(&img, 0), 0));
        assert_eq!(flip.as_ref(), Some(&img));
        let gray = Attack::by_name("gray").map(|a| a.apply(&img, 0));
        assert!(gray.is_some_and(|g| g.pixels().all(|p| p[0] == p[1] && p[1] == p[2])));
    }

    #[test]
    fn noise_is_seeded_and_colour_maps_do_what_they_say() {
        let img = gradient(64, 48);
        let n = Attack::by_name("noise5");
        let (a, b) = (n.map(|n| n.apply(&img, 3)), n.map(|n| n.apply(&img, 3)));
        assert_eq!(a, b);
        assert_ne!(a, n.map(|n| n.apply(&img, 4)));
        let two = RgbImage::from_fn(2, 1, |x, _| Rgb([if x == 0 { 100 } else { 200 }; 3]));
        let bright = Attack::by_name("bright1.3").map(|a| a.apply(&two, 0));
        // 100 * 1.3 = 130; 200 * 1.3 = 260 clips at 255.
        let px = bright.map(|b| (b.get_pixel(0, 0)[0], b.get_pixel(1, 0)[0]));
        assert_eq!(px, Some((130, 255)));
        let gamma = Attack::by_name("gamma0.8").map(|a| a.apply(&img, 0).get_pixel(10, 0)[0]);
        // 255 * (10/255)^0.8 = 19.0
        assert_eq!(gamma, Some(19));
    }

    #[test]
    fn lossy_codecs_change_pixels_but_stay_close() {
        let img = gradient(128, 96);
        for name in ["jpeg50", "webp80"] {
            let out = Attack::by_name(name).map(|a| a.apply(&img, 0));
            let out = out.unwrap_or_else(|| img.clone());
            assert_ne!(out, img, "{name} changed nothing");
            let psnr = crate::quality::psnr(&img, &out);
            assert!(psnr > 25.0, "{name}: {psnr}");
        }
    }
}
