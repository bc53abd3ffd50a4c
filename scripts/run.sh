#!/usr/bin/env bash
# Serve Warroom: install, migrate, seed the demo and run the ASGI server (HTTP + WebSocket).
# Environment variables given to it are honoured (DATABASE_URL, REDIS_URL, S3_BUCKET, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh base
export PYTHONUNBUFFERED=1
.venv/bin/python manage.py migrate --noinput -v0
.venv/bin/python manage.py seed_demo
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
echo "==> Warroom on http://$HOST:$PORT/  (log in at /accounts/login/, admin at /admin/)"
exec .venv/bin/uvicorn config.asgi:application --host "$HOST" --port "$PORT" --lifespan on --no-server-header --no-proxy-headers --timeout-graceful-shutdown 3
