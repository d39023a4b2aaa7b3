"""A request is checked once, at the edge: the engine, its isolated process and each MPI rank run the
CheckedRequest they are given without checking its parameters again."""

from __future__ import annotations

import os

import pytest

from kernels.engine import CheckedRequest, RunRequest, check_request, run
from kernels.isolated import run_isolated
from kernels.params import ParamError
from tests.validation_log import log_validations, program

# Strings and missing parameters the check turns into numbers and defaults: a run handed the raw ones
# would fail (no max_iter, x_min, …), so a right answer also says the cleaned ones went all the way down.
RAW = {"width": "24", "height": 16}


@pytest.mark.parametrize("runner", [run, run_isolated], ids=["engine", "isolated"])
def test_an_mpi_run_checks_its_request_only_at_the_edge(runner, monkeypatch, tmp_path):
    log = log_validations(monkeypatch, tmp_path)
    checked = check_request(RunRequest("mandelbrot", RAW, "mpi", "python", 2))  # the edge
    result = runner(checked)
    assert result.verified is True, result.verification
    assert result.params == checked.request.params and result.params["max_iter"] == 256
    assert log.programs("started").count("kernels.mpi.units") == 2  # both ranks were watched
    if runner is run_isolated:  # and so was the engine's own process (not only the warm one started after)
        assert log.programs("engine") == ["kernels.isolated"]
    assert log.validations() == [f"mandelbrot {program()} {os.getpid()}"]  # the edge's check, and no other


def test_check_request_cleans_once_and_the_engine_keeps_what_it_was_given():
    checked = check_request(RunRequest("fib", {"ns": "20, 21"}, "threads", "python", 2))
    assert checked.request.params == {"ns": [20, 21]}
    with pytest.raises(AttributeError):  # frozen: nothing between the check and the run can swap it
        checked.request = RunRequest("fib", {"ns": [99]})  # type: ignore[misc]
    assert run(checked).value == [6765, 10946]


def test_the_edge_still_refuses_bad_input_before_anything_runs(monkeypatch, tmp_path):
    log = log_validations(monkeypatch, tmp_path)
    with pytest.raises(ParamError) as caught:
        check_request(RunRequest("fib", {"ns": [99]}, "mpi", "python", 2))
    assert caught.value.field == "ns" and caught.value.reason.endswith("each between 1 and 40, got 99")
    assert log.programs("started") == [] and len(log.validations()) == 1  # refused here: nothing was started


def test_a_trusted_request_is_rebuilt_as_it_was_checked():
    checked = check_request(RunRequest("mandelbrot", RAW, "threads", "python", 2))
    again = CheckedRequest.trusted(RunRequest(**vars(checked.request)))
    assert again == checked
