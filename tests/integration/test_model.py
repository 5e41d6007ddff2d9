"""Training, the registry gate and batch scoring on the real reference case: train on green
2025-01, evaluate on green 2025-02 (model-and-serving.md)."""

from __future__ import annotations

import json
import subprocess

import pytest
from pyspark.sql import functions as F

from nyctaxi.jobs import score, train
from nyctaxi.lake import Lake
from nyctaxi.ml import registry
from nyctaxi.ml.evaluation import metrics
from nyctaxi.ml.features import filter_training_rows
from nyctaxi.ml.pyfunc import load_model
from nyctaxi.months import Month
from nyctaxi.publication import read_record
from nyctaxi.sparkconf import submit_env, submit_plan
from nyctaxi.tables import read_partition, table_version
from tests.expected import LINEAR_MARGIN
from tests.pipeline import request_trips, settings_env

JAN, FEB = Month.parse("2025-01"), Month.parse("2025-02")


@pytest.fixture(scope="module")
def trained(spark, real_gold):
    """The first model in an empty registry, then a deliberately weak one (1 % of the rows)."""
    first = train.run(spark, real_gold, "green", [JAN], FEB)
    weak = train.run(spark, real_gold, "green", [JAN], FEB, sample_fraction=0.01)
    return real_gold, first.summary, weak.summary


def test_model_beats_both_baselines_and_becomes_champion(trained):
    settings, first, _ = trained
    results = first["metrics"]
    model, median, linear = results["model"], results["median_baseline"], results["linear_baseline"]
    assert model["rows"] == median["rows"] == linear["rows"] > 40_000  # same evaluation rows
    assert model["rmse"] < median["rmse"] and model["rmse"] < LINEAR_MARGIN * linear["rmse"]
    assert model["mae"] < linear["mae"] and model["within_5_min"] > linear["within_5_min"]
    assert first["champion"] and "champion" not in results  # the registry was empty

    client = registry.ModelRegistry.from_settings(settings).client
    version = client.get_model_version_by_alias(registry.MODEL_NAME, registry.CHAMPION)
    assert str(version.version) == first["model_version"] == "1"
    assert version.tags["gate.decision"] == "champion"
    run = client.get_run(first["run_id"])
    assert run.data.metrics["model_rmse"] == pytest.approx(model["rmse"])
    assert run.data.metrics["linear_baseline_rmse"] == pytest.approx(linear["rmse"])
    assert run.data.params["train_months"] == "2025-01" and run.data.params["eval_month"] == "2025-02"
    assert len(run.data.tags["bronze_sha256.2025-01"]) == 64
    artifacts = {item.path for item in client.list_artifacts(first["run_id"])}
    assert {"evaluation.png", "feature_importance.png", "residuals.png"} <= artifacts

    # what a user browsing MLflow sees: a named run, its data at their Delta versions, descriptions
    assert run.info.run_name == "green 2025-01 → 2025-02"
    lake = Lake.from_settings(settings)
    logged = {
        (d.dataset.name, d.tags[0].value if d.tags else None): json.loads(d.dataset.source)
        for d in run.inputs.dataset_inputs
    }
    for month, context in (("2025-01", "training"), ("2025-02", "evaluation")):
        source = logged[(f"gold.trip_features green {month}", context)]
        published = read_record(lake, "gold", "green", Month.parse(month)).tables["trip_features"]
        assert source == {"path": lake.table("trip_features"), "delta_table_version": published}
    assert run.data.tags["mlflow.note.content"].startswith(
        "Trained on green 2025-01, evaluated on 2025-02: RMSE"
    )
    assert "beats both baselines" in version.description
    assert client.get_registered_model(registry.MODEL_NAME).description.startswith("Trip duration in minutes")


def test_weak_model_stays_challenger_and_champion_does_not_move(trained):
    settings, first, weak = trained
    assert not weak["champion"]
    assert weak["metrics"]["champion"]["rmse"] == pytest.approx(first["metrics"]["model"]["rmse"])
    assert weak["metrics"]["model"]["rmse"] > weak["metrics"]["champion"]["rmse"]
    assert "current champion" in weak["decision"]
    client = registry.ModelRegistry.from_settings(settings).client
    assert str(client.get_model_version_by_alias(registry.MODEL_NAME, registry.CHAMPION).version) == "1"
    challenger = client.get_model_version_by_alias(registry.MODEL_NAME, registry.CHALLENGER)
    assert str(challenger.version) == weak["model_version"] == "2"
    assert challenger.tags["gate.decision"] == "challenger"
    assert client.get_run(weak["run_id"]).data.tags["gate.reason"] == weak["decision"]


def test_logged_model_loads_without_spark_and_predicts_request_rows(trained):
    settings, first, _ = trained
    with registry.ModelRegistry.from_settings(settings).tracking():
        model = load_model(f"models:/{registry.MODEL_NAME}@{registry.CHAMPION}")
    from nyctaxi.ml.tracking import INPUT_EXAMPLE

    minutes = model.predict(INPUT_EXAMPLE)
    assert minutes.shape == (2,) and all(1.0 < m < 90.0 for m in minutes)
    assert minutes[1] > minutes[0]  # 17.5 miles to JFK takes longer than 1.2 miles uptown


def test_batch_scoring_matches_logged_evaluation(spark, trained):
    settings, first, _ = trained
    report = score.run(spark, settings, "green", FEB)
    assert report.summary["model_version"] == "1"

    uri = lambda table: f"{settings.lake_gold}/{table}"  # noqa: E731
    gold = read_partition(
        spark, uri("trip_features"), "green", FEB, table_version(spark, uri("trip_features"))
    )
    predictions = read_partition(
        spark, uri("predictions"), "green", FEB, table_version(spark, uri("predictions"))
    )
    assert predictions.count() == gold.count() == report.rows_out
    assert predictions.select("trip_id").distinct().count() == gold.count()
    assert predictions.join(gold, "trip_id", "left_anti").count() == 0
    assert {r.model_version for r in predictions.select("model_version").distinct().collect()} == {"1"}

    rows = filter_training_rows(gold).select("trip_id", "duration_min").join(predictions, "trip_id", "inner")
    recomputed = metrics(rows)
    logged = first["metrics"]["model"]
    assert recomputed["rows"] == logged["rows"]
    assert recomputed["rmse"] == pytest.approx(logged["rmse"], rel=1e-12)
    assert recomputed["mae"] == pytest.approx(logged["mae"], rel=1e-12)

    total = predictions.agg(F.sum("prediction")).first()[0]
    score.run(spark, settings, "green", FEB)  # idempotent: the partition is replaced, not appended
    latest = read_partition(spark, uri("predictions"), "green", FEB, table_version(spark, uri("predictions")))
    assert latest.count() == gold.count()
    assert latest.agg(F.sum("prediction")).first()[0] == total


@pytest.mark.slow
def test_spark_submit_local_reproduces_metrics(trained):
    """Same seed and data ⇒ same metrics, through real spark-submit with --master local[2]."""
    settings, first, _ = trained
    plan = submit_plan(
        settings, "train", ["--service", "green", "--train-months", "2025-01", "--eval-month", "2025-02"]
    )
    command = plan.command(settings.spark_master)
    assert command[command.index("--master") + 1] == "local[2]"
    done = subprocess.run(
        command, env=submit_env(settings_env(settings)), capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-3000:]
    client = registry.ModelRegistry.from_settings(settings).client
    latest = max(client.search_model_versions(f"name='{registry.MODEL_NAME}'"), key=lambda v: int(v.version))
    rerun = client.get_run(latest.run_id).data.metrics
    for name in ("rmse", "mae", "within_5_min"):
        assert rerun[f"model_{name}"] == first["metrics"]["model"][name]
    # An equal model does not beat the champion: it stays challenger.
    assert latest.tags["gate.decision"] == "challenger"
    assert str(client.get_model_version_by_alias(registry.MODEL_NAME, registry.CHAMPION).version) == "1"


def test_training_refuses_an_evaluation_month_before_training(spark, real_gold):
    from nyctaxi.errors import InvalidArgument

    with pytest.raises(InvalidArgument, match="must come after the training months"):
        train.run(spark, real_gold, "green", [FEB], JAN)


def test_serving_features_equal_gold_features_on_real_trips(spark, real_gold):
    """Training/serving parity: the features of what a caller sends, computed with NumPy from a
    frame (the MLflow model) and from serving's rows (batches), and in plain Python (small
    requests), equal the Spark features computed from gold, for every trip of green 2025-02."""
    import numpy as np

    from nyctaxi.contract import MODEL_FEATURES
    from nyctaxi.ml.features import model_vectors, request_inputs, zone_state
    from nyctaxi.ml.vectors import feature_matrix, request_features, row_columns, trip_vector
    from nyctaxi.readers import read_zone_lookup

    lake_gold = f"{real_gold.lake_gold}/trip_features"
    gold = read_partition(spark, lake_gold, "green", FEB, table_version(spark, lake_gold)).orderBy("trip_id")
    zones = zone_state(read_zone_lookup(spark, f"{real_gold.lake_bronze}/reference/taxi_zone_lookup.csv"))
    inputs = gold.transform(request_inputs).toPandas()
    served = request_features(inputs, zones)
    trained = model_vectors(gold, zones).toPandas()[list(MODEL_FEATURES)].to_numpy()
    assert len(served) == len(trained) > 40_000
    np.testing.assert_array_equal(served.to_numpy(), trained)
    # the small-request path gets Python values, as pydantic hands them over (None when absent)
    trips = request_trips(inputs)
    np.testing.assert_array_equal(np.array([trip_vector(trip, zones) for trip in trips]), trained)
    np.testing.assert_array_equal(feature_matrix(row_columns(trips), zones), trained)
