"""The serving API with FastAPI's client and as a real uvicorn process on 127.0.0.1, over a real
MLflow registry holding a model trained on the real green 2025-01 (model-and-serving.md, Serving)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import requests
from fastapi.testclient import TestClient

from nyctaxi.ml import registry
from nyctaxi.ml.features import request_inputs
from nyctaxi.months import Month
from nyctaxi.serving.app import create_app
from nyctaxi.serving.predictor import Predictor
from nyctaxi.tables import read_partition, table_version
from tests.conftest import make_settings
from tests.pipeline import settings_env
from tests.servers import free_port

NYCTAXI = str(Path(sys.executable).with_name("nyctaxi"))
JAN, FEB = Month.parse("2025-01"), Month.parse("2025-02")
TRIP = {
    "service": "green",
    "pickup_at": "2025-02-03T08:15:00",
    "pu_location_id": 74,
    "do_location_id": 75,
    "trip_distance": 1.2,
}


@pytest.fixture(scope="module")
def served(champion_lake):
    return champion_lake


@pytest.fixture(scope="module")
def client(served):
    with TestClient(create_app(served)) as test_client:
        yield test_client


def test_single_and_batch_predictions(client):
    one = client.post("/v1/predict", json=TRIP, headers={"x-request-id": "abc"})
    assert one.status_code == 200 and one.headers["x-request-id"] == "abc"
    body = one.json()
    assert body["model_name"] == registry.MODEL_NAME and body["model_version"] == "1"
    assert len(body["predictions"]) == 1 and 2.0 < body["predictions"][0]["duration_min"] < 40.0
    trips = [TRIP, {**TRIP, "pu_location_id": 132, "do_location_id": 230, "trip_distance": 18.0}] * 500
    many = client.post("/v1/predict", json={"trips": trips}).json()["predictions"]
    assert len(many) == 1_000 and many[0] == body["predictions"][0]
    assert many[1]["duration_min"] > many[0]["duration_min"]  # JFK → Times Square takes longer
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").json()["status"] == "ready"
    info = client.get("/v1/model").json()
    assert info["alias"] == "champion" and info["training_months"] == ["2025-01"]
    assert info["metrics"]["model_rmse"] < info["metrics"]["linear_baseline_rmse"]
    metrics = client.get("/metrics").text
    assert 'nyctaxi_http_requests_total{path="/v1/predict",status="200"}' in metrics
    assert "nyctaxi_predictions_total 1001.0" in metrics
    assert (
        "/v1/predict" in client.get("/openapi.json").json()["paths"]
        and client.get("/docs").status_code == 200
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**TRIP, "pu_location_id": 266}, "pu_location_id"),  # unknown zone
        ({**TRIP, "do_location_id": 0}, "do_location_id"),
        ({**TRIP, "pickup_at": "next tuesday"}, "pickup_at"),  # unparsable time
        ({**TRIP, "pickup_at": "2025-02-03T08:15:00+01:00"}, "pickup_at"),  # an offset: not wall-clock
        ({**TRIP, "pickup_at": "1900-01-01T00:00:00"}, "pickup_at"),
        ({**TRIP, "trip_distance": -0.5}, "trip_distance"),  # negative distance
        ({**TRIP, "service": "fhvhv"}, "service"),  # wrong service
        ({"trips": [TRIP] * 1_001}, "trips"),  # too many items
        ({"trips": []}, "trips"),
        ({k: v for k, v in TRIP.items() if k != "trip_distance"}, "trip_distance"),
        ({**TRIP, "fare_amount": 10.0}, "fare_amount"),  # an outcome is not an input
    ],
)
def test_bad_input_gets_422_naming_the_field(client, body, field):
    response = client.post("/v1/predict", json=body)
    assert response.status_code == 422
    assert any(field in map(str, error["loc"]) for error in response.json()["detail"]), response.json()


def test_without_a_model_ready_and_predict_answer_503(tmp_path):
    empty = make_settings(tmp_path, serving_reload_s=0)
    with TestClient(create_app(empty)) as client:
        assert client.get("/health").status_code == 200
        ready = client.get("/ready")
        assert (
            ready.status_code == 503
            and "no 'champion' version of nyc-taxi-trip-duration" in ready.json()["detail"]
        )
        predicted = client.post("/v1/predict", json=TRIP)
        assert predicted.status_code == 503
        assert predicted.json()["detail"].startswith("model not loaded: no 'champion' version")
        assert client.get("/v1/model").status_code == 503


def test_served_predictions_equal_batch_scoring_on_real_trips(spark, served, client):
    """Training/serving parity end to end: what the API answers for 10,000 real February trips
    (batches of 1,000 on the pandas path; the first 300 also one by one and in tens, on the
    small-request path) equals what the Spark batch-scoring job wrote for them."""
    gold_uri, predictions_uri = f"{served.lake_gold}/trip_features", f"{served.lake_gold}/predictions"
    gold = read_partition(spark, gold_uri, "green", FEB, table_version(spark, gold_uri))
    sample = gold.orderBy("trip_id").limit(10_000).cache()
    inputs = sample.transform(request_inputs).toPandas()
    ids = [row.trip_id for row in sample.select("trip_id").collect()]
    batch = read_partition(spark, predictions_uri, "green", FEB, table_version(spark, predictions_uri))
    expected = dict(batch.select("trip_id", "prediction").rdd.map(tuple).collect())
    trips = [{k: v for k, v in row.items() if v is not None and v == v} for row in inputs.to_dict("records")]

    def answered(body: dict) -> list[float]:
        response = client.post("/v1/predict", json=body)
        assert response.status_code == 200, response.text[:500]
        return [p["duration_min"] for p in response.json()["predictions"]]

    served_minutes = [
        m for start in range(0, 10_000, 1_000) for m in answered({"trips": trips[start : start + 1_000]})
    ]
    assert len(served_minutes) == 10_000
    np.testing.assert_allclose(served_minutes, [expected[i] for i in ids], rtol=1e-6)
    one_by_one = [m for trip in trips[:100] for m in answered(trip)]
    in_tens = [m for start in range(100, 300, 10) for m in answered({"trips": trips[start : start + 10]})]
    np.testing.assert_allclose(one_by_one + in_tens, [expected[i] for i in ids[:300]], rtol=1e-6)


def test_openapi_fuzz_finds_no_server_error(served):
    """schemathesis generates requests from the OpenAPI schema: no 5xx, whatever the input."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error

    predictor = Predictor(served)
    predictor.reload()
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(served, predictor))
    for operation in schema.get_all_operations():
        strategy = operation.ok().as_strategy()

        @given(case=strategy)
        @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case):
            case.call_and_validate(checks=[not_a_server_error])

        check()


def _wait_ready(url: str, process: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read()
        try:
            if requests.get(f"{url}/ready", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"server at {url} not ready after {timeout} s")


def _docs_list_the_endpoints_offline(url: str) -> None:
    """/docs in Chromium draws Swagger UI with every endpoint, fetching only from the server."""
    from tests.browser import browser

    with browser() as chromium:
        page = chromium.new_page(viewport={"width": 1280, "height": 900})
        asked: list[str] = []
        page.on("request", lambda request: asked.append(request.url))
        page.goto(f"{url}/docs", wait_until="networkidle", timeout=60_000)
        page.get_by_text("/v1/predict").first.wait_for(state="visible", timeout=30_000)
        shown = page.inner_text("body")
        assert all(path in shown for path in ("/v1/predict", "/v1/model", "/health", "/ready")), shown
        assert asked and all(u.startswith((url, "data:", "blob:")) for u in asked), (
            f"not from the app: {asked}"
        )


@pytest.mark.slow
def test_uvicorn_process_serves_and_picks_up_a_new_champion(served):
    port = free_port()
    env = {**settings_env(served), "NYCTAXI_SERVING_PORT": str(port), "NYCTAXI_SERVING_RELOAD_S": "1"}
    process = subprocess.Popen(
        [NYCTAXI, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    url = f"http://127.0.0.1:{port}"
    models = registry.ModelRegistry.from_settings(served)
    client = models.client
    try:
        _wait_ready(url, process)
        first = requests.post(f"{url}/v1/predict", json=TRIP, timeout=10).json()
        assert first["model_version"] == "1"
        assert (
            requests.post(f"{url}/v1/predict", json={**TRIP, "service": "taxi"}, timeout=10).status_code
            == 422
        )
        _docs_list_the_endpoints_offline(url)
        # No Spark in the serving process: no JVM among its children.
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
        assert not [
            c for c in children if "java" in Path(f"/proc/{c}/cmdline").read_bytes().decode(errors="replace")
        ]

        current = client.get_model_version(registry.MODEL_NAME, "1")
        # MLflow resolves a logged model's source through the process-wide tracking URI (its own
        # TODO in SqlAlchemyStore.create_model_version), so this runs inside the registry's scope.
        with models.tracking():
            second = client.create_model_version(registry.MODEL_NAME, current.source, run_id=current.run_id)
        client.set_registered_model_alias(registry.MODEL_NAME, registry.CHAMPION, second.version)
        deadline = time.monotonic() + 30
        while requests.get(f"{url}/v1/model", timeout=5).json()["version"] != str(second.version):
            assert time.monotonic() < deadline, "new champion not picked up within 30 s"
            time.sleep(0.5)
        again = requests.post(f"{url}/v1/predict", json=TRIP, timeout=10).json()
        assert again["model_version"] == str(second.version) and again["predictions"] == first["predictions"]
    finally:
        client.set_registered_model_alias(
            registry.MODEL_NAME, registry.CHAMPION, "1"
        )  # as other tests expect
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert '"event": "request"' in stderr and '"latency_ms"' in stderr  # structured access logs
