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
  inkseal detect --work 0123456789abcdef suspect.jpg

Exit status: 0 when every input holds a mark (with --work: that work's mark), 1 when some
input holds none, 2 when some input could not be read (errors win).";

const KEY_EXAMPLES: &str = "\
Example:
  inkseal key new -o studio.key";

const MARK_EXAMPLES: &str = "\
Examples:
  inkseal mark painting.png -o painting.marked.png --title \"Harbour at dusk\" --artist \"A. Painter\"
  inkseal mark photo.jpg -o photo.marked.jpg --title Dunes --artist \"A. Painter\" \\
      --license https://creativecommons.org/licenses/by-nc/4.0/ --json
  inkseal mark portfolio/ -o marked/ --artist \"A. Painter\" --sidecar portfolio.csv

One step: a new work ID from the registry, the invisible watermark, a signed C2PA manifest
(creator, title, licence, AI-training terms: not allowed unless --allow-training, and a soft
binding naming the watermark) embedded in OUT, and a row in the registry. If any step fails,
nothing is left behind: no output file and no registry row. The first mark with no signing
credentials creates a local CA and signer (see `inkseal credentials new`).

For a folder, every PNG, JPEG, WebP and TIFF in it is marked, in parallel, each all or nothing;
titles come from the file names (harbour_at-dusk.png: \"harbour at dusk\") unless --sidecar
names them. An existing output is never replaced; running the same command again finishes an
interrupted or partly failed batch (works already marked are skipped). Exit status: 0 when
every work is marked, 2 when some failed.";

const VERIFY_EXAMPLES: &str = "\
Examples:
  inkseal verify painting.marked.png
  inkseal verify --trust studio-ca.pem --json downloads/*.jpg

For each file: the Content Credentials (Trusted, Valid or Invalid, with the C2PA status codes),
the watermark, and whether the two name the same work. When the credentials were stripped,
the watermark's work ID is looked up in the registry and the stored manifest is shown as
recovered. Exit status: 0 when every file's credentials verified (or were recovered), 1 when
some file has none or they are invalid, 2 on an error.";

const SCAN_EXAMPLES: &str = "\
Examples:
  inkseal scan scraped/ laion-shards/00000.tar
  inkseal scan --key studio.key --json shards/ > found.jsonl
  inkseal scan --csv --out report.csv --resume scan.state shards/*.tar.gz
  inkseal scan --column image data/train-00000-of-00004.parquet
  inkseal scan --json --with url,caption laion/part-00000.parquet

Inputs: folders (recursive), WebDataset shards (.tar, .tar.gz, .tgz), .zip files, .parquet files
(image columns found from the schema, or named with --column) and single images. Every sample
is one record: where it is, its key, whether a mark was found, the work ID and p-value, and the
registry's title and artist when the work is known. Unreadable samples are error records and
the scan goes on. Text output lists marks and errors; --json and --csv list every sample.

--resume STATE logs each finished input; a scan that is killed and started again with the
same STATE skips those inputs and ends with the same report. Exit status: 0 when some mark was
found, 1 when none was, 2 when the scan could not run (error records do not count).";

const WORKS_EXAMPLES: &str = "\
Examples:
  inkseal works list
  inkseal works show 0123456789abcdef
  inkseal works export -o works.json
  inkseal works import works.json";

const CREDENTIALS_EXAMPLES: &str = "\
Example:
  inkseal credentials new --name \"A. Painter\"

Writes ca.pem, signer.pem and signer.key (mode 0600) to the credentials folder (default: in
the user's data directory). Such a local CA is trusted by nobody else until a recognised CA
issues your certificate: others see your manifests as Valid, not Trusted.";

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
    /// Mark a work in one step: watermark, signed Content Credentials, registry row.
    #[command(after_help = MARK_EXAMPLES)]
    Mark(MarkOpts),
    /// Check Content Credentials and watermarks, recovering stripped credentials.
    #[command(after_help = VERIFY_EXAMPLES)]
    Verify(VerifyOpts),
    /// Find marked works in folders, WebDataset shards, zip and Parquet files.
    #[command(after_help = SCAN_EXAMPLES)]
    Scan(ScanOpts),
    /// List, show, export and import the works in the registry.
    #[command(subcommand, after_help = WORKS_EXAMPLES)]
    Works(WorksCommand),
    /// Manage the certificates that sign Content Credentials.
    #[command(subcommand, after_help = CREDENTIALS_EXAMPLES)]
    Credentials(CredentialsCommand),
}

/// Where the registry and the signing credentials live.
#[derive(Debug, Args)]
pub struct StoreOpts {
    /// The registry file. Default: registry.sqlite in the user's data directory.
    #[arg(long, value_name = "PATH")]
    pub registry: Option<PathBuf>,

    /// How long to wait, in seconds, while another process holds the registry.
    #[arg(long, value_name = "SECS", default_value_t = 10.0, value_parser = parse_seconds)]
    pub lock_timeout: f64,
}

#[derive(Debug, Args)]
pub struct MarkOpts {
    /// The image to mark (PNG, JPEG, WebP or TIFF), or a folder of them (a portfolio). It is
    /// never modified.
    #[arg(value_name = "IN")]
    pub input: PathBuf,

    /// Where to write the marked, signed image; same format as IN. For a folder: the folder
    /// the marked copies go to, under their own names (created if missing).
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,

    /// Title of the work (required for one file; for a folder, titles come from the file
    /// names or --sidecar).
    #[arg(long)]
    pub title: Option<String>,

    /// For a folder: a CSV or JSON file naming, per file, its title, license and
    /// allow_training (columns or keys `file`, `title`, `license`, `allow_training`).
    #[arg(long, value_name = "FILE")]
    pub sidecar: Option<PathBuf>,

    /// For a folder: works marked at once (0: one per core).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub threads: usize,

    /// For a folder: no progress bar.
    #[arg(long)]
    pub no_progress: bool,

    /// The artist, as the credentials name the creator.
    #[arg(long)]
    pub artist: String,

    /// Licence of the work, a URL (for example a Creative Commons licence).
    #[arg(long, value_name = "URL")]
    pub license: Option<String>,

    /// Allow AI training, generative training, data mining and inference (default: not
    /// allowed).
    #[arg(long)]
    pub allow_training: bool,

    /// A private watermark key file. Default: the public key, so anyone can read the work ID.
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,

    /// Signing certificate chain (PEM, signer first). Default: the local credentials.
    #[arg(long, value_name = "PEM", requires = "signing_key")]
    pub cert: Option<PathBuf>,

    /// Private key of --cert (PEM).
    #[arg(long = "signing-key", value_name = "PEM", requires = "cert")]
    pub signing_key: Option<PathBuf>,

    /// Folder of the local credentials. Default: credentials/ in the user's data directory.
    #[arg(long, value_name = "DIR")]
    pub credentials: Option<PathBuf>,

    /// Mark strength in (0, 8]: multiplies the amplitude chosen for the perceptual target
    /// (SSIMULACRA2 86); higher is more robust and more visible (the score is printed).
    #[arg(long, value_name = "X", default_value_t = 1.0)]
    pub strength: f32,

    #[command(flatten)]
    pub store: StoreOpts,

    /// Print one JSON object instead of the bare work ID.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct VerifyOpts {
    /// Files to check.
    #[arg(value_name = "FILE", required = true)]
    pub inputs: Vec<PathBuf>,

    /// A CA certificate (PEM) to trust. Default: the local credentials' CA, if any.
    #[arg(long, value_name = "CA.pem")]
    pub trust: Option<PathBuf>,

    /// The private key the watermarks were made with. Default: the public key.
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,

    /// Folder of the local credentials. Default: credentials/ in the user's data directory.
    #[arg(long, value_name = "DIR")]
    pub credentials: Option<PathBuf>,

    #[command(flatten)]
    pub store: StoreOpts,

    /// Print one JSON object per file (JSON Lines).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ScanOpts {
    /// Folders, shards (.tar, .tar.gz, .tgz), .zip and .parquet files, or images.
    #[arg(value_name = "PATH", required = true)]
    pub inputs: Vec<PathBuf>,

    /// The private key the marks were made with. Default: the public key.
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,

    #[command(flatten)]
    pub store: StoreOpts,

    /// One JSON object per sample and error, then a summary (JSON Lines).
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,

    /// One CSV row per sample and error; the summary goes to standard error.
    #[arg(long)]
    pub csv: bool,

    /// Write the report to FILE (atomically, when the scan ends) instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Worker threads; 0 means one per core.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub threads: usize,

    /// Search each sample whole only, not also in windows for a work shown inside a larger
    /// picture (a page, a collage): faster on large unmarked images. Samples of 512 px or
    /// less on their short side are searched whole either way.
    #[arg(long)]
    pub no_regions: bool,

    /// Log finished inputs to STATE, and skip those already in it.
    #[arg(long, value_name = "STATE")]
    pub resume: Option<PathBuf>,

    /// The Parquet column holding the images. Default: found from the schema.
    #[arg(long, value_name = "NAME")]
    pub column: Option<String>,

    /// Parquet columns to carry into every sample's record (for example the URL a sample was
    /// scraped from): `--with url,caption,key`. JSON records get them under "with", CSV rows
    /// as columns "with.NAME" (after a "path" column: the Hugging Face image's own path).
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    pub with: Vec<String>,

    /// Never show the progress bar (it is only shown on a terminal, and never with --json).
    #[arg(long)]
    pub no_progress: bool,
}

#[derive(Debug, Subcommand)]
pub enum WorksCommand {
    /// Every work in the registry, oldest first (JSON Lines with --json).
    List(WorksListOpts),
    /// One work, with its stored manifest.
    Show(WorksShowOpts),
    /// The whole registry as one JSON document.
    Export(WorksExportOpts),
    /// Works from a JSON document made by `export`.
    Import(WorksImportOpts),
}

#[derive(Debug, Args)]
pub struct WorksListOpts {
    #[command(flatten)]
    pub store: StoreOpts,
    /// Print one JSON object per work (JSON Lines).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct WorksShowOpts {
    /// The work ID, 16 hex digits.
    #[arg(value_name = "ID", value_parser = parse_work_id)]
    pub id: WorkId,
    #[command(flatten)]
    pub store: StoreOpts,
}

#[derive(Debug, Args)]
pub struct WorksExportOpts {
    /// Write here (atomically) instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub store: StoreOpts,
}

#[derive(Debug, Args)]
pub struct WorksImportOpts {
    /// A document from `inkseal works export`.
    #[arg(value_name = "FILE")]
    pub input: PathBuf,
    #[command(flatten)]
    pub store: StoreOpts,
}

#[derive(Debug, Subcommand)]
pub enum CredentialsCommand {
    /// Create a local CA and a signing certificate for Content Credentials.
    New(CredentialsNewOpts),
}

#[derive(Debug, Args)]
pub struct CredentialsNewOpts {
    /// Name on the certificates (usually the artist's).
    #[arg(long, default_value = "inkseal artist")]
    pub name: String,

    /// Folder to write to. Default: credentials/ in the user's data directory.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// Replace existing credentials in that folder.
    #[arg(long)]
    pub force: bool,

    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
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

    /// Mark strength in (0, 8]: multiplies the amplitude chosen for the perceptual target
    /// (SSIMULACRA2 86); higher is more robust and more visible (the score is printed).
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

    /// Test for one known work instead of asking which work is there: far more sensitive
    /// than blind detection (it needs no decoding), with its own p-value. The exit status
    /// then says whether this work's mark is in every input.
    #[arg(long, value_name = "HEX16", value_parser = parse_work_id)]
    pub work: Option<WorkId>,

    /// Print one JSON object per input (JSON Lines).
    #[arg(long)]
    pub json: bool,

    /// Search each image whole only, not also in windows for a work shown inside a larger
    /// picture (a page, a collage): faster on large unmarked images.
    #[arg(long)]
    pub no_regions: bool,
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

fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=3600.0).contains(&v) => Ok(v),
        _ => Err("expected a number of seconds between 0 and 3600".to_string()),
    }
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
