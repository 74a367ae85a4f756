"""The inkseal Python package: results checked against the CLI on the same bytes, errors
typed, inputs never modified."""

from __future__ import annotations

import io
import os
import pathlib
import sqlite3
import threading

import numpy as np
import pyarrow as pa
import pytest

import inkseal
from conftest import hf_shard, run_cli, texture

ID = "0123456789abcdef"


def test_public_key_is_the_clis(cli, tmp_path, coffee_png):
    (tmp_path / "c.png").write_bytes(coffee_png)
    [record] = run_cli(cli, "detect", "--json", str(tmp_path / "c.png"))
    assert inkseal.Key.public().id == record["key_id"]
    key = inkseal.Key.generate()
    assert key.id != record["key_id"]
    path = tmp_path / "studio.key"
    key.save(str(path))
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert inkseal.Key.load(str(path)).id == key.id
    assert inkseal.Key.from_text(key.to_text()) == key
    with pytest.raises(inkseal.KeyFileError):
        key.save(str(path))  # exists: never replaced without overwrite=True


def test_embed_bytes_then_detect(cli, tmp_path, coffee_png):
    marked = inkseal.embed(coffee_png, work_id=ID)
    assert marked[:8] == b"\x89PNG\r\n\x1a\n" and marked != coffee_png
    found = inkseal.detect(marked)
    assert (found.detected, found.work_id) == (True, ID)
    assert found.p_value < 1e-6
    assert found.rotation_deg is not None and abs(found.rotation_deg) < 1
    # The CLI finds the same work with the same p-value in the same bytes.
    (tmp_path / "m.png").write_bytes(marked)
    [record] = run_cli(cli, "detect", "--json", str(tmp_path / "m.png"))
    assert record["work_id"] == ID
    assert record["p_value"] == pytest.approx(found.p_value, rel=1e-9)
    # The work fills the image: its marked area is all of it, as the CLI says.
    assert found.region == (0, 0, 600, 400)
    assert found.region == tuple(record["region"][k] for k in ("x", "y", "width", "height"))
    clean = inkseal.detect(coffee_png)
    assert (clean.detected, clean.work_id, clean.region) == (False, None, None)
    assert clean.p_value > 1e-3


def test_embed_keeps_jpeg_and_private_keys_are_private(flower_jpg):
    key = inkseal.Key.generate()
    marked = inkseal.embed(flower_jpg, work_id=ID, key=key)
    assert marked[:2] == b"\xff\xd8"
    assert inkseal.detect(marked, key=key).work_id == ID
    assert inkseal.detect(marked).work_id is None


def test_numpy_arrays_round_trip():
    pixels = texture()
    before = pixels.copy()
    marked = inkseal.embed(pixels, work_id=ID)
    assert np.array_equal(pixels, before), "the input array was modified"
    assert marked.shape == pixels.shape and marked.dtype == np.uint8
    assert not np.array_equal(marked, pixels)
    assert inkseal.detect(marked).work_id == ID
    assert inkseal.detect(pixels).work_id is None


def test_detect_batch_matches_the_cli_scan(cli, tmp_path, coffee_png, flower_jpg):
    marked_a = inkseal.embed(coffee_png, work_id=ID)
    marked_b = inkseal.embed(flower_jpg, work_id="00000000deadbeef")
    cells = [marked_a, coffee_png, b"not an image", None, marked_b]
    table = inkseal.detect_batch(pa.array(cells, type=pa.binary()), threads=2)
    assert table.column_names == list(inkseal.RESULT_COLUMNS)
    rows = table.to_pylist()
    assert [r["detected"] for r in rows] == [True, False, False, False, True]
    assert [r["work_id"] for r in rows] == [ID, None, None, None, "00000000deadbeef"]
    assert rows[2]["error"].startswith("not a supported image")
    assert rows[3]["error"] == "null image cell"
    assert rows[0]["error"] is None and rows[2]["p_value"] is None

    # The same bytes as files, scanned by the CLI: the same decisions and p-values.
    folder = tmp_path / "shard"
    folder.mkdir()
    for i, cell in enumerate(cells):
        if cell is not None:
            (folder / f"{i}.png").write_bytes(cell)
    records = {r["key"]: r for r in run_cli(cli, "scan", "--json", str(folder)) if r["type"] != "summary"}
    for i, row in enumerate(rows):
        if cells[i] is None:
            continue
        r = records[str(i)]
        if r["type"] == "error":
            assert row["error"] == r["error"]
        else:
            assert (row["detected"], row["work_id"]) == (r["detected"], r["work_id"])
            assert row["p_value"] == pytest.approx(r["p_value"], rel=1e-9)

    # A list of bytes, a chunked array and a Hugging Face image struct give the same rows.
    assert inkseal.detect_batch(cells).to_pylist() == rows
    chunked = pa.chunked_array([pa.array(cells[:2], pa.binary()), pa.array(cells[2:], pa.binary())])
    assert inkseal.detect_batch(chunked).to_pylist() == rows
    hf = pa.StructArray.from_arrays(
        [pa.array(cells, pa.binary()), pa.array([f"{i}.png" for i in range(5)])], names=["bytes", "path"]
    )
    assert inkseal.detect_batch(hf).to_pylist() == rows


def test_detect_batch_reads_every_arrow_layout_in_place(coffee_png, flower_jpg):
    """Slices, large_binary, fixed-size cells, chunks and struct nulls are read from the Arrow
    buffers directly; each gives the rows of the same cells passed as a list of bytes."""
    marked = inkseal.embed(coffee_png, work_id=ID)
    cells = [coffee_png, marked, None, b"", flower_jpg, marked]
    expected = inkseal.detect_batch(cells).to_pylist()
    assert [r["work_id"] for r in expected] == [None, ID, None, None, None, ID]

    binary = pa.array(cells, pa.binary())
    assert binary.offset == 0 and binary.null_count == 1
    assert inkseal.detect_batch(binary).to_pylist() == expected
    assert inkseal.detect_batch(binary.slice(1, 4)).to_pylist() == expected[1:5]
    assert inkseal.detect_batch(pa.array(cells, pa.large_binary()).slice(3)).to_pylist() == expected[3:]
    chunked = pa.chunked_array([binary.slice(0, 1), binary.slice(1, 0), binary.slice(1)])
    assert inkseal.detect_batch(chunked).to_pylist() == expected
    if hasattr(pa, "binary_view"):
        view = pa.array(cells, pa.binary_view())
        assert inkseal.detect_batch(view).to_pylist() == expected
    fixed = pa.array([marked[:64], coffee_png[:64]], pa.binary(64))
    assert [r["error"] is not None for r in inkseal.detect_batch(fixed).to_pylist()] == [True, True]

    # A null struct is a null cell even where its bytes field holds an image.
    hf = pa.StructArray.from_arrays(
        [binary, pa.array([f"{i}.png" for i in range(6)])],
        names=["bytes", "path"],
        mask=pa.array([False, True, False, False, False, False]),
    )
    rows = inkseal.detect_batch(hf.slice(1)).to_pylist()
    assert rows[0]["error"] == "null image cell" and rows[0]["work_id"] is None
    assert rows[1:] == expected[2:]


def test_detect_batch_refuses_arrow_buffers_that_do_not_fit(coffee_png):
    # Buffers that do not fit (pyarrow validates its arrays; the native call takes any
    # buffers) are a clear error, never a read out of bounds.
    detector = inkseal.BatchDetector(threads=1)
    offsets = np.array([0, 10, 1_000_000], dtype=np.int32).tobytes()
    with pytest.raises(ValueError, match="cell 1 of a binary array spans bytes 10..1000000 of a 100-byte"):
        detector.detect_arrow([(0, 2, None, offsets, coffee_png[:100], False)])
    with pytest.raises(ValueError, match="needs 16 offset bytes, its buffer has 12"):
        detector.detect_arrow([(1, 2, None, offsets, coffee_png[:100], False)])
    with pytest.raises(ValueError, match="validity bitmap .* shorter"):
        detector.detect_arrow([(0, 2, b"", offsets[:8] + offsets[:4], coffee_png[:100], False)])
    good = np.array([0, 0, 100], dtype=np.int64).tobytes()
    rows = inkseal._table(detector.detect_arrow([(0, 2, bytes([0b10]), good, coffee_png[:100], True)]))
    assert rows["error"].to_pylist()[0] == "null image cell"
    # The cell is the 100 bytes given: the start of a PNG, cut short.
    assert rows["error"].to_pylist()[1] == "cannot decode the image: the file is truncated or corrupt (unexpected end of file)"
    with pytest.raises(TypeError, match="expected a binary column, not int64"):
        inkseal.detect_batch(pa.array([1, 2]))
    with pytest.raises(TypeError, match="'bytes' field"):
        inkseal.detect_batch(pa.array([{"path": "a.png"}]))


def test_detect_batch_runs_beside_other_python_threads(coffee_png):
    marked = inkseal.embed(coffee_png, work_id=ID)
    results: list = []
    workers = [
        threading.Thread(target=lambda: results.append(inkseal.detect_batch([marked] * 4).to_pylist()))
        for _ in range(3)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert len(results) == 3
    assert all(r["work_id"] == ID for rows in results for r in rows)


def test_errors_are_typed(coffee_png):
    with pytest.raises(inkseal.ImageError, match="not a supported image"):
        inkseal.detect(b"definitely not an image")
    tiny = texture(64, 64)
    with pytest.raises(inkseal.ImageTooSmallError, match="at least 128 pixels"):
        inkseal.embed(tiny)
    assert issubclass(inkseal.ImageTooSmallError, inkseal.InksealError)
    with pytest.raises(inkseal.KeyFileError):
        inkseal.Key.from_text("not a key")
    with pytest.raises(ValueError, match="16 hexadecimal digits"):
        inkseal.embed(coffee_png, work_id="xyz")
    with pytest.raises(TypeError):
        inkseal.detect_batch(pa.array(["text"]))


def test_mark_then_verify(tmp_path, coffee_png):
    src = tmp_path / "harbour.png"
    src.write_bytes(coffee_png)
    registry = tmp_path / "registry.sqlite"
    creds = tmp_path / "credentials"
    out = tmp_path / "harbour.marked.png"
    marked = inkseal.mark_file(
        src, out, "Harbour at dusk", "A. Painter", registry=registry, credentials=creds
    )
    assert src.read_bytes() == coffee_png
    assert out.exists() and len(marked["work_id"]) == 16
    import hashlib

    assert marked["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    rows = sqlite3.connect(registry).execute("SELECT state, title FROM works").fetchall()
    assert rows == [("complete", "Harbour at dusk")]
    assert inkseal.detect(out.read_bytes()).work_id == marked["work_id"]

    v = inkseal.verify_file(out, registry=registry, credentials=creds)
    assert (v["verdict"], v["binding"]) == ("verified", "agree")
    assert v["bound_work_id"] == marked["work_id"]
    assert v["watermark"].work_id == marked["work_id"]

    # Stripped of its credentials (re-encoded pixels), the registry recovers the work.
    stripped = tmp_path / "stripped.png"
    # (embedding the same work ID again re-encodes the pixels without the manifest)
    stripped.write_bytes(inkseal.embed(out.read_bytes(), work_id=marked["work_id"]))
    v = inkseal.verify_file(stripped, registry=registry, credentials=creds)
    assert v["verdict"] == "recovered"
    assert v["recovered"]["title"] == "Harbour at dusk"

    # Never over the input; nothing left behind.
    with pytest.raises(ValueError, match="refusing to overwrite the input"):
        inkseal.mark_file(src, src, "x", "y", registry=registry, credentials=creds)
    assert src.read_bytes() == coffee_png
    assert sqlite3.connect(registry).execute("SELECT count(*) FROM works").fetchone() == (1,)


def test_scan_matches_the_cli(cli, tmp_path, coffee_png, flower_jpg):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "a.png").write_bytes(inkseal.embed(coffee_png, work_id=ID))
    (folder / "b.jpg").write_bytes(flower_jpg)
    (folder / "c.png").write_bytes(b"broken")
    records = inkseal.scan(folder, threads=2)
    expected = [r for r in run_cli(cli, "scan", "--json", str(folder)) if r["type"] != "summary"]
    assert [(r["type"], r["key"], r["work_id"]) for r in records] == [
        (r["type"], r["key"], r.get("work_id")) for r in expected
    ]
    assert [r["work_id"] for r in records] == [ID, None, None]


def test_parquet_rows_keep_their_identity(cli, tmp_path):
    shard = tmp_path / "train-00000-of-00001.parquet"
    truth = hf_shard(shard, n=9, side=256)
    records = [r for r in inkseal.scan(shard, with_columns=["url", "caption"]) if r["type"] == "sample"]
    assert {r["with"]["url"]: r["work_id"] for r in records} == {
        u: w for u, w in truth.items() if u != "https://example.org/7.png" and u != "https://example.org/8.png"
    }
    assert [r["path"] for r in records][:2] == ["img_000.png", "img_001.png"]
    expected = [r for r in run_cli(cli, "scan", "--json", "--with", "url,caption", str(shard)) if r["type"] == "sample"]
    assert [(r["with"]["url"], r["work_id"], r["path"]) for r in records] == [
        (r["with"]["url"], r["work_id"], r["path"]) for r in expected
    ]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB over all samples, computed here with numpy (not by the library)."""
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / mse))


def test_embed_aims_at_the_target_quality(coffee_png):
    assert inkseal.DEFAULT_TARGET_QUALITY == 86.0  # the CLI's default target
    marked, report = inkseal.embed(coffee_png, work_id=ID, report=True)
    assert report.work_id == ID and report.target_quality == 86.0
    assert abs(report.ssimulacra2 - 86.0) <= 1.0
    assert inkseal.detect(marked).work_id == ID

    # A higher target gives a fainter mark: a higher score and a smaller gain.
    _, faint = inkseal.embed(coffee_png, work_id=ID, target_quality=92.0, report=True)
    assert abs(faint.ssimulacra2 - 92.0) <= 1.0
    assert faint.gain < report.gain

    # Strength multiplies the mark the target chose: double the gain, a lower score.
    _, strong = inkseal.embed(coffee_png, work_id=ID, strength=2.0, report=True)
    assert strong.gain == pytest.approx(2 * report.gain, rel=1e-6)
    assert strong.ssimulacra2 < report.ssimulacra2 - 1.0


def test_embed_fast_path_has_no_score_and_the_reported_psnr_is_right():
    pixels = texture(seed=3)
    marked, report = inkseal.embed(pixels, work_id=ID, target_quality=None, report=True)
    assert report.ssimulacra2 is None and report.target_quality is None
    assert report.gain == 1.0  # the strength alone when there is no target
    assert report.psnr_db == pytest.approx(psnr(pixels, marked), abs=0.01)
    assert inkseal.detect(marked).work_id == ID
    # The targeted path marks the same pixels differently (it scores and adjusts).
    targeted, tr = inkseal.embed(pixels, work_id=ID, report=True)
    assert tr.ssimulacra2 is not None and not np.array_equal(targeted, marked)
    assert tr.psnr_db == pytest.approx(psnr(pixels, targeted), abs=0.01)


def test_embed_refuses_a_bad_target(coffee_png):
    for bad in (0.0, 101.0, float("nan")):
        with pytest.raises(ValueError, match="target_quality is a SSIMULACRA2 score in"):
            inkseal.embed(coffee_png, target_quality=bad)


def test_mark_bytes_then_verify_bytes(tmp_path, coffee_png, flower_jpg):
    registry = tmp_path / "registry.sqlite"
    creds = tmp_path / "credentials"
    out = tmp_path / "flower.marked.jpg"
    marked = inkseal.mark_bytes(
        flower_jpg, out, "Flower", "A. Painter", registry=registry, credentials=creds,
        target_quality=90.0,
    )
    data = out.read_bytes()
    assert data[:2] == b"\xff\xd8", "the bytes' own format (JPEG) is kept"
    import hashlib

    assert marked["sha256"] == hashlib.sha256(data).hexdigest()
    # The written JPEG is scored again after encoding: below the pixels' target.
    assert 0 < marked["ssimulacra2"] < 91.0 and marked["gain"] > 0
    assert inkseal.detect(data).work_id == marked["work_id"]

    v = inkseal.verify_bytes(data, registry=registry, credentials=creds)
    assert (v["verdict"], v["binding"], v["bound_work_id"]) == ("verified", "agree", marked["work_id"])
    assert v == inkseal.verify_file(out, registry=registry, credentials=creds) | {"watermark": v["watermark"]}

    # Unsigned bytes carrying the mark: the registry recovers the work.
    stripped = inkseal.embed(data, work_id=marked["work_id"], target_quality=None)
    v = inkseal.verify_bytes(stripped, registry=registry, credentials=creds)
    assert v["verdict"] == "recovered" and v["recovered"]["title"] == "Flower"

    # An extension that does not match the bytes is refused before anything is written.
    with pytest.raises(inkseal.InksealError, match="output"):
        inkseal.mark_bytes(coffee_png, tmp_path / "x.jpg", "x", "y", registry=registry, credentials=creds)
    assert not (tmp_path / "x.jpg").exists()
    with pytest.raises(inkseal.ImageError):
        inkseal.verify_bytes(b"not an image")
