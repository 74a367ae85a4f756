"""Images per second on one 512-px Parquet shard, in one run: the CLI scan (the Rust
scanner), detect_batch on the same bytes, and Ray Data on 2 CPUs.

    INKSEAL_BIN=target/release/inkseal python crates/inkseal-python/bench/throughput.py [N]

Not a test (speed belongs in benchmarks); prints one line per measurement.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))
from conftest import hf_shard  # noqa: E402

import pyarrow.parquet as pq  # noqa: E402

import inkseal  # noqa: E402


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    cli = os.environ["INKSEAL_BIN"]
    with tempfile.TemporaryDirectory() as tmp:
        shard = pathlib.Path(tmp) / "shard.parquet"
        hf_shard(shard, n=n, side=512, marked_every=4)
        size = shard.stat().st_size
        print(f"shard: {n} rows of 512x512 PNG, {size / 1e6:.1f} MB")

        best = {}
        for attempt in range(2):
            t = time.perf_counter()
            out = subprocess.run([cli, "scan", "--json", "--threads", "2", str(shard)], capture_output=True, text=True)
            wall = time.perf_counter() - t
            summary = [json.loads(l) for l in out.stdout.splitlines() if '"summary"' in l][-1]
            best["cli"] = max(best.get("cli", 0), n / wall)
            best["cli_reported"] = max(best.get("cli_reported", 0), summary["images_per_second"])

            t = time.perf_counter()
            table = pq.read_table(shard)
            cells = table["image"]
            result = inkseal.detect_batch(cells, threads=2)
            wall = time.perf_counter() - t
            best["detect_batch"] = max(best.get("detect_batch", 0), n / wall)
            detected = sum(result["detected"].to_pylist())

        print(f"CLI scan (process wall time):      {best['cli']:.1f} images/s (its summary: {best['cli_reported']:.1f})")
        print(f"detect_batch (read + detect):      {best['detect_batch']:.1f} images/s, {detected} detected "
              f"= {100 * best['detect_batch'] / best['cli']:.0f}% of the CLI")

        import ray

        import inkseal.ray

        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        for concurrency, threads, cpus in [(1, 2, 2), (2, 1, 1)]:
            rates = []
            for attempt in range(2):
                t = time.perf_counter()
                ds = ray.data.read_parquet(str(shard))
                found = inkseal.ray.detect_marks(
                    ds, column="image", concurrency=concurrency, threads=threads, num_cpus=cpus, batch_size=32
                ).select_columns(["detected", "work_id"])
                rows = found.take_all()
                rates.append(n / (time.perf_counter() - t))
            print(f"Ray Data, {concurrency} actor(s) x {threads} thread(s): {max(rates):.1f} images/s, "
                  f"{sum(r['detected'] for r in rows)} detected = {100 * max(rates) / best['cli']:.0f}% of the CLI")
        ray.shutdown()


if __name__ == "__main__":
    main()
