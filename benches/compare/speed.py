#!/usr/bin/env python3
"""Side-by-side speed: inkseal against invisible-watermark's dwtDct (the mark Stable Diffusion
ships), on the same images at 0.25, 1, 4 and 16 megapixels, in the same run.

Run from the workspace root:
    python3 benches/compare/speed.py [--sizes 0.25,1,4,16] [--runs 5] [--images coffee.png,...]

On first use it makes a virtual environment in target/peer-venv with
`pip install --no-deps invisible-watermark==0.2.0` plus numpy, opencv-python-headless and
PyWavelets (dwtDct needs no torch; the package's rivaGan module, which imports torch, is
stubbed), then runs itself inside it. It builds `cargo run --release -p inkseal-benches
--example timing`, inkseal's side, which times the Rust library the same way.

Library calls only on both sides: each image is written once as PNG, and each side decodes it
before its clock starts (decoding is reported apart). For every image the two sides run one
after the other, so both see the same machine load. dwtDct's encode and decode are timed with
`WatermarkEncoder.encode(img, "dwtDct")` and `WatermarkDecoder("bits", 64).decode(img,
"dwtDct")`; inkseal's with `Embedder::embed` and `Detector::detect` (the full geometric
search). inkseal's embedding is timed on one thread and on all cores; its detection of one
image always uses one thread; dwtDct uses what OpenCV and NumPy use (mostly one thread).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import types

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
VENV = os.path.join(ROOT, "target", "peer-venv")
PEER_PACKAGES = ["numpy", "opencv-python-headless", "PyWavelets"]


def ensure_venv():
    """Re-runs this script inside target/peer-venv, creating it when missing."""
    python = os.path.join(VENV, "bin", "python")
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        return
    if not os.path.exists(python):
        print(f"making {VENV} (invisible-watermark, numpy, opencv-python-headless, PyWavelets)", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
        pip = [python, "-m", "pip", "install", "-q"]
        subprocess.run(pip + ["--no-deps", "invisible-watermark==0.2.0"], check=True)
        subprocess.run(pip + PEER_PACKAGES, check=True)
    os.execv(python, [python, os.path.abspath(__file__)] + sys.argv[1:])


def median_ms(f, runs):
    f()  # warm-up
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        f()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def inkseal_timing(binary, path, runs, threads):
    env = dict(os.environ)
    if threads:
        env["RAYON_NUM_THREADS"] = str(threads)
    out = subprocess.run([binary, "--runs", str(runs), path], check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ensure_venv()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="0.25,1,4,16", help="megapixels, comma-separated")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per figure (2 at 16 MP)")
    parser.add_argument("--images", default="coffee.png,astronaut.png,retina.jpg", help="files in testdata/")
    args = parser.parse_args()

    import numpy as np

    stub = types.ModuleType("imwatermark.rivaGan")
    stub.RivaWatermark = object
    sys.modules["imwatermark.rivaGan"] = stub
    import cv2
    from imwatermark import WatermarkDecoder, WatermarkEncoder

    subprocess.run(
        ["cargo", "build", "--release", "-q", "-p", "inkseal-benches", "--example", "timing"],
        check=True,
        cwd=ROOT,
    )
    binary = os.path.join(ROOT, "target", "release", "examples", "timing")
    sizes = [float(s) for s in args.sizes.split(",")]
    rng = np.random.default_rng(1)
    bits = [int(b) for b in rng.integers(0, 2, 64)]
    encoder = WatermarkEncoder()
    encoder.set_watermark("bits", bits)
    decoder = WatermarkDecoder("bits", 64)

    print(f"# inkseal vs invisible-watermark dwtDct, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores")
    print()
    print("| image | MP | dwtDct embed ms/MP | inkseal embed ms/MP (1 thread / all) | embed × faster (1 thread / all) "
          "| dwtDct decode ms/MP | inkseal detect ms/MP | detect × faster | dwtDct payload ok | inkseal found |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|---|")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            for name in args.images.split(","):
                src = cv2.imread(os.path.join(ROOT, "testdata", name), cv2.IMREAD_COLOR)
                h, w = src.shape[:2]
                s = (size * 1e6 / (w * h)) ** 0.5
                img = cv2.resize(src, (max(64, round(w * s)), max(64, round(h * s))),
                                 interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)
                path = os.path.join(tmp, f"{os.path.splitext(name)[0]}-{size}mp.png")
                cv2.imwrite(path, img)
                img = cv2.imread(path, cv2.IMREAD_COLOR)
                mp = img.shape[0] * img.shape[1] / 1e6
                runs = args.runs if mp <= 4.5 else 2
                marked = encoder.encode(img, "dwtDct")
                emb = median_ms(lambda: encoder.encode(img, "dwtDct"), runs) / mp
                dec = median_ms(lambda: decoder.decode(marked, "dwtDct"), runs) / mp
                payload_ok = [int(b) for b in decoder.decode(marked, "dwtDct")] == bits
                one = inkseal_timing(binary, path, runs, 1)
                allc = inkseal_timing(binary, path, runs, None)
                ink_emb1, ink_emb = one["embed_ms"] / mp, allc["embed_ms"] / mp
                ink_det = min(one["detect_ms"], allc["detect_ms"]) / mp
                row = (emb / ink_emb1, emb / ink_emb, dec / ink_det)
                rows.append((size, row))
                print(f"| {name} | {mp:.2f} | {emb:.1f} | {ink_emb1:.1f} / {ink_emb:.1f} | {row[0]:.1f} / {row[1]:.1f} "
                      f"| {dec:.1f} | {ink_det:.1f} | {row[2]:.1f} | {'yes' if payload_ok else 'no'} "
                      f"| {'yes' if allc['found'] else 'no'} |", flush=True)

    def gmean(xs):
        return float(np.exp(np.mean(np.log(xs))))

    print()
    print("| MP | embed × faster, 1 thread | embed × faster, all cores | detect × faster |")
    print("|---:|---:|---:|---:|")
    for size in sizes:
        sel = [r for s, r in rows if s == size]
        print(f"| {size:g} | {gmean([r[0] for r in sel]):.1f} | {gmean([r[1] for r in sel]):.1f} | {gmean([r[2] for r in sel]):.1f} |")
    allr = [r for _, r in rows]
    e1, ea, d = gmean([r[0] for r in allr]), gmean([r[1] for r in allr]), gmean([r[2] for r in allr])
    print(f"| **all** | **{e1:.1f}** | **{ea:.1f}** | **{d:.1f}** |")
    print()
    print(f"targets: embed >= 10x faster: {'met' if ea >= 10 else 'NOT met'} on all cores, "
          f"{'met' if e1 >= 10 else 'NOT met'} on one thread; detect >= 5x faster: {'met' if d >= 5 else 'NOT met'} "
          "(geometric means over every image and size)")


if __name__ == "__main__":
    main()
