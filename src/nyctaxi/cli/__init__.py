"""`nyctaxi …` — the same jobs as spark-submit and the DAG, by name. Failures print one clear line.

base: the app and how commands fail; jobs: the registry's jobs and `submit`; pipeline:
run, report, synth; admin: serve, cluster, storage.
"""

from nyctaxi.cli import admin, jobs, pipeline  # noqa: F401  (each registers its commands)
from nyctaxi.cli.base import app


def main() -> None:
    """Console entry point."""
    app()
