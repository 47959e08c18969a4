"""The DoWhy bridge without the dowhy extra: one line that says what to install."""

from __future__ import annotations

import dataclasses
import sys

import networkx as nx
import numpy as np
import pandas as pd
import pytest

import causal_attrib as ca
from causal_attrib.errors import InputError


def test_without_dowhy_the_bridge_is_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "dowhy.gcm", None)  # importing it fails, as if absent
    with pytest.raises(InputError, match=r"needs the dowhy extra: pip install -e '\.\[dowhy\]'"):
        ca.to_dowhy(nx.DiGraph([("a", "b")]), pd.DataFrame({"a": [1.0], "b": [2.0]}))


def test_a_dowhy_model_is_read_as_its_graph_without_importing_dowhy():
    """The bridge in recognises a dowhy.gcm model by its module: a stand-in of that module
    with a graph is read as that graph."""
    fake = type("ProbabilisticCausalModel", (), {"__module__": "dowhy.gcm.causal_models"})()
    fake.graph = nx.DiGraph([("a", "b"), ("b", "c")])
    assert sorted(ca.load_graph(fake).edges) == [("a", "b"), ("b", "c")]


@pytest.mark.parametrize("command", ["explain", "anomaly"])
def test_compare_dowhy_without_the_extra_is_a_one_line_error_exit_2(monkeypatch, tmp_path, command):
    from click.testing import CliRunner

    from causal_attrib.cli import main

    monkeypatch.setitem(sys.modules, "dowhy.gcm", None)
    rng = __import__("numpy").random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=50)})
    frame["b"] = frame.a + rng.normal(size=50)
    frame.to_csv(tmp_path / "t.csv", index=False)
    (tmp_path / "g.dot").write_text("digraph { a -> b }")
    first, second = ("--before", "--after") if command == "explain" else ("-r", "-a")
    args = [command, "-g", str(tmp_path / "g.dot"), first, str(tmp_path / "t.csv"), second,
            str(tmp_path / "t.csv"), "-t", "b", "--compare-dowhy", "--quiet"]  # fmt: skip
    out = CliRunner().invoke(main, args, catch_exceptions=False)
    assert out.exit_code == 2
    assert out.stderr.strip().count("\n") == 0
    assert "needs the dowhy extra" in out.stderr


def test_compare_dowhy_warns_before_a_slow_run(monkeypatch, tmp_path):
    """From SLOW_NODES nodes the CLI says DoWhy will take minutes before it starts (DoWhy
    itself is stubbed here: only the warning is under test)."""
    pytest.importorskip("dowhy.gcm", reason="the warning comes after the extra is found")
    from click.testing import CliRunner

    from causal_attrib.bridges import compare
    from causal_attrib.cli import main
    from causal_attrib.results.comparison import Comparison

    calls = []

    def stub(result, graph, first, second, progress=None, **_):
        calls.append(len(graph.graph))
        return dataclasses.replace(
            result, comparison=Comparison("dowhy.gcm.distribution_change", {})
        )

    monkeypatch.setattr(compare, "compare_with_dowhy", stub)
    n = compare.SLOW_NODES
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(60, n)), columns=[f"x{i}" for i in range(n)])
    frame.to_csv(tmp_path / "t.csv", index=False)
    edges = "; ".join(f"x{i} -> x{i + 1}" for i in range(n - 1))
    (tmp_path / "g.dot").write_text(f"digraph {{ {edges} }}")
    table = str(tmp_path / "t.csv")
    args = ["explain", "-g", str(tmp_path / "g.dot"), "-b", table, "-a", table,
            "-t", f"x{n - 1}", "--compare-dowhy", "--samples", "200"]  # fmt: skip
    out = CliRunner().invoke(main, args, catch_exceptions=False)
    assert out.exit_code == 0, out.stderr
    assert calls == [n]
    assert f"DoWhy's method takes minutes on {n} nodes" in out.stderr
