//! The command line, as clap parses it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use inkseal_mark::WorkId;

const EXAMPLES: &str = "\
Examples:
  inkseal key new -o studio.key
  inkseal embed painting.png -o painting.marked.png --key studio.key
  inkseal detect --key studio.key scraped/*.jpg

Exit status: 0 when every input holds a mark (or the command succeeded), 1 when some input
holds none, 2 on any error.";

const EMBED_EXAMPLES: &str = "\
Examples:
  inkseal embed painting.png -o painting.marked.png
  inkseal embed photo.jpg -o photo.marked.jpg --id 0123456789abcdef --key studio.key --json

The output has the input's format (PNG, JPEG at quality 95, lossless WebP or TIFF), so OUT
must carry the matching extension. IN is never modified.";

const DETECT_EXAMPLES: &str = "\
Examples:
  inkseal detect painting.marked.png
  inkseal detect --key studio.key --json dataset/*.jpg > marks.jsonl

Exit status: 0 when every input holds a mark, 1 when some input holds none, 2 when some
input could not be read (errors win).";

const KEY_EXAMPLES: &str = "\
Example:
  inkseal key new -o studio.key";

/// Invisible watermarks that carry a 64-bit work ID.
#[derive(Debug, Parser)]
#[command(name = "inkseal", version, after_help = EXAMPLES)]
pub struct Opts {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Hide a work ID in an image and write the marked copy.
    #[command(after_help = EMBED_EXAMPLES)]
    Embed(EmbedOpts),
    /// Look for marks in images and print the work IDs found.
    #[command(after_help = DETECT_EXAMPLES)]
    Detect(DetectOpts),
    /// Manage private watermark keys.
    #[command(subcommand, after_help = KEY_EXAMPLES)]
    Key(KeyCommand),
}

#[derive(Debug, Args)]
pub struct EmbedOpts {
    /// The image to mark (PNG, JPEG, WebP or TIFF). It is never modified.
    #[arg(value_name = "IN")]
    pub input: PathBuf,

    /// Where to write the marked image; same format as IN.
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,

    /// The work ID to hide, 16 hex digits. Random when omitted.
    #[arg(long, value_name = "HEX16", value_parser = parse_work_id)]
    pub id: Option<WorkId>,

    /// A private key file from `inkseal key new`. Default: the public key.
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,

    /// Mark strength in (0, 8]; higher is more robust and more visible.
    #[arg(long, value_name = "X", default_value_t = 1.0)]
    pub strength: f32,

    /// Print one JSON object instead of the bare work ID.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DetectOpts {
    /// Images to examine.
    #[arg(value_name = "IN", required = true)]
    pub inputs: Vec<PathBuf>,

    /// The private key the marks were made with. Default: the public key.
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,

    /// Print one JSON object per input (JSON Lines).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Generate a new private key and write it to a file readable only by you.
    #[command(after_help = KEY_EXAMPLES)]
    New(KeyNewOpts),
}

#[derive(Debug, Args)]
pub struct KeyNewOpts {
    /// The key file to create.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,

    /// Replace FILE if it already exists.
    #[arg(long)]
    pub force: bool,

    /// Print one JSON object instead of the bare key ID.
    #[arg(long)]
    pub json: bool,
}

fn parse_work_id(s: &str) -> Result<WorkId, String> {
    s.parse::<WorkId>()
        .map_err(|_| "expected exactly 16 hexadecimal digits, e.g. 0123456789abcdef".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Opts::command().debug_assert();
    }

    #[test]
    fn work_ids_parse_strictly() {
        assert_eq!(
            parse_work_id("0123456789abcdef"),
            Ok(WorkId(0x0123_4567_89ab_cdef))
        );
        assert!(parse_work_id("123").is_err());
        assert!(parse_work_id("0123456789abcdeg").is_err());
    }
}
