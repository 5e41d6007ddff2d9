"""Serving benchmark: a real `nyctaxi serve` (uvicorn) on 127.0.0.1 with the champion model;
single-trip latency at a fixed request rate, measured with vegeta (an open-loop load generator:
a slow answer does not delay the next request, so queueing shows), and batch throughput.

    .venv/bin/python benchmarks/serve.py                      # 200 req/s × 10 s, 3 runs; 1 and 2 workers
    .venv/bin/python benchmarks/serve.py --rate 400 --workers 2
    .venv/bin/python benchmarks/serve.py --demand            # a model with the feature store's demand
                                                             # features: an online lookup per request
    .venv/bin/python benchmarks/serve.py --demand --online-cache-s 0   # … without serving's cache

The model comes from a registry built once in .bench/serve (real green 2025-01 → 2025-02 from
../shared, through the pipeline and `nyctaxi train`). vegeta is installed by `make bench-tools`
(Go module proxy) into jars/tools/bin. Writes benchmarks/results/serve.json; no assertions.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CACHE, ROOT, SHARED_TLC, free_port, min_median, save  # noqa: E402

from nyctaxi.config import Settings  # noqa: E402

NYCTAXI = str(Path(sys.executable).with_name("nyctaxi"))
VEGETA = Path(os.environ.get("VEGETA", ROOT / "jars" / "tools" / "bin" / "vegeta"))
ONLINE_CACHE_DEFAULT_S = Settings.model_fields["serving_online_cache_s"].default
ZONES = (74, 75, 41, 42, 166, 7, 129, 82, 95, 132, 138, 236, 237, 161, 230)


def trip(rng: random.Random) -> dict:
    return {
        "service": rng.choice(("green", "yellow")),
        "pickup_at": f"2025-02-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00",
        "pu_location_id": rng.choice(ZONES),
        "do_location_id": rng.choice(ZONES),
        "trip_distance": round(rng.uniform(0.3, 20.0), 2),
        "passenger_count": rng.randint(1, 4),
    }


def environment(root: Path, demand: bool) -> dict[str, str]:
    return {
        **os.environ,
        "NYCTAXI_LAKE_BRONZE": str(root / "lake" / "bronze"),
        "NYCTAXI_LAKE_SILVER": str(root / "lake" / "silver"),
        "NYCTAXI_LAKE_GOLD": str(root / "lake" / "gold"),
        "NYCTAXI_TLC_BASE_URL": str(SHARED_TLC),
        "NYCTAXI_SPARK_MASTER": "local[2]",
        "NYCTAXI_MLFLOW_ARTIFACTS": str(root / "mlartifacts"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "NYCTAXI_SERVING_RELOAD_S": "0",
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": sys.executable,
        "NYCTAXI_FEATURE_REGISTRY": str(root / "feature_store" / "registry.db"),
        "NYCTAXI_FEATURE_ONLINE_PATH": str(root / "feature_store" / "online.db"),
        "NYCTAXI_DEMAND_FEATURES": str(demand).lower(),
    }


def ensure_champion(env: dict[str, str], root: Path, demand: bool) -> None:
    """A registry with a champion in ``root`` (.bench/serve[-demand]; built once: ~3 minutes)."""
    marker = root / "champion.ready"
    if marker.exists():
        return
    print("building the benchmark registry (real green 2025-01/02 → train) …", flush=True)
    steps = [["run", "--service", "green", "--months", "2025-01..2025-02"]]
    if demand:
        steps.append(["feature-store", "materialize", "--service", "green", "--months", "2025-01..2025-02"])
    steps.append(["train", "--service", "green", "--train-months", "2025-01", "--eval-month", "2025-02"])
    for args in steps:
        subprocess.run([NYCTAXI, *args], env=env, check=True, stdout=subprocess.DEVNULL)
    marker.touch()


def start_server(env: dict[str, str], workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [NYCTAXI, "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,  # access logs: one line per request, not what is measured here
        start_new_session=True,
    )
    deadline, ready_in_a_row = time.monotonic() + 120, 0
    while ready_in_a_row < 10 * workers:  # every worker process has loaded the model
        if time.monotonic() > deadline or server.poll() is not None:
            raise SystemExit("the server did not become ready")
        try:
            ok = requests.get(f"{url}/ready", timeout=2).status_code == 200
        except requests.ConnectionError:
            ok = False
        ready_in_a_row = ready_in_a_row + 1 if ok else 0
        time.sleep(0.05)
    return server, url


def stop_server(server: subprocess.Popen) -> None:
    os.killpg(server.pid, 15)
    server.wait(timeout=30)


def attack(url: str, rate: int, duration_s: float, seed: int) -> dict:
    """vegeta at ``rate``/s for ``duration_s`` with distinct single-trip bodies; its JSON report."""
    rng = random.Random(seed)
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as targets:
        for _ in range(int(rate * duration_s)):
            body = base64.b64encode(json.dumps(trip(rng)).encode()).decode()
            target = {"method": "POST", "url": f"{url}/v1/predict", "body": body}
            target["header"] = {"Content-Type": ["application/json"]}
            targets.write(json.dumps(target) + "\n")
    attack_cmd = [str(VEGETA), "attack", "-format=json", f"-targets={targets.name}", f"-rate={rate}/1s"]
    attack_cmd += [f"-duration={duration_s}s", "-timeout=10s", "-max-workers=256"]
    results = subprocess.run(attack_cmd, capture_output=True, check=True).stdout
    report = subprocess.run(
        [str(VEGETA), "report", "-type=json"], input=results, capture_output=True, check=True
    )
    os.unlink(targets.name)
    return json.loads(report.stdout)


def batch_throughput(url: str, batches: int, seed: int) -> float:
    """Predictions/s over ``batches`` requests of 1,000 trips sent back to back (bodies encoded
    beforehand, so the client's JSON work is not in the figure)."""
    rng = random.Random(seed)
    bodies = [json.dumps({"trips": [trip(rng) for _ in range(1_000)]}).encode() for _ in range(batches)]
    headers = {"Content-Type": "application/json"}
    with requests.Session() as session:
        started = time.perf_counter()
        for body in bodies:
            session.post(f"{url}/v1/predict", data=body, headers=headers, timeout=60).raise_for_status()
        return batches * 1_000 / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=200, help="single requests per second")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batches", type=int, default=20, help="batches of 1,000 per run")
    parser.add_argument("--workers", default="1,2", help="server worker processes to compare")
    parser.add_argument("--demand", action="store_true", help="a model that reads the online features")
    parser.add_argument(
        "--online-cache-s",
        type=float,
        help="serving's NYCTAXI_SERVING_ONLINE_CACHE_S (default: the setting's); 0 reads Feast per request",
    )
    args = parser.parse_args()
    if not VEGETA.exists():
        parser.error(f"{VEGETA} missing: run `make bench-tools` (installs vegeta with go)")
    name = "serve-demand" if args.demand else "serve"  # its cache in .bench and its results
    env = environment(CACHE / name, args.demand)
    ensure_champion(env, CACHE / name, args.demand)
    results = name
    if args.online_cache_s is not None:
        env["NYCTAXI_SERVING_ONLINE_CACHE_S"] = str(args.online_cache_s)
        results += "-uncached" if args.online_cache_s == 0 else ""

    summary, raw = {}, {}
    for workers in [int(w) for w in args.workers.split(",")]:
        server, url = start_server(env, workers)
        try:
            attack(url, args.rate, 3, seed=0)  # warm-up
            reports, throughputs = [], []
            for run in range(args.runs):
                reports.append(attack(url, args.rate, args.duration, seed=run + 1))
                throughputs.append(batch_throughput(url, args.batches, seed=run + 100))
        finally:
            stop_server(server)
        ms = {q: [r["latencies"][q] / 1e6 for r in reports] for q in ("50th", "95th", "99th", "max")}
        entry = {f"p{q[:2]}_ms" if q != "max" else "max_ms": min_median(v) for q, v in ms.items()}
        entry["success"] = min(r["success"] for r in reports)
        entry["achieved_rps"] = min_median([r["throughput"] for r in reports])
        entry["batch_predictions_per_s"] = min_median(throughputs)
        summary[str(workers)] = entry
        raw[str(workers)] = {"vegeta": reports, "batch": throughputs}
        print(
            f"{workers} worker(s): single trips at {args.rate}/s for {args.duration:.0f} s × {args.runs} (min / median)"
        )
        for figure in ("p50_ms", "p95_ms", "p99_ms", "max_ms", "achieved_rps", "batch_predictions_per_s"):
            low, mid = entry[figure]
            print(f"  {figure:<24}{low:>10.2f} {mid:>10.2f}")
        print(f"  {'success ratio (min)':<24}{entry['success']:>10.4f}", flush=True)
    path = save(
        results,
        {
            "command": "python benchmarks/serve.py " + " ".join(sys.argv[1:]),
            "rate": args.rate,
            "demand_features": args.demand,
            "online_cache_s": float(env.get("NYCTAXI_SERVING_ONLINE_CACHE_S", ONLINE_CACHE_DEFAULT_S)),
            "duration_s": args.duration,
            "summary": summary,
            "runs": raw,
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
