#!/usr/bin/env sh
# Build the connector's wheel and its pinned, hashed requirements from uv.lock into OUT_DIR.
# Usage: deploy/build-wheel.sh OUT_DIR   (run from anywhere; needs uv on PATH or in $UV)
# The image (deploy/Dockerfile) and the wheel test run exactly this, then deploy/install.sh.
set -eu
out="${1:?usage: $0 OUT_DIR}"
root="$(cd "$(dirname "$0")/.." && pwd)"
uv="${UV:-uv}"
mkdir -p "$out"
cd "$root"
"$uv" build --quiet --wheel --out-dir "$out"
# --frozen: the lock as committed (make lint checks it matches pyproject.toml).
"$uv" export --quiet --frozen --no-dev --no-emit-project --output-file "$out/requirements.txt"
