"""One Settings object, read from the environment (and an optional ``.env``) at each entry point.

Variable names are the contract in ``interfaces.md``; library code receives plain values from here
and never builds ``Settings()`` itself.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

TLC_PUBLIC_BASE_URL = "https://d37ci6vzurychx.cloudfront.net"


def _absolute_root(value: str) -> str:
    """Layer roots that are plain folders become absolute, so spark-submit from any cwd agrees."""
    if "://" in value:
        return value.rstrip("/")
    return str(Path(value).expanduser().resolve())


class Settings(BaseSettings):
    """Everything configurable, with the defaults of the embedded (laptop) mode."""

    model_config = SettingsConfigDict(env_prefix="NYCTAXI_", env_file=".env", extra="ignore")

    lake_bronze: str = "lake/bronze"
    lake_silver: str = "lake/silver"
    lake_gold: str = "lake/gold"
    tlc_base_url: str = TLC_PUBLIC_BASE_URL
    spark_master: str = "local[*]"
    spark_driver_memory: str = "2g"
    # Upper bound: adaptive execution coalesces them to ~64 MB each, so a small month gets a few.
    # A 10M-row month (2015 yellow has ~12M) runs at 64 in a 2 GB driver; 8 was not re-measured
    # since preprocess stopped caching (with the in-memory cache, 8 and 64 both ran out of heap).
    spark_shuffle_partitions: int = Field(default=64, ge=1)
    # The Delta / hadoop-aws / AWS SDK jars (`make jars`); like every embedded default, relative to
    # the working folder (a source checkout's root), made absolute.
    jars_dir: str = "jars/lib"
    spark_executor_memory: str = "1g"
    # Extra JVM options for the driver and the executors, e.g. "-XX:TieredStopAtLevel=1": short
    # jobs on small months spend much of their CPU compiling code they barely run (the stack test).
    spark_java_options: str = ""
    cluster_host: str = "127.0.0.1"
    cluster_port: int = Field(default=7077, ge=0)
    cluster_ui_port: int = Field(default=8081, ge=0)
    cluster_worker_ui_port: int = Field(default=8082, ge=0)
    cluster_workers: int = Field(default=1, ge=1)
    cluster_worker_cores: int = Field(default=2, ge=1)  # per worker
    cluster_worker_memory: str = "2g"
    cluster_run_dir: str = ".run/cluster"  # `nyctaxi cluster up`'s pid files, logs and work folders
    log_dir: str = "logs"  # one log file per command: full traces and Spark's own log
    max_reject_fraction: float = Field(default=0.20, ge=0.0, le=1.0)
    s3_endpoint: str | None = None
    http_timeout_s: float = Field(default=60.0, gt=0)
    http_retries: int = Field(default=5, ge=0)
    http_backoff_s: float = Field(default=1.0, ge=0)
    # How long ingestion keeps retrying an unreachable object store (a restarting MinIO) before
    # it fails; nothing is published meanwhile.
    storage_retry_s: float = Field(default=120.0, ge=0)
    # MLflow keeps its own variable name (interfaces.md); embedded default: a SQLite store and an
    # artifact folder under the working directory.
    mlflow_tracking_uri: str = Field(
        default_factory=lambda: f"sqlite:///{Path('mlflow.db').resolve()}",
        validation_alias=AliasChoices("MLFLOW_TRACKING_URI", "mlflow_tracking_uri"),
    )
    mlflow_artifacts: str = "mlartifacts"
    mlflow_experiment: str = "nyc-taxi-trip-duration"
    mlflow_drift_experiment: str = "nyc-taxi-drift"  # the monitor's runs, apart from training
    train_workers: int = Field(default=2, ge=1)  # XGBoost barrier tasks (capped by the master's cores)
    # Validation: a month's trips must be within this share of the previous months' median.
    volume_tolerance: float = Field(default=0.4, gt=0.0, lt=1.0)
    volume_reference_months: int = Field(default=3, ge=1)
    # Serving: where it listens, which registry alias it serves, how often it looks for a new one.
    serving_host: str = "127.0.0.1"
    serving_port: int = Field(default=8000, ge=0)
    serving_workers: int = Field(default=1, ge=1)  # uvicorn worker processes, each with the model
    serving_model_alias: str = "champion"
    serving_reload_s: float = Field(default=60.0, ge=0)  # 0: only on POST /v1/model/reload
    # How often serving checks the online store for a materialization (its values, held in memory,
    # are re-read in the background when one happened); 0: read the store on every request.
    serving_online_cache_s: float = Field(default=60.0, ge=0)
    # Drift monitoring: when a month raises an alert, how many rows per month it compares, and
    # where alerts are POSTed (unset: the failing job and its log are the alert).
    drift_column_threshold: float = Field(default=0.1, gt=0)
    drift_share_max: float = Field(default=0.3, gt=0, le=1)
    drift_error_ratio_max: float = Field(default=1.25, gt=1)
    drift_sample_rows: int = Field(default=50_000, ge=1_000)
    alert_webhook_url: str | None = None
    # Feature store (Feast): the registry file and the online store (SQLite here; Redis when
    # feature_redis is host:port), and whether training and serving use the demand features.
    feature_registry: str = "feature_store/registry.db"
    feature_online_path: str = "feature_store/online.db"
    feature_redis: str | None = None
    # Off by default: train green 2025-01 → evaluate 2025-02 gave RMSE 4.388 with them, 4.295 without.
    demand_features: bool = False

    @field_validator(
        "lake_bronze",
        "lake_silver",
        "lake_gold",
        "mlflow_artifacts",
        "jars_dir",
        "cluster_run_dir",
        "feature_registry",
        "feature_online_path",
    )
    @classmethod
    def _resolve_root(cls, value: str) -> str:
        return _absolute_root(value)


def process_defaults() -> None:
    """What an entry point (the CLI, a job's spark-submit entry, the serving app) sets for its own
    process, never a library call: MLflow 3 reports usage to its vendor unless told not to, and
    our processes talk only to the stores they are configured with (an explicit setting wins)."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
