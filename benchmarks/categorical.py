"""Categorical data (issue 30): `explain` and `anomaly` on published discrete networks.

The bnlearn networks ASIA (8 nodes) and ALARM (37) are read from the ``.bif`` files that
pgmpy's wheel ships (install pgmpy with ``--no-deps`` into a separate environment and pass
its ``example_models`` folder as ``--bif-dir``; pgmpy is never imported: the BIF parser and
the forward sampler are below). Each case samples 3,000 rows per period through the CLI:

- *changed*: one node's conditional table rewritten so that 0.25-0.40 of the mass moves to
  another level in every parent configuration; the target is the share of one level of a
  downstream node (the level whose share moved most), ``-s mean --target-level L``;
- *new level*: a root constant before (all rows at one level) that takes a second level
  after (0.25-0.40 of the mass): its children meet a level they never saw;
- *no change*: both periods from the same network;
- *anomaly*: 8 anomalous rows with one node forced to its rarest level (descendants
  resampled), target a descendant; is the forced node in the top 3 of the causes?

Printed: failed runs (exit code not 0), false flags of unchanged nodes, no-change runs with
any flag, the changed node ranked first, anomaly top-3, wall times; with ``--dowhy K``,
DoWhy's ``distribution_change`` (via ``--compare-dowhy``) on the first K changed cases.

Usage::

    python benchmarks/categorical.py --bif-dir /path/to/pgmpy/utils/example_models
    python benchmarks/categorical.py --bif-dir ... --dowhy 3
    PYTHONPATH=/path/to/other/checkout python benchmarks/categorical.py ...   # another version
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd


@dataclass
class Network:
    """A discrete Bayesian network: levels per node, parents, and tables (configs x levels,
    parent configurations in mixed radix, the last parent fastest)."""

    levels: dict[str, list[str]]
    parents: dict[str, list[str]]
    tables: dict[str, np.ndarray]

    def order(self) -> list[str]:
        """The nodes, parents first."""
        done: list[str] = []
        while len(done) < len(self.levels):
            for node in self.levels:
                if node not in done and all(p in done for p in self.parents[node]):
                    done.append(node)
        return done

    def children(self, node: str) -> list[str]:
        return [n for n, ps in self.parents.items() if node in ps]

    def descendants(self, node: str) -> set[str]:
        out, todo = set(), [node]
        while todo:
            for c in self.children(todo.pop()):
                if c not in out:
                    out.add(c)
                    todo.append(c)
        return out

    def sample(self, n: int, rng, forced: dict[str, str] | None = None) -> pd.DataFrame:
        """Forward sampling (inverse CDF per row); ``forced`` nodes are set, not drawn."""
        codes: dict[str, np.ndarray] = {}
        for node in self.order():
            if forced and node in forced:
                codes[node] = np.full(n, self.levels[node].index(forced[node]))
                continue
            config = np.zeros(n, dtype=np.int64)
            for p in self.parents[node]:
                config = config * len(self.levels[p]) + codes[p]
            cum = np.cumsum(self.tables[node][config], axis=1)
            u = rng.random(n)[:, None]
            codes[node] = np.minimum((u >= cum).sum(axis=1), len(self.levels[node]) - 1)
        return pd.DataFrame(
            {v: np.asarray(self.levels[v], dtype=object)[codes[v]] for v in self.levels}
        )

    def dot(self) -> str:
        edges = [f'  "{p}" -> "{c}";' for c, ps in self.parents.items() for p in ps]
        return "digraph bn {\n" + "\n".join(edges) + "\n}\n"


def read_bif(path: Path) -> Network:
    """Our own BIF reader: variables with their levels, then the probability blocks."""
    text = (gzip.open(path, "rt") if path.suffix == ".gz" else open(path)).read()
    levels = {
        m.group(1): [s.strip() for s in m.group(2).split(",")]
        for m in re.finditer(
            r"variable\s+(\S+)\s*\{[^{}]*type\s+discrete\s*\[\s*\d+\s*\]\s*\{([^}]*)\}", text
        )
    }
    parents, tables = {}, {}
    for m in re.finditer(r"probability\s*\(\s*([^)]*)\)\s*\{([^}]*)\}", text):
        head, body = m.group(1), m.group(2)
        node, _, rest = head.partition("|")
        node = node.strip()
        ps = [p.strip() for p in rest.split(",") if p.strip()]
        parents[node] = ps
        k = len(levels[node])
        sizes = [len(levels[p]) for p in ps]
        table = np.zeros((int(np.prod(sizes)) if ps else 1, k))
        for line in body.split(";"):
            line = line.strip()
            if line.startswith("table"):
                table[:] = np.array([float(v) for v in line[5:].split(",")]).reshape(-1, k)
            elif line.startswith("("):
                config, _, probs = line[1:].partition(")")
                idx = 0
                for p, v in zip(ps, config.split(","), strict=True):
                    idx = idx * len(levels[p]) + levels[p].index(v.strip())
                table[idx] = [float(v) for v in probs.split(",")]
        tables[node] = table / table.sum(axis=1, keepdims=True)
    return Network(levels, parents, tables)


def rewritten(net: Network, node: str, rng) -> Network:
    """``node``'s table with 0.25-0.40 of the mass moved, in every parent configuration,
    to the level least likely there."""
    table = net.tables[node].copy()
    for row in table:
        t = int(np.argmin(row))
        moved = rng.uniform(0.25, 0.40)
        rest = 1.0 - row[t]
        row *= 1.0 - moved / rest
        row[t] = 0.0
        row[t] = 1.0 - row.sum()
    return Network(net.levels, net.parents, {**net.tables, node: table})


def constant_root(net: Network, node: str, rng) -> tuple[Network, Network]:
    """A root at its most likely level before, with 0.25-0.40 of the mass on another after."""
    k = len(net.levels[node])
    top = int(np.argmax(net.tables[node][0]))
    before = np.zeros((1, k))
    before[0, top] = 1.0
    after = before.copy()
    moved = rng.uniform(0.25, 0.40)
    other = (top + 1) % k
    after[0, top], after[0, other] = 1.0 - moved, moved
    return (
        Network(net.levels, net.parents, {**net.tables, node: before}),
        Network(net.levels, net.parents, {**net.tables, node: after}),
    )


def target_for(net: Network, changed: str, before: pd.DataFrame, after: pd.DataFrame, rng):
    """The downstream node and level whose share moved most."""
    best = None
    for node in sorted(net.descendants(changed)):
        shares_b = before[node].value_counts(normalize=True)
        shares_a = after[node].value_counts(normalize=True)
        for level in net.levels[node]:
            move = abs(shares_a.get(level, 0.0) - shares_b.get(level, 0.0))
            if best is None or move > best[0]:
                best = (move, node, level)
    return best[1], best[2]


def run_cli(args: list[str]) -> tuple[int, dict | None, float, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "causal_attrib", *args, "--format", "json"],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    wall = time.perf_counter() - start
    out = None
    if proc.returncode == 0:
        out = json.loads(proc.stdout)
    return proc.returncode, out, wall, proc.stderr


def explain_case(name, net, before_net, after_net, changed, rows, seed, extra=()):
    rng = np.random.default_rng(seed)
    before, after = before_net.sample(rows, rng), after_net.sample(rows, rng)
    if changed is None:
        # a node with parents, and its most common level
        candidates = [n for n in net.order() if net.parents[n]]
        target = candidates[int(rng.integers(len(candidates)))]
        level = str(before[target].value_counts().index[0])
    else:
        target, level = target_for(net, changed, before, after, rng)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "g.dot").write_text(net.dot())
        before.to_csv(tmp / "before.csv", index=False)
        after.to_csv(tmp / "after.csv", index=False)
        args = ["explain", "-g", str(tmp / "g.dot"), "-b", str(tmp / "before.csv")]
        args += ["-a", str(tmp / "after.csv"), "-t", target, "-s", "mean"]
        args += ["--target-level", level, "--seed", str(seed), *extra]
        code, out, wall, err = run_cli(args)
    row = dict(case=name, changed=changed, target=target, level=level, code=code, wall=wall)
    if out is None:
        row["error"] = err.strip().splitlines()[-1] if err else ""
        return row, out
    nodes = out["nodes"]
    flagged = [n["node"] for n in nodes if n["changed"]]
    row["flagged"] = flagged
    row["first"] = nodes[0]["node"] if nodes and nodes[0]["contribution"] else None
    row["false_flags"] = [n for n in flagged if n != changed]
    row["unchanged_tested"] = len(nodes) - (changed is not None)
    row["summary"] = out["summary"]
    return row, out


def anomaly_case(name, net, forced, rows, seed):
    rng = np.random.default_rng(seed)
    reference = net.sample(rows, rng)
    level = net.levels[forced][
        int(
            np.argmin(
                reference[forced]
                .value_counts()
                .reindex(net.levels[forced], fill_value=0)
                .to_numpy()
            )
        )
    ]
    anomalies = net.sample(8, rng, forced={forced: level})
    # the descendant whose level distribution the forcing moves most
    probe = net.sample(2000, rng, forced={forced: level})
    target = max(
        sorted(net.descendants(forced)),
        key=lambda n: float(
            np.abs(
                probe[n]
                .value_counts(normalize=True)
                .sub(reference[n].value_counts(normalize=True), fill_value=0.0)
            ).sum()
        ),
    )
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "g.dot").write_text(net.dot())
        reference.to_csv(tmp / "ref.csv", index=False)
        anomalies.to_csv(tmp / "anom.csv", index=False)
        args = ["anomaly", "-g", str(tmp / "g.dot"), "--reference", str(tmp / "ref.csv")]
        args += ["--anomalies", str(tmp / "anom.csv"), "-t", target, "--seed", str(seed)]
        args += ["--attribute", "all"]
        code, out, wall, err = run_cli(args)
    row = dict(case=name, forced=forced, target=target, code=code, wall=wall)
    if out is None:
        row["error"] = err.strip().splitlines()[-1] if err else ""
        return row
    causes = [c["node"] for c in out["causes"]]
    row["top3"] = causes[:3]
    row["hit"] = forced in causes[:3]
    return row


def cases(nets: dict[str, Network], rng) -> tuple[list, list, list]:
    """12 changed (incl. new-level) cases and 6 controls and 6 anomaly cases per network."""
    changed, controls, anomalies = [], [], []
    plan = {"asia": (10, 2), "alarm": (9, 3)}
    for name, net in nets.items():
        n_rewrite, n_new = plan[name]
        with_desc = [n for n in net.order() if net.descendants(n)]
        roots = [n for n in with_desc if not net.parents[n]]
        picks = rng.choice(with_desc, size=n_rewrite, replace=n_rewrite > len(with_desc))
        for i, node in enumerate(picks):
            changed.append((f"{name}-cpt{i}-{node}", net, net, rewritten(net, node, rng), node))
        for i, node in enumerate(rng.choice(roots, size=n_new, replace=n_new > len(roots))):
            b, a = constant_root(net, node, rng)
            changed.append((f"{name}-new{i}-{node}", net, b, a, node))
        for i in range(6):
            controls.append((f"{name}-control{i}", net, net, net, None))
        for i, node in enumerate(rng.choice(with_desc, size=6, replace=False)):
            anomalies.append((f"{name}-anomaly{i}-{node}", net, node))
    return changed, controls, anomalies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bif-dir", type=Path, required=True)
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--networks", default="asia,alarm")
    parser.add_argument("--dowhy", type=int, default=0, help="DoWhy on the first K cases")
    parser.add_argument("--skip-anomaly", action="store_true")
    parser.add_argument("--dowhy-only", action="store_true", help="only the DoWhy cases")
    parser.add_argument(
        "--rename-level",
        action="append",
        default=[],
        help="OLD=NEW: relabel a level in every node (e.g. no=None, to test reading)",
    )
    parser.add_argument("--out", type=Path, help="JSON lines of every run")
    args = parser.parse_args()
    nets = {n: read_bif(args.bif_dir / f"{n}.bif.gz") for n in args.networks.split(",")}
    for pair in args.rename_level:
        old, new = pair.split("=", 1)
        for net in nets.values():
            for levels in net.levels.values():
                levels[:] = [new if v == old else v for v in levels]
    changed, controls, anomaly = cases(nets, np.random.default_rng(30))
    rows = []
    for seed, (name, net, b, a, node) in enumerate([] if args.dowhy_only else changed + controls):
        row, _ = explain_case(name, net, b, a, node, args.rows, seed)
        rows.append(row)
        print(json.dumps({k: v for k, v in row.items() if k != "summary"}), flush=True)
    if not (args.skip_anomaly or args.dowhy_only):
        for seed, (name, net, node) in enumerate(anomaly):
            row = anomaly_case(name, net, node, args.rows, 100 + seed)
            rows.append(row)
            print(json.dumps(row), flush=True)
    dowhy = []
    for seed, (name, net, b, a, node) in enumerate(changed[: args.dowhy]):
        row, out = explain_case(name, net, b, a, node, args.rows, seed, ("--compare-dowhy",))
        cmp = (out or {}).get("dowhy_comparison", {})
        row["dowhy"] = cmp
        dowhy.append(row)
        print(json.dumps({k: v for k, v in row.items() if k != "summary"}), flush=True)
    if args.out:
        args.out.write_text("".join(json.dumps(r) + "\n" for r in rows + dowhy))
    report(rows, dowhy) if rows else report_dowhy(dowhy)


def report(rows: list[dict], dowhy: list[dict]) -> None:
    explain_rows = [r for r in rows if "forced" not in r]
    failed = [r for r in rows if r["code"] != 0]
    print(f"\nfailed runs: {len(failed)} of {len(rows)}")
    for r in failed:
        print(f"  {r['case']}: exit {r['code']}: {r.get('error', '')}")
    ok = [r for r in explain_rows if r["code"] == 0]
    false_flags = sum(len(r["false_flags"]) for r in ok)
    unchanged = sum(r["unchanged_tested"] for r in ok)
    print(
        f"false flags of unchanged nodes: {false_flags} of {unchanged} "
        f"({100 * false_flags / max(unchanged, 1):.1f} %)"
    )
    ctrl = [r for r in ok if r["changed"] is None]
    print(f"no-change runs with any flag: {sum(bool(r['flagged']) for r in ctrl)} of {len(ctrl)}")
    chg = [r for r in explain_rows if r["changed"] is not None]
    first = [r for r in chg if r.get("first") == r["changed"]]
    print(f"changed node first: {len(first)} of {len(chg)}")
    for r in chg:
        if r.get("first") != r["changed"]:
            print(f"  {r['case']}: first {r.get('first')}, flagged {r.get('flagged')}")
    new = [r for r in chg if "-new" in r["case"]]
    for r in new:
        print(f"  new level {r['case']}: {r.get('summary', r.get('error'))}")
    anom = [r for r in rows if "forced" in r]
    if anom:
        hits = sum(bool(r.get("hit")) for r in anom)
        print(f"anomaly: forced node in the top 3: {hits} of {len(anom)}")
    walls = [r["wall"] for r in explain_rows]
    for net in sorted({r["case"].split("-")[0] for r in rows}):
        w = [r["wall"] for r in explain_rows if r["case"].startswith(net)]
        wa = [r["wall"] for r in anom if r["case"].startswith(net)]
        print(
            f"wall {net}: explain median {statistics.median(w):.1f} s (max {max(w):.1f})"
            + (f", anomaly median {statistics.median(wa):.1f} s" if wa else "")
        )
    if walls:
        print(f"wall all explain: median {statistics.median(walls):.1f} s")
    report_dowhy(dowhy)


def report_dowhy(dowhy: list[dict]) -> None:
    for r in dowhy:
        print(
            f"dowhy {r['case']}: ours first {r.get('first')}, {r['wall']:.0f} s with DoWhy; "
            f"{json.dumps(r.get('dowhy'))[:300]}"
        )


if __name__ == "__main__":
    main()
