"""Segments at scale: one machine's processes vs a 2-worker Dask cluster, same answers.

    python benchmarks/segments_scale.py                         # 100 nodes, 10 x 100,000 rows
    python benchmarks/segments_scale.py --rows 20000 --report benchmarks/RESULTS.md

Writes a 100-node nonlinear random DAG with 10 segments of ``--rows`` rows per period
(Parquet, one table per period with a ``segment`` column; every segment has its own
mechanisms, and segments 0 and 3 each have one changed node), then runs
``causal-attrib explain --by segment`` as a fresh process:

- serially (``--jobs 1``), the baseline;
- on local processes (the default: one per core);
- on a ``distributed.LocalCluster`` with 2 single-threaded worker processes, through
  ``--scheduler``.

For each: wall time, the peak of the summed RSS of the CLI process and its children (and,
for the cluster, its worker processes), sampled every 0.1 s with psutil, and whether the JSON
is byte-identical to the serial run. ``--report FILE`` rewrites the table between the
``segments-scale`` markers of FILE. Machines are shared: quote the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import psutil

START, END = "<!-- segments-scale:start -->", "<!-- segments-scale:end -->"


def write_data(root: Path, n_nodes: int, n_segments: int, rows: int, seed: int) -> str:
    from causal_attrib.synthetic import make_graph, simulate

    rng = np.random.default_rng(seed)
    graph = make_graph("er", n_nodes, rng)
    target = list(nx.topological_sort(graph))[-1]
    ancestors = sorted(nx.ancestors(graph, target), key=str)
    before, after = [], []
    for k in range(n_segments):
        seg_rng = np.random.default_rng([seed, k])
        b, params = simulate(graph, rows, seg_rng, nonlinear=True)
        changes = {}
        if k in (0, 3):
            changes = {ancestors[int(seg_rng.integers(len(ancestors)))]: "shift"}
        a, _ = simulate(graph, rows, seg_rng, nonlinear=True, params=params, changes=changes)
        before.append(b.assign(segment=f"s{k:02d}"))
        after.append(a.assign(segment=f"s{k:02d}"))
    pd.concat(before, ignore_index=True).to_parquet(root / "before.parquet", index=False)
    pd.concat(after, ignore_index=True).to_parquet(root / "after.parquet", index=False)
    (root / "g.json").write_text(json.dumps(nx.node_link_data(graph, edges="edges")))
    return str(target)


def tree_rss(procs: list[psutil.Process]) -> int:
    total = 0
    seen = set()
    for p in procs:
        try:
            family = [p, *p.children(recursive=True)]
        except psutil.Error:
            continue
        for q in family:
            if q.pid in seen:
                continue
            seen.add(q.pid)
            try:
                total += q.memory_info().rss
            except psutil.Error:
                pass
    return total


def run(cmd: list[str], extra: list[psutil.Process] = ()) -> dict:
    """Wall seconds, peak summed RSS (MB) of the process tree (plus ``extra``), stdout."""
    baseline = sum(p.memory_info().rss for p in extra)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak, done = 0, threading.Event()
    me = psutil.Process(proc.pid)

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss([me, *extra]))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample)
    sampler.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[3:6]} failed: {err.strip()[-800:]}")
    return {
        "wall_s": wall,
        "peak_mb": peak / 2**20,
        "workers_idle_mb": baseline / 2**20,
        "stdout": out,
    }


def machine() -> str:
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--segments", type=int, default=10)
    parser.add_argument("--rows", type=int, default=100_000, help="rows per segment and period")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--report", type=Path, help="rewrite the table in this Markdown file")
    args = parser.parse_args()

    from distributed import LocalCluster

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        target = write_data(root, args.nodes, args.segments, args.rows, args.seed)
        size = (root / "before.parquet").stat().st_size / 1e6
        print(
            f"wrote {args.segments} segments x {args.rows:,} rows x {args.nodes} nodes per "
            f"period ({size:.0f} MB Parquet each) in {time.perf_counter() - t0:.0f} s",
            flush=True,
        )
        base = [sys.executable, "-m", "causal_attrib", "explain", "-g", str(root / "g.json")]
        base += ["-b", str(root / "before.parquet"), "-a", str(root / "after.parquet")]
        base += ["-t", target, "--by", "segment", "-f", "json", "-q"]
        serial = run([*base, "--jobs", "1"])
        rows.append(("serial (--jobs 1)", serial))
        print(f"serial: {serial['wall_s']:.1f} s, {serial['peak_mb']:.0f} MB", flush=True)
        local = run(base)
        rows.append((f"local processes ({os.cpu_count()})", local))
        print(f"processes: {local['wall_s']:.1f} s, {local['peak_mb']:.0f} MB", flush=True)
        with LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster:
            workers = psutil.Process().children(recursive=True)  # the cluster's processes
            dask = run([*base, "--scheduler", cluster.scheduler_address], extra=workers)
        rows.append(("Dask LocalCluster, 2 workers", dask))
        print(f"dask: {dask['wall_s']:.1f} s, {dask['peak_mb']:.0f} MB", flush=True)

    result = json.loads(serial["stdout"])
    lead = result["pairs"][0] if result["pairs"] else {}
    lines = [
        f"{args.nodes}-node nonlinear ER graph, {args.segments} segments x {args.rows:,} rows "
        f"per period (Parquet); `explain --by segment`, whole CLI process; {machine()}.",
        "",
        "| run | wall s | vs serial | peak RSS, process tree (MB) | JSON identical to serial |",
        "|---|---:|---:|---:|---|",
    ]
    for name, r in rows:
        same = "yes" if r["stdout"] == serial["stdout"] else "**no**"
        lines.append(
            f"| {name} | {r['wall_s']:.1f} | {serial['wall_s'] / r['wall_s']:.2f}x | "
            f"{r['peak_mb']:.0f} | {same} |"
        )
    lines += [
        "",
        f"Top pair: {lead.get('node')} in {lead.get('segment')} "
        f"({(lead.get('share') or 0) * 100:.0f} % of the overall change); "
        f"{sum(1 for s in result['segments'] if s['result'])} of {args.segments} segments "
        "explained. The cluster's peak includes its two worker processes (idle: "
        f"{dask['workers_idle_mb']:.0f} MB together).",
    ]
    table = "\n".join(lines)
    print(table)
    if args.report:
        text = args.report.read_text()
        block = f"{START}\n{table}\n{END}"
        if START in text:
            head, rest = text.split(START, 1)
            text = head + block + rest.split(END, 1)[1]
        else:
            text += f"\n## Segments: local processes vs a Dask cluster\n\n{block}\n"
        args.report.write_text(text)


if __name__ == "__main__":
    main()
