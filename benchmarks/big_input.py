"""Scale without surprise: big tables, big graphs and pathological files, whole-process figures.

    python benchmarks/big_input.py                # 1,000,000 rows x 30 columns per period
    python benchmarks/big_input.py --rows 200000  # quicker
    python benchmarks/big_input.py --wide         # 1,000 nodes x 100,000 rows per period, Parquet

Prints, for each case, the wall time and the peak RSS of a fresh ``causal-attrib`` process
(measured by a wrapper process with ``resource``), the exit code, and what the tool said on
stderr about the rows it used. The CSVs are written once to a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import networkx as nx
from explain_vs_dowhy import MEASURE  # the same per-process wrapper as the other scripts


def measure(cmd: list[str]) -> dict:
    """Wall seconds, peak RSS (MB), exit code and stderr notes of one CLI process."""
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", MEASURE, *cmd], capture_output=True, text=True)
    wall = time.perf_counter() - start
    lines = out.stderr.strip().splitlines()
    return {
        "wall_s": round(wall, 2),
        "peak_mb": round(int(lines[-1]) / 1024),
        "exit": out.returncode,
        "stderr": lines[:-1],
    }


def cli(*args) -> list[str]:
    return [sys.executable, "-m", "causal_attrib", *map(str, args)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows per period")
    parser.add_argument("--columns", type=int, default=30)
    parser.add_argument("--wide", action="store_true",
                        help="only explain on a wide graph in Parquet (default 1,000 nodes x "
                             "100,000 rows per period; --columns and --rows override)")  # fmt: skip
    args = parser.parse_args()
    if args.wide:
        wide(args.columns if args.columns != 30 else 1000, min(args.rows, 100_000))
        return

    from causal_attrib.synthetic import make_scenario

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        s = make_scenario("er", args.columns, args.rows, 7, nonlinear=True)
        s.before.to_csv(root / "before.csv", index=False, float_format="%.6g")
        s.after.to_csv(root / "after.csv", index=False, float_format="%.6g")
        (root / "g.json").write_text(json.dumps(nx.node_link_data(s.graph, edges="edges")))
        size = (root / "before.csv").stat().st_size / 1e6
        print(f"wrote 2 x {args.rows:,} rows x {args.columns} columns ({size:.0f} MB each) "
              f"in {time.perf_counter() - t0:.0f} s; changed: {s.changed}")  # fmt: skip
        common = ("-g", root / "g.json", "-b", root / "before.csv", "-a", root / "after.csv")
        common += ("-t", s.target, "-f", "json", "-o", root / "out.json")
        results["explain, default --max-rows 250,000"] = measure(cli("explain", *common))
        top = json.loads((root / "out.json").read_text())["nodes"][0]["node"]
        results["explain, default --max-rows 250,000"]["top"] = top
        results["explain, --max-rows 0 (all rows)"] = measure(
            cli("explain", *common, "--max-rows", "0")
        )
        results["check, default --max-rows 20,000"] = measure(
            cli("check", "-g", root / "g.json", "-d", root / "before.csv", "-f", "json",
                "-o", root / "check.json")
        )  # fmt: skip

        # a 500-node graph: load and validate, then reject a cycle, in a fresh process
        big = nx.gn_graph(500, seed=1).reverse()
        lines = [f'  "v{u}" -> "v{v}";' for u, v in big.edges]
        (root / "big.dot").write_text("digraph {\n" + "\n".join(lines) + "\n}\n")
        code = (
            "import sys, time; t = time.perf_counter()\n"
            "from causal_attrib.inputs.graphs import load_graph\n"
            "g = load_graph(sys.argv[1])\n"
            "print(g.number_of_nodes(), g.number_of_edges(), round(time.perf_counter() - t, 3))"
        )
        out = subprocess.run([sys.executable, "-c", code, root / "big.dot"], capture_output=True,
                             text=True, check=True)  # fmt: skip
        nodes, edges, secs = out.stdout.split()
        results["load + validate a 500-node DOT graph"] = {
            "nodes": int(nodes), "edges": int(edges), "seconds_in_process": float(secs)
        }  # fmt: skip

        # pathological files fail fast, with one line
        (root / "deep.dot").write_text("digraph {" + "{" * 200_000 + "a" + "}" * 200_000 + "}")
        (root / "deep.json").write_text("[" * 1_000_000 + "]" * 1_000_000)
        (root / "huge.dot").write_text("digraph { " + "a -> b; " * 7_000_000 + "}")
        for name in ("deep.dot", "deep.json", "huge.dot"):
            r = measure(cli("explain", "-g", root / name, "-b", root / "before.csv",
                            "-a", root / "after.csv", "-t", s.target))  # fmt: skip
            results[f"pathological graph {name}"] = r

    for name, r in results.items():
        print(f"{name}: {json.dumps(r)}")


def wide(nodes: int, rows: int) -> None:
    """Peak memory of ``explain`` when the tables themselves are large: wide Parquet files,
    every row used (below the default row cap)."""
    from causal_attrib.synthetic import make_scenario

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        s = make_scenario("er", nodes, rows, 1, nonlinear=True)
        s.before.to_parquet(root / "before.parquet")
        s.after.to_parquet(root / "after.parquet")
        (root / "g.json").write_text(json.dumps(nx.node_link_data(s.graph, edges="edges")))
        print(f"{nodes} nodes x {rows:,} rows per period (Parquet); changed: {s.changed}")
        r = measure(cli("explain", "-g", root / "g.json", "-b", root / "before.parquet",
                        "-a", root / "after.parquet", "-t", s.target, "-f", "json",
                        "-o", root / "out.json", "--quiet"))  # fmt: skip
        if r["exit"] == 0:
            r["top"] = json.loads((root / "out.json").read_text())["nodes"][0]["node"]
        print(f"explain: {json.dumps(r)}")


if __name__ == "__main__":
    main()
