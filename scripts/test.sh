#!/usr/bin/env bash
# The whole suite: on SQLite, then the database-facing tests again on PostgreSQL.
# pytest exits 5 when it collected nothing; any non-zero exit fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"

ruff check kernels webapp tasks tests
mypy

echo "== suite on SQLite"
DATABASE_URL="" pytest "$@"

if pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null || python -c "import socket; socket.create_connection(('127.0.0.1', 5432), 2)" 2>/dev/null; then
  echo "== web and task tests on PostgreSQL"
  DATABASE_URL="postgres://postgres@127.0.0.1:5432/paralab" pytest tests/webapp tests/tasks -m "not browser" "$@"
else
  echo "PostgreSQL is not answering on 127.0.0.1:5432; skipped the PostgreSQL pass" >&2
  [ "${CI:-}" = "true" ] && exit 1
fi
