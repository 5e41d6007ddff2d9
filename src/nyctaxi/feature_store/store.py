"""The Feast store built from settings, and what the jobs and serving do with it.

- Registry: a file (``NYCTAXI_FEATURE_REGISTRY``; default ``feature_store/registry.db``), written
  only by :func:`apply`.
- Offline store: Spark, reading gold ``zone_demand`` (Delta) with the session the job runs in,
  on any master.
- Online store: SQLite (``NYCTAXI_FEATURE_ONLINE_PATH``, default ``feature_store/online.db``) or,
  when ``NYCTAXI_FEATURE_REDIS`` is set (``host:port``), Redis.

Timestamps: a trip's pickup is wall-clock NYC time without a zone; Feast compares instants, so both
sides hold the wall clock as if it were UTC (the sessions' zone is UTC, `nyctaxi.sparkconf`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from feast import FeatureStore
from feast.infra.offline_stores.contrib.spark_offline_store.spark import SparkOfflineStoreConfig
from feast.infra.online_stores.redis import RedisOnlineStoreConfig
from feast.infra.online_stores.sqlite import SqliteOnlineStoreConfig
from feast.repo_config import RegistryConfig, RepoConfig

from nyctaxi.config import Settings
from nyctaxi.contract import DEMAND_FEATURES, HOURS_PER_WEEK, MAX_ZONE, MIN_ZONE, hour_of_week_of
from nyctaxi.errors import MissingInput
from nyctaxi.feature_store.definitions import VIEWS, feature_refs, repository
from nyctaxi.lake import Lake
from nyctaxi.logs import prints_to_log
from nyctaxi.months import SERVICES, Month
from nyctaxi.storage import spark_uri

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

PROJECT = "nyctaxi"
log = logging.getLogger("nyctaxi.feature_store")


def repo_config(settings: Settings) -> RepoConfig:
    if settings.feature_redis:
        online = RedisOnlineStoreConfig(connection_string=settings.feature_redis)
    else:
        online = SqliteOnlineStoreConfig(path=settings.feature_online_path)
    return RepoConfig(
        project=PROJECT,
        provider="local",
        # cache_ttl 0: a long-running reader (serving) sees a new apply at its next refresh.
        registry=RegistryConfig(path=settings.feature_registry, cache_ttl_seconds=0),
        offline_store=SparkOfflineStoreConfig(),
        online_store=online,
        entity_key_serialization_version=3,
    )


def open_store(settings: Settings) -> FeatureStore:
    folders = {os.path.dirname(settings.feature_registry)}
    if not settings.feature_redis:
        folders.add(os.path.dirname(settings.feature_online_path))
    for folder in folders:
        if folder and "://" not in folder:
            os.makedirs(folder, exist_ok=True)
    return FeatureStore(config=repo_config(settings))


def apply(settings: Settings) -> dict[str, int]:
    """Register the entities and views (idempotent); returns each view's registry version number."""
    store = open_store(settings)
    with prints_to_log():
        store.apply(repository(spark_uri(Lake.from_settings(settings).table("zone_demand"))))
    return view_versions(store)


def view_versions(store: FeatureStore) -> dict[str, int]:
    """Each view's version in the registry (what a training run logs); MissingInput before apply."""
    found = {}
    for view in VIEWS:
        try:
            # Feast reads its first version (0) back as None
            found[view.name] = store.get_feature_view(view.name).current_version_number or 0
        except Exception as error:  # Feast raises its own not-found (and a missing registry file)
            raise MissingInput(
                f"feature view {view.name} is not in the registry {store.config.registry.path}: "
                "run `nyctaxi feature-store apply`"
            ) from error
    return found


@dataclass(frozen=True)
class Materialized:
    start: datetime
    end: datetime
    online: bool  # False: the online store already holds a later month (left as it is)
    later: datetime | None = None


def _utc(wall_clock: datetime) -> datetime:
    return wall_clock.replace(tzinfo=UTC)


def materialize(store: FeatureStore, month: Month) -> Materialized:
    """Load ``month``'s rows into the online store: per key, the latest row of the month.

    The online store keeps the last value written per key, so a re-run of an older month after a
    newer one would put older values online: that re-run leaves the online store alone."""
    start, end = _utc(month.start), _utc(month.end)
    later = max(
        (
            interval_end
            for view in VIEWS
            for _, interval_end in store.get_feature_view(view.name).materialization_intervals
        ),
        default=None,
    )
    if later is not None and later > end:
        return Materialized(start, end, online=False, later=later)
    materialize_between(store, start, end)
    return Materialized(start, end, online=True)


def materialize_between(store: FeatureStore, start: datetime, end: datetime) -> None:
    """Load the rows stamped in ``[start, end)`` into the online store (the latest per key).

    Feast's Spark offline store selects ``BETWEEN start AND end``, both ends included: given the
    end itself, a day's load would put the next day's midnight row (its daily values) online."""
    with prints_to_log(stdout=True):
        store.materialize(start, end - timedelta(microseconds=1), feature_views=[view.name for view in VIEWS])


Key = tuple  # (service, pu_location_id, hour_of_week): an online row's entity key
READ_CHUNK = 10_000  # keys per online lookup when the cache reads many at once (warm)
# A background refresh competes with requests for the interpreter (Feast's lookup is Python). It
# reads in small lookups, each followed by a pause of REFRESH_PACE × the lookup's time, so it
# takes at most 1 / (1 + REFRESH_PACE) of it. Measured in process, 1,000-trip batches back to
# back during a full refresh (89,040 keys): paced 55-65k predictions/s for 30-40 s, against
# 63-92k without a refresh; unpaced 7-8k/s for 9-10 s.
REFRESH_CHUNK, REFRESH_PACE = 1_000, 2.0


def _in_thread(work: Callable[[], None]) -> None:
    threading.Thread(target=work, name="online-refresh", daemon=True).start()


class OnlineCache:
    """Serving's online values, each ``{service, pu_location_id, hour_of_week}`` read from the
    store once and then served from memory (``ttl_s`` 0: read on every call instead). Feast's
    lookup costs ~70 µs a row (protobuf round trips, in ``benchmarks/serve.py --demand``), more
    than the model itself, and the values change only when a month is materialized.

    - :meth:`warm` reads a set of keys ahead (serving: every key a request can name, before the
      model is served); a key not held yet is read at its first batch, a batch's misses in one
      lookup.
    - Refresh ahead: once ``ttl_s`` has passed since the last check, the next call starts a
      background :meth:`refresh` and is answered from the values held. The refresh asks the store's
      ``version`` (serving: the views' materialized intervals, a registry read) and re-reads the
      held keys only when it changed (always, without a ``version``), paced (``REFRESH_PACE``).
      A value is so at most ``ttl_s`` plus one refresh behind the store, and no request waits
      for it.

    Thread-safe; a failed refresh keeps the values held (logged) and is tried again ``ttl_s``
    later. Its size is bounded by the keys a request can name (:func:`request_keys`)."""

    def __init__(
        self,
        lookup: Callable[[list[dict]], list[dict]],
        ttl_s: float,
        *,
        version: Callable[[], object] | None = None,
        timer: Callable[[], float] = time.monotonic,
        spawn: Callable[[Callable[[], None]], None] = _in_thread,
    ) -> None:
        self._lookup, self._ttl_s, self._version = lookup, ttl_s, version
        self._timer, self._spawn = timer, spawn
        self._values: dict[Key, dict] = {}
        self._read_at: object = None  # the store's version the held values were read at
        self._checked = timer()
        self._refreshing = False
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._values)

    def get(self, keys: list[dict]) -> list[dict[str, float | None]]:
        if self._ttl_s <= 0:
            return self._lookup(keys)
        wanted = [_key(key) for key in keys]
        with self._lock:
            values = self._values
            due = not self._refreshing and self._timer() - self._checked >= self._ttl_s
            self._refreshing |= due
        if due:
            self._spawn(self._refresh_logged)
        missing = {k: key for k, key in zip(wanted, keys, strict=True) if k not in values}
        read = self._read(list(missing.values()))
        if read:
            with self._lock:
                self._values.update(read)
        return [dict(read[k] if k in read else values[k]) for k in wanted]

    def warm(self, keys: list[dict]) -> None:
        """Read ``keys`` now (in lookups of ``READ_CHUNK``) and hold them."""
        version = self._version() if self._version else None
        read = self._read(keys)
        with self._lock:
            self._values = {**self._values, **read}
            self._read_at, self._checked = version, self._timer()

    def refresh(self, pace: float = 0.0) -> bool:
        """Re-read the held keys if the store's version changed since they were read (always
        without a ``version``); True when it re-read them. ``pace`` > 0: in lookups of
        ``REFRESH_CHUNK``, each followed by a pause ``pace`` times as long as it took."""
        version = self._version() if self._version else None
        with self._lock:
            if version is not None and version == self._read_at:
                return False
            held = list(self._values)
        keys = [_entity(k) for k in held]
        read = self._read(keys, REFRESH_CHUNK, pace) if pace > 0 else self._read(keys)
        with self._lock:  # keys first read during the refresh stay, read as fresh as these
            self._values = {**self._values, **read}
            self._read_at = version
        return True

    def _refresh_logged(self) -> None:
        try:
            if self.refresh(pace=REFRESH_PACE):
                log.info("online features re-read: %d keys", len(self._values))
        except Exception as error:  # the values held stay served; tried again ttl_s later
            log.warning("online features not refreshed (%s: %s)", type(error).__name__, error)
        finally:
            with self._lock:
                self._checked, self._refreshing = self._timer(), False

    def _read(self, keys: list[dict], chunk: int = READ_CHUNK, pace: float = 0.0) -> dict[Key, dict]:
        read: dict[Key, dict] = {}
        for first in range(0, len(keys), chunk):
            some, started = keys[first : first + chunk], time.perf_counter()
            read.update(zip(map(_key, some), self._lookup(some), strict=True))
            if pace > 0:
                time.sleep(pace * (time.perf_counter() - started))
        return read

    @classmethod
    def of(cls, store: FeatureStore, ttl_s: float, **options) -> OnlineCache:
        """The cache over a Feast store's online values (`online_features`), refreshed when the
        views' materialized intervals change (`materialized_version`): serving's."""
        return cls(
            lambda keys: online_features(store, keys),
            ttl_s,
            version=lambda: materialized_version(store),
            **options,
        )

    def for_trips(self, trips: list[dict]) -> list[dict[str, float | None]]:
        """Serving's lookup: the online values for each trip's service, pickup zone and the hour
        of the week of its ``pickup_at`` (a datetime)."""
        return self.get(trip_keys(trips))


KEY_NAMES = ("service", "pu_location_id", "hour_of_week")


def _key(key: dict) -> Key:
    return key["service"], key["pu_location_id"], key["hour_of_week"]


def _entity(key: Key) -> dict:
    return dict(zip(KEY_NAMES, key, strict=True))


def request_keys() -> list[dict]:
    """Every online key a serving request can name: each service, zone and hour of the week."""
    return [
        _entity((service, zone, hour))
        for service in SERVICES
        for zone in range(MIN_ZONE, MAX_ZONE + 1)
        for hour in range(HOURS_PER_WEEK)
    ]


def materialized_version(store: FeatureStore) -> tuple:
    """What changes when the online values do: each view's materialized intervals (Feast records
    them after writing the rows), from one fresh read of the registry, which the store's online
    lookups then use too (a new apply included)."""
    store.refresh_registry()
    return tuple(
        (
            view.name,
            tuple(store.get_feature_view(view.name, allow_registry_cache=True).materialization_intervals),
        )
        for view in VIEWS
    )


def trip_keys(trips: list[dict]) -> list[dict]:
    """The online store's entity key of each trip: its service, pickup zone and the hour of the
    week of its ``pickup_at`` (a datetime)."""
    return [
        {
            "service": t["service"],
            "pu_location_id": t["pu_location_id"],
            "hour_of_week": hour_of_week_of(t["pickup_at"]),
        }
        for t in trips
    ]


def online_features(store: FeatureStore, keys: list[dict]) -> list[dict[str, float | None]]:
    """The online values for each ``{service, pu_location_id, hour_of_week}``, one dict per key in
    ``contract.DEMAND_FEATURES`` order (None: the store holds no value)."""
    found = store.get_online_features(features=feature_refs(), entity_rows=keys).to_dict()
    return [{name: found[name][i] for name in DEMAND_FEATURES} for i in range(len(keys))]


ENTITY_TIMESTAMP = "event_timestamp"


def historical_features(store: FeatureStore, trips: DataFrame) -> DataFrame:
    """Feast's point-in-time join for Spark rows carrying trip_id, service, pu_location_id and
    pickup_at: trip_id and the demand features each trip's own pickup time sees (nulls where no
    row is within the TTL)."""
    from pyspark.sql import functions as F

    from nyctaxi.transform.demand import hour_of_week

    entity = trips.select(
        "trip_id",
        "service",
        F.col("pu_location_id").cast("int").alias("pu_location_id"),
        hour_of_week(F.col("pickup_at")).alias("hour_of_week"),
        F.col("pickup_at").cast("timestamp").alias(ENTITY_TIMESTAMP),  # wall clock as UTC, like the rows
    )
    with prints_to_log(stdout=True):
        job = store.get_historical_features(entity_df=entity, features=feature_refs())
        return job.to_spark_df().select("trip_id", *DEMAND_FEATURES)


def with_demand(spark: SparkSession, settings: Settings, gold: DataFrame, service: str, months) -> DataFrame:
    """Gold trip rows of ``months`` with the demand features their pickup times see (Feast's
    point-in-time join); MissingInput when a month was not materialized (its rows would all be
    null, silently) or the views were never applied."""
    from nyctaxi.tables import read_partition, table_version

    uri = Lake.from_settings(settings).table("zone_demand")
    for month in months:
        try:
            found = read_partition(spark, uri, service, month, table_version(spark, uri)).limit(1).count()
        except MissingInput:
            found = 0
        if not found:
            raise MissingInput(
                f"gold zone_demand has no {service} {month}: run `nyctaxi feature-store materialize "
                f"--service {service} --month {month}` (or set NYCTAXI_DEMAND_FEATURES=false)"
            )
    feast = open_store(settings)
    view_versions(feast)
    return gold.join(historical_features(feast, gold), "trip_id", "left")
