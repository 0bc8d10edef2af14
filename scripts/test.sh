#!/usr/bin/env bash
# Install everything the tests need (Python packages, Debian's Chromium) and run the whole suite:
# on SQLite, and again on PostgreSQL + Redis when PARLEY_TEST_DATABASE_URL / PARLEY_TEST_REDIS_URL are set.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q chromium
fi

scripts/web-libraries.sh  # e2ee: the web client's crypto library, from npm

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'

echo "== lint: ruff, import contracts, types"
.venv/bin/ruff check src tests bench
.venv/bin/lint-imports
.venv/bin/mypy

echo "== migrations match the models (alembic check)"
check_db=$(mktemp -d)
PARLEY_DATA_DIR="$check_db" .venv/bin/parley db upgrade >/dev/null
PARLEY_DATA_DIR="$check_db" .venv/bin/python -c "
from alembic import command
from parley.config import Settings
from parley.migrations import alembic_config
command.check(alembic_config(Settings().resolved_database_url))
"
rm -rf "$check_db"

echo "== the whole suite on SQLite (the embedded default)"
PARLEY_TEST_DATABASE_URL= PARLEY_TEST_REDIS_URL= .venv/bin/pytest -q -p no:cacheprovider -m "not services" "$@"

if [ -n "${PARLEY_TEST_DATABASE_URL:-}${PARLEY_TEST_REDIS_URL:-}${CI:-}" ]; then
  # Everything that touches the database or the bus, again on PostgreSQL + Redis, plus the test with two
  # server processes sharing them and `parley worker` beside `parley serve --no-worker`. (Browser and crash tests
  # drive the embedded default above.)
  echo "== database, bus and scale-out tests on PostgreSQL + Redis"
  .venv/bin/pytest -q -p no:cacheprovider tests/contract tests/integration tests/e2e/test_scale_out.py \
    tests/e2e/test_token_revocation.py tests/e2e/test_webhook_worker.py "$@"
fi
