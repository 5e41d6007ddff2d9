"""Job `materialize` (`nyctaxi feature-store materialize`): gold `zone_hourly` of a month and the
month before → gold `zone_demand` (the feature store's offline source, one commit) → the online
store (Feast materialization of the month). Idempotent: a re-run writes the same rows."""

from __future__ import annotations

from pyspark.sql import SparkSession

from nyctaxi.config import Settings
from nyctaxi.errors import MissingInput
from nyctaxi.jobs import envelope
from nyctaxi.jobs.envelope import JobContext, Result
from nyctaxi.months import Month
from nyctaxi.quality.report import RunReport
from nyctaxi.transform.demand import build_zone_demand


def run(spark: SparkSession, settings: Settings, service: str, month: Month) -> RunReport:
    return envelope.run("materialize", _materialize, spark, settings, service, month)


def _materialize(ctx: JobContext) -> Result:
    from nyctaxi.feature_store import store

    hourly = ctx.read("zone_hourly")
    frames, observed = [hourly.frame], [ctx.month]
    try:
        before = ctx.read("zone_hourly", ctx.month.previous())
        frames.append(before.frame)
        observed.append(before.month)
    except MissingInput:  # the first month gold holds: its lags start as unknown
        pass
    rows_in = sum(frame.count() for frame in frames)
    if rows_in == 0:
        raise MissingInput(
            f"gold zone_hourly has no rows for {ctx.service} {ctx.month}: run `nyctaxi features`"
        )
    source = frames[0] if len(frames) == 1 else frames[0].unionByName(frames[1])
    demand = build_zone_demand(ctx.spark, source, ctx.service, ctx.month, observed)
    written = ctx.write(demand, "zone_demand", source_sha256=hourly.record.source_sha256)
    versions = store.apply(ctx.settings)
    done = store.materialize(store.open_store(ctx.settings), ctx.month)
    summary = {
        "observed_months": [str(m) for m in sorted(observed)],
        "feature_views": versions,
        "online": done.online,
        "online_store": store.repo_config(ctx.settings).online_store.type,
        "online_holds_later": done.later.isoformat() if done.later else None,
    }
    return Result(rows_in, written.rows, source_sha256=hourly.record.source_sha256, summary=summary)
