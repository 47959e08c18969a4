"""The Python API checks its arguments at the boundary: the library's own errors (a
``ValueError`` or ``TypeError`` subclass) naming the Python parameter, never a deep
``AttributeError`` or a silent wrong answer (issue 31, issue 28 item 4)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest

import causal_attrib as ca
from causal_attrib.analyses.options import ExplainOptions
from causal_attrib.errors import InputError, InputTypeError
from causal_attrib.inputs.periods import TimeSpec


@pytest.fixture(scope="module")
def periods():
    rng = np.random.default_rng(3)

    def frame(shift: float) -> pd.DataFrame:
        x = rng.normal(size=300) + shift
        return pd.DataFrame({"x": x, "y": 2 * x + rng.normal(size=300)})

    return nx.DiGraph([("x", "y")]), frame(0.0), frame(1.0)


TYPE_ERRORS = {
    "target=5": ({"target": 5}, "target"),
    "target=['y']": ({"target": ["y"]}, "target"),
    "statistic=95": ({"statistic": 95}, "statistic"),
    "alpha='0.05'": ({"alpha": "0.05"}, "alpha"),
    "bootstrap='10'": ({"bootstrap": "10"}, "bootstrap"),
    "n_samples=None": ({"n_samples": None}, "n_samples"),
    "seed=1.5": ({"seed": 1.5}, "seed"),
    "max_rows=500.5": ({"max_rows": 500.5}, "max_rows"),
    "models='linear'": ({"models": "linear"}, "models"),
    "time='t'": ({"time": "t"}, "time"),
}


@pytest.mark.parametrize("name", list(TYPE_ERRORS))
def test_wrong_types_are_type_errors_naming_the_parameter(periods, name):
    graph, before, after = periods
    given, parameter = TYPE_ERRORS[name]
    with pytest.raises(InputTypeError) as info:
        ca.explain(graph, before, after, **({"target": "y", "n_samples": 500} | given))
    assert isinstance(info.value, TypeError) and info.value.parameter == parameter
    assert str(info.value).startswith(parameter)


def test_messages_name_the_python_parameter_not_the_cli_flag(periods):
    graph, before, after = periods
    with pytest.raises(ValueError, match="^n_samples must be at least 100") as info:
        ca.explain(graph, before, after, "y", n_samples=50)
    assert info.value.parameter == "n_samples" and "--" not in str(info.value)


def test_engine_may_be_named(periods):
    graph, before, after = periods
    result = ca.explain(graph, before, after, "y", n_samples=500, engine="threads")
    assert result.nodes[0].node == "x"


def test_explain_segments_refuses_unknown_options_and_bad_attribute_to(periods):
    graph, before, after = periods
    before, after = before.assign(r="a"), after.assign(r="a")
    with pytest.raises(InputTypeError, match="did you mean 'alpha'"):
        ca.explain_segments(graph, before, after, "y", "r", alpa=0.1)
    with pytest.raises(InputError, match="attribute_to must be one of"):
        ca.explain_segments(graph, before, after, "y", "r", attribute_to="bad")


def test_options_are_one_frozen_dataclass_validated_when_built():
    options = ExplainOptions(statistic="p95", attribute_to="all")
    assert options.statistic.name == "p95" and options.attribute_to.value == "all"
    with pytest.raises(AttributeError):
        options.alpha = 0.1  # frozen
    with pytest.raises(InputError, match="confidence"):
        ExplainOptions(confidence=1.0)


def test_dict_of_lists_is_read_as_a_table(periods):
    graph, before, after = periods
    as_dicts = ca.explain(graph, before.to_dict("list"), after.to_dict("list"), "y", n_samples=500)
    as_frames = ca.explain(graph, before, after, "y", n_samples=500)
    assert as_dicts.to_dict() == as_frames.to_dict()


def test_object_dtype_floats_are_numbers_not_levels(periods):
    graph, before, after = periods
    result = ca.explain(graph, before.astype(object), after, "y", n_samples=500)
    assert result.target_level is None and result.nodes[0].node == "x"


@pytest.mark.parametrize(
    "spoil, message",
    [
        (lambda f: f.set_axis(pd.MultiIndex.from_tuples([("x", 1), ("y", 1)]), axis=1), "levels"),
        (lambda f: pd.concat([f, f["y"]], axis=1), "'y' twice"),
        (lambda f: f.assign(**{"1": 1.0}).rename(columns={"x": 1}).assign(x=f["x"]), "one name"),
        (lambda f: f.assign(x=f["x"] + 1j), "complex numbers"),
    ],
)
def test_unreadable_frames_are_one_line_errors(periods, spoil, message):
    graph, before, after = periods
    with pytest.raises(InputError, match=message):
        ca.explain(graph, spoil(before), after, "y", n_samples=500)


def test_integers_near_1e20_keep_their_small_signal():
    rng = np.random.default_rng(8)
    frames = []
    for shift in (0, 1000):
        signal = rng.integers(0, 1000, size=300) + shift
        frames.append(pd.DataFrame({"a": [10**20 + int(s) for s in signal],
                                    "b": rng.normal(size=300)}))  # fmt: skip
    graph = nx.DiGraph([("a", "b")])
    result = ca.explain(graph, frames[0], frames[1], "b", n_samples=500)
    assert [n.node for n in result.nodes if n.changed] == ["a"]  # the unchanged child is not
    assert any("'a'" in n and "exact offsets from 1000000000000000000" in n for n in result.notes)


def test_a_statistic_returning_nan_is_an_error(periods):
    graph, before, after = periods
    nan = ca.Statistic("broken", lambda v: float("nan"))
    with pytest.raises(InputError, match="statistic 'broken' returned nan"):
        ca.explain(graph, before, after, "y", n_samples=500, statistic=nan)


def test_render_and_compare_refuse_what_they_cannot_take(periods):
    with pytest.raises(InputTypeError, match="render takes a result"):
        ca.render(None, "json")
    graph, before, _ = periods
    influence = ca.intrinsic_influence(graph, before, "y", n_samples=500)
    with pytest.raises(InputTypeError, match="not InfluenceResult"):
        ca.compare_with_dowhy(influence, graph, before, before)


def test_time_column_of_year_2300_datetimes_is_refused(periods):
    graph, before, after = periods
    data = pd.concat([before, after], ignore_index=True)
    data["t"] = pd.date_range("2300-01-01", periods=len(data), freq="min", unit="s")
    with pytest.raises(InputError, match="outside the timestamps"):
        ca.explain(graph, data=data, target="y", time=TimeSpec("t", split_at="2300-01-01T05:00"))


def _series_frame(n: int = 80) -> pd.DataFrame:
    rng = np.random.default_rng(4)
    x = rng.normal(size=n)
    return pd.DataFrame({"t": np.arange(n), "x": x, "y": x + rng.normal(size=n)})


@pytest.mark.parametrize(
    "call, parameter",
    [
        (lambda: ca.attribute_incident(nx.DiGraph([("x", "y")]), _series_frame(), "y",
                                       time_column="t", incident="50", since="10"), "since"),
        (lambda: ca.attribute_incident(nx.DiGraph([("x", "y")]), _series_frame(), "y",
                                       time_column="t", since="soon"), "since"),
        (lambda: ca.attribute_incident(nx.DiGraph([("x", "y")]), _series_frame().assign(
            x=0.0, y=0.0), "y", time_column="t"), "incident"),
        (lambda: ca.check_graph(nx.DiGraph([("x", "y")]), _series_frame(), max_rows=3), "max_rows"),
        (lambda: ca.trace_metrics([], window="soon"), "window"),
    ],
)  # fmt: skip
def test_incident_and_row_cap_errors_name_the_python_parameter(call, parameter):
    # these messages named the CLI's flags (--since, --incident, --max-rows) to API users
    with pytest.raises(InputError) as info:
        call()
    assert info.value.parameter == parameter
    assert str(info.value).startswith(parameter) and "--" not in str(info.value)
