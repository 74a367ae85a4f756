"""Fixtures shared by the inkseal Python tests: test images from the workspace's testdata/
and the `inkseal` binary (INKSEAL_BIN), the reference the Python results are checked against."""

from __future__ import annotations

import io
import json
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
TESTDATA = ROOT / "testdata"


@pytest.fixture(scope="session")
def coffee_png() -> bytes:
    return (TESTDATA / "coffee.png").read_bytes()


@pytest.fixture(scope="session")
def flower_jpg() -> bytes:
    return (TESTDATA / "flower.jpg").read_bytes()


@pytest.fixture(scope="session")
def cli() -> pathlib.Path:
    """The inkseal binary built from the same checkout (set INKSEAL_BIN)."""
    path = os.environ.get("INKSEAL_BIN")
    if not path:
        pytest.fail("set INKSEAL_BIN to the inkseal binary (.ci/run does)")
    return pathlib.Path(path)


def run_cli(cli: pathlib.Path, *args: str, env: dict | None = None) -> list[dict]:
    """Runs the CLI with --json and returns its JSON lines."""
    out = subprocess.run([str(cli), *args], capture_output=True, text=True, env=env)
    assert out.returncode in (0, 1), out.stderr
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def png_bytes(pixels) -> bytes:
    """Encodes an HxWx3 uint8 array as PNG with the standard library (no image package)."""
    import struct
    import zlib

    h, w, _ = pixels.shape
    raw = b"".join(b"\x00" + pixels[y].tobytes() for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


def texture(h: int = 320, w: int = 320, seed: int = 7):
    """A textured RGB picture made here (independent of the library): smooth gradients plus
    noise, like a painting's canvas."""
    import numpy as np

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = 96 + 60 * np.sin(x / (11.0 + seed % 7)) * np.cos(y / (19.0 + seed % 5))
    img = base[..., None] + rng.normal(0, 18, size=(h, w, 3)) + np.array([20, 0, -20])
    return np.clip(img, 0, 255).astype(np.uint8)


def hf_shard(path: pathlib.Path, n: int = 24, side: int = 512, marked_every: int = 3) -> dict:
    """A Hugging Face style Parquet shard: `image` struct<bytes, path>, `url`, `caption`.
    Every `marked_every`-th row is marked with a work ID; one row is not an image and one
    is null. Returns {url: work ID or None} for the rows that hold images."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    import inkseal

    cells, paths, urls, captions, truth = [], [], [], [], {}
    for i in range(n):
        url = f"https://example.org/{i}.png"
        png = png_bytes(texture(side, side, seed=i))
        work = None
        if i % marked_every == 0:
            work = f"{0xA0000000 + i:016x}"
            png = inkseal.embed(png, work_id=work)
        if i == n - 2:
            png, work = b"this is not an image", None
        if i == n - 1:
            png, work = None, None
        cells.append(png)
        paths.append(f"img_{i:03}.png")
        urls.append(url)
        captions.append(f"caption {i}")
        truth[url] = work
    image = pa.StructArray.from_arrays(
        [pa.array(cells, pa.binary()), pa.array(paths)], names=["bytes", "path"]
    )
    table = pa.table({"image": image, "url": urls, "caption": captions})
    pq.write_table(table, path, row_group_size=8)
    return truth
