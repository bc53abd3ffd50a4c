#!/usr/bin/env bash
# Run the benchmarks against a production-like stack (PostgreSQL, Redis, S3 server, uvicorn,
# a Celery worker, a fake AI server). Extra arguments go to `python -m bench`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh dev
scripts/services.sh up
trap 'scripts/services.sh down' EXIT
.venv/bin/python -m bench "$@"
