"""Side-by-side: `causal-attrib explain` vs DoWhy's `gcm.distribution_change`, same data, same run.

Each method runs in its own process (wall time from process start to output, peak RSS of that
process), on synthetic SCMs with a known changed node, and on DoWhy's own example data when
../shared/data/dowhy_examples exists.

    python benchmarks/explain_vs_dowhy.py                 # 40-node tree and chain + DoWhy examples
    python benchmarks/explain_vs_dowhy.py --quick         # skip DoWhy defaults (minutes saved)
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
DOWHY_DATA = ROOT.parent / "shared" / "data" / "dowhy_examples"

DOWHY_SCRIPT = r"""
import json, sys
import networkx as nx, numpy as np, pandas as pd
from dowhy import gcm
graph_file, before, after, target, mode = sys.argv[1:6]
g = nx.read_edgelist(graph_file, create_using=nx.DiGraph, delimiter="\t")
b, a = pd.read_csv(before), pd.read_csv(after)
model = gcm.ProbabilisticCausalModel(g)
kwargs = {}
if mode == "defaults":
    gcm.auto.assign_causal_mechanisms(model, b)
else:  # configured like us: linear additive noise, mean difference, no kernel tests
    for n in g.nodes:
        model.set_causal_mechanism(n, gcm.EmpiricalDistribution() if g.in_degree(n) == 0
                                   else gcm.AdditiveNoiseModel(gcm.ml.create_linear_regressor()))
    kwargs = dict(difference_estimation_func=lambda o, n: np.mean(n) - np.mean(o))
np.random.seed(0)
res = gcm.distribution_change(model, b[list(g.nodes)], a[list(g.nodes)], target, **kwargs)
print(json.dumps(sorted(((str(k), float(v)) for k, v in res.items()), key=lambda kv: -abs(kv[1]))))
"""


MEASURE = (
    "import resource, subprocess, sys\n"
    "out = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "sys.stdout.write(out.stdout)\n"
    "sys.stderr.write(out.stderr)\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(out.returncode)\n"
)


def run(cmd: list[str]) -> tuple[float, float, str]:
    """Wall seconds and peak RSS (MB) of one process, measured by a fresh wrapper process
    whose only child it is, and the process's stdout."""
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", MEASURE, *cmd], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if out.returncode != 0:
        raise RuntimeError(f"{cmd[:4]} failed: {out.stderr.strip()[-500:]}")
    peak_kb = float(out.stderr.strip().splitlines()[-1])
    return wall, peak_kb / 1024.0, out.stdout


def ours(graph: Path, before: Path, after: Path, target: str) -> tuple[float, float, list[str]]:
    wall, mem, out = run(
        [
            sys.executable,
            "-m",
            "causal_attrib",
            "explain",
            "--graph",
            str(graph),
            "--graph-format",
            "edgelist",
            "--before",
            str(before),
            "--after",
            str(after),
            "--target",
            target,
            "--format",
            "json",
            "--quiet",
        ]
    )
    return wall, mem, [n["node"] for n in json.loads(out)["nodes"]]


def dowhy(graph_tsv: Path, before: Path, after: Path, target: str, mode: str):
    wall, mem, out = run(
        [sys.executable, "-c", DOWHY_SCRIPT, str(graph_tsv), str(before), str(after), target, mode]
    )
    return wall, mem, [k for k, _ in json.loads(out.strip().splitlines()[-1])]


def write_case(tmp: Path, name: str, graph: nx.DiGraph, before, after):
    edges = tmp / f"{name}.csv"
    edges.write_text("cause,effect\n" + "".join(f"{u},{v}\n" for u, v in graph.edges))
    tsv = tmp / f"{name}.tsv"
    tsv.write_text("".join(f"{u}\t{v}\n" for u, v in graph.edges))
    b, a = tmp / f"{name}_before.csv", tmp / f"{name}_after.csv"
    before.to_csv(b, index=False)
    after.to_csv(a, index=False)
    return edges, tsv, b, a


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=40)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="skip DoWhy defaults")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from causal_attrib.synthetic import make_scenario

    modes = ["configured"] + ([] if args.quick else ["defaults"])
    rows = []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        cases = []
        for shape in ["tree", "chain"]:
            for seed in range(args.seeds):
                sc = make_scenario(shape, args.nodes, args.rows, seed)
                files = write_case(tmp, f"{shape}{seed}", sc.graph, sc.before, sc.after)
                cases.append(
                    (f"{shape}-{args.nodes}x{args.rows} s{seed}", files, sc.target, sc.changed[0])
                )
        if DOWHY_DATA.is_dir():
            import pandas as pd

            from causal_attrib.graph_io import load_graph

            g = load_graph(ROOT / "tests" / "graphs" / "dowhy_microservice.dot")
            g = nx.relabel_nodes(g, lambda n: n.replace(" ", "_"))
            b = pd.read_csv(DOWHY_DATA / "rca_microservice_architecture_latencies.csv")
            a = pd.read_csv(DOWHY_DATA / "rca_microservice_architecture_anomaly_1000.csv")
            b.columns = a.columns = [c.replace(" ", "_") for c in b.columns]
            files = write_case(tmp, "micro", g, b, a)
            cases.append(("dowhy microservice", files, "Website", "Caching_Service"))
        for label, (edges, tsv, b, a), target, truth in cases:
            wall, mem, ranking = ours(edges, b, a, target)
            row = {
                "case": label,
                "ours_s": wall,
                "ours_mb": mem,
                "ours_rank": ranking.index(truth) + 1,
            }
            for mode in modes:
                w, m, r = dowhy(tsv, b, a, target, mode)
                row[f"{mode}_s"], row[f"{mode}_mb"] = w, m
                row[f"{mode}_rank"] = r.index(truth) + 1 if truth in r else None
            rows.append(row)
            print(
                json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in row.items()}),
                flush=True,
            )
    for mode in modes:
        ratios = [r[f"{mode}_s"] / r["ours_s"] for r in rows]
        print(
            f"median speed-up vs DoWhy {mode}: {statistics.median(ratios):.1f}x "
            f"(over {len(ratios)} cases)"
        )
    print("wall = process start to output; peak memory = max RSS of that process alone.")


if __name__ == "__main__":
    main()
