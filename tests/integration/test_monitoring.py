"""Drift monitoring on the real months (a report, no alert) and on a crafted shifted month (every
distance × 3): the alert fails the job and a webhook receiver on 127.0.0.1 gets it."""

from __future__ import annotations

import json
import shutil
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pyarrow.compute as pc
import pytest

from nyctaxi.contract import MODEL_FEATURES
from nyctaxi.errors import DriftAlert
from nyctaxi.ingest.bronze import ingest_local_file
from nyctaxi.jobs import features, main, monitor, preprocess
from nyctaxi.lake import Lake
from nyctaxi.ml import registry
from nyctaxi.months import Month
from tests.conftest import make_settings
from tests.pipeline import february_as_march, settings_env

JAN, FEB, MAR = Month.parse("2025-01"), Month.parse("2025-02"), Month.parse("2025-03")


def test_real_months_give_a_report_without_alert(spark, champion_lake):
    report = monitor.run(spark, champion_lake, "green", JAN, FEB)
    summary = report.summary
    assert report.status == "succeeded" and not summary["alert"] and summary["reasons"] == []
    assert set(summary["columns"]) == {*MODEL_FEATURES, "prediction"}
    assert summary["drifted_share"] < champion_lake.drift_share_max
    # February is the model's evaluation month: its error there is the logged one.
    assert summary["errors"]["ratio"] == pytest.approx(1.0, abs=1e-9)
    lake = Lake.from_settings(champion_lake)
    saved = lake.read_json(lake.report("monitor", "green", FEB))
    assert saved["summary"]["model_version"] == "1"
    html = Path(saved["outputs"][-1]["uri"]).read_text()
    drifted = len(summary["drifted_features"])
    assert "<title>drift green 2025-02 (model version 1)</title>" in html
    assert f"<b>{drifted} of {len(MODEL_FEATURES)}</b> model features drifted" in html
    # Evidently's own verdict counts the same columns at the same share limit as the alert
    assert f"Dataset drift detection threshold is {champion_lake.drift_share_max}" in html
    assert f"({drifted} out of {len(MODEL_FEATURES)})" in html
    client = registry.ModelRegistry.from_settings(champion_lake).client

    def drift_runs(experiment: str) -> list:
        return client.search_runs(
            [client.get_experiment_by_name(experiment).experiment_id], "tags.kind = 'drift'"
        )

    runs = drift_runs(champion_lake.mlflow_drift_experiment)
    assert runs and "drift.trip_distance" in runs[0].data.metrics
    assert drift_runs(champion_lake.mlflow_experiment) == [], "drift runs stay out of the training experiment"


def test_logged_drift_report_draws_in_mlflows_sandboxed_frame(spark, champion_lake, tmp_path):
    """MLflow's artifact viewer shows HTML from a blob URL in <iframe sandbox="allow-scripts">
    (mlflow/server/js ShowArtifactHtmlView): there the logged page shows our verdict and
    Evidently's dashboard draws."""
    from tests.browser import browser

    client = registry.ModelRegistry.from_settings(champion_lake).client
    experiment = client.get_experiment_by_name(champion_lake.mlflow_drift_experiment)
    if not client.search_runs([experiment.experiment_id] if experiment else [], "tags.kind = 'drift'"):
        monitor.run(spark, champion_lake, "green", JAN, FEB)
        experiment = client.get_experiment_by_name(champion_lake.mlflow_drift_experiment)
    run = client.search_runs([experiment.experiment_id], "tags.kind = 'drift'")[0]
    html = Path(client.download_artifacts(run.info.run_id, "drift.html", str(tmp_path))).read_text()
    with browser() as chromium:
        page = chromium.new_page(viewport={"width": 1440, "height": 1200})
        page.set_content("<iframe id='viewer' sandbox='allow-scripts' style='width:1400px;height:1150px'>")
        page.evaluate(
            "html => { document.getElementById('viewer').src ="
            " URL.createObjectURL(new Blob([html], {type: 'text/html'})); }",
            html,
        )
        page.wait_for_function("() => window.frames.length === 1 && document.querySelector('iframe').src")
        frame = page.frame_locator("#viewer")
        verdict = frame.locator("#verdict")
        verdict.wait_for(state="visible", timeout=30_000)
        assert "Drift green 2025-02 vs 2025-01, model version 1: no alert" in verdict.inner_text()
        dashboard = frame.locator("[id^=root_] >> text=Data Drift Summary")
        dashboard.first.wait_for(state="visible", timeout=60_000)  # Evidently's script ran and drew
        page.screenshot(path=str(tmp_path / "drift-in-mlflow-frame.png"))


class Receiver(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def webhook():
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Receiver.received = []
    yield f"http://127.0.0.1:{server.server_port}/alerts", Receiver.received
    server.shutdown()


@pytest.fixture(scope="module")
def shifted(spark, champion_lake, tmp_path_factory):
    """The champion's lake plus a March that is February with every distance tripled."""
    root = tmp_path_factory.mktemp("shifted")
    settings = make_settings(root, serving_reload_s=0)
    for layer in ("lake_bronze", "lake_silver", "lake_gold"):
        shutil.copytree(getattr(champion_lake, layer), getattr(settings, layer))
    shutil.copy(Path(champion_lake.mlflow_tracking_uri.removeprefix("sqlite:///")), root / "mlflow.db")
    shutil.copytree(champion_lake.mlflow_artifacts, settings.mlflow_artifacts)

    def triple(table):
        index = table.schema.get_field_index("trip_distance")
        return table.set_column(index, "trip_distance", pc.multiply(table["trip_distance"], 3.0))

    ingest_local_file(settings, february_as_march(root, triple), "green", MAR)
    preprocess.run(spark, settings, "green", MAR)
    features.run(spark, settings, "green", MAR)
    return settings


def test_shifted_month_raises_the_alert_and_the_webhook_gets_it(spark, shifted, webhook):
    url, received = webhook
    settings = shifted.model_copy(update={"alert_webhook_url": url})
    with pytest.raises(DriftAlert) as alert:
        monitor.run(spark, settings, "green", JAN, MAR)
    message = str(alert.value)
    assert message.startswith("drift alert for green 2025-03 vs 2025-01:")
    assert "trip_distance" in message and "prediction drifted" in message
    assert len(received) == 1 and received[0]["message"] == message
    assert received[0]["month"] == "2025-03" and received[0]["model_version"] == "1"
    saved = Lake.from_settings(settings).read_json(
        Lake.from_settings(settings).report("monitor", "green", MAR, failed=True)
    )
    assert saved["status"] == "failed" and saved["summary"]["alert"] is True
    assert saved["summary"]["columns"]["trip_distance"]["drifted"] is True


def test_job_entry_point_exits_non_zero_on_alert(spark, shifted, monkeypatch, capsys):
    for key, value in settings_env(shifted).items():
        monkeypatch.setenv(key, value)
    assert main(["monitor", "--service", "green", "--reference", "2025-01", "--current", "2025-03"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    # Without a webhook the alert goes to the log (one line), then the job's one error line.
    assert err[-1].startswith("error: drift alert for green 2025-03 vs 2025-01") and len(err) <= 2
    assert not any("Traceback" in line for line in err)
