"""Apply a booster to Spark rows (evaluation in training, batch scoring): one code path, one answer."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import xgboost as xgb
from pyspark.sql import DataFrame
from pyspark.sql import types as T

from nyctaxi.ml.model import TripDurationModel, predict_matrix


def with_predictions(vectors: DataFrame, model: TripDurationModel, column: str = "prediction") -> DataFrame:
    """Score Spark rows that carry the model's features (``features.model_vectors``).

    Vectorised through Arrow (``mapInPandas``): the booster travels to executors as bytes, once
    per task, and each batch is one native ``inplace_predict`` call.
    """
    raw, features = bytes(model.booster.save_raw("ubj")), model.features
    # Arrow turns pandas NaN into null, so every output column must accept null.
    fields = [T.StructField(f.name, f.dataType, nullable=True) for f in vectors.schema.fields]
    schema = T.StructType([*fields, T.StructField(column, T.DoubleType())])

    def score(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        local = xgb.Booster()
        local.load_model(bytearray(raw))
        for batch in batches:
            yield batch.assign(**{column: predict_matrix(local, batch, features)})

    return vectors.mapInPandas(score, schema)
