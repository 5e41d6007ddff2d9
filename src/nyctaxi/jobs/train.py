"""Job `train`: gold trip_features → XGBoost on Spark, both baselines and the current champion on
the same evaluation rows, one MLflow run, a registered version and the champion gate."""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field
from functools import partial, reduce

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from xgboost.spark.utils import _get_max_num_concurrent_tasks

from nyctaxi.config import Settings
from nyctaxi.contract import model_features
from nyctaxi.errors import InvalidArgument, MissingInput
from nyctaxi.jobs import envelope
from nyctaxi.jobs.envelope import JobContext, Result
from nyctaxi.ml import registry
from nyctaxi.ml.evaluation import LABEL, metrics, with_linear_baseline, with_median_baseline
from nyctaxi.ml.features import filter_training_rows, model_vectors, zone_state
from nyctaxi.ml.model import TripDurationModel
from nyctaxi.ml.scoring import with_predictions
from nyctaxi.ml.training import fit_booster
from nyctaxi.ml.vectors import ZoneState
from nyctaxi.months import Month
from nyctaxi.quality.report import RunReport
from nyctaxi.readers import read_zone_lookup

PLOT_POINTS = 5_000  # evaluation trips drawn in the predicted-vs-actual plot


@dataclass(frozen=True)
class TrainSpec:
    service: str
    train_months: list[Month]
    eval_month: Month
    sample_fraction: float = 1.0  # < 1 trains on a sample (e.g. to check the gate keeps a weak model out)
    seed: int = 42
    tags: dict[str, str] = field(default_factory=dict)

    def check(self) -> None:
        if not self.train_months:
            raise InvalidArgument("no training months given (--train-months 2025-01[..2025-03])")
        if self.eval_month <= max(self.train_months):
            raise InvalidArgument(
                f"evaluation month {self.eval_month} must come after the training months "
                f"({', '.join(map(str, self.train_months))}): the protocol evaluates on a later month"
            )
        if not 0.0 < self.sample_fraction <= 1.0:
            raise InvalidArgument(f"sample fraction {self.sample_fraction} is not in (0, 1]")


@dataclass
class Evaluation:
    """What the gate and the run log need: metrics per predictor, on the same evaluation rows."""

    results: dict[str, dict[str, float]]
    model: TripDurationModel
    train_rows: int
    by_hour: object = None
    sample: object = None
    feature_views: dict[str, int] = field(default_factory=dict)  # Feast views read, and their versions


def task_slots(spark: SparkSession) -> int:
    """Tasks the master can run at once now. XGBoost trains in a barrier stage that needs one slot
    per worker (defaultParallelism says 2 on a 1-core standalone worker and would wait forever)."""
    return _get_max_num_concurrent_tasks(spark.sparkContext)


def run(
    spark: SparkSession,
    settings: Settings,
    service: str,
    train_months: list[Month],
    eval_month: Month,
    sample_fraction: float = 1.0,
    seed: int = 42,
) -> RunReport:
    spec = TrainSpec(service, train_months, eval_month, sample_fraction, seed)
    spec.check()
    return envelope.run("train", partial(_train, spec=spec), spark, settings, spec.service, spec.eval_month)


def _read_months(ctx: JobContext, months: list[Month]) -> DataFrame:
    return reduce(DataFrame.unionByName, [ctx.read("trip_features", month).frame for month in months])


def _train(ctx: JobContext, spec: TrainSpec) -> Result:
    # MLflow is imported only by jobs that use it
    from nyctaxi.ml.tracking import log_training_run, save_evaluation_figure

    started_ms = time.time_ns() // 1_000_000
    zones = zone_state(read_zone_lookup(ctx.spark, ctx.lake.zone_lookup()))
    train = filter_training_rows(_read_months(ctx, spec.train_months))
    if spec.sample_fraction < 1.0:
        train = train.sample(fraction=spec.sample_fraction, seed=spec.seed)
    rows = filter_training_rows(_read_months(ctx, [spec.eval_month]))
    views = {}
    if ctx.settings.demand_features:  # the feature store's values at each trip's pickup time
        from nyctaxi.feature_store import store

        train = store.with_demand(ctx.spark, ctx.settings, train, spec.service, spec.train_months)
        rows = store.with_demand(ctx.spark, ctx.settings, rows, spec.service, [spec.eval_month])
        views = store.view_versions(store.open_store(ctx.settings))
        ctx.used(feature_views=views)
    train, rows = (df.persist(StorageLevel.MEMORY_AND_DISK) for df in (train, rows))
    try:
        evaluation = _evaluate(ctx.spark, ctx.settings, spec, zones, train, rows)
        evaluation.feature_views = views
    finally:
        train.unpersist()
        rows.unpersist()
    figure_uri = ctx.lake.report("train", spec.service, spec.eval_month).removesuffix(".json") + ".png"
    with tempfile.TemporaryDirectory() as folder:
        png = save_evaluation_figure(spec, evaluation, os.path.join(folder, "evaluation.png"))
        summary = log_training_run(ctx.settings, spec, evaluation, ctx.inputs, started_ms, png)
        ctx.lake.publish_file(png, figure_uri)
    ctx.made(report="figure", uri=figure_uri)
    return Result(evaluation.train_rows, evaluation.results["model"]["rows"], summary=summary)


def _evaluate(
    spark: SparkSession,
    settings: Settings,
    spec: TrainSpec,
    zones: ZoneState,
    train: DataFrame,
    rows: DataFrame,
) -> Evaluation:
    train_rows = train.count()
    for name, count, months in (
        ("training", train_rows, spec.train_months),
        ("evaluation", rows.count(), [spec.eval_month]),
    ):
        if count == 0:
            listed = ", ".join(map(str, months))
            raise MissingInput(
                f"no {name} rows in gold trip_features for {spec.service} {listed}: run "
                f"`nyctaxi features --service {spec.service} --month {months[0]}` first"
            )
    workers = max(1, min(settings.train_workers, task_slots(spark)))
    features = model_features(settings.demand_features)
    booster = fit_booster(model_vectors(train, zones, features), workers, spec.seed, features)
    model = TripDurationModel(
        booster,
        zones,
        {"service": spec.service, "train_months": list(map(str, spec.train_months)), "seed": spec.seed},
        features,
    )
    scored = with_predictions(model_vectors(rows, zones, features), model).persist(
        StorageLevel.MEMORY_AND_DISK
    )
    results = {
        "model": metrics(scored),
        "median_baseline": metrics(with_median_baseline(train, rows)),
        "linear_baseline": metrics(with_linear_baseline(train, rows)),
    }
    champion = _champion_metrics(spark, settings, spec, rows)
    if champion is not None:
        results["champion"] = champion
    by_hour = scored.groupBy("pickup_hour").agg(
        F.sqrt(F.avg((F.col("prediction") - F.col(LABEL)) ** 2)).alias("rmse"),
        F.avg(F.abs(F.col("prediction") - F.col(LABEL))).alias("mae"),
    )
    share = min(1.0, PLOT_POINTS / results["model"]["rows"])
    sample = scored.select(LABEL, "prediction").sample(fraction=share, seed=spec.seed)
    evaluation = Evaluation(results, model, train_rows, by_hour.toPandas(), sample.toPandas())
    scored.unpersist()
    return evaluation


def _champion_metrics(
    spark: SparkSession, settings: Settings, spec: TrainSpec, rows: DataFrame
) -> dict[str, float] | None:
    """The current champion on the same rows (with its own zone state and features), or None
    without one."""
    models = registry.ModelRegistry.from_settings(settings)
    champion = models.version_by_alias(registry.CHAMPION)
    if champion is None:
        return None
    model = models.load(champion.version)
    if model.demand and not set(model.demand) <= set(rows.columns):  # trained with the feature store
        from nyctaxi.feature_store import store

        rows = store.with_demand(spark, settings, rows, spec.service, [spec.eval_month])
    return metrics(with_predictions(model_vectors(rows, model.zones, model.features), model)) | {
        "version": int(champion.version)
    }
