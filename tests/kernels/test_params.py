"""Parameter schemas: values are cleaned to their type; every bad value is refused with a message naming the bound."""

from __future__ import annotations

import pytest

from kernels.params import Param, ParamError, validate

COUNT = Param("count", "int", 10, 1, 1_000_000, "how many")
RATE = Param("rate", "float", 0.5, -1.0, 2.5, "a rate")
NS = Param("ns", "int_list", [3, 2], 1, 40, "values", max_items=4)
SCHEMA = (COUNT, RATE, NS)


def rejected(param: Param, raw) -> ParamError:
    with pytest.raises(ParamError) as caught:
        param.clean(raw)
    assert caught.value.field == param.name
    assert str(caught.value) == f"{param.name}: {caught.value.reason}"
    return caught.value


def test_defaults_fill_in_what_is_missing():
    assert validate(SCHEMA, {}) == {"count": 10, "rate": 0.5, "ns": [3, 2]}
    assert validate(SCHEMA, None) == {"count": 10, "rate": 0.5, "ns": [3, 2]}
    assert validate(SCHEMA, {"count": 7}) == {"count": 7, "rate": 0.5, "ns": [3, 2]}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(5, 5), ("5", 5), (" 42 ", 42), ("1_000", 1000), (7.0, 7), (1_000_000, 1_000_000), (1, 1)],
)
def test_integers_are_accepted_in_their_usual_spellings(raw, expected):
    value = COUNT.clean(raw)
    assert value == expected and type(value) is int


@pytest.mark.parametrize(("raw", "expected"), [(1, 1.0), ("2.5", 2.5), ("-1", -1.0), (0, 0.0)])
def test_floats_are_accepted(raw, expected):
    assert RATE.clean(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("38,37,36", [38, 37, 36]), ("[1, 2]", [1, 2]), ([5, "6"], [5, 6]), ((40,), [40]), ("1,2,", [1, 2])],
)
def test_lists_are_accepted_as_text_or_sequences(raw, expected):
    assert NS.clean(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (0, "must be between 1 and 1_000_000, got 0"),
        (1_000_001, "must be between 1 and 1_000_000, got 1_000_001"),
        (-5, "must be between 1 and 1_000_000, got -5"),
    ],
)
def test_out_of_bound_integers_name_the_bound(raw, reason):
    assert rejected(COUNT, raw).reason == reason


def test_out_of_bound_floats_name_the_bound():
    assert rejected(RATE, 2.6).reason == "must be between -1 and 2.5, got 2.6"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("ten", "must be an integer, got 'ten'"),
        (2.5, "must be an integer, got '2.5'"),
        (None, "must be an integer, got 'None'"),
        ([1], "must be an integer, got '[1]'"),
        ("1" * 41, f"must be an integer, got {'1' * 40!r}"),  # no 10^40-digit parsing on request
    ],
)
def test_non_integers_are_refused(raw, reason):
    assert rejected(COUNT, raw).reason == reason


@pytest.mark.parametrize("raw", [True, False])
def test_booleans_are_not_numbers(raw):
    assert rejected(COUNT, raw).reason == "must be an integer, got a boolean"
    assert rejected(RATE, raw).reason == "must be a number, got a boolean"
    assert rejected(NS, [raw]).reason == "must be an integer, got a boolean"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("nan", "must be a finite number, got 'nan'"),
        (float("inf"), "must be a finite number, got 'inf'"),
        ("fast", "must be a finite number, got 'fast'"),
    ],
)
def test_non_finite_floats_are_refused(raw, reason):
    assert rejected(RATE, raw).reason == reason


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("38,41", "must be 1 to 4 integers, each between 1 and 40, got 41"),
        ([0], "must be 1 to 4 integers, each between 1 and 40, got 0"),
        ("1,2,3,4,5", "must have 1 to 4 items, got 5"),
        ("", "must have 1 to 4 items, got 0"),
        ([], "must have 1 to 4 items, got 0"),
        ("1,x", "must be an integer, got 'x'"),
        (7, "must be a list of integers (1 to 4 integers, each between 1 and 40)"),
        ({"a": 1}, "must be a list of integers (1 to 4 integers, each between 1 and 40)"),
    ],
)
def test_bad_lists_are_refused(raw, reason):
    assert rejected(NS, raw).reason == reason


def test_unknown_parameters_are_refused_with_the_known_ones():
    with pytest.raises(ParamError) as caught:
        validate(SCHEMA, {"count": 3, "colour": "red"})
    assert caught.value.field == "colour"
    assert caught.value.reason == "unknown parameter; expected one of count, ns, rate"


def test_schema_describes_bounds_and_list_size():
    assert NS.as_schema() == {
        "name": "ns",
        "type": "int_list",
        "default": [3, 2],
        "minimum": 1,
        "maximum": 40,
        "help": "values",
        "max_items": 4,
    }
    assert "max_items" not in COUNT.as_schema()


def test_cli_assignments_parse_into_a_dict_and_refuse_a_bare_word():
    from kernels.params import parse_assignments

    assert parse_assignments(["ns=38,37", " seed =3", "x_min=-2.5"]) == {"ns": "38,37", "seed": "3", "x_min": "-2.5"}
    with pytest.raises(ValueError, match="-p expects KEY=VALUE, got 'ns'"):
        parse_assignments(["ns"])
