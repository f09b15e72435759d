#!/usr/bin/env bash
# Fetch, unpack, start and stop the local Keycloak used by `make run` and `make test`.
# Usage: deploy/keycloak.sh start|stop|status|fetch
# The distribution comes from Maven Central (org.keycloak:keycloak-quarkus-dist) via
# `mvn dependency:copy`, into a git-ignored cache; dev mode on 127.0.0.1:8081, management 9001.
set -euo pipefail

KEYCLOAK_VERSION="${KEYCLOAK_VERSION:-26.5.6}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${KEYCLOAK_CACHE:-$ROOT/.cache/keycloak}"
HOME_DIR="$CACHE/keycloak-$KEYCLOAK_VERSION"
PID_FILE="$CACHE/keycloak.pid"
LOG_FILE="$CACHE/keycloak.log"
HTTP_PORT="${KEYCLOAK_PORT:-8081}"
MGMT_PORT="${KEYCLOAK_MANAGEMENT_PORT:-9001}"
READY_URL="http://127.0.0.1:$MGMT_PORT/health/ready"
TIMEOUT="${KEYCLOAK_START_TIMEOUT:-240}"
# Extra preview features, e.g. KEYCLOAK_FEATURES=scim-api for the benchmark's second Keycloak.
FEATURES="${KEYCLOAK_FEATURES:-}"

ready() { curl -fsS -o /dev/null --max-time 2 "$READY_URL" 2>/dev/null; }

fetch() {
  [ -x "$HOME_DIR/bin/kc.sh" ] && return 0
  mkdir -p "$CACHE"
  local zip="$CACHE/keycloak-quarkus-dist-$KEYCLOAK_VERSION.zip"
  if [ ! -s "$zip" ]; then
    echo "keycloak: fetching org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION from Maven Central"
    mvn -q -B dependency:copy \
      -Dartifact="org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION:zip" \
      -DoutputDirectory="$CACHE" -Dmdep.overWriteIfNewer=true
  fi
  echo "keycloak: unpacking $KEYCLOAK_VERSION"
  rm -rf "$HOME_DIR.partial" && mkdir -p "$HOME_DIR.partial"
  unzip -q "$zip" -d "$HOME_DIR.partial"
  mv "$HOME_DIR.partial/keycloak-$KEYCLOAK_VERSION" "$HOME_DIR" && rmdir "$HOME_DIR.partial"
}

start() {
  if ready; then echo "keycloak: already up at http://127.0.0.1:$HTTP_PORT"; return 0; fi
  fetch
  echo "keycloak: starting $KEYCLOAK_VERSION (dev mode) on 127.0.0.1:$HTTP_PORT, log $LOG_FILE"
  local began=$SECONDS
  # setsid: the server outlives this script and can be stopped as one process group.
  KC_BOOTSTRAP_ADMIN_USERNAME="${KC_BOOTSTRAP_ADMIN_USERNAME:-admin}" \
  KC_BOOTSTRAP_ADMIN_PASSWORD="${KC_BOOTSTRAP_ADMIN_PASSWORD:-admin}" \
    setsid "$HOME_DIR/bin/kc.sh" start-dev --http-host=127.0.0.1 --http-port="$HTTP_PORT" \
      --http-management-port="$MGMT_PORT" --health-enabled=true \
      ${FEATURES:+--features="$FEATURES"} \
      >"$LOG_FILE" 2>&1 < /dev/null &
  echo $! > "$PID_FILE"
  until ready; do
    if ! kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
      echo "keycloak: the server exited; last lines of $LOG_FILE:" >&2; tail -n 30 "$LOG_FILE" >&2
      exit 1
    fi
    if (( SECONDS - began > TIMEOUT )); then
      echo "keycloak: not ready after ${TIMEOUT}s; see $LOG_FILE" >&2; exit 1
    fi
    sleep 1
  done
  echo "keycloak: ready in $((SECONDS - began))s"
}

stop() {
  if [ ! -f "$PID_FILE" ]; then echo "keycloak: not started by this project"; return 0; fi
  local pid; pid="$(cat "$PID_FILE")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid"
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL -- "-$pid" 2>/dev/null || true
    echo "keycloak: stopped (pid $pid)"
  else
    echo "keycloak: pid $pid was not running"
  fi
  rm -f "$PID_FILE"
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status) if ready; then echo up; else echo down; exit 1; fi ;;
  fetch) fetch; echo "$HOME_DIR" ;;
  *) echo "usage: $0 start|stop|status|fetch" >&2; exit 2 ;;
esac
