"""Fit once, score many: a saved model against fitting at every incident (issue 28).

Writes a 200-node nonlinear ER graph, its reference (2,000 rows) and 20 incidents of 10 rows
each (a planted culprit per incident), then measures through the installed command line,
each run its own process (wall time from process start to the report, peak RSS):

* ``causal-attrib fit`` once;
* ``causal-attrib anomaly --model`` on each incident;
* ``causal-attrib anomaly --graph --reference --fit-on reference`` on each incident (the
  same answer, fitted every time), and checks the two reports are byte-identical.

Usage: ``python benchmarks/saved_model.py [--nodes 200] [--rows 2000] [--incidents 20]``
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import networkx as nx
import numpy as np

from causal_attrib.synthetic import make_graph, simulate


def run(args: list[str]) -> tuple[float, float, bytes]:
    """Wall seconds, peak RSS (MB) of the child, and its stdout."""
    start = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out = subprocess.run(
        [sys.executable, "-m", "causal_attrib", *args], capture_output=True, check=False
    )
    wall = time.perf_counter() - start
    if out.returncode not in (0, 1):
        raise SystemExit(f"failed ({out.returncode}): {' '.join(args)}\n{out.stderr.decode()}")
    peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    return wall, peak, out.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=200)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--incidents", type=int, default=20)
    opts = parser.parse_args()
    rng = np.random.default_rng(0)
    graph = make_graph("er", opts.nodes, rng)
    target = list(nx.topological_sort(graph))[-1]
    reference, params = simulate(graph, opts.rows, rng, nonlinear=True)
    causes = sorted(nx.ancestors(graph, target))
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        edges = "".join(f"{u},{v}\n" for u, v in graph.edges)
        (d / "g.csv").write_text("source,target\n" + edges)
        reference.to_csv(d / "ref.csv", index=False)
        wall, peak, _ = run(["fit", "-g", d / "g.csv", "-d", d / "ref.csv", "-o", d / "m.model",
                             "-q"])  # fmt: skip
        print(f"fit: {wall:.2f} s, peak {peak:.0f} MB ({opts.nodes} nodes, {opts.rows} rows)")
        saved, fresh, same, hits = [], [], 0, 0
        for k in range(opts.incidents):
            culprit = causes[int(rng.integers(len(causes)))]
            rows, _ = simulate(graph, 10, rng, nonlinear=True, params=params,
                               outliers={culprit: 10.0})  # fmt: skip
            rows.to_csv(d / f"inc{k}.csv", index=False)
            common = ["-a", d / f"inc{k}.csv", "-t", target, "-f", "json", "-q"]
            w1, _, out1 = run(["anomaly", "--model", d / "m.model", *common])
            w2, _, out2 = run(["anomaly", "-g", d / "g.csv", "-r", d / "ref.csv",
                               "--fit-on", "reference", *common])  # fmt: skip
            saved.append(w1)
            fresh.append(w2)
            same += out1 == out2
            hits += _top(out1) == culprit
        ms, mf = statistics.median(saved), statistics.median(fresh)
        print(f"anomaly --model: median {ms:.2f} s per incident (whole process)")
        print(f"anomaly, fitting each time: median {mf:.2f} s per incident")
        total_saved = wall + sum(saved)
        print(f"{opts.incidents} incidents: saved model {total_saved:.1f} s (fit included) vs "
              f"{sum(fresh):.1f} s: {sum(fresh) / total_saved:.1f}x; per incident "
              f"{mf / ms:.1f}x")  # fmt: skip
        print(f"byte-identical reports: {same}/{opts.incidents}; culprit first: "
              f"{hits}/{opts.incidents} (an outlier can cancel on its way to the target)")


def _top(report: bytes) -> str | None:
    causes = json.loads(report)["causes"]
    return causes[0]["node"] if causes else None


if __name__ == "__main__":
    main()
