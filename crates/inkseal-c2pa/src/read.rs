//! Reading and validating manifests: embedded, sidecar, supplied or stored.

use std::io::{Cursor, Read, Seek};
use std::path::{Path, PathBuf};

use crate::limits::{self, MAX_MANIFEST_BYTES};
use crate::report::{CredentialReport, ManifestSource};
use crate::{Error, Format, Result, context, sidecar_path};

/// Reads the Content Credentials of the file at `path`.
///
/// The embedded manifest wins; without one, a sidecar is looked for at
/// [`sidecar_path`]`(path)` (`art.c2pa`) and then at `path` + `.c2pa` (`art.bmp.c2pa`).
/// Pass the PEM of trusted CA roots as `trust_anchors` to get [`Trusted`]; without anchors a
/// good manifest is [`Valid`].
///
/// A path ending in `.c2pa` is read as a stored manifest store with no asset (see
/// [`CredentialReport::from_manifest_store_bytes`]).
///
/// Returns `Ok(None)` when there is no manifest at all. A manifest that is present but cannot
/// be parsed (corrupt JUMBF, garbage) is [`Error::CorruptManifest`]; a manifest that parses
/// but fails validation (tampered pixels, wrong signature, …) is `Ok(Some(report))` with
/// state [`Invalid`] and the failure codes.
///
/// [`Trusted`]: crate::ValidationState::Trusted
/// [`Valid`]: crate::ValidationState::Valid
/// [`Invalid`]: crate::ValidationState::Invalid
///
/// A manifest store larger than [`MAX_MANIFEST_BYTES`] (a sidecar, a PNG chunk) is refused
/// before it is read, and so is a JPEG over [`MAX_JPEG_BYTES`](crate::MAX_JPEG_BYTES).
///
/// # Errors
/// [`Error::Io`], [`Error::CorruptManifest`], [`Error::TooLarge`] and
/// [`Error::TooManyChunks`], and [`Error::NotPem`] / [`Error::InvalidCertificate`] for
/// unusable trust anchors.
pub fn read_file(path: &Path, trust_anchors: Option<&str>) -> Result<Option<CredentialReport>> {
    if is_manifest_store_path(path) {
        let bytes = read_manifest_file(path)?;
        return CredentialReport::from_manifest_store_bytes(&bytes, trust_anchors).map(Some);
    }
    let mut file = inkseal_io::read::open(path).map_err(|e| Error::io(path, e))?;
    let mut head = [0u8; 32];
    let n = read_head(&mut file, &mut head).map_err(|e| Error::io(path, e))?;
    let format = Format::detect_or_path(&head[..n], path);
    if format.embeds() {
        let found = read_embedded(&format, &mut file, trust_anchors)?;
        if found.is_some() {
            return Ok(found);
        }
    }
    for candidate in sidecar_candidates(path) {
        if candidate.is_file() {
            return read_sidecar(path, &candidate, trust_anchors).map(Some);
        }
    }
    Ok(None)
}

/// Reads the manifest embedded in `bytes` (of `format`); `Ok(None)` when there is none or the
/// format cannot embed. See [`read_file`] for states and errors.
///
/// # Errors
/// As [`read_file`].
pub fn read_bytes(
    format: &Format,
    bytes: &[u8],
    trust_anchors: Option<&str>,
) -> Result<Option<CredentialReport>> {
    if !format.embeds() {
        return Ok(None);
    }
    read_embedded(format, Cursor::new(bytes), trust_anchors)
}

/// Validates the sidecar manifest store `sidecar` against the asset at `asset`.
///
/// # Errors
/// [`Error::Io`], [`Error::CorruptManifest`] and trust-anchor errors as in [`read_file`].
pub fn read_sidecar(
    asset: &Path,
    sidecar: &Path,
    trust_anchors: Option<&str>,
) -> Result<CredentialReport> {
    let manifest = read_manifest_file(sidecar)?;
    let mut file = inkseal_io::read::open(asset).map_err(|e| Error::io(asset, e))?;
    let mut head = [0u8; 32];
    let n = read_head(&mut file, &mut head).map_err(|e| Error::io(asset, e))?;
    let format = Format::detect_or_path(&head[..n], asset);
    validate_with_manifest(
        &manifest,
        &format,
        file,
        trust_anchors,
        ManifestSource::Sidecar(sidecar.to_path_buf()),
    )
}

/// Validates manifest store bytes (e.g. from the registry, or a sidecar already in memory)
/// against an asset's bytes: a swapped or stale manifest shows up as a hash mismatch.
///
/// # Errors
/// [`Error::CorruptManifest`] and trust-anchor errors as in [`read_file`].
pub fn read_with_manifest(
    format: &Format,
    asset: &[u8],
    manifest: &[u8],
    trust_anchors: Option<&str>,
) -> Result<CredentialReport> {
    validate_with_manifest(
        manifest,
        format,
        Cursor::new(asset),
        trust_anchors,
        ManifestSource::External,
    )
}

impl CredentialReport {
    /// Reads stored manifest store bytes (e.g. from the registry) with no asset, to show the
    /// recovered credentials of a work whose embedded manifest was stripped.
    ///
    /// The signature, certificate (against `trust_anchors`) and the assertions' hashes are
    /// validated, but **not** the binding to any content: the report has
    /// `content_checked == false`, source [`ManifestSource::Stored`], and the content-binding
    /// status codes that the SDK reports without an asset (`assertion.dataHash.mismatch`, …)
    /// are kept in `statuses` but ignored for `state`.
    ///
    /// # Errors
    /// [`Error::CorruptManifest`] when the bytes are not a manifest store.
    pub fn from_manifest_store_bytes(
        manifest: &[u8],
        trust_anchors: Option<&str>,
    ) -> Result<CredentialReport> {
        let reader = c2pa::Reader::from_context(context::context(trust_anchors)?)
            .with_manifest_data_and_stream(
                manifest,
                "application/octet-stream",
                Cursor::new(Vec::<u8>::new()),
            )
            .map_err(|e| Error::CorruptManifest(Box::new(e)))?;
        Ok(CredentialReport::from_reader(
            &reader,
            ManifestSource::Stored,
            false,
        ))
    }
}

fn read_embedded(
    format: &Format,
    mut stream: impl Read + Seek + Send,
    trust_anchors: Option<&str>,
) -> Result<Option<CredentialReport>> {
    limits::check_embedded(format, &mut stream)?;
    let reader = c2pa::Reader::from_context(context::context(trust_anchors)?)
        .with_stream(format.mime_type(), stream);
    match reader {
        Ok(reader) => Ok(Some(CredentialReport::from_reader(
            &reader,
            ManifestSource::Embedded,
            true,
        ))),
        Err(e) if is_no_manifest(&e) => Ok(None),
        Err(e) => Err(Error::CorruptManifest(Box::new(e))),
    }
}

fn validate_with_manifest(
    manifest: &[u8],
    format: &Format,
    stream: impl Read + Seek + Send,
    trust_anchors: Option<&str>,
    source: ManifestSource,
) -> Result<CredentialReport> {
    let reader = c2pa::Reader::from_context(context::context(trust_anchors)?)
        .with_manifest_data_and_stream(manifest, format.mime_type(), stream)
        .map_err(|e| Error::CorruptManifest(Box::new(e)))?;
    Ok(CredentialReport::from_reader(&reader, source, true))
}

/// A manifest store file, refused before reading when it is over [`MAX_MANIFEST_BYTES`].
fn read_manifest_file(path: &Path) -> Result<Vec<u8>> {
    inkseal_io::read::to_vec(path, MAX_MANIFEST_BYTES).map_err(|e| match std::fs::metadata(path) {
        Ok(meta) if e.kind() == std::io::ErrorKind::FileTooLarge => Error::TooLarge {
            what: format!("the manifest store {}", path.display()),
            size: meta.len(),
            max: MAX_MANIFEST_BYTES,
        },
        _ => Error::io(path, e),
    })
}

fn is_no_manifest(e: &c2pa::Error) -> bool {
    matches!(
        e,
        c2pa::Error::JumbfNotFound | c2pa::Error::ProvenanceMissing
    )
}

fn is_manifest_store_path(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("c2pa"))
}

fn sidecar_candidates(path: &Path) -> Vec<PathBuf> {
    let mut appended = path.as_os_str().to_owned();
    appended.push(".c2pa");
    vec![sidecar_path(path), PathBuf::from(appended)]
}

fn read_head(file: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        let got = file.read(&mut buf[n..])?;
        if got == 0 {
            break;
        }
        n += got;
    }
    file.rewind()?;
    Ok(n)
}
