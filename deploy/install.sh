#!/usr/bin/env sh
# Install the connector into a new virtual environment: the locked dependencies by hash, then
# the wheel alone. Usage: deploy/install.sh VENV_DIR DIST_DIR (DIST_DIR from build-wheel.sh).
# The image (deploy/Dockerfile) and the wheel test run exactly this.
set -eu
venv="${1:?usage: $0 VENV_DIR DIST_DIR}"
dist="${2:?usage: $0 VENV_DIR DIST_DIR}"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps --require-hashes \
  --requirement "$dist/requirements.txt"
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps "$dist"/*.whl
"$venv/bin/connector" --version
