"""Pure pieces of the model code: the champion gate and the request-side feature vector."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from nyctaxi.contract import MODEL_FEATURES
from nyctaxi.ml.registry import champion_gate
from nyctaxi.ml.vectors import ZoneState, request_features

BASELINES = {"median": 6.0, "linear": 5.0}
ZONES = ZoneState({1: "EWR", 74: "Manhattan", 75: "Manhattan", 132: "Queens", 264: "Unknown", 265: "N/A"})


@pytest.mark.parametrize(
    ("candidate", "champion", "promote", "says"),
    [
        (4.0, None, True, "no champion yet"),
        (4.0, 4.5, True, "and the current champion"),
        (4.5, 4.0, False, "current champion (4.0000)"),
        (4.0, 4.0, False, "current champion"),  # a tie does not move the champion
        (5.0, None, False, "linear baseline (5.0000)"),
        (6.5, None, False, "median baseline"),
    ],
)
def test_champion_gate(candidate, champion, promote, says):
    decision = champion_gate(candidate, BASELINES, champion)
    assert decision.promote is promote and says in decision.reason


def test_zone_state_round_trip_and_stable_codes():
    again = ZoneState.from_dict(ZONES.to_dict())
    assert again == ZONES
    assert again.codes() == {"EWR": 0, "Manhattan": 1, "N/A": 2, "Queens": 3, "Unknown": 4}


def test_request_features_follow_the_gold_rules():
    inputs = pd.DataFrame(
        {
            "service": ["green", "yellow", "green"],
            # New Year's Day (a Wednesday holiday), a Friday at 17:30, a Sunday at 23:10
            "pickup_at": ["2025-01-01T08:00:00", "2025-01-03T17:30:00", "2025-01-05T23:10:00"],
            "pu_location_id": [74, 132, 264],
            "do_location_id": [75, 1, 264],
            "trip_distance": [1.5, 20.0, 0.4],
            "passenger_count": [1.0, None, 2.0],
        }
    )
    features = request_features(inputs, ZONES)
    assert list(features.columns) == list(MODEL_FEATURES)
    rows = features.to_dict("records")
    assert rows[0]["is_holiday"] == 1.0 and rows[0]["is_rush_hour"] == 1.0
    assert rows[0]["pickup_dow"] == 3.0 and rows[0]["same_borough"] == 1.0 and rows[0]["is_green"] == 1.0
    assert rows[1]["is_rush_hour"] == 1.0 and rows[1]["is_airport_trip"] == 1.0 and rows[1]["is_green"] == 0.0
    assert math.isnan(rows[1]["passenger_count"]) and math.isnan(rows[1]["vendor_id"])
    assert rows[2]["is_weekend"] == 1.0 and rows[2]["is_night"] == 1.0 and rows[2]["is_rush_hour"] == 0.0
    # Two "Unknown" ends: same zone, but not evidence of one borough.
    assert rows[2]["same_zone"] == 1.0 and rows[2]["same_borough"] == 0.0 and rows[2]["pu_zone_known"] == 0.0
    assert rows[2]["pu_borough_code"] == ZONES.codes()["Unknown"]
