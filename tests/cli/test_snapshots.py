"""Byte-for-byte snapshots of every command's output on the bundled samples.

They pin what users see (JSON, table, Markdown, HTML) while the code underneath moves. A
snapshot changes only on purpose: rerun with ``CAUSAL_ATTRIB_UPDATE_SNAPSHOTS=1`` and commit
the new files together with the change that explains them.

The last digits of a fit depend on the numerical libraries (scikit-learn's and SciPy's
solvers change between releases), so the comparison is byte for byte in the environment
that wrote the snapshots (``snapshots/environment.json``: the one ``.[test]`` installs, as
CI does) and, elsewhere, byte for byte once every decimal number is rounded to 6
significant digits.
"""

from __future__ import annotations

import json
import os
import re
from importlib.metadata import version
from pathlib import Path

import pandas as pd
import pytest
from conftest import SAMPLE

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
FORMATS = ("json", "table", "markdown", "html")
LIBRARIES = ("numpy", "scipy", "scikit-learn", "pandas")
ENVIRONMENT = SNAPSHOTS / "environment.json"
NUMBER = re.compile(r"-?\d+\.\d+(?:[eE][-+]?\d+)?|-?\d+[eE][-+]?\d+")
SHOP, FUNNEL = SAMPLE / "shop", SAMPLE / "funnel"


def _segmented(tmp: Path) -> list[str]:
    """The shop's periods with a deterministic ``region`` column (every third row)."""
    out = []
    for period in ("before", "after"):
        frame = pd.read_csv(SHOP / f"{period}.csv")
        frame["region"] = [("eu", "us", "apac")[i % 3] for i in range(len(frame))]
        path = tmp / f"{period}.csv"
        frame.to_csv(path, index=False)
        out.append(str(path))
    return out


def _broken_graph(tmp: Path) -> str:
    """The shop graph without the edge payments_db -> payments (the node stays)."""
    text = (SHOP / "graph.dot").read_text().replace("payments_db -> payments;", "payments_db;")
    path = tmp / "broken.dot"
    path.write_text(text)
    return str(path)


CASES = {
    "explain_shop_p95": lambda tmp: [
        "explain",
        "-g",
        SHOP / "graph.dot",
        "-b",
        SHOP / "before.csv",
        "-a",
        SHOP / "after.csv",
        "-t",
        "checkout",
        "-s",
        "p95",
        "--bootstrap",
        "20",
        "--check",
        "--samples",
        "4000",
    ],
    "explain_funnel_converted": lambda tmp: [
        "explain",
        "-g",
        FUNNEL / "graph.dagitty",
        "-b",
        FUNNEL / "before.csv",
        "-a",
        FUNNEL / "after.csv",
        "-t",
        "converted",
        "--target-level",
        "yes",
        "--samples",
        "4000",
    ],
    "explain_segments": lambda tmp: [
        "explain",
        "-g",
        SHOP / "graph.dot",
        "-b",
        *_segmented(tmp)[:1],
        "-a",
        *_segmented(tmp)[1:],
        "-t",
        "checkout",
        "--by",
        "region",
        "--jobs",
        "1",
        "--samples",
        "2000",
    ],
    "anomaly_shop_incident": lambda tmp: [
        "anomaly",
        "-g",
        SHOP / "graph.dot",
        "-r",
        SHOP / "before.csv",
        "-a",
        SHOP / "incident.csv",
        "-t",
        "frontend",
        "--id-column",
        "time",
        "--top",
        "3",
    ],
    "influence_shop": lambda tmp: [
        "influence",
        "-g",
        SHOP / "graph.dot",
        "-d",
        SHOP / "before.csv",
        "-t",
        "checkout",
        "--samples",
        "5000",
    ],
    "check_shop_broken": lambda tmp: [
        "check",
        "-g",
        _broken_graph(tmp),
        "-d",
        SHOP / "before.csv",
        "--permutations",
        "20",
        "--target",
        "checkout",
    ],
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_output_matches_snapshot(cli, tmp_path, case, fmt):
    args = [str(a) for a in CASES[case](tmp_path)] + ["--format", fmt, "--quiet"]
    result = cli(*args)
    assert result.exit_code == 0, result.stderr
    path = SNAPSHOTS / f"{case}.{'txt' if fmt == 'table' else 'md' if fmt == 'markdown' else fmt}"
    if os.environ.get("CAUSAL_ATTRIB_UPDATE_SNAPSHOTS"):
        path.write_text(result.stdout, encoding="utf-8")
        ENVIRONMENT.write_text(json.dumps(_environment(), indent=2) + "\n", encoding="utf-8")
    assert path.exists(), f"no snapshot {path.name}: run with CAUSAL_ATTRIB_UPDATE_SNAPSHOTS=1"
    expected = path.read_text(encoding="utf-8")
    if json.loads(ENVIRONMENT.read_text(encoding="utf-8")) == _environment():
        assert result.stdout == expected, f"{path.name} changed"
    else:
        assert _rounded(result.stdout) == _rounded(expected), f"{path.name} changed"


def _environment() -> dict[str, str]:
    return {name: version(name) for name in LIBRARIES}


def _rounded(text: str) -> str:
    """Every decimal number rounded to 6 significant digits; below 1e-300 (p-values that
    underflow differently in different SciPy releases) it reads 0."""

    def round_one(match: re.Match) -> str:
        x = float(match.group())
        return "0" if abs(x) < 1e-300 else f"{x:.6g}"

    return NUMBER.sub(round_one, text)


def test_rounding_keeps_what_the_snapshots_are_for():
    """The fallback comparison still tells different answers apart."""
    assert _rounded("p 0.131626138379 x") == _rounded("p 0.131626138373 x")
    assert _rounded("p 0.1316 x") != _rounded("p 0.1317 x")
    assert _rounded("contribution 95.98") != _rounded("contribution 95.99")
    assert _rounded("node a") != _rounded("node b")
    assert _rounded('"mean": 2.3e-312,') == _rounded('"mean": 0,')
