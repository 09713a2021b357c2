# ActionStream: `make demo` runs the main job, `make test` runs the test suite. Both set everything up on a
# fresh machine: Debian packages, the virtualenv, Kafka from Maven Central, the RTSP relay (Go).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEBIAN_PACKAGES := ffmpeg kcat chromium chromium-driver prometheus prometheus-alertmanager
export MLFLOW_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := true
export HF_HUB_OFFLINE := 1

.PHONY: setup system-deps demo lint deploy-lint fuzz test test-unit test-integration bench soak clean

setup: system-deps $(STAMP)
	$(BIN)/actionstream broker fetch >/dev/null

# Tools the tests and the demo call as outside programs: ffmpeg publishes RTSP feeds, kcat checks Kafka,
# chromium with chromium-driver (its command is chromedriver: packages are checked by name) runs the console's
# browser test, prometheus (with promtool) and prometheus-alertmanager run and test the alert rules.
system-deps:
	@missing=""; for tool in $(DEBIAN_PACKAGES); do dpkg -s $$tool >/dev/null 2>&1 || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@for tool in java mvn go; do command -v $$tool >/dev/null || { echo "$$tool is required (see README)"; exit 1; }; done

# -qq: errors only; at -q setuptools warns on every editable install (a .pth path entry: by design here).
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -qq -e '.[dev]'
	touch $(STAMP)

demo: setup
	$(BIN)/actionstream demo

# Ruff skips .venv by default (its built-in exclude list); the rules of both live in pyproject.toml ([tool.ruff],
# [tool.mypy]: the packages and the error codes it gates on).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

# Deployment files checked without a container engine: hadolint (PyPI), the compose file loaded the way
# `docker compose config` loads it (compose-go, infra/compose/check), the CI workflow by actionlint.
TOOLS := .tools/bin
ACTIONLINT_VERSION := v1.7.12
# The dev extra's hadolint; CI's lint job passes one installed alone.
HADOLINT ?= $(BIN)/hadolint
$(TOOLS)/actionlint:
	GOBIN=$(abspath $(TOOLS)) go install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)

$(TOOLS)/composecheck: infra/compose/check/main.go infra/compose/check/go.mod infra/compose/check/go.sum
	cd infra/compose/check && GOBIN=$(abspath $(TOOLS)) go install .

deploy-lint: $(TOOLS)/actionlint $(TOOLS)/composecheck
	$(HADOLINT) Dockerfile Dockerfile.gpu
	$(TOOLS)/composecheck infra/compose/compose.yaml >/dev/null
	$(TOOLS)/actionlint .github/workflows/ci.yml

# Many more generated inputs for every decoder than `make test` runs (hypothesis profile `fuzz`, tests/conftest.py).
fuzz: $(STAMP)
	$(BIN)/pytest -q tests/unit/fuzz --hypothesis-profile fuzz --hypothesis-show-statistics

test: setup lint deploy-lint
	$(BIN)/pytest -q

test-unit: setup
	$(BIN)/pytest -q -m "not integration"

test-integration: setup
	$(BIN)/pytest -q -m integration

bench: setup
	$(BIN)/actionstream bench ingest

# The selector kill scenario, 10 times (minutes; not part of `make test`). SOAK_MODEL: a bundle directory,
# registry alias or models:/ URI; by default an untrained tiny bundle (it measures delivery, not accuracy).
SOAK_BUNDLE := var/bench/soak-bundle
SOAK_MODEL ?= $(SOAK_BUNDLE)
soak: setup $(SOAK_BUNDLE)
	$(BIN)/actionstream bench soak --runs 10 --model $(SOAK_MODEL)

$(SOAK_BUNDLE): $(STAMP)
	$(BIN)/python -c 'from pathlib import Path; from tests.support.bundles import make_tiny_bundle; \
		make_tiny_bundle(Path("$@"), ["walk", "wave", "jump"])'

clean:
	-$(BIN)/actionstream broker stop
	-$(BIN)/actionstream rtsp stop
	rm -rf var
