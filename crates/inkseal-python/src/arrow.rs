//! Zero-copy views of Arrow binary columns, read through the buffer protocol.
//!
//! A pyarrow `binary` or `large_binary` array is three buffers: a validity bitmap (or none),
//! `length + 1` offsets (32- or 64-bit, little-endian) and the concatenated cell bytes. The
//! Python side passes each chunk's buffers (`array.buffers()`) with its offset and length;
//! here the offsets are checked against the data buffer and all three are borrowed, so a
//! batch of images reaches the decoders without one byte of it being copied.
//!
//! This is the only `unsafe` in the workspace: a buffer-protocol view is a pointer and a
//! length, and turning it into a slice is the one step safe Rust cannot express (pyo3's
//! safe view, `&[ReadOnlyCell<u8>]`, is not `Sync`, so it cannot be searched on a thread
//! pool). The view pins the exporter's memory for as long as the [`PyUntypedBuffer`] lives,
//! and every slice borrows it.
#![allow(unsafe_code)]

use pyo3::buffer::PyUntypedBuffer;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// One chunk of a binary column as the Python side hands it over: `(offset, length,
/// validity, offsets, data, large)` where the three buffers are `array.buffers()` (validity
/// and data may be None) and `large` says the offsets are 64-bit.
pub type ChunkArgs<'py> = (
    usize,
    usize,
    Option<Bound<'py, PyAny>>,
    Bound<'py, PyAny>,
    Option<Bound<'py, PyAny>>,
    bool,
);

/// A checked chunk: each cell a byte range of its data buffer, or null.
pub struct Chunk {
    data: Option<PyUntypedBuffer>,
    /// Byte ranges of the cells in `data`; `None` is a null cell.
    cells: Vec<Option<(usize, usize)>>,
}

impl Chunk {
    /// Checks one chunk's bitmap and offsets against its data buffer, and holds the view
    /// of the data buffer. A bitmap, offsets or ranges that do not fit are a ValueError.
    pub fn new(args: ChunkArgs<'_>) -> PyResult<Chunk> {
        let (offset, length, validity, offsets, data, large) = args;
        let data = data.map(|d| view(&d)).transpose()?;
        let data_len = data.as_ref().map_or(0, PyUntypedBuffer::len_bytes);
        let offsets_view = view(&offsets)?;
        let offsets = bytes(&offsets_view);
        let width = if large { 8 } else { 4 };
        let needed = offset
            .checked_add(length)
            .and_then(|n| n.checked_add(1))
            .and_then(|n| n.checked_mul(width));
        if needed.is_none_or(|needed| offsets.len() < needed) {
            return Err(PyValueError::new_err(format!(
                "a binary array of {length} cells at offset {offset} needs {} offset bytes, \
                 its buffer has {}",
                needed.map_or_else(|| "more".to_string(), |n| n.to_string()),
                offsets.len()
            )));
        }
        // In bounds: `needed` bytes were checked above.
        let read = |i: usize| -> i64 {
            let at = (offset + i) * width;
            if large {
                let mut b = [0u8; 8];
                b.copy_from_slice(&offsets[at..at + 8]);
                i64::from_le_bytes(b)
            } else {
                let mut b = [0u8; 4];
                b.copy_from_slice(&offsets[at..at + 4]);
                i64::from(i32::from_le_bytes(b))
            }
        };
        let validity_view = validity.map(|v| view(&v)).transpose()?;
        let bitmap = validity_view.as_ref().map(bytes);
        if let Some(bits) = bitmap
            && bits.len().saturating_mul(8) < offset + length
        {
            return Err(PyValueError::new_err(
                "the validity bitmap of a binary array is shorter than the array",
            ));
        }
        let mut cells = Vec::with_capacity(length);
        for i in 0..length {
            let at = offset + i;
            if bitmap.is_some_and(|bits| (bits[at / 8] >> (at % 8)) & 1 == 0) {
                cells.push(None);
                continue;
            }
            let (start, end) = (read(i), read(i + 1));
            let range = usize::try_from(start)
                .ok()
                .zip(usize::try_from(end).ok())
                .filter(|&(s, e)| s <= e && e <= data_len);
            match range {
                Some(r) => cells.push(Some(r)),
                None => {
                    return Err(PyValueError::new_err(format!(
                        "cell {i} of a binary array spans bytes {start}..{end} of a \
                         {data_len}-byte data buffer"
                    )));
                }
            }
        }
        Ok(Chunk { data, cells })
    }

    /// Appends one slice per cell to `out` (null cells: `None`).
    pub fn cells<'a>(&'a self, out: &mut Vec<Option<&'a [u8]>>) {
        let data = self.data.as_ref().map_or(&[][..], bytes);
        out.extend(
            self.cells
                .iter()
                .map(|c| c.and_then(|(s, e)| data.get(s..e))),
        );
    }
}

/// A buffer-protocol view of `obj`, checked to be one contiguous run of bytes.
fn view(obj: &Bound<'_, PyAny>) -> PyResult<PyUntypedBuffer> {
    let buffer = PyUntypedBuffer::get(obj)?;
    if !buffer.is_c_contiguous() {
        return Err(PyValueError::new_err(
            "the buffers of a binary array must be contiguous",
        ));
    }
    Ok(buffer)
}

/// The bytes of a contiguous view, borrowed for as long as the view lives.
fn bytes(buffer: &PyUntypedBuffer) -> &[u8] {
    if buffer.len_bytes() == 0 {
        return &[];
    }
    // SAFETY: `PyUntypedBuffer::get` filled a `Py_buffer` view, which keeps the exporter
    // alive and its memory in place until the view is dropped, and the returned slice
    // borrows the view; the view is C-contiguous (checked in `view`), so its `len_bytes`
    // bytes from `buf_ptr` are one allocation, and any byte is a valid `u8`. An exporter
    // that lets Python code write into its memory while the GIL is released races with
    // this read exactly as it does with hashlib or numpy; Arrow buffers are immutable by
    // contract, and the docstring of `detect_batch` says not to write into them.
    unsafe {
        std::slice::from_raw_parts(
            buffer.buf_ptr().cast::<u8>().cast_const(),
            buffer.len_bytes(),
        )
    }
}
