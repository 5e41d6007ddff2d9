"""The catalog: every Delta table of the lake, declared once (contract §1–§4).

A table's layer, schema, partition columns, statistics columns and the stage whose publication
record publishes it are read from here by whoever needs them: `Lake.table` for its URI,
`nyctaxi.jobs.envelope.Catalog` to create, check, write and read it, the publication record for
which tables a month's record names. No engine here: the schema is named, and resolved in
`nyctaxi.schemas` only by code that runs Spark.
"""

from __future__ import annotations

from dataclasses import dataclass

from nyctaxi.contract import PARTITION_COLUMNS, TRIP_STATS_COLUMNS, ZONE_HOURLY_STATS_COLUMNS

LAYERS = ("silver", "gold")


@dataclass(frozen=True)
class Table:
    name: str
    layer: str
    schema_name: str  # the StructType's name in nyctaxi.schemas
    # Columns Delta keeps min/max statistics of (where a reader filters by value); () for none.
    stats_columns: tuple[str, ...]
    # The stage whose month record publishes this table's partitions (None: the latest version is
    # the table's state, as for predictions, which nothing downstream reads by record).
    published_by: str | None
    partition_columns: tuple[str, ...] = tuple(PARTITION_COLUMNS)

    @property
    def schema(self):
        """The Spark schema (imports pyspark: only for code that runs Spark)."""
        from nyctaxi import schemas

        return getattr(schemas, self.schema_name)


TABLES: dict[str, Table] = {
    table.name: table
    for table in (
        Table("trips", "silver", "SILVER_TRIPS", tuple(TRIP_STATS_COLUMNS), "preprocess"),
        Table("quarantine", "silver", "SILVER_QUARANTINE", tuple(TRIP_STATS_COLUMNS), "preprocess"),
        Table("trip_features", "gold", "GOLD_TRIP_FEATURES", tuple(TRIP_STATS_COLUMNS), "features"),
        Table("zone_hourly", "gold", "GOLD_ZONE_HOURLY", tuple(ZONE_HOURLY_STATS_COLUMNS), "features"),
        # The feature store's source, written (one commit a month) and read by `materialize`; Feast
        # filters it by time.
        Table("zone_demand", "gold", "GOLD_ZONE_DEMAND", ("feature_at",), None),
        # Read whole, a partition at a time (a trip id's min/max skips nothing): no statistics.
        Table("predictions", "gold", "GOLD_PREDICTIONS", (), None),
    )
}


def table(name: str) -> Table:
    if name not in TABLES:
        raise ValueError(f"unknown table {name!r}: expected one of {', '.join(TABLES)}")
    return TABLES[name]


def published_tables(layer: str) -> tuple[str, ...]:
    """The tables a month's record in ``layer`` names, in catalog order."""
    return tuple(t.name for t in TABLES.values() if t.layer == layer and t.published_by)


def publishing_stage(layer: str) -> str:
    """The stage that publishes ``layer``'s months (preprocess: silver, features: gold)."""
    return next(t.published_by for t in TABLES.values() if t.layer == layer and t.published_by)
