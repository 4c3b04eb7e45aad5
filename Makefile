# FusionLoop: `make run` runs the whole loop on the demo market, `make test` passes the tests.
# Both create the local virtual environment from requirements.lock when it is missing.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export FUSION_HOME ?= $(CURDIR)/var
export AIRFLOW_HOME ?= $(CURDIR)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__LOAD_EXAMPLES := False
SIZE ?= S
DAYS ?= 180
SEED ?= 7

.PHONY: install bench-install celery-install run test test-e2e lint airflow bench bench-loop clean lock \
	system-deps

install: $(VENV)/.installed

# Bytecode is compiled once at install: where PYTHONDONTWRITEBYTECODE is set,
# every Airflow task and test process would otherwise recompile Airflow and GX
# on import (`import great_expectations, airflow.sdk`: 27-31 s -> 14-17 s on a
# loaded 2-core machine).
$(VENV)/.installed: requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.9
	$(BIN)/uv pip sync --quiet --compile-bytecode --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

bench-install: $(VENV)/.bench-installed

# The forecasting peers (mlforecast, statsforecast) are for benchmarks only.
$(VENV)/.bench-installed: $(VENV)/.installed requirements-bench.lock
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python \
		-r requirements-bench.lock
	touch $@

celery-install: $(VENV)/.celery-installed

# Airflow's Celery provider (docs/scale-out.md): the base environment's pins
# plus what the provider adds, so installing it changes no other package.
$(VENV)/.celery-installed: $(VENV)/.installed requirements-celery.lock
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python \
		-r requirements-celery.lock
	touch $@

lock:  ## re-resolve the pinned environments after editing pyproject.toml
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra bench --python-version 3.11 \
		-o requirements-bench.lock
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra celery -c requirements.lock \
		--python-version 3.11 -o requirements-celery.lock

run: install  ## generate the demo market, run fusion_daily through Airflow, print the summary
	$(BIN)/fusionloop demo --size $(SIZE) --days $(DAYS) --seed $(SEED)
	$(BIN)/python -m pipeline.airflow_run

test: install lint system-deps  ## everything but the tests on a running Airflow server
	$(BIN)/python -m pytest -m "not standalone"

# The UI path, per-stage kills healed by Airflow's retries and a backfill, on
# one `airflow standalone` (issue 9), and a day on the CeleryExecutor (issue
# 8, its own server): slow, so apart from `make test`.
test-e2e: install celery-install system-deps
	$(BIN)/python -m pytest -m standalone

lint: install
	$(BIN)/ruff check dags pipeline models tests bench
	$(BIN)/ruff format --check dags pipeline models tests bench

airflow: install  ## the Airflow UI with fusion_daily loaded
	$(BIN)/fusionloop demo --size $(SIZE) --days $(DAYS) --seed $(SEED)
	$(BIN)/python -m pipeline.airflow_run --standalone

# Scale tiers (issue 8): one day per market size, per stage, with and without
# Airflow (dags test, and the scheduler on a throw-away PostgreSQL). M takes
# about 30 minutes here (6 generating 730 days, 12 loading them, then the day
# four ways); L is opt-in (make bench BENCH_SIZES=L), takes hours (its
# generation alone 35-95 min) and needs about 60 GB of free disk (estimated
# from M's warehouse; see BENCHMARKS.md, "Scale tiers").
# BENCH_ARGS=--resume goes on with a size's stopped run (an L day spans sittings).
BENCH_SIZES ?= S,M
BENCH_ARGS ?=
bench: install celery-install  ## one day per market size, per stage, with and without Airflow -> BENCHMARKS.md
	$(BIN)/python bench/day.py --sizes $(BENCH_SIZES) $(BENCH_ARGS)

# The write-back tests start a throw-away PostgreSQL server and the KPI report
# test opens the report in headless Chromium: Debian's packages, installed only
# where missing (CI runs as root on a fresh machine).
system-deps:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
		(apt-get update && apt-get install -y --no-install-recommends postgresql-15)
	@command -v chromium >/dev/null || \
		(apt-get update && apt-get install -y --no-install-recommends chromium)

# Closed loop (issue 6): the issue asks for S and M over 90 days. S over 90
# days takes about 10 minutes on a quiet 2-core machine (a FusionLoop day about
# 6 s, the three policies side by side); a simulated M day is an M pipeline
# day (about 2 min, and the perfect-foresight plan beside it), so M over 90
# days (LOOP_SIZES=S,M) takes hours.
LOOP_SIZES ?= S
LOOP_DAYS ?= 90
bench-loop: install  ## fusionloop vs baseline, perfect foresight and the oracle; LP alone at 20k x 14
	$(BIN)/python bench/loop.py --sizes $(LOOP_SIZES) --days $(LOOP_DAYS) --seed $(SEED)
	$(BIN)/python bench/lp.py --skus 2000 --locations 10 --horizon 14 --part lp,milp,start --keep-previous

clean:
	rm -rf var .airflow

.PHONY: bench-forecast
FORECAST_SIZE ?= M
FORECAST_MAX_ROWS ?= 300000
FORECAST_ARGS ?= --origins 4 --horizon 28 --origin-step-days 14
bench-forecast: bench-install  ## rolling-origin forecast backtest (market in var_<size>/) -> BENCHMARKS.md
	FUSION_MAX_TRAINING_ROWS=$(FORECAST_MAX_ROWS) $(BIN)/python bench/forecast.py \
		--size $(FORECAST_SIZE) --home $(CURDIR)/var_$(shell echo $(FORECAST_SIZE) | tr A-Z a-z) \
		$(FORECAST_ARGS)

# Bring your own extracts (issue 10): the example export in examples/kassen is
# imported, backtested and run through fusion_daily in its own home. The PII
# key of that home is made on first use and stays there, out of git.
EXAMPLE_HOME ?= $(CURDIR)/var_example
EXAMPLE_DS ?= 2026-01-31
.PHONY: run-example
run-example: install  ## import examples/kassen, backtest it, run fusion_daily on it
	@test -s $(EXAMPLE_HOME)/secrets/pii.key || (mkdir -p $(EXAMPLE_HOME)/secrets && \
		$(BIN)/python -c "import secrets; print(secrets.token_hex(32))" \
		> $(EXAMPLE_HOME)/secrets/pii.key)
	FUSION_HOME=$(EXAMPLE_HOME) $(BIN)/fusionloop import \
		--mapping examples/kassen/mapping.toml --input examples/kassen/exports
	FUSION_HOME=$(EXAMPLE_HOME) $(BIN)/fusionloop backtest \
		--landing $(EXAMPLE_HOME)/landing --horizon 14
	FUSION_HOME=$(EXAMPLE_HOME) FUSION_PII_KEY=$$(cat $(EXAMPLE_HOME)/secrets/pii.key) \
		$(BIN)/python -m pipeline.airflow_run --ds $(EXAMPLE_DS)
