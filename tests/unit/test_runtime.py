"""The JVM side agrees with the Python side: jar versions match pyspark and delta-spark."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import pyspark

from nyctaxi.config import PROJECT_ROOT, Settings
from nyctaxi.spark import jar_paths


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
