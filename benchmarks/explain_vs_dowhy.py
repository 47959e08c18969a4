"""`causal-attrib explain` vs DoWhy's `gcm.distribution_change`: same data, same run.

Synthetic SCMs with ground truth (chains, random trees, Erdos-Renyi DAGs; linear, and
nonlinear with heteroscedastic noise and ``max`` of parents; one changed mechanism by a mean
shift, a scale change or a changed coefficient; two changed mechanisms; a no-change
control), plus DoWhy's microservice example when ../shared/data/dowhy_examples exists. Every
method runs in its own process: wall time is process start to output, memory that process's
peak RSS. Each row is appended to ``--out`` (JSON lines) as soon as it is measured, and rows
already there are not measured again, so a long run can be stopped and resumed.

    python benchmarks/explain_vs_dowhy.py --quick                  # about 5 minutes
    python benchmarks/explain_vs_dowhy.py                          # the full grid, hours
    python benchmarks/explain_vs_dowhy.py --report benchmarks/RESULTS.md   # tables from --out
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import networkx as nx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DOWHY_DATA = ROOT.parent / "shared" / "data" / "dowhy_examples"
STATISTIC = {"shift": "mean", "scale": "std", "coef": "std", "two": "mean", "none": "mean"}
"""The statistic explained per kind of change: a scale change, and a changed coefficient on
a zero-mean parent, move the spread of the target, not its mean."""

DOWHY_SCRIPT = r"""
import json, sys
import networkx as nx, numpy as np, pandas as pd
from dowhy import gcm
graph_file, before, after, target, mode, statistic = sys.argv[1:7]
g = nx.read_edgelist(graph_file, create_using=nx.DiGraph, delimiter="\t")
b, a = pd.read_csv(before), pd.read_csv(after)
model = gcm.ProbabilisticCausalModel(g)
kwargs = {}
if mode == "defaults":
    gcm.auto.assign_causal_mechanisms(model, b)
else:  # configured like us: piecewise-linear splines with linear extrapolation, our statistic
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import SplineTransformer
    for n in g.nodes:
        if g.in_degree(n) == 0:
            model.set_causal_mechanism(n, gcm.EmpiricalDistribution())
        else:
            f = make_pipeline(SplineTransformer(n_knots=6, degree=1, extrapolation="linear"),
                              LinearRegression())
            model.set_causal_mechanism(n, gcm.AdditiveNoiseModel(gcm.ml.SklearnRegressionModel(f)))
    stat = np.mean if statistic == "mean" else (lambda x: np.std(x, ddof=1))
    kwargs = dict(difference_estimation_func=lambda o, n: stat(n) - stat(o))
np.random.seed(0)
res, changed, _, _ = gcm.distribution_change(
    model, b[list(g.nodes)], a[list(g.nodes)], target, return_additional_info=True, **kwargs)
ranking = sorted(((str(k), float(v)) for k, v in res.items()), key=lambda kv: -abs(kv[1]))
print(json.dumps({"ranking": [k for k, _ in ranking],
                  "flagged": sorted(str(k) for k, v in changed.items() if v)}))
"""

MEASURE = (
    "import resource, subprocess, sys\n"
    "out = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "sys.stdout.write(out.stdout)\n"
    "sys.stderr.write(out.stderr)\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(out.returncode)\n"
)


def run(cmd: list[str], timeout: float | None = None) -> tuple[float, float, str]:
    """Wall seconds and peak RSS (MB) of one process, measured by a fresh wrapper process
    whose only child it is, and the process's stdout."""
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, *cmd], capture_output=True, text=True, timeout=timeout
    )
    wall = time.perf_counter() - start
    if out.returncode != 0:
        raise RuntimeError(f"{cmd[:4]} failed: {out.stderr.strip()[-500:]}")
    peak_kb = float(out.stderr.strip().splitlines()[-1])
    return wall, peak_kb / 1024.0, out.stdout


def ours(files: dict, target: str, statistic: str) -> dict:
    wall, mem, out = run(
        [
            *("causal-attrib", "explain", "--graph", str(files["edges"])),
            *("--graph-format", "edgelist", "--before", str(files["before"])),
            *("--after", str(files["after"]), "--target", target),
            *("--statistic", statistic, "--format", "json", "--quiet"),
        ]
    )
    report = json.loads(out)
    return {
        "s": wall,
        "mb": mem,
        "ranking": [n["node"] for n in report["nodes"]],
        "flagged": sorted(n["node"] for n in report["nodes"] if n["changed"]),
    }


def dowhy(files: dict, target: str, statistic: str, mode: str, timeout: float) -> dict:
    cmd = [sys.executable, "-c", DOWHY_SCRIPT, str(files["tsv"]), str(files["before"])]
    try:
        wall, mem, out = run([*cmd, str(files["after"]), target, mode, statistic], timeout)
    except subprocess.TimeoutExpired:
        return {"s": None, "timeout": timeout}
    return {"s": wall, "mb": mem, **json.loads(out.strip().splitlines()[-1])}


def write_case(tmp: Path, name: str, graph: nx.DiGraph, before, after) -> dict:
    files = {
        "edges": tmp / f"{name}.csv",
        "tsv": tmp / f"{name}.tsv",
        "before": tmp / f"{name}_before.csv",
        "after": tmp / f"{name}_after.csv",
    }
    files["edges"].write_text("cause,effect\n" + "".join(f"{u},{v}\n" for u, v in graph.edges))
    files["tsv"].write_text("".join(f"{u}\t{v}\n" for u, v in graph.edges))
    before.to_csv(files["before"], index=False)
    after.to_csv(files["after"], index=False)
    return files


def synthetic_cases(args) -> list[dict]:
    cases = []
    grid = itertools.product(
        args.shapes, args.nodes, args.mechanisms, args.rows, args.changes, range(args.seeds)
    )
    for shape, nodes, mech, rows, change, seed in grid:
        cases.append(
            {
                "case": f"{shape}-{nodes}-{mech}-{rows}-{change}-s{seed}",
                "shape": shape,
                "nodes": nodes,
                "mechanism": mech,
                "rows": rows,
                "change": change,
                "seed": seed,
            }
        )
    return cases


def build(case: dict, tmp: Path):
    from causal_attrib.synthetic import make_scenario

    change = case["change"]
    sc = make_scenario(
        case["shape"],
        case["nodes"],
        case["rows"],
        case["seed"],
        n_changes={"none": 0, "two": 2}.get(change, 1),
        change="shift" if change in ("none", "two") else change,
        nonlinear=case["mechanism"] == "nonlinear",
        heteroscedastic=case["mechanism"] == "nonlinear",
    )
    files = write_case(tmp, case["case"], sc.graph, sc.before, sc.after)
    statistic = STATISTIC[change]
    effect, spread = sc.true_effect(statistic) if sc.changed else (0.0, 1.0)
    truth = {
        "target": sc.target,
        "changed": list(sc.changed),
        "statistic": statistic,
        "true_effect": effect,
        # material: the planted change moves the statistic by a tenth of the target's spread
        "material": abs(effect) >= 0.1 * spread,
    }
    return files, truth


def microservice(tmp: Path):
    import pandas as pd

    sys.path.insert(0, str(ROOT))
    from causal_attrib.inputs.graphs import load_graph

    g = load_graph(ROOT / "tests" / "graphs" / "dowhy_microservice.dot")
    g = nx.relabel_nodes(g, lambda n: n.replace(" ", "_"))
    b = pd.read_csv(DOWHY_DATA / "rca_microservice_architecture_latencies.csv")
    a = pd.read_csv(DOWHY_DATA / "rca_microservice_architecture_anomaly_1000.csv")
    b.columns = a.columns = [c.replace(" ", "_") for c in b.columns]
    files = write_case(tmp, "micro", g, b, a)
    truth = {"target": "Website", "changed": ["Caching_Service"], "statistic": "mean"}
    return files, {**truth, "true_effect": None, "material": True}


def score(result: dict, truth: dict) -> dict:
    """Rank of the (first) true node, whether all true nodes lead, and the false flags."""
    if result.get("s") is None:
        return {}
    changed, ranking = truth["changed"], result["ranking"]
    out = {"false_flags": [n for n in result["flagged"] if n not in changed]}
    if changed:
        out["rank"] = ranking.index(changed[0]) + 1 if changed[0] in ranking else None
        out["top"] = set(ranking[: len(changed)]) == set(changed)
        out["missed"] = [n for n in changed if n not in result["flagged"]]
    return out


def load(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default="chain,tree,er", type=lambda s: s.split(","))
    parser.add_argument("--nodes", default="10,20,40,100", type=_ints)
    parser.add_argument("--mechanisms", default="linear,nonlinear", type=lambda s: s.split(","))
    parser.add_argument("--rows", default="2000", type=_ints)
    parser.add_argument(
        "--changes", default="shift,scale,coef,two,none", type=lambda s: s.split(",")
    )
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--tools",
        default="ours,dowhy-defaults,dowhy-configured",
        type=lambda s: s.split(","),
        help="ours, dowhy-defaults, dowhy-configured",
    )
    parser.add_argument("--dowhy-max-nodes", type=int, default=40)
    parser.add_argument("--dowhy-seeds", type=int, default=1, help="DoWhy runs seeds below this")
    parser.add_argument(
        "--dowhy-cases",
        default="-shift-",
        type=lambda s: s.split(","),
        help="DoWhy runs only cases whose name contains one of these (comma-separated)",
    )
    parser.add_argument("--timeout", type=float, default=1800, help="per DoWhy run, seconds")
    parser.add_argument("--microservice", action="store_true", help="add DoWhy's example")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="10 and 20 nodes, 2,000 rows, one seed; DoWhy on one 10-node tree (about 3 min)",
    )
    parser.add_argument("--out", type=Path, default=Path("explain_vs_dowhy.jsonl"))
    parser.add_argument("--report", type=Path, help="write the tables from --out here, stop")
    args = parser.parse_args()
    if args.report:
        from explain_report import write_report

        write_report(load(args.out), args.report, " ".join(sys.argv[1:]))
        return
    if args.quick:
        args.nodes, args.rows, args.seeds = [10, 20], [2000], 1
        args.dowhy_cases = ["tree-10-linear-2000-shift"]
    sys.path.insert(0, str(ROOT))
    done = {(r["case"], r["tool"]) for r in load(args.out)}
    cases = synthetic_cases(args)
    if args.microservice and DOWHY_DATA.is_dir():
        cases.append({"case": "dowhy-microservice", "nodes": 9, "rows": 10000, "seed": 0})
    with tempfile.TemporaryDirectory() as tmpdir, args.out.open("a") as sink:
        tmp = Path(tmpdir)
        for case in cases:
            tools = [t for t in args.tools if (case["case"], t) not in done]
            skip_dowhy = case["nodes"] > args.dowhy_max_nodes or case["seed"] >= args.dowhy_seeds
            if case["case"] != "dowhy-microservice":
                skip_dowhy |= not any(part in case["case"] for part in args.dowhy_cases)
            if skip_dowhy:
                tools = [t for t in tools if not t.startswith("dowhy")]
            if not tools:
                continue
            files, truth = (
                microservice(tmp) if case["case"] == "dowhy-microservice" else build(case, tmp)
            )
            for tool in tools:
                if tool == "ours":
                    result = ours(files, truth["target"], truth["statistic"])
                else:
                    mode = tool.split("-", 1)[1]
                    result = dowhy(files, truth["target"], truth["statistic"], mode, args.timeout)
                row = {**case, "tool": tool, **truth, **result, **score(result, truth)}
                sink.write(json.dumps(row) + "\n")
                sink.flush()
                print(
                    f"{case['case']:<40} {tool:<17} "
                    + (f"{row['s']:7.1f} s {row['mb']:6.0f} MB" if row["s"] else "timeout")
                    + (f"  rank {row.get('rank')}" if truth["changed"] else "")
                    + f"  false flags {len(row.get('false_flags', []))}",
                    flush=True,
                )
    print(f"rows in {args.out}; tables: --report benchmarks/RESULTS.md")


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",")]


def machine() -> str:
    """One line describing this machine (for RESULTS.md)."""
    import dowhy
    import sklearn

    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    return (
        f"{cpu}, {cores} cores, Python {platform.python_version()}, numpy {np.__version__}, "
        f"scikit-learn {sklearn.__version__}, dowhy {dowhy.__version__}, {platform.system()}"
    )


if __name__ == "__main__":
    main()
