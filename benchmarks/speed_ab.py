"""A/B of two checkouts on issue 28's speed cases, interleaved in one run, outputs compared.

    python benchmarks/speed_ab.py --base /work/wt/speed-base [--reps 2] [--cases ...]

Each run is its own process with ``PYTHONPATH`` set to one checkout (so its code wins over
an installed copy); A and B alternate, so a busy machine slows both alike. Printed per case
and checkout: median wall seconds and median CPU seconds of the child (user + system,
threads included: steadier than wall time on a shared machine), and whether the two
checkouts' outputs are byte-identical.

Cases (``--cases``):

- ``explain40``: ``causal-attrib explain`` on the 40-node shift cases of
  ``explain_vs_dowhy.py`` (chain, tree, ER; linear and nonlinear; 2,000 rows), whole process.
- ``explain200``: ``explain`` on a 200-node nonlinear ER graph, 5,000 rows, 30 changed
  mechanisms (``make_scenario`` seed 1), in one process, JSON of the result compared.
- ``anomaly200``: ``attribute_anomalies(attribute="all")`` on 200 nodes x 10 rows
  (``make_outlier_scenario`` ER seed 1, as ``edges.py``), in one process.
- ``saved``: ``causal-attrib anomaly --model`` on 10 rows of a 200-node graph (as
  ``saved_model.py``; the model is fitted once with the base checkout), whole process.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
IN_PROCESS = """
import json, sys
from causal_attrib import attribute_anomalies, explain
from causal_attrib.synthetic import make_outlier_scenario, make_scenario
if sys.argv[1] == "anomaly200":
    s = make_outlier_scenario("er", 200, 2000, 1, n_anomalies=10, nonlinear=True)
    r = attribute_anomalies(s.graph, s.reference, s.anomalies, s.target, attribute="all")
else:
    s = make_scenario("er", 200, 5000, 1, n_changes=30, nonlinear=True)
    r = explain(s.graph, s.before, s.after, s.target)
print(json.dumps(r.to_dict(), sort_keys=True, default=str))
"""
SETUP_40 = """
import json, sys
sys.path.insert(0, sys.argv[2])
import explain_vs_dowhy as e
from pathlib import Path
out = {}
for shape in ("chain", "tree", "er"):
    for mech in ("linear", "nonlinear"):
        case = {"case": f"{shape}-40-{mech}-2000-shift-s0", "shape": shape, "nodes": 40,
                "mechanism": mech, "rows": 2000, "change": "shift", "seed": 0}
        files, truth = e.build(case, Path(sys.argv[1]))
        out[case["case"]] = [str(files["edges"]), str(files["before"]), str(files["after"]),
                             truth["target"], truth["statistic"]]
print(json.dumps(out))
"""
SETUP_SAVED = """
import sys
from pathlib import Path
import networkx as nx, numpy as np
from causal_attrib.synthetic import make_graph, simulate
d = Path(sys.argv[1]); rng = np.random.default_rng(0)
graph = make_graph("er", 200, rng)
target = list(nx.topological_sort(graph))[-1]
reference, params = simulate(graph, 2000, rng, nonlinear=True)
causes = sorted(nx.ancestors(graph, target))
(d / "g.csv").write_text("source,target\\n" + "".join(f"{u},{v}\\n" for u, v in graph.edges))
reference.to_csv(d / "ref.csv", index=False)
culprit = causes[int(rng.integers(len(causes)))]
rows, _ = simulate(graph, 10, rng, nonlinear=True, params=params, outliers={culprit: 10.0})
rows.to_csv(d / "inc.csv", index=False)
print(target)
"""


def run(tree: Path, args: list[str]) -> tuple[float, float, bytes]:
    """Wall and CPU seconds of one child process with ``tree`` first on the path, and its
    stdout."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = os.times().elapsed
    # run outside any checkout: `-m` and `-c` put the working directory first on the path
    where = tempfile.gettempdir()
    out = subprocess.run([sys.executable, *args], capture_output=True, env=env, cwd=where)
    wall = os.times().elapsed - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    if out.returncode not in (0, 1):
        raise SystemExit(f"failed: {args}\n{out.stderr.decode()[-2000:]}")
    return wall, cpu, out.stdout


def commands(case: str, tmp: Path, base: Path) -> dict[str, list[str]]:
    """The command lines of one case (a name per command)."""
    if case in ("explain200", "anomaly200"):
        return {case: ["-c", IN_PROCESS, case]}
    if case == "saved":
        target = run(base, ["-c", SETUP_SAVED, str(tmp)])[2].decode().strip()
        d = str(tmp)
        run(base, ["-m", "causal_attrib", "fit", "-g", f"{d}/g.csv", "-d", f"{d}/ref.csv",
                   "-o", f"{d}/m.model", "-q"])  # fmt: skip
        return {case: ["-m", "causal_attrib", "anomaly", "--model", f"{d}/m.model",
                       "-a", f"{d}/inc.csv", "-t", target, "-f", "json", "-q"]}  # fmt: skip
    import json

    files = json.loads(run(base, ["-c", SETUP_40, str(tmp), str(HERE)])[2])
    cmds = {}
    for name, (edges, before, after, target, statistic) in files.items():
        cmds[name] = ["-m", "causal_attrib", "explain", "--graph", edges, "--graph-format",
                      "edgelist", "--before", before, "--after", after, "--target", target,
                      "--statistic", statistic, "--format", "json", "--quiet"]  # fmt: skip
    return cmds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True, help="the other checkout (A)")
    parser.add_argument("--new", type=Path, default=HERE.parent, help="this checkout (B)")
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--cases", default="explain40,explain200,anomaly200,saved")
    opts = parser.parse_args()
    trees = {"base": opts.base.resolve(), "new": opts.new.resolve()}
    with tempfile.TemporaryDirectory() as tmp:
        for case in opts.cases.split(","):
            (Path(tmp) / case).mkdir()
            cmds = commands(case, Path(tmp) / case, trees["base"])
            times = {k: ([], []) for k in trees}
            same = True
            for _ in range(opts.reps):
                for args in cmds.values():
                    outs = {}
                    for name, tree in trees.items():
                        wall, cpu, outs[name] = run(tree, args)
                        times[name][0].append(wall)
                        times[name][1].append(cpu)
                    same &= outs["base"] == outs["new"]
            print(f"{case} ({len(cmds)} command(s) x {opts.reps}): "
                  + "; ".join(f"{k} wall {statistics.median(w):.2f} s, CPU "
                              f"{statistics.median(c):.2f} s" for k, (w, c) in times.items())
                  + f"; outputs {'identical' if same else 'DIFFER'}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
