"""Snapshots of every command's output on the bundled samples, compared at the precision
docs/cli-reference.md promises.

They pin what users see (JSON, table, Markdown, HTML) while the code underneath moves. A
snapshot changes only on purpose: rerun with ``CAUSAL_ATTRIB_UPDATE_SNAPSHOTS=1`` and commit
the new files together with the change that explains them.

The last digits of a fit depend on the machine: OpenBLAS picks a kernel for the CPU
(AVX-512, AVX2, ...), and kernels sum in different orders; solvers change between releases
too. So the words must match exactly and every number to the promised precision
(:data:`RELATIVE`, or :data:`ABSOLUTE` near zero; a number printed with fewer digits may
differ by one unit in its last printed digit). The JSON cases also run under two OpenBLAS
kernels this CPU supports (``OPENBLAS_CORETYPE``), so the suite passes, and the promise is
tested, whatever kernel a machine picks.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
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
RELATIVE = 1e-7
"""Promised agreement of any two machines' numbers (docs/cli-reference.md, Determinism);
measured on 2026-12-02: at most 1.8e-9 between the Haswell, SkylakeX and Sandybridge
kernels."""
ABSOLUTE = 1e-9
"""Agreement of numbers near zero (a contribution that cancels to 1e-12)."""


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
    assert_same_output(result.stdout, expected, path.name)


def assert_same_output(actual: str, expected: str, name: str) -> None:
    """The same words, and every number within the promised precision of the snapshot's."""
    assert NUMBER.sub("#", actual) == NUMBER.sub("#", expected), f"{name} changed"
    for got, want in zip(NUMBER.findall(actual), NUMBER.findall(expected), strict=True):
        assert numbers_agree(got, want), f"{name} changed: {got} where the snapshot has {want}"


def numbers_agree(got: str, want: str) -> bool:
    """Whether two printed numbers agree to :data:`RELATIVE` (or :data:`ABSOLUTE`), or
    differ by one unit in the last digit printed, at most the fourth significant one (a
    rounding that fell the other way: 0.1235 and 0.1234)."""
    x, y = float(got), float(want)
    if abs(x - y) <= max(ABSOLUTE, RELATIVE * max(abs(x), abs(y))):
        return True
    fourth = 10.0 ** (math.floor(math.log10(max(abs(x), abs(y)))) - 3)
    return abs(x - y) <= 1.01 * min(_last_digit(got), _last_digit(want), fourth)


def _last_digit(text: str) -> float:
    """The size of one unit in the last printed digit (``0.01`` for ``95.98``)."""
    mantissa, _, exponent = text.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 10.0 ** (int(exponent or 0) - decimals)


def _environment() -> dict[str, str]:
    return {name: version(name) for name in LIBRARIES}


def test_comparison_keeps_what_the_snapshots_are_for():
    """The comparison forgives another kernel's last digits, and nothing else."""
    assert numbers_agree("0.0973004981488", "0.0973004981442")  # AVX-512 against AVX2
    assert not numbers_agree("0.0973004981488", "0.0973014981442")
    assert numbers_agree("95.98", "95.99") and not numbers_agree("95.98", "96.00")
    assert numbers_agree("2.3e-312", "0.0") and numbers_agree("1e-178", "3e-178")
    assert not numbers_agree("0.5", "0.6") and numbers_agree("0.5", "0.4999")
    assert numbers_agree("0.1235", "0.1234") and not numbers_agree("0.1235", "0.1233")
    with pytest.raises(AssertionError):
        assert_same_output("node a 1.5", "node b 1.5", "words")


def _supported_kernels() -> list[str]:
    """Two OpenBLAS kernels this CPU runs (from its flags), best first."""
    flags = set()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    kernels = [k for k, flag in (("SkylakeX", "avx512f"), ("Haswell", "avx2"),
                                 ("Sandybridge", "avx")) if flag in flags]  # fmt: skip
    return (kernels + ["Prescott"])[:2]


KERNEL_CASES = ("anomaly_shop_incident", "explain_funnel_converted", "explain_shop_p95")


@pytest.mark.parametrize("kernel", _supported_kernels())
@pytest.mark.parametrize("case", KERNEL_CASES)
def test_json_snapshot_holds_under_each_openblas_kernel(tmp_path, case, kernel):
    args = [str(a) for a in CASES[case](tmp_path)] + ["--format", "json", "--quiet"]
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ, OPENBLAS_CORETYPE=kernel, PYTHONPATH=root)
    run = subprocess.run(
        [sys.executable, "-m", "causal_attrib", *args], capture_output=True, text=True, env=env
    )
    assert run.returncode == 0, run.stderr
    expected = (SNAPSHOTS / f"{case}.json").read_text(encoding="utf-8")
    assert_same_output(run.stdout, expected, f"{case}.json under {kernel}")
