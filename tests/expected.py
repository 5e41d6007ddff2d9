"""Expected counts for the real TLC files, from an independent reading: the DuckDB reading of the
contract (tests/integration/contract_reference.py) and the files' own Parquet metadata. Tests
compare the pipeline with these, never with numbers copied from its output."""

from __future__ import annotations

import datetime as dt
import functools

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from nyctaxi.months import service_month_of_file
from tests.conftest import shared_file

# The model's target: an RMSE at least 10 % below the linear one-hot baseline's.
LINEAR_MARGIN = 0.90


def file_rows(name: str) -> int:
    """Rows of a real Parquet file, from its footer."""
    return pq.ParquetFile(shared_file(name)).metadata.num_rows


def pickups_outside(name: str, month: str) -> int:
    """Pickups of a real Parquet file outside ``month`` (YYYY-MM), read with pyarrow."""
    table = pq.read_table(shared_file(name))
    pickup = next(c for c in table.column_names if c.endswith("pickup_datetime"))
    start = dt.datetime.strptime(month, "%Y-%m")
    end = (start + dt.timedelta(days=32)).replace(day=1)
    values = table[pickup]
    outside = pc.or_(
        pc.less(values, pa.scalar(start, values.type)), pc.greater_equal(values, pa.scalar(end, values.type))
    )
    return pc.sum(outside.cast("int64")).as_py() or 0


@functools.cache
def reference(name: str) -> dict[str, int]:
    """rows, silver, quarantined and per-reason counts of a real file, by the DuckDB reference."""
    from tests.integration.contract_reference import contract_counts

    return contract_counts(shared_file(name), service_month_of_file(name)[1])


def silver_rows(name: str) -> int:
    return reference(name)["silver"]


def top_reasons(name: str, n: int = 3) -> list[tuple[str, int]]:
    """The ``n`` most frequent reasons (a row may carry several), most frequent first."""
    counts = {k: v for k, v in reference(name).items() if k not in ("rows", "silver", "quarantined")}
    return sorted(counts.items(), key=lambda kv: -kv[1])[:n]
