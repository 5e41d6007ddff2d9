"""The feature store (Feast over gold `zone_demand`): the lagged features against an independent
DuckDB reading of gold zone_hourly, point-in-time correctness of the historical join on
constructed rows, and the online store after materializing the real green 2025-01 and 2025-02."""

from __future__ import annotations

import random
import shutil
import subprocess
from datetime import datetime, timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest

from nyctaxi.contract import DEMAND_FEATURES, ZONE_FEATURES, ZONE_HOUR_FEATURES, hour_of_week_of
from nyctaxi.feature_store import store
from nyctaxi.jobs import materialize
from nyctaxi.jobs.envelope import Catalog
from nyctaxi.lake import Lake
from nyctaxi.months import Month
from nyctaxi.schemas import GOLD_ZONE_DEMAND
from nyctaxi.tables import commit_metadata
from tests.conftest import make_settings
from tests.pipeline import request_trips, settings_env

JAN, FEB = Month.parse("2025-01"), Month.parse("2025-02")


@pytest.fixture(scope="module")
def materialized(spark, real_gold, tmp_path_factory):
    """A copy of the real gold lake with both months materialized (January first, as the DAG does)."""
    settings = make_settings(tmp_path_factory.mktemp("feature-store"))
    shutil.copytree(real_gold.lake_gold, settings.lake_gold)
    shutil.copytree(real_gold.lake_bronze, settings.lake_bronze)  # the zone lookup, for training
    reports = [materialize.run(spark, settings, "green", month) for month in (JAN, FEB)]
    return settings, reports


def _partition(spark, settings, table: str, month: Month) -> pd.DataFrame:
    return Catalog(spark, Lake.from_settings(settings)).read(table, "green", month).frame.toPandas()


# The contract of `nyctaxi.transform.demand`, read independently: every lag is a join on the exact
# hour it names, every window a range join, over a dense zone × hour grid of the two months.
REFERENCE = """
WITH grid AS (
    SELECT z.zone::INT AS pu_location_id, h.ts
    FROM range(1, 264) z(zone),
         generate_series(TIMESTAMP '2025-01-01', TIMESTAMP '2025-02-28 23:00:00', INTERVAL 1 HOUR) h(ts)
), g AS (
    SELECT grid.pu_location_id, grid.ts, coalesce(h.trips, 0) AS trips,
           coalesce(h.avg_duration_min * h.trips, 0) AS minutes,
           coalesce(h.avg_trip_distance * h.trips, 0) AS miles
    FROM grid LEFT JOIN hourly h
      ON h.pu_location_id = grid.pu_location_id
     AND h.pickup_date::TIMESTAMP + h.pickup_hour * INTERVAL 1 HOUR = grid.ts
), cur AS (SELECT * FROM g WHERE ts >= TIMESTAMP '2025-02-01'),
four AS (
    SELECT cur.pu_location_id, cur.ts, avg(p.trips) AS trips_4w_mean
    FROM cur, range(1, 5) k(k)
    JOIN g p ON p.pu_location_id = cur.pu_location_id AND p.ts = cur.ts - k.k * INTERVAL 7 DAY
    GROUP BY ALL
), days AS (SELECT DISTINCT pu_location_id, date_trunc('day', ts) AS d FROM cur),
daily AS (
    SELECT days.pu_location_id, days.d,
           sum(p.trips) FILTER (WHERE p.ts >= days.d - INTERVAL 28 DAY)
             / count(*) FILTER (WHERE p.ts >= days.d - INTERVAL 28 DAY) AS zone_trips_per_hour_28d,
           sum(p.miles) FILTER (WHERE p.ts >= days.d - INTERVAL 171 HOUR AND p.ts < days.d - INTERVAL 3 HOUR)
             / nullif(sum(p.minutes) FILTER (
                   WHERE p.ts >= days.d - INTERVAL 171 HOUR AND p.ts < days.d - INTERVAL 3 HOUR), 0) * 60
             AS zone_avg_speed_mph_7d
    FROM days JOIN g p
      ON p.pu_location_id = days.pu_location_id AND p.ts >= days.d - INTERVAL 28 DAY AND p.ts < days.d
    GROUP BY ALL
)
SELECT cur.pu_location_id, (isodow(cur.ts) - 1) * 24 + hour(cur.ts) AS hour_of_week, cur.ts AS feature_at,
       w.trips AS trips_1w, CASE WHEN w.trips > 0 THEN w.minutes / w.trips END AS avg_duration_1w,
       four.trips_4w_mean, daily.zone_trips_per_hour_28d, daily.zone_avg_speed_mph_7d
FROM cur
JOIN g w ON w.pu_location_id = cur.pu_location_id AND w.ts = cur.ts - INTERVAL 7 DAY
JOIN four ON four.pu_location_id = cur.pu_location_id AND four.ts = cur.ts
JOIN daily ON daily.pu_location_id = cur.pu_location_id AND daily.d = date_trunc('day', cur.ts)
ORDER BY 1, 3
"""


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["pu_location_id", "feature_at"]).reset_index(drop=True)


def _assert_same(actual: pd.DataFrame, expected: pd.DataFrame, columns) -> None:
    for column in columns:
        np.testing.assert_allclose(
            actual[column].astype("float64").to_numpy(),
            expected[column].astype("float64").to_numpy(),
            rtol=1e-9,
            equal_nan=True,
            err_msg=column,
        )


def test_zone_demand_is_zone_hourly_lagged(spark, materialized):
    """February's rows (January and February in gold) equal the DuckDB reading, hour by hour."""
    settings, reports = materialized
    assert [r.status for r in reports] == ["succeeded", "succeeded"]
    assert reports[1].summary["observed_months"] == ["2025-01", "2025-02"]
    hourly = pd.concat([_partition(spark, settings, "zone_hourly", m) for m in (JAN, FEB)])
    expected = duckdb.sql(REFERENCE).df()
    actual = _sorted(_partition(spark, settings, "zone_demand", FEB))
    assert len(actual) == len(expected) == 263 * 28 * 24 == reports[1].rows_out
    assert reports[1].rows_in == len(hourly)
    assert (actual["feature_at"].to_numpy() == expected["feature_at"].to_numpy()).all()
    assert (actual["hour_of_week"].to_numpy() == expected["hour_of_week"].to_numpy()).all()
    _assert_same(actual, expected, DEMAND_FEATURES)
    # the week before February is in gold: every lag of February is known, speeds where trips ran
    assert actual["trips_1w"].notna().all() and actual["trips_4w_mean"].notna().all()
    assert actual["trips_1w"].sum() > 0


def test_first_month_lags_start_unknown(spark, materialized):
    """January has no month before it in gold: its first week's one-week lags are null (not 0)."""
    settings, reports = materialized
    assert reports[0].summary["observed_months"] == ["2025-01"]
    january = _partition(spark, settings, "zone_demand", JAN)
    first_week = january["feature_at"] < datetime(2025, 1, 8)
    assert january.loc[first_week, "trips_1w"].isna().all()
    assert january.loc[~first_week, "trips_1w"].notna().all()
    midnight_1st = january["feature_at"].dt.date == datetime(2025, 1, 1).date()
    assert january.loc[midnight_1st, "zone_trips_per_hour_28d"].isna().all()


def test_online_store_holds_the_last_materialized_rows(spark, materialized):
    """After January then February: for each key, February's latest row; re-running January
    leaves the online store as it is; the CLI reads one entity's values."""
    settings, _ = materialized
    february = _sorted(_partition(spark, settings, "zone_demand", FEB))
    latest_slot = february.groupby(["pu_location_id", "hour_of_week"]).tail(1)
    latest_zone = february.groupby("pu_location_id").tail(1).set_index("pu_location_id")
    picked = latest_slot.sample(n=300, random_state=7)
    keys = [
        {"service": "green", "pu_location_id": int(r.pu_location_id), "hour_of_week": int(r.hour_of_week)}
        for r in picked.itertuples()
    ]
    feast = store.open_store(settings)

    def check_online() -> None:
        online = pd.DataFrame(store.online_features(feast, keys), index=picked.index)
        _assert_same(online, picked, ZONE_HOUR_FEATURES)
        _assert_same(online, latest_zone.loc[picked["pu_location_id"]].set_index(picked.index), ZONE_FEATURES)

    check_online()
    again = materialize.run(spark, settings, "green", JAN)
    assert again.summary["online"] is False
    check_online()

    row = picked.iloc[0]
    monday = datetime(2025, 3, 3) + timedelta(hours=int(row.hour_of_week))  # a Monday: same hour of week
    done = subprocess.run(
        [".venv/bin/nyctaxi", "feature-store", "get", "--service", "green", "--zone", str(row.pu_location_id),
         "--at", monday.isoformat(timespec="minutes")],
        capture_output=True, text=True, env=settings_env(settings), check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"hour of week {row.hour_of_week}:" in done.stdout
    assert f"trips_1w: {int(row.trips_1w)}" in done.stdout


def test_materialize_twice_gives_the_same_rows(spark, materialized):
    settings, _ = materialized
    before = _sorted(_partition(spark, settings, "zone_demand", FEB))
    again = materialize.run(spark, settings, "green", FEB)
    assert again.summary["online"] is True
    after = _sorted(_partition(spark, settings, "zone_demand", FEB))
    pd.testing.assert_frame_equal(before, after)


# ---- point in time, on constructed rows ----------------------------------------------------------
START = datetime(2025, 3, 3)  # a Monday
HOURS = 72


def _constructed_rows(seed: int) -> pd.DataFrame:
    """Hourly rows for two services and two zones over three days, 30 % of them missing, and
    one hole made on purpose: green zone 7 has no row at 10:00 on the 4th."""
    rng = random.Random(seed)
    rows = []
    for service in ("green", "yellow"):
        for zone in (7, 8):
            for hour in range(HOURS):
                at = START + timedelta(hours=hour)
                if rng.random() < 0.3 or (service, zone, at) == ("green", 7, datetime(2025, 3, 4, 10)):
                    continue
                rows.append(
                    {
                        "service": service, "month": "2025-03", "pu_location_id": zone,
                        "hour_of_week": hour_of_week_of(at), "feature_at": at,
                        "trips_1w": rng.randrange(0, 50), "avg_duration_1w": rng.uniform(3, 40),
                        "trips_4w_mean": rng.uniform(0, 50), "zone_trips_per_hour_28d": rng.uniform(0, 30),
                        "zone_avg_speed_mph_7d": rng.uniform(5, 25),
                    }
                )  # fmt: skip
    return pd.DataFrame(rows)


def _constructed_trips(seed: int) -> pd.DataFrame:
    rng = random.Random(seed)
    trips = [
        {
            "trip_id": f"t{i}",
            "service": rng.choice(("green", "yellow")),
            "pu_location_id": rng.choice((7, 8, 9)),  # 9 has no rows at all
            # never on the hour: a pickup at hh:00:00 would sit on the TTL's edge
            "pickup_at": START - timedelta(hours=2) + timedelta(seconds=rng.randrange(0, (HOURS + 4) * 3600)),
        }
        for i in range(600)
    ]
    trips += [
        {"trip_id": "in-hole", "service": "green", "pu_location_id": 7, "pickup_at": datetime(2025, 3, 4, 10, 30)},
        {"trip_id": "before-hole", "service": "green", "pu_location_id": 7, "pickup_at": datetime(2025, 3, 4, 9, 30)},
    ]  # fmt: skip
    frame = pd.DataFrame(trips)
    frame["pickup_at"] = frame["pickup_at"].where(frame["pickup_at"].dt.second + frame["pickup_at"].dt.minute > 0,
                                                  frame["pickup_at"] + timedelta(seconds=1))  # fmt: skip
    return frame


ASOF = """
WITH t AS (SELECT *, (isodow(pickup_at) - 1) * 24 + hour(pickup_at) AS hour_of_week FROM trips),
slot AS (
    SELECT t.trip_id, r.feature_at, r.trips_1w, r.avg_duration_1w, r.trips_4w_mean
    FROM t ASOF LEFT JOIN demand r
      ON r.service = t.service AND r.pu_location_id = t.pu_location_id
     AND r.hour_of_week = t.hour_of_week AND r.feature_at <= t.pickup_at
), zone AS (
    SELECT t.trip_id, r.feature_at, r.zone_trips_per_hour_28d, r.zone_avg_speed_mph_7d
    FROM t ASOF LEFT JOIN demand r
      ON r.service = t.service AND r.pu_location_id = t.pu_location_id AND r.feature_at <= t.pickup_at
)
SELECT t.trip_id,
       CASE WHEN t.pickup_at - slot.feature_at <= INTERVAL 1 HOUR THEN slot.trips_1w END AS trips_1w,
       CASE WHEN t.pickup_at - slot.feature_at <= INTERVAL 1 HOUR THEN slot.avg_duration_1w END AS avg_duration_1w,
       CASE WHEN t.pickup_at - slot.feature_at <= INTERVAL 1 HOUR THEN slot.trips_4w_mean END AS trips_4w_mean,
       CASE WHEN t.pickup_at - zone.feature_at <= INTERVAL 1 HOUR THEN zone.zone_trips_per_hour_28d END
         AS zone_trips_per_hour_28d,
       CASE WHEN t.pickup_at - zone.feature_at <= INTERVAL 1 HOUR THEN zone.zone_avg_speed_mph_7d END
         AS zone_avg_speed_mph_7d
FROM t JOIN slot USING (trip_id) JOIN zone USING (trip_id)
ORDER BY trip_id
"""


def test_historical_join_is_point_in_time(spark, settings):
    """Feast's join (what training reads) equals an as-of join with the TTL: no row stamped after
    a pickup, none older than an hour, the right service and zone."""
    from pyspark.sql import functions as F

    demand, trips = _constructed_rows(1), _constructed_trips(2)
    catalog = Catalog(spark, Lake.from_settings(settings))
    for service, rows in demand.groupby("service"):
        frame = spark.createDataFrame(rows, GOLD_ZONE_DEMAND)
        catalog.write(
            frame, "zone_demand", service, Month.parse("2025-03"), commit_metadata(service, "2025-03", "t")
        )
    store.apply(settings)
    entity = spark.createDataFrame(trips).withColumn("pickup_at", F.col("pickup_at").cast("timestamp_ntz"))
    joined = store.historical_features(store.open_store(settings), entity).toPandas()
    actual = (
        trips[["trip_id"]]
        .merge(joined, on="trip_id", how="left")
        .sort_values("trip_id")
        .reset_index(drop=True)
    )
    expected = duckdb.sql(ASOF).df()
    assert len(actual) == len(expected) == len(trips)
    assert (actual["trip_id"].to_numpy() == expected["trip_id"].to_numpy()).all()
    _assert_same(actual, expected, DEMAND_FEATURES)

    by_trip = actual.set_index("trip_id")
    # its hour's row is missing; the next one is stamped after the pickup, the one before is 90 min old
    assert by_trip.loc["in-hole", list(DEMAND_FEATURES)].isna().all()
    before = demand[(demand.service == "green") & (demand.pu_location_id == 7)
                    & (demand.feature_at == datetime(2025, 3, 4, 9))]  # fmt: skip
    if len(before):  # (the 30 % may have removed it too)
        assert by_trip.loc["before-hole", "trips_1w"] == before["trips_1w"].iloc[0]
    assert by_trip.loc[trips.pu_location_id.eq(9).pipe(lambda m: trips.trip_id[m]), "trips_1w"].isna().all()
    # zones 7 and 8 (two thirds of the trips) have 70 % of their hours: about 280 trips find theirs
    assert 200 < actual["trips_1w"].notna().sum() < 360


# ---- training and scoring with the demand features ----------------------------------------------
TRIP_ASOF = """
WITH t AS (SELECT trip_id, service, pu_location_id, pickup_at,
                  (isodow(pickup_at) - 1) * 24 + hour(pickup_at) AS hour_of_week FROM trips)
SELECT t.trip_id, r.trips_1w, r.avg_duration_1w, r.trips_4w_mean, z.zone_trips_per_hour_28d,
       z.zone_avg_speed_mph_7d
FROM t
ASOF LEFT JOIN demand r ON r.service = t.service AND r.pu_location_id = t.pu_location_id
     AND r.hour_of_week = t.hour_of_week AND r.feature_at <= t.pickup_at
ASOF LEFT JOIN demand z ON z.service = t.service AND z.pu_location_id = t.pu_location_id
     AND z.feature_at <= t.pickup_at
ORDER BY t.trip_id
"""


def test_training_rows_get_the_point_in_time_values(spark, materialized):
    """What `train` joins to February's real trips (store.with_demand) is, trip by trip, the
    as-of row of gold zone_demand (every hour has one: no TTL edge here)."""
    settings, _ = materialized
    gold = Catalog(spark, Lake.from_settings(settings)).read("trip_features", "green", FEB).frame
    joined = store.with_demand(spark, settings, gold, "green", [FEB])
    actual = (
        joined.select("trip_id", *DEMAND_FEATURES).toPandas().sort_values("trip_id").reset_index(drop=True)
    )
    trips = gold.select("trip_id", "service", "pu_location_id", "pickup_at").toPandas()  # noqa: F841 (DuckDB)
    demand = _partition(spark, settings, "zone_demand", FEB)  # noqa: F841 (DuckDB)
    expected = duckdb.sql(TRIP_ASOF).df()
    assert len(actual) == len(expected) == gold.count() > 40_000
    assert (actual["trip_id"].to_numpy() == expected["trip_id"].to_numpy()).all()
    _assert_same(actual, expected, DEMAND_FEATURES)
    # zones 264/265 and trips of the month's first instants have no row; nearly every trip has one
    assert actual["trips_1w"].notna().mean() > 0.95


def test_a_month_not_materialized_is_refused(spark, materialized):
    from nyctaxi.errors import MissingInput

    settings, _ = materialized
    gold = Catalog(spark, Lake.from_settings(settings)).read("trip_features", "green", FEB).frame
    with pytest.raises(
        MissingInput, match=r"zone_demand has no green 2024-12: run `nyctaxi feature-store materialize"
    ):
        store.with_demand(spark, settings, gold, "green", [Month.parse("2024-12")])


def test_train_and_score_with_demand_features(spark, materialized):
    """The setting on: the model reads the demand features, the run logs the views' versions,
    the gate decides as before, batch scoring joins the same point-in-time values, and drift
    monitoring watches the demand features with the others."""
    from nyctaxi.contract import DEMAND_FEATURES, model_features
    from nyctaxi.jobs import monitor, score, train
    from nyctaxi.ml import registry

    settings = materialized[0].model_copy(update={"demand_features": True})
    summary = train.run(spark, settings, "green", [JAN], FEB, sample_fraction=0.25).summary
    models = registry.ModelRegistry.from_settings(settings)
    run = models.client.get_run(summary["run_id"])
    assert run.data.params["demand_features"] == "True"
    assert run.data.params["feature_view.zone_hour_demand"] == "0"
    assert run.data.params["feature_view.zone_demand"] == "0"
    assert summary["metrics"]["model"]["rows"] == summary["metrics"]["linear_baseline"]["rows"] > 40_000
    model = models.load(summary["model_version"])
    assert model.features == model_features(True)
    results = summary["metrics"]  # the gate as before: an empty registry, so the two baselines
    assert summary["champion"] == all(
        results["model"]["rmse"] < results[name]["rmse"] for name in ("median_baseline", "linear_baseline")
    )
    assert summary["champion"], summary["decision"]  # it does beat them: the scoring below needs a champion
    scored = score.run(spark, settings, "green", FEB)
    assert (
        scored.rows_out
        == Catalog(spark, Lake.from_settings(settings)).read("trip_features", "green", FEB).frame.count()
    )
    drift = monitor.run(spark, settings, "green", JAN, FEB).summary
    assert set(drift["columns"]) == {*model_features(True), "prediction"}
    for name in DEMAND_FEATURES:  # numbers (January's first week has no lags: nulls are left out)
        assert drift["columns"][name]["method"] == "Wasserstein distance (normed)", drift["columns"][name]
    assert drift["drifted_share"] == len(drift["drifted_features"]) / len(model_features(True))
    # serving the champion: every online key a request can name is read before it is served
    from nyctaxi.serving.models import Trip
    from nyctaxi.serving.predictor import Predictor

    predictor = Predictor(settings)
    assert predictor.reload() and predictor.loaded.model.demand == DEMAND_FEATURES
    assert len(predictor.online) == len(store.request_keys())
    keys = [
        {"service": "green", "pu_location_id": 74, "hour_of_week": 8},
        {"service": "yellow", "pu_location_id": 74, "hour_of_week": 8},
    ]
    assert predictor.online.get(keys) == store.online_features(store.open_store(settings), keys)
    trip = {"pickup_at": "2025-03-03T08:10", "pu_location_id": 74, "do_location_id": 75, "trip_distance": 1.2}
    _, minutes = predictor.predict([Trip(service="green", **trip)])
    assert 1 < minutes[0] < 60


def test_serving_reads_online_what_training_joined(spark, materialized):
    """Training/serving parity with the demand features, on every real trip of 2025-02-19..28
    (≥ 10,000): the online store is left as a daily materialization leaves it (day by day, through
    Feast), then serving's lookup (`store.OnlineCache`, what the predictor calls: each distinct
    zone and hour read once, fanned out to the day's trips; one cache for all days, its held keys
    re-read when it sees a day materialized) and its feature vectors (`trip_vector`;
    `feature_matrix` for batches) give each trip of the day what training's point-in-time join and
    Spark vectors give it."""
    from datetime import UTC

    from pyspark.sql import functions as F

    from nyctaxi.contract import model_features
    from nyctaxi.ml.features import model_vectors, request_inputs, zone_state
    from nyctaxi.ml.vectors import feature_matrix, row_columns, trip_vector
    from nyctaxi.readers import read_zone_lookup

    settings, _ = materialized
    lake = Lake.from_settings(settings)
    zones = zone_state(read_zone_lookup(spark, lake.zone_lookup()))
    first = datetime(2025, 2, 19)
    gold = Catalog(spark, lake).read("trip_features", "green", FEB).frame.where(F.col("pickup_at") >= first)
    gold = store.with_demand(spark, settings, gold, "green", [FEB]).orderBy("trip_id")
    features = model_features(True)
    trained = model_vectors(gold, zones, features).toPandas()
    inputs = gold.transform(request_inputs).toPandas()
    assert len(trained) == len(inputs) >= 10_000
    feast, checked = store.open_store(settings), 0
    cache = store.OnlineCache.of(feast, ttl_s=3600)  # one, as serving holds it: refreshed each day
    for day in range(10):
        start = first + timedelta(days=day)
        store.materialize_between(
            feast, start.replace(tzinfo=UTC), (start + timedelta(days=1)).replace(tzinfo=UTC)
        )
        held = len(cache)
        assert cache.refresh(), f"{start}: materialized, but the views' version did not change"
        assert not cache.refresh() and len(cache) == held  # … and no longer does
        today = inputs["pickup_at"].str.startswith(start.strftime("%Y-%m-%d")).to_numpy()
        trips = request_trips(inputs[today])
        online = cache.for_trips(trips)  # the earlier days' keys re-read by the refresh, the rest now
        assert cache.for_trips(trips) == online  # the day's second read, from the cache
        rows = [{**t, **o} for t, o in zip(trips, online, strict=True)]
        expected = trained[today][list(features)].to_numpy()
        served = np.array([trip_vector(row, zones, DEMAND_FEATURES) for row in rows])
        np.testing.assert_array_equal(served, expected, err_msg=str(start))
        batch = feature_matrix(row_columns(rows, DEMAND_FEATURES), zones, DEMAND_FEATURES)
        np.testing.assert_array_equal(batch, expected, err_msg=f"{start} (batches)")
        checked += len(trips)
    assert checked == len(trained)
