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
# The integration tier: a directory, a browser, fonts, LibreOffice to open the reports, a real Alertmanager,
# and Redis Sentinel (the failover test starts a primary, a replica and three sentinels of its own).
apt_install slapd ldap-utils chromium fonts-noto-cjk libreoffice-writer-nogui poppler-utils prometheus-alertmanager redis-server redis-sentinel

if [ -z "${TEST_DATABASE_URL:-}" ] || [ -z "${TEST_REDIS_URL:-}" ]; then
  scripts/services.sh up
  trap 'scripts/services.sh down' EXIT
fi

# The suite sets up each production part itself; nothing from the caller's
# environment may switch the unit tier away from the embedded default.
unset REDIS_URL REDIS_SENTINELS REDIS_SENTINEL_MASTER REDIS_PASSWORD REDIS_SENTINEL_PASSWORD REDIS_DB S3_BUCKET AI_PROVIDER AUTH_LDAP_SERVER_URI DIFY_BASE_URL OPENAI_BASE_URL CELERY_TASK_ALWAYS_EAGER
export DATABASE_URL=${TEST_DATABASE_URL:-postgres://warroom:warroom@127.0.0.1:5432/warroom}
export WARROOM_TEST_REDIS_URL=${TEST_REDIS_URL:-redis://127.0.0.1:6379/14}
export WARROOM_VAR_DIR=${WARROOM_VAR_DIR:-$PWD/var/test}
export WARROOM_EMBEDDED_WORKER=false
export PYTHONDONTWRITEBYTECODE=1

set +e
.venv/bin/python -m pytest "$@"
status=$?
set -e
exit $status
