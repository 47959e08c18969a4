"""`causal-attrib influence` vs DoWhy's `gcm.intrinsic_causal_influence`: same data, same run.

Random nonlinear ER graphs (our simulator) with 2,000 rows; the target is the last node in
topological order. DoWhy runs with its defaults (auto-assigned mechanisms, 'approx'
prediction model). Printed per size: wall time of each (fitting included), the ratio, the
top node of each, the rank correlation of the contributions, and the totals; peak memory
of this process after ours and after DoWhy.

    python benchmarks/influence_vs_dowhy.py            # 6, 10 and 20 nodes, about 5 min
    python benchmarks/influence_vs_dowhy.py --nodes 20
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import networkx as nx
import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def one(n_nodes: int, seed: int) -> str:
    from dowhy import gcm

    import causal_attrib as ca
    from causal_attrib.synthetic import make_graph, simulate

    gcm.config.disable_progress_bars()
    rng = np.random.default_rng(seed)
    graph = make_graph("er", n_nodes, rng)
    data, _ = simulate(graph, 2000, rng, nonlinear=True)
    target = list(nx.topological_sort(graph))[-1]
    start = time.perf_counter()
    ours = ca.intrinsic_influence(graph, data, target, seed=seed)
    t_ours, mem_ours = time.perf_counter() - start, peak_mb()
    np.random.seed(seed)
    start = time.perf_counter()
    scm = gcm.StructuralCausalModel(graph)
    gcm.auto.assign_causal_mechanisms(scm, data)
    gcm.fit(scm, data)
    theirs = gcm.intrinsic_causal_influence(scm, target)
    t_dowhy, mem_dowhy = time.perf_counter() - start, peak_mb()
    nodes = [n.node for n in ours.nodes]
    ranks = stats.spearmanr([n.contribution for n in ours.nodes], [theirs[n] for n in nodes])
    return (
        f"{n_nodes:>5} {len(nodes):>7} {t_ours:>8.2f} {t_dowhy:>8.1f} {t_dowhy / t_ours:>6.0f}x "
        f"{nodes[0]:>6} {max(theirs, key=theirs.get):>6} {ranks.statistic:>8.2f} "
        f"{ours.total:>8.3f} {sum(theirs.values()):>8.3f} {mem_ours:>8.0f} {mem_dowhy:>8.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", default="6,10,20", type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(
        "nodes players   ours s  dowhy s  ratio  top_us top_do spearman  tot_us  tot_do"
        "  MB_ours MB_dowhy"
    )
    for n in args.nodes:
        print(one(n, args.seed), flush=True)


if __name__ == "__main__":
    main()
