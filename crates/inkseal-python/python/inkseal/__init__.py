"""inkseal: invisible watermarks carrying a 64-bit work ID, signed Content Credentials, and
scans of datasets for marked works.

>>> import inkseal
>>> marked = inkseal.embed(open("painting.png", "rb").read(), work_id="0123456789abcdef")
>>> inkseal.detect(marked).work_id
'0123456789abcdef'

Everything runs in Rust with the GIL released; ``detect_batch`` searches many images in
parallel and returns a ``pyarrow.Table``. ``inkseal.ray.detect_marks`` does the same inside
a Ray Data pipeline.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any, Iterable, Literal, Sequence, Union, overload

from ._native import (
    ALGORITHM,
    DEFAULT_TARGET_QUALITY,
    BatchDetector,
    CredentialsError,
    Detection,
    EmbedReport,
    ImageError,
    ImageTooSmallError,
    InksealError,
    Key,
    KeyFileError,
    RegistryError,
)
from . import _native

if TYPE_CHECKING:  # pragma: no cover
    import numpy
    import pyarrow

__all__ = [
    "ALGORITHM",
    "DEFAULT_TARGET_QUALITY",
    "BatchDetector",
    "CredentialsError",
    "Detection",
    "EmbedReport",
    "ImageError",
    "ImageTooSmallError",
    "InksealError",
    "Key",
    "KeyFileError",
    "RegistryError",
    "RESULT_COLUMNS",
    "detect",
    "detect_batch",
    "embed",
    "mark_bytes",
    "mark_file",
    "scan",
    "verify_bytes",
    "verify_file",
]

#: The columns ``detect_batch`` returns, in order.
RESULT_COLUMNS = (
    "detected",
    "work_id",
    "p_value",
    "error",
    "rotation_deg",
    "scale",
    "aspect",
    "mirrored",
)

PathLike = Union[str, "os.PathLike[str]"]


def _key(key: Key | str | PathLike | None) -> Key | None:
    """A Key from a Key, a key file path, or None (the public key)."""
    if key is None or isinstance(key, Key):
        return key
    return Key.load(os.fspath(key))


def _pixels(array: Any) -> tuple[bytes, int, int, int]:
    import numpy as np

    a = np.ascontiguousarray(array)
    if a.dtype != np.uint8:
        raise TypeError(f"pixels must be uint8, not {a.dtype}")
    if a.ndim == 2:
        h, w, c = a.shape[0], a.shape[1], 1
    elif a.ndim == 3 and a.shape[2] in (1, 3, 4):
        h, w, c = a.shape
    else:
        raise ValueError(f"pixels must be HxW, HxWx1, HxWx3 or HxWx4, not {a.shape}")
    return a.tobytes(), int(w), int(h), int(c)


@overload
def embed(
    image: "bytes | numpy.ndarray",
    work_id: str | None = ...,
    key: Key | PathLike | None = ...,
    strength: float = ...,
    target_quality: float | None = ...,
    *,
    report: Literal[False] = ...,
) -> "bytes | numpy.ndarray": ...
@overload
def embed(
    image: "bytes | numpy.ndarray",
    work_id: str | None = ...,
    key: Key | PathLike | None = ...,
    strength: float = ...,
    target_quality: float | None = ...,
    *,
    report: Literal[True],
) -> "tuple[bytes | numpy.ndarray, EmbedReport]": ...
def embed(
    image: "bytes | numpy.ndarray",
    work_id: str | None = None,
    key: Key | PathLike | None = None,
    strength: float = 1.0,
    target_quality: float | None = DEFAULT_TARGET_QUALITY,
    *,
    report: bool = False,
) -> "bytes | numpy.ndarray | tuple[bytes | numpy.ndarray, EmbedReport]":
    """Embeds a mark carrying ``work_id`` (16 hex digits; random when None).

    ``image`` is either encoded bytes (PNG, JPEG, WebP, TIFF; the marked copy comes back in
    the same format) or a uint8 numpy array of shape HxW, HxWx3 or HxWx4 (a new array comes
    back; the input is not modified).

    ``target_quality`` is the SSIMULACRA2 score the mark aims at (100: identical, 90:
    visually lossless; default ``DEFAULT_TARGET_QUALITY``, as the CLI): the image is marked
    and scored until it lands within about a point of the target, 2-4 scorings. None marks
    once at the perceptual model's fixed amplitude: fast, with no quality guarantee.
    ``strength`` scales the mark on top of either (more robust, more visible; (0, 8]).

    With ``report=True`` returns ``(marked, EmbedReport)``; the report gives ``work_id``,
    ``psnr_db``, ``ssimulacra2`` (None on the fast path), ``gain``, ``target_quality``,
    ``strength`` and ``fragile``. Raises ImageTooSmallError for images too small to mark,
    ImageError for bytes that are not a supported image, ValueError for a bad work ID,
    strength or target.
    """
    k = _key(key)
    if isinstance(image, (bytes, bytearray, memoryview)):
        out, rep = _native.embed_bytes(bytes(image), work_id, k, strength, target_quality)
        return (out, rep) if report else out
    import numpy as np

    data, w, h, c = _pixels(image)
    out, rep = _native.embed_pixels(data, w, h, c, work_id, k, strength, target_quality)
    marked = np.frombuffer(out, dtype=np.uint8).reshape(np.shape(image)).copy()
    return (marked, rep) if report else marked


_detectors: dict[tuple[str, int], BatchDetector] = {}
_detectors_lock = threading.Lock()


def _detector(key: Key | None, threads: int) -> BatchDetector:
    """One engine per key and thread count, built once per process."""
    k = key if key is not None else Key.public()
    with _detectors_lock:
        found = _detectors.get((k.id, threads))
        if found is None:
            found = BatchDetector(k, threads)
            _detectors[(k.id, threads)] = found
        return found


def detect(image: "bytes | numpy.ndarray", key: Key | PathLike | None = None) -> Detection:
    """Searches one image (encoded bytes, or a uint8 numpy array) for a mark.

    Returns a Detection with ``detected``, ``work_id`` (16 hex digits, or None) and
    ``p_value`` (the chance that an unmarked image scores this high), plus the geometry
    (``rotation_deg``, ``scale``, ``aspect``, ``mirrored``) when detected.
    """
    k = _key(key)
    if isinstance(image, (bytes, bytearray, memoryview)):
        return _detector(k, 1).detect_one(bytes(image))
    data, w, h, c = _pixels(image)
    return _native.detect_pixels(data, w, h, c, k)


def _arrow_chunks(data: Any) -> list | None:
    """The chunks of a pyarrow binary column as ``BatchDetector.detect_arrow`` takes them,
    or None when ``data`` is not a pyarrow array. A Hugging Face image struct gives its
    ``bytes`` field (a null struct is a null cell). Raises TypeError for other types."""
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover
        return None
    if isinstance(data, pa.ChunkedArray):
        chunks = data.chunks
    elif isinstance(data, pa.Array):
        chunks = [data]
    else:
        return None
    out = []
    for chunk in chunks:
        if pa.types.is_struct(chunk.type):
            index = chunk.type.get_field_index("bytes")
            if index < 0:
                raise TypeError(f"expected a struct with a 'bytes' field, not {chunk.type}")
            # flatten() applies the struct's own offset and nulls to the field.
            chunk = chunk.flatten()[index] if chunk.null_count else chunk.field(index)
        t = chunk.type
        if pa.types.is_fixed_size_binary(t) or (
            hasattr(pa.types, "is_binary_view") and pa.types.is_binary_view(t)
        ):
            # Other layouts of the same cells: one copy into a plain binary array.
            chunk = chunk.cast(pa.binary())
        elif not (pa.types.is_binary(t) or pa.types.is_large_binary(t)):
            raise TypeError(f"expected a binary column, not {t}")
        validity, offsets, values = chunk.buffers()
        out.append(
            (chunk.offset, len(chunk), validity, offsets, values, pa.types.is_large_binary(chunk.type))
        )
    return out


def _list_cells(data: Any) -> list[bytes | None]:
    """A sequence of bytes (None: a null cell) as a list, checked."""
    cells = list(data)
    for c in cells:
        if c is not None and not isinstance(c, bytes):
            raise TypeError(f"expected bytes or None, not {type(c).__name__}")
    return cells


def _detect_cells(detector: BatchDetector, data: Any) -> tuple:
    """The result columns for a pyarrow column (read in place, no copy) or a list."""
    chunks = _arrow_chunks(data)
    if chunks is not None:
        return detector.detect_arrow(chunks)
    return detector.detect(_list_cells(data))


def detect_batch(
    data: "pyarrow.Array | pyarrow.ChunkedArray | Sequence[bytes | None]",
    key: Key | PathLike | None = None,
    threads: int = 0,
) -> "pyarrow.Table":
    """Searches many encoded images in parallel (GIL released, ``threads`` workers, 0: all
    cores), with exactly the decoding and detection of ``inkseal scan``.

    ``data`` is a pyarrow binary or large_binary array (or a Hugging Face image struct
    array), a chunked array, or a list of bytes; None is a null cell. A pyarrow column is
    read in place, without copying its cells: do not write into its buffers during the
    call. Returns a ``pyarrow.Table`` with one row per input, in order: ``detected``,
    ``work_id``, ``p_value``, ``error`` and the geometry columns ``rotation_deg``,
    ``scale``, ``aspect``, ``mirrored``. A bad image is an ``error`` in its row; the batch
    goes on.
    """
    return _table(_detect_cells(_detector(_key(key), threads), data))


def _table(columns: tuple) -> "pyarrow.Table":
    import pyarrow as pa

    types = (
        pa.bool_(),
        pa.string(),
        pa.float64(),
        pa.string(),
        pa.float64(),
        pa.float64(),
        pa.float64(),
        pa.bool_(),
    )
    return pa.table(
        {name: pa.array(col, type=t) for name, col, t in zip(RESULT_COLUMNS, columns, types)}
    )


def _path(p: PathLike | None) -> str | None:
    return None if p is None else os.fspath(p)


def mark_file(
    input: PathLike,
    output: PathLike,
    title: str,
    artist: str,
    *,
    license: str | None = None,
    allow_training: bool = False,
    key: Key | PathLike | None = None,
    registry: PathLike | None = None,
    credentials: PathLike | None = None,
    strength: float = 1.0,
    target_quality: float | None = DEFAULT_TARGET_QUALITY,
) -> dict:
    """Marks, signs and registers one work, all or nothing (as ``inkseal mark``).

    Returns a dict with ``work_id``, ``output``, ``sha256``, ``psnr_db``, ``ssimulacra2``
    (of the written file against the input; None when not scored), ``gain``, ``fragile``,
    ``key_id``, ``signer`` and ``registry``. ``strength`` and ``target_quality`` are as
    for ``embed``. Local signing credentials are made on first use. An output that is the
    input is a ValueError; the input is never written.
    """
    return _native.mark_file(
        os.fspath(input),
        os.fspath(output),
        title,
        artist,
        license,
        allow_training,
        _key(key),
        _path(registry),
        _path(credentials),
        strength,
        target_quality,
    )


def mark_bytes(
    data: bytes,
    output: PathLike,
    title: str,
    artist: str,
    *,
    license: str | None = None,
    allow_training: bool = False,
    key: Key | PathLike | None = None,
    registry: PathLike | None = None,
    credentials: PathLike | None = None,
    strength: float = 1.0,
    target_quality: float | None = DEFAULT_TARGET_QUALITY,
) -> dict:
    """Marks, signs and registers a work given as encoded bytes (PNG, JPEG, WebP, TIFF),
    written atomically to ``output`` in the same format (its extension must match). Returns
    the same dict as ``mark_file``."""
    return _native.mark_bytes(
        bytes(data),
        os.fspath(output),
        title,
        artist,
        license,
        allow_training,
        _key(key),
        _path(registry),
        _path(credentials),
        strength,
        target_quality,
    )


def verify_file(
    path: PathLike,
    *,
    key: Key | PathLike | None = None,
    registry: PathLike | None = None,
    credentials: PathLike | None = None,
    trust: PathLike | None = None,
) -> dict:
    """Verifies a file's Content Credentials, watermark and registry entry (as ``inkseal
    verify``): a dict with ``verdict`` ("verified", "recovered", "invalid", "unverified"),
    ``binding``, ``bound_work_id``, ``credentials`` (the validation state), ``watermark`` (a
    Detection) and ``recovered`` (the registered work when the credentials were stripped).
    """
    return _native.verify_file(
        os.fspath(path), _key(key), _path(registry), _path(credentials), _path(trust)
    )


def verify_bytes(
    data: bytes,
    *,
    key: Key | PathLike | None = None,
    registry: PathLike | None = None,
    credentials: PathLike | None = None,
    trust: PathLike | None = None,
) -> dict:
    """Verifies encoded bytes held in memory (a download, a database blob) as
    ``verify_file`` verifies a file: the same dict."""
    return _native.verify_bytes(
        bytes(data), _key(key), _path(registry), _path(credentials), _path(trust)
    )


def scan(
    paths: PathLike | Iterable[PathLike],
    *,
    key: Key | PathLike | None = None,
    column: str | None = None,
    with_columns: Sequence[str] = (),
    threads: int = 0,
) -> list[dict]:
    """Scans folders, WebDataset shards, zip and Parquet files (as ``inkseal scan``): one
    dict per sample or error, in the order read, with ``type``, ``source``, ``member``,
    ``key``, ``detected``, ``work_id``, ``p_value``, ``error``, ``path`` (a Hugging Face
    image's own path) and ``with`` (the ``with_columns`` values).
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    return _native.scan([os.fspath(p) for p in paths], _key(key), column, list(with_columns), threads)
