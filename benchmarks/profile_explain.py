"""Where `explain`'s time goes on a large case: phases and the costliest functions.

    python benchmarks/profile_explain.py                   # ER, 100 nodes x 100,000 rows
    python benchmarks/profile_explain.py --nodes 40 --rows 2000

Prints Markdown (it is pasted into RESULTS.md). Phases are timed from the progress messages
`explain` emits (default threads); the function table is cProfile's, on a second run in the same
process with ``n_jobs=1`` (cProfile sees only the main thread).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", default="er")
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--linear", action="store_true")
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    import pandas as pd

    from causal_attrib import explain
    from causal_attrib.synthetic import make_scenario

    nonlinear = not args.linear
    sc = make_scenario(
        args.shape, args.nodes, args.rows, 0, nonlinear=nonlinear, heteroscedastic=nonlinear
    )
    with tempfile.TemporaryDirectory() as tmp:
        b, a = Path(tmp) / "before.csv", Path(tmp) / "after.csv"
        sc.before.to_csv(b, index=False)
        sc.after.to_csv(a, index=False)
        marks = [("reading the CSV files", time.perf_counter())]
        before, after = pd.read_csv(b), pd.read_csv(a)

        def progress(message: str) -> None:
            marks.append((message, time.perf_counter()))

        marks.append(("loading the graph, checking and preparing the data", time.perf_counter()))
        explain(sc.graph, before, after, sc.target, progress=progress)
        marks.append(("end", time.perf_counter()))
        profiler = cProfile.Profile()
        profiler.runcall(explain, sc.graph, before, after, sc.target, n_jobs=1)
    total = marks[-1][1] - marks[0][1]
    kind = "nonlinear" if nonlinear else "linear"
    print(f"#### {args.shape}, {args.nodes} nodes x {args.rows:,} rows, {kind}, in process\n")
    print("| phase | seconds | share |\n|---|---|---|")
    for (name, start), (_, stop) in zip(marks, marks[1:], strict=False):
        print(f"| {name} | {stop - start:.2f} | {100 * (stop - start) / total:.0f} % |")
    print(f"| total | {total:.2f} | |\n")
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(args.top)
    print(
        f"Top {args.top} functions by own time (cProfile, one thread; its overhead inflates "
        "the total):\n"
    )
    print("| own s | calls | function |\n|---|---|---|")
    rows = [line.split(None, 5) for line in out.getvalue().splitlines()]
    for parts in rows:
        if len(parts) == 6 and parts[0][0].isdigit() and parts[1][0].isdigit():
            where = parts[5].replace(str(ROOT) + "/", "").split("site-packages/")[-1]
            print(f"| {float(parts[1]):.2f} | {parts[0]} | `{where}` |")


if __name__ == "__main__":
    main()
