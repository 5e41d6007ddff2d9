# nyctaxi — every target sets itself up (virtualenv, pinned packages, Maven jars) on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
# Images install without the test tools: `make venv VENV=/opt/nyctaxi/.venv EXTRAS=`.
EXTRAS ?= [dev]
BIN := $(VENV)/bin
SERVICE ?= green
MONTHS ?= 2025-01..2025-02
SHARED_TLC := $(abspath ../shared/data/tlc)
# Offline here: when the shared real-data folder exists, it is the TLC mirror (unless already set).
ifneq ($(wildcard $(SHARED_TLC)/taxi_zone_lookup.csv),)
export NYCTAXI_TLC_BASE_URL ?= $(SHARED_TLC)
endif
export PYSPARK_PYTHON := $(abspath $(BIN)/python)
export SPARK_LOCAL_IP ?= 127.0.0.1

.PHONY: help browser setup venv airflow-venv jars tools compose stack-up stack-down stack-images run bench bench-tools bench-report test lint format clean cluster-up cluster-down cluster-status airflow-up airflow-down
help:
	@echo "make run    # the whole pipeline (data, model, scoring, drift) for $(SERVICE) $(MONTHS) on the embedded default"
	@echo "make test   # lint + the whole test suite"
	@echo "make bench  # ETL (Spark vs DuckDB, 1M-10M rows), cluster speed-up, serving latency → BENCHMARKS.md"

setup: venv jars tools

venv: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml requirements.lock
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found"; exit 1; }
	@command -v java >/dev/null || { echo "error: java (JDK 17+) not found; Spark needs it"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==25.3
	$(BIN)/pip install --quiet -c requirements.lock -e '.$(EXTRAS)'
	touch $@

# S3Proxy: a disk-backed S3-compatible server (checks credentials) for tests and local runs.
S3PROXY_VERSION := 4.1.0
S3PROXY_JAR := jars/tools/s3proxy-$(S3PROXY_VERSION)-jar-with-dependencies.jar
COMPOSE_GO_VERSION := v2.16.2
COMPOSE_SCHEMA := jars/tools/compose-spec.json
ACTIONLINT_VERSION := v1.7.12
ACTIONLINT := jars/tools/bin/actionlint
tools: $(S3PROXY_JAR) $(COMPOSE_SCHEMA) $(ACTIONLINT)
# actionlint (GitHub Actions workflow linter) from its Go module; the suite lints .github/workflows.
$(ACTIONLINT):
	@command -v go >/dev/null || { echo "error: go not found; it installs actionlint"; exit 1; }
	GOBIN=$(abspath jars/tools/bin) go install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)
$(S3PROXY_JAR): jars/pom.xml
	mvn --batch-mode --quiet -Dstyle.color=never -f jars/pom.xml dependency:copy \
	    -Dartifact=org.gaul:s3proxy:$(S3PROXY_VERSION):jar:jar-with-dependencies -DoutputDirectory=tools
	touch $@
# The Compose Specification's JSON schema, as published in compose-spec/compose-go (Go module proxy).
$(COMPOSE_SCHEMA):
	@command -v go >/dev/null || { echo "error: go not found; it fetches the Compose schema"; exit 1; }
	mkdir -p jars/tools
	cp "$$(go mod download -json github.com/compose-spec/compose-go/v2@$(COMPOSE_GO_VERSION) \
	    | $(PYTHON) -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')/schema/compose-spec.json" $@
	chmod 644 $@

# Docker Compose v2, built from its Go module (the Docker CLI here has no compose plugin); it talks
# to podman's Docker-compatible API (scripts/stack.sh).
COMPOSE_VERSION := v2.40.3
COMPOSE := jars/tools/bin/docker-compose
compose: $(COMPOSE)
$(COMPOSE):
	@command -v go >/dev/null || { echo "error: go not found; it builds docker-compose"; exit 1; }
	mkdir -p jars/tools/bin && rm -rf jars/tools/compose-src
	cp -r "$$(go mod download -json github.com/docker/compose/v2@$(COMPOSE_VERSION) \
	    | $(PYTHON) -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')" jars/tools/compose-src
	chmod -R u+w jars/tools/compose-src
	cd jars/tools/compose-src && CGO_ENABLED=0 go build -trimpath -o $(abspath $(COMPOSE)) ./cmd
	rm -rf jars/tools/compose-src

# Airflow lives in its own virtualenv, as in production (its Spark provider installs
# pyspark-client, which would clash with the project's pyspark).
AIRFLOW_VENV := .venv-airflow
airflow-venv: $(AIRFLOW_VENV)/.installed
$(AIRFLOW_VENV)/.installed: requirements-airflow.txt requirements-airflow.lock
	$(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/pip install --quiet --upgrade pip==25.3
	$(AIRFLOW_VENV)/bin/pip install --quiet -c requirements-airflow.lock -r requirements-airflow.txt
	touch $@

jars: jars/lib/.resolved
jars/lib/.resolved: jars/pom.xml
	@command -v mvn >/dev/null || { echo "error: mvn not found; install Maven to resolve the Delta/S3 jars"; exit 1; }
	rm -rf jars/lib
	mvn --batch-mode --quiet -Dstyle.color=never -f jars/pom.xml dependency:copy-dependencies \
	    -DoutputDirectory=lib -DexcludeTransitive=true
	touch $@

run: setup
	$(BIN)/nyctaxi pipeline --service $(SERVICE) --months $(MONTHS)

# Benchmarks (scripts that print figures; BENCHMARKS.md is rendered from benchmarks/results/).
VEGETA_VERSION := v12.12.0
VEGETA := jars/tools/bin/vegeta
bench-tools: $(VEGETA)
$(VEGETA):
	@command -v go >/dev/null || { echo "error: go not found; it installs vegeta (the load generator)"; exit 1; }
	GOBIN=$(abspath jars/tools/bin) go install github.com/tsenart/vegeta/v12@$(VEGETA_VERSION)

bench: setup bench-tools
	$(BIN)/python benchmarks/etl.py
	$(BIN)/python benchmarks/etl_cluster.py
	$(BIN)/python benchmarks/serve.py
	$(BIN)/python benchmarks/report.py

bench-report: venv
	$(BIN)/python benchmarks/report.py

LINTED := src tests airflow benchmarks
lint: venv
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)

format: venv
	$(BIN)/ruff check --fix $(LINTED)
	$(BIN)/ruff format $(LINTED)

# Debian's Chromium, for the tests that look at pages (Playwright drives it; no browser download);
# a machine with Google Chrome (GitHub's runners) uses that.
browser:
	@command -v chromium >/dev/null || command -v google-chrome >/dev/null || { apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

test: setup airflow-venv browser lint
	$(BIN)/pytest --durations=40 $(PYTEST_ARGS)

cluster-up: setup
	$(BIN)/nyctaxi cluster up

cluster-down: venv
	$(BIN)/nyctaxi cluster down

cluster-status: venv
	$(BIN)/nyctaxi cluster status

airflow-up: setup airflow-venv
	scripts/airflow-local.sh up

airflow-down:
	scripts/airflow-local.sh down

# The production stack (docker-compose.yml) on podman: images, Compose, every service healthy.
# STACK_FILES="-f extra.yml" adds override files (the stack test's TLC mirror).
stack-images: jars tools
	scripts/stack.sh images

stack-up: jars tools compose
	scripts/stack.sh up $(STACK_FILES)

stack-down:
	scripts/stack.sh down $(STACK_FILES)

clean:
	rm -rf lake .pytest_cache .ruff_cache spark-warehouse .bench
