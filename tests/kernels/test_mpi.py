"""MPI programs under a real ``mpiexec`` (the mpich wheel): the seed's ring, the heat halo exchange, hostfiles."""

from __future__ import annotations

import pytest
from mpi4py import MPI

from kernels.backends.mpi import mpi_command, mpiexec_path
from kernels.engine import RunRequest, run
from kernels.errors import WorkerFailed


@pytest.fixture(scope="module")
def host() -> str:
    return MPI.Get_processor_name()


@pytest.mark.parametrize(("ranks", "message"), [(1, "P0"), (2, "P0P1"), (3, "P0P1P2")])
def test_ring_message_goes_round_once(ranks, message, host):
    result = run(RunRequest("mpi_ring", {}, "mpi", "python", ranks))
    assert result.value == {"message": message, "hosts": [host] * ranks, "ranks": ranks}
    assert result.verified is True
    for rank in range(ranks):
        assert f"I am rank {rank} of {ranks} on node {host}" in result.log
    if ranks > 1:
        assert f'Processor 0 received message "{message}" from rank {ranks - 1}' in result.log


def test_ring_laps_append_every_rank_each_time():
    result = run(RunRequest("mpi_ring", {"laps": 3}, "mpi", "python", 2))
    assert result.value["message"] == "P0P1P0P1P0P1"
    assert result.verified is True


@pytest.mark.parametrize("ranks", [2, 3, 5])
def test_heat_halo_exchange_is_bit_identical_to_sequential(ranks):
    # 5 ranks over 11 interior rows: uneven slabs, some of two rows.
    params = {"rows": 13, "cols": 17, "steps": 25}
    sequential = run(RunRequest("heat", params)).value
    result = run(RunRequest("heat", params, "mpi", "python", ranks))
    assert result.value == sequential
    assert result.verified is True


def test_units_are_dealt_longest_first_across_ranks():
    result = run(RunRequest("fib", {"ns": [25, 24, 23, 22, 21, 20]}, "mpi", "python", 2))
    by_rank = {rank: sorted(s["unit"] for s in result.spans if s["worker"] == rank) for rank in (0, 1)}
    # LPT on fib costs: rank 0 gets 25, rank 1 gets 24 and 23 (= fib 25's cost), then 22, 21, 20 alternate by load.
    assert by_rank[0][0] == 0 and {1, 2} <= set(by_rank[1])
    assert result.value == [75025, 46368, 28657, 17711, 10946, 6765]


def test_a_hostfile_places_the_ranks(tmp_path, host):
    hostfile = tmp_path / "hosts"
    hostfile.write_text(f"{host}:3\n")
    result = run(RunRequest("mpi_ring", {}, "mpi", "python", 3, {"hostfile": str(hostfile)}))
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
        run(RunRequest("mpi_ring", {}, "mpi", "python", 2, {"hostfile": str(missing)}))
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
        RunRequest("heat", {"rows": 16, "cols": 16, "steps": steps}, "mpi", "python", 2),
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
