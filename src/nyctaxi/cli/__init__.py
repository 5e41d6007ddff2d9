"""`nyctaxi …` — the same jobs as spark-submit and the DAG, by name. Failures print one clear line.

base: the app and how commands fail; jobs: the registry's jobs and `submit`; pipeline:
run, report, synth; admin: serve, cluster, storage.
"""

import sys

from nyctaxi.cli import admin, feature_store, jobs, pipeline  # noqa: F401  (each registers its commands)
from nyctaxi.cli.base import app

GLOBAL_FLAGS = ("--verbose", "--quiet", "--version")


def main(argv: list[str] | None = None) -> None:
    """Console entry point. The global flags are accepted anywhere on the line
    (`nyctaxi train … --verbose`): they are moved before the command, where Click reads them."""
    argv = sys.argv[1:] if argv is None else argv
    end = argv.index("--") if "--" in argv else len(argv)
    flags = [arg for arg in argv[:end] if arg in GLOBAL_FLAGS]
    rest = [arg for arg in argv[:end] if arg not in GLOBAL_FLAGS] + argv[end:]
    app(args=flags + rest, prog_name="nyctaxi")
