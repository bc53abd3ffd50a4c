# Warroom: `make run` serves the product on its embedded default; `make test` runs the whole suite.
# Each target installs what it needs first and is safe to run again.

.PHONY: run test bench lock migrations-check check-deploy clean-services

run:
	@scripts/run.sh

test:
	@scripts/test.sh

# Every scenario, or some: make bench SCENARIOS="api docx"
bench:
	@scripts/bench.sh $(SCENARIOS)

# Rebuild requirements/constraints.txt from a fresh virtualenv of dev.txt.
lock:
	@scripts/lock.sh

migrations-check:
	@scripts/bootstrap.sh dev && .venv/bin/python manage.py makemigrations --check --dry-run

# Django's deployment checklist with production-like settings (HTTPS on, a real key
# from the environment): fails on any warning, including a known default secret key.
check-deploy:
	@scripts/bootstrap.sh dev && DJANGO_HTTPS=$${DJANGO_HTTPS:-true} .venv/bin/python manage.py check --deploy --fail-level WARNING

# Stop the PostgreSQL and Redis that `make test` started (by their pid files).
clean-services:
	@scripts/services.sh down
