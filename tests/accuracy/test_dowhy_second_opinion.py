"""``--compare-dowhy``: DoWhy's reference method on the same inputs, run here and compared
with the planted truth; the CLI's JSON is the API's result serialised, valid against the
schema, and the same on a second run."""

from __future__ import annotations

import json

import networkx as nx
import numpy as np
import pandas as pd
import pytest

import causal_attrib as ca
from causal_attrib.bridges.compare import agreement

pytestmark = pytest.mark.slow
pytest.importorskip("dowhy.gcm", reason="DoWhy (the dowhy extra) is not installed")


def _world(tmp_path, n: int = 400):
    """a -> b -> c, a -> c; b's mechanism shifts by 3 noise SDs."""
    rng = np.random.default_rng(0)

    def period(shift: float) -> pd.DataFrame:
        a = rng.normal(size=n)
        b = a + shift + rng.normal(size=n)
        return pd.DataFrame({"a": a, "b": b, "c": 2 * b + a + rng.normal(size=n)})

    before, after = period(0.0), period(3.0)
    before.to_csv(tmp_path / "before.csv", index=False)
    after.to_csv(tmp_path / "after.csv", index=False)
    (tmp_path / "g.dot").write_text("digraph { a -> b; b -> c; a -> c }")
    return nx.DiGraph([("a", "b"), ("b", "c"), ("a", "c")]), before, after


def test_explain_second_opinion_agrees_on_the_planted_node_and_matches_the_api(cli, tmp_path):
    graph, before, after = _world(tmp_path)
    args = ["explain", "-g", tmp_path / "g.dot", "-b", tmp_path / "before.csv", "-a",
            tmp_path / "after.csv", "-t", "c", "--compare-dowhy", "-f", "json", "-q"]  # fmt: skip
    out = cli(*args)
    assert out.exit_code == 0, out.stderr
    report = json.loads(out.stdout)
    comparison = report["dowhy_comparison"]
    assert comparison["error"] is None and comparison["same_top"] is True
    top = comparison["nodes"][0]
    assert top["node"] == "b" and top["rank_dowhy"] == 1
    assert top["dowhy"] == pytest.approx(6.0, rel=0.25)  # 2 * 3: b's shift through c
    api = ca.compare_with_dowhy(ca.explain(graph, before, after, "c"), graph, before, after)
    assert api.to_dict() == report
    assert cli(*args).stdout == out.stdout  # DoWhy seeded too: byte for byte


def test_anomaly_second_opinion_names_the_same_root_cause(cli, tmp_path):
    graph, reference, _ = _world(tmp_path)
    rows = pd.DataFrame({"a": [0.0, 0.1], "b": [6.0, 6.2], "c": [12.0, 12.5]})
    rows.to_csv(tmp_path / "rows.csv", index=False)
    args = ["anomaly", "-g", tmp_path / "g.dot", "-r", tmp_path / "before.csv", "-a",
            tmp_path / "rows.csv", "-t", "c", "--compare-dowhy", "-f", "json", "-q"]  # fmt: skip
    out = cli(*args)
    assert out.exit_code == 0, out.stderr
    comparison = json.loads(out.stdout)["dowhy_comparison"]
    assert comparison["same_top"] is True
    assert comparison["nodes"][0]["node"] == "b"
    for fmt in ("table", "markdown", "html"):
        shown = cli(*args[:-3], "-f", fmt, "-q").stdout
        assert "Second opinion" in shown and "attribute_anomalies" in shown


def test_agreement_reports_rank_correlation_and_top():
    ours = {"a": 5.0, "b": -1.0, "c": 0.5, "d": 0.0}
    same = agreement("m", ours, {"a": 4.0, "b": 2.0, "c": 1.0, "d": 0.1})
    assert same.same_top and same.rank_correlation == pytest.approx(1.0)
    other = agreement("m", ours, {"a": 0.1, "b": 0.2, "c": 1.0, "d": 3.0})
    assert not other.same_top and other.rank_correlation < 0
    failed = agreement("m", ours, {}, error="boom")
    assert failed.same_top is None and "could not run" in failed.summary
