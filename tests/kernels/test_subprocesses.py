"""The seed's parent/child pattern: ``python -m`` workers fed through a real Redis list."""

from __future__ import annotations

import threading
import time

import psutil
import pytest
import redis

from kernels.engine import RunRequest, check_request, run
from kernels.errors import EngineError, WorkerFailed
from kernels.isolated import WARM_NAME, run_isolated

PASSWORD = "s3cret-Redis-PW"


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

    request = check_request(
        RunRequest("fib", {"ns": [25, 24, 23, 22]}, "subprocesses", "python", 2, {"redis_url": redis_url})
    )
    result = run(request, on_progress=note_prefix)

    assert result.value == [75025, 46368, 28657, 17711]
    assert result.verified is True
    assert len(set(prefixes)) == 1, prefixes
    client = redis.Redis.from_url(redis_url)
    prefix = prefixes[0]
    assert client.exists(f"{prefix}:units", f"{prefix}:results") == 0  # both lists deleted after the run
    processes.assert_nothing_left([])


def test_each_worker_reports_where_it_runs(redis_url):
    request = check_request(RunRequest("fib", {"ns": [27] * 6}, "subprocesses", "python", 2, {"redis_url": redis_url}))
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
        run(check_request(RunRequest("fib", {"ns": [10]}, "subprocesses", "python", 2, {"redis_url": url})))
    assert str(caught.value).startswith(f"cannot reach Redis at {url} for the subprocesses backend: ")
    processes.assert_nothing_left([])


@pytest.mark.parametrize("runner", [run, run_isolated], ids=["engine", "isolated"])
def test_a_password_in_the_redis_url_stays_out_of_the_error(runner, processes):
    # Issue 10: with its Redis down, a job's error text (read by every viewer, exported) held the password.
    url = f"redis://:{PASSWORD}@127.0.0.1:1/0"  # nothing listens on port 1
    with pytest.raises(EngineError) as caught:
        runner(check_request(RunRequest("fib", {"ns": [10]}, "subprocesses", "python", 2, {"redis_url": url})))
    assert PASSWORD not in str(caught.value)
    assert "cannot reach Redis at redis://***@127.0.0.1:1/0 for the subprocesses backend: " in str(caught.value)
    processes.assert_nothing_left([])


def test_workers_get_the_redis_url_from_their_environment_not_their_command_line(redis_url, processes):
    # A command line is readable by every local user (`ps`); a process's environment only by its own.
    url = redis_url.replace("redis://", f"redis://:{PASSWORD}@", 1)  # this Redis has no password: AUTH is ignored
    seen: dict[int, tuple[list[str], dict[str, str]]] = {}

    def look_at_workers(*args):
        for proc in processes.new_descendants():
            try:
                if "kernels.backends.redis_worker" in proc.cmdline():
                    seen[proc.pid] = (proc.cmdline(), proc.environ())
            except psutil.NoSuchProcess:  # a worker that has just finished
                continue

    request = check_request(
        RunRequest("fib", {"ns": [27, 26, 25, 24]}, "subprocesses", "python", 2, {"redis_url": url})
    )
    assert run(request, on_progress=look_at_workers).value == [196418, 121393, 75025, 46368]
    assert seen
    for command, environment in seen.values():
        assert not [arg for arg in command if PASSWORD in arg or "redis://" in arg], command
        assert environment["REDIS_URL"] == url


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


@pytest.mark.slow
def test_a_unit_longer_than_the_redis_socket_timeout_completes(redis_url):
    # redis-py 8 gives every client a 5 s socket timeout (issue 10): a worker's connection lies idle
    # while it computes, and the parent keeps polling, so neither may read with a longer wait than that.
    result = run(
        check_request(RunRequest("fib", {"ns": [40, 20]}, "subprocesses", "python", 2, {"redis_url": redis_url}))
    )
    assert result.value == [102334155, 6765]
    longest = max(span["end"] - span["start"] for span in result.spans)
    assert longest > 5, f"fib(40) took {longest:.1f} s here: too fast to leave a connection idle for 5 s"


def test_a_crashed_parent_s_lists_expire_on_their_own(redis_url):
    # The parent deletes both lists when a run ends; one killed before that (its worker lost) cannot. The
    # results list is made by the children, so its TTL must come from them (it had none: kept forever).
    import os
    import subprocess
    import sys
    import uuid

    from kernels import wire
    from kernels.backends.subprocesses import KEY_TTL, URL_ENV

    client = redis.Redis.from_url(redis_url)
    prefix = f"paralab:test:{uuid.uuid4().hex}"
    client.rpush(f"{prefix}:units", wire.dumps([0, 20]))
    client.expire(f"{prefix}:units", KEY_TTL)
    try:
        subprocess.run([sys.executable, "-m", "kernels.backends.redis_worker", "--prefix", prefix, "--workload",
                        "fib", "--implementation", "python", "--worker", "0", "--started-at", "0"],
                       env={**os.environ, URL_ENV: redis_url}, check=True, capture_output=True, timeout=30)  # fmt: skip
        assert client.llen(f"{prefix}:results") == 2  # "started", then the result; no parent took them
        assert 0 < client.ttl(f"{prefix}:results") <= KEY_TTL
    finally:
        client.delete(f"{prefix}:units", f"{prefix}:results")


def test_an_isolated_engine_forks_its_workers_and_notices_them_killed(redis_url):
    # Start cost (issue 13): a run's own engine process has what a worker imports, so its workers are forks of
    # it, not fresh interpreters (~0.17 s each before the first unit). Killed, they must fail the run as exec'd
    # ones do, and leave nothing behind.
    request = check_request(RunRequest("fib", {"ns": [40, 40]}, "subprocesses", "python", 2, {"redis_url": redis_url}))
    seen: dict[str, list] = {}

    def kill_the_workers() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for engine in psutil.Process().children():
                try:
                    if "kernels.isolated" not in engine.cmdline() or engine.name() == WARM_NAME:
                        continue
                    workers = engine.children()
                    if len(workers) == 2:
                        seen.update(engine=engine.cmdline(), workers=[w.cmdline() for w in workers])
                        seen["processes"] = [engine, *workers]
                        for worker in workers:
                            worker.kill()
                        return
                except psutil.NoSuchProcess:
                    pass
            time.sleep(0.02)

    killer = threading.Thread(target=kill_the_workers)
    killer.start()
    with pytest.raises(WorkerFailed, match="all subprocess workers exited"):
        run_isolated(request)
    killer.join()
    assert seen, "the isolated engine never had its 2 workers"
    assert seen["workers"] == [seen["engine"]] * 2  # forks of the engine: no `python -m kernels.backends.redis_worker`
    left = [p for p in seen["processes"] if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert left == []
