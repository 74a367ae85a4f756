//! Signing: build the manifest, sign it, embed it (or return it for a sidecar).

use std::io::Cursor;
use std::path::{Path, PathBuf};

use crate::fsutil::write_atomic;
use crate::{Error, Format, Result, Signer, WorkTerms, context, manifest};

/// The result of [`sign_file`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Signed {
    /// The signed manifest store (JUMBF), as embedded or as written to the sidecar; keep it in
    /// the registry to show the credentials when a platform strips them.
    pub manifest_bytes: Vec<u8>,
    /// The sidecar `.c2pa` file written for formats without embedding, else `None`.
    pub sidecar: Option<PathBuf>,
    /// The detected format of the asset.
    pub format: Format,
}

/// The result of [`sign_bytes`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignedBytes {
    /// The signed asset: with the manifest embedded, or the input unchanged when the format
    /// needs a sidecar (see [`SignedBytes::embedded`]).
    pub asset: Vec<u8>,
    /// The signed manifest store (JUMBF).
    pub manifest: Vec<u8>,
    /// Whether `manifest` is embedded in `asset`; when `false`, store `manifest` as a sidecar.
    pub embedded: bool,
}

/// The sidecar path for an asset: the asset path with its extension replaced by `.c2pa`
/// (`art.bmp` → `art.c2pa`), the convention of the C2PA SDK and c2patool, so other readers
/// find it too.
pub fn sidecar_path(asset: &Path) -> PathBuf {
    asset.with_extension("c2pa")
}

/// Signs `bytes` (of `format`) in memory.
///
/// # Errors
/// [`Error::InvalidTerms`] for unusable terms, [`Error::Signing`] if the SDK cannot parse the
/// asset or sign (e.g. a certificate outside the C2PA profile), [`Error::Settings`] on an
/// internal settings failure.
pub fn sign_bytes(
    format: &Format,
    bytes: &[u8],
    terms: &WorkTerms,
    signer: &Signer,
) -> Result<SignedBytes> {
    let mut builder = manifest::builder(terms, context::context(None)?)?;
    let embedded = format.embeds();
    if !embedded {
        builder.set_no_embed(true);
    }
    let mut source = Cursor::new(bytes);
    let mut dest = Cursor::new(Vec::with_capacity(bytes.len() + 64 * 1024));
    let manifest = builder
        .sign(signer.c2pa(), format.mime_type(), &mut source, &mut dest)
        .map_err(|e| Error::Signing(Box::new(e)))?;
    Ok(SignedBytes {
        asset: dest.into_inner(),
        manifest,
        embedded,
    })
}

/// Signs the file `input` and writes the result to `output`.
///
/// The format is detected from the bytes (falling back to the extension). JPEG, PNG, WebP,
/// TIFF and GIF get the manifest embedded; other formats are copied unchanged to `output`
/// and the manifest store goes to [`sidecar_path`]`(output)`. Every file is written
/// atomically (temporary file in the same directory, then rename), replacing an existing
/// `output`. The input is never modified: `output` naming the input is an error, except for
/// sidecar formats, where only the sidecar is written.
///
/// # Errors
/// [`Error::OutputIsInput`], [`Error::Io`], then as [`sign_bytes`].
pub fn sign_file(
    input: &Path,
    output: &Path,
    terms: &WorkTerms,
    signer: &Signer,
) -> Result<Signed> {
    let file = inkseal_io::read::open(input).map_err(|e| Error::io(input, e))?;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut &file, &mut bytes).map_err(|e| Error::io(input, e))?;
    let format = Format::detect_or_path(&bytes, input);
    let same = same_file(input, output);
    if same && format.embeds() {
        return Err(Error::OutputIsInput(output.to_path_buf()));
    }
    let signed = sign_bytes(&format, &bytes, terms, signer)?;
    let sidecar = if signed.embedded {
        write_atomic(output, &signed.asset, true, false)?;
        None
    } else {
        if !same {
            write_atomic(output, &signed.asset, true, false)?;
        }
        let path = sidecar_path(output);
        if same_file(input, &path) {
            return Err(Error::OutputIsInput(path));
        }
        write_atomic(&path, &signed.manifest, true, false)?;
        Some(path)
    };
    Ok(Signed {
        manifest_bytes: signed.manifest,
        sidecar,
        format,
    })
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
