"""Property tests of the one time parser and the one lag parser (issue 31): whatever the
time column holds (formats, zones, gaps, NaT-like tokens, ranges) and however a graph
spells its lags, the answer is exact or an InputError naming what is wrong; nothing else
escapes."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from causal_attrib.errors import InputError
from causal_attrib.inputs.graphs import read_graph
from causal_attrib.inputs.lags import edge_lags
from causal_attrib.inputs.series import parse_time, read_series

BAD_TOKENS = ["NaT", "nat", "nan", "None", "now", "today", "28/11/2026 15:20", "inf", "1,5"]
ZONES = ["", "Z", "+00:00", "+01:00", "-0530", "+02"]


@st.composite
def _times(draw):
    """Distinct true times (ns since 1970 or whole numbers), how they are written, and
    maybe one bad cell."""
    kind = draw(st.sampled_from(["int", "huge int", "float", "iso", "date", "datetime64"]))
    n = draw(st.integers(3, 30))  # a majority tells the column's kind
    steps = draw(st.lists(st.integers(1, 5), min_size=n - 1, max_size=n - 1))
    unit = {"int": 1, "huge int": 1, "float": 1, "iso": 10**9 * 60, "date": 86400 * 10**9}
    unit["datetime64"] = draw(st.sampled_from([1, 10**9]))
    base = {"int": draw(st.integers(-(10**6), 10**6)), "huge int": 10**20, "float": 0}
    base |= dict.fromkeys(("iso", "date", "datetime64"), 1_700_000_000 * 10**9)
    true = [base[kind]]
    for step in steps:
        true.append(true[-1] + step * unit[kind])
    zone = draw(st.sampled_from(ZONES)) if kind == "iso" else ""
    order = draw(st.permutations(range(n)))
    true = [true[i] for i in order]
    column = _written(kind, true, zone)
    bad = None
    if draw(st.booleans()) and kind not in ("datetime64",):
        bad = draw(st.integers(0, n - 1))
        column = list(column)
        column[bad] = draw(st.sampled_from([*BAD_TOKENS, "2300-01-01T00:00:00"]))
    return kind, true, column, bad


def _written(kind: str, true: list[int], zone: str):
    if kind in ("int", "huge int"):
        return [str(t) for t in true]
    if kind == "float":
        return [t / 4 for t in true]
    if kind == "datetime64":
        return pd.Series(pd.to_datetime(true, unit="ns"))
    stamps = [pd.Timestamp(t, unit="ns") for t in true]
    if kind == "date":
        return [s.strftime("%Y-%m-%d") for s in stamps]
    return [s.strftime("%Y-%m-%dT%H:%M:%S") + zone for s in stamps]


@settings(max_examples=150, deadline=None)
@given(_times())
def test_time_columns_read_exactly_or_fail_naming_the_row(case):
    kind, true, column, bad = case
    frame = pd.DataFrame({"t": column, "x": range(len(true))})
    try:
        series = read_series(frame, "t", "the data")
    except InputError as exc:
        assert bad is not None, f"refused a good column: {exc}"
        assert f"data row {bad + 1}" in str(exc)
        return
    assert bad is None, "accepted a bad cell"
    order = sorted(range(len(true)), key=lambda i: true[i])
    assert list(series.frame["x"]) == order  # sorted by the true times
    assert all(b > a for a, b in zip(series.times, series.times[1:], strict=False))
    for t in (series.times[0], series.times[-1]):  # what is written reads back the same
        assert parse_time(series.axis.format(t), series.axis, "split_at") == pytest.approx(t)


LAGS = st.lists(st.integers(0, 1000), min_size=1, max_size=3, unique=True)


@st.composite
def _lagged_graph(draw):
    n = draw(st.integers(2, 4))
    names = [f"n{i}" for i in range(n)]
    edges = {}
    for i in range(n):
        for j in range(i + 1, n):
            if (i, j) == (0, 1) or draw(st.booleans()):  # an edge list needs one edge
                edges[(names[i], names[j])] = sorted(draw(LAGS))
    bad = draw(st.sampled_from([None, None, None, "-1", "1001", "1.5", "x"]))
    return names, edges, bad


def _write(fmt: str, names, edges, bad, tmp: Path) -> object:
    listed = [(u, v, k) for (u, v), lags in edges.items() for k in lags]
    if bad is not None:
        listed.append((names[0], names[-1], bad))
    if fmt == "dot":
        lines = [f'"{u}" -> "{v}" [lag={k}];' for u, v, k in listed]
        text = "digraph {" + " ".join(f'"{n}";' for n in names) + " ".join(lines) + "}"
        (tmp / "g.dot").write_text(text)
        return tmp / "g.dot"
    if fmt == "csv":
        rows = "\n".join(f"{u},{v},{k}" for u, v, k in listed)
        (tmp / "g.csv").write_text("cause,effect,lag\n" + rows + "\n")
        return tmp / "g.csv"
    if fmt == "json":
        links = [{"source": u, "target": v, "lag": k} for u, v, k in listed]
        doc = {"directed": True, "nodes": [{"id": n} for n in names], "links": links}
        (tmp / "g.json").write_text(json.dumps(doc))
        return tmp / "g.json"
    graph = nx.MultiDiGraph()
    graph.add_nodes_from(names)
    for u, v, k in listed:
        graph.add_edge(u, v, lag=k)
    if fmt == "networkx":
        return graph
    path = tmp / "g.gml"
    nx.write_gml(graph, path)
    return path


@pytest.mark.parametrize("fmt", ["dot", "csv", "json", "gml", "networkx"])
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=_lagged_graph())
def test_lags_read_the_same_in_every_graph_format(tmp_path, fmt, case):
    names, edges, bad = case
    source = _write(fmt, names, edges, bad, tmp_path)
    try:
        graph = read_graph(source, validate=False).graph
    except InputError as exc:
        assert bad is not None, f"refused good lags: {exc}"
        assert "lag" in str(exc)
        return
    assert bad is None, "accepted a bad lag"
    for (u, v), lags in edges.items():
        assert list(edge_lags(graph, u, v)) == lags
