"""Spans to a metrics table at scale: 150 MB of span CSV through ``causal-attrib metrics``.

    python benchmarks/traces.py                 # 150 MB of spans, 1-minute windows
    python benchmarks/traces.py --mb 20         # quicker
    python benchmarks/traces.py --keep DIR      # keep the CSV (and the table) in DIR

Writes a span CSV in the Nezha layout (``TraceID,SpanID,ParentID,PodName,OperationName,
StartTimeUnixNano,EndTimeUnixNano,Duration``, services from pod names) of an online shop of
ten services: each request enters ``frontend``, which calls services through client spans
of its own; ``checkout`` calls five more. Traces are written in start order, spread over
about two hours. Then runs ``causal-attrib metrics --window 1m`` and ``causal-attrib graph``
on it in fresh processes and prints each one's wall time and peak RSS (measured by a
wrapper process with ``resource``), and the table's size. Targets: < 60 s, < 1 GB.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

MEASURE = (
    "import resource, subprocess, sys\n"
    "out = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "sys.stderr.write(out.stderr)\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(out.returncode)\n"
)
PODS = {
    "frontend": "frontend-579b9bff58-t2dbm",
    "productcatalogservice": "productcatalogservice-668d5f85fb-wckp8",
    "currencyservice": "currencyservice-cf787dd48-vpjrd",
    "cartservice": "cartservice-579f59597d-wc2lz",
    "adservice": "adservice-5f6585d649-fnmft",
    "recommendationservice": "recommendationservice-6cfdd55578-gfj6q",
    "checkoutservice": "checkoutservice-578fcf4766-9csqn",
    "shippingservice": "shippingservice-7b598fc7d-lmggd",
    "paymentservice": "paymentservice-9cdb6588f-554sm",
    "emailservice": "emailservice-55fdc5b988-f6xth",
}
# (caller, callee) of each call a request makes, in order: frontend's calls, then checkout's
CALLS = [("frontend", s) for s in ("productcatalogservice", "currencyservice", "cartservice",
                                   "adservice", "recommendationservice", "checkoutservice")]
CALLS += [("checkoutservice", s) for s in ("cartservice", "shippingservice", "paymentservice",
                                           "emailservice")]  # fmt: skip
CALLS += [("recommendationservice", "productcatalogservice")]


def write_spans(path: Path, target_bytes: int, seed: int = 0) -> int:
    """Write requests of the shop until the file holds ``target_bytes``; spans written."""
    rng = np.random.default_rng(seed)
    start = 1_661_140_339_000_000_000
    spans = 0
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("TraceID,SpanID,ParentID,PodName,OperationName,StartTimeUnixNano,"
                 "EndTimeUnixNano,Duration\n")  # fmt: skip
        request = 0
        while fh.tell() < target_bytes:
            lines, request = _requests(rng, request, 2_000, start)
            fh.write("".join(lines))
            spans += len(lines)
    return spans


def _requests(rng, first: int, n: int, start: int) -> tuple[list[str], int]:
    lines = []
    ids = rng.integers(1, 2**63, size=(n, 3 * len(CALLS) + 1))
    for r in range(n):
        request = first + r
        trace = f"{request:016x}{ids[r, 0]:016x}"
        t0 = start + request * 100_000_000  # 10 requests a second: 150 MB is about 2 hours
        root = f"{ids[r, 1]:016x}"
        t = t0 + 50_000
        own = {"frontend": root}
        rows = []
        for k, (caller, callee) in enumerate(CALLS):
            if callee == "checkoutservice" or caller == "checkoutservice":
                if request % 20:  # one request in 20 checks out
                    continue
            if caller == "recommendationservice" and request % 3:
                continue
            client, server = f"{ids[r, 2 + 2 * k]:016x}", f"{ids[r, 3 + 2 * k]:016x}"
            took = int(rng.lognormal(14, 0.5))
            parent = own.get(caller, root)
            rows.append([client, parent, caller, f"{callee}/Call", t, t + took + 200_000])
            rows.append([server, client, callee, f"{callee}/Recv", t + 100_000, t + 100_000 + took])
            own[callee] = server
            t += took + 300_000
        rows.insert(0, [root, "root", "frontend", "Frontend/Recv.", t0, t + 50_000])
        where = {row[0]: row for row in rows}
        for row in reversed(rows):  # a parent ends after its children (checkout's calls)
            if row[1] in where:
                where[row[1]][5] = max(where[row[1]][5], row[5] + 10_000)
        for span, parent, service, op, s, e in rows:
            pod = PODS[service]
            lines.append(f"{trace},{span},{parent},{pod},{op},{s},{e},{(e - s) // 1000}\n")
    return lines, first + n


def measure(cmd: list[str]) -> tuple[float, float, int, str]:
    """Wall seconds, peak RSS (MB), exit code and stderr of one fresh process."""
    begin = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", MEASURE, *cmd], capture_output=True, text=True)
    wall = time.perf_counter() - begin
    lines = out.stderr.strip().splitlines()
    return wall, int(lines[-1]) / 1024, out.returncode, "\n".join(lines[:-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=150, help="size of the span CSV (MB)")
    parser.add_argument("--window", default="1m")
    parser.add_argument("--keep", type=Path, help="write the files here and keep them")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        spans_csv, table = root / "spans.csv", root / "metrics.csv"
        begin = time.perf_counter()
        n = write_spans(spans_csv, int(args.mb * 1e6))
        size = spans_csv.stat().st_size / 1e6
        print(f"wrote {n:,} spans, {size:.1f} MB, in {time.perf_counter() - begin:.1f} s")
        cli = [sys.executable, "-m", "causal_attrib"]
        metrics = [*cli, "metrics", "--from-traces", str(spans_csv), "--window", args.window,
                   "-o", str(table)]  # fmt: skip
        wall, peak, code, err = measure(metrics)
        rows = sum(1 for _ in open(table)) - 1 if code == 0 else 0
        print(f"metrics: {wall:.1f} s wall, {peak:.0f} MB peak RSS, exit {code}, "
              f"{rows} windows (targets: < 60 s, < 1024 MB)")  # fmt: skip
        if err:
            print("  stderr: " + err.replace("\n", "\n  stderr: "))
        wall, peak, code, err = measure([*cli, "graph", "--from-traces", str(spans_csv), "-q"])
        print(f"graph:   {wall:.1f} s wall, {peak:.0f} MB peak RSS, exit {code}")


if __name__ == "__main__":
    main()
