"""JSON lines between the engine and its child processes: bytes survive, and only marked lines are events."""

from __future__ import annotations

import pytest

from kernels import wire
from kernels.registry import WORKLOADS


def test_values_with_bytes_round_trip():
    value = {"band": b"\x00\xff\x10", "rows": [1, 2], "nested": [{"png": b"\x89PNG"}], "text": "P0P1"}
    assert wire.loads(wire.dumps(value)) == value


def test_other_objects_are_refused():
    with pytest.raises(TypeError, match="cannot encode set"):
        wire.dumps({1, 2})


def test_event_lines_are_parsed_and_plain_lines_are_logs():
    line = wire.event_line("unit", unit=3, worker=1, start=0.5, end=0.75)
    assert line.startswith(wire.MARKER)
    assert wire.parse_line(line) == {"kind": "unit", "unit": 3, "worker": 1, "start": 0.5, "end": 0.75}
    assert wire.parse_line("I am rank 0 of 2 on node vm") is None


@pytest.mark.parametrize("line", [wire.MARKER + "{not json", wire.MARKER + "[1, 2]", wire.MARKER + '{"unit": 3}'])
def test_broken_event_lines_are_treated_as_logs(line):
    assert wire.parse_line(line) is None


@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_every_workloads_units_cross_the_wire_as_lists_and_come_back_typed(name):
    # A Redis worker reads its units from JSON (kernels/backends/redis_worker.py): a NamedTuple unit travels
    # as the plain list it always was, and unit_from_wire gives back the workload's own type.
    workload = WORKLOADS[name]
    for unit in workload.split(workload.validate({}), 4):
        text = wire.dumps(unit)
        assert text == wire.dumps(list(unit) if isinstance(unit, tuple) else unit)
        back = workload.unit_from_wire(wire.loads(text))
        assert back == unit and type(back) is type(unit)
        assert workload.describe_unit(back) == workload.describe_unit(unit)
