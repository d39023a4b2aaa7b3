"""MPI programs under a real ``mpiexec`` (the mpich wheel): the seed's ring, the heat halo exchange, hostfiles."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest
from mpi4py import MPI

from kernels.backends.mpi import mpi_command, mpiexec_path
from kernels.engine import RunRequest, check_request, run
from kernels.errors import WorkerFailed


@pytest.fixture(scope="module")
def host() -> str:
    return MPI.Get_processor_name()


@pytest.mark.parametrize(("ranks", "message"), [(1, "P0"), (2, "P0P1"), (3, "P0P1P2")])
def test_ring_message_goes_round_once(ranks, message, host):
    result = run(check_request(RunRequest("mpi_ring", {}, "mpi", "python", ranks)))
    assert result.value == {"message": message, "hosts": [host] * ranks, "ranks": ranks}
    assert result.verified is True
    for rank in range(ranks):
        assert f"I am rank {rank} of {ranks} on node {host}" in result.log
    if ranks > 1:
        assert f'Processor 0 received message "{message}" from rank {ranks - 1}' in result.log


def test_ring_laps_append_every_rank_each_time():
    result = run(check_request(RunRequest("mpi_ring", {"laps": 3}, "mpi", "python", 2)))
    assert result.value["message"] == "P0P1P0P1P0P1"
    assert result.verified is True


@pytest.mark.parametrize("ranks", [2, 3, 5])
def test_heat_halo_exchange_is_bit_identical_to_sequential(ranks):
    # 5 ranks over 11 interior rows: uneven slabs, some of two rows.
    params = {"rows": 13, "cols": 17, "steps": 25}
    sequential = run(check_request(RunRequest("heat", params))).value
    result = run(check_request(RunRequest("heat", params, "mpi", "python", ranks)))
    assert result.value == sequential
    assert result.verified is True


def test_units_are_dealt_longest_first_across_ranks():
    result = run(check_request(RunRequest("fib", {"ns": [25, 24, 23, 22, 21, 20]}, "mpi", "python", 2)))
    by_rank = {rank: sorted(s["unit"] for s in result.spans if s["worker"] == rank) for rank in (0, 1)}
    # LPT on fib costs: rank 0 gets 25, rank 1 gets 24 and 23 (= fib 25's cost), then 22, 21, 20 alternate by load.
    assert by_rank[0][0] == 0 and {1, 2} <= set(by_rank[1])
    assert result.value == [75025, 46368, 28657, 17711, 10946, 6765]


def test_a_hostfile_places_the_ranks(tmp_path, host):
    hostfile = tmp_path / "hosts"
    hostfile.write_text(f"{host}:3\n")
    result = run(check_request(RunRequest("mpi_ring", {}, "mpi", "python", 3, {"hostfile": str(hostfile)})))
    assert result.value["message"] == "P0P1P2"
    assert mpi_command("kernels.mpi.ring", 3, "{}", str(hostfile))[:5] == [
        mpiexec_path(),
        "-n",
        "3",
        "-f",
        str(hostfile),
    ]


def test_a_bad_hostfile_fails_with_mpiexecs_words(tmp_path):
    missing = tmp_path / "no-such-hostfile"
    with pytest.raises(WorkerFailed) as caught:
        run(check_request(RunRequest("mpi_ring", {}, "mpi", "python", 2, {"hostfile": str(missing)})))
    assert str(caught.value).startswith("mpiexec exited with code ")


def test_a_killed_rank_fails_the_run_instead_of_hanging(background, processes):
    running = background(RunRequest("fib", {"ns": [40, 40]}, "mpi", "python", 2))
    seen = processes.wait_for_workers("mpi", 2)
    ranks = [p for p in seen if "kernels.mpi.units" in p.cmdline()[:4]]
    ranks[-1].kill()
    running.join(20)
    assert isinstance(running.error, WorkerFailed)
    assert str(running.error).startswith("mpiexec exited with code ")
    processes.assert_nothing_left(seen)


@pytest.mark.parametrize("steps", [1, 3, 10, 25])
def test_heat_progress_reaches_the_total_even_with_few_steps(steps):
    # Each rank reports ten times, or once per step when there are fewer than ten.
    calls = []
    run(
        check_request(RunRequest("heat", {"rows": 16, "cols": 16, "steps": steps}, "mpi", "python", 2)),
        on_progress=lambda done, total, *rest: calls.append((done, total)),
    )
    assert calls[-1] == (2 * min(10, steps), 2 * min(10, steps))


def test_a_rank_that_raises_aborts_the_whole_run_at_once():
    """Rank 1 fails while rank 0 waits on it: the run must end at once, not at the job's time limit."""
    import subprocess
    import sys
    import time

    from kernels.backends.mpi import mpiexec_path

    program = (
        "from mpi4py import MPI\n"
        "from kernels.mpi.common import run_program\n"
        "def main():\n"
        "    if MPI.COMM_WORLD.Get_rank() == 1:\n"
        "        raise RuntimeError('rank 1 failed')\n"
        "    MPI.COMM_WORLD.recv(source=1)\n"
        "run_program(main)\n"
    )
    started = time.monotonic()
    done = subprocess.run([mpiexec_path(), "-n", "2", sys.executable, "-c", program],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode != 0
    assert "rank 1 failed" in done.stdout + done.stderr
    assert time.monotonic() - started < 30


def launcher(tmp_path, name: str, body: str) -> str:
    """A stand-in for ssh that Hydra runs as ``LAUNCHER -x HOST PROXY-COMMAND...`` for each other host."""
    script = tmp_path / name
    script.write_text(f"#!/bin/sh\nshift 2\n{body}\n")
    script.chmod(0o755)
    return str(script)


def run_on_two_hosts(tmp_path, host: str, launch: str, startup_timeout: float) -> RunRequest:
    hostfile = tmp_path / "hosts"
    hostfile.write_text(f"{host}:1\nnode-b:1\n")
    options = {
        "hostfile": str(hostfile),
        "startup_timeout": startup_timeout,
        "mpi_env": {"HYDRA_LAUNCHER": "ssh", "HYDRA_LAUNCHER_EXEC": launch},
    }
    return RunRequest("mpi_ring", {}, "mpi", "python", 2, options)


@pytest.mark.timeout(60)
def test_a_host_that_never_answers_fails_the_run_at_the_startup_limit(tmp_path, host, background, processes):
    """As ssh to a host whose firewall drops packets: rank 0 spins in MPI_Init and Hydra waits for ever."""
    request = run_on_two_hosts(tmp_path, host, launcher(tmp_path, "ssh-no-answer", "exec sleep 600"), 3)
    started = time.monotonic()
    running = background(request)
    seen = processes.wait_for_workers("mpi", 1)
    running.join(30)
    assert isinstance(running.error, WorkerFailed), running.error
    assert str(running.error).startswith("MPI ranks did not start or connect within 3 s (2 ranks, hostfile ")
    assert 3 <= time.monotonic() - started < 15
    processes.assert_nothing_left(seen)


@pytest.mark.timeout(60)
def test_a_rank_that_dies_before_mpi_is_up_fails_the_run_with_its_words(tmp_path, host):
    """A node whose Python is broken: its rank exits, the other spins in MPI_Init, and Hydra waits for ever."""
    broken = launcher(tmp_path, "ssh-broken-python", 'exec env PYTHONHOME=/nonexistent sh -c "$*"')
    started = time.monotonic()
    with pytest.raises(WorkerFailed) as caught:
        run(check_request(run_on_two_hosts(tmp_path, host, broken, 3)))
    assert 3 <= time.monotonic() - started < 15
    message = str(caught.value)
    assert message.startswith("MPI ranks did not start or connect within 3 s")
    assert "No module named 'encodings'" in message  # the broken rank's own error, from the log tail


def test_a_host_that_refuses_the_connection_fails_at_once_with_hydras_words(tmp_path, host):
    """The node's proxy cannot reach mpiexec (no network in its namespace): Hydra itself gives up."""
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode:
        pytest.skip("unshare -n (a new network namespace) needs root here")
    isolated = launcher(tmp_path, "ssh-no-network", 'exec unshare -n sh -c "$*"')
    started = time.monotonic()
    with pytest.raises(WorkerFailed) as caught:
        run(check_request(run_on_two_hosts(tmp_path, host, isolated, 30)))
    assert time.monotonic() - started < 15
    assert "mpiexec exited with code" in str(caught.value) and "check for firewalls" in str(caught.value)
