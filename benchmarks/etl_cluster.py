"""ETL on the local standalone cluster: the same 3M-row synthetic month through bronze → silver →
gold with 1 worker and with 2 workers of 1 core each; prints the speed-up.

    .venv/bin/python benchmarks/etl_cluster.py [--rows 3e6] [--runs 2]

Master and workers are real Spark processes on 127.0.0.1 (ephemeral ports), started and stopped
here. The driver runs in the measured process, as with `spark-submit --deploy-mode client`.
Writes benchmarks/results/etl_cluster.json; no assertions.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CACHE, free_port, min_median, save  # noqa: E402
from etl import DEFAULT_SHUFFLE_PARTITIONS, input_file, spark_run  # noqa: E402

from nyctaxi import cluster  # noqa: E402
from nyctaxi.config import Settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="3e6")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--executor-memory", default="2g")
    args = parser.parse_args()
    rows = int(float(args.rows))
    input_file(rows)

    walls, results = {}, {}
    for workers in (1, 2):
        settings = Settings(
            cluster_workers=workers,
            cluster_worker_cores=1,
            cluster_worker_memory="3g",
            cluster_port=free_port(),
            cluster_ui_port=free_port(),
            cluster_worker_ui_port=0,
            cluster_run_dir=str(CACHE / "cluster" / f"{workers}-workers"),
        )
        info = cluster.up(settings)
        alive = sum(w["state"] == "ALIVE" for w in info.workers)
        print(f"cluster {info.master_url}: {alive} worker(s) × 1 core", flush=True)
        try:
            env = {"NYCTAXI_SPARK_EXECUTOR_MEMORY": args.executor_memory}
            runs = [
                spark_run(rows, info.master_url, DEFAULT_SHUFFLE_PARTITIONS, env) for _ in range(args.runs)
            ]
        finally:
            cluster.down(settings)
        for number, run in enumerate(runs, 1):
            times = run["times"]
            print(
                f"  run {number}: {run['wall']:.1f} s (preprocess {times['preprocess']:.1f}, "
                f"features {times['features']:.1f}; {run['rows_out']:,} silver rows)",
                flush=True,
            )
        walls[workers] = min_median([r["wall"] for r in runs])
        results[workers] = runs
    speedup = walls[1][1] / walls[2][1]
    print(
        f"\n{rows:,} rows, min / median seconds: 1 worker {walls[1][0]:.1f} / {walls[1][1]:.1f}, "
        f"2 workers {walls[2][0]:.1f} / {walls[2][1]:.1f}; speed-up (medians) {speedup:.2f}×"
    )
    path = save(
        "etl_cluster",
        {
            "command": "python benchmarks/etl_cluster.py " + " ".join(sys.argv[1:]),
            "rows": rows,
            "summary": {"1_worker": walls[1], "2_workers": walls[2], "speedup": speedup},
            "runs": {str(k): v for k, v in results.items()},
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
