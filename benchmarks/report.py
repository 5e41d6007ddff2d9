"""Render BENCHMARKS.md (and the time-vs-rows plot) from the latest benchmarks/results/*.json.

.venv/bin/python benchmarks/report.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, ROOT  # noqa: E402

PLOT = RESULTS / "etl_time_vs_rows.png"
TARGETS = {
    "spark_vs_duckdb": 3.0,  # Spark pipeline at 10M rows within 3× of the DuckDB reference
    "jvm_gib": 4.0,  # peak memory under 4 GiB at 10M rows
    "p99_ms": 20.0,  # serving p99 under 20 ms at 200 requests/s
    "batch_per_s": 20_000,  # batch ≥ 20,000 predictions/s
}


def load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def mm(pair: list[float], digits: int = 1) -> str:
    return f"{pair[0]:,.{digits}f} / {pair[1]:,.{digits}f}"


def verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def etl_section(etl: dict) -> list[str]:
    s = etl["summary"]
    sizes = s["sizes"]
    lines = [
        "## ETL: bronze → silver → gold, Spark `local[2]` vs a DuckDB reference",
        "",
        f"Command: `{etl['command']}` ({etl['measured_at']}). Synthetic yellow months, 2024 schema, "
        "0.2 % defects per cleaning rule. Each Spark run is a fresh process on an empty lake (JVM start "
        f"included); DuckDB ({etl['duckdb_threads']} threads) applies the same silver rules and writes "
        "Parquet. Seconds as min / median of the runs.",
        "",
        "| rows | runs | Spark total | Spark silver stage | DuckDB silver | silver ratio Spark/DuckDB "
        "| total/DuckDB | rows/s (total) | peak JVM | peak Python | same counts |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for rows, e in sizes.items():
        lines.append(
            f"| {int(rows):,} | {e['runs']} | {mm(e['spark_wall'])} | {mm(e['spark_silver'])} | "
            f"{mm(e['duckdb_silver'])} | {e['ratio_silver']:.2f}× | {e['ratio_wall_vs_duckdb']:.2f}× | "
            f"{e['rows_per_s']:,.0f} | {e['jvm_peak_gib']:.2f} GiB | {e['python_peak_mib']:,.0f} MiB | "
            f"{'yes' if e['same_counts'] else 'NO'} |"
        )
    lines += ["", "Stages of the Spark runs (median seconds):", ""]
    lines += [
        "| rows | session start | ingest (sha256 + copy) | preprocess → silver | features → gold |",
        "|---|---|---|---|---|",
    ]
    for rows, e in sizes.items():
        lines.append(
            f"| {int(rows):,} | {e['stage_session'][1]:.1f} | {e['stage_ingest'][1]:.1f} | "
            f"{e['stage_preprocess'][1]:.1f} | {e['stage_features'][1]:.1f} |"
        )
    lines += ["", "Output sizes of the largest run (bytes on disk):", ""]
    largest = sizes[max(sizes, key=int)]
    lines += [
        "| bronze | silver trips | quarantine | gold trip_features | gold zone_hourly | DuckDB silver + quarantine |",
        "|---|---|---|---|---|---|",
    ]
    b = largest["bytes"]
    lines.append(
        f"| {b['bronze']:,} | {b['silver_trips']:,} | {b['silver_quarantine']:,} | {b['gold_trip_features']:,} | "
        f"{b['gold_zone_hourly']:,} | {largest['duckdb_bytes']:,} |"
    )
    o, f, g = s["overhead_10k"], s["fit"], s["growth"]
    top = sizes[max(sizes, key=int)]
    lines += [
        "",
        f"- Fixed cost, measured on 10,000 rows: **{o['wall']:.1f} s** in total — session (JVM) start {o['session']:.1f} s, "
        f"ingest {o['ingest']:.1f} s, preprocess {o['preprocess']:.1f} s and features {o['features']:.1f} s (mostly "
        "Delta commits, job scheduling and 64 shuffle partitions), the rest Python start-up and shutdown.",
        f"- Per-row cost, least squares over the sizes: total ≈ {f['fixed_s']:.1f} s + **{f['per_million_rows_s']:.2f} s per million rows**.",
        f"- Growth: {g['rows']:.0f}× the rows took {g['time']:.2f}× the time (target: at most linear) — "
        f"{verdict(g['time'] <= g['rows'])}.",
        f"- Spark vs DuckDB at {int(max(sizes, key=int)):,} rows: silver stage {top['ratio_silver']:.2f}×, whole Spark "
        f"process (bronze → gold, JVM start included) {top['ratio_wall_vs_duckdb']:.2f}× the DuckDB silver time "
        f"(target ≤ {TARGETS['spark_vs_duckdb']:.0f}×) — silver stage {verdict(top['ratio_silver'] <= TARGETS['spark_vs_duckdb'])}, "
        f"whole pipeline {verdict(top['ratio_wall_vs_duckdb'] <= TARGETS['spark_vs_duckdb'])}.",
        f"- Peak memory at {int(max(sizes, key=int)):,} rows: JVM {top['jvm_peak_gib']:.2f} GiB + Python "
        f"{top['python_peak_mib']:,.0f} MiB (target < {TARGETS['jvm_gib']:.0f} GiB) — "
        f"{verdict(top['jvm_peak_gib'] + top['python_peak_mib'] / 1024 < TARGETS['jvm_gib'])}.",
        "",
        f"![time vs rows]({PLOT.relative_to(ROOT)})",
        "",
        *ETL_NOTES,
    ]
    return lines


# What profiling found and what was changed or tried (see the closing notes of issue 6).
ETL_NOTES = [
    "**Issue 12 (write-audit-publish), after preprocess classifies each row once** (the table",
    "above, 2026-12-02 17:53): 10M rows Spark total 226.6 / 232.3 s, silver 147.7 / 147.9 s; 3M",
    "rows total 130.0 / 133.9 s, silver 82.3 / 85.0 s. The machine was slower in this run: DuckDB's",
    "silver in the same runs took 29.2 / 31.4 s at 10M (19.7 / 20.1 s at 03:03, same script).",
    "Before issue 12 (2026-11-28, same script): 10M total 188.6 / 190.6 s, silver 112.5 / 115.5 s;",
    "3M total 96.0 / 100.8 s, silver 54.8 / 55.2 s. Issue 12's first version (2026-12-02 03:03,",
    "classified twice): 10M total 226.5 / 231.1 s, silver 162.0 / 164.6 s. Silver Spark/DuckDB",
    "at 10M: 4.70× now, 8.19× then. Across sessions the absolute seconds do not compare; the A/B",
    'below (old and new code alternating in one session) is the measure of "not slower".',
    "- A/B, 10M rows, fresh processes alternating new / old, preprocess seconds (session and",
    "  ingest excluded), min / median of 2 per session: 2026-12-02 morning, this code 119.3 / 127.2,",
    "  the commit before issue 12 (4a4bc54) 126.6 / 126.8; 17:58 (slower machine), this code",
    "  139.9 / 148.8, before issue 12 143.5 / 145.1. The minimum is lower and the median within",
    "  3 %: not slower, within the machine's noise (the new code also quarantines 399,807 rows",
    "  where the old one quarantined 380,181: rules 11-12 and fractional zones).",
    "- Changed (issue 12): the classified month is shuffled by trip_id once",
    "  (`nyctaxi.spark.shuffled_once`: the plan's RDD run as a new frame) and both writes",
    "  (quarantine, then trips) read that shuffle's files: read, casts, hashes and the map stage run",
    "  once, with no cache. Rejected-row, per-reason and per-column cast tallies are observed on the",
    "  rows that are rejected or have a failed cast only: 24 aggregates over every trip row cost",
    "  ~2 s per 3M rows (warm), ~45 % of the trips write.",
    "- Tried and reverted (issue 12): staging the classified month once as a Delta table and",
    "  committing both tables from it: 10M preprocess 143.5 s vs 109.1 s before issue 12 (single",
    "  runs): the extra full write (~35-40 s at 10M) costs what the second classification saved.",
    "  Caching the classified frame on disk: ~9 s per 3M rows (warm), about a second pass.",
    "- Not yet attributed: a warm 10k-row partition write takes ~4 s while its Spark jobs sum to",
    "  ~0.5 s (driver-side Delta commit and planning); creating both empty tables on a fresh lake",
    "  (`ensure_table`) 1.5-5 s; a cold JVM's first pass ~11 s more than a warm one at 3M rows.",
    "- Found (issue 12, 2026-12-02): the stage that normalises, hashes and applies the rules",
    "  generated a method over the JVM's 8,000-byte JIT limit, so it ran interpreted; and",
    "  `filter(…, isNotNull)` (a higher-order function) is always interpreted. In one warm JVM",
    "  (`benchmarks/profile_preprocess.py`, 3M rows, no-op sink) classifying took 39.8 s; with",
    "  `spark.sql.codegen.hugeMethodLimit=8000` (Spark splits such stages), `array_remove`",
    "  instead of the filter, and cast failures tracked only where the source type differs",
    "  from silver's, 12.7 s; normalising alone 7.6 s → 2.2 s. In a fresh process (the",
    "  benchmark above) the gain mostly disappears: a cold JVM's first pass costs 10-15 s",
    "  more than a warm one at 3M rows (JIT warm-up on 2 cores), which the code before issue 12",
    "  did not pay as much. Not yet explained in full.",
    "- Tried (2026-12-02): computing the rules after the duplicate window instead of before its",
    "  shuffle: the oversized method moved to the other stage, no gain; reverted.",
    "- Tried and reverted (issue 12): counting every row in the first pass instead of the",
    "  pickup-only month-fit pass: 10M silver 175.1 / 179.1 s, slower (36 aggregates over every",
    "  row cost more than one extra read of one column).",
    "- Tried and reverted (issue 12): `array_compact` instead of `filter(…, isNotNull)` for",
    "  `cast_failed` and `reject_reasons`: 3M preprocess 76.2 s vs 76.8 s, no difference.",
    "",
    "Profile (3M rows, `local[2]`, one warm JVM, no-op sink unless named): reading + normalising",
    "2.1 s; the trip_id as sha256 over 22 columns cast to text +6.9 s, as two typed xxhash64 +3.2 s;",
    "the duplicate rule's window (a shuffle of whole rows) +8.1 s; the silver write as plain Parquet",
    "+5.8 s, as Delta with statistics of every column +10.8 s, with statistics off +5.1 s.",
    "No Python UDF runs in the ETL.",
    "",
    "Before session 4's changes (both engines hashing with sha256), 10M rows took Spark 222.4 / 224.2 s",
    "in total and 135.5 / 137.1 s for silver, DuckDB 35.2 / 38.3 s: silver ratio 3.58×. Both got faster;",
    "DuckDB more, so the ratio grew although Spark's times fell by 15-35 %.",
    "",
    "- Changed (session 4): preprocess no longer caches. The month was classified twice, once per",
    "  write (until issue 12's shuffle reuse); per-reason counts are observed while the quarantine is",
    "  written (`Observation`), and a run whose silver + quarantine differ from the rows read fails.",
    "  Caching on disk cost more than the second pass (3M rows, warm: preprocess 53 s → 31-35 s).",
    "- Changed (session 4): trip_id is two xxhash64 of the typed values and a null mask (32 hex",
    "  digits, as before) instead of sha256 over text; the DuckDB reference switched to its own",
    "  64-bit hash the same way, so the comparison stays like for like (DuckDB gained more: 3M rows",
    "  11.7 s → 7.0 s).",
    "- Changed (session 4): trip tables keep Delta statistics on pickup_at and the two zones only",
    "  (`delta.dataSkippingStatsColumns`, set when a table is created).",
    "- Changed (session 3): the features job no longer persists and counts its output before writing.",
    "- Session 3 found a 10M-row month ran the 2 GB driver out of heap while the classified rows were",
    "  cached in memory; shuffle partitions default to 64 since (adaptive execution coalesces them).",
    "- Tried and reverted: duplicates by shuffling only trip ids and broadcasting the repeated ones",
    "  (19.4 s vs 12.2 s for the window on 1M rows, same JVM, A/B).",
    "",
]


def plot(etl: dict) -> None:
    sizes = etl["summary"]["sizes"]
    rows = [int(r) for r in sizes]
    figure, axis = plt.subplots(figsize=(6.5, 4))
    for key, label in (
        ("spark_wall", "Spark total (process, bronze → gold)"),
        ("spark_silver", "Spark silver stage"),
        ("duckdb_silver", "DuckDB silver (reference)"),
    ):
        axis.plot(rows, [sizes[str(r)][key][1] for r in rows], marker="o", label=label)
    axis.set_xlabel("rows in the month")
    axis.set_ylabel("seconds (median)")
    axis.set_title("ETL time vs rows (local[2], 2 cores)")
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    figure.savefig(PLOT, dpi=110)
    plt.close(figure)


def cluster_section(result: dict) -> list[str]:
    s = result["summary"]
    return [
        "## ETL on the local standalone cluster: 1 vs 2 workers of 1 core",
        "",
        f"Command: `{result['command']}` ({result['measured_at']}). {result['rows']:,} rows, bronze → gold, "
        "driver in the measured process, seconds min / median.",
        "",
        "| workers | seconds | speed-up (medians) |",
        "|---|---|---|",
        f"| 1 × 1 core | {mm(s['1_worker'])} | 1.00× |",
        f"| 2 × 1 core | {mm(s['2_workers'])} | {s['speedup']:.2f}× |",
        "",
    ]


def serve_section(result: dict) -> list[str]:
    demand = result.get("demand_features", False)
    title = "Serving: single-trip latency at a fixed rate, batch throughput"
    cache = result.get("online_cache_s")
    uncached = demand and cache == 0
    lookup = ""
    if uncached:
        lookup = (
            " The model reads the feature store's demand features, and serving reads the online store "
            "(SQLite, through Feast) on every request: one lookup per request, one per batch."
        )
    elif demand:
        lookup = (
            " The model reads the feature store's demand features through serving's cache of online "
            f"values (`NYCTAXI_SERVING_ONLINE_CACHE_S` = {cache:g} s): each worker reads every key a "
            "request can name from the online store (SQLite, through Feast) before it reports ready, "
            "and checks the store for a materialization every that many seconds, in the background. "
            "The benchmark's trips draw from 5,040 of those keys (2 services × 15 zones × 168 hours)."
        )
    if result.get("note"):
        lookup += f" Note: {result['note']}."
    heading = " — with the online feature lookup" if demand else ""
    heading += ", uncached" if uncached else ""
    lines = [
        f"## {title}{heading}",
        "",
        f"Command: `{result['command']}` ({result['measured_at']}). vegeta sends {result['rate']} requests/s for "
        f"{result['duration_s']:.0f} s per run (open loop) to `nyctaxi serve` on 127.0.0.1, on the same 2 cores; "
        f"batches are 1,000 trips sent back to back. min / median of the runs.{lookup}",
        "",
        "| workers | p50 ms | p95 ms | p99 ms | max ms | achieved req/s | success | batch predictions/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for workers, e in result["summary"].items():
        lines.append(
            f"| {workers} | {mm(e['p50_ms'], 2)} | {mm(e['p95_ms'], 2)} | {mm(e['p99_ms'], 2)} | {mm(e['max_ms'], 1)} | "
            f"{mm(e['achieved_rps'])} | {e['success']:.4f} | {mm(e['batch_predictions_per_s'], 0)} |"
        )
    best_workers = min(result["summary"], key=lambda workers: result["summary"][workers]["p99_ms"][1])
    best = result["summary"][best_workers]
    lines += [
        "",
        f"- p99 at {result['rate']}/s (best configuration, median): {best['p99_ms'][1]:.2f} ms "
        f"(target < {TARGETS['p99_ms']:.0f} ms) — {verdict(best['p99_ms'][1] < TARGETS['p99_ms'])}.",
        f"- Batch: {best['batch_predictions_per_s'][1]:,.0f} predictions/s (target ≥ {TARGETS['batch_per_s']:,}) — "
        f"{verdict(best['batch_predictions_per_s'][1] >= TARGETS['batch_per_s'])}.",
    ]
    batches = result.get("runs", {}).get(best_workers, {}).get("batch")
    if batches:
        slowest = min(batches)
        lines.append(
            f"- Batch, its slowest run ({batches.index(slowest) + 1} of {len(batches)}): {slowest:,.0f} predictions/s — "
            f"{verdict(slowest >= TARGETS['batch_per_s'])}."
        )
    return [*lines, ""]


def main() -> None:
    etl, cluster, serve, serve_demand = load("etl"), load("etl_cluster"), load("serve"), load("serve-demand")
    uncached = load("serve-demand-uncached")
    any_result = etl or cluster or serve or serve_demand or uncached
    if any_result is None:
        raise SystemExit("no results in benchmarks/results: run `make bench` first")
    m = any_result["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items())
    lines = [
        "# Benchmarks",
        "",
        "Rendered by `benchmarks/report.py` from `benchmarks/results/*.json`; `make bench` measures again",
        "(about 40 minutes) and re-renders. Figures are from one shared, noisy machine: compare ratios",
        "measured in the same run; each figure is min / median of several runs.",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; {m['os']}; Python {m['python']}; {m['java']}.",
        f"Versions: {versions}.",
        "",
    ]
    if etl:
        plot(etl)
        lines += etl_section(etl)
    if cluster:
        lines += cluster_section(cluster)
    for result in (serve, serve_demand, uncached):
        if result:
            lines += serve_section(result)
    (ROOT / "BENCHMARKS.md").write_text("\n".join(lines))
    print(f"wrote {ROOT / 'BENCHMARKS.md'}")


if __name__ == "__main__":
    main()
