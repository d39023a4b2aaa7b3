"""`make bench-study`: the seed preset study run for real, optionally beside a competing CPU load.

Starts its own Celery worker on a throw-away SQLite database and the Redis at REDIS_URL, makes the
"seed-fib" preset study, waits for every job (including the repetitions the worker's sweeper queues
again because a run was disturbed), and prints the study's table with its 95% intervals, the
runs flagged disturbed and why, and the imbalance. ``--load N`` runs N busy loops (pure Python
`while True`, each in its own session, as another tenant's programs would be) for the whole study.

    python -m bench.study             # a quiet machine
    python -m bench.study --load 2    # two competing busy loops
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time

from bench.stack import BUILD, Stack


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--load", type=int, default=0, help="competing busy loops during the study")
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait for the study")
    args = parser.parse_args()

    stack = Stack("bench-study")
    stack.use_here()
    burners: list[subprocess.Popen[bytes]] = []
    try:
        stack.migrate()
        stack.start_worker(loglevel="INFO")
        burners += [
            subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True)
            for _ in range(args.load)
        ]
        return run_study(args)
    finally:
        for proc in burners:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        stack.stop()


def run_study(args: argparse.Namespace) -> int:
    from django.contrib.auth import get_user_model

    from client.remote import scaling_table
    from webapp.jobs.models import FINAL_STATES
    from webapp.studies.serializers import study_document
    from webapp.studies.services import study_create_from_preset
    from webapp.teams.services import team_create

    user = get_user_model().objects.create_user("bench", password="bench-only-pw-1")
    team = team_create(name="Bench", owner=user)
    started = time.monotonic()
    study = study_create_from_preset(user=user, team=team, preset="seed-fib", repetitions=args.repetitions)
    print(f"study #{study.pk}: {study.runs.count()} jobs, workers {study.workers}, load {args.load}", flush=True)
    while time.monotonic() - started < args.timeout:
        runs = list(study.runs.select_related("job"))
        if all(run.job.status in FINAL_STATES for run in runs):
            time.sleep(6)  # one more sweep: a last disturbed run may still be queued again
            if study.runs.count() == len(runs):
                break
        time.sleep(2)
    elapsed = time.monotonic() - started
    document = study_document(study, request=None)
    print(scaling_table(document))
    runs = list(study.runs.select_related("job").order_by("id"))
    disturbed = [r for r in runs if (r.job.measurement or {}).get("disturbed")]
    print(f"\n{len(runs)} jobs in {elapsed:.0f} s; {len(disturbed)} flagged disturbed; "
          f"{sum(r.replaces_id is not None for r in runs)} queued again")  # fmt: skip
    for run in disturbed:
        job = run.job
        print(f"  job #{job.pk} {job.backend} × {job.implementation} × {job.workers} rep {run.repetition}: "
              f"{job.wall_time:.2f} s — {job.measurement['disturbed']}")  # fmt: skip
    (BUILD / f"bench-study-load{args.load}.json").write_text(json.dumps(document, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
