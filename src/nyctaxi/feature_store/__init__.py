"""The feature store (Feast): point-in-time demand features for training and serving.

definitions: the entities and feature views, over gold ``zone_demand`` (Spark offline store);
store: the store built from settings (registry, online store: SQLite embedded, Redis in the
stack), apply, materialize, historical and online retrieval. Feast is imported only here.
"""

import importlib
import os


def _import_feast_leaving_the_environment_alone() -> None:
    """Feast's import sets PROMETHEUS_MULTIPROCESS_DIR and PROMETHEUS_MULTIPROC_DIR (a temporary
    directory for its own metrics server, feast/metrics.py): importing a module of ours changes no
    environment variable, so they are put back as they were (child processes do not inherit them).
    prometheus_client picks its value class from that variable once, when it is first imported:
    it is imported before feast, so that every metric in the process (serving's too) keeps the
    in-process values and never looks for a multiprocess directory that is no longer set."""
    names = ("PROMETHEUS_MULTIPROCESS_DIR", "PROMETHEUS_MULTIPROC_DIR")
    before = {name: os.environ.get(name) for name in names}
    importlib.import_module("prometheus_client.values")
    importlib.import_module("feast.metrics")
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


_import_feast_leaving_the_environment_alone()
