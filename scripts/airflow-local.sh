#!/usr/bin/env bash
# Airflow 3 on this machine, no Docker: `airflow standalone` (API server/UI, scheduler,
# dag-processor, triggerer) from .venv-airflow, bound to 127.0.0.1, in its own process group.
#   scripts/airflow-local.sh up | down | status
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export PATH="$ROOT/.venv-airflow/bin:$PATH"   # standalone starts its parts as `airflow …`
export AIRFLOW_HOME="${AIRFLOW_HOME:-$ROOT/.run/airflow}"
PID_FILE="$AIRFLOW_HOME/standalone.pid"
LOG="$AIRFLOW_HOME/standalone.log"
PORT="${AIRFLOW_PORT:-8080}"

export AIRFLOW__CORE__DAGS_FOLDER="$ROOT/airflow/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__API__HOST=127.0.0.1          # else it listens on every interface
export AIRFLOW__API__PORT="$PORT"
export AIRFLOW__CORE__PARALLELISM="${AIRFLOW__CORE__PARALLELISM:-4}"   # 32 by default: ~40 processes on 2 cores
export NYCTAXI_HOME="$ROOT"
export NYCTAXI_PYTHON="$ROOT/.venv/bin/python"
export NYCTAXI_SPARK_SUBMIT="$ROOT/.venv/lib/python3.11/site-packages/pyspark/bin/spark-submit"
export NYCTAXI_JARS_DIR="${NYCTAXI_JARS_DIR:-$ROOT/jars/lib}"
export SPARK_LOCAL_IP=127.0.0.1
# Spark master for the DAG's SparkSubmitOperators: the local cluster when it runs, else local mode.
MASTER="${NYCTAXI_SPARK_MASTER:-local[*]}"
if [[ $MASTER == spark://* ]]; then
  hostport=${MASTER#spark://}
  export AIRFLOW_CONN_SPARK_DEFAULT="{\"conn_type\": \"spark\", \"host\": \"spark://${hostport%:*}\", \"port\": ${hostport##*:}}"
else
  export AIRFLOW_CONN_SPARK_DEFAULT="{\"conn_type\": \"spark\", \"host\": \"$MASTER\"}"
fi

running() { [[ -f $PID_FILE ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; }

case "${1:-}" in
  up)
    mkdir -p "$AIRFLOW_HOME"
    if running; then echo "Airflow already running (pid $(cat "$PID_FILE"))"; exit 0; fi
    setsid "$ROOT/.venv-airflow/bin/airflow" standalone >"$LOG" 2>&1 < /dev/null &
    echo $! >"$PID_FILE"
    for _ in $(seq 1 120); do
      if curl -fs "http://127.0.0.1:$PORT/api/v2/version" >/dev/null 2>&1; then break; fi
      running || { echo "error: Airflow exited; see $LOG"; exit 1; }
      sleep 2
    done
    curl -fs "http://127.0.0.1:$PORT/api/v2/version" >/dev/null || { echo "error: Airflow not up after 240 s; see $LOG"; exit 1; }
    echo "Airflow UI: http://127.0.0.1:$PORT  (Spark master for the DAG: $MASTER)"
    echo "login: admin / password in $AIRFLOW_HOME/simple_auth_manager_passwords.json.generated"
    ;;
  down)
    if ! running; then echo "Airflow is not running"; rm -f "$PID_FILE"; exit 0; fi
    pgid=$(cat "$PID_FILE")
    kill -TERM -- "-$pgid" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 -- "-$pgid" 2>/dev/null || break; sleep 1; done
    kill -KILL -- "-$pgid" 2>/dev/null || true   # the scheduler sometimes ignores TERM
    rm -f "$PID_FILE"
    echo "Airflow stopped"
    ;;
  status)
    if running; then echo "Airflow running (pid $(cat "$PID_FILE")) at http://127.0.0.1:$PORT"; else echo "Airflow is not running"; fi
    ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
