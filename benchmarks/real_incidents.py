"""Recorded and simulated incidents, each beside a graph-free baseline computed in the same run.

Sources (``--sources``, comma-separated):

- ``nezha``: the shared Nezha day (Online Boutique, ``../shared/data/nezha-ob``), one table per
  fault: 30 nodes (each service's p90 server latency, CPU % and memory), 34 edges (callee
  latency -> caller latency; a service's CPU and memory -> its latency), target
  ``frontend_latency``, the hour before the injection as the reference, the injection plus 4
  minutes as the incident (``anomaly --data --time-column --incident START/END``), and the
  same with ``--incident auto`` (how often the window found overlaps the fault). The faults
  with fewer than 30 minutes of history (the day's first four) are skipped, as the README
  says. Baseline: BARO (RCAEval), each service scored by the largest robust z-score
  ``|x - median| / IQR`` of its metrics over the incident, median and IQR from the reference.
- ``petshop``: PetShop's 52 runnable issues (``benchmarks/petshop.py``'s protocol), row mode
  (``--reference/--anomalies``) and time mode (the given incident), beside BARO on the same
  windows.
- ``pyrca``: PyRCA's simulator (10 nodes, 15 edges; ``benchmarks/external.py``'s worlds), 30
  anomalous rows as the after period of ``explain`` and as the rows of ``anomaly``; false
  flags are changed-flags on unchanged mechanisms; BARO on the same rows. PyRCA is installed
  outside the project (``pip install --no-deps sfr-pyrca`` in a separate environment, then
  add its site-packages to ``PYTHONPATH``).

Prints top-1, top-3, Avg@5 (the mean of top-1 .. top-5 accuracy) and seconds per incident.

Usage::

    python benchmarks/real_incidents.py --sources nezha
    python benchmarks/real_incidents.py --sources nezha,petshop,pyrca --details
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import time
import warnings
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd

from causal_attrib.analyses.anomaly import attribute_anomalies
from causal_attrib.analyses.explain import explain
from causal_attrib.analyses.incident import attribute_incident
from causal_attrib.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
SHARED = next(
    (p / "shared" / "data" for p in ROOT.parents if (p / "shared" / "data").is_dir()),
    ROOT.parent / "shared" / "data",
)  # beside the checkout (a worktree may sit one level deeper)
NEZHA = SHARED / "nezha-ob"
METRICS = {"latency": "PodServerLatencyP90(s)", "cpu": "CpuUsageRate(%)", "mem": "MemoryUsage(Mi)"}
TARGET = "frontend_latency"
REFERENCE_MINUTES = 60
INCIDENT_MINUTES = 5  # the injection's minute and the 4 after it
MIN_HISTORY = 30


# --- scoring -------------------------------------------------------------------------------


def hits(ranked: list[str], truth: str) -> dict:
    """Top-1, top-3 and Avg@5 of one ranking (services, best first)."""
    rank = ranked.index(truth) + 1 if truth in ranked else None
    return {
        "top1": rank == 1,
        "top3": rank is not None and rank <= 3,
        "avg5": sum(rank is not None and rank <= k for k in range(1, 6)) / 5,
        "rank": rank,
        "first": ranked[0] if ranked else None,
    }


def summary(records: list[dict], title: str) -> None:
    frame = pd.DataFrame.from_records(records)
    if frame.empty:
        print(f"{title}: nothing run")
        return
    print(f"\n{title}")
    print(f"{'method':34s} {'n':>3s} {'top-1':>7s} {'top-3':>7s} {'Avg@5':>6s} {'s/inc':>6s}")
    for method, part in frame.groupby("method", sort=False):
        n = len(part)
        print(
            f"{method:34s} {n:>3d} {int(part.top1.sum()):>3d}/{n:<3d} {int(part.top3.sum()):>3d}/"
            f"{n:<3d} {part.avg5.mean():6.2f} {part.seconds.median():6.2f}"
        )
        if "overlap" in part and part.overlap.notna().any():
            seen = part.overlap.dropna()
            found = part.onset.dropna()
            print(f"{'':34s} window overlaps the fault: {int(seen.sum())}/{n}; "
                  f"starts inside it (onset found): {int(found.sum())}/{n}")  # fmt: skip


def baro(reference: pd.DataFrame, incident: pd.DataFrame, groups: dict[str, list[str]]) -> list:
    """BARO-style ranking: each group (service) scored by the largest robust z-score
    ``|x - median| / IQR`` of its columns over the incident (median, IQR from the reference)."""
    score = {}
    for group, columns in groups.items():
        best = 0.0
        for c in columns:
            ref = reference[c].dropna().to_numpy(float)
            now = incident[c].dropna().to_numpy(float)
            if len(ref) < 2 or len(now) == 0:
                continue
            q1, med, q3 = np.percentile(ref, [25, 50, 75])
            iqr = q3 - q1 if q3 > q1 else 1.0  # as scikit-learn's RobustScaler (RCAEval's)
            best = max(best, float(np.max(np.abs(now - med)) / iqr))
        score[group] = best
    return sorted(score, key=lambda g: (-score[g], g))


def by_group(nodes: list[str], group_of) -> list[str]:
    """A node ranking turned into a group ranking (each group at its best node's place)."""
    out: list[str] = []
    for n in nodes:
        g = group_of(n)
        if g not in out:
            out.append(g)
    return out


# --- Nezha ---------------------------------------------------------------------------------


def nezha_day(folder: Path):
    """The day's table (one row per minute, ``time`` plus 30 node columns), graph and faults."""
    frames = []
    for path in sorted(folder.glob("*_metric.csv")):
        service = path.name.split("-")[0]
        raw = pd.read_csv(path)
        minute = pd.to_datetime(raw["Time"].str.slice(0, 16))
        part = pd.DataFrame({f"{service}_{k}": raw[c].to_numpy(float) for k, c in METRICS.items()})
        part.index = minute
        frames.append(part.groupby(level=0).mean())
    table = pd.concat(frames, axis=1).sort_index()
    table = table.reindex(pd.date_range(table.index[0], table.index[-1], freq="min"))
    table = table.ffill().bfill()  # latency is empty in minutes without requests: carried on
    services = sorted({c.rsplit("_", 1)[0] for c in table.columns})
    calls = pd.read_csv(folder / "dependency.csv")
    calls = calls[calls.Target.isin(services) & calls.Source.isin(services)]
    pairs = zip(calls.Source, calls.Target, strict=True)
    edges = [(f"{t}_latency", f"{s}_latency") for s, t in pairs]  # callee -> caller
    edges += [(f"{s}_{k}", f"{s}_latency") for s in services for k in ("cpu", "mem")]
    graph = nx.DiGraph(sorted(set(edges)))
    faults = []
    listing = json.loads(next(folder.glob("*fault_list.json")).read_text())
    for hour in sorted(listing):
        for f in listing[hour]:
            start = pd.Timestamp(f["inject_time"]).floor("min")
            faults.append({"start": start, "service": f["inject_pod"].split("-")[0],
                           "type": f["inject_type"]})  # fmt: skip
    return table, graph, services, faults


def service_of(node: str) -> str:
    return node.rsplit("_", 1)[0]


def nezha_case(table: pd.DataFrame, start: pd.Timestamp):
    """The fault's table: the hour before, the incident, as the CLI would read it."""
    lo = start - pd.Timedelta(minutes=REFERENCE_MINUTES)
    hi = start + pd.Timedelta(minutes=INCIDENT_MINUTES)
    window = table.loc[(table.index >= lo) & (table.index < hi)]
    frame = window.reset_index(names="time")
    frame["time"] = frame["time"].dt.strftime("%Y-%m-%dT%H:%M")
    return frame, lo


def iso(t: pd.Timestamp) -> str:
    return t.strftime("%Y-%m-%dT%H:%M")


def run_nezha(folder: Path, seed: int, details: bool) -> list[dict]:
    table, graph, services, faults = nezha_day(folder)
    groups = {s: [f"{s}_{k}" for k in METRICS] for s in services}
    records = []
    for fault in faults:
        start = fault["start"]
        frame, lo = nezha_case(table, start)
        history = int((frame["time"] < iso(start)).sum())
        if history < MIN_HISTORY:
            continue
        truth, end = fault["service"], start + pd.Timedelta(minutes=INCIDENT_MINUTES)
        ref = frame[frame["time"] < iso(start)]
        inc = frame[frame["time"] >= iso(start)]
        t0 = time.perf_counter()
        ranked = baro(ref, inc, groups)
        records.append({"method": "BARO", **hits(ranked, truth),
                        "seconds": time.perf_counter() - t0, "fault": iso(start)})  # fmt: skip
        for name, incident in (("causal-attrib, given", f"{iso(start)}/{iso(end)}"),
                               ("causal-attrib, --incident auto", "auto")):  # fmt: skip
            t0 = time.perf_counter()
            overlap = onset = None
            try:
                result = attribute_incident(
                    graph, frame, TARGET, time_column="time", incident=incident, seed=seed
                )
                nodes = [c.node for c in result.causes]
                if incident == "auto":
                    w = result.time_mode["incident"]
                    w_start, w_end = pd.Timestamp(w["start"]), pd.Timestamp(w["end"])
                    overlap = w_start < end and w_end >= start
                    onset = start <= w_start < end
            except InputError as exc:
                nodes, overlap = [], False if incident == "auto" else None
                onset = overlap
                if details:
                    print(f"  {iso(start)} {name}: {exc}", file=sys.stderr)
            ranked = by_group(nodes, service_of)
            seconds = time.perf_counter() - t0
            records.append({"method": name, **hits(ranked, truth), "overlap": overlap,
                            "onset": onset, "seconds": seconds, "fault": iso(start)})  # fmt: skip
            if details:
                print(f"  {iso(start)} {fault['type']:15s} {truth:22s} {name:32s} "
                      f"rank {records[-1]['rank']} first {records[-1]['first']}"
                      + (f" overlap {overlap} onset {onset}" if overlap is not None
                         else ""))  # fmt: skip
    return records


# --- PetShop -------------------------------------------------------------------------------


def run_petshop(folder: Path, seed: int, details: bool) -> list[dict]:
    sys.path.insert(0, str(Path(__file__).parent))
    from petshop import SCENARIOS, impute_means, load_issues, reduce  # noqa: PLC0415

    from causal_attrib.inputs.graphs import load_graph  # noqa: PLC0415

    records = []
    for scenario in SCENARIOS:
        sdir = folder / scenario
        graph = load_graph(sdir / "graph.csv", "adjacency", reverse=True)
        normal_all = pd.read_csv(sdir / "noissue" / "metrics.csv", header=[0, 1, 2], index_col=0)
        for issue in load_issues(sdir, ("train", "test")):
            t = issue["target"]
            normal = reduce(normal_all, t["metric"], t["agg"])
            abnormal = reduce(issue["metrics"], t["metric"], t["agg"])
            truth = issue["root_cause"]["node"]
            shared = [c for c in abnormal.columns if c in normal.columns]
            t0 = time.perf_counter()
            ranked = baro(normal, abnormal, {c: [c] for c in shared})
            records.append({"method": "BARO", **hits(ranked, truth),
                            "seconds": time.perf_counter() - t0})  # fmt: skip
            t0 = time.perf_counter()
            result = attribute_anomalies(graph, normal, abnormal, t["node"], seed=seed)
            ranked = [c.node for c in result.causes]
            records.append({"method": "causal-attrib rows (defaults)", **hits(ranked, truth),
                            "seconds": time.perf_counter() - t0})  # fmt: skip
            columns = sorted(set(normal.columns) | set(abnormal.columns))
            n_, a_ = impute_means(
                normal.reindex(columns=columns), abnormal.reindex(columns=columns)
            )
            series = pd.concat([n_, a_], ignore_index=True)
            missing = [n for n in graph.nodes if n not in series.columns]
            series = series.assign(**dict.fromkeys(missing, 0.0))[[*graph.nodes]]
            series.insert(0, "t", np.arange(len(series)))
            t0 = time.perf_counter()
            try:
                result = attribute_incident(graph, series, t["node"], time_column="t",
                                            incident=str(len(n_)), seed=seed)  # fmt: skip
                ranked = [c.node for c in result.causes]
            except InputError:
                ranked = []
            records.append({"method": "causal-attrib time mode (given)", **hits(ranked, truth),
                            "seconds": time.perf_counter() - t0})  # fmt: skip
            if details:
                print(f"  {scenario} {issue['name']} {t['metric']}: " + ", ".join(
                    f"{r['method']}={r['rank']}" for r in records[-3:]))  # fmt: skip
    return records


# --- PyRCA ---------------------------------------------------------------------------------


def run_pyrca(seeds: int, rows: int, details: bool) -> list[dict]:
    sys.path.insert(0, str(Path(__file__).parent))
    from external import pyrca_case  # noqa: PLC0415

    records = []
    for func in ("identity", "square", "sin", "tanh"):
        for seed in range(seeds):
            world, how = pyrca_case(func, seed)
            if world is None:
                continue
            graph, normal, faulty, causes = world
            after = faulty.iloc[:rows]
            nodes = sorted(graph.nodes)
            t0 = time.perf_counter()
            ranked = baro(normal, after, {n: [n] for n in nodes})
            records.append({"method": "BARO", **hits(ranked, min(causes, key=ranked.index)),
                            "seconds": time.perf_counter() - t0, "false": None})  # fmt: skip
            t0 = time.perf_counter()
            with contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                r = explain(graph, normal, after, "X0", seed=seed)
            ranked = [n.node for n in r.nodes if n.ancestor]
            flagged = {n.node for n in r.nodes if n.changed}
            false = len(flagged - causes) / max(1, len(graph) - len(causes))
            first = next((c for c in ranked if c in causes), None)
            records.append({"method": "causal-attrib explain", **hits(ranked, first or "?"),
                            "seconds": time.perf_counter() - t0, "false": false})  # fmt: skip
            if how == "fixed fault":
                continue  # the sink is not anomalous: no anomaly question
            t0 = time.perf_counter()
            a = attribute_anomalies(graph, normal, after, "X0", seed=seed)
            ranked = [c.node for c in a.causes]
            first = next((c for c in ranked if c in causes), None)
            records.append({"method": "causal-attrib anomaly", **hits(ranked, first or "?"),
                            "seconds": time.perf_counter() - t0, "false": None})  # fmt: skip
            if details:
                print(f"  {func} {seed} causes {sorted(causes)}: " + ", ".join(
                    f"{r['method']}={r['first']}" for r in records[-3:]))  # fmt: skip
    return records


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", default="nezha,petshop,pyrca")
    parser.add_argument("--nezha", type=Path, default=NEZHA / "2022-08-22")
    parser.add_argument("--petshop", type=Path, default=SHARED / "petshop" / "dataset")
    parser.add_argument("--pyrca-seeds", type=int, default=6)
    parser.add_argument("--rows", type=int, default=30, help="PyRCA anomalous rows")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--details", action="store_true")
    args = parser.parse_args()
    sources = args.sources.split(",")
    if "nezha" in sources:
        if args.nezha.is_dir():
            summary(run_nezha(args.nezha, args.seed, args.details), f"Nezha {args.nezha.name}")
        else:
            print(f"Nezha data not found at {args.nezha}")
    if "petshop" in sources:
        if args.petshop.is_dir():
            summary(run_petshop(args.petshop, args.seed, args.details), "PetShop, 52 issues")
        else:
            print(f"PetShop data not found at {args.petshop}")
    if "pyrca" in sources:
        try:
            records = run_pyrca(args.pyrca_seeds, args.rows, args.details)
        except ImportError:
            print("PyRCA not installed: pip install --no-deps sfr-pyrca (outside the project)")
        else:
            summary(records, f"PyRCA simulator, {args.rows} anomalous rows")
            false = [r["false"] for r in records if r["false"] is not None]
            print(f"explain false flags: {np.mean(false):.1%} of unchanged mechanisms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
