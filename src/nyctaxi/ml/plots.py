"""The evaluation figure logged with each training run: predicted vs actual, and error by hour."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure  # the object API: no pyplot, no global backend or display


def evaluation_figure(sample: pd.DataFrame, by_hour: pd.DataFrame, title: str) -> Figure:
    """``sample``: duration_min and prediction of some evaluation trips; ``by_hour``: pickup_hour
    and RMSE/MAE of every evaluation trip by hour of day."""
    figure = Figure(figsize=(12, 5))
    scatter, bars = figure.subplots(1, 2)
    scatter.scatter(sample["duration_min"], sample["prediction"], s=3, alpha=0.3)
    scatter.plot([0, 60], [0, 60], color="black", linewidth=1)
    scatter.set(xlabel="actual minutes", ylabel="predicted minutes", title="predicted vs actual")
    by_hour = by_hour.sort_values("pickup_hour")
    bars.bar(by_hour["pickup_hour"], by_hour["rmse"], label="RMSE")
    bars.plot(by_hour["pickup_hour"], by_hour["mae"], color="black", marker="o", label="MAE")
    bars.set(xlabel="pickup hour", ylabel="minutes", title="error by hour of day", xticks=range(0, 24, 3))
    bars.legend()
    figure.suptitle(title)
    figure.tight_layout()
    return figure


def importance_figure(booster, title: str) -> Figure:
    """The booster's features by total gain (how much each one's splits reduced the loss)."""
    gain = booster.get_score(importance_type="total_gain")
    ranked = sorted(gain.items(), key=lambda kv: kv[1])
    figure = Figure(figsize=(7, 0.3 * len(ranked) + 1.2))
    axes = figure.subplots()
    axes.barh([name for name, _ in ranked], [value for _, value in ranked])
    axes.set(xlabel="total gain", title=f"feature importance: {title}")
    figure.tight_layout()
    return figure


def residual_figure(sample: pd.DataFrame, title: str) -> Figure:
    """Residuals (predicted − actual minutes) of evaluation trips: their spread, and against the
    actual duration (a model that under-predicts long trips shows a downward slope)."""
    residual = sample["prediction"] - sample["duration_min"]
    figure = Figure(figsize=(12, 4.5))
    spread, against = figure.subplots(1, 2)
    spread.hist(residual.clip(-30, 30), bins=60)
    spread.set(xlabel="predicted − actual minutes (clipped at ±30)", ylabel="trips", title="residuals")
    against.scatter(sample["duration_min"], residual, s=3, alpha=0.3)
    against.axhline(0, color="black", linewidth=1)
    against.set(xlabel="actual minutes", ylabel="predicted − actual minutes", title="residual vs actual")
    figure.suptitle(title)
    figure.tight_layout()
    return figure
