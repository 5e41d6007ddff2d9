"""``create_app(settings)``: the serving API. Routes are thin; the predictor owns the model."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nyctaxi.config import Settings, process_defaults
from nyctaxi.serving.models import Batch, ModelInfo, Prediction, PredictRequest, PredictResponse
from nyctaxi.serving.predictor import SMALL_REQUEST, Loaded, ModelNotLoaded, Predictor

access_log = logging.getLogger("nyctaxi.serving.access")


class Metrics:
    """Prometheus metrics of one app (its own registry, so apps in one process do not collide)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "nyctaxi_http_requests", "HTTP requests", ["path", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "nyctaxi_http_request_seconds", "request latency", ["path"], registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
        )  # fmt: skip
        self.predictions = Counter("nyctaxi_predictions", "trips predicted", registry=self.registry)
        self.model_version = Gauge("nyctaxi_model_version", "served model version", registry=self.registry)


class Observe:
    """ASGI middleware: request id (kept from ``x-request-id`` or made), latency, Prometheus
    counters and one JSON access-log line per request. Plain ASGI: it adds microseconds, where
    Starlette's BaseHTTPMiddleware adds a task and a stream per request."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id")
        request_id = given.decode("latin-1") if given else uuid.uuid4().hex
        started, status = time.perf_counter(), 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append("x-request-id", request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            path = route.path if route is not None else "unmatched"
            self.metrics.requests.labels(path, str(status)).inc()
            self.metrics.latency.labels(path).observe(elapsed)
            access_log.info(
                json.dumps(
                    {
                        "event": "request",
                        "request_id": request_id,
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "latency_ms": round(elapsed * 1000, 3),
                    }
                )
            )


def create_app(settings: Settings, predictor: Predictor | None = None) -> FastAPI:
    """The serving app: ``predictor`` (default: the registry's ``serving_alias``) loaded at start
    and reloaded every ``serving_reload_s``; routes below, metrics and access logs per request."""
    predictor = predictor or Predictor(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(predictor.reload)
        every = settings.serving_reload_s
        poller = asyncio.create_task(_poll(predictor, every)) if every else None
        yield
        if poller:
            poller.cancel()

    # /docs and /redoc from Swagger UI / ReDoc assets the app serves itself (no CDN: works offline)
    app = FastAPIOffline(
        title="nyctaxi trip duration",
        version="1",
        description="Predicted NYC taxi trip durations from the MLflow registry's champion model.",
        lifespan=lifespan,
    )
    app.state.predictor, app.state.metrics = predictor, Metrics()
    app.add_middleware(Observe, metrics=app.state.metrics)
    app.add_exception_handler(ModelNotLoaded, _not_loaded)
    app.include_router(routes)
    return app


async def _not_loaded(request: Request, error: ModelNotLoaded) -> JSONResponse:
    return JSONResponse({"detail": f"model not loaded: {error}"}, status_code=503)


# Async dependencies: a sync one would hop to the thread pool on every request.
async def _predictor(request: Request) -> Predictor:
    return request.app.state.predictor


async def _metrics(request: Request) -> Metrics:
    return request.app.state.metrics


PredictorDep = Annotated[Predictor, Depends(_predictor)]
MetricsDep = Annotated[Metrics, Depends(_metrics)]
NOT_LOADED = {503: {"description": "no model loaded"}}
routes = APIRouter()


def _why_not_loaded(predictor: Predictor) -> str:
    return predictor.last_error or "model not loaded yet"


def _loaded(predictor: Predictor) -> Loaded:
    if predictor.loaded is None:
        raise ModelNotLoaded(_why_not_loaded(predictor))
    return predictor.loaded


@routes.get("/health")
def health() -> dict:
    """The process is up (says nothing about the model)."""
    return {"status": "ok"}


@routes.get("/ready", responses=NOT_LOADED)
def ready(predictor: PredictorDep) -> JSONResponse:
    """A model is loaded and predictions can be served."""
    loaded = predictor.loaded
    if loaded is None:
        detail = f"model not loaded: {_why_not_loaded(predictor)}"
        return JSONResponse({"status": "not ready", "detail": detail}, status_code=503)
    return JSONResponse({"status": "ready", "model_version": loaded.info.version})


@routes.get("/v1/model", response_model=ModelInfo, responses=NOT_LOADED)
def model_info(predictor: PredictorDep) -> ModelInfo:
    return _loaded(predictor).info


@routes.post("/v1/model/reload", responses=NOT_LOADED)
def reload(predictor: PredictorDep, metrics: MetricsDep) -> dict:
    """Load the alias's current version now (the server also polls every NYCTAXI_SERVING_RELOAD_S)."""
    changed = predictor.reload()
    version = _loaded(predictor).info.version
    metrics.model_version.set(float(version))
    return {"changed": changed, "model_version": version, "error": predictor.last_error}


@routes.post("/v1/predict", response_model=PredictResponse, responses=NOT_LOADED)
async def predict(body: PredictRequest, predictor: PredictorDep, metrics: MetricsDep) -> PredictResponse:
    """One trip, or ``{"trips": [...]}`` with up to 1,000: minutes per trip and the model version."""
    trips = body.trips if isinstance(body, Batch) else [body]
    if len(trips) <= SMALL_REQUEST:  # well under a millisecond: no thread hop
        info, minutes = predictor.predict(trips)
    else:  # a large batch must not hold up the event loop
        info, minutes = await run_in_threadpool(predictor.predict, trips)
    metrics.predictions.inc(len(trips))
    metrics.model_version.set(float(info.version))
    return PredictResponse(
        model_name=info.name,
        model_version=info.version,
        predictions=[Prediction(duration_min=float(m)) for m in minutes],
    )


@routes.get("/metrics", include_in_schema=False)
def prometheus(metrics: MetricsDep) -> Response:
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


def app_from_environment() -> FastAPI:
    """The app as `nyctaxi serve` runs it (uvicorn factory; called in each worker process)."""
    if not logging.getLogger().handlers:  # a fresh worker process: access logs still go to stderr
        logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("nyctaxi.serving").setLevel(logging.INFO)
    process_defaults()
    return create_app(Settings())


async def _poll(predictor: Predictor, every_s: float) -> None:
    """Pick up a new champion without a restart."""
    while True:
        await asyncio.sleep(every_s)
        await run_in_threadpool(predictor.reload)
