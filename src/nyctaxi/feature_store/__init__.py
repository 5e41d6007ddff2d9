"""The feature store (Feast): point-in-time demand features for training and serving.

definitions: the entities and feature views, over gold ``zone_demand`` (Spark offline store);
store: the store built from settings (registry, online store: SQLite embedded, Redis in the
stack), apply, materialize, historical and online retrieval. Feast is imported only here.
"""

import os

# Feast's import sets PROMETHEUS_MULTIPROCESS_DIR and PROMETHEUS_MULTIPROC_DIR (a temporary
# directory for its own metrics server, feast/metrics.py): importing a module of ours changes no
# environment variable, so they are put back as they were (child processes do not inherit them).
_PROMETHEUS_ENV = ("PROMETHEUS_MULTIPROCESS_DIR", "PROMETHEUS_MULTIPROC_DIR")
_before = {name: os.environ.get(name) for name in _PROMETHEUS_ENV}
import feast.metrics  # noqa: E402, F401

for _name, _value in _before.items():
    if _value is None:
        os.environ.pop(_name, None)
    else:
        os.environ[_name] = _value
