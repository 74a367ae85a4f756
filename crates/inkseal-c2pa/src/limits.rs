//! Size limits on what is read from untrusted files, checked before the C2PA SDK (or we)
//! allocate for it.
//!
//! The SDK reads a manifest store whole: a sidecar, a PNG `caBX` chunk, and for JPEG the
//! entire file. Their sizes come from the file, so each is checked here first: from the
//! file's length for a sidecar, from the chunk headers for PNG (a walk that reads 8 bytes
//! per chunk and seeks over the data), from the file's length for JPEG.

use std::io::{BufReader, Read, Seek, SeekFrom};

use crate::{Error, Format, Result};

/// The largest manifest store read: a sidecar `.c2pa` file or an embedded PNG `caBX` chunk
/// (64 MiB; inkseal's own manifests are a few kilobytes, and C2PA manifests with thumbnails
/// and ingredient chains stay within a few megabytes).
pub const MAX_MANIFEST_BYTES: u64 = 64 << 20;

/// The largest JPEG whose Content Credentials are read (256 MiB, as a scan's largest sample):
/// the SDK holds a JPEG whole in memory to find its APP11 segments.
pub const MAX_JPEG_BYTES: u64 = 256 << 20;

/// The most chunks a PNG may have for its credentials to be read (one million: a
/// 100-megapixel PNG in 8 KiB IDAT chunks has about 40,000). The SDK keeps a record of every
/// chunk, so a file of tiny chunks would cost memory in proportion to its length.
pub const MAX_PNG_CHUNKS: u64 = 1_000_000;

/// Checks, before the SDK reads it, that the manifest embedded in `stream` (of `format`)
/// is within the limits. The stream is left at its start. A read error is left for the SDK
/// to meet and report.
pub(crate) fn check_embedded<S: Read + Seek>(format: &Format, stream: &mut S) -> Result<()> {
    let checked = match format {
        Format::Png => check_png(stream),
        Format::Jpeg => {
            let size = stream.seek(SeekFrom::End(0)).unwrap_or(0);
            if size > MAX_JPEG_BYTES {
                Err(Error::TooLarge {
                    what: "the JPEG file".into(),
                    size,
                    max: MAX_JPEG_BYTES,
                })
            } else {
                Ok(())
            }
        }
        _ => Ok(()),
    };
    let _ = stream.rewind();
    checked
}

/// Walks the chunk headers of a PNG: a `caBX` chunk over [`MAX_MANIFEST_BYTES`], or more
/// than [`MAX_PNG_CHUNKS`] chunks, is refused. A damaged chunk structure is left for the SDK
/// to report.
fn check_png<S: Read + Seek>(stream: &mut S) -> Result<()> {
    if stream.seek(SeekFrom::Start(8)).is_err() {
        return Ok(());
    }
    let mut reader = BufReader::new(stream);
    let mut chunks = 0u64;
    loop {
        let mut header = [0u8; 8];
        if reader.read_exact(&mut header).is_err() {
            return Ok(());
        }
        chunks += 1;
        if chunks > MAX_PNG_CHUNKS {
            return Err(Error::TooManyChunks {
                max: MAX_PNG_CHUNKS,
            });
        }
        let length = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        match &header[4..8] {
            b"caBX" if u64::from(length) > MAX_MANIFEST_BYTES => {
                return Err(Error::TooLarge {
                    what: "the PNG's manifest chunk (caBX)".into(),
                    size: u64::from(length),
                    max: MAX_MANIFEST_BYTES,
                });
            }
            b"IEND" => return Ok(()),
            _ => {}
        }
        // The data and the CRC.
        if reader.seek_relative(i64::from(length) + 4).is_err() {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], length: u32, data: &[u8]) {
        out.extend_from_slice(&length.to_be_bytes());
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&[0; 4]);
    }

    #[test]
    fn a_huge_manifest_chunk_is_refused_from_its_header() {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        chunk(&mut png, b"IHDR", 13, &[0; 13]);
        // Claims 2 GiB; the file holds a few bytes of it.
        chunk(&mut png, b"caBX", 2 << 30, b"jumb");
        let err = check_embedded(&Format::Png, &mut Cursor::new(&png)).err();
        assert_eq!(
            err.map(|e| e.to_string()).as_deref(),
            Some(
                "the PNG's manifest chunk (caBX) is 2147483648 bytes; the limit is 67108864 \
                 bytes (64 MiB)"
            )
        );
        let mut fine = b"\x89PNG\r\n\x1a\n".to_vec();
        chunk(&mut fine, b"IHDR", 13, &[0; 13]);
        chunk(&mut fine, b"caBX", 4, b"jumb");
        chunk(&mut fine, b"IEND", 0, &[]);
        let mut cursor = Cursor::new(&fine);
        assert!(check_embedded(&Format::Png, &mut cursor).is_ok());
        assert_eq!(cursor.position(), 0);
    }
}
