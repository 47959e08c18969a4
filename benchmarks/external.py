"""Accuracy on data we did not generate, through the command line, beside DoWhy.

Sources (each with its own ground truth):

- ``dowhy``: the data-generating processes and expected answers of DoWhy's own tests
  (``tests/gcm/test_distribution_change.py``, ``test_distribution_change_robust.py``,
  ``test_anomaly_attribution.py``), re-expressed as CLI runs, 5 seeds each. DoWhy runs its
  own method on the same data (``--no-dowhy`` skips it).
- ``pyrca``: Salesforce PyRCA's simulator (``pyrca.simulation``: random DAGs with a single
  sink, ``sum(w * f(parent)) + noise`` with f identity, square, sin or tanh, and a constant
  fault injected at 1-2 nodes until every anomalous sample of the sink crosses 3 sigma).
  ``explain`` (normal rows vs fault rows, target the sink): is a faulty node first, and how
  many unchanged mechanisms are flagged. ``anomaly`` (10 fault rows vs the normal rows): is
  a faulty node the top cause. Install its generator only:
  ``python -m pip install --no-deps sfr-pyrca``.
- ``sachs``: the Sachs et al. (2005) flow-cytometry data as bundled by the Causal Discovery
  Toolbox (``python -m pip install --no-deps cdt``; only its CSV is read): the CD3/CD28
  rows as *before* and each inhibitor or activator condition as *after*, on the
  17-edge consensus graph, target Erk (``p44/42``). Real data: no exit 3, and how many
  nodes are flagged per condition.
- ``grid``: our own simulator's grid (``benchmarks/explain_vs_dowhy.py --tools ours``) at
  2,000 and 100,000 rows: unchanged mechanisms flagged.

    python benchmarks/external.py                     # every source, about 15 min
    python benchmarks/external.py --sources dowhy,pyrca --seeds 3

Every CLI run's exit code is recorded: the target is no exit 3 anywhere.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib.util
import io
import itertools
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
EXITS: list[tuple[str, int]] = []  # (case, exit code) of every CLI run


def cli(case: str, *args: str) -> dict | None:
    """Run ``causal-attrib`` with JSON output; its report, or None on a non-zero exit."""
    cmd = [sys.executable, "-m", "causal_attrib", *args, "--format", "json", "--quiet"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    EXITS.append((case, proc.returncode))
    if proc.returncode:
        print(f"    {case}: exit {proc.returncode}: {proc.stderr.strip()[:200]}")
        return None
    return json.loads(proc.stdout)


def write_graph(graph: nx.DiGraph, folder: Path) -> str:
    path = folder / "graph.csv"
    pd.DataFrame(list(graph.edges), columns=["source", "target"]).to_csv(path, index=False)
    return str(path)


def write(frame: pd.DataFrame, folder: Path, name: str) -> str:
    path = folder / f"{name}.csv"
    frame.to_csv(path, index=False)
    return str(path)


def explain_cli(case, graph, before, after, target, *extra) -> dict | None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        return cli(
            case,
            "explain",
            "--graph", write_graph(graph, folder),
            "--before", write(before, folder, "before"),
            "--after", write(after, folder, "after"),
            "--target", target,
            *extra,
        )  # fmt: skip


def anomaly_cli(case, graph, reference, anomalies, target, *extra) -> dict | None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        return cli(
            case,
            "anomaly",
            "--graph", write_graph(graph, folder),
            "--reference", write(reference, folder, "reference"),
            "--anomalies", write(anomalies, folder, "anomalies"),
            "--target", target,
            *extra,
        )  # fmt: skip


def contributions(report: dict) -> dict[str, float]:
    return {n["node"]: n["contribution"] for n in report["nodes"]}


def flagged(report: dict) -> set[str]:
    return {n["node"] for n in report["nodes"] if n["changed"]}


def ranked_causes(row: dict) -> list[str]:
    return [c["node"] for c in row["root_causes"]]


# ---------------------------------------------------------------- DoWhy's own tests


@dataclass
class Case:
    """One ported test: data from a seed, our check, and DoWhy's method on the same data."""

    name: str
    run: Callable[[int], bool]
    dowhy: Callable[[int], bool] | None = None


def _dc_data(seed: int, n: int = 1000):
    """DoWhy's distribution-change test data: X0 -> X1, X0 -> X2 -> X3; X2's and X3's
    coefficients change (0.5 -> 2 and 0.5 -> 3)."""
    rng = np.random.default_rng(seed)

    def period(c2: float, c3: float) -> pd.DataFrame:
        x0 = rng.uniform(-1, 1, n)
        x1 = 2 * x0 + rng.normal(0, 0.1, n)
        x2 = c2 * x0 + rng.normal(0, 0.1, n)
        return pd.DataFrame({"X0": x0, "X1": x1, "X2": x2, "X3": c3 * x2 + rng.normal(0, 0.1, n)})

    graph = nx.DiGraph([("X0", "X1"), ("X0", "X2"), ("X2", "X3")])
    return graph, period(0.5, 0.5), period(2.0, 3.0)


def dc_ranking(seed: int) -> bool:
    """X3 > X2 > X0 with X0 near zero, X1 not upstream (the spread of X3 changed: std).

    ``distribution_change`` tests every mechanism first and fits the ones it finds
    unchanged once, on both data sets, so they contribute nothing: our default
    (``--attribute-to changed``), not ``--attribute-to all`` (every ancestor's own fits
    in each period, as ``distribution_change_robust``)."""
    graph, before, after = _dc_data(seed)
    r = explain_cli("dc_ranking", graph, before, after, "X3", "--statistic", "std",
                    "--seed", str(seed))  # fmt: skip
    if r is None:
        return False
    c = contributions(r)
    total = sum(abs(v) for v in c.values() if v is not None)
    upstream = {n["node"]: n["ancestor"] for n in r["nodes"]}
    return c["X3"] > c["X2"] > c["X0"] and abs(c["X0"]) <= 0.15 * total and not upstream["X1"]


def dc_flags(seed: int) -> bool:
    """The mechanism change test: X2 and X3 changed, X0 did not."""
    graph, before, after = _dc_data(seed)
    r = explain_cli("dc_flags", graph, before, after, "X3", "--seed", str(seed))
    return r is not None and {"X2", "X3"} <= flagged(r) and "X0" not in flagged(r)


def dowhy_dc_flags(seed: int) -> bool:
    """DoWhy's flags on the same data: its change test on the target's ancestry, with its
    default Benjamini-Hochberg control at 0.05 (as ``distribution_change`` flags)."""
    from dowhy.gcm.distribution_change import _check_significant_mechanism_change
    from dowhy.gcm.independence_test import kernel_based

    graph, before, after = _dc_data(seed)
    np.random.seed(seed)
    ancestry = graph.subgraph(["X0", "X2", "X3"])
    changed = _check_significant_mechanism_change(
        ancestry, before, after, kernel_based, kernel_based, 0.05, "fdr_bh"
    )
    return changed["X2"] and changed["X3"] and not changed["X0"]


def dc_changed_only(seed: int) -> bool:
    """Invariant nodes get exactly zero, X3 > X2 > 0. DoWhy's test names the invariant
    nodes itself (``invariant_nodes=["X0", "X1"]``) and asserts nothing about its change
    test; here the mechanisms not flagged are the invariant ones (whether X0 is flagged is
    ``dc_flags``'s question, not asked twice of the same data)."""
    graph, before, after = _dc_data(seed)
    r = explain_cli("dc_changed_only", graph, before, after, "X3", "--statistic", "std",
                    "--seed", str(seed))  # fmt: skip
    if r is None:
        return False
    c = contributions(r)
    invariant = {n["node"] for n in r["nodes"] if not n["changed"]}
    return all(c[n] == 0 for n in invariant) and c["X3"] > c["X2"] > 0


def _dc_nonlinear(seed: int, n: int = 1000):
    """X2 = exp(0.5 X0) + noise gets +4; the mean of X3 = 0.5 X2 rises by 2."""
    rng = np.random.default_rng(seed)

    def period(shift: float) -> pd.DataFrame:
        x0 = rng.uniform(-1, 1, n)
        x1 = 2 * x0 + rng.normal(0, 0.1, n)
        x2 = shift + np.exp(0.5 * x0) + rng.normal(0, 0.1, n)
        return pd.DataFrame({"X0": x0, "X1": x1, "X2": x2, "X3": 0.5 * x2 + rng.normal(0, 0.1, n)})

    return nx.DiGraph([("X0", "X1"), ("X0", "X2"), ("X2", "X3")]), period(0.0), period(4.0)


def dc_nonlinear_mean(seed: int) -> bool:
    """X2's contribution is 2, X0's and X3's 0 (default players, as in ``dc_ranking``; X3's
    parent moves out of its before range, so X3's unchanged mechanism is seen there only
    in the after rows)."""
    graph, before, after = _dc_nonlinear(seed)
    r = explain_cli("dc_nonlinear_mean", graph, before, after, "X3", "--seed", str(seed))
    if r is None:
        return False
    c = contributions(r)
    return abs(c["X2"] - 2) <= 0.05 and abs(c["X0"]) <= 0.05 and abs(c["X3"]) <= 0.05


def dowhy_dc_nonlinear_mean(seed: int) -> bool:
    from dowhy import gcm

    graph, before, after = _dc_nonlinear(seed)
    np.random.seed(seed)
    scm = gcm.ProbabilisticCausalModel(graph)
    out = gcm.distribution_change(
        scm, before, after, "X3",
        difference_estimation_func=lambda x, y: np.mean(y) - np.mean(x),
        auto_assignment_quality=gcm.auto.AssignmentQuality.GOOD,
    )  # fmt: skip
    return abs(out["X2"] - 2) <= 0.05 and abs(out["X0"]) <= 0.05 and abs(out["X3"]) <= 0.05


def dowhy_dc_ranking(seed: int) -> bool:
    from dowhy import gcm

    graph, before, after = _dc_data(seed)
    np.random.seed(seed)
    scm = gcm.ProbabilisticCausalModel(graph)
    gcm.auto.assign_causal_mechanisms(scm, before)
    out = gcm.distribution_change(
        scm, before, after, "X3", difference_estimation_func=lambda x, y: np.std(y) - np.std(x)
    )
    total = sum(abs(v) for v in out.values())
    return out["X3"] > out["X2"] > out["X0"] and abs(out["X0"]) <= 0.15 * total


def _pair(seed: int, kind: str, n: int = 500):
    """DoWhy's mechanism-change-test data: a coefficient, a root's range, a noise level."""
    rng = np.random.default_rng(seed)
    x0 = rng.uniform(-1, 1, n)
    before = pd.DataFrame({"X0": x0, "X1": (0.5 if kind == "coefficient" else 2) * x0
                           + rng.normal(0, 0.1, n)})  # fmt: skip
    x0 = rng.uniform(-2, 2, n) if kind == "root" else rng.uniform(-1, 1, n)
    coefficient = 2.0
    noise = 1.0 if kind == "noise" else 0.1
    after = pd.DataFrame({"X0": x0, "X1": coefficient * x0 + rng.normal(0, noise, n)})
    return nx.DiGraph([("X0", "X1")]), before, after


def change_test(kind: str) -> Callable[[int], bool]:
    """The changed node is flagged, and the same data against itself flags nothing."""
    node = "X0" if kind == "root" else "X1"

    def run(seed: int) -> bool:
        graph, before, after = _pair(seed, kind)
        r = explain_cli(f"change_{kind}", graph, before, after, "X1", "--seed", str(seed))
        same = explain_cli(f"change_{kind}_same", graph, before, before, "X1")
        return r is not None and same is not None and node in flagged(r) and not flagged(same)

    return run


def dowhy_change_test(kind: str) -> Callable[[int], bool]:
    """DoWhy's ``mechanism_change_test`` on the same data, as its test asserts it."""

    def run(seed: int) -> bool:
        from dowhy.gcm.distribution_change import mechanism_change_test

        graph, before, after = _pair(seed, kind)
        np.random.seed(seed)
        if kind == "root":
            b, a = before.X0.to_numpy(), after.X0.to_numpy()
            return mechanism_change_test(b, a) <= 0.05 and mechanism_change_test(b, b) > 0.05
        yb, ya = before.X1.to_numpy(), after.X1.to_numpy()
        xb, xa = before.X0.to_numpy(), after.X0.to_numpy()
        return (
            mechanism_change_test(yb, ya, xb, xa) <= 0.05
            and mechanism_change_test(yb, yb, xb, xb) > 0.05
        )

    return run


def _robust_data(seed: int, n: int = 1000):
    """DoWhy's distribution_change_robust data: X1 -> X2, X1 -> Y, X2 -> Y; every
    mechanism changes a little; the true Shapley values of the mean of Y are known."""
    rng = np.random.default_rng(seed)

    def period(new: bool) -> pd.DataFrame:
        x1 = rng.normal(1, 1.1 if new else 1.0, n)
        x2 = (0.2 if new else 0.5) * x1 + rng.normal(0, 1, n)
        y = x1 + x2 + 0.25 * x1**2 + (-0.25 if new else 0.25) * x2**2 + rng.normal(0, 1, n)
        return pd.DataFrame({"X1": x1, "X2": x2, "Y": y})

    return nx.DiGraph([("X1", "X2"), ("X1", "Y"), ("X2", "Y")]), period(False), period(True)


def _true_robust_shapley() -> dict[str, float]:
    """Exact Shapley values of E[Y] over the three swaps, from the closed-form moments."""

    def theta(swapped: frozenset) -> float:
        m1, m1sq = (1.0, 2.21) if "X1" in swapped else (1.0, 2.0)
        b = 0.2 if "X2" in swapped else 0.5
        m2, m2sq = b * m1, b**2 * m1sq + 1.0
        sign = -0.25 if "Y" in swapped else 0.25
        return m1 + m2 + 0.25 * m1sq + sign * m2sq

    return _shapley3(theta)


def _sample_robust_shapley(before: pd.DataFrame, after: pd.DataFrame) -> dict[str, float]:
    """The same Shapley values with every mechanism in its true form, its parameters fitted
    on each period's rows (X1's first two moments; least squares of X2 on X1 and of Y on
    X1, X2 and their squares): what 1,000 rows determine. DoWhy's test asserts 0.1 around
    the population values on one data set (``np.random.seed(0)``, rerun by ``flaky`` with
    the same data). Across seeds, the values the rows determine stray from the population
    ones by more than 0.1 on 30 % of seeds (of 300; X1's alone, SD 0.09, on 28 %: a method
    that knew the true mechanisms of X2 and Y and read X1's distribution from the rows
    would fail), so a port to many seeds asks for 0.1 around what the rows determine."""

    def fit(d: pd.DataFrame):
        x1, x2 = d.X1.to_numpy(), d.X2.to_numpy()
        k, c = np.polyfit(x1, x2, 1)
        v = float(np.mean((x2 - k * x1 - c) ** 2))
        design = np.column_stack([np.ones_like(x1), x1, x2, x1**2, x2**2])
        a = np.linalg.lstsq(design, d.Y.to_numpy(), rcond=None)[0]
        return (float(np.mean(x1)), float(np.mean(x1**2))), (k, c, v), a

    old, new = fit(before), fit(after)

    def theta(swapped: frozenset) -> float:
        m1, m1sq = (new if "X1" in swapped else old)[0]
        k, c, v = (new if "X2" in swapped else old)[1]
        a = (new if "Y" in swapped else old)[2]
        m2, m2sq = k * m1 + c, k**2 * m1sq + 2 * k * c * m1 + c**2 + v
        return a[0] + a[1] * m1 + a[2] * m2 + a[3] * m1sq + a[4] * m2sq

    return _shapley3(theta)


def _shapley3(theta: Callable[[frozenset], float]) -> dict[str, float]:
    players = ["X1", "X2", "Y"]
    out = dict.fromkeys(players, 0.0)
    orders = list(itertools.permutations(players))
    for order in orders:
        done: frozenset = frozenset()
        for p in order:
            out[p] += (theta(done | {p}) - theta(done)) / len(orders)
            done = done | {p}
    return out


def robust_shapley(seed: int) -> bool:
    graph, before, after = _robust_data(seed)
    r = explain_cli("robust_shapley", graph, before, after, "Y", "--attribute-to", "all",
                    "--seed", str(seed))  # fmt: skip
    if r is None:
        return False
    c, truth = contributions(r), _sample_robust_shapley(before, after)
    return all(abs(c[n] - truth[n]) <= 0.1 for n in truth)


def dowhy_robust_shapley(seed: int) -> bool:
    from dowhy import gcm
    from dowhy.gcm.distribution_change_robust import distribution_change_robust

    graph, before, after = _robust_data(seed)
    np.random.seed(seed)
    scm = gcm.ProbabilisticCausalModel(graph)
    gcm.auto.assign_causal_mechanisms(scm, before)
    out = distribution_change_robust(scm, before, after, "Y")
    truth = _sample_robust_shapley(before, after)
    return all(abs(out[n] - truth[n]) <= 0.1 for n in truth)


def _chain_rows():
    """DoWhy's linear-chain anomaly test: X0 -> X1 -> X2 -> X3, unit noise; rows whose root
    causes are X1; X0; X0 and X3 (each +10 to the noise)."""
    anomalies = pd.DataFrame(
        {"X0": [0, 10, 10], "X1": [10, 10, 10], "X2": [10, 10, 10], "X3": [10, 10, 20]}
    ).astype(float)
    return nx.DiGraph([("X0", "X1"), ("X1", "X2"), ("X2", "X3")]), anomalies, [
        {"X1"}, {"X0"}, {"X0", "X3"}
    ]  # fmt: skip


def _chain_reference(seed: int, n: int = 5000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x0 = rng.normal(size=n)
    x1 = x0 + rng.normal(size=n)
    x2 = x1 + rng.normal(size=n)
    return pd.DataFrame({"X0": x0, "X1": x1, "X2": x2, "X3": x2 + rng.normal(size=n)})


def _nonlinear_rows():
    """DoWhy's nonlinear anomaly test: X1 = X0^2 + N, X3 = (X1 + X2)^2 + N, X2 uniform;
    root causes X0; X0 and X1; X2 and X3."""
    anomalies = pd.DataFrame(
        {"X0": [10, 10, 0], "X1": [100, 110, 0], "X2": [0, 0, 10], "X3": [10000, 12100, 110]}
    ).astype(float)
    return nx.DiGraph([("X0", "X1"), ("X1", "X3"), ("X2", "X3")]), anomalies, [
        {"X0"}, {"X0", "X1"}, {"X2", "X3"}
    ]  # fmt: skip


def _nonlinear_reference(seed: int, n: int = 10000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x0 = rng.normal(size=n)
    x1 = x0**2 + rng.normal(size=n)
    x2 = rng.uniform(-5, 5, n)
    return pd.DataFrame({"X0": x0, "X1": x1, "X2": x2, "X3": (x1 + x2) ** 2 + rng.normal(size=n)})


def anomaly_case(rows: Callable, reference: Callable, name: str) -> Callable[[int], bool]:
    """Each row's top causes are its planted ones (as many as were planted)."""

    def run(seed: int) -> bool:
        graph, anomalies, truth = rows()
        r = anomaly_cli(name, graph, reference(seed), anomalies, "X3", "--attribute", "all",
                        "--seed", str(seed))  # fmt: skip
        if r is None:
            return False
        rows_out = r["anomalies"]
        got = [set(ranked_causes(row)[: len(t)]) for row, t in zip(rows_out, truth, strict=True)]
        return got == truth

    return run


def dowhy_anomaly_case(rows: Callable, reference: Callable) -> Callable[[int], bool]:
    def run(seed: int) -> bool:
        from dowhy import gcm

        graph, anomalies, truth = rows()
        data = reference(seed)
        np.random.seed(seed)
        scm = gcm.InvertibleStructuralCausalModel(graph)
        gcm.auto.assign_causal_mechanisms(scm, data)
        gcm.fit(scm, data)
        scores = gcm.attribute_anomalies(scm, "X3", anomalies)
        got = []
        for i, t in enumerate(truth):
            order = sorted(scores, key=lambda n: -scores[n][i])
            got.append(set(order[: len(t)]))
        return got == truth

    return run


DOWHY_CASES = [
    Case("distribution_change: X3 > X2 > X0", dc_ranking, dowhy_dc_ranking),
    Case("distribution_change: flags X2, X3 only", dc_flags, dowhy_dc_flags),
    Case("distribution_change: invariant nodes get 0", dc_changed_only),
    Case("distribution_change: nonlinear mean, X2 = 2", dc_nonlinear_mean, dowhy_dc_nonlinear_mean),
    Case(
        "mechanism_change_test: coefficient",
        change_test("coefficient"),
        dowhy_change_test("coefficient"),
    ),
    Case("mechanism_change_test: root range", change_test("root"), dowhy_change_test("root")),
    Case("mechanism_change_test: noise level", change_test("noise"), dowhy_change_test("noise")),
    Case("distribution_change_robust: Shapley ±0.1", robust_shapley, dowhy_robust_shapley),
    Case(
        "attribute_anomalies: linear chain",
        anomaly_case(_chain_rows, _chain_reference, "aa_chain"),
        dowhy_anomaly_case(_chain_rows, _chain_reference),
    ),  # fmt: skip
    Case(
        "attribute_anomalies: nonlinear",
        anomaly_case(_nonlinear_rows, _nonlinear_reference, "aa_nonlinear"),
        dowhy_anomaly_case(_nonlinear_rows, _nonlinear_reference),
    ),  # fmt: skip
]


def quiet_dowhy() -> None:
    with contextlib.suppress(ImportError):
        from dowhy import gcm

        gcm.config.disable_progress_bars()


def run_dowhy_tests(seeds: int, with_dowhy: bool) -> dict:
    if with_dowhy:
        quiet_dowhy()
    print(f"\n== DoWhy's own tests, ported ({seeds} seeds each) ==")
    print(f"{'case':52s} {'ours':>6s} {'DoWhy':>6s}")
    ours_total = dowhy_total = dowhy_runs = 0
    rows = []
    for case in DOWHY_CASES:
        ours = sum(_safe(case.run, s) for s in range(seeds))
        theirs = None
        if with_dowhy and case.dowhy is not None:
            theirs = sum(_safe(case.dowhy, s) for s in range(seeds))
            dowhy_total += theirs
            dowhy_runs += seeds
        ours_total += ours
        shown = "" if theirs is None else f"{theirs}/{seeds}"
        print(f"{case.name:52s} {ours:>4}/{seeds} {shown:>6s}", flush=True)
        rows.append({"case": case.name, "ours": ours, "dowhy": theirs, "seeds": seeds})
    n = len(DOWHY_CASES) * seeds
    print(f"ours: {ours_total}/{n} case-seeds ({ours_total / n:.0%}); every seed: "
          f"{sum(r['ours'] == seeds for r in rows)}/{len(rows)} cases")  # fmt: skip
    if dowhy_runs:
        print(f"DoWhy on its comparable cases: {dowhy_total}/{dowhy_runs}")
    return {"source": "dowhy", "cases": rows, "passed": ours_total, "total": n}


def _safe(fn: Callable[[int], bool], seed: int) -> bool:
    try:
        return bool(fn(seed))
    except Exception as err:  # a failure of the harness or of DoWhy counts as a miss
        print(f"    {fn.__name__} seed {seed}: {type(err).__name__}: {err}"[:200])
        return False


# ---------------------------------------------------------------- PyRCA's simulator


@contextlib.contextmanager
def seeded_numpy(seed: int):
    """PyRCA draws from the legacy global generator and from unseeded ``default_rng()``
    calls; both are seeded here so that a case can be rerun."""
    original = np.random.default_rng
    counter = itertools.count()
    np.random.seed(seed)
    np.random.default_rng = lambda s=None: original(s if s is not None else [seed, next(counter)])
    try:
        yield
    finally:
        np.random.default_rng = original


def pyrca_case(func: str, seed: int, n_normal: int = 2000, n_fault: int = 1000):
    """A PyRCA world: graph, normal rows, fault rows, the faulty nodes, and how the faults
    were made (None instead of the world when PyRCA's generator raised).

    PyRCA's ``AnomalyDataGen`` doubles the fault until every fault sample of the sink is
    3 sigma out; with bounded mechanisms (sin, tanh) no fault can, and it raises (for every
    seed we tried, also at 1 sigma and 20 samples). For those, the fault rows come from the
    same structural equations and weights with a fixed fault of 3 added at 1-2 random
    nodes (PyRCA's anomaly type 0 at a size it would have started from).
    """
    from pyrca.simulation.data_gen import (
        AnomalyDataGen,
        AnomalyDataGenConfig,
        DAGGen,
        DAGGenConfig,
        DataGen,
        DataGenConfig,
    )

    with seeded_numpy(seed), contextlib.redirect_stdout(io.StringIO()):
        dag = DAGGen(DAGGenConfig(num_node=10, num_edge=15, rng=np.random.default_rng(seed))).gen()
        config = DataGenConfig(dag=dag, noise_type="normal", func_type=func, num_samples=n_normal)
        normal, weights, noise_w, f, noise = DataGen(config).gen()
        how = "PyRCA"
        try:
            sink = normal[:, 0]
            fault_config = AnomalyDataGenConfig(
                parent_weights=weights, noise_weights=noise_w, noise_type=noise, func_type=f,
                baseline=float(sink.mean()), threshold=3 * float(sink.std()),
                num_samples=n_fault, anomaly_type=0,
            )  # fmt: skip
            faulty, fault = AnomalyDataGen(fault_config).gen()
        except Exception:  # PyRCA raises a str (TypeError) when it gives up
            if func not in ("sin", "tanh"):
                return None, "raised"
            faulty, fault = _fixed_fault(weights, noise_w, f, noise, n_fault, seed)
            how = "fixed fault"
    names = [f"X{i}" for i in range(dag.shape[0])]
    graph = nx.DiGraph([(names[i], names[j]) for i, j in zip(*np.nonzero(dag), strict=True)])
    frames = [pd.DataFrame(d, columns=names) for d in (normal, faulty)]
    causes = {names[i] for i in np.nonzero(fault)[0]}
    return (graph, frames[0], frames[1], causes), how


def _fixed_fault(weights, noise_w, f, noise, n: int, seed: int):
    """PyRCA's type-0 fault equations with a fixed fault of 3 at 1-2 nodes other than the
    sink (its own choice rule: 1 + Poisson(1) nodes, capped)."""
    rng = np.random.default_rng([seed, 17])
    size = weights.shape[0]
    causes = rng.choice(np.arange(1, size), size=min(rng.poisson(1) + 1, 2), replace=False)
    fault = np.zeros(size)
    fault[causes] = 3.0
    data = np.zeros((n, size))
    for i in range(size - 1, -1, -1):
        parents = np.nonzero(weights[:, i])[0]
        if parents.size:
            data[:, i] = f(data[:, parents]) @ weights[parents, i] + noise_w[i] * noise(n)
        else:
            data[:, i] = noise(n)
        data[:, i] += fault[i]
    return data, fault


def run_pyrca(seeds: int, dowhy_seeds: int) -> dict:
    if importlib.util.find_spec("pyrca") is None:
        print("\n== PyRCA: skipped (python -m pip install --no-deps sfr-pyrca) ==")
        return {"source": "pyrca", "skipped": True}
    print(f"\n== PyRCA's simulator (10 nodes, 15 edges; {seeds} seeds per mechanism) ==")
    print(f"{'mechanism':10s} {'worlds':>6s} {'explain top-1':>13s} {'anomaly top-1':>13s} "
          f"{'false flags':>12s} {'DoWhy top-1':>11s}")  # fmt: skip
    out = {"source": "pyrca", "rows": []}
    for func in ("identity", "square", "sin", "tanh"):
        row = {"func": func, "worlds": 0, "raised": 0, "explain": 0, "anomaly": 0,
               "false": 0, "unchanged": 0, "dowhy": 0, "dowhy_runs": 0}  # fmt: skip
        for seed in range(seeds):
            world, how = pyrca_case(func, seed)
            if world is None:
                row["raised"] += 1
                continue
            row["fixed"] = row.get("fixed", 0) + (how == "fixed fault")
            graph, normal, faulty, causes = world
            row["worlds"] += 1
            case = f"pyrca_{func}_{seed}"
            r = explain_cli(case, graph, normal, faulty, "X0", "--seed", str(seed))
            if r is not None:
                ranked = [n["node"] for n in r["nodes"] if n["ancestor"]]
                row["explain"] += ranked[0] in causes
                row["false"] += len(flagged(r) - causes)
                row["unchanged"] += len(graph) - len(causes)
            a = None
            if how != "fixed fault":
                a = anomaly_cli(f"pyrca_anomaly_{func}_{seed}", graph, normal, faulty.iloc[:10],
                                "X0", "--attribute", "all", "--seed", str(seed))  # fmt: skip
            if how == "fixed fault":  # the sink is not anomalous: no question to answer
                row["anomaly_na"] = row.get("anomaly_na", 0) + 1
            elif a is not None and a["causes"]:
                row["anomaly"] += a["causes"][0]["node"] in causes
            if seed < dowhy_seeds:
                row["dowhy_runs"] += 1
                row["dowhy"] += _safe(functools.partial(_dowhy_top, *world), seed)
        out["rows"].append(row)
        w = max(row["worlds"], 1)
        asked = row["worlds"] - row.get("anomaly_na", 0)
        anomaly = f"{row['anomaly']}/{asked}" if asked else "n/a"
        dowhy = f"{row['dowhy']}/{row['dowhy_runs']}" if row["dowhy_runs"] else ""
        print(f"{func:10s} {row['worlds']:>6d} {row['explain']:>9d}/{w:<3d} "
              f"{anomaly:>13s} {row['false']:>6d}/{row['unchanged']:<5d} "
              f"{dowhy:>11s}" + (f"  (PyRCA raised on {row['raised']})" if row["raised"] else "")
              + (f"  (fixed fault: {row['fixed']})" if row.get("fixed") else ""),
              flush=True)  # fmt: skip
    rows = out["rows"]
    worlds = sum(r["worlds"] for r in rows) or 1
    unchanged = sum(r["unchanged"] for r in rows) or 1
    asked = sum(r["worlds"] - r.get("anomaly_na", 0) for r in rows) or 1
    print(f"all: explain top-1 {sum(r['explain'] for r in rows) / worlds:.0%}, anomaly top-1 "
          f"{sum(r['anomaly'] for r in rows) / asked:.0%} (worlds whose sink is anomalous), "
          "false flags "
          f"{sum(r['false'] for r in rows) / unchanged:.1%} of unchanged mechanisms")  # fmt: skip
    return out


def _dowhy_top(graph, normal, faulty, causes, seed) -> bool:
    from dowhy import gcm

    np.random.seed(seed)
    scm = gcm.ProbabilisticCausalModel(graph)
    gcm.auto.assign_causal_mechanisms(scm, normal)
    out = gcm.distribution_change(
        scm, normal, faulty, "X0", difference_estimation_func=lambda x, y: np.mean(y) - np.mean(x)
    )
    return max(out, key=lambda n: abs(out[n])) in causes


# ---------------------------------------------------------------- Sachs et al. (2005)

SACHS_COLUMNS = {"praf": "Raf", "pmek": "Mek", "plcg": "Plcg", "PIP2": "PIP2", "PIP3": "PIP3",
                 "p44/42": "Erk", "pakts473": "Akt", "PKA": "PKA", "PKC": "PKC", "P38": "P38",
                 "pjnk": "Jnk"}  # fmt: skip
SACHS_EDGES = [("Erk", "Akt"), ("Mek", "Erk"), ("PIP3", "PIP2"), ("PKA", "Akt"), ("PKA", "Erk"),
               ("PKA", "Jnk"), ("PKA", "Mek"), ("PKA", "P38"), ("PKA", "Raf"), ("PKC", "Jnk"),
               ("PKC", "Mek"), ("PKC", "P38"), ("PKC", "PKA"), ("PKC", "Raf"), ("Plcg", "PIP2"),
               ("Plcg", "PIP3"), ("Raf", "Mek")]  # fmt: skip
"""The 17-edge consensus network of Sachs et al. (2005), as in bnlearn's ``sachs``."""
SACHS_BLOCKS = [("CD3/CD28", 853), ("ICAM-2", 902), ("Akt inhibitor", 911),
                ("G0076 (PKC inhibitor)", 723), ("Psitectorigenin (PIP2)", 810),
                ("U0126 (MEK inhibitor)", 799), ("LY294002 (PI3K)", 848),
                ("PMA (PKC activator)", 913), ("beta2cAMP (PKA activator)", 707)]  # fmt: skip
"""The nine general-perturbation files, in the order of the bundled CSV (contiguous)."""


def run_sachs() -> dict:
    spec = importlib.util.find_spec("cdt")
    path = spec and Path(spec.submodule_search_locations[0]) / "data/resources/cyto_full_data.csv"
    if not path or not path.exists():
        print("\n== Sachs: skipped (python -m pip install --no-deps cdt) ==")
        return {"source": "sachs", "skipped": True}
    data = pd.read_csv(path).rename(columns=SACHS_COLUMNS)
    starts = np.cumsum([0] + [n for _, n in SACHS_BLOCKS])
    spans = zip(SACHS_BLOCKS, starts[:-1], starts[1:], strict=True)
    blocks = {name: data.iloc[a:b] for (name, _), a, b in spans}
    graph = nx.DiGraph(SACHS_EDGES)
    before = blocks["CD3/CD28"]
    print("\n== Sachs et al. (2005): CD3/CD28 vs each condition, target Erk ==")
    print(f"{'condition':28s} {'exit':>4s} {'flagged':>7s} {'top (Erk mean)':>16s} "
          f"{'low overlap':>11s}")  # fmt: skip
    rows = []
    for name, after in blocks.items():
        if name == "CD3/CD28":
            continue
        r = explain_cli(f"sachs_{name}", graph, before, after, "Erk")
        code = EXITS[-1][1]
        if r is None:
            rows.append({"condition": name, "exit": code})
            print(f"{name:28s} {code:>4d}")
            continue
        top = next((n["node"] for n in r["nodes"] if n["ancestor"] and n["contribution"]), "-")
        low = sum(1 for n in r["nodes"] if n["overlap"] is not None and n["overlap"] < 0.9)
        rows.append({"condition": name, "exit": code, "flagged": len(flagged(r)), "top": top})
        print(f"{name:28s} {code:>4d} {len(flagged(r)):>4d}/11 {top:>16s} {low:>11d}", flush=True)
    return {"source": "sachs", "rows": rows}


# ---------------------------------------------------------------- our own grid


def run_grid(rows: list[int], seeds: int) -> dict:
    out = {"source": "grid", "rows": []}
    print("\n== our simulator's grid (explain_vs_dowhy.py --tools ours) ==")
    for n_rows in rows:
        with tempfile.TemporaryDirectory() as tmp:
            results = Path(tmp) / "grid.jsonl"
            cmd = [sys.executable, str(HERE / "explain_vs_dowhy.py"), "--tools", "ours",
                   "--rows", str(n_rows), "--nodes", "10,20", "--seeds", str(seeds),
                   "--out", str(results)]  # fmt: skip
            subprocess.run(cmd, capture_output=True, text=True)
            runs = [json.loads(line) for line in results.read_text().splitlines() if line]
        runs = [r for r in runs if r.get("tool") == "ours" and "flagged" in r]
        false = sum(len(r.get("false_flags", [])) for r in runs)
        unchanged = sum(r["nodes"] - len(r.get("changed", [])) for r in runs)
        top = [r for r in runs if r.get("changed")]
        first = sum(bool(r.get("top")) for r in top)  # the planted node(s) lead
        print(
            f"{n_rows:>7} rows: {len(runs)} runs, false flags {false}/{unchanged} "
            f"({false / max(unchanged, 1):.1%}), planted nodes lead {first}/{len(top)}"
        )
        out["rows"].append({"rows": n_rows, "false": false, "unchanged": unchanged,
                            "first": first, "runs": len(top)})  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", default="dowhy,pyrca,sachs,grid",
                        type=lambda s: s.split(","))  # fmt: skip
    parser.add_argument("--seeds", type=int, default=5, help="seeds per DoWhy case")
    parser.add_argument("--pyrca-seeds", type=int, default=6, help="worlds per mechanism")
    parser.add_argument("--dowhy-pyrca-seeds", type=int, default=2, help="DoWhy on these")
    parser.add_argument("--no-dowhy", action="store_true", help="skip DoWhy's own runs")
    parser.add_argument("--grid-rows", default="2000,100000",
                        type=lambda s: [int(x) for x in s.split(",")])  # fmt: skip
    parser.add_argument("--grid-seeds", type=int, default=1)
    parser.add_argument("--out", type=Path, help="append the results as JSON lines here")
    args = parser.parse_args()
    start = time.perf_counter()
    results = []
    if "dowhy" in args.sources:
        results.append(run_dowhy_tests(args.seeds, not args.no_dowhy))
    if "pyrca" in args.sources:
        quiet_dowhy()
        dowhy_seeds = 0 if args.no_dowhy else args.dowhy_pyrca_seeds
        results.append(run_pyrca(args.pyrca_seeds, dowhy_seeds))
    if "sachs" in args.sources:
        results.append(run_sachs())
    if "grid" in args.sources:
        results.append(run_grid(args.grid_rows, args.grid_seeds))
    crashes = [case for case, code in EXITS if code == 3]
    print(f"\nCLI runs: {len(EXITS)}; exit 3: {len(crashes)} {crashes[:5]}; "
          f"other non-zero: {sum(code not in (0, 3) for _, code in EXITS)}; "
          f"{time.perf_counter() - start:.0f} s")  # fmt: skip
    if args.out:
        with args.out.open("a") as fh:
            for r in results:
                fh.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
