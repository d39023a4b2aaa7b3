"""The seed's parent/child pattern: ``python -m`` workers fed through a real Redis list."""

from __future__ import annotations

import psutil
import pytest
import redis

from kernels.engine import RunRequest, run
from kernels.errors import EngineError, WorkerFailed


def test_workers_compute_the_list_through_redis_and_clean_up(redis_url, processes):
    prefixes: list[str] = []

    def note_prefix(*args):
        # While the run is live, its workers carry the Redis key prefix on their command line.
        for proc in processes.new_descendants():
            try:
                line = proc.cmdline()
            except psutil.NoSuchProcess:  # a worker that has just finished
                continue
            if "--prefix" in line:
                prefixes.append(line[line.index("--prefix") + 1])

    request = RunRequest("fib", {"ns": [25, 24, 23, 22]}, "subprocesses", "python", 2, {"redis_url": redis_url})
    result = run(request, on_progress=note_prefix)

    assert result.value == [75025, 46368, 28657, 17711]
    assert result.verified is True
    assert len(set(prefixes)) == 1, prefixes
    client = redis.Redis.from_url(redis_url)
    prefix = prefixes[0]
    assert client.exists(f"{prefix}:units", f"{prefix}:results") == 0  # both lists deleted after the run
    processes.assert_nothing_left([])


def test_each_worker_reports_where_it_runs(redis_url):
    request = RunRequest("fib", {"ns": [27] * 6}, "subprocesses", "python", 2, {"redis_url": redis_url})
    result = run(request)
    for worker in (0, 1):
        starts = [line for line in result.log if line.startswith(f"[worker {worker}] starting work on ")]
        assert len(starts) == 1, result.log
        assert any(line.startswith(f"[worker {worker}] done working: ") for line in result.log)
    done = sum(int(line.rsplit(": ", 1)[1].split()[0]) for line in result.log if "done working" in line)
    assert done == 6


def test_a_closed_redis_port_is_a_clear_error(processes):
    url = "redis://127.0.0.1:1/0"
    with pytest.raises(EngineError) as caught:
        run(RunRequest("fib", {"ns": [10]}, "subprocesses", "python", 2, {"redis_url": url}))
    assert str(caught.value).startswith(f"cannot reach Redis at {url} for the subprocesses backend: ")
    processes.assert_nothing_left([])


def test_a_killed_worker_fails_the_run_instead_of_hanging(redis_url, background, processes):
    running = background(RunRequest("fib", {"ns": [40, 40]}, "subprocesses", "python", 2, {"redis_url": redis_url}))
    seen = processes.wait_for_workers("subprocesses", 2)
    for proc in seen:
        if "kernels.backends.redis_worker" in proc.cmdline():
            proc.kill()
    running.join(20)
    assert isinstance(running.error, WorkerFailed)
    assert "all subprocess workers exited" in str(running.error)
    processes.assert_nothing_left(seen)
