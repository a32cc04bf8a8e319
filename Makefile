# Developer and CI entry points; the logic lives in scripts/ (see docs/setup.md).
SHELL := /bin/bash

.PHONY: bootstrap run test test-sqlite test-pg bench lint clean

# System packages (as root, only when missing) and .venv with .[test].
bootstrap:
	bash scripts/bootstrap.sh

# The HTTP service with demo data and simulated patients on 127.0.0.1:8000.
run:
	bash scripts/run.sh

# The suite on SQLite, then on a throw-away PostgreSQL server.
test:
	bash scripts/test.sh all

test-sqlite:
	bash scripts/test.sh sqlite

test-pg:
	bash scripts/test.sh pg

bench: bootstrap
	.venv/bin/python -m benchmarks all --json

# ruff when it is installed (in .venv or on PATH); otherwise skipped.
lint:
	@if [ -x .venv/bin/ruff ]; then .venv/bin/ruff check .; \
	elif command -v ruff >/dev/null 2>&1; then ruff check .; \
	else echo "lint: ruff is not installed; skipped (pip install ruff)"; fi

clean:
	-bash scripts/pg.sh destroy
	rm -rf .venv var
