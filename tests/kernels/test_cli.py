"""The ``paralab`` command, run as a user runs it: a separate process, its output and its exit code."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import psutil
import pytest

from kernels.registry import WORKLOADS


def paralab_command() -> list[str]:
    # The installed console script when there is one (`pip install -e .`), else the same main() via -m.
    script = shutil.which("paralab", path=os.path.dirname(sys.executable))
    return [script] if script else [sys.executable, "-m", "client.cli"]


def paralab(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*paralab_command(), *args], capture_output=True, text=True, timeout=timeout, check=False)


def test_list_shows_every_workload_with_bounds_and_where_it_runs():
    done = paralab("list")
    assert done.returncode == 0, done.stderr
    for workload in WORKLOADS.values():
        assert f"{workload.name} — {workload.title}" in done.stdout
    assert "ns     int_list  38,37,36,35,34,33  1 to 64 integers, each between 1 and 40" in done.stdout
    assert "runs on: sequential, mpi, openmp, hybrid × python, native" in done.stdout  # heat
    assert "runs on: sequential, threads, processes, subprocesses, mpi, openmp, hybrid × python, native" in done.stdout
    assert "runs on: sequential, threads, processes, subprocesses, mpi × python, native" in done.stdout


def test_list_json_is_the_registry_schema():
    done = paralab("list", "--json")
    assert done.returncode == 0
    assert json.loads(done.stdout) == [w.describe() for w in WORKLOADS.values()]


def test_run_prints_the_seed_result_and_verified():
    done = paralab("run", "fib", "--backend", "processes", "--workers", "2")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "result: [39088169, 24157817, 14930352, 9227465, 5702887, 3524578]"
    assert lines[1] == "verification: verified (all 6 values equal F(n) by exact integer fast doubling)"
    assert lines[2].startswith("wall time: ") and lines[2].endswith(" s (processes × python, 2 workers)")
    # The progress bar went to stderr and reached the end.
    assert "[##############################] 6/6 units" in done.stderr


def test_run_json_prints_the_summary_and_save_writes_the_image(tmp_path):
    done = paralab(
        "run", "mandelbrot", "-p", "width=40", "-p", "height=20", "-p", "max_iter=30",
        "--backend", "threads", "--impl", "python", "-w", "2", "--json", "--save", str(tmp_path), "--quiet",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # --quiet: no progress bar
    summary = json.loads(done.stdout)
    assert summary["params"]["width"] == 40 and summary["workers"] == 2
    assert summary["verified"] is True
    assert summary["artifacts"] == ["mandelbrot.png"]
    assert (tmp_path / "mandelbrot.png").read_bytes()[:4] == b"\x89PNG"


def test_run_options_reach_the_backends(tmp_path, redis_url):
    done = paralab("run", "fib", "-p", "ns=20,21", "--backend", "subprocesses", "-w", "2", "--redis-url", redis_url)
    assert (done.returncode, done.stdout.splitlines()[0]) == (0, "result: [6765, 10946]")
    done = paralab("run", "fib", "--backend", "subprocesses", "-w", "2", "--redis-url", "redis://127.0.0.1:1/0", "-q")
    assert done.returncode == 1
    assert done.stderr.startswith(
        "paralab: run failed: cannot reach Redis at redis://127.0.0.1:1/0 for the subprocesses backend: "
    )
    hostfile = tmp_path / "hosts"
    hostfile.write_text("no-such-host.invalid:2\n")
    done = paralab("run", "mpi_ring", "--backend", "mpi", "-w", "2", "--hostfile", str(hostfile), "--quiet")
    assert done.returncode == 1
    # The first line says what failed; mpiexec's own words follow it.
    assert done.stderr.startswith("paralab: run failed: mpiexec exited with code ")


def test_a_count_past_the_published_values_is_checked_too():
    done = paralab("run", "primes", "-p", "n=60000001", "--backend", "processes", "-w", "2", "--impl", "native")
    if "is not built" in done.stderr:
        pytest.skip(done.stderr.strip())
    assert done.returncode == 0, done.stderr
    assert (
        "verification: verified (equals π(n) by Lucy Hedgehog's combinatorial count (no sieve): 3562115)" in done.stdout
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-p", "ns=38,41"], "paralab: error: ns: must be 1 to 64 integers, each between 1 and 40, got 41"),
        (["-p", "ns=" + ",".join(["5"] * 65)], "paralab: error: ns: must have 1 to 64 items, got 65"),
        (["-p", "ns=5,x"], "paralab: error: ns: must be an integer, got 'x'"),
        (["-p", "n=5"], "paralab: error: n: unknown parameter; expected one of ns"),
        (["-p", "ns"], "paralab: error: -p expects KEY=VALUE, got 'ns'"),
        (["-w", "0", "--backend", "threads"], "paralab: error: workers: must be an integer between 1 and 64, got 0"),
        (["--workers", "2"], "paralab: error: workers: the sequential backend runs with exactly 1 worker"),
        (
            ["--backend", "gpu"],
            "paralab: error: backend: unknown backend 'gpu'; "
            "choose one of sequential, threads, processes, subprocesses, mpi, openmp, hybrid",
        ),
        (
            ["--impl", "rust"],
            "paralab: error: implementation: unknown implementation 'rust'; choose one of python, native",
        ),
        (["--timeout", "0"], "paralab: error: timeout: must be a positive number of seconds, got 0"),
        (
            ["--workers", "two"],
            "paralab run: error: argument --workers/-w: invalid int value: 'two' (see paralab run --help)",
        ),
    ],
)
def test_bad_input_exits_2_with_one_line(args, message):
    done = paralab("run", "fib", *args)
    assert (done.returncode, done.stderr, done.stdout) == (2, message + "\n", "")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["run", "fibonacci"],
            "paralab: error: unknown workload 'fibonacci'; "
            "choose one of fib, primes, montecarlo_pi, mandelbrot, heat, mpi_ring",
        ),
        (
            ["run", "heat", "--backend", "threads", "-w", "2"],
            "paralab: error: backend: heat does not run on threads × python; "
            "it supports backends sequential, mpi, openmp, hybrid with python, native",
        ),
        (["run", "heat", "-p", "rows=5000"], "paralab: error: rows: must be between 8 and 2048, got 5000"),
    ],
)
def test_bad_workloads_exit_2_with_one_line(args, message):
    done = paralab(*args)
    assert (done.returncode, done.stderr, done.stdout) == (2, message + "\n", "")


def test_an_unknown_command_exits_2_with_one_line():
    done = paralab("frobnicate")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith(
        "paralab: error: argument COMMAND: invalid choice: 'frobnicate' (choose from 'list', "
    )
    assert done.stderr.endswith(" (see paralab --help)\n") and done.stderr.count("\n") == 1


def stderr_lines(text: str) -> list[str]:
    return [line for line in text.replace("\r", "\n").splitlines() if line.strip()]


def test_a_time_limit_exits_3_and_leaves_nothing_running(processes):
    marker = f"ns=40,40,40,{os.getpid() % 30 + 1}"  # unique to this run, visible in its forked workers
    done = paralab("run", "fib", "-p", marker, "--backend", "processes", "-w", "2", "--timeout", "1")
    assert done.returncode == 3
    assert stderr_lines(done.stderr)[-1] == "paralab: time limit of 1 s exceeded; the run was stopped"
    assert done.stdout == ""
    processes.assert_nothing_left(processes.carrying(marker))


@pytest.mark.parametrize(
    ("backend", "signum", "code", "message"),
    [
        ("processes", signal.SIGINT, 130, "paralab: interrupted; the run was cancelled"),
        ("subprocesses", signal.SIGINT, 130, "paralab: interrupted; the run was cancelled"),
        ("mpi", signal.SIGINT, 130, "paralab: interrupted; the run was cancelled"),
        ("processes", signal.SIGTERM, 143, "paralab: terminated; the run was cancelled"),
    ],
)
def test_ctrl_c_or_sigterm_kills_the_workers(backend, signum, code, message, redis_url):
    # Its own session, so the test can do what a terminal does on Ctrl-C: signal the whole process group.
    # (A supervisor's SIGTERM goes to the one process; killpg covers the harder case for both.)
    cli = subprocess.Popen(
        [*paralab_command(), "run", "fib", "-p", "ns=40,40", "--backend", backend, "-w", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, "REDIS_URL": redis_url},
    )
    try:
        parent = psutil.Process(cli.pid)
        deadline = time.monotonic() + 30
        while len(workers := parent.children(recursive=True)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(workers) >= 2, "the run's workers did not start"
        time.sleep(0.3)
        os.killpg(cli.pid, signum)
        out, err = cli.communicate(timeout=20)
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()
    assert (cli.returncode, out) == (code, "")
    assert stderr_lines(err)[-1] == message
    assert "Traceback" not in err  # the workers were killed quietly, not interrupted mid-unit
    gone, alive = psutil.wait_procs(workers, timeout=2)
    assert alive == []
