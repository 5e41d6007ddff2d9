"""Per-feature and prediction drift with Evidently (its DataDriftPreset picks the test per column:
Wasserstein distance for numbers, Jensen-Shannon for categories on samples this size), plus
model error once the month's outcomes are in. Pure: frames in, a summary and a report out."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

import pandas as pd

# Evidently's usage telemetry lives in its UI service only (evidently/telemetry.py, sent when
# DO_NOT_TRACK is unset); a Report run sends nothing, so this module sets no environment.
from evidently import DataDefinition, Dataset, Report
from evidently.metrics import ValueDrift
from evidently.presets import DataDriftPreset

from nyctaxi.contract import DEMAND_FEATURES

PREDICTION = "prediction"
# Measured quantities (the demand features are counts, means and speeds); everything else in the
# vector is a category (hours, days, zones, flags, codes).
NUMERIC = ("trip_distance", *DEMAND_FEATURES, PREDICTION)


@dataclass(frozen=True)
class Limits:
    """When drift becomes an alert (settings ``drift_*``)."""

    column_threshold: float  # per-column drift score above which a column counts as drifted
    drifted_share: float  # share of drifted features that raises the alert
    error_ratio: float  # current RMSE / reference RMSE that raises the alert


def _dataset(frame: pd.DataFrame, features: tuple[str, ...]) -> Dataset:
    columns = [*features, PREDICTION]
    definition = DataDefinition(
        numerical_columns=[c for c in columns if c in NUMERIC],
        categorical_columns=[c for c in columns if c not in NUMERIC],
    )
    return Dataset.from_pandas(frame[columns], data_definition=definition)


def drift_report(reference: pd.DataFrame, current: pd.DataFrame, limits: Limits, features: tuple[str, ...]):
    """(Evidently snapshot, per-column scores) of the model's ``features`` (its vector: the demand
    features too for a model that reads them) and the prediction. Its "dataset drift" counts the
    features only, at our share limit (the prediction is its own metric), so Evidently's verdict is
    the alert's feature rule."""
    preset = DataDriftPreset(
        columns=list(features), threshold=limits.column_threshold, drift_share=limits.drifted_share
    )
    prediction = ValueDrift(column=PREDICTION, threshold=limits.column_threshold)
    snapshot = Report([preset, prediction]).run(
        current_data=_dataset(current, features), reference_data=_dataset(reference, features)
    )
    columns = {}
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if config["type"].endswith("ValueDrift"):
            score = float(metric["value"])
            columns[config["column"]] = {
                "method": config["method"],
                "score": score,
                "threshold": config["threshold"],
                "drifted": score >= config["threshold"],
            }
    return snapshot, columns


def judge(columns: dict, errors: dict[str, float | None], limits: Limits) -> tuple[dict, list[str]]:
    """The summary of a drift run and the reasons to alert (none: no alert). Every scored column
    but the prediction is a model feature."""
    features = {name: result for name, result in columns.items() if name != PREDICTION}
    drifted = sorted(name for name, result in features.items() if result["drifted"])
    share = len(drifted) / len(features) if features else 0.0
    reasons = []
    if share >= limits.drifted_share:
        reasons.append(f"{len(drifted)} of {len(features)} features drifted ({', '.join(drifted)})")
    prediction = columns.get(PREDICTION)
    if prediction and prediction["drifted"]:
        reasons.append(
            f"prediction drifted ({prediction['method']} {prediction['score']:.3f} ≥ {prediction['threshold']})"
        )
    ratio = None
    if errors.get("current_rmse") is not None and errors.get("reference_rmse"):
        ratio = errors["current_rmse"] / errors["reference_rmse"]
        if ratio >= limits.error_ratio:
            reasons.append(
                f"model RMSE {errors['current_rmse']:.3f} is {ratio:.2f}× the reference month's "
                f"{errors['reference_rmse']:.3f} (limit {limits.error_ratio:.2f}×)"
            )
    if reasons and drifted and share < limits.drifted_share:  # say which inputs moved, even if few
        reasons.append(f"drifted features: {', '.join(drifted)}")
    summary = {
        "drifted_features": drifted,
        "drifted_share": share,
        "prediction_drift": prediction,
        "errors": {**errors, "ratio": ratio},
        "columns": columns,
        "alert": bool(reasons),
        "reasons": reasons,
    }
    return summary, reasons


# MLflow shows an HTML artifact in an iframe sandboxed with scripts but no origin, where reading
# localStorage throws and Evidently's dashboard script stops: a memory-backed stand-in lets it draw.
_STORAGE_SHIM = """<script>try { window.localStorage.length } catch (denied) {
  const items = new Map();
  Object.defineProperty(window, "localStorage", { configurable: true, value: {
    getItem: (k) => (items.has(k) ? items.get(k) : null), setItem: (k, v) => items.set(k, String(v)),
    removeItem: (k) => items.delete(k), clear: () => items.clear(),
    key: (i) => [...items.keys()][i] ?? null, get length() { return items.size; } } });
}</script>"""

_STYLE = """<style>
.nyctaxi-verdict{font-family:sans-serif;margin:16px 24px;line-height:1.4}
.nyctaxi-verdict h1{font-size:22px;margin:0 0 8px}.nyctaxi-verdict .alert{color:#b00020}
.nyctaxi-verdict .ok{color:#1b5e20}.nyctaxi-verdict table{border-collapse:collapse;font-size:14px}
.nyctaxi-verdict td,.nyctaxi-verdict th{padding:2px 10px;text-align:left}
.nyctaxi-verdict tr.drifted{background:#fde7e9}.nyctaxi-verdict td.num{text-align:right}
</style>"""


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def verdict_html(summary: dict, service: str, month: str) -> str:
    """The run's verdict as plain HTML (readable with scripts off): title, our limits, the counts,
    the RMSE ratio, and every column's score against its threshold, drifted ones first."""
    limits, errors = summary["limits"], summary["errors"]
    features = [c for c in summary["columns"] if c != PREDICTION]
    drifted = summary["drifted_features"]
    word, css = ("ALERT", "alert") if summary["alert"] else ("no alert", "ok")
    reasons = "".join(f"<li>{escape(r)}</li>" for r in summary["reasons"])
    ordered = sorted(summary["columns"].items(), key=lambda kv: (not kv[1]["drifted"], -kv[1]["score"]))
    rows = "".join(
        f"<tr class='{'drifted' if r['drifted'] else 'stable'}'><td>{escape(name)}</td>"
        f"<td>{escape(r['method'])}</td><td class='num'>{r['score']:.3f}</td>"
        f"<td class='num'>{r['threshold']:g}</td><td>{'drifted' if r['drifted'] else 'stable'}</td></tr>"
        for name, r in ordered
    )
    return (
        f"<section class='nyctaxi-verdict' id='verdict'>"
        f"<h1>Drift {escape(service)} {escape(month)} vs {escape(summary['reference'])}, "
        f"model version {escape(str(summary['model_version']))}: <span class='{css}'>{word}</span></h1>"
        f"<p><b>{len(drifted)} of {len(features)}</b> model features drifted "
        f"({summary['drifted_share']:.0%}; the alert is at {limits['drifted_share']:.0%} of them; a column "
        f"drifts at a score of {limits['column_threshold']:g} or more). "
        f"Prediction: {'drifted' if (summary['prediction_drift'] or {}).get('drifted') else 'stable'}. "
        f"RMSE {_ratio(errors.get('current_rmse'))} vs the model's {_ratio(errors.get('reference_rmse'))}: "
        f"ratio <b>{_ratio(errors.get('ratio'))}</b> (alert at {limits['error_ratio']:.2f}).</p>"
        + (f"<ul>{reasons}</ul>" if reasons else "")
        + "<table><tr><th>column</th><th>method</th><th>score</th><th>threshold</th><th></th></tr>"
        f"{rows}</table><p>Evidently's interactive report follows.</p></section>"
    )


def drift_page(snapshot, summary: dict, service: str, month: str) -> str:
    """Evidently's self-contained report, titled, with our verdict on top (``verdict_html``)."""
    title = f"drift {service} {month} (model version {summary['model_version']})"
    page = snapshot.get_html_str(as_iframe=False)
    head = f"<head><title>{escape(title)}</title>{_STYLE}{_STORAGE_SHIM}"
    return page.replace("<head>", head, 1).replace(
        "<body>", "<body>" + verdict_html(summary, service, month), 1
    )
