"""The JVM side agrees with the Python side: jar versions match pyspark and delta-spark."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import pyspark
from pyspark.sql import Window

from nyctaxi.config import Settings
from nyctaxi.sparkconf import jar_paths
from tests.conftest import PROJECT_ROOT


def _jar_version(names: list[str], artifact: str) -> str:
    pattern = re.compile(rf"^{re.escape(artifact)}-(\d[\w.\-]*)\.jar$")
    found = [m.group(1) for n in names if (m := pattern.match(n))]
    assert len(found) == 1, f"expected one {artifact} jar, got {found}"
    return found[0]


def test_hadoop_aws_matches_the_hadoop_inside_pyspark():
    bundled = [p.name for p in (Path(pyspark.__file__).parent / "jars").glob("*.jar")]
    ours = [Path(p).name for p in jar_paths(Settings())]
    assert _jar_version(ours, "hadoop-aws") == _jar_version(bundled, "hadoop-client-api")


def test_delta_jar_matches_pyspark_and_the_python_package():
    ours = [Path(p).name for p in jar_paths(Settings())]
    spark_minor = ".".join(pyspark.__version__.split(".")[:2])
    assert _jar_version(ours, f"delta-spark_{spark_minor}_2.13") == version("delta-spark")
    assert _jar_version(ours, "delta-storage") == version("delta-spark")


def test_no_jar_duplicates_what_pyspark_ships():
    bundled = {
        re.sub(r"-\d[\w.\-]*\.jar$", "", p.name)
        for p in (Path(pyspark.__file__).parent / "jars").glob("*.jar")
    }
    ours = {re.sub(r"-\d[\w.\-]*\.jar$", "", Path(p).name) for p in jar_paths(Settings())}
    assert ours & bundled == set()
    assert (PROJECT_ROOT / "jars" / "pom.xml").is_file()


def test_session_is_pinned_to_utc_with_delta(spark):
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    assert "DeltaSparkSessionExtension" in spark.conf.get("spark.sql.extensions")


def test_an_analysis_error_surfaces_as_itself_and_is_logged_to_the_file(spark):
    """PySpark logs each SQL error through its own logger class before raising it; routed to our
    log file, that logger must stay PySpark's, or its extra keywords raise a TypeError that hides
    the error (a job's report then said `TypeError: Logger._log()…`)."""
    import pytest
    from pyspark.errors import AnalysisException

    from nyctaxi.logs import log_file

    with pytest.raises(AnalysisException, match="no_such_column"):
        spark.range(3).select("no_such_column").collect()
    assert "no_such_column" in Path(log_file()).read_text(), "the error went to the log file"


def test_a_frame_shuffled_once_runs_its_shuffle_once_for_every_query_on_it(spark):
    """preprocess writes quarantine and trips from one classification: the work before the
    shuffle (counted by an accumulator in a Python UDF there) runs once for two queries, and both
    see the same rows as the frame itself."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import LongType

    from nyctaxi.spark import shuffled_once

    calls = spark.sparkContext.accumulator(0)

    def seen(value):
        calls.add(1)
        return value

    rows = 5_000
    source = spark.range(rows).withColumn("key", F.udf(seen, LongType())(F.col("id") % 97))
    ranked = source.repartition(8, "key").withColumn(
        "rank", F.row_number().over(Window.partitionBy("key").orderBy("id"))
    )
    once = shuffled_once(ranked)
    assert calls.value == rows, "the shuffle ran when the frame was made"
    first = once.where("rank = 1").count()
    rest = once.where("rank > 1").count()
    assert (first, first + rest) == (97, rows)
    assert calls.value == rows, "the queries read the shuffle's output instead of running it again"
    ranked.where("rank = 1").count()
    assert calls.value == 2 * rows, "the plain frame runs its shuffle again (what shuffled_once avoids)"
