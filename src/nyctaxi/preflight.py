"""What a job needs before it starts, checked without Spark: a JVM takes 15–50 s to start, and a
missing month or model version should be said at once, with the command that makes it.

:func:`check` reads only the lake's publication records and the model registry. A job still
checks its inputs itself when it runs (a record can vanish between the two); this only makes
the common mistakes cheap. The CLI and the spark-submit entry point call it before building a
session; `nyctaxi pipeline` does not (its own earlier stages make the inputs).
"""

from __future__ import annotations

from nyctaxi.config import Settings
from nyctaxi.errors import InvalidArgument, MissingInput
from nyctaxi.lake import Lake
from nyctaxi.months import Month


def _make(layer: str, service: str, month: Month) -> str:
    """The command that publishes ``layer`` for the month."""
    stage = "preprocess" if layer == "silver" else "features"
    return f"`nyctaxi {stage} --service {service} --month {month}`"


def need_month(lake: Lake, layer: str, service: str, month: Month, role: str = "") -> None:
    """MissingInput unless ``layer`` (silver or gold) has published the month."""
    from nyctaxi.publication import read_record

    if read_record(lake, layer, service, month) is None:
        what = f" (the {role})" if role else ""
        raise MissingInput(
            f"{layer} has no {service} {month}{what} in {getattr(lake, layer)}: run {_make(layer, service, month)} "
            f"first (or `nyctaxi pipeline --service {service} --month {month}` for every stage)"
        )


def need_model(settings: Settings, service: str, month: Month, version: str | None, stage: str) -> str:
    """The registered version to use: ``version`` if it exists, else the champion; otherwise an
    error that says which versions exist or how to train one."""
    from nyctaxi.ml import registry

    models = registry.ModelRegistry.from_settings(settings)
    known = models.versions()
    where = f"model {registry.MODEL_NAME} at {models.tracking_uri}"
    if version is not None:
        if version not in known:
            listed = ", ".join(known) if known else "none"
            raise InvalidArgument(f"{where} has no version {version!r} (versions: {listed})")
        return version
    champion = models.version_by_alias(registry.CHAMPION)
    if champion is None:
        train = f"`nyctaxi train --service {service} --train-months {month.previous()} --eval-month {month}`"
        other = (
            ", or pass --model-version (versions: " + ", ".join(known) + ")"
            if known and stage == "score"
            else ""
        )
        raise MissingInput(f"{where} has no '{registry.CHAMPION}' version: run {train} first{other}")
    return str(champion.version)


def check(stage: str, settings: Settings, service: str, options: dict) -> None:
    """MissingInput / InvalidArgument when ``stage`` with ``options`` cannot run on this lake."""
    lake = Lake.from_settings(settings)
    month = options.get("month")
    if stage == "features":
        need_month(lake, "silver", service, month)
    elif stage == "materialize":
        need_month(lake, "gold", service, month)
    elif stage == "validate":
        need_month(lake, "silver", service, month)
        need_month(lake, "gold", service, month)
    elif stage == "train":
        for trained in options["train_months"]:
            need_month(lake, "gold", service, trained, "training month")
        need_month(lake, "gold", service, options["eval_month"], "evaluation month")
    elif stage == "score":
        need_month(lake, "gold", service, month)
        need_model(settings, service, month, options.get("model_version"), stage)
    elif stage == "monitor":
        current = options["current"]
        need_month(lake, "gold", service, current, "month to check")
        if options.get("reference") is not None:
            need_month(lake, "gold", service, options["reference"], "reference month")
        need_model(settings, service, current, None, stage)
