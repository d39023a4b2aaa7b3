"""A subprocess worker (the seed's child.py): pop units from Redis, push results back."""

from __future__ import annotations

import argparse
import os
import socket
import time

import redis

from kernels import wire
from kernels.backends.base import die_with_parent
from kernels.backends.subprocesses import KEY_TTL, URL_ENV
from kernels.registry import get_workload


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--workload", required=True)
    parser.add_argument("--implementation", required=True)
    parser.add_argument("--worker", type=int, required=True)
    parser.add_argument("--started-at", type=float, required=True)
    args = parser.parse_args(argv)

    die_with_parent()  # an orphaned worker would go on popping units for a run nobody waits for
    client = redis.Redis.from_url(os.environ[URL_ENV])  # set by the parent: never on the command line
    workload = get_workload(args.workload)
    units_key, results_key = f"{args.prefix}:units", f"{args.prefix}:results"
    print(f"starting work on {socket.gethostname()} (pid {os.getpid()})", flush=True)

    def push(message: dict[str, object]) -> None:
        # The results list is made by the first push, so the parent cannot give it a TTL up front as it does
        # the units list: each push renews it (same round trip), so a crashed parent's results vanish too.
        with client.pipeline(transaction=False) as pipe:
            pipe.rpush(results_key, wire.dumps(message))
            pipe.expire(results_key, KEY_TTL)
            pipe.execute()

    count = 0
    while (item := client.lpop(units_key)) is not None:
        index, raw = wire.loads(item)  # type: ignore[arg-type]  # one key popped: bytes
        unit = workload.unit_from_wire(raw)
        start, cpu = time.time() - args.started_at, time.thread_time()
        push({"unit": index, "worker": args.worker, "started": start})
        try:
            result = workload.execute(args.implementation, unit)
        except Exception as exc:  # reported to the parent, which fails the run with this text
            push({"worker": args.worker, "error": f"{type(exc).__name__}: {exc}"})
            return 1
        end = time.time() - args.started_at
        cpu = time.thread_time() - cpu
        push({"unit": index, "worker": args.worker, "start": start, "end": end, "cpu": cpu, "result": result})
        count += 1
    print(f"done working: {count} units", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
