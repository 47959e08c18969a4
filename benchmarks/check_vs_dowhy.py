"""`causal-attrib check` against `dowhy.gcm.falsify_graph`, same data, same run.

Cases: DoWhy's microservice example (a seeded sample of its normal latencies) with the true
graph, the graph missing ``Caching Service -> Product Service``, and the graph with that
edge reversed; and synthetic nonlinear Erdős–Rényi graphs with the true graph and one strong
edge dropped. Tools, each in its own process (so peak memory is per tool):

- ``ours``: ``check_graph`` with defaults (GCM test with splines, 100 relabellings);
- ``dowhy``: ``falsify_graph`` with defaults (kernel CI tests, 20 relabellings);
- ``dowhy-gcm``: ``falsify_graph`` with DoWhy's own GCM test and linear regressions, the
  fastest configuration close to ours (20 relabellings).

For each run: wall time of the analysis, peak RSS of the process, the verdict (ours:
consistent / violated / rejected; DoWhy: falsified or not), the share of implications the
data reject at p <= 0.05, the number of violations, and whether the damaged pair is the
strongest violation (ours) or among the violated ones (DoWhy, whose kernel p-values tie at 0).

Usage::

    python benchmarks/check_vs_dowhy.py                  # all cases, DoWhy capped at 900 s
    python benchmarks/check_vs_dowhy.py --quick          # microservice cases, 500 rows
    python benchmarks/check_vs_dowhy.py --rows 2000 --timeout 1800
    python benchmarks/check_vs_dowhy.py --cases er-20-true,er-20-missing --tools ours,dowhy-gcm
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DOWHY_DATA = ROOT.parent / "shared" / "data" / "dowhy_examples"
KEY_EDGE = ("Caching Service", "Product Service")
TOOLS = ("ours", "dowhy", "dowhy-gcm")


def build_case(name: str, rows: int):
    """(graph, data, damaged pair or None) for a case name; deterministic."""
    from causal_attrib import load_graph
    from causal_attrib.synthetic import make_graph, simulate

    if name.startswith("microservice"):
        data = pd.read_csv(DOWHY_DATA / "rca_microservice_architecture_latencies.csv")
        data = data.sample(n=min(rows, len(data)), random_state=0).reset_index(drop=True)
        graph = load_graph(ROOT / "tests" / "graphs" / "dowhy_microservice.dot")
        if name.endswith("missing"):
            graph.remove_edge(*KEY_EDGE)
            return graph, data, KEY_EDGE
        if name.endswith("reversed"):
            graph.remove_edge(*KEY_EDGE)
            graph.add_edge(*KEY_EDGE[::-1])
            return graph, data, KEY_EDGE
        return graph, data, None
    _, size, kind = name.split("-")  # er-10-true, er-10-missing
    rng = np.random.default_rng(int(size))
    graph = make_graph("er", int(size), rng)
    data, params = simulate(graph, rows, rng, nonlinear=True, heteroscedastic=True)
    if kind == "true":
        return graph, data, None
    strong = max(
        graph.edges,
        key=lambda e: (abs(params[e[1]]["w"][params[e[1]]["parents"].index(e[0])]), e),
    )
    graph.remove_edge(*strong)
    return graph, data, strong


def run_ours(graph, data, damaged):
    from causal_attrib import check_graph

    result = check_graph(graph, data, max_rows=None)
    top = result.violations[0] if result.violations else None
    return {
        "verdict": result.verdict,
        "share": result.baseline.given_share if result.baseline else None,
        "violations": len(result.violations),
        "p_value": result.baseline.p_value if result.baseline else None,
        "found": bool(damaged and top and {top.node, top.other} == set(damaged)),
    }


def run_dowhy(graph, data, damaged, gcm_linear: bool):
    from dowhy import gcm
    from dowhy.gcm.falsify import FalsifyConst, falsify_graph

    gcm.config.disable_progress_bars()
    kwargs = {}
    if gcm_linear:
        import functools

        from dowhy.gcm.independence_test.generalised_cov_measure import generalised_cov_based
        from dowhy.gcm.ml import create_linear_regressor

        test = functools.partial(
            generalised_cov_based,
            prediction_model_X=create_linear_regressor,
            prediction_model_Y=create_linear_regressor,
        )
        kwargs = {"independence_test": test, "conditional_independence_test": test}
    np.random.seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = falsify_graph(graph, data, show_progress_bar=False, **kwargs)
    lmc = result.summary[FalsifyConst.VALIDATE_LMC]
    local = lmc[FalsifyConst.LOCAL_VIOLATION_INSIGHT]
    violated = {frozenset(pair) for pair, (_, bad) in local.items() if bad}
    return {
        "verdict": "falsified" if result.falsified else "not falsified",
        "share": lmc[FalsifyConst.F_GIVEN_VIOLATIONS],
        "violations": lmc[FalsifyConst.GIVEN_VIOLATIONS],
        "p_value": lmc[FalsifyConst.P_VALUE],
        "found": bool(damaged and frozenset(damaged) in violated),
    }


def one(case: str, tool: str, rows: int) -> None:
    """Run one tool on one case in this process; print one JSON line."""
    graph, data, damaged = build_case(case, rows)
    start = time.perf_counter()
    if tool == "ours":
        out = run_ours(graph, data, damaged)
    else:
        out = run_dowhy(graph, data, damaged, gcm_linear=tool == "dowhy-gcm")
    out["seconds"] = time.perf_counter() - start
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def spawn(case: str, tool: str, rows: int, timeout: float) -> dict:
    cmd = [sys.executable, __file__, "--one", case, tool, "--rows", str(rows)]
    start = time.perf_counter()
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=True)
    except subprocess.TimeoutExpired:
        return {"timeout": True, "seconds": timeout, "process_s": timeout}
    except subprocess.CalledProcessError as exc:
        tail = exc.stderr.strip().splitlines()[-1:] or ["?"]
        return {"error": tail[0]}
    out = json.loads(done.stdout.strip().splitlines()[-1])
    out["process_s"] = time.perf_counter() - start
    return out


def cases(quick: bool) -> list[str]:
    names = []
    if DOWHY_DATA.is_dir():
        names += ["microservice-true", "microservice-missing", "microservice-reversed"]
    if not quick:
        names += ["er-10-true", "er-10-missing", "er-20-true", "er-20-missing"]
    return names


def fmt(run: dict) -> str:
    if run.get("timeout"):
        return f"> {run['seconds']:.0f} s (timeout)"
    if "error" in run:
        return f"error: {run['error'][:40]}"
    share = "—" if run["share"] is None else f"{run['share'] * 100:.0f} %"
    found = " found" if run["found"] else ""
    return (
        f"{run['seconds']:.1f} s, {run['peak_mb']:.0f} MB, {run['verdict']}, "
        f"{run['violations']} viol., {share}{found}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="microservice cases, 500 rows")
    parser.add_argument("--rows", type=int, default=None, help="rows per case (default 1000)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per DoWhy run")
    parser.add_argument("--tools", default=",".join(TOOLS), help="comma-separated")
    parser.add_argument("--cases", help="comma-separated case names (default: all)")
    parser.add_argument("--one", nargs=2, metavar=("CASE", "TOOL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    rows = args.rows or (500 if args.quick else 1000)
    if args.one:
        one(*args.one, rows)
        return 0
    tools = args.tools.split(",")
    version = sys.version.split()[0]
    print(f"rows per case: {rows}; DoWhy timeout {args.timeout:.0f} s; python {version}")
    print("| case | " + " | ".join(tools) + " | speed-up vs " + ", ".join(tools[1:]) + " |")
    print("|---|" + "---|" * len(tools) + "---|")
    ratios: dict[str, list[float]] = {t: [] for t in tools[1:]}
    for case in args.cases.split(",") if args.cases else cases(args.quick):
        runs = {t: spawn(case, t, rows, args.timeout) for t in tools}
        ours = runs.get("ours", {})
        speed = []
        for t in tools[1:]:
            if "seconds" in ours and "seconds" in runs[t] and "error" not in runs[t]:
                ratio = runs[t]["seconds"] / ours["seconds"]
                ratios[t].append(ratio)
                speed.append(f"{'>' if runs[t].get('timeout') else ''}{ratio:.0f}x")
            else:
                speed.append("—")
        cells = " | ".join(fmt(runs[t]) for t in tools)
        print(f"| {case} | {cells} | {', '.join(speed)} |", flush=True)
    for t, values in ratios.items():
        if values:
            print(
                f"median speed-up vs {t}: {statistics.median(values):.0f}x over {len(values)} cases"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
