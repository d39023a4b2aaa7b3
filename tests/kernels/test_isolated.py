"""The engine in its own process group (what the Celery worker uses): results come back, and a cancel
kills every process of the run — including mpiexec and Redis workers, which live in sessions of their own."""

import contextlib
import os
import threading
import time
from collections.abc import Callable

import psutil
import pytest

from kernels.backends.base import KeptThread
from kernels.engine import RunRequest, check_request
from kernels.errors import Cancelled, WorkerFailed
from kernels.isolated import WARM_NAME, run_isolated
from tests.processes import processes_left, run_processes

# Every process a run starts inherits the environment (MPI ranks too: Hydra passes it on), so a mark of
# this test run's own finds exactly its processes — not the suite's Celery worker, nor another run's.
MARK = "PARALAB_TEST_ISOLATED"


@pytest.fixture(autouse=True)
def marked(monkeypatch):
    monkeypatch.setenv(MARK, f"{os.getpid()}-{time.monotonic_ns()}")


def marked_processes() -> list[psutil.Process]:
    """The processes that carry this test's mark (this process itself excepted)."""
    mark, found = os.environ[MARK], []
    for proc in psutil.process_iter():
        try:
            if proc.pid != os.getpid() and proc.environ().get(MARK) == mark:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return found


def test_a_run_returns_its_result_and_progress():
    seen = []
    result = run_isolated(check_request(RunRequest("fib", {"ns": [20, 21]}, "processes", "python", 2)),
                          on_progress=lambda done, total, *rest: seen.append((done, total)))  # fmt: skip
    assert result.value == [6765, 10946] and result.verified is True
    assert seen[-1] == (2, 2)


def test_a_callback_that_fails_fails_the_run_with_its_error_and_stops_it():
    # The callbacks publish progress (to Redis, the database): one that raised used to end the reader
    # thread in silence, and the run was reported as "the engine process exited with code 0 and no result".
    looked_at: dict[int, str] = {}
    run: list[psutil.Process] = []

    def on_start(unit: int, worker: int, start: float) -> None:
        run.extend(psutil.Process(pid) for pid in the_run(looked_at))
        raise RuntimeError("publishing the progress failed")

    with pytest.raises(RuntimeError, match="publishing the progress failed"):
        run_isolated(check_request(RunRequest("fib", {"ns": [40] * 4}, "processes", "python", 2)), on_start=on_start)
    assert len(run) >= 2  # the engine and its pool
    assert processes_left(lambda: run) == []


def autogroup(pid: int) -> str:
    """Linux's autogroup of a process ("/autogroup-123 nice 0"): one CPU share per group.

    Empty for the default group: a process whose session goes back to init's, as CI's harness starts the
    suite (its sid is 0); "".split()[0] raising there, on the run's reader thread, was CI's failure."""
    try:
        with open(f"/proc/{pid}/autogroup") as f:
            return " ".join(f.read().split()[:1])
    except OSError:  # a kernel without autogroup: the session is what would decide it
        return ""


def children(pid: int) -> list[int]:
    """The processes right below ``pid``, read off /proc/<pid>/task/*/children."""
    found = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:  # gone meanwhile
        return []
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(child) for child in f.read().split()]
        except OSError:  # that thread, or the process, gone meanwhile (ENOENT or ESRCH)
            continue
    return found


def descendants(pid: int) -> list[int]:
    """The processes below ``pid``, walked down the tree itself. psutil's ``children(recursive=True)``
    reads every process on the host first, and on a crowded CI host the run was over before it saw any of it."""
    found, todo = [], [pid]
    while todo:
        below = children(todo.pop())
        found += below
        todo += below
    return found


def command_line(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:  # gone meanwhile
        return ""


def process_name(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def the_run(looked_at: dict[int, str]) -> list[int]:
    """The running isolated run of this process: its engine (this process's child running kernels.isolated,
    not an idle warm engine) and everything below it, each noted in ``looked_at`` with its command line.

    Found by the tree, not by the mark in the environment: four CI runs saw the mark on none of the run's
    processes (here they always carry it; the cause is not known)."""
    engines = []
    for pid in children(os.getpid()):  # the suite's live server and Celery worker are children too
        looked_at[pid] = command_line(pid)
        if "-m kernels.isolated" in looked_at[pid] and process_name(pid) != WARM_NAME:
            engines.append(pid)
    below = [pid for engine in engines for pid in descendants(engine)]
    looked_at.update((pid, command_line(pid)) for pid in below)
    return engines + below


def cancel_at_its_first_unit(backend: str, look: Callable[[], None]) -> None:
    """Run fib(40) ×4 on ``backend`` isolated; once its first unit has started (seconds of work left, so
    the engine and the process running the unit are up), ``look`` at it, then cancel it."""
    cancel = threading.Event()
    safety = threading.Timer(60, cancel.set)  # the run's first unit never started: end it all the same

    def started(unit: int, worker: int, start: float) -> None:  # on the run's reader thread: the run goes on
        if not cancel.is_set():
            look()
            cancel.set()

    safety.start()
    try:
        with pytest.raises(Cancelled):
            request = check_request(RunRequest("fib", {"ns": [40] * 4}, backend, "python", 2))
            run_isolated(request, cancel=cancel, on_start=started)
    finally:
        safety.cancel()


@pytest.mark.parametrize("backend", ["mpi", "subprocesses", "processes", "threads"])
def test_cancel_leaves_no_process_of_the_run(backend):
    before = {proc.pid for proc in run_processes(marked_processes())}
    looked_at: dict[int, str] = {}
    run: list[psutil.Process] = []

    def look() -> None:
        for pid in the_run(looked_at):
            with contextlib.suppress(psutil.NoSuchProcess):
                run.append(psutil.Process(pid))  # it knows its start time: a reused pid is not taken for it

    cancel_at_its_first_unit(backend, look)
    assert run, f"no process of the run among {looked_at}"
    # What was seen of the run, and what carries its mark (started after the look, or re-parented away).
    left = processes_left(lambda: run + [proc for proc in marked_processes() if proc.pid not in before])
    assert left == [], [looked_at.get(proc.pid, proc) for proc in left]


@pytest.mark.parametrize("backend", ["mpi", "subprocesses", "processes"])
def test_every_process_of_a_run_shares_the_callers_session_and_cpu_share(backend):
    # Each session gets its own autogroup, i.e. its own CPU share on a busy host: a backend whose
    # processes sat in sessions of their own would get more CPU than one whose processes did not.
    seen: dict[int, tuple[int, str]] = {}
    looked_at: dict[int, str] = {}

    def look() -> None:
        for pid in the_run(looked_at):
            command = looked_at[pid]
            # Hydra puts its proxy and the ranks in sessions of their own (setsid in Hydra,
            # not something mpiexec lets us turn off): what we start is the engine and mpiexec.
            if (
                not command
                or "hydra_pmi_proxy" in command
                or ("kernels.mpi." in command and "mpiexec" not in command.split()[0])
            ):
                continue
            with contextlib.suppress(ProcessLookupError):
                seen[pid] = (os.getsid(pid), autogroup(pid))

    cancel_at_its_first_unit(backend, look)
    assert len(seen) >= 2, f"saw only {seen} of {looked_at}"  # the engine and at least mpiexec or a worker
    assert {sid for sid, _ in seen.values()} == {os.getsid(0)}
    assert {group for _, group in seen.values()} == {autogroup(os.getpid())}


def warm_engines(parent: int) -> list[psutil.Process]:
    return [proc for proc in psutil.Process(parent).children() if proc.name() == WARM_NAME]


def wait_for_warm_engine(parent: int) -> psutil.Process:
    deadline = time.monotonic() + 10
    while not (found := warm_engines(parent)):
        assert time.monotonic() < deadline, "no warm engine after a run"
        time.sleep(0.05)
    return found[0]


def test_the_next_run_starts_in_the_warm_engine_left_by_the_last():
    # Start cost (issue 13): a cold engine spends ~0.15 s on the interpreter and imports before its first unit.
    run_isolated(check_request(RunRequest("fib", {"ns": [1]}, "sequential", "python", 1)))
    warm = wait_for_warm_engine(os.getpid())
    assert os.getpgid(warm.pid) == warm.pid and os.getsid(warm.pid) == os.getsid(0)  # a group of its own
    # It imports before any request comes: it names itself first, so a loaded host may show it mid-import.
    deadline = time.monotonic() + 20
    while "numpy" not in " ".join(m.path for m in warm.memory_maps()):
        assert time.monotonic() < deadline, "the warm engine has not imported numpy after 20 s"
        time.sleep(0.05)
    engines = []
    result = run_isolated(check_request(RunRequest("fib", {"ns": [20, 21]}, "processes", "python", 2)),
                          on_start=lambda *_: engines.append((warm.is_running(), warm.name())))  # fmt: skip
    assert result.value == [6765, 10946]
    assert engines and engines[0][0] and engines[0][1] != WARM_NAME  # it ran this run, under its own name again
    assert not warm.is_running() or warm.status() == psutil.STATUS_ZOMBIE
    wait_for_warm_engine(os.getpid()).kill()  # killed while idle: the next run starts a cold one
    assert run_isolated(check_request(RunRequest("fib", {"ns": [20]}, "sequential", "python", 1))).value == [6765]


def test_a_warm_engine_killed_after_it_took_the_run_does_not_run_it_again():
    # Killed (the OOM killer, say) while mpiexec starts, before any word of the run: the run is not tried
    # again in a cold engine, which would run the job twice; only one killed before it took the run is.
    run_isolated(check_request(RunRequest("fib", {"ns": [1]}, "sequential", "python", 1)))
    warm = wait_for_warm_engine(os.getpid())
    request = check_request(RunRequest("fib", {"ns": [35, 35]}, "mpi", "python", 2))
    running = KeptThread(run_isolated, request, name="test-run")
    running.start()
    deadline = time.monotonic() + 20
    while warm.name() == WARM_NAME:  # it renames itself once it has read the request, then says "taken"
        assert time.monotonic() < deadline, "the warm engine never took the run"
        time.sleep(0.005)
    time.sleep(0.05)
    warm.kill()
    running.join(120)
    assert running.result is None, "the run was run again after its engine was killed"
    assert isinstance(running.error, WorkerFailed), running.error
    assert "exited with code -9" in str(running.error)


def test_a_warm_engine_dies_with_its_worker():
    import subprocess
    import sys

    code = (
        "from kernels.engine import RunRequest, check_request; from kernels.isolated import run_isolated; import time;"
        "run_isolated(check_request(RunRequest('fib', {'ns': [1]}, 'sequential', 'python', 1))); print('ran', flush=True); time.sleep(60)"
    )
    worker = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert worker.stdout.readline() == "ran\n"
        warm = wait_for_warm_engine(worker.pid)
        worker.kill()  # kill -9 of the Celery worker
        warm.wait(timeout=5)
    finally:
        worker.kill()
        worker.wait()
