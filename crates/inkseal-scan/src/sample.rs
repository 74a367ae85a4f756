//! One image to look at, and the helpers every reader shares.

use std::io::Read;

use crate::{Error, Result};

/// One image found in an input: its bytes and where they came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sample {
    /// The file or shard the sample was read from.
    pub source: String,
    /// The member inside the shard (tar or zip member path, or `column[row]` for Parquet);
    /// `None` for a plain image file.
    pub member: Option<String>,
    /// The sample key: a WebDataset key (member path up to the first dot of its file name),
    /// the file stem for folders, or the key column (else the row index) for Parquet.
    pub key: String,
    /// The encoded image.
    pub bytes: Vec<u8>,
    /// The Hugging Face image struct's `path`, when the sample came from one.
    pub path: Option<String>,
    /// The columns [`ScanConfig::with_columns`](crate::ScanConfig::with_columns) carries,
    /// by name, as text (`None` for a null cell).
    pub with: std::collections::BTreeMap<String, Option<String>>,
}

/// A sample, or a part of an input, that could not be read.
#[derive(Debug)]
pub struct SampleError {
    /// The file or shard being read.
    pub source: String,
    /// The member, when the failure belongs to one.
    pub member: Option<String>,
    /// The sample key, when known.
    pub key: Option<String>,
    /// What went wrong.
    pub error: Error,
}

impl SampleError {
    /// A failure of a whole input (or of the rest of it).
    pub(crate) fn input(source: &str, error: Error) -> SampleError {
        SampleError {
            source: source.to_string(),
            member: None,
            key: None,
            error,
        }
    }
}

/// What a sample iterator yields.
pub type SampleResult = std::result::Result<Sample, SampleError>;

/// File extensions, lowercase, that are scanned as images. Anything else inside a shard or a
/// folder (captions, JSON metadata) is skipped without a record.
pub const IMAGE_EXTENSIONS: &[&str] = &["jpg", "jpeg", "png", "webp", "tif", "tiff", "gif", "bmp"];

/// Whether `name` (a path or a member name) ends in an image extension.
pub fn is_image_name(name: &str) -> bool {
    let base = basename(name);
    match base.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => {
            IMAGE_EXTENSIONS.iter().any(|e| e.eq_ignore_ascii_case(ext))
        }
        _ => false,
    }
}

fn basename(name: &str) -> &str {
    name.rsplit(['/', '\\']).next().unwrap_or(name)
}

/// The WebDataset sample key of a member: its path up to the first dot of its file name
/// (`shard/00012.jpg` → `shard/00012`, `a/b.c.jpg` → `a/b`).
pub fn webdataset_key(member: &str) -> String {
    let base = basename(member);
    let dir = &member[..member.len() - base.len()];
    let stem = match base.find('.') {
        Some(i) => &base[..i],
        None => base,
    };
    format!("{dir}{stem}")
}

/// Reads a member of `size` bytes, refusing it (before allocating) when it is over `max`.
/// The reader is left wherever it stopped; callers that stream skip the rest themselves.
pub(crate) fn read_member<R: Read>(reader: R, size: u64, max: u64) -> Result<Vec<u8>> {
    if size > max {
        return Err(Error::MemberTooLarge { size, max });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    // Never trust the header: read at most `max + 1` bytes.
    reader.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
    let got = bytes.len() as u64;
    if got > max {
        return Err(Error::MemberTooLarge { size: got, max });
    }
    if got < size {
        // `read_to_end` takes an early end of stream for the end of the member.
        return Err(Error::Io(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!("member should be {size} bytes but the stream ended after {got}"),
        )));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_webdataset() {
        assert_eq!(webdataset_key("00012.jpg"), "00012");
        assert_eq!(webdataset_key("shard/00012.jpg"), "shard/00012");
        assert_eq!(webdataset_key("a/b.c.jpg"), "a/b");
        assert_eq!(webdataset_key("noext"), "noext");
    }

    #[test]
    fn image_names_by_extension() {
        assert!(is_image_name("x/00001.JPG"));
        assert!(is_image_name("a.seg.png"));
        assert!(!is_image_name("00001.txt"));
        assert!(!is_image_name("00001.json"));
        assert!(!is_image_name(".jpg"));
        assert!(!is_image_name("jpg"));
    }

    #[test]
    fn oversized_members_are_refused_before_reading() {
        let data = [0u8; 10];
        assert!(matches!(
            read_member(&data[..], 10, 5),
            Err(Error::MemberTooLarge { size: 10, max: 5 })
        ));
        // A header that lies low is caught by the bounded read.
        assert!(matches!(
            read_member(&data[..], 3, 5),
            Err(Error::MemberTooLarge { .. })
        ));
        assert_eq!(read_member(&data[..4], 4, 5).ok(), Some(vec![0u8; 4]));
        // A stream that ends before the header's size is an error, not a short image.
        assert!(matches!(read_member(&data[..2], 4, 5), Err(Error::Io(_))));
    }
}
