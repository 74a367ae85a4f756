#!/usr/bin/env python3
"""Peer baseline: invisible-watermark's dwtDct (the mark Stable Diffusion ships) on testdata/.

Prints, per image, dwtDct's embed and decode time per megapixel next to an OpenCV JPEG decode
of the same image measured in the same run (the ratios are what to compare with inkseal's
`cargo bench -p inkseal-benches --bench speed`), and the share of images whose 64-bit payload
comes back exactly after a few attacks of shared/attacks.md (dwtDct has no detector threshold
or p-value, so "exact payload" is its only criterion).

Set-up (not needed for CI; invisible-watermark imports torch through its rivaGan module even
for dwtDct, so it is installed without dependencies and that module is stubbed here):
    pip install --no-deps invisible-watermark==0.2.0
    pip install opencv-python-headless PyWavelets numpy
Run from the workspace root:  python3 benches/compare/peer.py
"""
import glob
import os
import sys
import time
import types

import numpy as np

stub = types.ModuleType("imwatermark.rivaGan")
stub.RivaWatermark = object
sys.modules["imwatermark.rivaGan"] = stub
import cv2  # noqa: E402
from imwatermark import WatermarkDecoder, WatermarkEncoder  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
RUNS = 5


def median_ms(f):
    f()
    times = []
    for _ in range(RUNS):
        t = time.perf_counter()
        f()
        times.append((time.perf_counter() - t) * 1000)
    return sorted(times)[len(times) // 2]


def jpeg(img, q):
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, q])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


def scale(img, s):
    h, w = img.shape[:2]
    interp = cv2.INTER_LANCZOS4 if s < 1 else cv2.INTER_CUBIC
    return cv2.resize(img, (max(1, round(w * s)), max(1, round(h * s))), interpolation=interp)


def social(img):
    h, w = img.shape[:2]
    s = 1080 / max(h, w) if max(h, w) > 1080 else 0.5
    return jpeg(scale(img, s), 75)


def rotate(img, deg):
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), deg, 1.0)
    return cv2.warpAffine(img, m, (w, h))


ATTACKS = [
    ("none", lambda i: i),
    ("jpeg75", lambda i: jpeg(i, 75)),
    ("jpeg50", lambda i: jpeg(i, 50)),
    ("down0.5", lambda i: scale(i, 0.5)),
    ("blur1", lambda i: cv2.GaussianBlur(i, (0, 0), 1.0)),
    ("crop75", lambda i: i[i.shape[0] // 14 : i.shape[0] - i.shape[0] // 14, i.shape[1] // 14 : i.shape[1] - i.shape[1] // 14]),
    ("rot1", lambda i: rotate(i, 1)),
    ("social", social),
]


def main():
    rng = np.random.default_rng(1)
    files = sorted(glob.glob(os.path.join(ROOT, "testdata", "*.png")) + glob.glob(os.path.join(ROOT, "testdata", "*.jpg")))
    print("| image | MP | decode ms/MP | dwtDct embed ms/MP | dwtDct decode ms/MP | embed/decode | decode/decode |")
    print("|---|---|---|---|---|---|---|")
    ok = {name: 0 for name, _ in ATTACKS}
    ratios = []
    for path in files:
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        mp = img.shape[0] * img.shape[1] / 1e6
        bits = [int(b) for b in rng.integers(0, 2, 64)]
        enc = WatermarkEncoder()
        enc.set_watermark("bits", bits)
        dec = WatermarkDecoder("bits", 64)
        marked = enc.encode(img, "dwtDct")
        _, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90])
        t_dec = median_ms(lambda: cv2.imdecode(buf, cv2.IMREAD_COLOR)) / mp
        t_emb = median_ms(lambda: enc.encode(img, "dwtDct")) / mp
        t_det = median_ms(lambda: dec.decode(marked, "dwtDct")) / mp
        ratios.append((t_emb / t_dec, t_det / t_dec))
        print(f"| {os.path.basename(path)} | {mp:.2f} | {t_dec:.2f} | {t_emb:.1f} | {t_det:.1f} | {t_emb / t_dec:.1f}x | {t_det / t_dec:.1f}x |")
        for name, attack in ATTACKS:
            try:
                got = [int(b) for b in dec.decode(attack(marked), "dwtDct")]
            except Exception:  # dwtDct refuses some sizes
                got = []
            ok[name] += got == bits
    n = len(files)
    print(f"| **mean ratio** | | | | | {np.mean([r[0] for r in ratios]):.1f}x | {np.mean([r[1] for r in ratios]):.1f}x |")
    print()
    print("| attack | dwtDct exact 64-bit payload |")
    print("|---|---|")
    for name, _ in ATTACKS:
        print(f"| {name} | {ok[name]}/{n} |")


if __name__ == "__main__":
    main()
