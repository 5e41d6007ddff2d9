"""What the lake holds for a service, read without Spark (`nyctaxi status`): per month the bronze
file, the silver and gold table versions its publication records name, the predictions' version,
and each stage's last result; plus the registry's champion. Only files are read (records, reports,
manifests), so it answers in a second even while a job runs."""

from __future__ import annotations

import os
import posixpath
import re

from nyctaxi.catalog import published_tables
from nyctaxi.config import Settings
from nyctaxi.ingest import versions
from nyctaxi.lake import Lake, join
from nyctaxi.months import Month
from nyctaxi.quality.report import latest_report

STAGES = ("preprocess", "features", "validate", "train", "score", "monitor")
_MONTH_FILE = re.compile(r"^(?:month=)?(\d{4}-\d{2})(?:\.failed)?\.json$")


def _listed(lake: Lake, folder: str) -> list[str]:
    fs, path = lake.store.fs(folder)
    if not fs.exists(path):
        return []
    return sorted(posixpath.basename(p.rstrip("/")) for p in fs.ls(path, detail=False))


def _months_in(lake: Lake, folder: str) -> set[str]:
    return {m[1] for name in _listed(lake, folder) if (m := _MONTH_FILE.match(name))}


def _bronze_months(lake: Lake, service: str) -> set[str]:
    found = set()
    pattern = re.compile(rf"^{re.escape(service)}_tripdata_(\d{{4}}-\d{{2}})\.")
    for year in _listed(lake, join(lake.bronze, service)):
        if year.isdigit():
            found |= {
                m[1] for name in _listed(lake, join(lake.bronze, service, year)) if (m := pattern.match(name))
            }
    return found


def _read(lake: Lake, uri: str) -> dict | None:
    return lake.read_json(uri) if lake.exists(uri) else None


def _stage(lake: Lake, stage: str, service: str, month: Month) -> dict | None:
    """The stage's latest result of the month: its last succeeded run, or a later failed one."""
    latest = latest_report(lake, stage, service, month)
    if latest is None:
        return None
    good = _read(lake, lake.report(stage, service, month)) if latest["status"] == "failed" else latest
    shown = {k: latest.get(k) for k in ("status", "finished_at", "rows_in", "rows_out", "run_id")}
    if latest["status"] == "failed":
        shown["error"] = latest.get("error")
        if good:
            shown["last_succeeded_at"] = good.get("finished_at")
    return shown


def _predictions_version(score: dict | None) -> int | None:
    outputs = (score or {}).get("outputs") or []
    return next((o.get("version") for o in outputs if o.get("table") == "predictions"), None)


def month_status(lake: Lake, service: str, month: Month) -> dict:
    bronze = versions.current_file_or_none(lake, service, month)
    pending = versions.pending_candidate(lake, service, month)
    entry: dict = {
        "month": str(month),
        "bronze": None
        if bronze is None
        else {"file": bronze.name, "sha256": bronze.sha256, "status": bronze.manifest.get("status")},
        "bronze_pending": None if pending is None else pending.name,
    }
    for layer in ("silver", "gold"):
        record = _read(lake, lake.publication(layer, service, month))
        entry[layer] = (
            None
            if record is None
            else {
                "tables": {t: record["tables"].get(t) for t in published_tables(layer)},
                "published_at": record.get("published_at"),
                "run_id": record.get("run_id"),
            }
        )
    stages = {stage: _stage(lake, stage, service, month) for stage in STAGES}
    score = _read(lake, lake.report("score", service, month))
    entry["predictions"] = None if score is None else {"version": _predictions_version(score)}
    entry["stages"] = stages
    return entry


def champion(settings: Settings) -> dict | None:
    """The registry's champion (None when nothing was registered; the store is not created)."""
    uri = settings.mlflow_tracking_uri
    if uri.startswith("sqlite:///") and not os.path.exists(uri.removeprefix("sqlite:///")):
        return None
    from nyctaxi.ml import registry

    models = registry.ModelRegistry.from_settings(settings)
    found = models.version_by_alias(registry.CHAMPION)
    if found is None:
        return None
    run = models.client.get_run(found.run_id) if found.run_id else None
    metrics = run.data.metrics if run else {}
    return {
        "model": registry.MODEL_NAME,
        "version": str(found.version),
        "rmse": metrics.get("model_rmse"),
        "train_months": (run.data.params.get("train_months") if run else None),
        "tracking_uri": models.tracking_uri,
    }


def lake_status(settings: Settings, service: str) -> dict:
    lake = Lake.from_settings(settings)
    months = _bronze_months(lake, service)
    for layer in ("silver", "gold"):
        months |= _months_in(lake, join(lake.roots[layer], "_published", service))
    for stage in STAGES:
        months |= _months_in(lake, join(lake.gold, "_reports", stage, f"service={service}"))
    return {
        "service": service,
        "lake": lake.roots,
        "months": [month_status(lake, service, Month.parse(m)) for m in sorted(months)],
        "champion": champion(settings),
    }


def _cell(value) -> str:
    return "-" if value is None else str(value)


def format_status(status: dict) -> str:
    """A table a person reads: one row per month, the versions, each stage's last result."""
    lines = [f"{status['service']} lake: " + ", ".join(f"{k} {v}" for k, v in status["lake"].items()), ""]
    if not status["months"]:
        service = status["service"]
        return "\n".join(
            [*lines, f"no months yet: run `nyctaxi pipeline --service {service} --month YYYY-MM`"]
        )
    header = f"{'month':<9}{'bronze':<8}{'silver (trips/quar.)':<22}{'gold (feat./zones)':<20}{'predictions':<13}stages"
    lines.append(header)
    for entry in status["months"]:
        silver = entry["silver"]["tables"] if entry["silver"] else None
        gold = entry["gold"]["tables"] if entry["gold"] else None
        stages = " ".join(
            f"{stage}:{'ok' if result['status'] == 'succeeded' else result['status']}"
            for stage, result in entry["stages"].items()
            if result
        )
        lines.append(
            f"{entry['month']:<9}{'yes' if entry['bronze'] else '-':<8}"
            f"{'-' if not silver else 'v' + '/v'.join(_cell(silver[t]) for t in silver):<22}"
            f"{'-' if not gold else 'v' + '/v'.join(_cell(gold[t]) for t in gold):<20}"
            f"{'-' if not entry['predictions'] else 'v' + _cell(entry['predictions']['version']):<13}{stages}"
        )
        for stage, result in entry["stages"].items():
            if result and result["status"] == "failed":
                lines.append(f"  {stage} failed at {result['finished_at']}: {result.get('error')}")
    best = status["champion"]
    lines.append("")
    lines.append(
        "champion: none yet"
        if best is None
        else f"champion: {best['model']} version {best['version']} (RMSE {_cell(best['rmse'] and round(best['rmse'], 3))}, "
        f"trained on {_cell(best['train_months'])})"
    )
    return "\n".join(lines)
