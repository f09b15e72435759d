#!/usr/bin/env bash
# The production topology on one machine (make topology / make topology-stop):
#   PostgreSQL (own cluster, 127.0.0.1:15432)
#   two Keycloak nodes in production mode on it, clustered through the database (jdbc-ping):
#     http 127.0.0.1:8181 and :8182, management (health, metrics) :9101 and :9102
#   two connector replicas on gunicorn: 127.0.0.1:8281 and :8282
#   nginx terminating TLS (certificate generated here):
#     https://127.0.0.1:8443  SCIM (/scim/v2, /livez, /readyz) over both replicas
#     https://127.0.0.1:8444  Keycloak over both nodes (what the connectors and admins use)
# Usage: deploy/topology.sh start|stop|status|env
# `start` brings up whatever part is down (so it also restarts a killed node or replica).
# Everything lives in the git-ignored .cache/topology/; secrets are generated there (0600).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KEYCLOAK_VERSION="${KEYCLOAK_VERSION:-26.5.6}"
DIR="${TOPOLOGY_DIR:-$ROOT/.cache/topology}"
PG_PORT=15432  # below the ephemeral range (32768-60999): no outgoing socket can hold it
KC_PORTS=(8181 8182)
KC_MGMT=(9101 9102)
KC_CLUSTER=(7801 7802)
CN_PORTS=(8281 8282)
SCIM_PORT=8443
KC_PUBLIC_PORT=8444
REALM="${CONNECTOR_REALM:-etudes}"
START_TIMEOUT="${TOPOLOGY_START_TIMEOUT:-300}"
BIN="$ROOT/.venv/bin"

log() { echo "topology: $*"; }
fail() { echo "topology: $*" >&2; exit 1; }
stage() { # stage NAME COMMAND...: run it and print how long it took
  local name="$1" began=$SECONDS; shift
  "$@"
  log "$name took $((SECONDS - began))s"
}
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
http_ok() { curl -fsS -o /dev/null --max-time 3 "$@" 2>/dev/null; }
as_root() { [ "$(id -u)" = 0 ]; }
secret() { # secret NAME: read, or generate once, a secret kept in $DIR/secrets (0600)
  local f="$DIR/secrets/$1"
  if [ ! -s "$f" ]; then
    mkdir -p "$DIR/secrets" && chmod 700 "$DIR/secrets"
    (umask 077; openssl rand -hex 24 > "$f")
  fi
  cat "$f"
}
wait_until() { # wait_until WHAT PIDFILE LOG CHECK...
  local what="$1" pidfile="$2" logfile="$3" began=$SECONDS; shift 3
  until "$@"; do
    if [ -n "$pidfile" ] && ! alive "$pidfile"; then
      echo "topology: $what exited; last lines of $logfile:" >&2; tail -n 30 "$logfile" >&2
      exit 1
    fi
    (( SECONDS - began > START_TIMEOUT )) && fail "$what not ready after ${START_TIMEOUT}s; see $logfile"
    sleep 1
  done
}

# -- installs ------------------------------------------------------------------------------
install_packages() {
  local missing=()
  [ -x /usr/lib/postgresql/15/bin/postgres ] || ls /usr/lib/postgresql/*/bin/postgres \
    >/dev/null 2>&1 || missing+=(postgresql)
  command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
  [ ${#missing[@]} = 0 ] && return 0
  as_root || fail "missing Debian packages: ${missing[*]} (apt-get install them as root)"
  log "installing ${missing[*]} (apt-get)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

pg_bin() { ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1; }

# -- PostgreSQL ----------------------------------------------------------------------------
pg_run() { # run a PostgreSQL program as its own user (PostgreSQL refuses root)
  if as_root; then runuser -u postgres -- "$@"; else "$@"; fi
}
pg_up() { "$(pg_bin)/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; }
# The cluster's directory as PostgreSQL's user reaches it (through no link under /root).
pg_dir() { readlink -f "$DIR/pg"; }
psql_admin() { pg_run "$(pg_bin)/psql" -X -q -v ON_ERROR_STOP=1 -h "$(pg_dir)/run" -p "$PG_PORT" \
  -U postgres "$@"; }

# PostgreSQL's user must reach its files: when the checkout is where it cannot (under /root),
# they live in its home instead, linked from .cache/topology/pg.
pg_place() {
  as_root || return 0
  runuser -u postgres -- test -x "$DIR" && return 0
  local home; home="$(getent passwd postgres | cut -d: -f6)"
  local alt; alt="$home/etude-topology-$(echo "$DIR" | sha1sum | cut -c1-12)"
  mkdir -p "$alt" && chown postgres:postgres "$alt"
  [ -L "$DIR/pg" ] || { rm -rf "$DIR/pg"; ln -s "$alt" "$DIR/pg"; }
}

start_postgres() {
  pg_up && return 0
  pg_place
  mkdir -p "$DIR/pg/run"
  local pg; pg="$(pg_dir)"
  as_root && chown postgres:postgres "$pg" "$pg/run"
  if [ ! -s "$pg/data/PG_VERSION" ]; then
    log "creating the PostgreSQL cluster in $pg/data"
    pg_run "$(pg_bin)/initdb" -D "$pg/data" -U postgres --auth-local=trust \
      --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  fi
  log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
  pg_run "$(pg_bin)/pg_ctl" -D "$pg/data" -l "$pg/postgres.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories=$pg/run -c max_connections=200" \
    >/dev/null
  local pw; pw="$(secret db-password)"
  if ! psql_admin -tAc "select 1 from pg_roles where rolname='keycloak'" | grep -q 1; then
    psql_admin -c "create role keycloak login password '$pw'"
    psql_admin -c "create database keycloak owner keycloak"
  fi
}

# Keycloak's q=key:value search runs `name = ? and lower(value) = ?`; its own index covers
# (name, value), so every row with that attribute name is read. Keycloak does not manage this
# one: the deployment creates and checks it (after Keycloak has created its schema).
ensure_attribute_index() {
  local sql="create index if not exists user_attr_name_lower_value
             on user_attribute (name, lower(value))"
  psql_admin -d keycloak -c "$sql"
  psql_admin -d keycloak -tAc "select indexdef from pg_indexes
    where tablename='user_attribute' and indexname='user_attr_name_lower_value'" \
    | grep -q 'lower((value)' || fail "the index user_attr_name_lower_value is missing"
  log "index user_attribute (name, lower(value)) present"
}

# -- Keycloak ------------------------------------------------------------------------------
kc_home() { echo "$DIR/keycloak-$KEYCLOAK_VERSION-node$1"; }

build_keycloak() {
  local n1; n1="$(kc_home 1)"
  if [ ! -f "$n1/.built-postgres" ]; then
    local dist; dist="$("$ROOT/deploy/keycloak.sh" fetch | tail -n 1)"
    rm -rf "$n1" && cp -a "$dist" "$n1"
    log "building Keycloak $KEYCLOAK_VERSION for PostgreSQL (kc.sh build, once)"
    "$n1/bin/kc.sh" build --db=postgres --health-enabled=true --metrics-enabled=true \
      >"$DIR/keycloak-build.log" 2>&1 || { tail -n 30 "$DIR/keycloak-build.log" >&2; exit 1; }
    touch "$n1/.built-postgres"
  fi
  local n2; n2="$(kc_home 2)"
  [ -f "$n2/.built-postgres" ] || { rm -rf "$n2"; cp -a "$n1" "$n2"; }
}

kc_ready() { http_ok "http://127.0.0.1:${KC_MGMT[$1-1]}/health/ready"; }

start_keycloak() { # start_keycloak N: node N in production mode
  local n="$1" pidfile="$DIR/keycloak-node$1.pid" logfile="$DIR/keycloak-node$1.log"
  kc_ready "$n" && return 0
  alive "$pidfile" || {
    log "starting Keycloak node $n on 127.0.0.1:${KC_PORTS[$n-1]} (management ${KC_MGMT[$n-1]})"
    KC_BOOTSTRAP_ADMIN_USERNAME=admin KC_BOOTSTRAP_ADMIN_PASSWORD="$(secret admin-password)" \
    KC_DB_PASSWORD="$(secret db-password)" \
      setsid "$(kc_home "$n")/bin/kc.sh" start --optimized \
        --db-url="jdbc:postgresql://127.0.0.1:$PG_PORT/keycloak" --db-username=keycloak \
        --hostname="https://127.0.0.1:$KC_PUBLIC_PORT" --hostname-backchannel-dynamic=true \
        --http-enabled=true --http-host=127.0.0.1 --http-port="${KC_PORTS[$n-1]}" \
        --proxy-headers=xforwarded --http-management-port="${KC_MGMT[$n-1]}" \
        --cache-embedded-network-bind-address=127.0.0.1 \
        --cache-embedded-network-bind-port="${KC_CLUSTER[$n-1]}" \
        >>"$logfile" 2>&1 </dev/null &
    # kc.sh runs java as its child: the node is that process (kill -9 in the tests hits it).
    local sh=$! java=""
    for _ in $(seq 1 50); do java="$(pgrep -P "$sh" java || true)"; [ -n "$java" ] && break
      sleep 0.2; done
    echo "${java:-$sh}" > "$pidfile"
  }
}

wait_keycloak() { wait_until "Keycloak node $1" "$DIR/keycloak-node$1.pid" \
  "$DIR/keycloak-node$1.log" kc_ready "$1"; }

# -- TLS and nginx -------------------------------------------------------------------------
make_certificate() {
  [ -s "$DIR/tls/cert.pem" ] && return 0
  mkdir -p "$DIR/tls"
  log "generating a self-signed certificate for 127.0.0.1 and localhost"
  (umask 077; openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=127.0.0.1" \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" -addext "basicConstraints=CA:FALSE" \
    -keyout "$DIR/tls/key.pem" -out "$DIR/tls/cert.pem" 2>/dev/null)
  chmod 644 "$DIR/tls/cert.pem"
}

nginx_conf() {
  local user_line=""
  as_root && id www-data >/dev/null 2>&1 && user_line="user www-data;"
  sed -e "s|@DIR@|$DIR|g" -e "s|@USER@|$user_line|" -e "s|@SCIM_PORT@|$SCIM_PORT|g" \
      -e "s|@KC_PUBLIC_PORT@|$KC_PUBLIC_PORT|g" \
      -e "s|@CN1@|${CN_PORTS[0]}|; s|@CN2@|${CN_PORTS[1]}|" \
      -e "s|@KC1@|${KC_PORTS[0]}|; s|@KC2@|${KC_PORTS[1]}|" \
      "$ROOT/deploy/nginx.conf.in" > "$DIR/nginx.conf"
}

start_nginx() {
  alive "$DIR/nginx.pid" && return 0
  mkdir -p "$DIR/nginx-tmp"
  nginx_conf
  log "starting nginx: SCIM https://127.0.0.1:$SCIM_PORT, Keycloak https://127.0.0.1:$KC_PUBLIC_PORT"
  nginx -q -c "$DIR/nginx.conf" -p "$DIR/" -t
  nginx -c "$DIR/nginx.conf" -p "$DIR/"
}

# -- the connector -------------------------------------------------------------------------
write_env() {
  local client_secret; client_secret="$(secret client-secret)"
  touch "$DIR/connector.env" "$DIR/admin.env"
  chmod 600 "$DIR/connector.env" "$DIR/admin.env"
  cat > "$DIR/connector.env" <<EOF
CONNECTOR_KEYCLOAK_URL=https://127.0.0.1:$KC_PUBLIC_PORT
CONNECTOR_REALM=$REALM
CONNECTOR_CLIENT_SECRET=$client_secret
CONNECTOR_BASE_URL=https://127.0.0.1:$SCIM_PORT/scim/v2
CONNECTOR_DEV_MODE=0
CONNECTOR_ETUDE_MAX_CONCURRENT=1000
CONNECTOR_ETUDE_SCOPE=attribute
CONNECTOR_RATELIMIT_BURST=100000
CONNECTOR_RATELIMIT_PER_SECOND=100000
CONNECTOR_METRICS_PORT=0
REQUESTS_CA_BUNDLE=$DIR/tls/cert.pem
EOF
  cat > "$DIR/admin.env" <<EOF
CONNECTOR_ADMIN_USER=admin
CONNECTOR_ADMIN_PASSWORD=$(secret admin-password)
EOF
}

# What bootstrap writes comes from the connector's code and mappings/: bootstrap again (it
# applies only what differs) whenever they changed since the realm was last bootstrapped.
bootstrap_realm() {
  local print
  print=$(find "$ROOT/connector" "$ROOT/mappings" -type f \( -name '*.py' -o -name '*.yaml' \) \
    | sort | xargs cat | sha256sum | cut -c1-16)
  [ -f "$DIR/.bootstrapped-$REALM-$print" ] && return 0
  log "bootstrapping realm $REALM through nginx"
  (set -a; . "$DIR/connector.env"; . "$DIR/admin.env"; set +a; "$BIN/connector" bootstrap) \
    > "$DIR/bootstrap.log" 2>&1 || { cat "$DIR/bootstrap.log" >&2; exit 1; }
  rm -f "$DIR/.bootstrapped-$REALM"*
  touch "$DIR/.bootstrapped-$REALM-$print"
}

cn_ready() { http_ok "http://127.0.0.1:${CN_PORTS[$1-1]}/readyz"; }

start_connector() { # start_connector N: replica N on gunicorn
  local n="$1" pidfile="$DIR/connector-$1.pid"
  cn_ready "$n" && return 0
  alive "$pidfile" || {
    log "starting connector replica $n on 127.0.0.1:${CN_PORTS[$n-1]}"
    (set -a; . "$DIR/connector.env"; set +a
     CONNECTOR_PORT="${CN_PORTS[$n-1]}" CONNECTOR_WORKERS=2 CONNECTOR_THREADS=8 \
       setsid "$BIN/connector" serve >>"$DIR/connector-$n.log" 2>&1 </dev/null &
     echo $! > "$pidfile")
  }
}

wait_connector() { wait_until "connector replica $1" "$DIR/connector-$1.pid" \
  "$DIR/connector-$1.log" cn_ready "$1"; }

# -- commands ------------------------------------------------------------------------------
start() {
  local began=$SECONDS
  mkdir -p "$DIR"
  [ -x "$BIN/connector" ] || fail "no $BIN/connector: run make venv first"
  stage "installs (Debian packages)" install_packages
  stage "Keycloak distribution and build" build_keycloak
  make_certificate
  write_env
  stage "PostgreSQL" start_postgres
  stage "Keycloak node 1" eval 'start_keycloak 1; wait_keycloak 1'
  stage "expression index" ensure_attribute_index
  stage "Keycloak node 2" eval 'start_keycloak 2; start_nginx; wait_keycloak 2'
  stage "realm bootstrap" bootstrap_realm
  stage "connector replicas" eval 'start_connector 1; start_connector 2; wait_connector 1;
    wait_connector 2'
  wait_until "nginx" "$DIR/nginx.pid" "$DIR/nginx-error.log" \
    http_ok --cacert "$DIR/tls/cert.pem" "https://127.0.0.1:$SCIM_PORT/readyz"
  log "up in $((SECONDS - began))s"
  describe
}

describe() {
  cat <<EOF

  PostgreSQL     127.0.0.1:$PG_PORT (database keycloak; data $DIR/pg/data)
  Keycloak 1     http://127.0.0.1:${KC_PORTS[0]}  health/metrics http://127.0.0.1:${KC_MGMT[0]}/health /metrics
  Keycloak 2     http://127.0.0.1:${KC_PORTS[1]}  health/metrics http://127.0.0.1:${KC_MGMT[1]}/health /metrics
  connector 1    http://127.0.0.1:${CN_PORTS[0]}  (/livez, /readyz; log $DIR/connector-1.log)
  connector 2    http://127.0.0.1:${CN_PORTS[1]}
  nginx (TLS)    https://127.0.0.1:$SCIM_PORT/scim/v2   SCIM over both replicas
                 https://127.0.0.1:$KC_PUBLIC_PORT/admin/  Keycloak over both nodes (admin / $DIR/secrets/admin-password)
  certificate    $DIR/tls/cert.pem

Get a token (the CLI runs on the service account, as in production):
  set -a; . $DIR/connector.env; set +a
  $BIN/connector etude add 75001 --name 'Etude Exemple'
  TOKEN=\$($BIN/connector token create --etude 75001 | tail -n 1)
  curl --cacert $DIR/tls/cert.pem -H "Authorization: Bearer \$TOKEN" https://127.0.0.1:$SCIM_PORT/scim/v2/Users
EOF
}

stop_pid() { # stop_pid NAME PIDFILE: SIGTERM its process group, wait, then SIGKILL
  local pid; [ -f "$2" ] || return 0
  pid="$(cat "$2")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && { kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid"; }
    log "stopped $1 (pid $pid)"
  fi
  rm -f "$2"
}

stop() {
  stop_pid "connector replica 1" "$DIR/connector-1.pid"
  stop_pid "connector replica 2" "$DIR/connector-2.pid"
  if alive "$DIR/nginx.pid"; then nginx -c "$DIR/nginx.conf" -p "$DIR/" -s quit 2>/dev/null; log "stopped nginx"; fi
  stop_pid "Keycloak node 1" "$DIR/keycloak-node1.pid"
  stop_pid "Keycloak node 2" "$DIR/keycloak-node2.pid"
  if [ -s "$DIR/pg/data/PG_VERSION" ] && pg_up; then
    pg_run "$(pg_bin)/pg_ctl" -D "$(pg_dir)/data" -m fast -w stop >/dev/null
    log "stopped PostgreSQL"
  fi
}

status() {
  local down=0
  pg_up || { echo "PostgreSQL down"; down=1; }
  for n in 1 2; do
    kc_ready "$n" || { echo "Keycloak node $n down"; down=1; }
    cn_ready "$n" || { echo "connector replica $n down"; down=1; }
  done
  http_ok --cacert "$DIR/tls/cert.pem" "https://127.0.0.1:$SCIM_PORT/readyz" \
    || { echo "nginx down"; down=1; }
  [ $down = 0 ] && echo up
  return $down
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) echo "$DIR/connector.env" ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
