"""Property-based tests of every command through the CLI: random DAGs, random data, random
corruption of the files, random bytes, CSV dialects and Parquet column types. Whatever
happens, the user gets exit 0 with schema-valid JSON (whose contributions add up, for
explain and anomaly), or exit 2 with one ``error:`` line; never a traceback, never exit 3.
(`check` has a property test of its own in tests/analyses/test_check.py too.)"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

CORRUPTIONS = (
    "none", "none", "none", "nan cell", "inf cell", "junk cell", "drop column",
    "duplicate header", "truncate", "empty file", "header only", "binary", "bom",
    "semicolons", "text column after", "huge values",
)  # fmt: skip


@st.composite
def _system(draw):
    """A random DAG, per-node column kinds, and a seed for the data."""
    n_nodes = draw(st.integers(1, 6))
    names = [f"n{i}" for i in range(n_nodes)]
    graph = nx.DiGraph()
    graph.add_nodes_from(names)
    graph.add_edges_from(
        (names[i], names[j])
        for i in range(n_nodes)
        for j in range(i + 1, n_nodes)
        if draw(st.booleans())
    )
    kinds = {
        n: draw(st.sampled_from(["normal", "normal", "normal", "int", "text", "constant"]))
        for n in names
    }
    return graph, kinds, draw(st.integers(0, 10_000))


def _simulate(graph, kinds, rows, rng, shift_node=None, shift=0.0):
    """Data following the graph: numeric nodes add up their numeric parents."""
    out = {}
    for node in nx.topological_sort(graph):
        kind = kinds[node]
        if kind == "text":
            out[node] = rng.choice(["red", "green", "blue"], rows)
            continue
        if kind == "constant":
            out[node] = np.full(rows, 3.0)
            continue
        value = rng.normal(size=rows)
        for parent in graph.predecessors(node):
            if kinds[parent] in ("normal", "int"):
                value = value + np.tanh(out[parent])
            elif kinds[parent] == "text":
                value = value + (out[parent] == "red")
        if node == shift_node:
            value = value + shift
        out[node] = np.round(value * 3) if kind == "int" else value
    return pd.DataFrame(out)[list(graph.nodes)]


def _write(frame: pd.DataFrame, path: Path, corruption: str, rng) -> None:
    text = frame.to_csv(index=False)
    rows = len(frame)
    column = frame.columns[int(rng.integers(len(frame.columns)))]
    cell = int(rng.integers(rows)) if rows else 0
    if corruption in ("nan cell", "inf cell", "junk cell", "huge values") and rows:
        frame = frame.astype({column: object}).copy()
        value = {"nan cell": np.nan, "inf cell": np.inf, "junk cell": "oops", "huge values": 1e305}
        frame.loc[cell, column] = value[corruption]
        text = frame.to_csv(index=False)
    elif corruption == "drop column":
        text = frame.drop(columns=[column]).to_csv(index=False)
    elif corruption == "duplicate header":
        header, _, body = text.partition("\n")
        text = header.replace(column, frame.columns[0], 1) + "\n" + body
    elif corruption == "truncate":
        text = text[: int(rng.integers(1, max(2, len(text))))]
    elif corruption == "empty file":
        text = ""
    elif corruption == "header only":
        text = text.partition("\n")[0] + "\n"
    elif corruption == "binary":
        path.write_bytes(rng.bytes(512))
        return
    elif corruption == "bom":
        text = "\ufeff" + text
    elif corruption == "semicolons":
        text = frame.to_csv(index=False, sep=";", decimal=",")
    elif corruption == "text column after":
        text = frame.assign(**{column: "n/a"}).to_csv(index=False)
    path.write_text(text, encoding="utf-8")


def _assert_outcome(out) -> dict | None:
    """Exit 0 with a JSON report (validated by the ``cli`` fixture) or exit 2 with one line."""
    assert out.exit_code in (0, 2), (out.exit_code, out.stderr)
    assert "Traceback" not in out.stderr
    if out.exit_code == 2:
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
        assert out.stdout == ""
        event(f"input error: {lines[0].split(':')[1].strip()[:30]}")
        return None
    event("report")
    return json.loads(out.stdout)


def _run(cli, graph, frames: dict, corrupt: tuple[str, str], rng, command: list) -> dict | None:
    """Write the graph and the frames (one of them corrupted) and run ``command`` on them;
    ``{name}`` in the command stands for the path of that frame's file."""
    which, corruption = corrupt
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "g.json").write_text(json.dumps(nx.node_link_data(graph, edges="edges")))
        for name, frame in frames.items():
            _write(frame, root / f"{name}.csv", corruption if name == which else "none", rng)
        args = [str(a).format(**{n: root / f"{n}.csv" for n in frames}) for a in command]
        return _assert_outcome(cli(args[0], "-g", root / "g.json", *args[1:], "-f", "json"))


_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_SETTINGS
@given(
    _system(),
    st.integers(3, 150),
    st.sampled_from(CORRUPTIONS),
    st.sampled_from(["before", "after"]),
    st.sampled_from(["mean", "median", "std", "var", "p90", "p5"]),
    st.floats(0.0, 3.0),
)
@pytest.mark.slow  # a fuzzing loop: CI runs it, -m 'not slow' skips it
def test_explain_random_inputs(cli, system, rows, corruption, which, statistic, shift):
    graph, kinds, seed = system
    rng = np.random.default_rng(seed)
    nodes = list(graph.nodes)
    target = nodes[-1]
    changed = nodes[int(rng.integers(len(nodes)))]
    frames = {
        "before": _simulate(graph, kinds, rows, rng),
        "after": _simulate(graph, kinds, rows, rng, changed, shift),
    }
    report = _run(
        cli, graph, frames, (which, corruption), rng,
        ["explain", "-b", "{before}", "-a", "{after}", "-t", target, "-s", statistic,
         "--samples", "300"],
    )  # fmt: skip
    if report is None:
        return
    total = sum(n["contribution"] for n in report["nodes"] if n["contribution"] is not None)
    fitted = report["figures"]["fitted_change"]
    gross = sum(abs(n["contribution"] or 0.0) for n in report["nodes"])
    assert total == pytest.approx(fitted, rel=1e-9, abs=1e-9 * max(1.0, gross))
    for node in report["nodes"]:
        if not node["ancestor"]:
            assert node["contribution"] in (0.0, None)


@_SETTINGS
@given(
    _system(),
    st.integers(3, 150),
    st.integers(1, 4),
    st.sampled_from(CORRUPTIONS),
    st.sampled_from(["reference", "anomalies"]),
    st.floats(0.0, 8.0),
)
@pytest.mark.slow  # a fuzzing loop: CI runs it, -m 'not slow' skips it
def test_anomaly_random_inputs(cli, system, rows, n_bad, corruption, which, shift):
    graph, kinds, seed = system
    rng = np.random.default_rng(seed)
    nodes = list(graph.nodes)
    target = nodes[-1]
    culprit = nodes[int(rng.integers(len(nodes)))]
    frames = {
        "reference": _simulate(graph, kinds, rows, rng),
        "anomalies": _simulate(graph, kinds, n_bad, rng, culprit, shift),
    }
    report = _run(
        cli, graph, frames, (which, corruption), rng,
        ["anomaly", "-r", "{reference}", "-a", "{anomalies}", "-t", target,
         "--attribute", "all", "--samples", "200", "--permutations", "8"],
    )  # fmt: skip
    if report is None:
        return
    for row in report["anomalies"]:
        if row["target_score"] is None:  # the row does not measure the target
            assert target in row["unmeasured"] and not row["root_causes"]
            assert any("cannot be scored" in note for note in report["notes"])
            continue
        total = sum(c["contribution"] for c in row["root_causes"]) + row["unattributed"]
        assert total == pytest.approx(row["target_score"], rel=1e-9, abs=1e-9)


PARQUET_TYPES = ("int8", "int64", "float32", "float64", "decimal", "string", "bool", "dictionary")


def _parquet(frame: pd.DataFrame, path: Path, types: list[str]) -> None:
    """``frame`` as Parquet, each column stored as one of :data:`PARQUET_TYPES`."""
    import decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays = {}
    for (name, col), kind in zip(frame.items(), types, strict=True):
        values = col.tolist()
        numeric = pd.api.types.is_numeric_dtype(col)
        if kind in ("int8", "int64") and numeric:
            ints = [int(max(-100, min(100, round(v)))) for v in values]
            arrays[name] = pa.array(ints, type=getattr(pa, kind)())
        elif kind in ("float32", "float64") and numeric:
            arrays[name] = pa.array(values, type=getattr(pa, kind)())
        elif kind == "decimal" and numeric:
            decimals = [decimal.Decimal(f"{v:.3f}") for v in values]
            arrays[name] = pa.array(decimals, type=pa.decimal128(18, 3))
        elif kind == "bool":
            arrays[name] = pa.array([bool(v) if numeric else v == "red" for v in values])
        elif kind == "dictionary":
            arrays[name] = pa.array([str(v) for v in values]).dictionary_encode()
        else:
            arrays[name] = pa.array([str(v) for v in values])
    pq.write_table(pa.table(arrays), path)


def _dialect_csv(frame: pd.DataFrame, path: Path, dialect: tuple[str, str, str]) -> None:
    sep, quoting, newline = dialect
    mode = {"minimal": 0, "all": 1, "nonnumeric": 2}[quoting]
    decimal = "," if sep in (";", "\t") else "."
    frame.to_csv(path, index=False, sep=sep, quoting=mode, lineterminator=newline, decimal=decimal)


@_SETTINGS
@given(
    _system(),
    st.integers(3, 60),
    st.sampled_from(["explain", "anomaly", "check", "explain --by"]),
    st.sampled_from(["bytes", "dialect", "parquet"]),
    st.binary(max_size=600),
    st.tuples(
        st.sampled_from([",", ";", "\t", "|"]),
        st.sampled_from(["minimal", "all", "nonnumeric"]),
        st.sampled_from(["\n", "\r\n"]),
    ),
    st.lists(st.sampled_from(PARQUET_TYPES), min_size=7, max_size=7),
)
@pytest.mark.slow  # a fuzzing loop: CI runs it, -m 'not slow' skips it
def test_every_command_on_random_bytes_dialects_and_parquet_types(
    cli, system, rows, command, kind, blob, dialect, types
):
    """Random byte strings, CSV dialects and Parquet column types for the first table of
    every command: a schema-valid report or one error line, never exit 3."""
    graph, kinds, seed = system
    rng = np.random.default_rng(seed)
    nodes = list(graph.nodes)
    first = _simulate(graph, kinds, rows, rng).assign(seg=rng.choice(["a", "b"], rows))
    second = _simulate(graph, kinds, rows, rng, nodes[0], 1.0).assign(seg="a")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "g.json").write_text(json.dumps(nx.node_link_data(graph, edges="edges")))
        suffix = ".parquet" if kind == "parquet" else ".csv"
        path = root / f"first{suffix}"
        if kind == "bytes":
            path.write_bytes(blob)
        elif kind == "dialect":
            _dialect_csv(first, path, dialect)
        else:
            _parquet(first, path, types[: len(first.columns)])
        second.to_csv(root / "second.csv", index=False)
        other = root / "second.csv"
        args = {
            "explain": ["explain", "-b", path, "-a", other, "-t", nodes[-1], "--samples", "200"],
            "explain --by": ["explain", "-b", path, "-a", other, "-t", nodes[-1], "--by", "seg",
                             "--min-segment-rows", "5", "--jobs", "1", "--samples", "200"],
            "anomaly": ["anomaly", "-r", path, "-a", other, "-t", nodes[-1], "--samples", "200",
                        "--permutations", "4"],
            "check": ["check", "-d", path, "--permutations", "5"],
        }[command]  # fmt: skip
        out = cli(args[0], "-g", root / "g.json", *args[1:], "-f", "json")
        _assert_outcome(out)
