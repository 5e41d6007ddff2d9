"""The served model: the registry's ``champion`` (or another alias), swapped atomically on reload."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from nyctaxi.config import Settings
from nyctaxi.ml import registry
from nyctaxi.ml.model import TripDurationModel
from nyctaxi.serving.models import ModelInfo, Trip

log = logging.getLogger("nyctaxi.serving")
# Up to this many trips a request's features are computed in plain Python (`predict_few`), more
# with NumPy (`predict_trips`). Measured in process on the benchmark's model (min of 300): 32
# trips 637 µs vs 690 µs with NumPy, 64 trips 938 µs vs 876 µs; the crossover lies between.
SMALL_REQUEST = 32


class ModelNotLoaded(RuntimeError):
    """No model to answer with (none registered under the alias, or the registry unreachable)."""


@dataclass(frozen=True)
class Loaded:
    model: TripDurationModel
    info: ModelInfo


class Predictor:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.models = registry.ModelRegistry.from_settings(settings)
        self.alias = settings.serving_model_alias
        self._loaded: Loaded | None = None
        self._lock = threading.Lock()
        self.last_error: str | None = None
        self._online_values = None  # Feast's, cached (`_online_cache`); opened for a model that reads it

    @property
    def loaded(self) -> Loaded | None:
        return self._loaded

    @property
    def online(self):
        """The cache of online feature values (`store.OnlineCache`), once a model reading them is
        loaded; None before."""
        return self._online_values

    def reload(self) -> bool:
        """Load the alias's version if it is not the one served; True when the model changed.
        A failure keeps the current model (if any) and is remembered for /ready."""
        with self._lock:
            try:
                version = self.models.version_by_alias(self.alias)
                if version is None:
                    raise ModelNotLoaded(
                        f"no '{self.alias}' version of {registry.MODEL_NAME} at {self.settings.mlflow_tracking_uri}: "
                        "train one (`nyctaxi train`), then POST /v1/model/reload"
                    )
                if self._loaded and self._loaded.info.version == str(version.version):
                    return False
                self._loaded = self._load(version)
                self.last_error = None
                log.info("loaded %s version %s (%s)", registry.MODEL_NAME, version.version, self.alias)
                return True
            except ModelNotLoaded as error:
                self.last_error = str(error)
                log.warning("model not (re)loaded: %s", self.last_error)
                return False
            except Exception as error:  # the service stays up; /ready says why it is not ready
                self.last_error = f"{type(error).__name__}: {error}"
                log.warning("model not (re)loaded: %s", self.last_error)
                return False

    def _load(self, version) -> Loaded:
        model = self.models.load(version.version)
        if model.demand:
            self._warm_online()
        run = self.models.client.get_run(version.run_id) if version.run_id else None
        params = run.data.params if run else {}
        info = ModelInfo(
            name=registry.MODEL_NAME,
            version=str(version.version),
            alias=self.alias,
            run_id=version.run_id,
            training_months=[m for m in params.get("train_months", "").split(",") if m],
            eval_month=params.get("eval_month"),
            metrics=dict(run.data.metrics) if run else {},
            loaded_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        return Loaded(model, info)

    def predict(self, trips: list[Trip]) -> tuple[ModelInfo, np.ndarray]:
        loaded = self._loaded  # one consistent model for the whole request, even during a reload
        if loaded is None:
            raise ModelNotLoaded(self.last_error or "model not loaded yet")
        rows = [vars(trip) for trip in trips]
        demand = self._online(loaded.model, rows)
        if demand:  # a value the store lacks is None: NaN, the model's "missing"
            rows = [{**row, **values} for row, values in zip(rows, demand, strict=True)]
        model = loaded.model
        return loaded.info, (model.predict_few if len(rows) <= SMALL_REQUEST else model.predict_trips)(rows)

    def _online(self, model: TripDurationModel, rows: list[dict]) -> list[dict] | None:
        """The feature store's online values for each trip's zone and hour of the week, when the
        model reads them. A value the store lacks (or an unreachable store) is None: the model's
        "missing", as for a trip whose features were null in training."""
        if not model.demand:
            return None
        try:
            return self._online_cache().for_trips(rows)
        except Exception as error:  # the answer degrades to "missing"; the log says why
            log.warning(
                "online features not read (%s: %s): answering without them", type(error).__name__, error
            )
            return [dict.fromkeys(model.demand) for _ in rows]

    def _online_cache(self):
        from nyctaxi.feature_store import store

        if self._online_values is None:
            feast = store.open_store(self.settings)
            self._online_values = store.OnlineCache.of(feast, self.settings.serving_online_cache_s)
        return self._online_values

    def _warm_online(self) -> None:
        """Read every online key a request can name before the model is served (/ready waits for
        it), so that no batch waits on the store. A failure leaves each key to its first request."""
        from nyctaxi.feature_store import store

        if self.settings.serving_online_cache_s <= 0:
            return
        try:
            cache = self._online_cache()
            if not len(cache):
                started = time.monotonic()
                cache.warm(store.request_keys())
                log.info(
                    "online features read ahead: %d keys in %.1f s", len(cache), time.monotonic() - started
                )
        except Exception as error:
            log.warning(
                "online features not read ahead (%s: %s): each is read at its first request",
                type(error).__name__,
                error,
            )
