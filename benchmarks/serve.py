"""Serving latency and throughput against a running server on 127.0.0.1 (prints figures; no asserts).

    .venv/bin/nyctaxi serve &                     # a registry with a champion (nyctaxi train)
    .venv/bin/python benchmarks/serve.py --url http://127.0.0.1:8000 --requests 2000 --rate 200

Single requests are sent at a fixed rate (open loop: a slow answer does not delay the next
send), so the latency includes queueing like real traffic; batch throughput sends batches of
1,000 trips back to back. Reports min and median over --repeats runs.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import random
import statistics
import threading
import time

import requests

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


def single_latencies(url: str, count: int, rate: float, seed: int) -> tuple[list[float], float]:
    """Latency (s) of each request sent at ``rate``/s from a pool of workers; and elapsed seconds."""
    rng = random.Random(seed)
    bodies = [trip(rng) for _ in range(count)]
    session_local = threading.local()

    def send(body: dict, due: float) -> float:
        session = getattr(session_local, "session", None) or requests.Session()
        session_local.session = session
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        started = time.perf_counter()
        response = session.post(f"{url}/v1/predict", json=body, timeout=30)
        response.raise_for_status()
        return time.perf_counter() - started

    start = time.perf_counter() + 0.2
    with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:
        futures = [pool.submit(send, body, start + i / rate) for i, body in enumerate(bodies)]
        latencies = [f.result() for f in futures]
    return latencies, time.perf_counter() - start


def batch_throughput(url: str, batches: int, seed: int) -> float:
    rng = random.Random(seed)
    bodies = [{"trips": [trip(rng) for _ in range(1_000)]} for _ in range(batches)]
    with requests.Session() as session:
        started = time.perf_counter()
        for body in bodies:
            session.post(f"{url}/v1/predict", json=body, timeout=60).raise_for_status()
        return batches * 1_000 / (time.perf_counter() - started)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--requests", type=int, default=2_000)
    parser.add_argument("--rate", type=float, default=200.0, help="single requests per second")
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if not args.url.startswith(("http://127.0.0.1", "http://localhost")):
        parser.error("benchmarks talk to a server on 127.0.0.1 only")
    requests.get(f"{args.url}/ready", timeout=10).raise_for_status()
    single_latencies(args.url, 200, args.rate, seed=0)  # warm-up
    p50s, p95s, p99s, rates, throughputs = [], [], [], [], []
    for repeat in range(args.repeats):
        latencies, elapsed = single_latencies(args.url, args.requests, args.rate, seed=repeat + 1)
        p50s.append(percentile(latencies, 0.50) * 1000)
        p95s.append(percentile(latencies, 0.95) * 1000)
        p99s.append(percentile(latencies, 0.99) * 1000)
        rates.append(args.requests / elapsed)
        throughputs.append(batch_throughput(args.url, args.batches, seed=repeat + 100))
    print(
        f"single requests at {args.rate:.0f}/s ({args.requests} per run, {args.repeats} runs): min / median"
    )
    for name, values in (("p50 ms", p50s), ("p95 ms", p95s), ("p99 ms", p99s), ("achieved req/s", rates)):
        print(f"  {name:<16}{min(values):>10.2f} {statistics.median(values):>10.2f}")
    print(f"batch of 1,000 trips ({args.batches} per run): predictions/s")
    print(f"  {'min / median':<16}{min(throughputs):>10.0f} {statistics.median(throughputs):>10.0f}")


if __name__ == "__main__":
    main()
