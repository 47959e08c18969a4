"""Segments: per-segment explanations, the cross-segment split, skipped segments, engines.

Ground truth: a three-node SCM in which only `b`'s mechanism changes, and only in region
`eu` (by +2, so the mean of `c = 2b + a + noise` rises by 4 there).
"""

from __future__ import annotations

import json

import networkx as nx
import numpy as np
import pandas as pd
import pytest

import causal_attrib as ca
from causal_attrib import engine as parallel
from causal_attrib.analyses.segments import explain_segments
from causal_attrib.engine import Engine
from causal_attrib.rendering.registry import render, to_json
from causal_attrib.results.base import envelope

EDGES = [("a", "b"), ("b", "c"), ("a", "c")]


def period(rng, n: int, shift_eu: float) -> pd.DataFrame:
    region = rng.choice(["eu", "us", "asia"], size=n, p=[0.3, 0.5, 0.2])
    a = rng.normal(10, 2, n)
    b = 0.5 * a + rng.normal(0, 1, n) + np.where(region == "eu", shift_eu, 0.0)
    c = 2 * b + a + rng.normal(0, 1, n)
    return pd.DataFrame({"region": region, "a": a, "b": b, "c": c})


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    rng = np.random.default_rng(0)
    before, after = period(rng, 3000, 0.0), period(rng, 3000, 2.0)
    tiny = pd.DataFrame({"region": ["lab"] * 8, "a": 10.0, "b": 5.0, "c": 20.0})
    before = pd.concat([before, tiny], ignore_index=True)
    folder = tmp_path_factory.mktemp("segments")
    before.to_csv(folder / "before.csv", index=False)
    after.to_csv(folder / "after.csv", index=False)
    (folder / "graph.dot").write_text("digraph { a -> b; b -> c; a -> c; }")
    return folder, before, after


@pytest.fixture(scope="module")
def result(tables):
    folder, before, after = tables
    return explain_segments(
        folder / "graph.dot", before, after, "c", "region", engine=Engine("threads", 1)
    )


def test_the_changed_segment_and_node_come_first(result, tables):
    _, _, after = tables
    first = result.pairs[0]
    assert (first.segment, first.node) == ("region=eu", "b")
    weight = (after.region == "eu").mean()
    assert first.contribution == pytest.approx(weight * 4.0, rel=0.1)  # w_eu * 2 * 2
    assert all(abs(p.contribution) < 0.1 * first.contribution for p in result.pairs[1:])
    flagged = {s.label for s in result.explained if s.result.changed_ancestors}
    assert flagged == {"region=eu"}
    assert result.changed_ancestors == ["region=eu: b"]


def test_the_parts_add_up_to_the_overall_change(result, tables):
    _, before, after = tables
    assert result.exact
    assert result.overall_change == pytest.approx(after.c.mean() - before.c.mean(), rel=1e-12)
    parts = sum(p.contribution for p in result.pairs)
    total = parts + result.gaps + result.mix + result.skipped_change
    assert total == pytest.approx(result.overall_change, abs=1e-9)


def test_small_segments_are_skipped_with_why(result):
    assert [s.label for s in result.skipped] == ["region=lab"]
    lab = result.skipped[0]
    assert lab.rows == {"before": 8, "after": 0}
    assert "8 rows before and 0 after" in lab.skipped and "--min-segment-rows" in lab.skipped
    assert "1 skipped" in result.summary


@pytest.mark.slow  # starts worker processes or a Dask cluster: CI runs it, -m 'not slow' skips it
def test_engines_give_identical_results(result, tables):
    folder, before, after = tables
    on_processes = explain_segments(
        folder / "graph.dot", before, after, "c", "region", engine=Engine("processes", 2)
    )
    assert to_json(on_processes.to_dict()) == to_json(result.to_dict())


def test_cli_json_equals_the_library_and_matches_the_schemas(cli, tables, validators, result):
    folder, _, _ = tables
    args = ["explain", "-g", folder / "graph.dot", "-b", folder / "before.csv"]
    args += ["-a", folder / "after.csv", "-t", "c", "--by", "region"]
    out = cli(*args, "--format", "json", "--jobs", "1")
    assert out.exit_code == 0
    payload = json.loads(out.stdout)
    validators["segments"].validate(payload)
    for segment in payload["segments"]:
        if segment["result"] is not None:  # each is an explain report without its envelope
            validators["explain"].validate({**envelope("explain"), **segment["result"]})
    assert payload == json.loads(to_json(result.to_dict()))
    assert cli(*args, "--fail-on-change", "--jobs", "1").exit_code == 1
    md = cli(*args, "--format", "markdown", "--jobs", "1").stdout
    assert md.startswith("**mean of c rose") and "| 1 | `region=eu` | `b` |" in md


def test_every_format_renders(result):
    assert result.summary.splitlines()[0] in render(result, "table")
    html = render(result, "html")
    assert "b @ region=eu" in html and "Skipped: 8 rows before" in html
    frame = result.to_frame()
    assert list(frame.columns) == ["segment", "node", "contribution", "share"]
    assert frame.iloc[0][["segment", "node"]].tolist() == ["region=eu", "b"]


def test_two_columns_and_a_quantile(tables):
    folder, before, after = tables
    before = before.assign(tier=np.where(before.a > 10, "high", "low"))
    after = after.assign(tier=np.where(after.a > 10, "high", "low"))
    res = explain_segments(
        folder / "graph.dot",
        before,
        after,
        "c",
        ["region", "tier"],
        statistic="p90",
        engine=Engine("threads", 1),
    )
    assert not res.exact and res.mix is None
    assert res.pairs[0].segment.startswith("region=eu, tier=") and res.pairs[0].node == "b"
    assert any("do not add up" in n for n in res.notes)


def test_bad_segment_options(cli, tables):
    folder, _, _ = tables
    args = ["explain", "-g", folder / "graph.dot", "-b", folder / "before.csv"]
    args += ["-a", folder / "after.csv", "-t", "c"]
    out = cli(*args, "--by", "Region")
    assert out.exit_code == 2 and "did you mean 'region'" in out.stderr
    out = cli(*args, "--by", "region", "--min-segment-rows", "2")
    assert out.exit_code == 2 and "at least 5" in out.stderr
    out = cli(*args, "--by", "region", "--jobs", "0")
    assert out.exit_code == 2 and "--jobs must be at least 1" in out.stderr


@pytest.mark.slow  # starts worker processes or a Dask cluster: CI runs it, -m 'not slow' skips it
def test_an_unreachable_scheduler_is_a_clear_error(cli, tables):
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    folder, _, _ = tables
    args = ["explain", "-g", folder / "graph.dot", "-b", folder / "before.csv"]
    args += ["-a", folder / "after.csv", "-t", "c", "--scheduler", "tcp://127.0.0.1:9"]
    out = cli(*args)
    assert out.exit_code == 2 and "cannot reach the Dask scheduler" in out.stderr


@pytest.mark.slow  # starts worker processes or a Dask cluster: CI runs it, -m 'not slow' skips it
def test_same_answer_on_a_dask_cluster(tables, result, cli):
    """A real distributed.LocalCluster with two worker processes: same bytes; the CLI
    closes the client it opened when the command ends."""
    distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")
    folder, before, after = tables
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        dask = Engine("dask", scheduler=cluster.scheduler_address)
        on_cluster = explain_segments(
            folder / "graph.dot", before, after, "c", "region", engine=dask
        )
        assert to_json(on_cluster.to_dict()) == to_json(result.to_dict())
        # one analysis: node fits, coalition batches and bootstrap resamples on the cluster
        options = dict(attribute_to="all", bootstrap=8, n_samples=2000, seed=5)
        eu_b, eu_a = before[before.region == "eu"], after[after.region == "eu"]
        graph = folder / "graph.dot"
        local = ca.explain(
            graph, eu_b.drop(columns="region"), eu_a.drop(columns="region"), "c", **options
        )
        remote = ca.explain(
            graph,
            eu_b.drop(columns="region"),
            eu_a.drop(columns="region"),
            "c",
            engine=dask,
            **options,
        )
        assert to_json(remote.to_dict()) == to_json(local.to_dict())
        args = ["explain", "-g", graph, "-b", folder / "before.csv", "-a", folder / "after.csv"]
        args += ["-t", "c", "--by", "region", "-f", "json", "--scheduler"]
        out = cli(*args, cluster.scheduler_address)
        assert out.exit_code == 0 and json.loads(out.stdout) == json.loads(
            to_json(result.to_dict())
        )
        assert not parallel._CLIENTS  # closed, not cached for the life of the process


def test_a_scheduler_without_the_dask_extra_is_a_clear_error(monkeypatch, cli, tables):
    import sys

    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails as if not installed
    monkeypatch.setattr(parallel, "_CLIENTS", {})
    folder, _, _ = tables
    args = ["explain", "-g", folder / "graph.dot", "-b", folder / "before.csv"]
    args += ["-a", folder / "after.csv", "-t", "c", "--scheduler", "tcp://127.0.0.1:9"]
    out = cli(*args)
    assert out.exit_code == 2
    assert "pip install 'causal-attrib[dask]'" in out.stderr
    monkeypatch.setenv("CAUSAL_ATTRIB_SCHEDULER", "tcp://127.0.0.1:9")
    assert "pip install 'causal-attrib[dask]'" in cli(*args[:-2]).stderr  # the env variable


def test_a_numeric_coded_categorical_target(tmp_path):
    """0.0/1.0 outcomes declared categorical: the level chosen on all rows is the label the
    segments' analyses use (it was '1' against their '1.0', so every segment was skipped)."""
    rng = np.random.default_rng(0)

    def period(n: int, lift_eu: float) -> pd.DataFrame:
        region = rng.choice(["eu", "us"], size=n)
        a = rng.normal(size=n)
        p = 1 / (1 + np.exp(-(a + np.where(region == "eu", lift_eu, 0.0))))
        return pd.DataFrame({"region": region, "a": a, "y": (rng.random(n) < p).astype(float)})

    res = explain_segments(
        nx.DiGraph([("a", "y")]),
        period(2000, 0.0),
        period(2000, 1.5),
        "y",
        "region",
        categorical=["y"],
        engine=Engine("threads", 1),
    )
    assert res.target_level == "1" and not res.skipped  # whole numbers keep integer labels
    assert (res.pairs[0].segment, res.pairs[0].node) == ("region=eu", "y")
    total = sum(p.contribution for p in res.pairs) + res.gaps + res.mix + res.skipped_change
    assert total == pytest.approx(res.overall_change, abs=1e-9)


def test_the_graph_loader_notes_are_said_once_for_all_segments(tables):
    folder, before, after = tables
    text = (folder / "graph.dot").read_text()
    repeated = folder / "repeated.dot"
    repeated.write_text(text.replace("{", "{ a -> b;", 1))  # the edge a -> b listed twice
    result = explain_segments(repeated, before, after, "c", "region", engine=Engine("threads", 1))
    notes = [n for n in result.notes if "more than once" in n]
    assert len(notes) == 1 and "'a -> b'" in notes[0]


def test_a_gate_does_not_pass_when_every_segment_was_skipped(cli, tables):
    """--by with --fail-on-change exited 0 ("no changed mechanism in any segment") when
    every segment was too small; the same data without --by exit 1."""
    folder, _, _ = tables
    args = ["explain", "-g", folder / "graph.dot", "-b", folder / "before.csv"]
    args += ["-a", folder / "after.csv", "-t", "c", "--fail-on-change", "--jobs", "1"]
    out = cli(*args, "--by", "region", "--min-segment-rows", "100000")
    assert out.exit_code == 1
    assert "no segment could be explained" in out.stderr
    assert "nothing was tested" in out.stdout.splitlines()[0]
    assert cli(*args).exit_code == 1
