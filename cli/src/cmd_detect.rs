//! `inkseal detect`: look for marks in each input and report them one per line.

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use inkseal_mark::{
    Analysis, DetectConfig, Detection, Detector, Geometry, Region, TileMap, WorkTest,
};
use serde::Serialize;

use inkseal_core::image::{self, DecodeOptions};

use crate::Outcome;
use crate::opts::DetectOpts;
use crate::{cmd_key, output};

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Record<'a> {
    Detection {
        path: String,
        detected: bool,
        work_id: Option<String>,
        p_value: f64,
        sync_z: f64,
        key_id: &'a str,
        /// Why nothing was searched (for example a tiny image), if that is the case.
        note: Option<&'a str>,
        /// How the image was transformed since marking; null unless detected.
        geometry: Option<GeometryRecord>,
        /// Where in the image the mark was found; null unless detected.
        tile_map: Option<TileMapRecord>,
        /// The marked area's bounding box in image pixels (the whole image when the work
        /// fills it); null unless detected.
        region: Option<RegionRecord>,
        /// The known-work test (`--work`), when asked for.
        #[serde(skip_serializing_if = "Option::is_none")]
        work_test: Option<WorkTestRecord>,
    },
}

/// [`WorkTest`] as printed.
#[derive(Serialize)]
struct WorkTestRecord {
    work_id: String,
    present: bool,
    p_value: f64,
    z_at_pilot: f64,
    z_searched: f64,
    /// Another work ID decoded blindly in the image, which makes `present` false.
    other_work: Option<String>,
}

impl From<&WorkTest> for WorkTestRecord {
    fn from(t: &WorkTest) -> Self {
        WorkTestRecord {
            work_id: t.work_id.to_string(),
            present: t.present,
            p_value: t.p_value,
            z_at_pilot: round_to(t.z_at_pilot, 2),
            z_searched: round_to(t.z_searched, 2),
            other_work: t.other_work.map(|id| id.to_string()),
        }
    }
}

/// [`Geometry`] as printed: rounded so the record stays short and stable.
#[derive(Serialize)]
pub struct GeometryRecord {
    rotation_deg: f64,
    scale: f64,
    aspect: f64,
    mirrored: bool,
}

impl From<&Geometry> for GeometryRecord {
    fn from(g: &Geometry) -> Self {
        GeometryRecord {
            rotation_deg: round_rotation(g.rotation_deg, 2),
            scale: round_to(g.scale, 3),
            aspect: round_to(g.aspect, 3),
            mirrored: g.mirrored,
        }
    }
}

/// [`TileMap`] as printed: one string per row of cells, `#` strong, `+` weak, `.` none.
#[derive(Serialize)]
struct TileMapRecord {
    rows: usize,
    cols: usize,
    cell_px: f64,
    grid: Vec<String>,
}

impl From<&TileMap> for TileMapRecord {
    fn from(m: &TileMap) -> Self {
        TileMapRecord {
            rows: m.rows,
            cols: m.cols,
            cell_px: round_to(m.cell_px, 2),
            grid: m.grid(),
        }
    }
}

/// [`Region`] as printed.
#[derive(Serialize)]
struct RegionRecord {
    x: u32,
    y: u32,
    width: u32,
    height: u32,
}

impl From<&Region> for RegionRecord {
    fn from(r: &Region) -> Self {
        RegionRecord {
            x: r.x,
            y: r.y,
            width: r.width,
            height: r.height,
        }
    }
}

/// An angle in (-180, 180] rounded to `decimals` places, still in (-180, 180].
fn round_rotation(deg: f64, decimals: i32) -> f64 {
    let r = round_to(deg, decimals);
    if r <= -180.0 { r + 360.0 } else { r }
}

/// `x` rounded to `decimals` places, without a negative zero.
fn round_to(x: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (x * f).round() / f + 0.0
}

/// Runs `inkseal detect`.
pub fn run(opts: &DetectOpts) -> Result<Outcome> {
    let key = cmd_key::load(opts.key.as_deref())?;
    let key_id = key.id();
    let mut detector = Detector::new(&key, DetectConfig::default().with_regions(!opts.no_regions))?;
    let mut out = std::io::stdout().lock();
    let (mut any_missing, mut any_error) = (false, false);
    for path in &opts.inputs {
        match detect_one(&mut detector, path, opts.work) {
            Ok((found, test)) => {
                any_missing |= match &test {
                    Some(t) => !t.present,
                    None => !found.detected,
                };
                print_detection(&mut out, opts.json, path, &found, test.as_ref(), &key_id)?;
            }
            Err(err) => {
                any_error = true;
                output::file_error(&mut out, opts.json, path, &err)?;
            }
        }
    }
    out.flush()?;
    Ok(Outcome::of(any_error, any_missing))
}

fn detect_one(
    detector: &mut Detector,
    path: &Path,
    work: Option<inkseal_mark::WorkId>,
) -> Result<(Detection, Option<WorkTest>)> {
    let picture = image::decode_path(path, &DecodeOptions::for_detection())?;
    let analysis = Analysis::new(picture.view()?, detector.config())?;
    let found = detector.detect_analysis(&analysis);
    let test = work.map(|id| detector.test_work_after(&analysis, &found, id));
    Ok((found, test))
}

fn print_detection(
    out: &mut impl Write,
    json: bool,
    path: &Path,
    found: &Detection,
    test: Option<&WorkTest>,
    key_id: &str,
) -> Result<()> {
    if json {
        let record = Record::Detection {
            path: output::json_path(path),
            detected: found.detected,
            work_id: found.work_id.map(|id| id.to_string()),
            p_value: found.p_value,
            sync_z: found.sync_z,
            key_id,
            note: found.note.as_deref(),
            geometry: found.geometry.as_ref().map(GeometryRecord::from),
            tile_map: found.tile_map.as_ref().map(TileMapRecord::from),
            region: found.region.as_ref().map(RegionRecord::from),
            work_test: test.map(WorkTestRecord::from),
        };
        return output::json_line(out, &record);
    }
    if let Some(t) = test {
        let p = output::format_p(t.p_value);
        let verdict = if t.present { "present" } else { "not found" };
        writeln!(
            out,
            "{}: work {} {verdict} ({p})",
            output::path(path),
            t.work_id
        )?;
        if let Some(other) = t.other_work {
            writeln!(out, "  the image carries the mark of work {other} instead")?;
        }
        return Ok(());
    }
    let p = output::format_p(found.p_value);
    match found.work_id.filter(|_| found.detected) {
        Some(id) => writeln!(out, "{}: work_id {id} ({p})", output::path(path))?,
        None => writeln!(out, "{}: no mark ({p})", output::path(path))?,
    }
    if let Some(geometry) = &found.geometry {
        writeln!(
            out,
            "  {}",
            describe_geometry(&GeometryRecord::from(geometry))
        )?;
    }
    if let Some(r) = &found.region {
        writeln!(
            out,
            "  marked area {}x{} at ({}, {})",
            r.width, r.height, r.x, r.y
        )?;
    }
    if let Some(map) = &found.tile_map {
        for row in map.grid() {
            writeln!(out, "    {row}")?;
        }
    }
    if let Some(note) = &found.note {
        out.flush()?;
        output::note(format!("{}: {note}", path.display()));
    }
    Ok(())
}

/// One line for people: `rotated -15.0°, scale 1.00, mirrored` (aspect only when not square).
fn describe_geometry(g: &GeometryRecord) -> String {
    let rotation = round_rotation(g.rotation_deg, 1);
    let mut line = format!("rotated {rotation:.1}°, scale {:.2}", g.scale);
    if (g.aspect - 1.0).abs() >= 0.02 {
        line.push_str(&format!(", aspect {:.2}", g.aspect));
    }
    if g.mirrored {
        line.push_str(", mirrored");
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_keeps_the_rotation_range_and_drops_negative_zero() {
        assert_eq!(
            serde_json::to_string(&round_to(-0.0001, 2)).ok(),
            Some("0.0".into())
        );
        assert_eq!(round_to(1.23456, 3), 1.235);
        assert_eq!(round_rotation(-89.996, 2), -90.0);
        assert_eq!(round_rotation(-179.999, 2), 180.0);
        assert_eq!(round_rotation(180.0, 2), 180.0);
    }

    #[test]
    fn geometry_reads_as_one_line() {
        let mut g = GeometryRecord {
            rotation_deg: -15.04,
            scale: 1.0,
            aspect: 1.004,
            mirrored: true,
        };
        assert_eq!(
            describe_geometry(&g),
            "rotated -15.0°, scale 1.00, mirrored"
        );
        g.mirrored = false;
        g.aspect = 1.25;
        g.rotation_deg = -179.97;
        assert_eq!(
            describe_geometry(&g),
            "rotated 180.0°, scale 1.00, aspect 1.25"
        );
    }
}
