//! Inputs found from paths, and the streaming readers for folders, tar shards and zip files.

use std::fs::{self, File};
use std::io::{self, BufReader, Cursor, Read};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use crate::sample::{SampleError, SampleResult, is_image_name, read_member, webdataset_key};
use crate::{Error, Result, Sample, ScanConfig};

/// One thing to scan, found from a path by [`Input::from_path`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Input {
    /// A folder, walked recursively in name order. Image files are samples; tar shards, zip
    /// and Parquet files inside it are scanned as if they had been named.
    Folder(PathBuf),
    /// One image file.
    Image(PathBuf),
    /// A WebDataset tar shard, gzip-compressed or not.
    Tar {
        /// The shard.
        path: PathBuf,
        /// Whether the shard is gzip-compressed (`.tar.gz`, `.tgz`).
        gzip: bool,
    },
    /// A zip archive.
    Zip(PathBuf),
    /// A Parquet file.
    Parquet(PathBuf),
}

impl Input {
    /// Classifies `path` by what it is (folder) or by its extension. The contents are checked
    /// against their magic bytes only when the input is read, so a mislabelled file becomes an
    /// error record rather than the end of a scan.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Input> {
        let path = path.as_ref();
        if fs::metadata(path)?.is_dir() {
            return Ok(Input::Folder(path.to_path_buf()));
        }
        Input::from_file_name(path).ok_or_else(|| Error::UnsupportedInput(path.to_path_buf()))
    }

    /// Classifies a file path by its extension only; `None` when it is nothing scannable. A
    /// name that is not UTF-8 is classified all the same (the extension is ASCII): a file
    /// cannot hide from a scan by its name.
    fn from_file_name(path: &Path) -> Option<Input> {
        let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
        let path = path.to_path_buf();
        if name.ends_with(".tar") {
            Some(Input::Tar { path, gzip: false })
        } else if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
            Some(Input::Tar { path, gzip: true })
        } else if name.ends_with(".zip") {
            Some(Input::Zip(path))
        } else if name.ends_with(".parquet") {
            Some(Input::Parquet(path))
        } else if is_image_name(&name) {
            Some(Input::Image(path))
        } else {
            None
        }
    }

    /// The path this input was made from.
    pub fn path(&self) -> &Path {
        match self {
            Input::Folder(p) | Input::Image(p) | Input::Zip(p) | Input::Parquet(p) => p,
            Input::Tar { path, .. } => path,
        }
    }

    /// The inputs this one stands for, one file each: a folder becomes its images, shards, zip
    /// and Parquet files (recursively, in the order a scan of the folder reads them); any
    /// other input is itself. Scanning the list gives the same records as scanning the
    /// folder, and lets a caller checkpoint file by file. A folder that cannot be listed stays
    /// a folder, so that scanning it reports why.
    pub fn expand(&self) -> Vec<Input> {
        let mut out = Vec::new();
        match self {
            Input::Folder(dir) => expand_dir(dir, &mut out),
            other => out.push(other.clone()),
        }
        out
    }

    /// Streams this input's samples to `visit`, one at a time and in a fixed order, never
    /// holding more than one member (or one Parquet row group) in memory. Members that fail
    /// are passed on as errors and reading goes on where it can; `visit` returns
    /// [`ControlFlow::Break`] to stop early.
    pub fn for_each_sample(
        &self,
        config: &ScanConfig,
        visit: &mut dyn FnMut(SampleResult) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        match self {
            Input::Folder(dir) => walk(dir, config, visit),
            Input::Image(path) => read_image_file(path, config, visit),
            Input::Tar { path, gzip } => match open_input(path, visit) {
                Ok((source, file)) => read_tar(&source, file, *gzip, config, visit),
                Err(flow) => flow,
            },
            Input::Zip(path) => match open_input(path, visit) {
                Ok((source, file)) => read_zip(&source, file, config, visit),
                Err(flow) => flow,
            },
            Input::Parquet(path) => crate::parquet_file::read(path, config, visit),
        }
    }
}

pub(crate) fn display(path: &Path) -> String {
    path_text(path)
}

/// A path as text for records and resume states: itself when it is UTF-8, else with each
/// byte that is not UTF-8 written `\xNN`, so that two names that differ only there stay
/// apart (a lossy conversion would make both `\u{FFFD}`).
pub fn path_text(path: &Path) -> String {
    let bytes = path.as_os_str().as_encoded_bytes();
    let mut text = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        text.push_str(chunk.valid());
        for b in chunk.invalid() {
            text.push_str(&format!("\\x{b:02x}"));
        }
    }
    text
}

/// Opens the input file at `path` and names it for records. If it cannot be opened, one
/// input error goes to `visit` and its answer comes back as the `Err`.
pub(crate) fn open_input(
    path: &Path,
    visit: &mut dyn FnMut(SampleResult) -> ControlFlow<()>,
) -> std::result::Result<(String, File), ControlFlow<()>> {
    let source = display(path);
    match inkseal_io::read::open(path) {
        Ok(f) => Ok((source, f)),
        Err(e) => Err(visit(Err(SampleError::input(&source, e.into())))),
    }
}

fn walk(
    dir: &Path,
    config: &ScanConfig,
    visit: &mut dyn FnMut(SampleResult) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let mut entries: Vec<(PathBuf, bool)> = match fs::read_dir(dir) {
        Ok(read) => {
            let mut out = Vec::new();
            for entry in read {
                match entry {
                    Ok(entry) => {
                        // Symlinked folders are not followed (no loops); symlinked files are.
                        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
                        out.push((entry.path(), is_dir));
                    }
                    Err(e) => visit(Err(SampleError::input(&display(dir), e.into())))?,
                }
            }
            out
        }
        Err(e) => return visit(Err(SampleError::input(&display(dir), e.into()))),
    };
    entries.sort();
    for (path, is_dir) in entries {
        if is_dir {
            walk(&path, config, visit)?;
        } else if let Some(input) = Input::from_file_name(&path) {
            input.for_each_sample(config, visit)?;
        }
    }
    ControlFlow::Continue(())
}

fn expand_dir(dir: &Path, out: &mut Vec<Input>) {
    let listed: io::Result<Vec<(PathBuf, bool)>> = fs::read_dir(dir).and_then(|read| {
        read.map(|entry| {
            let entry = entry?;
            let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
            Ok((entry.path(), is_dir))
        })
        .collect()
    });
    let Ok(mut entries) = listed else {
        // Left whole: reading it reports the failure where `walk` would.
        out.push(Input::Folder(dir.to_path_buf()));
        return;
    };
    entries.sort();
    for (path, is_dir) in entries {
        if is_dir {
            expand_dir(&path, out);
        } else if let Some(input) = Input::from_file_name(&path) {
            out.push(input);
        }
    }
}

fn read_image_file(
    path: &Path,
    config: &ScanConfig,
    visit: &mut dyn FnMut(SampleResult) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let source = display(path);
    let key = path
        .file_stem()
        .map(|s| path_text(Path::new(s)))
        .unwrap_or_default();
    let bytes = inkseal_io::read::open(path).and_then(|f| Ok((f.metadata()?.len(), f)));
    let bytes = bytes
        .map_err(Error::from)
        .and_then(|(size, f)| read_member(f, size, config.max_member_bytes));
    visit(match bytes {
        Ok(bytes) => Ok(Sample {
            source,
            member: None,
            key,
            bytes,
            path: None,
            with: Default::default(),
        }),
        Err(error) => Err(SampleError {
            source,
            member: None,
            key: Some(key),
            error,
        }),
    })
}

/// Whether a 512-byte block is a tar header: the `ustar` magic, or failing that (old v7
/// archives) a correct header checksum.
fn is_tar_header(block: &[u8]) -> bool {
    if block.len() < 512 {
        return false;
    }
    if &block[257..262] == b"ustar" {
        return true;
    }
    if block.iter().all(|&b| b == 0) {
        // An empty archive: the end-of-archive marker.
        return true;
    }
    let stored = std::str::from_utf8(&block[148..156])
        .ok()
        .map(|s| s.trim_matches(|c: char| c == '\0' || c == ' '))
        .and_then(|s| u32::from_str_radix(s, 8).ok());
    let sum: u32 = block
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                b as u32
            }
        })
        .sum();
    stored == Some(sum) && block[..100].iter().any(|&b| b != 0)
}

/// Reads up to `n` bytes (fewer only at the end of the stream).
fn read_prefix(reader: &mut dyn Read, n: usize) -> io::Result<Vec<u8>> {
    let mut prefix = Vec::with_capacity(n);
    reader.take(n as u64).read_to_end(&mut prefix)?;
    Ok(prefix)
}

/// Streams the members of the tar shard `file` (named `source`), gzipped or not.
fn read_tar(
    source: &str,
    file: File,
    gzip: bool,
    config: &ScanConfig,
    visit: &mut dyn FnMut(SampleResult) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let fail = |e: Error| Err(SampleError::input(source, e));
    let mut file = BufReader::new(file);
    let mut stream: Box<dyn Read> = if gzip {
        match read_prefix(&mut file, 2) {
            Ok(magic) if magic == [0x1f, 0x8b] => Box::new(flate2::read::MultiGzDecoder::new(
                Cursor::new(magic).chain(file),
            )),
            Ok(_) => return visit(fail(Error::BadMagic { expected: "gzip" })),
            Err(e) => return visit(fail(e.into())),
        }
    } else {
        Box::new(file)
    };
    let header = match read_prefix(&mut stream, 512) {
        Ok(h) if is_tar_header(&h) => h,
        Ok(_) => return visit(fail(Error::BadMagic { expected: "tar" })),
        Err(e) => return visit(fail(Error::Tar(e))),
    };
    let mut archive = tar::Archive::new(Cursor::new(header).chain(stream));
    let entries = match archive.entries() {
        Ok(entries) => entries,
        Err(e) => return visit(fail(Error::Tar(e))),
    };
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            // The stream is broken: nothing after this point can be trusted.
            Err(e) => return visit(fail(Error::Tar(e))),
        };
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let member = match entry.path() {
            Ok(p) => path_text(&p),
            Err(e) => {
                visit(fail(Error::Tar(e)))?;
                continue;
            }
        };
        if !is_image_name(&member) {
            continue;
        }
        let key = webdataset_key(&member);
        let size = entry.size();
        match read_member(entry, size, config.max_member_bytes) {
            Ok(bytes) => visit(Ok(Sample {
                source: source.to_string(),
                member: Some(member),
                key,
                bytes,
                path: None,
                with: Default::default(),
            }))?,
            Err(error) => {
                let broken = matches!(error, Error::Io(_));
                let error = match error {
                    Error::Io(e) => Error::Tar(e),
                    other => other,
                };
                visit(Err(SampleError {
                    source: source.to_string(),
                    member: Some(member),
                    key: Some(key),
                    error,
                }))?;
                if broken {
                    return ControlFlow::Continue(());
                }
            }
        }
    }
    ControlFlow::Continue(())
}

/// Streams the members of the zip archive `file` (named `source`).
fn read_zip(
    source: &str,
    file: File,
    config: &ScanConfig,
    visit: &mut dyn FnMut(SampleResult) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let fail = |e: Error| Err(SampleError::input(source, e));
    let mut file = BufReader::new(file);
    match read_prefix(&mut file, 4) {
        Ok(m) if m == b"PK\x03\x04" || m == b"PK\x05\x06" => {}
        Ok(_) => return visit(fail(Error::BadMagic { expected: "zip" })),
        Err(e) => return visit(fail(e.into())),
    }
    let mut archive = match zip::ZipArchive::new(file) {
        Ok(a) => a,
        Err(e) => return visit(fail(Error::Zip(e.to_string()))),
    };
    for index in 0..archive.len() {
        let entry = match archive.by_index(index) {
            Ok(entry) => entry,
            Err(e) => {
                visit(Err(SampleError {
                    source: source.to_string(),
                    member: Some(format!("#{index}")),
                    key: None,
                    error: Error::Zip(e.to_string()),
                }))?;
                continue;
            }
        };
        if !entry.is_file() {
            continue;
        }
        let member = entry.name().to_string();
        if !is_image_name(&member) {
            continue;
        }
        let key = webdataset_key(&member);
        let size = entry.size();
        visit(match read_member(entry, size, config.max_member_bytes) {
            Ok(bytes) => Ok(Sample {
                source: source.to_string(),
                member: Some(member),
                key,
                bytes,
                path: None,
                with: Default::default(),
            }),
            Err(error) => Err(SampleError {
                source: source.to_string(),
                member: Some(member),
                key: Some(key),
                error,
            }),
        })?;
    }
    ControlFlow::Continue(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn names_that_are_not_utf8_are_classified_and_kept_apart() {
        let latin1 = Path::new(OsStr::from_bytes(b"data/caf\xe9.PNG"));
        assert_eq!(
            Input::from_file_name(latin1),
            Some(Input::Image(latin1.to_path_buf()))
        );
        let shard = Path::new(OsStr::from_bytes(b"\xff\xfe.tar.gz"));
        assert!(matches!(
            Input::from_file_name(shard),
            Some(Input::Tar { gzip: true, .. })
        ));
        assert_eq!(path_text(latin1), "data/caf\\xe9.PNG");
        assert_ne!(
            path_text(Path::new(OsStr::from_bytes(b"a\xfe.png"))),
            path_text(Path::new(OsStr::from_bytes(b"a\xff.png")))
        );
        assert_eq!(path_text(Path::new("plain/näme.png")), "plain/näme.png");
    }
}
