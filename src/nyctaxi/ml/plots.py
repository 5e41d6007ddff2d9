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
