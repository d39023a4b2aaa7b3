#!/usr/bin/env bash
# The whole suite: on SQLite, then the database-facing tests again on PostgreSQL.
# It uses the Redis and PostgreSQL that answer at the usual addresses; where none does, it starts
# its own for this run only (tests/services.py) and stops them on exit, on failure and Ctrl-C too.
# pytest exits 5 when it collected nothing; any non-zero exit fails the run. Each pass ends with its
# 15 slowest tests: where the suite's time goes.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"

ruff check kernels client webapp tasks tests bench
mypy

services=$(mktemp -d "${TMPDIR:-/tmp}/paralab-test-services.XXXXXX")
trap 'python -m tests.services down "$services"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
python -m tests.services up "$services"
source "$services/env"

# PARALAB_TEST_DATABASE: tests/conftest.py stops a pass that is not on the database named here.
echo "== suite on SQLite"
DATABASE_URL="" PARALAB_TEST_DATABASE=sqlite pytest --durations=15 "$@"

if [ -n "$PARALAB_TEST_POSTGRES_URL" ]; then
  echo "== web and task tests on PostgreSQL"
  DATABASE_URL="$PARALAB_TEST_POSTGRES_URL" PARALAB_TEST_DATABASE=postgresql pytest --durations=15 tests/webapp tests/tasks -m "not browser" "$@"
else
  echo "skipped the PostgreSQL pass: no PostgreSQL answers and none could be started" >&2
  if [ "${CI:-}" = "true" ]; then exit 1; fi
fi
