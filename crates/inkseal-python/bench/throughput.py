"""Images per second on one 512-px Parquet shard, in one run: the CLI scan, the Rust
scanner on the shard's bytes in memory, detect_batch on the same bytes, and Ray Data on
2 CPUs.

    cargo build --release -p inkseal -p inkseal-benches --example detect_bytes
    INKSEAL_BIN=target/release/inkseal python crates/inkseal-python/bench/throughput.py [N] [ROUNDS] [REPEAT]

REPEAT > 1 writes the N generated rows REPEAT times over (a larger shard, cheap to make),
to see how much of Ray's gap is its fixed cost per execution.

The in-memory baseline is `benches/examples/detect_bytes.rs` (`Scanner::detect_bytes`, the
call detect_batch makes), found next to INKSEAL_BIN in examples/ or named by
INKSEAL_DETECT_BYTES.

Not a test (speed belongs in benchmarks). The measurements are interleaved round by round,
so a neighbour's load falls on all of them alike; each line gives the median and the best
of the rounds, and every ratio is against the CLI measured in the same rounds.
"""

from __future__ import annotations

import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))
from conftest import hf_shard  # noqa: E402

import pyarrow.parquet as pq  # noqa: E402

import inkseal  # noqa: E402
import inkseal.ray  # noqa: E402


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 384
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    repeat = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    cli = os.environ["INKSEAL_BIN"]
    baseline = os.environ.get(
        "INKSEAL_DETECT_BYTES", str(pathlib.Path(cli).parent / "examples" / "detect_bytes")
    )
    import ray

    with tempfile.TemporaryDirectory() as tmp:
        shard = pathlib.Path(tmp) / "shard.parquet"
        hf_shard(shard, n=n, side=512, marked_every=4)
        if repeat > 1:
            import pyarrow as pa

            one = pq.read_table(shard)
            pq.write_table(pa.concat_tables([one] * repeat), shard, row_group_size=8)
            n *= repeat
        # Eight rows of the same shard: what a Ray execution costs before any throughput.
        small = pathlib.Path(tmp) / "small.parquet"
        pq.write_table(pq.read_table(shard).slice(0, 8), small)
        print(f"shard: {n} rows of 512x512 PNG, {shard.stat().st_size / 1e6:.1f} MB; {os.cpu_count()} cores")

        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
        ray.data.DataContext.get_current().enable_progress_bars = False

        def read_only(path, count):
            """Ray's own floor: the same read, the image column handed to a task, no search."""
            t = time.perf_counter()
            ds = ray.data.read_parquet(str(path)).map_batches(
                lambda b: b.select(["url"]), batch_format="pyarrow", batch_size=None
            )
            assert len(ds.take_all()) == count
            return count / (time.perf_counter() - t)

        def run_ray(path, count, **kw):
            t = time.perf_counter()
            ds = inkseal.ray.detect_marks(ray.data.read_parquet(str(path)), column="image", **kw)
            rows = ds.select_columns(["detected"]).take_all()
            assert len(rows) == count
            return count / (time.perf_counter() - t), sum(r["detected"] for r in rows)

        rates: dict[str, list[float]] = {}
        detected: dict[str, int] = {}

        def add(name, rate, found=None):
            rates.setdefault(name, []).append(rate)
            if found is not None:
                detected[name] = found

        for attempt in range(rounds + 1):  # round 0 warms Ray's workers and is not counted
            t = time.perf_counter()
            out = subprocess.run([cli, "scan", "--json", "--threads", "2", str(shard)], capture_output=True, text=True)
            wall = time.perf_counter() - t
            lines = [json.loads(line) for line in out.stdout.splitlines()]
            summary = lines[-1]
            assert summary["type"] == "summary"

            rust = json.loads(
                subprocess.run([baseline, str(shard), "2"], capture_output=True, text=True, check=True).stdout
            )

            t = time.perf_counter()
            table = pq.read_table(shard)
            read = time.perf_counter() - t
            t = time.perf_counter()
            result = inkseal.detect_batch(table["image"], threads=2)
            search = time.perf_counter() - t

            tasks = run_ray(shard, n)
            actors = run_ray(shard, n, compute="actors", threads=2)
            small_rate, _ = run_ray(small, 8)
            floor = read_only(shard, n)
            if attempt == 0:
                continue
            add("cli", n / wall, summary["detected"])
            add("cli_summary", summary["images_per_second"])
            add("rust_bytes", rust["images_per_second"], rust["detected"])
            add("detect_batch", n / (read + search), sum(result["detected"].to_pylist()))
            add("detect_batch_search", n / search)
            add("ray_tasks", *tasks)
            add("ray_actors", *actors)
            add("ray_8_rows_seconds", 8 / small_rate)
            add("ray_read_only", floor)
            # The rate past the fixed cost: the extra rows over the extra time.
            add("ray_tasks_steady", (n - 8) / (n / tasks[0] - 8 / small_rate))

        def line(label, name, against="cli"):
            med, best = statistics.median(rates[name]), max(rates[name])
            found = f", {detected[name]} detected" if name in detected else ""
            if against:
                # The ratio of each round's pair, then the median: both saw the same load.
                ratio = statistics.median(a / b for a, b in zip(rates[name], rates[against]))
                found += f" = {100 * ratio:.0f}% of {against}"
            print(f"{label:<52} {med:7.1f} images/s (best {best:.1f}){found}")

        line("CLI scan --threads 2 (process wall time) [cli]", "cli", against=None)
        line("  its own summary (inside the process)", "cli_summary", against=None)
        line("Rust Scanner::detect_bytes, in memory [rust_bytes]", "rust_bytes", against=None)
        line("detect_batch(threads=2), same bytes in memory", "detect_batch_search", against="rust_bytes")
        line("pq.read_table + detect_batch(threads=2)", "detect_batch")
        line("Ray, read_parquet + detect_marks (tasks, default)", "ray_tasks")
        line("Ray, read_parquet + detect_marks (1 actor, 2 thr)", "ray_actors")
        line("Ray, read_parquet + a task that only selects a column", "ray_read_only")
        line("Ray tasks past the fixed cost ((n-8)/(T_n - T_8))", "ray_tasks_steady")
        fixed = statistics.median(rates["ray_8_rows_seconds"])
        print(f"Ray on 8 rows of the shard (its fixed cost):          {fixed:.2f} s per execution")
        ray.shutdown()


if __name__ == "__main__":
    main()
