"""`nyctaxi pipeline` end to end from the local mirror (what `make run` does), for a month range,
then `nyctaxi report` reading the reports back."""

from __future__ import annotations

import io
import json
import re
from datetime import datetime
from pathlib import Path

import pytest

from nyctaxi.lake import Lake
from nyctaxi.ml.registry import ModelRegistry
from nyctaxi.months import Month
from tests.conftest import PROJECT_ROOT, make_settings, shared_file
from tests.expected import file_rows, reference, silver_rows
from tests.integration.test_cli_errors import nyctaxi

JAN, FEB = "green_tripdata_2025-01.parquet", "green_tripdata_2025-02.parquet"


@pytest.mark.slow
def test_pipeline_two_months_then_report(tmp_path):
    """`nyctaxi pipeline` (what `make run` runs): every stage of the DAG for two months in one
    process, the DAG's skip rules in the first month, then one summary and `nyctaxi report`."""
    shared_file("green_tripdata_2025-02.parquet")
    done = nyctaxi(
        tmp_path, "pipeline", "--service", "green", "--months", "2025-01..2025-02", timeout=1200,
        env={"NYCTAXI_SPARK_JAVA_OPTIONS": ""},  # one JVM for all 14 jobs: the default JIT
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    # not a terminal: no progress drawn, and the JVM's, XGBoost's and MLflow's chatter is in the log file
    assert done.stderr == "", done.stderr[-3000:]
    out = done.stdout
    for line in (
        "green 2025-01: pending ",
        "green 2025-02: pending ",
        "zone lookup: new ",
        f"preprocess 2025-01: succeeded, rows in {file_rows(JAN):,}, out {silver_rows(JAN):,}",
        f"features 2025-01: succeeded, rows in {silver_rows(JAN):,}, out {silver_rows(JAN):,}",
        "validate 2025-01: succeeded",
        "train 2025-01: skipped (no gold green 2024-12 to train on)",
        "score 2025-01: skipped (no gold green 2024-12 to train on)",
        "monitor 2025-01: skipped (no gold green 2024-12 to train on)",
        f"preprocess 2025-02: succeeded, rows in {file_rows(FEB):,}, out {silver_rows(FEB):,}",
        "model trained on 2025-01, evaluated on 2025-02:",
        f"scored 2025-02: {silver_rows(FEB):,} trips with version 1",
    ):
        assert line in out, f"{line!r} not in:\n{out}"
    # the summary's rows per layer: bronze = the file, silver and quarantine from the DuckDB reference
    for name, month in ((JAN, "2025-01"), (FEB, "2025-02")):
        rows, kept, quarantined = file_rows(name), silver_rows(name), reference(name)["quarantined"]
        # the first month has no previous one to compare volume and null shares with
        unchecked = r", \d+ not checked" if month == "2025-01" else ""
        row = rf"^{month} +{rows:,} +{kept:,} +{quarantined:,} +{kept:,}  \d+ of \d+ expectations passed{unchecked}$"
        assert re.search(row, out, re.MULTILINE), f"no summary row {row!r} in:\n{out}"
    assert re.search(r"^ +median baseline +\d", out, re.MULTILINE) and "linear baseline" in out

    lake = Lake.from_settings(make_settings(tmp_path))
    monitor = lake.read_json(lake.report("monitor", "green", Month.parse("2025-02"), failed=_alerted(out)))
    drift = monitor["summary"]
    verdict = "ALERT" if drift["alert"] else "no alert"
    assert f"drift 2025-02 vs 2025-01 (version 1): {verdict}; {len(drift['drifted_features'])} drifted" in out
    assert f"  drift 2025-02       {lake.report('monitor', 'green', Month.parse('2025-02'))[:-5]}.html" in out

    models = ModelRegistry.from_settings(make_settings(tmp_path))
    champion = models.version_by_alias("champion")
    assert f"nyc-taxi-trip-duration version {champion.version}: champion" in out
    # the training run's MLflow duration covers the training, not only the logging after it
    train = lake.read_json(lake.report("train", "green", Month.parse("2025-02")))
    run = models.client.get_run(champion.run_id).info
    began, ended = (
        datetime.fromisoformat(train[k]).timestamp() * 1000 for k in ("started_at", "finished_at")
    )
    assert run.start_time - began < (ended - began) / 2, (run.start_time, began, ended)

    again = nyctaxi(tmp_path, "ingest", "--service", "green", "--month", "2025-01")
    assert "green 2025-01: unchanged" in again.stdout

    report = nyctaxi(tmp_path, "report", "--service", "green", "--month", "2025-02", "--verbose")
    assert report.returncode == 0, report.stderr
    assert report.stdout.startswith("preprocess green 2025-02: succeeded")
    assert "sha256=b3ffe16a96ba0c68c8a8f8b10f049294ae6eb8d21f2e13b3fdbd452fa2e3498e" in report.stdout
    for line in (
        "output            trips: " + str(tmp_path / "lake" / "silver" / "trips"),
        "output            trip_features: " + str(tmp_path / "lake" / "gold" / "trip_features"),
        "train green 2025-02: succeeded",
        f"input             model nyc-taxi-trip-duration version {champion.version}",
        "output            html report: ",
    ):
        assert line in report.stdout, f"{line!r} not in:\n{report.stdout}"
    assert "None" not in report.stdout, report.stdout
    distance = reference(FEB)["distance_out_of_range"]
    assert re.search(rf"^    distance_out_of_range +{distance:,}$", report.stdout, re.MULTILINE)
    as_json = nyctaxi(tmp_path, "report", "--json", "--service", "green", "--month", "2025-02")
    assert json.loads(as_json.stdout) == [
        lake.read_json(lake.report(stage, "green", Month.parse("2025-02")))
        for stage in ("preprocess", "features", "materialize", "validate", "train", "score", "monitor")
        if lake.exists(lake.report(stage, "green", Month.parse("2025-02")))
    ]

    status = nyctaxi(tmp_path, "status", "--service", "green", "--json")
    assert status.returncode == 0, status.stderr
    found = json.loads(status.stdout)
    assert [m["month"] for m in found["months"]] == ["2025-01", "2025-02"]
    assert found["champion"]["version"] == str(champion.version)
    for entry in found["months"]:
        assert entry["bronze"]["file"] == f"green_tripdata_{entry['month']}.parquet"
        for layer, tables in (
            ("silver", ("trips", "quarantine")),
            ("gold", ("trip_features", "zone_hourly")),
        ):
            for table in tables:  # Delta's own log: the last commit that wrote the month's partition
                assert entry[layer]["tables"][table] == last_commit(
                    tmp_path / "lake" / layer / table, entry["month"]
                )
    january, february = found["months"]
    assert january["stages"]["train"] is None and january["predictions"] is None  # skipped: no December
    assert february["stages"]["train"]["status"] == "succeeded"
    assert february["predictions"]["version"] == last_commit(
        tmp_path / "lake" / "gold" / "predictions", "2025-02"
    )
    month_page_draws_the_run(lake, out, tmp_path)

    text = nyctaxi(tmp_path, "status", "--service", "green").stdout
    assert f"champion: nyc-taxi-trip-duration version {champion.version}" in text
    assert re.search(r"^2025-02  +yes ", text, re.MULTILINE), text


def last_commit(table: Path, month: str) -> int:
    """The latest version of a Delta table whose commit added files to ``month``'s partition."""
    found = -1
    for log in sorted((table / "_delta_log").glob("*.json")):
        actions = [json.loads(line) for line in log.read_text().splitlines() if line]
        if any(a.get("add", {}).get("partitionValues", {}).get("month") == month for a in actions):
            found = max(found, int(log.stem))
    return found


def _alerted(out: str) -> bool:
    return "monitor 2025-02: drift ALERT" in out


def month_page_draws_the_run(lake: Lake, out: str, tmp_path: Path) -> None:
    """The pipeline's page of February in Chromium: each chart drew (its bars are in the DOM and
    its pixels in the screenshot) and the numbers shown are the run reports'."""
    from PIL import Image

    from tests.browser import browser

    page_uri = re.search(r"^  month 2025-02 +(\S+\.html)$", out, re.MULTILINE)[1]
    again = nyctaxi(tmp_path, "report", "--html", "--service", "green", "--month", "2025-02")
    assert again.stdout.strip() == f"month report green 2025-02: {page_uri}", again.stdout
    feb = Month.parse("2025-02")
    pre, feat, train = (
        lake.read_json(lake.report(s, "green", feb)) for s in ("preprocess", "features", "train")
    )
    monitor_uri = lake.report("monitor", "green", feb, failed=_alerted(out))
    drift = lake.read_json(monitor_uri)["summary"]
    bars = {
        "quarantine": sum(1 for n in pre["reasons"].values() if n),
        "by_hour": 24,
        "by_weekday": 7,
        "busiest_zones": 10,
        "drift": 10,
    }
    shots = PROJECT_ROOT / "docs" / "img"
    with browser() as chromium:
        page = chromium.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(Path(page_uri).as_uri())
        page.screenshot(path=str(shots / "month-report.png"), full_page=True)
        for name, count in bars.items():
            chart = page.locator(f"figure[data-chart='{name}']")
            assert chart.get_attribute("data-bars") == str(count), name
            assert chart.locator("g[id^='patch']").count() > count, f"{name}: bars not in the SVG"
            shot = Image.open(io.BytesIO(chart.screenshot())).convert("RGB")
            colours = {colour: n for n, colour in shot.getcolors(maxcolors=1 << 24)}
            drawn = colours.get((59, 110, 165), 0) + colours.get((192, 57, 43), 0)
            assert drawn > 500, f"{name}: {drawn} bar pixels in its screenshot"
        evaluation = page.locator("img[data-chart='evaluation']")
        assert evaluation.evaluate("img => img.complete && img.naturalWidth > 500")

        def shown(key: str) -> str:
            return page.locator(f"[data-key='{key}']").inner_text().strip()

        assert shown("rows_in") == f"{pre['rows_in']:,}" and shown("silver") == f"{pre['rows_out']:,}"
        assert (
            shown("quarantined") == f"{pre['rows_quarantined']:,}"
            and shown("gold") == f"{feat['rows_out']:,}"
        )
        total = sum(pre["reasons"].values())
        assert f"{total:,} reasons on {pre['rows_quarantined']:,} rows" in shown("reasons_note")
        metrics = train["summary"]["metrics"]
        for who in metrics:
            assert shown(f"rmse_{who}") == f"{metrics[who]['rmse']:.3f}"
        assert f"version {train['summary']['model_version']}" in shown("model_version")
        verdict = shown("drift")
        assert verdict.startswith("ALERT" if drift["alert"] else "no alert"), verdict
        assert f"{len(drift['drifted_features'])} of 20 features drifted" in verdict
        assert shown("validation").endswith("expectations passed"), shown("validation")
    page_bytes = Path(page_uri).read_text()
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", page_bytes), "the page needs no network"
