"""At the edges (issue 22): many changed mechanisms, many ancestors, big graphs to check.

    python benchmarks/edges.py                    # every case, 3 seeds each
    python benchmarks/edges.py --cases explain --seeds 5

Times are of the analysis in this process (the data are generated first), the median over
seeds with the range beside it. For ``explain`` the same games are also valued with plain
antithetic orderings (no strata), in the same run, and the ratio is printed; DoWhy is not
run here (at 200 nodes it takes hours; ``explain_vs_dowhy.py`` has the 40-node ratio).

- ``explain``: 200-node nonlinear ER graphs, 2,000 rows, 15 / 30 / 50 changed mechanisms.
  Printed: seconds, orderings used, the largest standard error as a share of the fitted
  change, and whether a planted node is ranked first among the contributions.
- ``anomaly``: 200-node nonlinear ER graph, 2,000 reference rows, 10 anomalous rows,
  ``attribute="all"``. Printed: seconds, and whether the planted culprit is the top cause.
- ``check``: 100-node nonlinear ER graph, 20,000 rows. Printed: seconds and the verdict.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import causal_attrib.stats.shapley as shapley  # noqa: E402
from causal_attrib import attribute_anomalies, check_graph, explain  # noqa: E402
from causal_attrib.synthetic import make_outlier_scenario, make_scenario  # noqa: E402


def timed(func, *args, **kwargs):
    """The result and the wall seconds of one call."""
    start = time.perf_counter()
    out = func(*args, **kwargs)
    return out, time.perf_counter() - start


def explain_case(changed: int, seed: int, strata: bool) -> dict:
    """One 200-node game: seconds, orderings, largest error share, planted node first."""
    s = make_scenario("er", 200, 2000, seed, n_changes=changed, nonlinear=True)
    saved = shapley.STRATIFIED_PLAYERS
    shapley.STRATIFIED_PLAYERS = saved if strata else 0
    try:
        r, seconds = timed(explain, s.graph, s.before, s.after, s.target)
    finally:
        shapley.STRATIFIED_PLAYERS = saved
    change = abs(r.fitted_after - r.fitted_before)
    error = max((n.standard_error or 0.0) for n in r.nodes)
    ranked = [n.node for n in r.nodes if n.contribution]
    return {
        "seconds": seconds,
        "orderings": r.settings.get("orderings", 0),
        "error": error / change if change else 0.0,
        "planted_first": bool(ranked) and ranked[0] in s.changed,
    }


def summary(runs: list[dict], key: str) -> str:
    """Median (range) of one figure over seeds."""
    values = [r[key] for r in runs]
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def explain_cases(seeds: list[int]) -> None:
    """Each case with strata (the default) and with plain antithetic orderings."""
    print("| changed | seed | strata: s | orderings | largest SE | plain: s | orderings | "
          "largest SE | plain / strata | planted first |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    for changed in (15, 30, 50):
        for seed in seeds:
            a = explain_case(changed, seed, strata=True)
            b = explain_case(changed, seed, strata=False)
            print(
                f"| {changed} | {seed} | {a['seconds']:.2f} | {a['orderings']} | "
                f"{a['error']:.2%} | {b['seconds']:.2f} | {b['orderings']} | {b['error']:.2%} | "
                f"{b['seconds'] / a['seconds']:.1f}x | {'yes' if a['planted_first'] else 'no'} |"
            )


def anomaly_cases(seeds: list[int]) -> None:
    runs = []
    for seed in seeds:
        s = make_outlier_scenario("er", 200, 2000, seed, n_anomalies=10, nonlinear=True)
        r, seconds = timed(
            attribute_anomalies, s.graph, s.reference, s.anomalies, s.target, attribute="all"
        )
        top = r.causes[0].node if r.causes else None
        runs.append({"seconds": seconds, "hit": top == s.culprit})
    hits = sum(r["hit"] for r in runs)
    print(f"anomaly, 200 nodes x 10 rows, attribute all: {summary(runs, 'seconds')} s; "
          f"culprit is the top cause in {hits}/{len(runs)}")  # fmt: skip


def check_cases(seeds: list[int]) -> None:
    runs = []
    for seed in seeds:
        s = make_scenario("er", 100, 20_000, seed, nonlinear=True)
        r, seconds = timed(check_graph, s.graph, s.before, seed=seed)
        runs.append({"seconds": seconds, "verdict": str(r.verdict)})
    verdicts = sorted({r["verdict"] for r in runs})
    print(f"check, 100 nodes x 20,000 rows: {summary(runs, 'seconds')} s; verdicts {verdicts}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="explain,anomaly,check")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    seeds = list(range(1, args.seeds + 1))
    cases = args.cases.split(",")
    if "explain" in cases:
        explain_cases(seeds)
    if "anomaly" in cases:
        anomaly_cases(seeds)
    if "check" in cases:
        check_cases(seeds)


if __name__ == "__main__":
    main()
