"""Bad, hostile and unusual input through the CLI: one line on stderr and exit 2, or a correct
result with a note. Every case here was a way a real export or hand-written file can go wrong.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import SAMPLE

N = 300


class World:
    """A small a -> b -> c system (b's mechanism shifts by 1) and a place to write variants."""

    def __init__(self, root: Path):
        self.root = root
        rng = np.random.default_rng(0)
        a = rng.normal(size=N)
        b = 2 * a + rng.normal(size=N)
        c = b + rng.normal(size=N)
        self.before = pd.DataFrame({"a": a, "b": b, "c": c})
        self.after = self.before.assign(b=b + 1.0, c=c + 1.0)
        self.graph = self.text("g.dot", "digraph { a -> b; b -> c }")
        self.b = self.frame("before.csv", self.before)
        self.a = self.frame("after.csv", self.after)

    def text(self, name: str, content: str | bytes) -> Path:
        path = self.root / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    def frame(self, name: str, frame: pd.DataFrame, **to_csv) -> Path:
        path = self.root / name
        frame.to_csv(path, index=False, **to_csv)
        return path

    def explain(self, *extra, graph=None, before=None, after=None, target="c"):
        return [
            "explain",
            "-g",
            graph or self.graph,
            "-b",
            before or self.b,
            "-a",
            after or self.a,
            "-t",
            target,
            "--samples",
            "500",
            *extra,
        ]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return World(tmp_path_factory.mktemp("world"))


def _junk(frame: pd.DataFrame, row: int, column: str, value: str) -> pd.DataFrame:
    out = frame.astype({column: object})
    out.loc[row, column] = value
    return out


GRAPHS = {
    "cycle": ("digraph { a -> b; b -> c; c -> a }", "cycle: a -> b -> c -> a"),
    "self-loop": ("digraph { a -> b; b -> b; b -> c }", "self-loop on node 'b'"),
    "empty graph": ("digraph { }", "has no nodes"),
    "empty file": ("", "empty"),
    "truncated dot": ("digraph { a -> b; b -> ", "line 1: expected a node name"),
    "undirected dot": ("graph { a -- b; b -- c }", "undirected"),
    "mixed directions": ("digraph { a -> b; b -- c }", "undirected edge '--'"),
    "bidirected": ("digraph { a -> b; b <-> c }", "bidirected edge"),
    "deeply nested dot": ("digraph {" + "{" * 5000 + "a" + "}" * 5000 + "}", "nested more than"),
}

GRAPH_FILES = {
    "truncated gml": ("g.gml", 'graph [ directed 1 node [ id 0 label "a" ]', "not a valid gml"),
    "truncated graphml": (
        "g.graphml",
        "<?xml version='1.0'?><graphml><graph edgedefault='directed'><node id='a'/>",
        "not a valid graphml",
    ),
    "truncated json": ("g.json", '{"nodes": [{"id": "a"}], "links": [', "not a valid json"),
    "deeply nested json": ("g.json", "[" * 100_000 + "]" * 100_000, "not a valid json"),
    "undirected json": (
        "g.json",
        json.dumps({"directed": False, "nodes": [{"id": "a"}], "links": []}),
        "directed: false",
    ),
    "undirected graphml": (
        "g.graphml",
        "<?xml version='1.0'?><graphml><graph edgedefault='undirected'><node id='a'/>"
        "<node id='b'/><edge source='a' target='b'/></graph></graphml>",
        "undirected",
    ),
    "xml entity bomb": (
        "g.graphml",
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        '<graphml><graph edgedefault="directed"><node id="&b;"/></graph></graphml>',
        "DOCTYPE or entity",
    ),
    "binary garbage": ("g.dot", bytes(range(256)) * 8, "not UTF-8"),
    "nul bytes": ("g.dot", "digraph { a -> b }\x00\x00", "looks binary"),
    "unknown extension, unreadable content": ("g.xyz", "a b\nb c\n", "set --graph-format"),
    "edge list without cause/effect": ("g.csv", "x,y\na,b\n", "'cause' and 'effect'"),
    "adjacency with junk cell": ("g.csv", ",a,b\na,0,x\nb,0,0\n", "use 0 or 1"),
}


@pytest.mark.parametrize("name", list(GRAPHS))
def test_bad_dot_graphs(cli, world, name):
    text, message = GRAPHS[name]
    graph = world.text(f"bad_{abs(hash(name))}.dot", text)
    _one_line_error(cli(*world.explain(graph=graph)), message)


@pytest.mark.parametrize("name", list(GRAPH_FILES))
def test_bad_graph_files(cli, world, name):
    filename, content, message = GRAPH_FILES[name]
    path = world.text(f"{abs(hash(name))}_{filename}", content)
    _one_line_error(cli(*world.explain(graph=path)), message)


def _data_cases(w: World) -> dict[str, tuple[dict, str]]:
    """name -> (explain() keyword overrides, expected message)."""
    b, a = w.before, w.after
    nan_b = b.assign(b=np.nan)
    ids = pd.concat([b, b]).assign(a=[f"i{i}" for i in range(2 * N)])  # an identifier column
    return {
        "missing column": ({"before": w.frame("mc.csv", b[["a", "b"]])}, "lacks columns"),
        "missing column, near miss": (
            {"before": w.frame("nm.csv", b.rename(columns={"c": "C"}))},
            "did you mean 'C'?",
        ),
        "duplicate column": (
            {"before": w.text("dup.csv", "a,b,c,c\n" + "1,2,3,4\n" * 30)},
            "duplicate column names: 'c'",
        ),
        "header only": ({"before": w.text("ho.csv", "a,b,c\n")}, "0 usable row(s); at least 5"),
        "one row": ({"before": w.text("one.csv", "a,b,c\n1,2,3\n")}, "1 usable row(s)"),
        "four rows": ({"before": w.frame("four.csv", b.head(4))}, "at least 5 are needed"),
        "junk in numeric column": (
            {"before": w.frame("junk.csv", _junk(b, 7, "b", "n/a?"))},
            "column 'b' of the before data is numeric but data row 8 holds 'n/a?'",
        ),
        "numbers before, text after": (
            {"after": w.frame("dt.csv", a.assign(b=np.where(a.b > 0, "hi", "lo")))},
            "column 'b' is numeric in the before data but data row 1 of the after data",
        ),
        "all-NaN column": (
            {"before": w.frame("nan.csv", nan_b)},
            "no values at all in 'b' (all 300 rows are empty)",
        ),
        "some NaN": (
            {"before": w.frame("sn.csv", b.assign(b=b.b.where(b.index != 3)))},
            "missing values in 'b' (1); fill them or drop incomplete rows (dropna=True; "
            "--dropna in explain",
        ),
        "inf": (
            {"before": w.frame("inf.csv", b.assign(c=b.c.where(b.index != 5, np.inf)))},
            "infinite value in 'c' at data row 6",
        ),
        "-inf as text": (
            {"after": w.frame("minf.csv", _junk(a, 9, "a", "-inf"))},
            "infinite value in 'a' at data row 10",
        ),
        "huge magnitude": (
            {"before": w.frame("huge.csv", b * 1e300), "after": w.frame("hugea.csv", a * 1e300)},
            "values of size 3.11e+300",
        ),
        "tiny magnitude": (
            {"before": w.frame("tiny.csv", b * 1e-300)},
            "rescale the column",
        ),
        "identifier as categorical": (
            {"before": w.frame("ids.csv", ids), "after": w.frame("idsa.csv", ids)},
            "'a' has 600 distinct text values, more than the 500 levels",
        ),
        "not UTF-8": (
            {"before": w.text("latin.csv", "a,b,c,\xe9\n".encode("latin-1") + b"1,2,3,4\n" * 9)},
            "is not UTF-8 text",
        ),
        "binary garbage": ({"before": w.text("bin.csv", os.urandom(4000))}, "looks binary"),
        "broken parquet": ({"before": w.text("x.parquet", b"PAR1garbage")}, "as parquet"),
        "truncated jsonl": (
            {"before": w.text("x.jsonl", '{"a":1,"b":2,"c":3}\n{"a":1,"b"')},
            "as jsonl",
        ),
        "missing file": ({"before": w.root / "nope.csv"}, "--before file not found"),
        "directory": ({"before": w.root}, "is a directory, not a file"),
        "empty file": ({"before": w.text("empty.csv", "")}, "is empty"),
        "target not in graph": ({"target": "zz"}, "target 'zz' is not a node of the graph"),
        "target differs by case": ({"target": "C"}, "(did you mean 'c'?)"),
    }


def _data_case_names() -> list[str]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        return list(_data_cases(World(Path(tmp))))


@pytest.mark.parametrize("name", _data_case_names())
def test_bad_data(cli, world, name):
    overrides, message = _data_cases(world)[name]
    _one_line_error(cli(*world.explain(**overrides)), message)


OPTIONS = {
    "unknown statistic": (["-s", "foo"], "unknown statistic 'foo'"),
    "p0": (["-s", "p0"], "between p0 and p100"),
    "p100": (["-s", "p100"], "between p0 and p100"),
    "p101": (["-s", "p101"], "between p0 and p100"),
    "negative quantile": (["-s", "p-5"], "unknown statistic"),
    "negative bootstrap": (["--bootstrap", "-1"], "--bootstrap must be 0 (off)"),
    "alpha 0": (["--alpha", "0"], "--alpha must be between 0 and 1"),
    "alpha 1": (["--alpha", "1"], "--alpha must be between 0 and 1"),
    "alpha nan": (["--alpha", "nan"], "--alpha must be between 0 and 1"),
    "alpha text": (["--alpha", "x"], "'x' is not a valid float"),
    "min effect negative": (["--min-effect", "-1"], "--min-effect must be a number >= 0"),
    "min effect nan": (["--min-effect", "nan"], "--min-effect must be a number >= 0"),
    "confidence 1": (["--confidence", "1"], "--confidence must be between 0 and 1"),
    "samples 0": (["--samples", "0"], "--samples must be at least 100"),
    "max-rows 3": (["--max-rows", "3"], "--max-rows must be at least 10"),
    "target-level on a number": (["--target-level", "x"], "applies to categorical targets"),
    "unknown categorical": (["-c", "zz"], "not graph nodes: 'zz'"),
    "both layouts": (["-d", "x.csv"], "either --before and --after, or --data"),
    "unknown option": (["--frobnicate"], "No such option '--frobnicate'"),
    "bad choice": (["--attribute-to", "some"], "'some' is not one of"),
    "output is a directory": (["-o", "."], "is a directory"),
    "output in a missing directory": (["-o", "/nonexistent/x.json"], "does not exist"),
}


@pytest.mark.parametrize("name", list(OPTIONS))
def test_bad_options(cli, world, name):
    extra, message = OPTIONS[name]
    _one_line_error(cli(*world.explain(*extra)), message)


def test_both_inputs_from_stdin(cli, world):
    out = cli(*world.explain(before="-", after="-"), input="a,b,c\n1,2,3\n")
    _one_line_error(out, "--before and --after both ask to")


def test_bad_input_to_anomaly_and_check(cli, world):
    anomaly = ["anomaly", "-g", world.graph, "-r", world.b, "-t", "c"]
    out = cli(*anomaly, "-a", world.frame("an.csv", world.after.head(2).assign(c="x")))
    _one_line_error(out, "column 'c' is numeric in the reference data")
    out = cli(*anomaly, "-a", world.a, "--id-column", "when")
    _one_line_error(out, "--id-column 'when' is not a column")
    out = cli(*anomaly, "-a", world.a, "--max-rows", "5")
    _one_line_error(out, "--max-rows must be at least 10")
    check = ["check", "-g", world.graph]
    _one_line_error(cli(*check, "-d", world.text("n.csv", "x,y\n1,2\n")), "no graph node")
    _one_line_error(cli(*check, "-d", world.b, "--alpha", "2"), "--alpha")


def test_usage_errors_are_one_line(cli):
    _one_line_error(cli("explain"), "Missing option '--graph'")
    _one_line_error(cli("frobnicate"), "No such command 'frobnicate'")
    _one_line_error(cli("check", "--graph"), "requires an argument")


def _one_line_error(out, message: str) -> None:
    assert out.exit_code == 2, (out.exit_code, out.stderr, out.stdout[:300])
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    assert message in lines[0], lines[0]
    assert out.stdout == ""


def test_anomaly_target_with_too_few_reference_values(cli, world):
    """Found by the property test: a target with under 2 reference values was bypassed like
    an unmeasured node and then looked up (exit 3, KeyError)."""
    graph = world.text("one.dot", "digraph { c }")
    reference = world.text("few.csv", "c\n0.34\n0.82\n")
    out = cli("anomaly", "-g", graph, "-r", reference, "-a", world.a, "-t", "c")
    _one_line_error(out, "has 2 value(s) of the target 'c'; at least 10 normal rows")
    empty = world.text("blank.csv", "a,b,c\n" + "1,2,\n" * 20)
    out = cli("anomaly", "-g", world.graph, "-r", empty, "-a", world.a, "-t", "c")
    _one_line_error(out, "has 0 value(s) of the target 'c'")
    assert "did you mean" not in out.stderr


def test_level_scores_are_never_negative():
    """Found by the property test: probabilities summing to 1 + 2e-16 gave a score of
    -2.2e-16, which the JSON schema (rightly) rejects."""
    from causal_attrib.stats.scores import conditional_level_score

    proba = np.array(
        [0.5017535083586557, 0.1583447529128556, 0.12389774916694181, 0.21600398956154693]
    )
    assert sum(proba) > 1.0  # as summed in the scorer
    assert conditional_level_score(proba, ("w", "x", "y", "z"), "w") == 0.0


def test_library_warnings_are_one_line_each_and_quiet_silences_them(cli, world, monkeypatch):
    import warnings

    import causal_attrib.analyses.explain as dc

    real = dc.explain

    def noisy(*args, **kwargs):
        for _ in range(3):
            warnings.warn("The number of unique classes is\ngreater than 50%", UserWarning, 2)
        return real(*args, **kwargs)

    monkeypatch.setattr(dc, "explain", noisy)
    out = cli(*world.explain())
    assert out.exit_code == 0
    warned = [line for line in out.stderr.splitlines() if line.startswith("warning:")]
    assert warned == ["warning: The number of unique classes is greater than 50% (UserWarning)"]
    assert cli(*world.explain("--quiet")).stderr == ""


COUNTS = {
    "negative seed": (["--seed", "-1"], "--seed must be between 0 and 2**63 - 1, not -1"),
    "huge bootstrap": (["--bootstrap", "99999999999999999999"], "--bootstrap must be at most"),
    "huge samples": (["--samples", "10000000000"], "--samples must be at most 2,000,000"),
}
SHOP_FILES = tuple(SAMPLE / "shop" / f for f in ("graph.dot", "before.csv", "after.csv"))


@pytest.mark.parametrize("name", sorted(COUNTS))
@pytest.mark.parametrize("segments", [False, True])
def test_counts_beyond_any_machine_are_one_line_errors(cli, name, segments):
    """They used to end in exit 3 (ValueError, OverflowError, MemoryError); with --by every
    segment was skipped for the bad option and the run passed."""
    graph, before, after = SHOP_FILES
    args, message = COUNTS[name]
    extra = ["--by", "cache"] if segments else []
    out = cli("explain", "-g", graph, "-b", before, "-a", after, "-t", "checkout", *args, *extra)
    _one_line_error(out, message)


@pytest.mark.parametrize(
    "args,message",
    [
        (["--permutations", "99999999999999999999"], "--permutations must be at most 100,000"),
        (["--seed", "-1"], "--seed must be between 0 and 2**63 - 1"),
    ],
)
def test_anomaly_and_check_bound_their_counts_too(cli, args, message):
    graph, before, after = SHOP_FILES
    _one_line_error(cli("check", "-g", graph, "-d", before, *args), message)
    out = cli("anomaly", "-g", graph, "-r", before, "-a", after, "-t", "checkout", *args)
    _one_line_error(out, message)


def _shell(command: str) -> subprocess.CompletedProcess:
    """Run ``python -m causal_attrib`` with shell redirections (closed or full streams)."""
    line = f"{shlex.quote(sys.executable)} -m causal_attrib {command}"
    return subprocess.run(["bash", "-c", line], capture_output=True, text=True, timeout=120)


def _shell_error(out: subprocess.CompletedProcess, message: str) -> None:
    assert out.returncode == 2, (out.returncode, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], out.stderr


SHOP_EXPLAIN = " ".join(
    ["explain", "-q", "-g", *map(str, SHOP_FILES[:1]), "-b", str(SHOP_FILES[1])]
    + ["-a", str(SHOP_FILES[2]), "-t", "checkout"]
)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full on this system")
@pytest.mark.parametrize("command", [SHOP_EXPLAIN, "schema explain", "--version"])
@pytest.mark.slow  # runs the CLI in separate processes: CI runs it, -m 'not slow' skips it
def test_a_full_disk_is_an_error_not_a_truncated_report(command):
    """stdout on a full disk gave a truncated report and exit 0, or exit 3."""
    _shell_error(_shell(f"{command} > /dev/full"), "No space left on device")


@pytest.mark.parametrize("command", [SHOP_EXPLAIN, "schema explain", "--version"])
@pytest.mark.slow  # runs the CLI in separate processes: CI runs it, -m 'not slow' skips it
def test_a_closed_stdout_is_an_error_not_silence(command):
    """`schema explain >&-` and `--version >&-` exited 0 having written nothing."""
    _shell_error(_shell(f"{command} >&-"), "standard output is closed")


@pytest.mark.slow  # runs the CLI in separate processes: CI runs it, -m 'not slow' skips it
def test_stdin_closed_when_an_input_asks_for_it():
    graph, before, after = SHOP_FILES
    out = _shell(f"explain -g - -b {before} -a {after} -t checkout <&-")
    _shell_error(out, "--graph is '-' (standard input), but standard input is closed")
    out = _shell(f"explain -g {graph} -b - -a {after} -t checkout <&-")
    _shell_error(out, "--before is '-' (standard input), but standard input is closed")
    out = _shell(f"explain -g {graph} -b {before} -a {after} -t checkout -q <&- 2>&-")
    assert out.returncode == 0 and out.stdout.startswith("mean of checkout rose")  # unused


def test_escape_sequences_in_names_do_not_reach_the_terminal(cli, tmp_path):
    """A node named with terminal escapes (retitle, clear screen) is shown written out in
    the table, the Markdown and on stderr; the JSON keeps the name exact."""
    evil = "db\x1b]0;PWNED\x07\x1b[2J"
    rng = np.random.default_rng(3)
    frames = []
    for shift in (0.0, 3.0):
        x = rng.normal(size=400) + shift
        frames.append(pd.DataFrame({evil: x, "api": 2 * x + rng.normal(size=400)}))
    for name, frame in zip(("before", "after"), frames, strict=True):
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    graph = {"nodes": [{"id": evil}, {"id": "api"}], "links": [{"source": evil, "target": "api"}]}
    (tmp_path / "g.json").write_text(json.dumps(graph))
    args = ["explain", "-g", tmp_path / "g.json", "-b", tmp_path / "before.csv"]
    args += ["-a", tmp_path / "after.csv", "-t", "api"]
    for fmt in ("table", "markdown"):
        out = cli(*args, "--format", fmt)
        assert out.exit_code == 0
        assert "\x1b" not in out.stdout and "\x07" not in out.stdout
        assert "db\\x1b]0;PWNED\\x07\\x1b[2J" in out.stdout
    report = json.loads(cli(*args, "--format", "json").stdout)
    assert report["nodes"][0]["node"] == evil
    missing = cli(*args[:-1], "db\x1b[2J")  # a near miss is named on stderr
    assert missing.exit_code == 2 and "\x1b" not in missing.stderr


@pytest.mark.parametrize(
    "address", ["garbage", "http://localhost:8787", "inproc://x", "tcp://10.0.0.1", "h:99999"]
)
def test_a_scheduler_address_that_cannot_be_one_is_refused_at_once(cli, monkeypatch, address):
    """Junk used to wait ~42 s, then exit 3 with a Client.__del__ traceback."""
    graph, before, after = SHOP_FILES
    args = ["explain", "-g", graph, "-b", before, "-a", after, "-t", "checkout"]
    _one_line_error(cli(*args, "--scheduler", address), "is not a Dask scheduler address")
    monkeypatch.setenv("CAUSAL_ATTRIB_SCHEDULER", address)
    _one_line_error(cli(*args), "is not a Dask scheduler address")


def test_a_blank_cell_does_not_rename_the_levels_of_a_numeric_category(cli, tmp_path):
    """A 0/1 column declared --categorical, with one blank cell in the after table, was
    read as 0.0/1.0 there: explain said the share of y = '0.0' rose from 0 to 0.52 though
    nothing changed, and anomaly flagged every row."""
    rng = np.random.default_rng(5)

    def period(n: int) -> pd.DataFrame:
        x = rng.normal(size=n)
        y = (rng.random(n) < 1 / (1 + np.exp(-x))).astype(int)
        return pd.DataFrame({"x": x, "y": y})

    before, after = period(1500), period(1500).astype({"y": float})
    after.loc[7, "y"] = np.nan
    before.to_csv(tmp_path / "before.csv", index=False)
    after.to_csv(tmp_path / "after.csv", index=False)
    (tmp_path / "g.dot").write_text("digraph { x -> y }")
    args = ["-g", tmp_path / "g.dot", "-c", "y", "-f", "json"]
    periods = ["-b", tmp_path / "before.csv", "-a", tmp_path / "after.csv", "-t", "y"]
    out = cli("explain", *args, *periods)
    assert out.exit_code == 2 and "missing values" in out.stderr  # without --dropna
    out = cli("explain", *args, *periods, "--dropna")
    report = json.loads(out.stdout)
    assert report["target_level"] in ("0", "1") and report["changed_ancestors"] == []
    assert abs(report["figures"]["observed_change"]) < 0.06
    incident = after.iloc[5:11]
    incident.to_csv(tmp_path / "incident.csv", index=False)
    out = cli(
        "anomaly", *args, "-r", tmp_path / "before.csv", "-a", tmp_path / "incident.csv",
        "-t", "y",
    )  # fmt: skip
    report = json.loads(out.stdout)
    assert report["anomalous_rows"] == []
    blank = [r for r in report["anomalies"] if r["target_value"] is None]
    assert len(blank) == 1 and blank[0]["anomalous"] is False


def _planted_parent_shift(rng: np.random.Generator, shift: float) -> pd.DataFrame:
    p = rng.normal(size=1500) + shift
    return pd.DataFrame({"p": p, "c": 2.0 * p + rng.normal(size=1500)})


@pytest.mark.parametrize("kind", ["integers beyond 64 bits", "parquet decimal128"])
def test_numbers_numpy_cannot_hold_are_numbers(cli, tmp_path, kind):
    """Integers above 2**64 and Parquet decimals became a categorical node, and explain
    blamed the child (or nothing) for a planted shift of the parent."""
    import decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(11)
    paths = []
    for name, shift in (("before", 0.0), ("after", 2.0)):
        frame = _planted_parent_shift(rng, shift)
        if kind == "integers beyond 64 bits":
            big = [str(int(v * 1e6) * 10**20) for v in frame["p"]]  # ~1e26, exact integers
            text = "p,c\n" + "".join(f"{b},{c!r}\n" for b, c in zip(big, frame["c"], strict=True))
            path = tmp_path / f"{name}.csv"
            path.write_text(text)
        else:
            values = [decimal.Decimal(f"{v:.4f}") for v in frame["p"]]
            table = pa.table({"p": pa.array(values, type=pa.decimal128(12, 4)), "c": frame["c"]})
            path = tmp_path / f"{name}.parquet"
            pq.write_table(table, path)
        paths.append(path)
    (tmp_path / "g.dot").write_text("digraph { p -> c }")
    out = cli("explain", "-g", tmp_path / "g.dot", "-b", paths[0], "-a", paths[1], "-t", "c",
              "-f", "json")  # fmt: skip
    report = json.loads(out.stdout)
    assert report["settings"]["categorical"] == []
    assert report["changed_ancestors"] == ["p"] and report["nodes"][0]["node"] == "p"


def test_rows_copied_many_times_are_said(cli, tmp_path):
    """Rows duplicated 1,000 times flagged every node at q < 1e-16 and check rejected the
    true graph, with no word about the copies."""
    rng = np.random.default_rng(2)
    for name in ("before", "after"):
        frame = _planted_parent_shift(rng, 0.0).head(40)
        pd.concat([frame] * 1000, ignore_index=True).to_csv(tmp_path / f"{name}.csv", index=False)
    (tmp_path / "g.dot").write_text("digraph { p -> c }")
    out = cli("explain", "-g", tmp_path / "g.dot", "-b", tmp_path / "before.csv", "-a",
              tmp_path / "after.csv", "-t", "c")  # fmt: skip
    assert "39,960 of 40,000 rows of the before data are exact copies" in out.stderr
    out = cli("check", "-g", tmp_path / "g.dot", "-d", tmp_path / "before.csv")
    assert "rows of the data are exact copies" in out.stderr
    single = _planted_parent_shift(rng, 0.0)
    single.to_csv(tmp_path / "plain.csv", index=False)
    out = cli("check", "-g", tmp_path / "g.dot", "-d", tmp_path / "plain.csv")
    assert "exact copies" not in out.stderr


def test_output_goes_through_links_fifos_and_devices(cli, tmp_path):
    """--output onto a FIFO, a character device or a symlink replaced it with a regular file
    (as root, -o /dev/null would have replaced the device)."""
    import stat
    import threading

    graph, before, after = SHOP_FILES
    args = ["explain", "-q", "-g", graph, "-b", before, "-a", after, "-t", "checkout"]
    expected = cli(*args).stdout
    real = tmp_path / "reports" / "real.txt"
    real.parent.mkdir()
    link = tmp_path / "latest.txt"
    link.symlink_to(real)
    assert cli(*args, "-o", link).exit_code == 0
    assert link.is_symlink() and real.read_text() == expected
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    assert cli(*args, "-o", fifo).exit_code == 0
    reader.join(timeout=30)
    assert received == [expected] and stat.S_ISFIFO(fifo.stat().st_mode)
    if os.geteuid() == 0:  # only root may make a device node: a second /dev/null
        device = tmp_path / "null"
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        assert cli(*args, "-o", device).exit_code == 0
        assert stat.S_ISCHR(device.stat().st_mode)
    assert sorted(p.name for p in tmp_path.rglob(".*.tmp")) == []


@pytest.mark.slow  # runs the CLI in separate processes: CI runs it, -m 'not slow' skips it
def test_sigterm_during_a_run_leaves_no_temporary_report(tmp_path):
    """A signal during the write left .NAME.XXXX.tmp behind; now the command removes it and
    ends with 143 and one line."""
    graph, before, after = SHOP_FILES
    out = tmp_path / "report.html"
    code = (
        "import os, signal\n"
        "real_fsync = os.fsync\n"
        "def fsync_then_term(fd):\n"
        "    os.kill(os.getpid(), signal.SIGTERM)  # the signal arrives mid-write\n"
        "    return real_fsync(fd)\n"
        "os.fsync = fsync_then_term\n"
        "from causal_attrib.cli import main\n"
        "main(prog_name='causal-attrib')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "explain", "-q", "-g", str(graph), "-b", str(before),
         "-a", str(after), "-t", "checkout", "-f", "html", "-o", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 143, done.stderr
    assert done.stderr.strip().splitlines() == ["terminated"]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow  # runs the CLI in separate processes: CI runs it, -m 'not slow' skips it
def test_inputs_that_cannot_be_read_twice_are_read_once(cli, tmp_path):
    """A FIFO as --before blocked forever (it was opened twice: to sniff, then to parse);
    process substitution and /dev/stdin read as empty."""
    import threading

    graph, before, after = SHOP_FILES
    args = ["explain", "-q", "-g", graph, "-a", after, "-t", "checkout", "-f", "json"]
    expected = json.loads(cli(*args, "-b", before).stdout)
    fifo = tmp_path / "before.csv"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(before.read_bytes()))
    writer.start()
    assert json.loads(cli(*args, "-b", fifo).stdout) == expected
    writer.join(timeout=30)
    line = " ".join(map(str, ["explain", "-q", "-g", graph, "-a", after, "-t", "checkout"]))
    out = _shell(f"{line} -f json -b <(cat {before})")
    assert out.returncode == 0 and json.loads(out.stdout) == expected


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero on this system")
@pytest.mark.slow  # runs the CLI in separate processes: CI runs it, -m 'not slow' skips it
def test_endless_or_sparse_zeros_are_refused_at_the_first_block(cli, tmp_path):
    """/dev/zero or a 2 GB sparse file as --before grew to 3.5 GB before failing."""
    graph, _, after = SHOP_FILES
    sparse = tmp_path / "sparse.csv"
    with open(sparse, "wb") as fh:
        fh.truncate(2 << 30)
    for source in ("/dev/zero", sparse):
        out = _shell(f"explain -g {graph} -b {source} -a {after} -t checkout")
        _shell_error(out, "--before looks binary (it holds NUL bytes)")


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
@pytest.mark.slow  # runs the CLI in separate processes: CI runs it, -m 'not slow' skips it
def test_sigterm_stops_the_local_worker_processes(tmp_path):
    """SIGTERM during `--by ... --jobs 2` left loky workers and resource trackers alive."""
    import signal
    import time

    rng = np.random.default_rng(0)
    for name in ("before", "after"):
        frame = _planted_parent_shift(rng, 0.0 if name == "before" else 1.0)
        frame = pd.concat([frame] * 4, ignore_index=True)
        frame["c"] += rng.normal(size=len(frame))
        frame["region"] = np.repeat(["a", "b", "c", "d"], len(frame) // 4)
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    (tmp_path / "g.dot").write_text("digraph { p -> c }")
    command = [sys.executable, "-m", "causal_attrib", "explain", "-q",
               "-g", str(tmp_path / "g.dot"), "-b", str(tmp_path / "before.csv"),
               "-a", str(tmp_path / "after.csv"), "-t", "c",
               "--by", "region", "--jobs", "2", "--bootstrap", "5000"]  # fmt: skip
    main = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def children(pid: int) -> set[int]:
        found = set()
        for task in Path(f"/proc/{pid}/task").glob("*"):
            text = (task / "children").read_text() if (task / "children").exists() else ""
            found |= {int(c) for c in text.split()}
        return found

    workers: set[int] = set()
    deadline = time.monotonic() + 60
    while len(workers) < 2 and time.monotonic() < deadline and main.poll() is None:
        time.sleep(0.2)
        workers = children(main.pid)
    assert len(workers) >= 2, "the workers did not start"
    time.sleep(1.0)
    main.send_signal(signal.SIGTERM)
    _, err = main.communicate(timeout=60)
    assert main.returncode == 143 and err.strip().splitlines()[-1] == "terminated"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(Path(f"/proc/{w}").exists() for w in workers):
        time.sleep(0.2)
    alive = [w for w in workers if Path(f"/proc/{w}").exists()]
    assert not alive, f"worker processes still alive: {alive}"


def test_option_typos_suggest_the_most_similar_option_first(cli):
    out = cli("explain", "--statstic", "p95")
    assert out.exit_code == 2
    assert "(Did you mean one of: '--statistic', '--split-at'?)" in out.stderr  # was split first


def test_an_unknown_id_column_gets_a_did_you_mean(cli, tmp_path):
    shop = SAMPLE / "shop"
    incident = pd.read_csv(shop / "incident.csv").rename(columns={"time": "hour"})
    incident.to_csv(tmp_path / "incident.csv", index=False)
    args = ["-g", shop / "graph.dot", "-r", shop / "before.csv", "-a", tmp_path / "incident.csv"]
    out = cli("anomaly", *args, "-t", "frontend", "--id-column", "hours")
    assert out.exit_code == 2
    assert "--id-column 'hours' is not a column of the anomalies table" in out.stderr
    assert "(did you mean 'hour'?)" in out.stderr
