#!/usr/bin/env bash
# Run the benchmarks against a production-like stack (PostgreSQL, Redis, S3 server, uvicorn,
# a Celery worker, a fake AI server). Extra arguments go to `python -m bench`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh dev
scripts/services.sh up
trap 'scripts/services.sh down' EXIT
# The fan-out scenario holds 1,000 WebSockets (2,000 sockets with the server side).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true
.venv/bin/python -m bench "$@"
