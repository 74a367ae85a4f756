//! Printing: diagnostics on stderr, and the small helpers shared by the commands' output.
//!
//! Text output is safe by construction: everything printed for people that came from outside
//! (a file, a manifest, a registry, a file or member name, the command line) goes through
//! [`escape`], so that a title cannot add a line (`\n  manifest: Trusted`), move the cursor
//! or recolour the terminal (ESC sequences), or reorder what is shown (bidi overrides). Report
//! lines escape each such value ([`escape`], [`quoted`], [`path`]); diagnostics ([`error`],
//! [`note`], [`warning`], [`file_error`]) escape their whole message, so callers pass them raw
//! values. JSON and CSV output are data formats with their own quoting and stay unescaped.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::Path;

/// Prints `inkseal: error: …` with the whole cause chain (escaped: causes quote names).
pub fn error(err: &anyhow::Error) {
    let _ = writeln!(
        io::stderr(),
        "inkseal: error: {}",
        escape(&format!("{err:#}"))
    );
}

/// Prints `inkseal: note: …` (escaped: pass raw values, not [`escape`]d ones).
pub fn note(msg: impl std::fmt::Display) {
    let _ = writeln!(io::stderr(), "inkseal: note: {}", escape(&msg.to_string()));
}

/// Prints `inkseal: warning: …` (escaped: pass raw values, not [`escape`]d ones).
pub fn warning(msg: impl std::fmt::Display) {
    let _ = writeln!(
        io::stderr(),
        "inkseal: warning: {}",
        escape(&msg.to_string())
    );
}

/// Text that came from outside, made safe to print within a line for people: control
/// characters (C0 including `\n`, `\r`, `\t` and ESC; DEL; C1), line and paragraph
/// separators, bidi embeddings, overrides and isolates, and the other invisible format
/// characters (zero-width spaces and joiners, BOM, …) are written as visible escapes (`\n`,
/// `\x1b`, `\u{202e}`), and the backslash itself as `\\`, so an escape in the output always
/// means an escaped character. U+FFFD, what a lossy conversion leaves for bytes that were not
/// UTF-8, is escaped too, so such names are marked. Everything else is left as it is.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_ascii_control() => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if is_hidden(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// [`escape`]d text in double quotes, with the quotes in it escaped (`\"`), for values shown
/// as `"title"`.
pub fn quoted(text: &str) -> String {
    format!("\"{}\"", escape(text).replace('"', "\\\""))
}

/// A file name as printed for people: [`escape`]d, and lossy (but marked, `\u{fffd}`) where
/// it is not UTF-8. Paths from the command line too: a file can be named with a newline.
pub fn path(path: &Path) -> String {
    escape(&path.to_string_lossy()).into_owned()
}

fn needs_escape(c: char) -> bool {
    c == '\\' || c.is_ascii_control() || is_hidden(c)
}

/// Characters that are not what they look like on a terminal: C1 controls, and the invisible
/// ones that change how the text around them is laid out or read (Unicode's format characters,
/// Cf, and the line and paragraph separators), plus the replacement character.
fn is_hidden(c: char) -> bool {
    const HIDDEN: &[(u32, u32)] = &[
        (0x80, 0x9f),       // C1 controls (CSI is 0x9b)
        (0xad, 0xad),       // soft hyphen
        (0x600, 0x605),     // Arabic number signs
        (0x61c, 0x61c),     // Arabic letter mark (bidi)
        (0x6dd, 0x6dd),     // Arabic end of ayah
        (0x70f, 0x70f),     // Syriac abbreviation mark
        (0x890, 0x891),     // Arabic pound and piastre marks above
        (0x8e2, 0x8e2),     // Arabic disputed end of ayah
        (0x180e, 0x180e),   // Mongolian vowel separator
        (0x200b, 0x200f),   // zero-width space, (non-)joiners, LRM, RLM
        (0x2028, 0x2029),   // line and paragraph separators
        (0x202a, 0x202e),   // bidi embeddings and overrides
        (0x2060, 0x2064),   // word joiner, invisible operators
        (0x2066, 0x206f),   // bidi isolates, deprecated format characters
        (0xfeff, 0xfeff),   // BOM, zero-width no-break space
        (0xfff9, 0xfffb),   // interlinear annotations
        (0xfffd, 0xfffd),   // the replacement character: a lossy name
        (0x110bd, 0x110bd), // Kaithi number sign
        (0x110cd, 0x110cd), // Kaithi number sign above
        (0x13430, 0x1343f), // Egyptian hieroglyph format controls
        (0x1bca0, 0x1bca3), // shorthand format controls
        (0x1d173, 0x1d17a), // musical symbol format controls
        (0xe0001, 0xe0001), // language tag
        (0xe0020, 0xe007f), // tag characters (invisible ASCII)
    ];
    let c = u32::from(c);
    HIDDEN.iter().any(|&(lo, hi)| (lo..=hi).contains(&c))
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
    let _ = writeln!(
        io::stderr(),
        "{}: error: {}",
        self::path(path),
        escape(&format!("{err:#}"))
    );
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
    fn escaping_makes_hostile_text_visible_and_leaves_plain_text_alone() {
        // A forged line, a terminal sequence, a bidi override and a literal backslash.
        assert_eq!(
            escape("Harbour\n  manifest: Trusted"),
            r"Harbour\n  manifest: Trusted"
        );
        assert_eq!(
            escape("A. \x1b[32mPainter\x1b[0m"),
            r"A. \x1b[32mPainter\x1b[0m"
        );
        assert_eq!(escape("invoice\u{202e}gpj.exe"), r"invoice\u{202e}gpj.exe");
        assert_eq!(escape(r"a\n is not a newline"), r"a\\n is not a newline");
        assert_eq!(escape("tab\there\r\0\x7f"), r"tab\there\r\x00\x7f");
        // C1 (CSI), zero-width, isolates, separators, BOM, tags, a lossy name.
        assert_eq!(
            escape(
                "\u{9b}\u{200b}\u{200d}\u{2066}\u{2069}\u{2028}\u{2029}\u{feff}\u{e0041}\u{fffd}"
            ),
            r"\u{9b}\u{200b}\u{200d}\u{2066}\u{2069}\u{2028}\u{2029}\u{feff}\u{e0041}\u{fffd}"
        );
        // Plain Unicode, combining accents and emoji are printed as they are, unallocated.
        for plain in [
            "é 漢字",
            "Ålesund, e\u{301}t\u{e9}",
            "\u{2764}\u{fe0f} Dunes",
            "\"quoted\"",
        ] {
            assert!(
                matches!(escape(plain), Cow::Borrowed(s) if s == plain),
                "{plain}"
            );
        }
    }

    #[test]
    fn quoted_values_cannot_close_their_quotes_and_paths_are_escaped() {
        assert_eq!(quoted("Harbour"), "\"Harbour\"");
        assert_eq!(
            quoted("Harbour\" by B. Forger\n"),
            r#""Harbour\" by B. Forger\n""#
        );
        assert_eq!(quoted(r#"a\"b"#), r#""a\\\"b""#);
        assert_eq!(
            path(Path::new("dir/photo\n  manifest: Trusted.jpg")),
            r"dir/photo\n  manifest: Trusted.jpg"
        );
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let name = std::ffi::OsStr::from_bytes(b"dir/caf\xe9\x1b.png");
            assert_eq!(path(Path::new(name)), r"dir/caf\u{fffd}\x1b.png");
        }
    }

    #[test]
    fn broken_pipes_are_recognised_through_context() {
        let err = anyhow::Error::from(io::Error::from(io::ErrorKind::BrokenPipe))
            .context("writing results");
        assert!(is_broken_pipe(&err));
        assert!(!is_broken_pipe(&anyhow::anyhow!("other")));
    }
}
