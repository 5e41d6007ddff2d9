"""The trained model as it is served: a native XGBoost booster plus its small preprocessing state.

No Spark or JVM is needed to load or apply it. Training evaluates, batch scoring scores and
serving answers with the same ``predict_matrix`` so their numbers agree.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xgboost as xgb

from nyctaxi.contract import DEMAND_FEATURES, MODEL_FEATURES, model_features
from nyctaxi.ml.vectors import Columns, ZoneState, feature_matrix, frame_columns, row_columns, trip_vector

BOOSTER_FILE, STATE_FILE = "booster.ubj", "state.json"


def predict_matrix(
    booster: xgb.Booster, features: pd.DataFrame | np.ndarray, names: tuple[str, ...] = MODEL_FEATURES
) -> np.ndarray:
    """Minutes per row (a frame's columns ``names``, a matrix's in that order); never negative (a
    duration cannot be)."""
    if isinstance(features, pd.DataFrame):
        features = features[list(names)].to_numpy(dtype=np.float32)
    raw = booster.inplace_predict(np.asarray(features, dtype=np.float32), missing=np.nan)
    return np.clip(raw.astype(np.float64), 0.0, None)


@dataclass
class TripDurationModel:
    booster: xgb.Booster
    zones: ZoneState
    metadata: dict
    features: tuple[str, ...] = MODEL_FEATURES  # contract.model_features(demand)

    @property
    def demand(self) -> tuple[str, ...]:
        """The feature store's features this model reads (none unless trained with them)."""
        return self.features[len(MODEL_FEATURES) :]

    def predict(self, inputs: pd.DataFrame) -> np.ndarray:
        """Request inputs (``contract.MODEL_INPUTS``, and the demand features when the model reads
        them; a missing one is NaN, XGBoost's "missing", as in training) → predicted minutes."""
        return self._predict_columns(frame_columns(inputs, self.demand))

    def predict_trips(self, trips: Sequence[Mapping[str, object]]) -> np.ndarray:
        """Trips' inputs as Python values (serving's validated rows, with their demand features)
        → predicted minutes; the same numbers as ``predict``. Vectorised (NumPy), with no pandas:
        for a batch; ``predict_few`` answers a handful faster."""
        return self._predict_columns(row_columns(trips, self.demand))

    def _predict_columns(self, columns: Columns) -> np.ndarray:
        return predict_matrix(self.booster, feature_matrix(columns, self.zones, self.demand))

    def predict_few(self, trips: Sequence[Mapping[str, object]]) -> np.ndarray:
        """``predict_trips`` in plain Python (no NumPy work per feature): serving's small requests."""
        return predict_matrix(self.booster, [trip_vector(trip, self.zones, self.demand) for trip in trips])

    def save(self, folder: str) -> str:
        os.makedirs(folder, exist_ok=True)
        self.booster.save_model(os.path.join(folder, BOOSTER_FILE))
        state = {"features": list(self.features), **self.zones.to_dict(), "metadata": self.metadata}
        with open(os.path.join(folder, STATE_FILE), "w") as handle:
            json.dump(state, handle, indent=2, sort_keys=True)
        return folder

    @classmethod
    def load(cls, folder: str) -> TripDurationModel:
        with open(os.path.join(folder, STATE_FILE)) as handle:
            state = json.load(handle)
        known = [list(model_features(demand)) for demand in (False, True)]
        if state["features"] not in known:
            raise ValueError(
                f"model in {folder} was trained on features {state['features']}, "
                f"this code computes {known[0]} (and the demand features {list(DEMAND_FEATURES)} after them)"
            )
        booster = xgb.Booster()
        booster.load_model(os.path.join(folder, BOOSTER_FILE))
        features = tuple(state["features"])
        return cls(booster, ZoneState.from_dict(state), state.get("metadata", {}), features)
