//! Issue 13: detection of marked images under one attack, with the time each took, the p-value,
//! the marked area and the geometry.
//!
//! `cargo run --release -p inkseal-benches --example region_probe -- ATTACK IMAGE...`
//! (`none` for the images as they are; `INKSEAL_NO_REGIONS=1` to search whole images only).
use inkseal_benches::attacks::Attack;
use inkseal_benches::rgb_view;
use inkseal_mark::{DetectConfig, Detector, Key};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let attack = Attack::by_name(&args[0]).ok_or("attack")?;
    let key = Key::public();
    // INKSEAL_NO_REGIONS=1: search whole images only.
    let regions = std::env::var("INKSEAL_NO_REGIONS").is_err();
    let mut det = Detector::new(&key, DetectConfig::default().with_regions(regions))?;
    for path in &args[1..] {
        let marked = image::open(path)?.to_rgb8();
        let truth = det.detect(rgb_view(&marked)?)?.work_id;
        let img = attack.apply(&marked, 7);
        let t = std::time::Instant::now();
        let d = det.detect(rgb_view(&img)?)?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        println!(
            "{:36} {}x{} ok={} p={:.1e} z={:.1} {:.0}ms region={:?} geom={:?}",
            path.rsplit('/').next().unwrap_or(path),
            img.width(),
            img.height(),
            d.work_id == truth && truth.is_some(),
            d.p_value,
            d.sync_z,
            ms,
            d.region.map(|r| (r.x, r.y, r.width, r.height)),
            d.geometry.map(|g| (g.scale, g.aspect, g.rotation_deg))
        );
    }
    Ok(())
}
