"""Marks in Ray Data pipelines: ``detect_marks(dataset)`` adds the detection columns to
every row and keeps every other column (the URL, the caption, the key).

>>> import ray, inkseal.ray
>>> ds = ray.data.read_parquet("laion/part-00000.parquet")      # Hugging Face image struct
>>> found = inkseal.ray.detect_marks(ds, column="image")
>>> found.filter(lambda row: row["detected"]).select_columns(["url", "work_id"]).show()

``read_webdataset`` gives one binary column per extension (``column="jpg"``);
``read_images`` gives decoded pixels (``column="image"``), searched as arrays.

By default detection runs as Ray tasks with one detector per worker process, so Ray fuses
the read, the search and a following ``select_columns`` into one task and the image bytes
never enter the object store; ``compute="actors"`` uses the callable class
``DetectMarks`` on an actor pool instead. Either way each batch's Arrow buffers are searched
in place, with the GIL released.
"""

from __future__ import annotations

import os
from typing import Any

from . import RESULT_COLUMNS, BatchDetector, Key, _detect_cells, _native, _table

__all__ = ["DetectMarks", "detect_marks"]

#: One DetectMarks per (column, key, threads) per worker process, for the task path: a
#: module global, so it lives as long as the worker (a function's own globals would be
#: pickled with it and start empty in every task).
_per_process: dict[tuple[str, str | None, int], "DetectMarks"] = {}


class DetectMarks:
    """The callable class for ``Dataset.map_batches(..., batch_format="pyarrow")``: one
    detector (thread pool, one engine per thread) per actor, built once. Calling it on a
    pyarrow Table returns the table with the result columns appended (replaced if present).
    """

    def __init__(self, column: str = "image", key: str | None = None, threads: int = 0):
        # `key` is the key's text form (a Key is not sent to actors) or None (public key).
        self._key = None if key is None else Key.from_text(key)
        self._column = column
        self._detector = BatchDetector(self._key, threads)

    def __call__(self, batch: Any) -> Any:
        import pyarrow as pa

        if not isinstance(batch, pa.Table):
            batch = pa.Table.from_pandas(batch) if hasattr(batch, "to_numpy") else pa.table(batch)
        if self._column not in batch.column_names:
            raise KeyError(
                f"no column {self._column!r} (columns: {', '.join(batch.column_names)})"
            )
        column = batch.column(self._column)
        t = column.type
        binary = (
            pa.types.is_binary(t)
            or pa.types.is_large_binary(t)
            or pa.types.is_fixed_size_binary(t)
            or (hasattr(pa.types, "is_binary_view") and pa.types.is_binary_view(t))
        )
        if pa.types.is_struct(t) or binary:
            # The cells are read in place from the batch's Arrow buffers.
            results = _table(_detect_cells(self._detector, column))
        else:
            results = self._pixels(column.combine_chunks())
        for name in RESULT_COLUMNS:
            if name in batch.column_names:
                batch = batch.drop_columns([name])
            batch = batch.append_column(name, results.column(name))
        return batch

    def _pixels(self, column: Any) -> Any:
        """Decoded images (``read_images``): searched one by one, errors per row."""
        import numpy as np

        rows: list[tuple] = []
        for cell in column.to_numpy(zero_copy_only=False):
            try:
                a = np.ascontiguousarray(cell, dtype=np.uint8)
                h, w = a.shape[0], a.shape[1]
                c = 1 if a.ndim == 2 else a.shape[2]
                d = _native.detect_pixels(a.tobytes(), w, h, c, self._key)
                rows.append(
                    (d.detected, d.work_id, d.p_value, None, d.rotation_deg, d.scale, d.aspect, d.mirrored)
                )
            except Exception as e:  # one bad row is an error in that row
                rows.append((False, None, None, str(e), None, None, None, None))
        columns = tuple(list(col) for col in zip(*rows)) if rows else tuple([] for _ in RESULT_COLUMNS)
        return _table(columns)


def _detect_task(batch: Any, column: str, key: str | None, threads: int) -> Any:
    """The task-path batch function: the worker process's cached DetectMarks."""
    found = _per_process.get((column, key, threads))
    if found is None:
        found = _per_process[(column, key, threads)] = DetectMarks(column, key, threads)
    return found(batch)


def detect_marks(
    dataset: Any,
    column: str = "image",
    key: Key | str | os.PathLike | None = None,
    *,
    compute: str = "tasks",
    concurrency: int | None = None,
    num_cpus: float = 1,
    threads: int = 0,
    batch_size: int | None = None,
) -> Any:
    """Returns ``dataset`` with the columns ``detected``, ``work_id``, ``p_value``,
    ``error`` and the geometry columns added to every row, every other column kept.

    ``column`` holds the images: encoded bytes, a Hugging Face image struct, or decoded
    arrays. ``key`` is a Key, a key file path, or None for the public key.

    ``compute="tasks"`` (the default) runs detection as a task function with one detector
    per worker process, kept between tasks. Ray then fuses reading, detection and any
    following projection into one task, so the image bytes never pass through the object
    store; this is the faster layout (see docs/python.md for the measurements).
    ``compute="actors"`` runs the callable class ``DetectMarks`` on ``concurrency`` actors
    (default 1), one detector each. Either way each task or actor reserves ``num_cpus``
    and runs ``threads`` detection threads (0: all cores it sees); ``batch_size`` None
    searches each block as read.
    """
    if key is not None and not isinstance(key, Key):
        key = Key.load(os.fspath(key))
    key_text = None if key is None else key.to_text()
    if compute == "tasks":
        return dataset.map_batches(
            _detect_task,
            fn_kwargs={"column": column, "key": key_text, "threads": threads},
            batch_format="pyarrow",
            batch_size=batch_size,
            concurrency=concurrency,
            num_cpus=num_cpus,
        )
    if compute == "actors":
        return dataset.map_batches(
            DetectMarks,
            fn_constructor_kwargs={"column": column, "key": key_text, "threads": threads},
            batch_format="pyarrow",
            batch_size=batch_size,
            concurrency=1 if concurrency is None else concurrency,
            num_cpus=num_cpus,
        )
    raise ValueError(f'compute is "tasks" or "actors", not {compute!r}')
