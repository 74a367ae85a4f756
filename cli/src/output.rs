//! Printing: diagnostics on stderr, and the small helpers shared by the commands' output.

use std::io::{self, Write};
use std::path::Path;

/// Prints `inkseal: error: …` with the whole cause chain.
pub fn error(err: &anyhow::Error) {
    let _ = writeln!(io::stderr(), "inkseal: error: {err:#}");
}

/// Prints `inkseal: note: …`.
pub fn note(msg: impl std::fmt::Display) {
    let _ = writeln!(io::stderr(), "inkseal: note: {msg}");
}

/// Prints `inkseal: warning: …`.
pub fn warning(msg: impl std::fmt::Display) {
    let _ = writeln!(io::stderr(), "inkseal: warning: {msg}");
}

/// Whether `err` comes from writing to a pipe whose reader has gone away.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// A path as it goes into JSON (lossy for paths that are not UTF-8).
pub fn json_path(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// A p-value for people (`p = 0.43`, `p = 1.2e-12`): two decimals when it is large,
/// scientific notation when small.
pub fn format_p(p: f64) -> String {
    if p >= 0.01 {
        format!("p = {p:.2}")
    } else if p >= 1e-300 {
        format!("p = {p:.1e}")
    } else {
        "p < 1e-300".to_string()
    }
}

/// Reports a file that could not be processed: an error record on stdout with `--json`,
/// else a line on stderr (after flushing `out`, to keep the order of lines on a terminal).
pub fn file_error(
    out: &mut impl Write,
    json: bool,
    path: &Path,
    err: &anyhow::Error,
) -> anyhow::Result<()> {
    if json {
        let record = serde_json::json!({
            "type": "error",
            "path": json_path(path),
            "error": format!("{err:#}"),
        });
        return json_line(out, &record);
    }
    out.flush()?;
    let _ = writeln!(io::stderr(), "{}: error: {err:#}", path.display());
    Ok(())
}

/// Writes one JSON object and a newline.
pub fn json_line(out: &mut impl Write, value: &impl serde::Serialize) -> anyhow::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")?;
    Ok(())
}

/// The advice added to the fragile-image warning: a stronger mark, when not asked for yet.
pub fn fragile_advice(strength: f32) -> &'static str {
    if strength <= 1.0 {
        "; --strength 2 makes it stronger, and more visible (check the score printed)"
    } else {
        ""
    }
}

/// Tells the user what a mark costs: the marked file's SSIMULACRA2, when it was scored.
pub fn quality_note(path: &std::path::Path, ssimulacra2: Option<f64>) {
    if let Some(q) = ssimulacra2 {
        note(format!(
            "{}: SSIMULACRA2 {q:.1} against the original (90 is visually lossless; the same \
             image re-saved as JPEG q90 scores about 85)",
            path.display()
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragile_images_are_advised_a_stronger_mark_once() {
        assert!(fragile_advice(1.0).contains("--strength 2"));
        assert!(fragile_advice(0.5).contains("--strength 2"));
        assert_eq!(fragile_advice(2.0), "");
    }

    #[test]
    fn p_values_print_readably() {
        assert_eq!(format_p(0.4321), "p = 0.43");
        assert_eq!(format_p(1.0), "p = 1.00");
        assert_eq!(format_p(1.23e-12), "p = 1.2e-12");
        assert_eq!(format_p(0.0), "p < 1e-300");
    }

    #[test]
    fn broken_pipes_are_recognised_through_context() {
        let err = anyhow::Error::from(io::Error::from(io::ErrorKind::BrokenPipe))
            .context("writing results");
        assert!(is_broken_pipe(&err));
        assert!(!is_broken_pipe(&anyhow::anyhow!("other")));
    }
}
