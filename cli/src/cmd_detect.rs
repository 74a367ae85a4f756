//! `inkseal detect`: look for marks in each input and report them one per line.

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use inkseal_mark::{DetectConfig, Detection, Detector, ImageRef};
use serde::Serialize;

use crate::Outcome;
use crate::io;
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
    },
    Error {
        path: String,
        error: String,
    },
}

/// Runs `inkseal detect`.
pub fn run(opts: &DetectOpts) -> Result<Outcome> {
    let key = cmd_key::load(opts.key.as_deref())?;
    let key_id = key.id();
    let mut detector = Detector::new(&key, DetectConfig::default())?;
    let mut out = std::io::stdout().lock();
    let (mut any_missing, mut any_error) = (false, false);
    for path in &opts.inputs {
        match detect_one(&mut detector, path) {
            Ok(found) => {
                any_missing |= !found.detected;
                print_detection(&mut out, opts.json, path, &found, &key_id)?;
            }
            Err(err) => {
                any_error = true;
                if opts.json {
                    let record = Record::Error {
                        path: output::json_path(path),
                        error: format!("{err:#}"),
                    };
                    output::json_line(&mut out, &record)?;
                } else {
                    // Keep the order of lines on a shared terminal.
                    out.flush()?;
                    let _ = writeln!(std::io::stderr(), "{}: error: {err:#}", path.display());
                }
            }
        }
    }
    out.flush()?;
    Ok(if any_error {
        Outcome::Error
    } else if any_missing {
        Outcome::NotFound
    } else {
        Outcome::Ok
    })
}

fn detect_one(detector: &mut Detector, path: &Path) -> Result<Detection> {
    let picture = io::read_pixels(path)?;
    let image = ImageRef::new(
        &picture.pixels,
        picture.width,
        picture.height,
        picture.layout,
    )?;
    Ok(detector.detect(image)?)
}

fn print_detection(
    out: &mut impl Write,
    json: bool,
    path: &Path,
    found: &Detection,
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
        };
        return output::json_line(out, &record);
    }
    let p = output::format_p(found.p_value);
    match found.work_id.filter(|_| found.detected) {
        Some(id) => writeln!(out, "{}: work_id {id} ({p})", path.display())?,
        None => writeln!(out, "{}: no mark ({p})", path.display())?,
    }
    if let Some(note) = &found.note {
        out.flush()?;
        output::note(format!("{}: {note}", path.display()));
    }
    Ok(())
}
