//! Geometric synchronisation end to end: marked test images under rotations at arbitrary
//! angles, aspect changes, shear, mirrors, crops and resizes are found, and the geometry the
//! detector reports matches the transform the test applied.

use std::path::PathBuf;

use inkseal_mark::{
    DetectConfig, Detection, Detector, EmbedConfig, Embedder, ImageMut, ImageRef, Key, PixelLayout,
    TileMap, WorkId,
};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const ID: WorkId = WorkId(0x5eed_0fa1_1c0f_fee0);

fn load(name: &str) -> Result<image::RgbImage, Box<dyn std::error::Error>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(name);
    Ok(image::open(path)?.to_rgb8())
}

fn marked(img: &image::RgbImage) -> Result<image::RgbImage, Box<dyn std::error::Error>> {
    let mut out = img.clone();
    let (w, h) = out.dimensions();
    Embedder::new(&Key::public(), EmbedConfig::default())?
        .embed(ImageMut::new(&mut out, w, h, PixelLayout::Rgb8)?, ID)?;
    Ok(out)
}

fn detect(img: &image::RgbImage) -> Result<Detection, Box<dyn std::error::Error>> {
    Ok(
        Detector::new(&Key::public(), DetectConfig::default())?.detect(ImageRef::new(
            img.as_raw(),
            img.width(),
            img.height(),
            PixelLayout::Rgb8,
        )?)?,
    )
}

/// The image under the linear map `a` (screen coordinates, y down) about its centre, on a
/// `w x h` canvas, bilinear, black outside: output pixel `p` shows input `a^-1 (p - c') + c`.
fn warp(img: &image::RgbImage, a: [[f64; 2]; 2], w: u32, h: u32) -> image::RgbImage {
    let det = a[0][0] * a[1][1] - a[0][1] * a[1][0];
    let inv = [
        [a[1][1] / det, -a[0][1] / det],
        [-a[1][0] / det, a[0][0] / det],
    ];
    let (cx, cy) = (img.width() as f64 / 2.0, img.height() as f64 / 2.0);
    let (ox, oy) = (w as f64 / 2.0, h as f64 / 2.0);
    image::RgbImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (x as f64 + 0.5 - ox, y as f64 + 0.5 - oy);
        let sx = inv[0][0] * dx + inv[0][1] * dy + cx - 0.5;
        let sy = inv[1][0] * dx + inv[1][1] * dy + cy - 0.5;
        let (x0, y0) = (sx.floor(), sy.floor());
        let (fx, fy) = (sx - x0, sy - y0);
        let mut acc = [0f64; 3];
        for (ix, iy, wt) in [
            (x0, y0, (1.0 - fx) * (1.0 - fy)),
            (x0 + 1.0, y0, fx * (1.0 - fy)),
            (x0, y0 + 1.0, (1.0 - fx) * fy),
            (x0 + 1.0, y0 + 1.0, fx * fy),
        ] {
            if ix >= 0.0 && iy >= 0.0 && ix < img.width() as f64 && iy < img.height() as f64 {
                let p = img.get_pixel(ix as u32, iy as u32);
                for c in 0..3 {
                    acc[c] += wt * p[c] as f64;
                }
            }
        }
        image::Rgb(acc.map(|v| v.round().clamp(0.0, 255.0) as u8))
    })
}

/// Counter-clockwise rotation on screen by `deg` (y points down).
fn rotation(deg: f64) -> [[f64; 2]; 2] {
    let (s, c) = deg.to_radians().sin_cos();
    [[c, s], [-s, c]]
}

/// Angle difference in degrees, wrapped to [0, 180].
fn angle_gap(a: f64, b: f64) -> f64 {
    let d = (a - b).rem_euclid(360.0);
    d.min(360.0 - d)
}

struct Expect {
    rotation_deg: f64,
    scale: f64,
    aspect: f64,
    mirrored: bool,
}

fn check(name: &str, attacked: &image::RgbImage, want: Expect) -> TestResult {
    let d = detect(attacked)?;
    assert!(d.detected, "{name}: not detected (p {:.2e})", d.p_value);
    assert_eq!(d.work_id, Some(ID), "{name}");
    let g = d.geometry.ok_or("no geometry")?;
    assert!(
        angle_gap(g.rotation_deg, want.rotation_deg) < 1.0,
        "{name}: rotation {} want {}",
        g.rotation_deg,
        want.rotation_deg
    );
    assert!(
        (g.scale / want.scale - 1.0).abs() < 0.03,
        "{name}: scale {} want {}",
        g.scale,
        want.scale
    );
    assert!(
        (g.aspect / want.aspect - 1.0).abs() < 0.03,
        "{name}: aspect {} want {}",
        g.aspect,
        want.aspect
    );
    assert_eq!(g.mirrored, want.mirrored, "{name}: mirrored");
    Ok(())
}

#[test]
fn rotations_at_any_angle_are_found_and_measured() -> TestResult {
    let img = load("coffee.png")?;
    let m = marked(&img)?;
    for deg in [3.0, 30.0, -67.0, 163.0] {
        let attacked = warp(&m, rotation(deg), img.width(), img.height());
        let want = Expect {
            rotation_deg: deg,
            scale: 1.0,
            aspect: 1.0,
            mirrored: false,
        };
        check(&format!("rotate {deg}"), &attacked, want)?;
        // The same transform of the unmarked image finds nothing.
        let clean = warp(&img, rotation(deg), img.width(), img.height());
        assert!(!detect(&clean)?.detected, "unmarked rotate {deg}");
    }
    Ok(())
}

#[test]
fn aspect_changes_shear_and_mirrors_are_found_and_measured() -> TestResult {
    let img = load("flower.jpg")?;
    let m = marked(&img)?;
    let (w, h) = img.dimensions();
    // Squeezed to 80% width on a canvas of the new size.
    let squeezed = warp(&m, [[0.8, 0.0], [0.0, 1.0]], (w as f64 * 0.8) as u32, h);
    let want = Expect {
        rotation_deg: 0.0,
        // The short side (height) is unchanged; the tile shrinks on one axis only.
        scale: 0.8f64.sqrt(),
        aspect: 1.25,
        mirrored: false,
    };
    check("squeeze 0.8", &squeezed, want)?;
    // Stretched 1.2x in height, then turned 20 degrees.
    let a = {
        let r = rotation(20.0);
        [[r[0][0], r[0][1] * 1.2], [r[1][0], r[1][1] * 1.2]]
    };
    let stretched = warp(&m, a, w, (h as f64 * 1.2) as u32);
    // The short side grew by 1.2 too, so relative to it the tile keeps its width ratio.
    let want = Expect {
        rotation_deg: 20.0,
        scale: (1.0f64 / 1.2).sqrt(),
        aspect: 1.2,
        mirrored: false,
    };
    check("stretch 1.2 + rotate 20", &stretched, want)?;
    // A vertical flip is a horizontal mirror turned by 180 degrees.
    let flipped = image::imageops::flip_vertical(&m);
    let want = Expect {
        rotation_deg: 180.0,
        scale: 1.0,
        aspect: 1.0,
        mirrored: true,
    };
    check("vertical flip", &flipped, want)?;
    // Shear, as a mild perspective would.
    let sheared = warp(&m, [[1.0, 0.12], [0.0, 1.0]], w, h);
    let d = detect(&sheared)?;
    assert_eq!(d.work_id, Some(ID), "shear 0.12: p {:.2e}", d.p_value);
    Ok(())
}

#[test]
fn crops_and_whole_image_resizes_keep_the_mark() -> TestResult {
    let img = load("coffee.png")?;
    let m = marked(&img)?;
    let (w, h) = img.dimensions();
    // An off-centre crop keeping 36% of the area: the tile is 1/0.6 as large relative to
    // the short side.
    let crop = image::imageops::crop_imm(&m, 97, 41, w * 6 / 10, h * 6 / 10).to_image();
    let want = Expect {
        rotation_deg: 0.0,
        scale: 1.0 / 0.6,
        aspect: 1.0,
        mirrored: false,
    };
    check("crop 36%", &crop, want)?;
    // Resizing the whole image does not change the tile relative to the image: a quarter
    // of a large image (1411 px to 352 px) and four times a small one (to 2400x1600).
    let retina = marked(&load("retina.jpg")?)?;
    for (picture, factor) in [(&retina, 0.25), (&m, 4.0)] {
        let (pw, ph) = picture.dimensions();
        let (nw, nh) = ((pw as f64 * factor) as u32, (ph as f64 * factor) as u32);
        let resized =
            image::imageops::resize(picture, nw, nh, image::imageops::FilterType::Triangle);
        let want = Expect {
            rotation_deg: 0.0,
            scale: 1.0,
            aspect: 1.0,
            mirrored: false,
        };
        check(&format!("resize {factor}"), &resized, want)?;
    }
    Ok(())
}

#[test]
fn the_tile_map_shows_where_a_marked_picture_was_pasted() -> TestResult {
    // A marked picture pasted into a larger unmarked page.
    let coffee = marked(&load("coffee.png")?)?;
    let page = image::imageops::resize(
        &load("astronaut.png")?,
        1100,
        640,
        image::imageops::FilterType::Triangle,
    );
    let mut composite = page.clone();
    let (ox, oy) = (430u32, 120u32);
    image::imageops::replace(&mut composite, &coffee, ox as i64, oy as i64);
    let d = detect(&composite)?;
    assert_eq!(d.work_id, Some(ID), "p {:.2e}", d.p_value);
    let map: TileMap = d.tile_map.ok_or("no tile map")?;
    let (mut inside, mut inside_strong, mut outside, mut outside_strong) = (0, 0, 0, 0);
    for r in 0..map.rows {
        for c in 0..map.cols {
            let (x0, y0) = (c as f64 * map.cell_px, r as f64 * map.cell_px);
            let (x1, y1) = (x0 + map.cell_px, y0 + map.cell_px);
            let z = map.z[r * map.cols + c];
            let within = x0 >= ox as f64
                && y0 >= oy as f64
                && x1 <= (ox + coffee.width()) as f64
                && y1 <= (oy + coffee.height()) as f64;
            let apart = x1 <= ox as f64
                || y1 <= oy as f64
                || x0 >= (ox + coffee.width()) as f64
                || y0 >= (oy + coffee.height()) as f64;
            if within {
                inside += 1;
                inside_strong += usize::from(z >= TileMap::WEAK_Z);
            } else if apart {
                outside += 1;
                outside_strong += usize::from(z >= TileMap::WEAK_Z);
            }
        }
    }
    assert!(
        inside >= 4 && outside >= 8,
        "{inside} cells in, {outside} out"
    );
    assert!(
        inside_strong * 10 >= inside * 8,
        "{inside_strong} of {inside} cells inside the pasted picture show the mark"
    );
    assert!(
        outside_strong * 10 <= outside,
        "{outside_strong} of {outside} cells outside show the mark"
    );
    Ok(())
}

/// JPEG at `quality`, decoded back.
fn jpeg(img: &image::RgbImage, quality: u8) -> Result<image::RgbImage, Box<dyn std::error::Error>> {
    let mut buf = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, quality).encode_image(img)?;
    Ok(image::load_from_memory(&buf)?.to_rgb8())
}

#[test]
fn patterned_art_and_small_compressed_chains_are_found_by_the_deeper_search() -> TestResult {
    // A pattern illustration cropped: its own tiling makes the strongest lattices of the
    // autocorrelation, and the base search's few places all go to it.
    let truchet = load("art/gnome_truchet.png")?;
    let m = marked(&truchet)?;
    let (w, h) = truchet.dimensions();
    // The benchmark's crop75: the centre, 75% of the area.
    let side = 0.75f64.sqrt();
    let cut = |img: &image::RgbImage| {
        let (cw, ch) = ((w as f64 * side) as u32, (h as f64 * side) as u32);
        image::imageops::crop_imm(img, (w - cw) / 2, (h - ch) / 2, cw, ch).to_image()
    };
    let d = detect(&cut(&m))?;
    assert!(d.detected && d.p_value <= 1e-6, "truchet crop: {d:?}");
    assert_eq!(d.work_id, Some(ID));
    assert!(!detect(&cut(&truchet))?.detected);
    // Small works rotated 3 degrees, cropped to 70% of their area, scaled to 0.6 and saved
    // as JPEG 80 (about 200-320 pixels a side): the mark is too faint in the
    // autocorrelation for its lattice to be among the best few, but it is among the best
    // few dozen.
    let chain = |img: &image::RgbImage| {
        let (w, h) = img.dimensions();
        let turned = warp(img, rotation(3.0), w, h);
        let side = 0.7f64.sqrt();
        let (cw, ch) = ((w as f64 * side) as u32, (h as f64 * side) as u32);
        let cut = image::imageops::crop_imm(&turned, (w - cw) / 2, (h - ch) / 2, cw, ch).to_image();
        let small = image::imageops::resize(
            &cut,
            (cw as f64 * 0.6).round() as u32,
            (ch as f64 * 0.6).round() as u32,
            image::imageops::FilterType::Triangle,
        );
        jpeg(&small, 80)
    };
    for name in ["astronaut.png", "coffee.png"] {
        let img = load(name)?;
        let want = Expect {
            rotation_deg: 3.0,
            // The crop makes the tile larger against the short side; the resize does not.
            scale: 1.0 / 0.7f64.sqrt(),
            aspect: 1.0,
            mirrored: false,
        };
        check(&format!("{name} chain"), &chain(&marked(&img)?)?, want)?;
        assert!(!detect(&chain(&img)?)?.detected, "{name}: unmarked chain");
    }
    Ok(())
}
