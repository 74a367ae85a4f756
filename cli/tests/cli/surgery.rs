//! Byte-level edits of image files that keep their embedded C2PA manifest: JPEG segments,
//! PNG chunks and uncompressed zlib streams.

use std::ops::Range;

use crate::support::png_chunk;

/// A JPEG marker segment: its marker byte and where it lies (from the 0xFF to the end of its
/// payload).
#[derive(Clone, Debug)]
pub struct Segment {
    pub marker: u8,
    pub range: Range<usize>,
}

/// The segments of a JPEG from SOI up to and including the first SOS header, and the offset
/// where that scan's entropy-coded data starts.
pub fn jpeg_segments(bytes: &[u8]) -> (Vec<Segment>, usize) {
    assert_eq!(&bytes[..2], [0xFF, 0xD8], "not a JPEG");
    let mut segments = Vec::new();
    let mut i = 2;
    loop {
        assert_eq!(bytes[i], 0xFF, "no marker at {i}");
        let marker = bytes[i + 1];
        let len = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
        let range = i..i + 2 + len;
        i = range.end;
        segments.push(Segment { marker, range });
        if marker == 0xDA {
            return (segments, i);
        }
    }
}

/// The APP11 segments (which carry C2PA JUMBF), as one contiguous range.
pub fn app11_range(bytes: &[u8]) -> Range<usize> {
    let (segments, _) = jpeg_segments(bytes);
    let app11: Vec<&Segment> = segments.iter().filter(|s| s.marker == 0xEB).collect();
    assert!(!app11.is_empty(), "no APP11 segment");
    for pair in app11.windows(2) {
        assert_eq!(
            pair[0].range.end, pair[1].range.start,
            "APP11 not contiguous"
        );
    }
    app11[0].range.start..app11[app11.len() - 1].range.end
}

/// A PNG chunk: its type and where it lies (length field to CRC inclusive).
#[derive(Clone, Debug)]
pub struct Chunk {
    pub kind: [u8; 4],
    pub range: Range<usize>,
}

/// The chunks of a PNG, in order.
pub fn png_chunks(bytes: &[u8]) -> Vec<Chunk> {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let mut chunks = Vec::new();
    let mut i = 8;
    while i < bytes.len() {
        let len = u32::from_be_bytes(bytes[i..i + 4].try_into().expect("4 bytes")) as usize;
        let kind: [u8; 4] = bytes[i + 4..i + 8].try_into().expect("4 bytes");
        chunks.push(Chunk {
            kind,
            range: i..i + 12 + len,
        });
        i += 12 + len;
    }
    chunks
}

/// A zlib stream of `data` in stored (uncompressed) deflate blocks.
pub fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = data.chunks(0xFFFF).collect();
    for (i, block) in blocks.iter().enumerate() {
        out.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65521;
        b = (b + a) % 65521;
    }
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}

/// `png` with its image data replaced by `pixels` (8-bit RGB, `width` wide, unfiltered, in one
/// new IDAT chunk where the first IDAT was). Every other chunk, the C2PA `caBX` chunk
/// included, keeps its bytes and its offset when it precedes the image data.
pub fn replace_png_pixels(png: &[u8], width: u32, pixels: &[u8]) -> Vec<u8> {
    let chunks = png_chunks(png);
    let idat: Vec<&Chunk> = chunks.iter().filter(|c| &c.kind == b"IDAT").collect();
    assert!(!idat.is_empty(), "no IDAT");
    let stride = width as usize * 3;
    let mut raw = Vec::with_capacity(pixels.len() + pixels.len() / stride);
    for row in pixels.chunks(stride) {
        raw.push(0); // filter type None
        raw.extend_from_slice(row);
    }
    let mut out = png[..idat[0].range.start].to_vec();
    png_chunk(&mut out, b"IDAT", &zlib_stored(&raw));
    out.extend_from_slice(&png[idat[idat.len() - 1].range.end..]);
    out
}
