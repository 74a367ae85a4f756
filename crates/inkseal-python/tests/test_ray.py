"""inkseal.ray: Ray Data on 2 CPUs finds exactly what the CLI scan finds, and keeps every
other column."""

from __future__ import annotations

import pytest

from conftest import hf_shard, run_cli

ray = pytest.importorskip("ray", reason="pip install 'ray[data]' (.ci/run does)")

import inkseal  # noqa: E402
import inkseal.ray  # noqa: E402


@pytest.fixture(scope="module")
def ray_2cpus():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.mark.parametrize("compute", ["tasks", "actors"])
def test_detect_marks_matches_the_cli_scan(ray_2cpus, cli, tmp_path, compute):
    shard = tmp_path / "train-00000-of-00001.parquet"
    truth = hf_shard(shard, n=12, side=256)
    ds = ray.data.read_parquet(str(shard))
    rows = inkseal.ray.detect_marks(ds, column="image", compute=compute, batch_size=4).take_all()
    assert len(rows) == 12
    by_url = {r["url"]: r for r in rows}
    # Every other column is kept, the struct's path included.
    assert by_url["https://example.org/1.png"]["caption"] == "caption 1"
    assert by_url["https://example.org/1.png"]["image"]["path"] == "img_001.png"

    cli_rows = {
        r["with"]["url"]: r
        for r in run_cli(cli, "scan", "--json", "--with", "url", str(shard))
        if r["type"] == "sample"
    }
    for url, work in truth.items():
        row = by_url[url]
        if url in cli_rows:
            assert (row["detected"], row["work_id"]) == (cli_rows[url]["detected"], cli_rows[url]["work_id"])
            assert row["p_value"] == pytest.approx(cli_rows[url]["p_value"], rel=1e-9)
            assert row["work_id"] == work
        else:
            assert row["error"] is not None and row["detected"] is False
    assert by_url["https://example.org/11.png"]["error"] == "null image cell"
    assert sum(r["detected"] for r in rows) == sum(w is not None for w in truth.values())


def test_detect_marks_refuses_an_unknown_layout(ray_2cpus):
    with pytest.raises(ValueError, match='compute is "tasks" or "actors", not \'pool\''):
        inkseal.ray.detect_marks(ray.data.from_items([{"image": b""}]), compute="pool")
