"""The one time parser and the one lag parser: strict, exact, and naming the row and value
at fault (issue 31's times and lags)."""

from __future__ import annotations

import json

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from causal_attrib.errors import InputError, InputTypeError
from causal_attrib.inputs.dot import parse_dot
from causal_attrib.inputs.graphs import read_graph
from causal_attrib.inputs.lags import edge_lags
from causal_attrib.inputs.periods import TimeSpec
from causal_attrib.inputs.series import parse_time, read_series


def _series(times) -> object:
    return read_series(pd.DataFrame({"t": times, "x": range(len(times))}), "t", "the data")


def _refused(times) -> str:
    with pytest.raises(InputError) as info:
        _series(times)
    return str(info.value)


def test_nat_text_is_refused_naming_its_row_not_read_as_1677():
    message = _refused(["2026-01-01T00:00:00", "2026-01-01T00:01:00", "NaT"])
    assert "'NaT' at data row 3" in message


@pytest.mark.parametrize("stamp", ["2300-01-01T00:00:00", "1500-06-01T00:00:00", "2262-04-12"])
def test_timestamps_outside_pandas_range_are_one_error_not_a_wrap(stamp):
    message = _refused(["2026-01-01T00:00:00", stamp])
    assert "data row 2" in message and "outside the timestamps" in message


def test_datetime64_column_in_year_2300_is_refused():
    times = pd.Series(pd.to_datetime(["2300-01-01", "2300-01-02"])).astype("datetime64[s]")
    assert "outside the timestamps" in _refused(times)


def test_plain_dates_are_not_utc_offsets_and_mix_with_midnight_times():
    series = _series(["2026-11-28", "2026-11-29T00:00:00", "2026-11-30", "2026-12-01"])
    assert not series.axis.zoned and series.notes == ()
    assert series.axis.step == 86400.0
    assert series.axis.format(series.times[1]) == "2026-11-29T00:00:00"


def test_bad_cell_is_named_at_its_own_row():
    times = [f"2026-01-{1 + i // 1440:02d}T{i // 60 % 24:02d}:{i % 60:02d}:00" for i in range(800)]
    times[700] = "28/11/2026 15:20"
    assert "'28/11/2026 15:20' at data row 701" in _refused(times)


def test_integers_beyond_2_53_stay_distinct_and_print_exactly():
    series = _series([10**20 + i for i in range(5)])
    assert np.all(np.diff(series.times) == 1.0)
    assert series.axis.format(series.times[3]) == str(10**20 + 3)
    assert parse_time(str(10**20 + 2), series.axis, "split_at") == 2.0


def test_nanosecond_steps_are_not_called_repeated():
    base = pd.Timestamp("2026-01-01")
    series = _series(pd.Series([base + pd.Timedelta(i, "ns") for i in range(5)]))
    assert series.axis.format(series.times[1]) == "2026-01-01T00:00:00.000000001"


def test_a_truly_repeated_time_is_still_an_error():
    assert "repeat a time" in _refused([1, 2, 2, 3])


@pytest.mark.parametrize("text", ["now", "today", "", "NaT", "28/11/2026 15:20", "2300-01-01"])
def test_split_at_takes_only_numbers_or_iso_8601(text):
    axis = _series(["2026-11-28T00:00:00Z", "2026-11-29T00:00:00Z"]).axis
    with pytest.raises(InputError) as info:
        parse_time(text, axis, "split_at")
    assert info.value.parameter == "split_at" and "split_at" in str(info.value)


def test_split_at_empty_against_numbers_says_what_it_takes():
    axis = _series([1, 2, 3]).axis
    with pytest.raises(InputError, match="numbers or ISO 8601"):
        parse_time("", axis, "split_at")


def test_timespec_lags_must_be_a_whole_number_within_the_cap():
    with pytest.raises(InputTypeError):
        TimeSpec("t", lags="2")
    with pytest.raises(InputError, match="lags must be at most 100"):
        TimeSpec("t", lags=1_000_000_000)
    with pytest.raises(InputError, match="lags must be 0 or more"):
        TimeSpec("t", lags=-1)


def test_dot_unquoted_exponent_lag_is_read_whole():
    graph = parse_dot("digraph { a -> b [lag=1e3]; c -> d [lag=2.0] }")
    assert edge_lags(graph, "a", "b") == (1000,) and edge_lags(graph, "c", "d") == (2,)


def test_dot_default_edge_lag_applies_to_later_edges():
    graph = parse_dot("digraph { a -> b; edge [lag=2]; c -> d; e -> f [lag=0] }")
    assert edge_lags(graph, "a", "b") == (0,)
    assert edge_lags(graph, "c", "d") == (2,)
    assert edge_lags(graph, "e", "f") == (0,)


def test_networkx_multidigraph_keeps_every_lag_of_a_pair():
    graph = nx.MultiDiGraph()
    graph.add_edge("a", "b", lag=1)
    graph.add_edge("a", "b", lag=3)
    graph.add_edge("a", "b")
    assert edge_lags(read_graph(graph, validate=False).graph, "a", "b") == (0, 1, 3)


def test_gml_multigraph_keeps_every_lag_of_a_pair(tmp_path):
    path = tmp_path / "g.gml"
    path.write_text(
        'graph [ directed 1 multigraph 1 node [ id 0 label "a" ] node [ id 1 label "b" ] '
        "edge [ source 0 target 1 lag 1 ] edge [ source 0 target 1 lag 2 ] ]"
    )
    assert edge_lags(read_graph(path, validate=False).graph, "a", "b") == (1, 2)


def test_node_link_json_lag_text_is_read_by_the_same_parser(tmp_path):
    path = tmp_path / "g.json"
    links = [{"source": "a", "target": "b", "lag": "1e3"}]
    path.write_text(json.dumps({"directed": True, "nodes": [{"id": "a"}, {"id": "b"}],
                                "links": links}))  # fmt: skip
    assert edge_lags(read_graph(path, validate=False).graph, "a", "b") == (1000,)


def test_lag_beyond_the_maximum_is_refused_in_every_format(tmp_path):
    with pytest.raises(InputError, match="lag '1001'"):
        parse_dot("digraph { a -> b [lag=1001] }")
    graph = nx.DiGraph()
    graph.add_edge("a", "b", lag=1001)
    with pytest.raises(InputError, match="lag '1001'"):
        read_graph(graph, validate=False)


def test_networkx_nodes_that_collide_as_text_are_refused():
    graph = nx.DiGraph([(1, "y")])
    graph.add_node("1")
    with pytest.raises(InputError, match="both named '1'"):
        read_graph(graph)


def test_tuple_node_labels_are_a_type_error():
    with pytest.raises(InputTypeError, match="node labels must be names"):
        read_graph(nx.DiGraph([(("x", 1), "y")]))
