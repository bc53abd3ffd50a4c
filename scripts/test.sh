#!/usr/bin/env bash
# Run the whole test suite: install what is missing, start what is not running, run pytest,
# stop what this run started. Extra arguments go to pytest (e.g. scripts/test.sh -k rooms).
#
# Point the tests at other instances with TEST_DATABASE_URL and TEST_REDIS_URL
# (the S3 server, the directory, the Celery worker and the ASGI server are
# started by the tests themselves on free loopback ports).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
scripts/bootstrap.sh dev
# The integration tier: a directory, a browser, fonts (CJK and emoji), LibreOffice to open the reports, a real
# Alertmanager, and Redis Sentinel (the failover test starts a primary, a replica and three sentinels of its own).
apt_install slapd ldap-utils chromium fonts-noto-cjk fonts-noto-color-emoji libreoffice-writer-nogui poppler-utils \
  prometheus-alertmanager redis-server redis-sentinel

state=$(mktemp -d)
started_services=""
cleanup() {
  rm -rf "$state"
  [ -z "$started_services" ] || scripts/services.sh down
}
trap cleanup EXIT
if [ -z "${TEST_DATABASE_URL:-}" ] || [ -z "${TEST_REDIS_URL:-}" ]; then
  scripts/services.sh up
  started_services=1
fi

# The suite sets up each production part itself; nothing from the caller's
# environment may switch the unit tier away from the embedded default.
unset REDIS_URL REDIS_SENTINELS REDIS_SENTINEL_MASTER REDIS_PASSWORD REDIS_SENTINEL_PASSWORD REDIS_DB S3_BUCKET AI_PROVIDER AUTH_LDAP_SERVER_URI DIFY_BASE_URL OPENAI_BASE_URL CELERY_TASK_ALWAYS_EAGER
export DATABASE_URL=${TEST_DATABASE_URL:-postgres://warroom:warroom@127.0.0.1:5432/warroom}
export WARROOM_TEST_REDIS_URL=${TEST_REDIS_URL:-redis://127.0.0.1:6379/14}
export WARROOM_VAR_DIR=${WARROOM_VAR_DIR:-$PWD/var/test}
export WARROOM_EMBEDDED_WORKER=false
export PYTHONDONTWRITEBYTECODE=1

if [ $# -gt 0 ] || [ -n "${TEST_SERIAL:-}" ]; then
  # Some tests (scripts/test.sh tests/reports -k notes), or the whole suite in one process.
  set +e
  .venv/bin/python -m pytest "$@"
  status=$?
  set -e
  exit $status
fi

# The whole suite as two tiers side by side, one per core, each with its own test database,
# Redis database and var directory (docs/testing.md):
#   A: the unit tier (no marker);
#   B: everything marked integration, browser or reliability (real servers; much of it waits).
# Every test runs exactly once. Lines are prefixed [A] / [B] as they come; each tier's JUnit report
# (with every test's time) is left in test-artifacts/.
export PYTHONUNBUFFERED=1
redis_base=${WARROOM_TEST_REDIS_URL%/*}
(
  (
    export DATABASE_URL="${DATABASE_URL}_unit" WARROOM_TEST_REDIS_URL="$redis_base/${TEST_UNIT_REDIS_DB:-1}"
    export WARROOM_VAR_DIR="$WARROOM_VAR_DIR-unit"
    .venv/bin/python -m pytest -m "not (integration or browser or reliability)" --junitxml=test-artifacts/junit-a.xml
  ) 2>&1
  echo $? >"$state/a"
) | sed -u 's/^/[A] /' &
(
  .venv/bin/python -m pytest -m "integration or browser or reliability" --junitxml=test-artifacts/junit-b.xml 2>&1
  echo $? >"$state/b"
) | sed -u 's/^/[B] /' &
wait
status_a=$(cat "$state/a" 2>/dev/null || echo 1)
status_b=$(cat "$state/b" 2>/dev/null || echo 1)
echo "==> Tier A (unit): exit $status_a; tier B (integration, browser, reliability): exit $status_b"
[ "$status_a" -eq 0 ] && [ "$status_b" -eq 0 ]
