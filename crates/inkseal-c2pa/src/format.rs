//! Asset formats: which ones carry an embedded manifest and which get a sidecar.

use std::path::Path;

/// The format of an asset, decided from its leading bytes (or its file extension).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// JPEG (`image/jpeg`), embedded in APP11 segments.
    Jpeg,
    /// PNG (`image/png`), embedded in a `caBX` chunk.
    Png,
    /// WebP (`image/webp`), embedded in a RIFF `C2PA` chunk.
    WebP,
    /// TIFF (`image/tiff`), embedded in a TIFF tag.
    Tiff,
    /// GIF (`image/gif`), embedded in an application extension.
    Gif,
    /// Anything else, by MIME type: signed with a sidecar `.c2pa` manifest store.
    Other(String),
}

impl Format {
    /// Recognises JPEG, PNG, WebP, TIFF, GIF and BMP from their magic bytes.
    pub fn detect(bytes: &[u8]) -> Option<Format> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Format::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Format::Png)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(Format::WebP)
        } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
            Some(Format::Tiff)
        } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
            Some(Format::Gif)
        } else if bytes.starts_with(b"BM") && bytes.len() >= 26 {
            Some(Format::Other("image/bmp".to_owned()))
        } else {
            None
        }
    }

    /// The format named by a path's extension; unknown extensions give
    /// `Other("application/octet-stream")`.
    pub fn from_path(path: &Path) -> Format {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        Format::from_name(&ext)
    }

    /// The format for a MIME type or file extension (`"image/png"`, `"png"`, `"jpg"`).
    pub fn from_name(name: &str) -> Format {
        let name = name.trim().to_ascii_lowercase();
        match name.as_str() {
            "jpg" | "jpeg" | "image/jpeg" => Format::Jpeg,
            "png" | "image/png" => Format::Png,
            "webp" | "image/webp" => Format::WebP,
            "tif" | "tiff" | "image/tiff" => Format::Tiff,
            "gif" | "image/gif" => Format::Gif,
            "" => Format::Other("application/octet-stream".to_owned()),
            _ if name.contains('/') => Format::Other(name),
            ext => match c2pa_mime(ext) {
                Some(mime) => Format::Other(mime.to_owned()),
                None => Format::Other("application/octet-stream".to_owned()),
            },
        }
    }

    /// Detects from the bytes, falling back to the path's extension.
    pub fn detect_or_path(bytes: &[u8], path: &Path) -> Format {
        Format::detect(bytes).unwrap_or_else(|| Format::from_path(path))
    }

    /// The MIME type.
    pub fn mime_type(&self) -> &str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::WebP => "image/webp",
            Format::Tiff => "image/tiff",
            Format::Gif => "image/gif",
            Format::Other(mime) => mime,
        }
    }

    /// Whether the manifest is embedded in the file (`true`) or written as a sidecar (`false`).
    pub fn embeds(&self) -> bool {
        !matches!(self, Format::Other(_))
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.mime_type())
    }
}

/// A few common extensions of formats we sign with a sidecar.
fn c2pa_mime(ext: &str) -> Option<&'static str> {
    Some(match ext {
        "bmp" => "image/bmp",
        "svg" => "image/svg+xml",
        "ico" => "image/x-icon",
        "avif" => "image/avif",
        "heic" => "image/heic",
        "heif" => "image/heif",
        "jxl" => "image/jxl",
        "psd" => "image/vnd.adobe.photoshop",
        "pdf" => "application/pdf",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_bytes_win_over_names() {
        assert_eq!(Format::detect(b"\xFF\xD8\xFF\xE0rest"), Some(Format::Jpeg));
        assert_eq!(Format::detect(b"\x89PNG\r\n\x1a\n...."), Some(Format::Png));
        assert_eq!(Format::detect(b"RIFF\0\0\0\0WEBPVP8 "), Some(Format::WebP));
        assert_eq!(Format::detect(b"GIF89a......"), Some(Format::Gif));
        assert_eq!(Format::detect(b"MM\0*\0\0\0\x08"), Some(Format::Tiff));
        assert_eq!(Format::detect(b"hello"), None);
        assert_eq!(
            Format::detect_or_path(b"\x89PNG\r\n\x1a\n", Path::new("x.jpg")),
            Format::Png
        );
        assert_eq!(Format::from_path(Path::new("a/b.JPEG")), Format::Jpeg);
        assert!(!Format::from_path(Path::new("a.bmp")).embeds());
        assert_eq!(
            Format::from_path(Path::new("a.bmp")).mime_type(),
            "image/bmp"
        );
        assert_eq!(
            Format::from_path(Path::new("noext")).mime_type(),
            "application/octet-stream"
        );
    }
}
