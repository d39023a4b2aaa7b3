"""Load-imbalance diagnosis: from spans to busy/idle per worker, the imbalance factor and a hint."""

from kernels.balance import diagnose
from kernels.engine import RunRequest, check_request, run


def span(unit, worker, start, end):
    return {"unit": unit, "worker": worker, "start": start, "end": end}


def test_a_balanced_run_says_so():
    spans = [span(0, 0, 0, 1), span(1, 1, 0, 1), span(2, 0, 1, 2), span(3, 1, 1, 2)]
    result = diagnose(spans, workers=2)
    assert result.imbalance == 1.0 and result.idle_tail == 0
    assert result.hint.startswith("balanced")


def test_one_long_unit_is_named_as_the_critical_unit():
    # Worker 0 runs unit 0 for 8 s; worker 1 runs three 1 s units, then idles 5 s.
    spans = [span(0, 0, 0, 8), span(1, 1, 0, 1), span(2, 1, 1, 2), span(3, 1, 2, 3)]
    result = diagnose(spans, workers=2)
    assert result.imbalance == round(8 / 5.5, 3)
    assert result.idle_tail == 5
    assert (result.critical_unit, result.critical_worker, result.critical_seconds) == (0, 0, 8)
    assert [(w.worker, w.busy, w.idle_share) for w in result.workers] == [(0, 8, 0.0), (1, 3, 0.625)]
    assert result.hint == "worker 1 idle 62% of the run: unit 0 alone took 100% of the run: split it into smaller units"


def test_a_worker_that_got_no_unit_counts_as_idle_and_ranks_are_named_ranks():
    result = diagnose([span(0, 0, 0, 2), span(1, 0, 2, 4)], workers=2, worker_label="rank")
    assert result.imbalance == 2.0
    assert result.workers[1].units == 0 and result.workers[1].idle_share == 1.0
    assert result.hint.startswith("rank 1 idle 100% of the run")


def test_each_backend_names_its_workers():
    from kernels.balance import worker_label

    assert [worker_label(b) for b in ("mpi", "openmp", "hybrid", "threads")] == ["rank", "thread", "worker", "worker"]


def test_one_worker_or_no_spans_has_no_diagnosis():
    assert diagnose([span(0, 0, 0, 1)], workers=1) is None
    assert diagnose([], workers=4) is None


def test_a_deliberately_unbalanced_run_is_diagnosed_from_its_real_spans():
    # fib(32) is ~1,000× fib(17): with two processes one worker does nearly all the work. (With fib(30) against
    # three fib(20), a loaded CI host stretched the small units to 1/7 of the big one: max/mean 1.76.)
    result = run(check_request(RunRequest("fib", {"ns": [32, 17, 17, 17]}, "processes", "python", 2)))
    diagnosis = diagnose(result.spans, workers=2)
    assert diagnosis.imbalance > 1.6  # the busiest worker did over 4× the other's work (perfect balance: 1.0)
    assert diagnosis.critical_unit == 0
    assert "idle" in diagnosis.hint and "unit 0 alone took" in diagnosis.hint
