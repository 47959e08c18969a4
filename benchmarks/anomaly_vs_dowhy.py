"""`causal-attrib anomaly` against `dowhy.gcm.attribute_anomalies`, same data, same run.

Cases: DoWhy's own microservice example (the single outlier against the normal latencies,
target ``Website``, true root cause ``Caching Service``), and synthetic graphs with a planted
outlier. For each: wall time, the node ranked first, and whether it is the planted one.
DoWhy runs with its defaults (``auto.assign_causal_mechanisms`` + ``attribute_anomalies``).

Usage::

    python benchmarks/anomaly_vs_dowhy.py            # microservice + 3 synthetic cases
    python benchmarks/anomaly_vs_dowhy.py --quick    # microservice only
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

from causal_attrib import attribute_anomalies, load_graph
from causal_attrib.synthetic import make_outlier_scenario

ROOT = Path(__file__).resolve().parents[1]
DOWHY_DATA = ROOT.parent / "shared" / "data" / "dowhy_examples"


def run_dowhy(graph, reference: pd.DataFrame, anomalies: pd.DataFrame, target: str):
    from dowhy import gcm

    gcm.config.disable_progress_bars()
    scm = gcm.InvertibleStructuralCausalModel(graph)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gcm.auto.assign_causal_mechanisms(scm, reference)
        gcm.fit(scm, reference)
        scores = gcm.attribute_anomalies(scm, target, anomaly_samples=anomalies)
    return sorted(scores, key=lambda n: -float(scores[n].mean()))


def run_ours(graph, reference, anomalies, target):
    result = attribute_anomalies(graph, reference, anomalies, target, attribute="all")
    return [c.node for c in result.causes]


def timed(func, *args):
    start = time.perf_counter()
    ranked = func(*args)
    return time.perf_counter() - start, ranked


def cases(quick: bool):
    if DOWHY_DATA.is_dir():
        yield (
            "dowhy microservice",
            load_graph(ROOT / "tests" / "graphs" / "dowhy_microservice.dot"),
            pd.read_csv(DOWHY_DATA / "rca_microservice_architecture_latencies.csv"),
            pd.read_csv(DOWHY_DATA / "rca_microservice_architecture_anomaly.csv"),
            "Website",
            "Caching Service",
        )
    if quick:
        return
    for shape, seed in (("chain", 1), ("tree", 2), ("er", 0)):
        sc = make_outlier_scenario(shape, 20, 2000, seed, size=10)
        yield f"{shape} 20 nodes", sc.graph, sc.reference, sc.anomalies, sc.target, sc.culprit


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rows, ratios = [], []
    for name, graph, ref, bad, target, truth in cases(args.quick):
        ours_s, ours = timed(run_ours, graph, ref, bad, target)
        theirs_s, theirs = timed(run_dowhy, graph, ref, bad, target)
        ratios.append(theirs_s / ours_s)
        rows.append(
            {
                "case": name,
                "truth": truth,
                "ours first": ours[0] if ours else None,
                "ours s": round(ours_s, 2),
                "dowhy first": theirs[0],
                "dowhy s": round(theirs_s, 1),
                "speed-up": f"{theirs_s / ours_s:.0f}x",
            }
        )
    print(pd.DataFrame(rows).to_string(index=False))
    if ratios:
        print(f"\nmedian speed-up: {statistics.median(ratios):.0f}x (in-process, after imports)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this process (both libraries): {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
