"""Byte-for-byte snapshots of every command's output on the bundled samples.

They pin what users see (JSON, table, Markdown, HTML) while the code underneath moves. A
snapshot changes only on purpose: rerun with ``CAUSAL_ATTRIB_UPDATE_SNAPSHOTS=1`` and commit
the new files together with the change that explains them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from conftest import SAMPLE

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
FORMATS = ("json", "table", "markdown", "html")
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
        "explain", "-g", SHOP / "graph.dot", "-b", SHOP / "before.csv", "-a",
        SHOP / "after.csv", "-t", "checkout", "-s", "p95", "--bootstrap", "20", "--check",
        "--samples", "4000",
    ],
    "explain_funnel_converted": lambda tmp: [
        "explain", "-g", FUNNEL / "graph.dagitty", "-b", FUNNEL / "before.csv", "-a",
        FUNNEL / "after.csv", "-t", "converted", "--target-level", "yes", "--samples", "4000",
    ],
    "explain_segments": lambda tmp: [
        "explain", "-g", SHOP / "graph.dot", "-b", *_segmented(tmp)[:1], "-a",
        *_segmented(tmp)[1:], "-t", "checkout", "--by", "region", "--jobs", "1",
        "--samples", "2000",
    ],
    "anomaly_shop_incident": lambda tmp: [
        "anomaly", "-g", SHOP / "graph.dot", "-r", SHOP / "before.csv", "-a",
        SHOP / "incident.csv", "-t", "frontend", "--id-column", "time", "--top", "3",
    ],
    "check_shop_broken": lambda tmp: [
        "check", "-g", _broken_graph(tmp), "-d", SHOP / "before.csv", "--permutations", "20",
        "--target", "checkout",
    ],
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_output_matches_snapshot(cli, tmp_path, case, fmt):
    args = [str(a) for a in CASES[case](tmp_path)] + ["--format", fmt, "--quiet"]
    result = cli(*args)
    assert result.exit_code == 0, result.stderr
    path = SNAPSHOTS / f"{case}.{ 'txt' if fmt == 'table' else 'md' if fmt == 'markdown' else fmt}"
    if os.environ.get("CAUSAL_ATTRIB_UPDATE_SNAPSHOTS"):
        path.write_text(result.stdout, encoding="utf-8")
    assert path.exists(), f"no snapshot {path.name}: run with CAUSAL_ATTRIB_UPDATE_SNAPSHOTS=1"
    assert result.stdout == path.read_text(encoding="utf-8"), f"{path.name} changed"
