# Two commands on a fresh machine: `make run` and `make test`. Everything is installed here.
# The production path beside them: `make topology`, `make test-topology`, deploy/.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# uv installs the exact pins (with hashes) of uv.lock; the Dockerfile uses the same version.
UV_VERSION := 0.13.9
KEYCLOAK_VERSION ?= 26.5.6
export KEYCLOAK_VERSION

.PHONY: tools venv lock keycloak keycloak-stop bootstrap run test lint unit integration browser \
	browser-deps bench clean topology topology-stop test-topology k8s-mappings

$(BIN)/connector: pyproject.toml uv.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv sync -q --locked --extra dev --inexact
	@touch $@

venv: $(BIN)/connector

# After a change of dependencies in pyproject.toml: re-resolve and pin (commit uv.lock).
lock:
	$(BIN)/uv lock

# The embedded development default: Keycloak in dev mode, signed in as its admin/admin.
run test unit integration browser bench: export CONNECTOR_DEV_MODE := 1

# Debian packages the tests use: redis-server (rate limits shared by replicas), promtool
# (from the prometheus package: checks and unit-tests deploy/prometheus/alerts.yaml) and curl
# (the guides' commands in docs/ are run by the integration tests).
tools:
	@if ! command -v redis-server >/dev/null || ! command -v promtool >/dev/null \
	    || ! command -v curl >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	    --no-install-recommends redis-server prometheus curl >/dev/null; fi

keycloak:
	@deploy/keycloak.sh start

keycloak-stop:
	@deploy/keycloak.sh stop

bootstrap: venv keycloak
	$(BIN)/connector bootstrap

run: bootstrap
	@echo
	@echo "Register an étude and get a token (dev mode: signed in as Keycloak's admin):"
	@echo "  export CONNECTOR_DEV_MODE=1"
	@echo "  $(BIN)/connector etude add 75001 --name 'Etude Exemple'"
	@echo "  $(BIN)/connector token create --etude 75001"
	@echo "Then: curl -H 'Authorization: Bearer <token>' http://127.0.0.1:8080/scim/v2/Users"
	@echo "« Mon étude », for a granted huissier of the étude: http://127.0.0.1:8080/etude/"
	@echo
	$(BIN)/connector serve

lint: venv
	$(BIN)/ruff check connector tests bench docs
	$(BIN)/mypy connector
	$(BIN)/uv lock --check --quiet
	$(BIN)/hadolint deploy/Dockerfile
	deploy/k8s-mappings.sh --check
	$(BIN)/kubernetes-validate --strict --quiet $$(ls deploy/kubernetes/*.yaml | grep -v kustomization)

unit: venv tools
	$(BIN)/python -m pytest -q tests/unit

# Starts Keycloak when none is up, and stops it afterwards only if this run started it.
define with_keycloak
	@if deploy/keycloak.sh status >/dev/null 2>&1; then started=0; else started=1; \
	  deploy/keycloak.sh start || exit 1; fi; \
	$(1); rc=$$?; \
	if [ $$started = 1 ]; then deploy/keycloak.sh stop; fi; exit $$rc
endef

integration: venv tools
	$(call with_keycloak,$(BIN)/python -m pytest -q tests/integration)

# « Mon étude » in a real browser: Debian's chromium (Playwright drives it; none is downloaded).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi; \
	$$sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q chromium

browser-deps: $(CHROMIUM)

browser: venv browser-deps
	$(call with_keycloak,$(BIN)/python -m pytest -q tests/browser)

test: lint unit integration browser

# PostgreSQL, two Keycloak nodes, two connector replicas and nginx (TLS), on this machine.
topology: venv
	@deploy/topology.sh start

topology-stop:
	@deploy/topology.sh stop

# Starts the topology when it is not up, and stops it afterwards only if this run started it.
test-topology: venv
	@if deploy/topology.sh status >/dev/null 2>&1; then started=0; else started=1; \
	  deploy/topology.sh start || { deploy/topology.sh stop; exit 1; }; fi; \
	$(BIN)/python -m pytest -q -s tests/topology; rc=$$?; \
	if [ $$started = 1 ]; then deploy/topology.sh stop; fi; exit $$rc

# The mappings ConfigMap of deploy/kubernetes, regenerated from mappings/.
k8s-mappings:
	deploy/k8s-mappings.sh > deploy/kubernetes/mappings-configmap.yaml

# Each bench fills its own throw-away realm; SIZES=10000,50000 by default (hours on 2 cores).
# bench_race starts a second Keycloak of its own (26.7.x with Keycloak's SCIM, ports 8381/9301).
SIZES ?= 10000,50000
SOAK_SECONDS ?= 600
bench: venv keycloak
	$(BIN)/python -m bench.bench_race --sizes $(SIZES)
	$(BIN)/python -m bench.bench_soak --seconds $(SOAK_SECONDS)
	$(BIN)/python -m bench.bench_expire --sizes $(SIZES)
	$(BIN)/python -m bench.bench_portal --sizes $(SIZES)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache dist build
