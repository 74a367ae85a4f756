//! Marking a work: watermark, sign and register it in one step, all or nothing.
//!
//! The registry drives a crash-safe protocol: the work ID is reserved as a pending row owned
//! by a [`Lease`], the signed file is written to a temporary file next to the output (its
//! name carries the ID), the row is staged with the file's hash, the file is renamed into
//! place (and the directory synced) and the row completed. A failure at any step removes the
//! temporary file and the row; a kill leaves a pending row that the next command opening the
//! registry finishes (the file was renamed) or removes (it was not). So there is never a
//! registry row without its file, or the other way round. A long-lived process can mark
//! work after work with one [`Marker`] and one registry handle: each work has its own lease.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use inkseal_c2pa::{Format, Signer, WorkTerms, sign_bytes};
use inkseal_io::atomic::{self, AtomicFile, Options, Replace};
use inkseal_io::image::{self, DecodeOptions, Limits, Picture, WriteNotes};
use inkseal_mark::{EmbedConfig, EmbedReport, Embedder, Key, WorkId, perceptual_hash};
use inkseal_registry::{Lease, NewWork, Registry, Staged};
use sha2::{Digest, Sha256};

use crate::{Error, Result, fault};

/// What the manifest and the registry say about a work.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkInfo {
    /// The title.
    pub title: String,
    /// The artist.
    pub artist: String,
    /// A licence URL or name.
    pub license: Option<String>,
    /// Whether AI training is allowed (the manifest says `notAllowed` otherwise).
    pub training_allowed: bool,
}

/// A marked work.
#[derive(Clone, Debug)]
pub struct Marked {
    /// The work ID the registry allocated and the mark carries.
    pub work_id: WorkId,
    /// The output file.
    pub output: PathBuf,
    /// SHA-256 of the output file.
    pub sha256: [u8; 32],
    /// What the embedder measured.
    pub report: EmbedReport,
    /// SSIMULACRA2 of the written file against the input's pixels (for a JPEG output the
    /// file is decoded again and scored); `None` when it was not scored.
    pub ssimulacra2: Option<f64>,
    /// What the encoder could not carry over.
    pub notes: WriteNotes,
}

/// Marks works, one after another, with one key and strength (the embedder's plans and
/// buffers are reused).
pub struct Marker {
    embedder: Embedder,
    key_id: String,
    limits: Limits,
    replace: Replace,
}

impl Marker {
    /// A marker for `key`.
    pub fn new(key: &Key, config: EmbedConfig) -> Result<Marker> {
        Ok(Marker {
            embedder: Embedder::new(key, config)?,
            key_id: key.id(),
            limits: Limits::default(),
            replace: Replace::No,
        })
    }

    /// Whether an existing output may be replaced (default: no). With [`Replace::No`] an
    /// output that exists, or appears while the work is being marked (another `mark` to the
    /// same path), is an error and is left as it is; with [`Replace::Yes`] a file that is
    /// not the output of a registered work is replaced atomically. Either way, a path that
    /// the registry records as the output of another work is refused (see
    /// [`Registry::record_paths`]).
    pub fn with_replace(mut self, replace: Replace) -> Marker {
        self.replace = replace;
        self
    }

    /// Sets the decoding limits for inputs.
    pub fn with_limits(mut self, limits: Limits) -> Marker {
        self.limits = limits;
        self
    }

    /// The key's ID (recorded with each work).
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// [`load_for_marking`] with this marker's limits.
    pub fn load(&self, input: &Path, output: &Path) -> Result<Picture> {
        load_for_marking(input, output, self.limits)
    }

    /// Marks the file `input` into `output` (see [`Marker::mark_picture`]).
    pub fn mark_file(
        &mut self,
        input: &Path,
        output: &Path,
        info: &WorkInfo,
        signer: &Signer,
        registry: &mut Registry,
    ) -> Result<Marked> {
        let picture = self.load(input, output)?;
        self.mark_picture(picture, output, info, signer, registry)
            .map_err(|e| name_input(e, input))
    }

    /// Marks the encoded image `bytes` into `output`, in the format of the bytes.
    pub fn mark_bytes(
        &mut self,
        bytes: &[u8],
        output: &Path,
        info: &WorkInfo,
        signer: &Signer,
        registry: &mut Registry,
    ) -> Result<Marked> {
        let options = DecodeOptions::for_marking().with_limits(self.limits);
        let opened = image::open_bytes(bytes, &options)?;
        image::check_extension(output, opened.format)
            .map_err(|e| Error::from(e).about(format!("output {}", output.display())))?;
        let picture = opened.decode()?;
        self.mark_picture(picture, output, info, signer, registry)
    }

    /// Marks decoded pixels and writes them, signed, to `output` in the picture's format,
    /// recording the work in `registry`. All or nothing: on error there is no output file
    /// (an existing one is untouched) and no registry row.
    pub fn mark_picture(
        &mut self,
        mut picture: Picture,
        output: &Path,
        info: &WorkInfo,
        signer: &Signer,
        registry: &mut Registry,
    ) -> Result<Marked> {
        if info.title.trim().is_empty() || info.artist.trim().is_empty() {
            return Err(Error::Invalid(
                "the title and the artist must not be empty".into(),
            ));
        }
        if self.replace == Replace::No && std::fs::symlink_metadata(output).is_ok() {
            return Err(Error::OutputExists(output.to_path_buf()));
        }
        let lease = Lease::new();
        let id = registry
            .reserve_leased(
                &NewWork {
                    title: info.title.clone(),
                    artist: info.artist.clone(),
                    license: info.license.clone(),
                    training_allowed: info.training_allowed,
                    key_id: self.key_id.clone(),
                },
                &lease,
            )
            .map_err(|e| Error::registry("cannot allocate a work ID", e))?;
        fault::point("reserved");
        let temp = temp_path(output, id);
        match self.write_work(registry, &mut picture, output, info, signer, id, &temp) {
            Ok(marked) => Ok(marked),
            Err(error) => {
                // The temporary file is gone with its AtomicFile; the pending row goes now
                // (or, if even that fails, when the lease is dropped and the registry is
                // next recovered).
                let _ = std::fs::remove_file(&temp);
                match registry.abandon(id) {
                    Ok(()) => Err(error),
                    Err(cleanup) => Err(Error::Cleanup {
                        error: Box::new(error),
                        id,
                        cleanup,
                    }),
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn write_work(
        &mut self,
        registry: &mut Registry,
        picture: &mut Picture,
        output: &Path,
        info: &WorkInfo,
        signer: &Signer,
        id: u64,
        temp: &Path,
    ) -> Result<Marked> {
        let original = picture.pixels.clone();
        let report = match self.embedder.embed(picture.view_mut()?, WorkId(id)) {
            Ok(r) => r,
            Err(inkseal_mark::Error::TooSmall { width, height, min }) => {
                return Err(Error::TooSmall { width, height, min });
            }
            Err(e) => return Err(Error::CannotMark(e)),
        };
        let phash = perceptual_hash(picture.view()?);
        let (encoded, notes) = image::encode_to_vec(picture)?;
        let format = Format::detect_or_path(&encoded, output);
        let mut terms = WorkTerms::new(id, &info.title, &info.artist, inkseal_mark::ALGORITHM)
            .with_training_allowed(info.training_allowed);
        if let Some(license) = &info.license {
            terms = terms.with_license(license);
        }
        let signed = sign_bytes(&format, &encoded, &terms, signer)
            .map_err(|e| Error::credentials("cannot sign the Content Credentials", e))?;
        if !signed.embedded {
            return Err(Error::Invalid(format!(
                "{}: the credentials could not be embedded in this format",
                output.display()
            )));
        }
        let sha256: [u8; 32] = Sha256::digest(&signed.asset).into();
        let ssimulacra2 = picture.encoded_quality(&original, &signed.asset, report.ssimulacra2);

        let where_ = format!("registry {}", registry.path().display());
        let what = || where_.clone();
        registry
            .record_paths(id, temp, output)
            .map_err(|e| Error::registry(what(), e))?;
        let mut file = AtomicFile::create_named(output, temp, &Options::new(self.replace))?;
        file.file()
            .write_all(&signed.asset)
            .map_err(|e| Error::file(format!("cannot write {}", temp.display()), e))?;
        file.sync()?;
        fault::point("written");
        registry
            .stage(
                id,
                &Staged {
                    sha256,
                    phash,
                    manifest: signed.manifest,
                    output_path: output.to_path_buf(),
                    temp_path: temp.to_path_buf(),
                },
            )
            .map_err(|e| Error::registry(what(), e))?;
        fault::point("staged");
        if let Err(e) = file.commit() {
            // Renamed but the directory could not be synced: take the file back, so that the
            // abandoned row does not leave an unrecorded file behind. Only if the output is
            // this work's file: with Replace::No an output that appeared meanwhile (another
            // mark's) is the error, and it is left as it is.
            if let inkseal_io::Error::AlreadyExists(path) = e {
                return Err(Error::OutputExists(path));
            }
            if crate::verify::sha256_file(output).is_ok_and(|sha| sha == sha256) {
                let _ = std::fs::remove_file(output);
            }
            return Err(e.into());
        }
        fault::point("renamed");
        if let Err(e) = registry.complete(id) {
            // The file is in place but unrecorded: take it back so nothing is left half done.
            let _ = std::fs::remove_file(output);
            return Err(Error::registry("cannot record the work in the registry", e));
        }
        Ok(Marked {
            work_id: WorkId(id),
            output: output.to_path_buf(),
            sha256,
            report,
            ssimulacra2,
            notes,
        })
    }
}

/// Names `input` in the errors of [`Marker::mark_picture`] that are about its pixels (too
/// small, refused by the embedder), for callers that decoded it from a file.
pub fn name_input(error: Error, input: &Path) -> Error {
    match error {
        Error::TooSmall { .. } | Error::CannotMark(_) => error.about(input),
        other => other,
    }
}

/// Reads `input` for marking into `output`: refuses an output that is the input (under any
/// name), recognises the format from the content, checks that `output`'s extension names it
/// (the marked copy keeps the input's format) and decodes under `limits`, keeping alpha,
/// the ICC profile and EXIF.
pub fn load_for_marking(input: &Path, output: &Path, limits: Limits) -> Result<Picture> {
    if atomic::is_same_file(input, output) {
        return Err(Error::WouldOverwriteInput(input.to_path_buf()));
    }
    let options = DecodeOptions::for_marking().with_limits(limits);
    let opened = image::open_path(input, &options).map_err(|e| Error::from(e).about(input))?;
    image::check_extension(output, opened.format)
        .map_err(|e| Error::from(e).about(format!("output {}", output.display())))?;
    opened.decode().map_err(|e| Error::from(e).about(input))
}

/// `.<name>.<id>.tmp` next to `output`: the registry only ever deletes temporary files whose
/// name carries their work ID.
pub fn temp_path(output: &Path, id: u64) -> PathBuf {
    let name = output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    output.with_file_name(format!(".{name}.{id:016x}.tmp"))
}
