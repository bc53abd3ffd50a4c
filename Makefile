# Warroom: `make run` serves the product on its embedded default; `make test` runs the whole suite.
# Each target installs what it needs first and is safe to run again.

.PHONY: run test bench lock migrations-check check-deploy clean-services

run:
	@scripts/run.sh

test:
	@scripts/test.sh

bench:
	@scripts/bench.sh

# Rebuild requirements/constraints.txt from a fresh virtualenv of dev.txt.
lock:
	@scripts/lock.sh

migrations-check:
	@scripts/bootstrap.sh dev && .venv/bin/python manage.py makemigrations --check --dry-run
