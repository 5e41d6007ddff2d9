"""Per-feature and prediction drift with Evidently (its DataDriftPreset picks the test per column:
Wasserstein distance for numbers, Jensen-Shannon for categories on samples this size), plus
model error once the month's outcomes are in. Pure: frames in, a summary and a report out."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

# Evidently's usage telemetry lives in its UI service only (evidently/telemetry.py, sent when
# DO_NOT_TRACK is unset); a Report run sends nothing, so this module sets no environment.
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset

from nyctaxi.contract import MODEL_FEATURES

PREDICTION = "prediction"
# Measured quantities; everything else in the vector is a category (hours, days, zones, flags, codes).
NUMERIC = ("trip_distance", PREDICTION)


@dataclass(frozen=True)
class Limits:
    """When drift becomes an alert (settings ``drift_*``)."""

    column_threshold: float  # per-column drift score above which a column counts as drifted
    drifted_share: float  # share of drifted features that raises the alert
    error_ratio: float  # current RMSE / reference RMSE that raises the alert


def _dataset(frame: pd.DataFrame) -> Dataset:
    columns = [*MODEL_FEATURES, PREDICTION]
    definition = DataDefinition(
        numerical_columns=[c for c in columns if c in NUMERIC],
        categorical_columns=[c for c in columns if c not in NUMERIC],
    )
    return Dataset.from_pandas(frame[columns], data_definition=definition)


def drift_report(reference: pd.DataFrame, current: pd.DataFrame, limits: Limits):
    """(Evidently snapshot, per-column scores) of the model features and the prediction."""
    preset = DataDriftPreset(threshold=limits.column_threshold)
    snapshot = Report([preset]).run(current_data=_dataset(current), reference_data=_dataset(reference))
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
    """The summary of a drift run and the reasons to alert (none: no alert)."""
    features = {name: columns[name] for name in MODEL_FEATURES if name in columns}
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
