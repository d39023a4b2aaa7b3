#!/usr/bin/env bash
# Paralab against a real Slurm: installs Debian's slurm-wlm, munge and slurmdbd if missing, starts a
# one-node cluster with accounting (tests/slurm_cluster.py) in a temporary directory, runs tests/slurm
# (the two-node cluster across network namespaces is started by its own fixture) and the
# submit→running benchmark, then stops every daemon it started, drops the accounting database and
# removes the directory, on failure and Ctrl-C too.
# Packages it installed stay installed (apt does not start their services here: policy-rc.d).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"

need=()
command -v slurmctld >/dev/null || need+=(slurm-wlm)
command -v munged >/dev/null || need+=(munge)
# Accounting (sacct's elapsed, CPU time, MaxRSS): slurmdbd on a MariaDB database of the cluster's own,
# made and dropped with the mysql client. The server is the machine's (127.0.0.1:3306) or, where none
# answers, a private one the cluster starts: CI installs it if missing, since there accounting must run.
command -v slurmdbd >/dev/null || need+=(slurmdbd)
command -v mysql >/dev/null || need+=(mariadb-client)
if [ "${CI:-}" = true ] && ! command -v mariadbd >/dev/null; then need+=(mariadb-server); fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "cannot install ${need[*]} (needs root and apt-get); the Slurm tests will say why they skip" >&2
  fi
fi

services=$(mktemp -d "${TMPDIR:-/tmp}/paralab-test-services.XXXXXX")
cluster=""
cleanup() {
  if [ -n "$cluster" ]; then python -m tests.slurm_cluster down "$cluster"; fi
  python -m tests.services down "$services"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
python -m tests.services up "$services"
source "$services/env"

export PARALAB_SLURM_TESTS=1
if python -c 'import sys; from tests.slurm_cluster import missing; sys.exit(0 if missing() is None else 1)'; then
  cluster=$(mktemp -d "${TMPDIR:-/tmp}/paralab-slurm.XXXXXX")
  python -m tests.slurm_cluster up "$cluster"
  source "$cluster/env"
fi

DATABASE_URL="" PARALAB_TEST_DATABASE=sqlite pytest tests/slurm "$@"

if [ -n "$cluster" ]; then
  echo "== Slurm submit→running latency (one-node cluster)"
  python -m kernels.bench --slurm-only
fi
