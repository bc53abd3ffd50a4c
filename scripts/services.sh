#!/usr/bin/env bash
# scripts/services.sh up|down: make PostgreSQL and Redis listen on 127.0.0.1 for the tests.
# Uses what already listens; starts (and on `down` stops) only what it started itself.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
SVC=var/services
mkdir -p "$SVC"

psql_admin() {
  if [ "$(id -u)" -eq 0 ] && id postgres >/dev/null 2>&1 && [ -S /var/run/postgresql/.s.PGSQL.5432 ]; then
    runuser -u postgres -- psql -v ON_ERROR_STOP=1 -qAt "$@"
  else
    psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -qAt "$@"
  fi
}

postgres_up() {
  if ! port_open 127.0.0.1 5432; then
    apt_install postgresql
    version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$version" ]; then
      version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
      pg_createcluster "$version" main >/dev/null
    fi
    echo "==> Starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start -- -o "-c listen_addresses=127.0.0.1" 2>/dev/null \
      || pg_ctlcluster "$version" main start
    echo "$version" > "$SVC/postgres.started"
    for _ in $(seq 1 50); do port_open 127.0.0.1 5432 && break; sleep 0.2; done
  fi
  # The test role may create databases: pytest-django makes test_warroom.
  if [ -z "$(psql_admin -d postgres -c "SELECT 1 FROM pg_roles WHERE rolname = 'warroom'")" ]; then
    psql_admin -d postgres -c "CREATE ROLE warroom LOGIN PASSWORD 'warroom' CREATEDB"
  fi
  if [ -z "$(psql_admin -d postgres -c "SELECT 1 FROM pg_database WHERE datname = 'warroom'")" ]; then
    psql_admin -d postgres -c "CREATE DATABASE warroom OWNER warroom"
  fi
}

redis_up() {
  port_open 127.0.0.1 6379 && return 0
  apt_install redis-server
  echo "==> Starting Redis"
  redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save '' --appendonly no \
    --dir "$PWD/$SVC" --pidfile "$PWD/$SVC/redis.pid" --logfile "$PWD/$SVC/redis.log"
  touch "$SVC/redis.started"
  for _ in $(seq 1 50); do port_open 127.0.0.1 6379 && break; sleep 0.1; done
}

down() {
  if [ -f "$SVC/redis.started" ]; then
    kill "$(cat "$SVC/redis.pid")" 2>/dev/null || true
    rm -f "$SVC/redis.started"
  fi
  if [ -f "$SVC/postgres.started" ]; then
    pg_ctlcluster "$(cat "$SVC/postgres.started")" main stop || true
    rm -f "$SVC/postgres.started"
  fi
}

case "${1:-up}" in
  up) postgres_up; redis_up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
