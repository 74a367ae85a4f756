//! The `inkseal._native` extension module behind the `inkseal` Python package.
//!
//! A shell over `inkseal-core` and `inkseal-scan`, like the CLI: it converts arguments,
//! releases the GIL around every image operation, and turns errors into typed Python
//! exceptions. The Python package (`python/inkseal`) adds numpy and pyarrow conversions,
//! docstrings and type stubs; it has no workflow of its own.

// The closures run with the GIL released return `inkseal_core::Error` once, and it becomes a
// Python exception at once: its size does not matter here.
#![allow(clippy::result_large_err)]

mod arrow;

use std::path::PathBuf;
use std::str::FromStr;

use inkseal_core::image::{self, DecodeOptions};
use inkseal_core::{Marker, Store, Verifier, WorkInfo};
use inkseal_mark::{DetectConfig, EmbedConfig, Embedder, ImageMut, ImageRef, PixelLayout, WorkId};
use inkseal_scan::{Input, Record, ScanConfig, Scanner};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

create_exception!(
    _native,
    InksealError,
    PyException,
    "Base class of inkseal's errors."
);
create_exception!(
    _native,
    ImageError,
    InksealError,
    "The bytes are not a supported image, are damaged, or exceed the decoding limits."
);
create_exception!(
    _native,
    ImageTooSmallError,
    ImageError,
    "The image is too small to carry a mark."
);
create_exception!(
    _native,
    KeyFileError,
    InksealError,
    "A watermark key (file or text) cannot be used."
);
create_exception!(
    _native,
    RegistryError,
    InksealError,
    "The work registry cannot be opened or updated."
);
create_exception!(
    _native,
    CredentialsError,
    InksealError,
    "Signing credentials or a manifest cannot be used."
);

/// The Python exception for a workflow error.
fn core_err(e: inkseal_core::Error) -> PyErr {
    use inkseal_core::Error as E;
    let message = e.to_string();
    let kind = match &e {
        E::Input { error, .. } => match **error {
            E::TooSmall { .. } => 1,
            E::Io(_) => 0,
            E::KeyFile { .. } => 2,
            _ => 9,
        },
        E::Cleanup { .. } => 3,
        E::Io(_) => 0,
        E::TooSmall { .. } => 1,
        E::KeyFile { .. } => 2,
        E::Registry { .. } | E::NoDataDir(_) => 3,
        E::Credentials { .. } => 4,
        E::WouldOverwriteInput(_) | E::Invalid(_) => 5,
        _ => 9,
    };
    match kind {
        0 => ImageError::new_err(message),
        1 => ImageTooSmallError::new_err(message),
        2 => KeyFileError::new_err(message),
        3 => RegistryError::new_err(message),
        4 => CredentialsError::new_err(message),
        5 => PyValueError::new_err(message),
        _ => InksealError::new_err(message),
    }
}

fn mark_err(e: inkseal_mark::Error) -> PyErr {
    match e {
        inkseal_mark::Error::TooSmall { .. } => ImageTooSmallError::new_err(e.to_string()),
        other => InksealError::new_err(other.to_string()),
    }
}

fn scan_err(e: inkseal_scan::Error) -> PyErr {
    match e {
        inkseal_scan::Error::Image(e) => ImageError::new_err(e.to_string()),
        inkseal_scan::Error::Mark(e) => mark_err(e),
        other => InksealError::new_err(other.to_string()),
    }
}

/// A watermark key. `Key.public()` is the published key anyone can read work IDs with;
/// `Key.generate()` makes a private one.
#[pyclass(module = "inkseal", name = "Key", frozen)]
#[derive(Clone)]
struct Key {
    inner: inkseal_mark::Key,
}

#[pymethods]
impl Key {
    /// The published key.
    #[staticmethod]
    fn public() -> Key {
        Key {
            inner: inkseal_mark::Key::public(),
        }
    }

    /// A new random private key.
    #[staticmethod]
    fn generate() -> PyResult<Key> {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha20Rng::try_from_os_rng()
            .map_err(|e| InksealError::new_err(format!("no randomness: {e}")))?;
        Ok(Key {
            inner: inkseal_mark::Key::generate(&mut rng),
        })
    }

    /// A key from its text form (what a key file holds).
    #[staticmethod]
    fn from_text(text: &str) -> PyResult<Key> {
        inkseal_mark::Key::from_text(text)
            .map(|inner| Key { inner })
            .map_err(|e| KeyFileError::new_err(e.to_string()))
    }

    /// The key in a key file.
    #[staticmethod]
    fn load(path: PathBuf) -> PyResult<Key> {
        inkseal_core::keyfile::load(Some(&path))
            .map(|loaded| Key { inner: loaded.key })
            .map_err(core_err)
    }

    /// Writes the key to a new file (mode 0600, atomically); `overwrite` replaces one.
    #[pyo3(signature = (path, overwrite = false))]
    fn save(&self, path: PathBuf, overwrite: bool) -> PyResult<()> {
        use inkseal_core::atomic::{self, Options, Replace};
        let replace = if overwrite { Replace::Yes } else { Replace::No };
        atomic::write(
            &path,
            self.inner.to_text().as_bytes(),
            &Options::private(replace),
        )
        .map_err(|e| KeyFileError::new_err(e.to_string()))
    }

    /// The key's text form.
    fn to_text(&self) -> String {
        self.inner.to_text()
    }

    /// The key's ID (safe to share: it names the key, it does not reveal it).
    #[getter]
    fn id(&self) -> String {
        self.inner.id()
    }

    fn __eq__(&self, other: &Key) -> bool {
        self.inner.id() == other.inner.id()
    }

    fn __repr__(&self) -> String {
        format!("Key(id='{}')", self.inner.id())
    }
}

fn key_or_public(key: Option<&Key>) -> inkseal_mark::Key {
    key.map_or_else(inkseal_mark::Key::public, |k| k.inner.clone())
}

/// What a search for a mark found.
#[pyclass(module = "inkseal", name = "Detection", frozen, get_all)]
#[derive(Clone)]
struct Detection {
    /// Whether a mark was found (p-value under the threshold).
    detected: bool,
    /// The work ID, 16 hex digits, or None when nothing was detected.
    work_id: Option<String>,
    /// The probability that an unmarked image scores this high (small: a mark is present).
    p_value: f64,
    /// Rotation since marking in degrees, when detected.
    rotation_deg: Option<f64>,
    /// Scale since marking, when detected.
    scale: Option<f64>,
    /// Aspect change since marking, when detected.
    aspect: Option<f64>,
    /// Whether the image was mirrored, when detected.
    mirrored: Option<bool>,
    /// The marked area's bounding box `(x, y, width, height)` in image pixels, when
    /// detected: the whole image when the work fills it, a part of it when the work is shown
    /// inside a larger picture (a page, a collage).
    region: Option<(u32, u32, u32, u32)>,
}

#[pymethods]
impl Detection {
    fn __repr__(&self) -> String {
        format!(
            "Detection(detected={}, work_id={}, p_value={:e})",
            if self.detected { "True" } else { "False" },
            self.work_id
                .as_ref()
                .map_or("None".to_string(), |w| format!("'{w}'")),
            self.p_value
        )
    }
}

impl From<inkseal_mark::Detection> for Detection {
    fn from(d: inkseal_mark::Detection) -> Self {
        let g = d.geometry.as_ref();
        Detection {
            detected: d.detected,
            work_id: d.work_id.filter(|_| d.detected).map(|id| id.to_string()),
            p_value: d.p_value,
            rotation_deg: g.map(|g| g.rotation_deg),
            scale: g.map(|g| g.scale),
            aspect: g.map(|g| g.aspect),
            mirrored: g.map(|g| g.mirrored),
            region: d.region.map(|r| (r.x, r.y, r.width, r.height)),
        }
    }
}

fn layout_of(channels: u32) -> PyResult<PixelLayout> {
    match channels {
        1 => Ok(PixelLayout::Gray8),
        3 => Ok(PixelLayout::Rgb8),
        4 => Ok(PixelLayout::Rgba8),
        n => Err(PyValueError::new_err(format!(
            "images have 1, 3 or 4 channels, not {n}"
        ))),
    }
}

fn parse_id(work_id: Option<&str>) -> PyResult<WorkId> {
    match work_id {
        Some(text) => WorkId::from_str(text).map_err(|_| {
            PyValueError::new_err(format!(
                "work_id must be exactly 16 hexadecimal digits, not {text:?}"
            ))
        }),
        None => Ok(WorkId(rand::random::<u64>())),
    }
}

/// What an embedding did: the work ID, the PSNR, the SSIMULACRA2 score and the gain.
#[pyclass(module = "inkseal", name = "EmbedReport", frozen, get_all)]
#[derive(Clone)]
struct EmbedReport {
    /// The work ID the mark carries, 16 hex digits.
    work_id: String,
    /// PSNR of the marked pixels against the original, in dB.
    psnr_db: f64,
    /// SSIMULACRA2 of the marked pixels against the original (100: identical, 90: visually
    /// lossless, 70: high quality); None on the fast path (no target).
    ssimulacra2: Option<f64>,
    /// The target that was aimed at, or None for the fast fixed-amplitude mark.
    target_quality: Option<f64>,
    /// The mark's amplitude against the perceptual model's: chosen for the target and
    /// times the strength, or the strength alone on the fast path.
    gain: f64,
    /// The strength asked for.
    strength: f32,
    /// Whether the image is mostly near-white or near-black, so the mark will not survive
    /// recompression.
    fragile: bool,
}

#[pymethods]
impl EmbedReport {
    fn __repr__(&self) -> String {
        format!(
            "EmbedReport(work_id='{}', psnr_db={:.2}, ssimulacra2={}, gain={:.3})",
            self.work_id,
            self.psnr_db,
            self.ssimulacra2
                .map_or_else(|| "None".to_string(), |q| format!("{q:.2}")),
            self.gain
        )
    }
}

impl EmbedReport {
    fn new(id: WorkId, config: &EmbedConfig, report: &inkseal_mark::EmbedReport) -> Self {
        EmbedReport {
            work_id: id.to_string(),
            psnr_db: report.psnr_db,
            ssimulacra2: report.ssimulacra2,
            target_quality: config.target_quality,
            gain: report.quality_gain,
            strength: config.strength,
            fragile: report.is_fragile(),
        }
    }
}

/// The SSIMULACRA2 target the embedder aims at by default (the CLI's).
fn default_target() -> Option<f64> {
    EmbedConfig::default().target_quality
}

/// The embedder's settings from the Python arguments; a target outside (0, 100] is a
/// ValueError.
fn embed_config(strength: f32, target_quality: Option<f64>) -> PyResult<EmbedConfig> {
    if let Some(t) = target_quality
        && !(t > 0.0 && t <= 100.0)
    {
        return Err(PyValueError::new_err(format!(
            "target_quality is a SSIMULACRA2 score in (0, 100], or None for the fast mark, not {t}"
        )));
    }
    Ok(EmbedConfig::default()
        .with_strength(strength)
        .with_target_quality(target_quality))
}

/// Embeds a mark in raw 8-bit pixels; returns the marked pixels and an EmbedReport.
#[pyfunction]
#[pyo3(signature = (pixels, width, height, channels, work_id = None, key = None, strength = 1.0,
    target_quality = default_target()))]
#[allow(clippy::too_many_arguments)]
fn embed_pixels<'py>(
    py: Python<'py>,
    pixels: &[u8],
    width: u32,
    height: u32,
    channels: u32,
    work_id: Option<&str>,
    key: Option<&Key>,
    strength: f32,
    target_quality: Option<f64>,
) -> PyResult<(Bound<'py, PyBytes>, EmbedReport)> {
    let layout = layout_of(channels)?;
    let id = parse_id(work_id)?;
    let key = key_or_public(key);
    let config = embed_config(strength, target_quality)?;
    let mut data = pixels.to_vec();
    let report = py.detach(|| -> Result<_, inkseal_mark::Error> {
        let mut embedder = Embedder::new(&key, config.clone())?;
        embedder.embed(ImageMut::new(&mut data, width, height, layout)?, id)
    });
    let report = report.map_err(mark_err)?;
    Ok((
        PyBytes::new(py, &data),
        EmbedReport::new(id, &config, &report),
    ))
}

/// Embeds a mark in an encoded image; returns the marked image in the same format and an
/// EmbedReport (its scores are of the marked pixels, before encoding).
#[pyfunction]
#[pyo3(signature = (data, work_id = None, key = None, strength = 1.0,
    target_quality = default_target()))]
fn embed_bytes<'py>(
    py: Python<'py>,
    data: &[u8],
    work_id: Option<&str>,
    key: Option<&Key>,
    strength: f32,
    target_quality: Option<f64>,
) -> PyResult<(Bound<'py, PyBytes>, EmbedReport)> {
    let id = parse_id(work_id)?;
    let key = key_or_public(key);
    let config = embed_config(strength, target_quality)?;
    let out = py.detach(|| -> inkseal_core::Result<_> {
        let mut picture = image::decode_bytes(data, &DecodeOptions::for_marking())?;
        let mut embedder = Embedder::new(&key, config.clone())?;
        let report = embedder
            .embed(picture.view_mut()?, id)
            .map_err(|e| match e {
                inkseal_mark::Error::TooSmall { width, height, min } => {
                    inkseal_core::Error::TooSmall { width, height, min }
                }
                other => inkseal_core::Error::CannotMark(other),
            })?;
        let (bytes, _) = image::encode_to_vec(&picture)?;
        Ok((bytes, report))
    });
    let (bytes, report) = out.map_err(core_err)?;
    Ok((
        PyBytes::new(py, &bytes),
        EmbedReport::new(id, &config, &report),
    ))
}

/// Searches raw 8-bit pixels for a mark.
#[pyfunction]
#[pyo3(signature = (pixels, width, height, channels, key = None))]
fn detect_pixels(
    py: Python<'_>,
    pixels: &[u8],
    width: u32,
    height: u32,
    channels: u32,
    key: Option<&Key>,
) -> PyResult<Detection> {
    let layout = layout_of(channels)?;
    let key = key_or_public(key);
    py.detach(|| -> Result<Detection, inkseal_mark::Error> {
        let mut detector = inkseal_mark::Detector::new(&key, DetectConfig::default())?;
        Ok(detector
            .detect(ImageRef::new(pixels, width, height, layout)?)?
            .into())
    })
    .map_err(mark_err)
}

/// Searches many encoded images in parallel with the GIL released, exactly as a scan
/// decodes and searches them. One engine (thread pool, one detector per thread) is built
/// once and reused across calls: keep one per process (or per Ray actor).
#[pyclass(module = "inkseal", name = "BatchDetector", frozen)]
struct BatchDetector {
    scanner: Scanner,
    key_id: String,
}

/// The columns of a batch result.
type Columns = (
    Vec<bool>,
    Vec<Option<String>>,
    Vec<Option<f64>>,
    Vec<Option<String>>,
    Vec<Option<f64>>,
    Vec<Option<f64>>,
    Vec<Option<f64>>,
    Vec<Option<bool>>,
);

#[pymethods]
impl BatchDetector {
    /// A detector for `key` (default: the public key) on `threads` threads (0: all cores).
    #[new]
    #[pyo3(signature = (key = None, threads = 0))]
    fn new(key: Option<&Key>, threads: usize) -> PyResult<BatchDetector> {
        let key = key_or_public(key);
        let scanner =
            Scanner::new(&key, ScanConfig::default().with_threads(threads)).map_err(scan_err)?;
        Ok(BatchDetector {
            scanner,
            key_id: key.id(),
        })
    }

    /// The number of worker threads.
    #[getter]
    fn threads(&self) -> usize {
        self.scanner.threads()
    }

    /// The key's ID.
    #[getter]
    fn key_id(&self) -> String {
        self.key_id.clone()
    }

    /// Detects in a list of `bytes` (None is a null cell): a tuple of columns `(detected,
    /// work_id, p_value, error, rotation_deg, scale, aspect, mirrored)`. A bad image is an
    /// error in its row, never an exception for the batch.
    fn detect(&self, py: Python<'_>, images: Vec<Option<Bound<'_, PyBytes>>>) -> Columns {
        let cells: Vec<Option<&[u8]>> = images
            .iter()
            .map(|b| b.as_ref().map(|b| b.as_bytes()))
            .collect();
        self.detect_cells(py, &cells)
    }

    /// Detects in the cells of Arrow `binary` or `large_binary` arrays without copying
    /// them: one `(offset, length, validity, offsets, data, large)` tuple per chunk, the
    /// buffers being `array.buffers()`. The same columns as `detect`, one row per cell
    /// across the chunks in order.
    fn detect_arrow(&self, py: Python<'_>, chunks: Vec<arrow::ChunkArgs<'_>>) -> PyResult<Columns> {
        let chunks = chunks
            .into_iter()
            .map(arrow::Chunk::new)
            .collect::<PyResult<Vec<_>>>()?;
        let mut cells = Vec::new();
        for chunk in &chunks {
            chunk.cells(&mut cells);
        }
        Ok(self.detect_cells(py, &cells))
    }

    /// Detects in one encoded image; raises on a bad image.
    fn detect_one(&self, py: Python<'_>, data: &[u8]) -> PyResult<Detection> {
        let mut results = py.detach(|| self.scanner.detect_bytes(&[data]));
        match results.pop() {
            Some(Ok(d)) => Ok(d.into()),
            Some(Err(e)) => Err(scan_err(e)),
            None => Err(InksealError::new_err("no result")),
        }
    }
}

impl BatchDetector {
    /// Searches the cells (None: a null cell) with the GIL released, in parallel.
    fn detect_cells(&self, py: Python<'_>, cells: &[Option<&[u8]>]) -> Columns {
        let slices: Vec<&[u8]> = cells.iter().map(|c| c.unwrap_or(&[])).collect();
        let results = py.detach(|| self.scanner.detect_bytes(&slices));
        let n = results.len();
        let mut cols: Columns = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for (result, cell) in results.into_iter().zip(cells) {
            let result = if cell.is_none() {
                Err("null image cell".to_string())
            } else {
                result.map_err(|e| e.to_string())
            };
            match result {
                Ok(d) => {
                    let d = Detection::from(d);
                    cols.0.push(d.detected);
                    cols.1.push(d.work_id);
                    cols.2.push(Some(d.p_value));
                    cols.3.push(None);
                    cols.4.push(d.rotation_deg);
                    cols.5.push(d.scale);
                    cols.6.push(d.aspect);
                    cols.7.push(d.mirrored);
                }
                Err(e) => {
                    cols.0.push(false);
                    cols.1.push(None);
                    cols.2.push(None);
                    cols.3.push(Some(e));
                    cols.4.push(None);
                    cols.5.push(None);
                    cols.6.push(None);
                    cols.7.push(None);
                }
            }
        }
        cols
    }
}

fn store(registry: Option<PathBuf>, credentials: Option<PathBuf>) -> Store {
    Store::new()
        .with_registry(registry)
        .with_credentials(credentials)
}

/// Where a work comes from: a file to read, or encoded bytes in memory.
enum Source {
    File(PathBuf),
    Bytes(Vec<u8>),
}

/// Marks, signs and registers one work from `source` into `output`; the dict `mark_file`
/// and `mark_bytes` return.
#[allow(clippy::too_many_arguments)]
fn mark_work<'py>(
    py: Python<'py>,
    source: Source,
    output: PathBuf,
    info: WorkInfo,
    key: Option<&Key>,
    store: Store,
    strength: f32,
    target_quality: Option<f64>,
) -> PyResult<Bound<'py, PyDict>> {
    let key = key_or_public(key);
    let config = embed_config(strength, target_quality)?;
    let (marked, registry_path, signer) = py
        .detach(|| -> inkseal_core::Result<_> {
            let mut marker = Marker::new(&key, config.clone())?;
            let chosen = store.signer(None, &info.artist)?;
            let mut registry = store.open_registry()?.registry;
            let marked = match &source {
                Source::File(input) => {
                    let picture = marker.load(input, &output)?;
                    marker
                        .mark_picture(picture, &output, &info, &chosen.signer, &mut registry)
                        .map_err(|e| inkseal_core::mark::name_input(e, input))?
                }
                Source::Bytes(bytes) => {
                    marker.mark_bytes(bytes, &output, &info, &chosen.signer, &mut registry)?
                }
            };
            Ok((
                marked,
                registry.path().to_path_buf(),
                chosen.signer.subject().to_string(),
            ))
        })
        .map_err(core_err)?;
    let d = PyDict::new(py);
    d.set_item("work_id", marked.work_id.to_string())?;
    d.set_item("output", marked.output)?;
    d.set_item("sha256", hex::encode(marked.sha256))?;
    d.set_item("psnr_db", marked.report.psnr_db)?;
    d.set_item("ssimulacra2", marked.ssimulacra2)?;
    d.set_item("gain", marked.report.quality_gain)?;
    d.set_item("fragile", marked.report.is_fragile())?;
    d.set_item("key_id", key.id())?;
    d.set_item("signer", signer)?;
    d.set_item("registry", registry_path)?;
    Ok(d)
}

/// Marks, signs and registers a work read from a file (see `inkseal mark`); returns a dict.
#[pyfunction]
#[pyo3(signature = (input, output, title, artist, license = None, allow_training = false,
    key = None, registry = None, credentials = None, strength = 1.0,
    target_quality = default_target()))]
#[allow(clippy::too_many_arguments)]
fn mark_file<'py>(
    py: Python<'py>,
    input: PathBuf,
    output: PathBuf,
    title: String,
    artist: String,
    license: Option<String>,
    allow_training: bool,
    key: Option<&Key>,
    registry: Option<PathBuf>,
    credentials: Option<PathBuf>,
    strength: f32,
    target_quality: Option<f64>,
) -> PyResult<Bound<'py, PyDict>> {
    let info = WorkInfo {
        title,
        artist,
        license,
        training_allowed: allow_training,
    };
    let store = store(registry, credentials);
    let source = Source::File(input);
    mark_work(
        py,
        source,
        output,
        info,
        key,
        store,
        strength,
        target_quality,
    )
}

/// Marks, signs and registers a work given as encoded bytes, written to `output` in the
/// bytes' own format; returns the same dict as `mark_file`.
#[pyfunction]
#[pyo3(signature = (data, output, title, artist, license = None, allow_training = false,
    key = None, registry = None, credentials = None, strength = 1.0,
    target_quality = default_target()))]
#[allow(clippy::too_many_arguments)]
fn mark_bytes<'py>(
    py: Python<'py>,
    data: Vec<u8>,
    output: PathBuf,
    title: String,
    artist: String,
    license: Option<String>,
    allow_training: bool,
    key: Option<&Key>,
    registry: Option<PathBuf>,
    credentials: Option<PathBuf>,
    strength: f32,
    target_quality: Option<f64>,
) -> PyResult<Bound<'py, PyDict>> {
    let info = WorkInfo {
        title,
        artist,
        license,
        training_allowed: allow_training,
    };
    let store = store(registry, credentials);
    let source = Source::Bytes(data);
    mark_work(
        py,
        source,
        output,
        info,
        key,
        store,
        strength,
        target_quality,
    )
}

/// Verifies a file or encoded bytes; the dict `verify_file` and `verify_bytes` return.
fn verify_work<'py>(
    py: Python<'py>,
    source: Source,
    key: Option<&Key>,
    store: Store,
    trust: Option<PathBuf>,
) -> PyResult<Bound<'py, PyDict>> {
    let key = key_or_public(key);
    let found = py
        .detach(|| -> inkseal_core::Result<_> {
            let anchors = store.trust_anchors(trust.as_deref())?;
            let mut verifier = Verifier::new(&key, anchors)?;
            let registry = store.open_existing_registry()?.map(|o| o.registry);
            match &source {
                Source::File(path) => verifier.verify_file(path, registry.as_ref()),
                Source::Bytes(bytes) => verifier.verify_bytes(bytes, registry.as_ref()),
            }
        })
        .map_err(core_err)?;
    let d = PyDict::new(py);
    let verdict = match found.verdict {
        inkseal_core::Verdict::Verified => "verified",
        inkseal_core::Verdict::Recovered => "recovered",
        inkseal_core::Verdict::Invalid => "invalid",
        inkseal_core::Verdict::Unverified => "unverified",
    };
    d.set_item("verdict", verdict)?;
    d.set_item("binding", found.binding.as_str())?;
    d.set_item(
        "bound_work_id",
        found.bound_work_id.map(|id| id.to_string()),
    )?;
    d.set_item(
        "credentials",
        found.credentials.as_ref().map(|c| c.state.to_string()),
    )?;
    d.set_item("credentials_error", found.credentials_error.clone())?;
    d.set_item("watermark", Detection::from(found.detection.clone()))?;
    match &found.recovered {
        Some(r) => {
            let rec = PyDict::new(py);
            rec.set_item("work_id", WorkId(r.work.id).to_string())?;
            rec.set_item("title", r.work.title.clone())?;
            rec.set_item("artist", r.work.artist.clone())?;
            rec.set_item("license", r.work.license.clone())?;
            rec.set_item("training_allowed", r.work.training_allowed)?;
            rec.set_item("identical", r.identical)?;
            rec.set_item("phash_distance", r.phash_distance)?;
            rec.set_item("same_picture", r.same_picture())?;
            d.set_item("recovered", rec)?;
        }
        None => d.set_item("recovered", py.None())?,
    }
    Ok(d)
}

/// Verifies a file's credentials, watermark and registry entry (see `inkseal verify`).
#[pyfunction]
#[pyo3(signature = (path, key = None, registry = None, credentials = None, trust = None))]
fn verify_file<'py>(
    py: Python<'py>,
    path: PathBuf,
    key: Option<&Key>,
    registry: Option<PathBuf>,
    credentials: Option<PathBuf>,
    trust: Option<PathBuf>,
) -> PyResult<Bound<'py, PyDict>> {
    let store = store(registry, credentials);
    verify_work(py, Source::File(path), key, store, trust)
}

/// Verifies encoded bytes held in memory, as `verify_file` verifies a file.
#[pyfunction]
#[pyo3(signature = (data, key = None, registry = None, credentials = None, trust = None))]
fn verify_bytes<'py>(
    py: Python<'py>,
    data: Vec<u8>,
    key: Option<&Key>,
    registry: Option<PathBuf>,
    credentials: Option<PathBuf>,
    trust: Option<PathBuf>,
) -> PyResult<Bound<'py, PyDict>> {
    let store = store(registry, credentials);
    verify_work(py, Source::Bytes(data), key, store, trust)
}

/// Scans folders, WebDataset shards, zip and Parquet files; returns a list of record dicts
/// (`type` "sample" or "error") in the order the samples were read.
#[pyfunction]
#[pyo3(signature = (paths, key = None, column = None, with_columns = Vec::new(), threads = 0))]
fn scan<'py>(
    py: Python<'py>,
    paths: Vec<PathBuf>,
    key: Option<&Key>,
    column: Option<String>,
    with_columns: Vec<String>,
    threads: usize,
) -> PyResult<Bound<'py, PyList>> {
    let key = key_or_public(key);
    let records = py
        .detach(|| -> Result<Vec<Record>, inkseal_scan::Error> {
            let mut config = ScanConfig::default()
                .with_threads(threads)
                .with_columns(with_columns);
            if let Some(c) = column {
                config = config.with_column(c);
            }
            let mut inputs = Vec::new();
            for p in &paths {
                inputs.extend(Input::from_path(p)?.expand());
            }
            let scanner = Scanner::new(&key, config)?;
            let mut records = Vec::new();
            scanner.scan(&inputs, |r| records.push(r))?;
            Ok(records)
        })
        .map_err(scan_err)?;
    let list = PyList::empty(py);
    for record in records {
        let d = PyDict::new(py);
        match record {
            Record::Sample(s) => {
                d.set_item("type", "sample")?;
                d.set_item("source", s.source)?;
                d.set_item("member", s.member)?;
                d.set_item("key", s.key)?;
                d.set_item("detected", s.detected)?;
                d.set_item("work_id", s.work_id)?;
                d.set_item("p_value", s.p_value)?;
                d.set_item("path", s.path)?;
                d.set_item("error", py.None())?;
                let with = PyDict::new(py);
                for (k, v) in s.with {
                    with.set_item(k, v)?;
                }
                d.set_item("with", with)?;
            }
            Record::Error(e) => {
                d.set_item("type", "error")?;
                d.set_item("source", e.source)?;
                d.set_item("member", e.member)?;
                d.set_item("key", e.key)?;
                d.set_item("detected", false)?;
                d.set_item("work_id", py.None())?;
                d.set_item("p_value", py.None())?;
                d.set_item("path", py.None())?;
                d.set_item("error", e.error)?;
                d.set_item("with", PyDict::new(py))?;
            }
            _ => continue,
        }
        list.append(d)?;
    }
    Ok(list)
}

/// The extension module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<Key>()?;
    m.add_class::<Detection>()?;
    m.add_class::<BatchDetector>()?;
    m.add_class::<EmbedReport>()?;
    m.add_function(wrap_pyfunction!(embed_pixels, m)?)?;
    m.add_function(wrap_pyfunction!(embed_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(detect_pixels, m)?)?;
    m.add_function(wrap_pyfunction!(mark_file, m)?)?;
    m.add_function(wrap_pyfunction!(mark_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(verify_file, m)?)?;
    m.add_function(wrap_pyfunction!(verify_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(scan, m)?)?;
    m.add("InksealError", py.get_type::<InksealError>())?;
    m.add("ImageError", py.get_type::<ImageError>())?;
    m.add("ImageTooSmallError", py.get_type::<ImageTooSmallError>())?;
    m.add("KeyFileError", py.get_type::<KeyFileError>())?;
    m.add("RegistryError", py.get_type::<RegistryError>())?;
    m.add("CredentialsError", py.get_type::<CredentialsError>())?;
    m.add("ALGORITHM", inkseal_mark::ALGORITHM)?;
    m.add("DEFAULT_TARGET_QUALITY", default_target())?;
    Ok(())
}
