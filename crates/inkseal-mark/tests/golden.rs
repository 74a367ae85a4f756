//! Golden vectors of the mark's format (`org.inkseal.mark.1`): the published key's ID and a
//! small image marked by the first release, with its exact detection. A change to the tile,
//! the payload code, the key streams or the detector that would orphan published marks fails
//! here on purpose; a deliberate new format gets a new `ALGORITHM` version and a new vector,
//! and the old vectors stay (old marks must still be read, or the docs must say they are not).

use inkseal_mark::{DetectConfig, Detector, ImageRef, Key, PixelLayout, WorkId};

type TestResult = Result<(), Box<dyn std::error::Error>>;

#[test]
fn the_published_key_keeps_its_id() {
    assert_eq!(Key::public().id(), "b35b3f371ec9fe38");
}

/// Reads a golden image and checks its detection against the figures recorded when it was
/// made: `p_max` and `z_min` an order of magnitude of evidence below them, `bits_min` a few
/// coded bits below.
fn read_golden(file: &str, p_max: f64, z_min: f64, bits_min: u32) -> TestResult {
    let img = image::open(format!(
        "{}/tests/golden/{file}",
        env!("CARGO_MANIFEST_DIR")
    ))?
    .to_rgb8();
    let (w, h) = img.dimensions();
    let view = ImageRef::new(img.as_raw(), w, h, PixelLayout::Rgb8)?;
    let mut det = Detector::new(&Key::public(), DetectConfig::default())?;
    let d = det.detect(view)?;
    assert!(d.detected, "{file}: {d:?}");
    assert_eq!(d.work_id, Some(WorkId(0x0123_4567_89ab_cdef)), "{file}");
    assert!(d.p_value < p_max, "{file}: p = {:e}", d.p_value);
    assert!(d.sync_z > z_min, "{file}: z = {}", d.sync_z);
    let g = d.geometry.ok_or("no geometry")?;
    assert!(
        g.rotation_deg.abs() < 0.5 && (g.scale - 1.0).abs() < 0.02 && !g.mirrored,
        "{g:?}"
    );
    let v = det.verify(view, WorkId(0x0123_4567_89ab_cdef))?;
    assert!(v.verified);
    assert_eq!(v.total_bits, 516);
    assert!(
        v.matching_bits >= bits_min,
        "{file}: {} of 516",
        v.matching_bits
    );
    // An unrelated ID is not this mark. (An ID one bit away shares ~80% of the codeword, so
    // `verify` accepts it too: the known-work test is against chance, not against neighbours.)
    let other = det.verify(view, WorkId(0xfedc_ba98_7654_3210))?;
    assert!(!other.verified, "{other:?}");
    Ok(())
}

/// `v1_coffee_240x160.png`: coffee.png resized to 240x160 (Lanczos 3), marked with work ID
/// 0123456789abcdef by the published key at the default strength by the first release's
/// embedder (commit fb0f0d7, activity mask; `examples/make_golden.rs`). Recorded: p 4.78e-55,
/// sync z 15.65, 495 of 516 coded bits. The detector may improve, but losing an order of
/// magnitude of evidence on a clean, published mark is a format regression.
#[test]
fn a_first_release_mark_is_read_exactly() -> TestResult {
    read_golden("v1_coffee_240x160.png", 1e-40, 14.0, 490)
}

/// `v1_perceptual_coffee_240x160.png`: the same picture and ID marked by the perceptual
/// embedder (SSIMULACRA2 target 86, commit after c41c433). The embedder changed, the format
/// did not (same tile layout, code and synchronisation), so the algorithm is still
/// `org.inkseal.mark.1`. Recorded: p 7.86e-51, sync z 15.02, 491 of 516 coded bits.
#[test]
fn a_perceptual_mark_is_read_exactly() -> TestResult {
    read_golden("v1_perceptual_coffee_240x160.png", 1e-40, 13.5, 485)
}
