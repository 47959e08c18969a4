"""PetShop root-cause benchmark: `causal-attrib anomaly` against the ranked-correlation baseline.

Runs every runnable issue of the PetShop dataset (Hardt et al., CLeaR 2024) with the dataset's
own protocol: mechanisms are fitted on ``noissue`` (normal operation), the issue window is
analysed, the causal graph is the call graph reversed, the target is the issue's node, metric
and statistic, and the score is top-1 / top-3 recall of the injected root cause. The baseline
(ranked correlation, the best non-causal method in the dataset's paper) is re-implemented here
from its description and run on the same data in the same process. The specificity check
splits the normal data in two, as the protocol does, and counts how often a method names a
root cause although there is none.

The dataset is read from ``../shared/data/petshop/dataset`` beside the repository (``--data``
to change); it is never copied into the repository.

Usage::

    python benchmarks/petshop.py                 # all 52 issues + specificity (~1-2 min)
    python benchmarks/petshop.py --split train   # tune on train only
    python benchmarks/petshop.py --via-cli       # run the installed CLI, one process per issue
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import pearsonr

from causal_attrib.analyses.anomaly import attribute_anomalies, most_unusual
from causal_attrib.analyses.incident import attribute_incident
from causal_attrib.errors import InputError
from causal_attrib.inputs.graphs import load_graph
from causal_attrib.results.anomaly import rank_causes

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "petshop" / "dataset"
SCENARIOS = ("low_traffic", "high_traffic")


def reduce(metrics: pd.DataFrame, metric: str, statistic: str) -> pd.DataFrame:
    """One column per service: the given metric and statistic."""
    cols = [c for c in metrics.columns if c[1] == metric and c[2] == statistic]
    out = metrics.loc[:, cols].copy()
    out.columns = [c[0] for c in cols]
    return out.reset_index(drop=True)


def load_issues(scenario_dir: Path, splits: tuple[str, ...]) -> list[dict]:
    issues = []
    for split in splits:
        for path in sorted((scenario_dir / split).glob("issue_*"), key=lambda p: int(p.name[6:])):
            target = json.loads((path / "target.json").read_text())
            metrics = pd.read_csv(path / "metrics.csv", header=[0, 1, 2], index_col=0)
            issues.append({"split": split, "name": path.name, "metrics": metrics, **target})
    return issues


# --- methods -------------------------------------------------------------------------------


def causal_attrib_method(graph, target, normal: pd.DataFrame, abnormal: pd.DataFrame, seed=0):
    """Rankings from `causal-attrib anomaly --attribute all` (the window is the incident, as
    the protocol asserts), and what default settings report from the same run (the same
    draws per row): the mean over the rows whose target passes the threshold, or, when none
    does, over the most unusual rows (``most_unusual``), flagged as below the threshold."""
    result = attribute_anomalies(graph, normal, abnormal, target, attribute="all", seed=seed)
    window = [c.node for c in result.causes if c.contribution > 0]
    rows = [r for r in result.rows if r.anomalous]
    if not rows:
        rows = [result.rows[i] for i in sorted(most_unusual(list(result.rows)))]
    flagged = rank_causes(rows)
    default = [c.node for c in flagged if c.contribution > 0]
    return {"causal-attrib": window, "causal-attrib (defaults)": default}


def causal_attrib_series(graph, target, normal, abnormal, seed=0):
    """Time-series mode (``anomaly --time-column``): ``noissue`` followed by the issue window
    as one series, the incident at the window's start, and ``--incident auto``. The issue
    window was recorded hours after ``noissue`` ends; rows are numbered consecutively, so
    the window's first lags read the end of ``noissue`` (the dataset has nothing closer).
    Gaps are filled with the normal data's means (the upstream method's handling), because
    a series needs every value of its past."""
    columns = sorted(set(normal.columns) | set(abnormal.columns))
    normal, abnormal = impute_means(
        normal.reindex(columns=columns), abnormal.reindex(columns=columns)
    )
    series = pd.concat([normal, abnormal], ignore_index=True)
    missing = [n for n in graph.nodes if n not in series.columns]
    series = series.assign(**dict.fromkeys(missing, 0.0))[[*graph.nodes]]
    series.insert(0, "t", np.arange(len(series)))
    out = {}
    for name, incident in (("series", str(len(normal))), ("series, auto", "auto")):
        try:
            result = attribute_incident(
                graph, series, target, time_column="t", incident=incident, seed=seed
            )
            out[f"causal-attrib {name}"] = [c.node for c in result.causes if c.contribution > 0]
        except InputError as exc:
            print(f"  {name}: {exc}", file=sys.stderr)
            out[f"causal-attrib {name}"] = []
    return out


def causal_attrib_claims(graph, target, normal, abnormal, seed=0):
    """Default settings: a root cause is claimed only when a row's target passes the
    threshold (the verdict); causes ranked below it are leads, not claims."""
    result = attribute_anomalies(graph, normal, abnormal, target, seed=seed)
    claimed = [] if result.below_threshold else [c.node for c in result.causes]
    return {"causal-attrib (defaults)": claimed}


def causal_attrib_cli(graph_path: Path, target, normal, abnormal, seed=0):
    """The same, through the installed command line (one process per call)."""
    with tempfile.TemporaryDirectory() as tmp:
        ref, ano = Path(tmp, "normal.csv"), Path(tmp, "abnormal.csv")
        normal.to_csv(ref, index=False)
        abnormal.to_csv(ano, index=False)
        cmd = [
            "causal-attrib",
            "anomaly",
            "--graph",
            str(graph_path),
            "--graph-format",
            "adjacency",
            "--reverse",
            "--reference",
            str(ref),
            "--anomalies",
            str(ano),
            "--target",
            target,
            "--seed",
            str(seed),
            "--attribute",
            "all",
            "--format",
            "json",
            "--quiet",
        ]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    report = json.loads(out)
    return {"causal-attrib": [c["node"] for c in report["causes"] if c["contribution"] > 0]}


def _mad_scores(normal: pd.Series, values: np.ndarray) -> tuple[np.ndarray, float] | None:
    seen = normal.dropna().to_numpy(float)
    if len(seen) < 10:
        return None
    if np.std(seen) == 0:
        return np.abs(values - seen.mean()), 0.0
    med = np.median(seen)
    mad = np.median(np.abs(seen - med))
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = np.abs(values - med) / mad
    return scores, 5.0


def ranked_correlation(graph, target, normal: pd.DataFrame, abnormal: pd.DataFrame, seed=0):
    """The dataset paper's ranked-correlation baseline, re-implemented from its description.

    Median-deviation detectors (threshold 5) trained on normal data; the analysed row is the
    first anomalous target row from the third row on; candidates are the nodes anomalous in
    that row, ranked by the p-value of their Pearson correlation with the target over the
    window; at most three are returned.
    """
    flags = {}
    for col in abnormal.columns:
        fitted = _mad_scores(normal[col], abnormal[col].to_numpy(float)) if col in normal else None
        if fitted is None:
            flags[col] = np.zeros(len(abnormal), bool)
            continue
        scores, threshold = fitted
        scores = np.where(np.isnan(scores), 0.0, scores)
        flags[col] = scores > threshold
    if target not in flags:
        return {"ranked-correlation": []}
    row = next((i for i in range(2, len(abnormal)) if flags[target][i]), None)
    if row is None:
        return {"ranked-correlation": []}
    candidates = [c for c in abnormal.columns if c != target and flags[c][row]]
    y = abnormal[target].to_numpy(float)
    pvalues = {}
    for c in candidates:
        x = abnormal[c].to_numpy(float)
        keep = ~(np.isnan(x) | np.isnan(y))
        if keep.sum() < 2:
            continue
        with np.errstate(all="ignore"):
            p = pearsonr(x[keep], y[keep])[1] if np.ptp(x[keep]) and np.ptp(y[keep]) else np.nan
        if np.isfinite(p):
            pvalues[c] = p
    return {"ranked-correlation": sorted(pvalues, key=lambda c: (pvalues[c], c))[:3]}


# --- protocol ------------------------------------------------------------------------------


def impute_means(normal: pd.DataFrame, abnormal: pd.DataFrame):
    """The upstream method's gap handling: every gap filled with its column's mean over
    the normal data (0 for a column the normal data never measure)."""
    means = normal.mean(numeric_only=True)
    return normal.fillna(means).fillna(0.0), abnormal.fillna(means).fillna(0.0)


def evaluate(data_dir: Path, splits, methods, via_cli: bool, impute: bool = False) -> pd.DataFrame:
    records = []
    for scenario in SCENARIOS:
        sdir = data_dir / scenario
        graph = load_graph(sdir / "graph.csv", "adjacency", reverse=True)
        normal_all = pd.read_csv(sdir / "noissue" / "metrics.csv", header=[0, 1, 2], index_col=0)
        for issue in load_issues(sdir, splits):
            t = issue["target"]
            normal = reduce(normal_all, t["metric"], t["agg"])
            abnormal = reduce(issue["metrics"], t["metric"], t["agg"])
            if impute:
                normal, abnormal = impute_means(normal, abnormal)
            truth = issue["root_cause"]["node"]
            for method in methods:
                start = time.perf_counter()
                if method is causal_attrib_method and via_cli:
                    rankings = causal_attrib_cli(sdir / "graph.csv", t["node"], normal, abnormal)
                else:
                    rankings = method(graph, t["node"], normal, abnormal)
                seconds = time.perf_counter() - start
                for name, ranked in rankings.items():
                    records.append(
                        {
                            "scenario": scenario,
                            "split": issue["split"],
                            "issue": issue["name"],
                            "metric": t["metric"],
                            "method": name,
                            "truth": truth,
                            "top1": truth in ranked[:1],
                            "top3": truth in ranked[:3],
                            "rank": ranked.index(truth) + 1 if truth in ranked else None,
                            "first": ranked[0] if ranked else None,
                            "seconds": seconds,
                        }
                    )
    return pd.DataFrame.from_records(records)


def specificity(data_dir: Path, methods) -> pd.DataFrame:
    """The protocol's check: split normal data at 50, 60, 70, 80, 90 % and analyse the rest."""
    records = []
    for scenario in SCENARIOS:
        sdir = data_dir / scenario
        graph = load_graph(sdir / "graph.csv", "adjacency", reverse=True)
        normal_all = pd.read_csv(sdir / "noissue" / "metrics.csv", header=[0, 1, 2], index_col=0)
        n = len(normal_all)
        for metric in ("latency", "availability"):
            frame = reduce(normal_all, metric, "Average")
            for split in range(n // 2, n - 3, int(n * 0.1)):
                for method in methods:
                    rankings = method(graph, "PetSite", frame.iloc[:split], frame.iloc[split:])
                    for name, ranked in rankings.items():
                        records.append(
                            {
                                "scenario": scenario,
                                "metric": metric,
                                "split_row": split,
                                "method": name,
                                "claimed": bool(ranked),
                            }
                        )
    return pd.DataFrame.from_records(records)


def recall_table(results: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (method, split), part in results.groupby(["method", "split"], sort=False):
        row = {"method": method, "split": split}
        for (scenario, metric), cell in part.groupby(["scenario", "metric"], sort=False):
            row[f"{scenario[:4]} {metric[:5]}"] = f"{cell.top1.mean():.2f}/{cell.top3.mean():.2f}"
        row["all"] = f"{part.top1.mean():.2f}/{part.top3.mean():.2f}"
        row["n"] = len(part)
        rows.append(row)
    for method, part in results.groupby("method", sort=False):
        rows.append(
            {
                "method": method,
                "split": "both",
                "all": f"{part.top1.mean():.2f}/{part.top3.mean():.2f}",
                "n": len(part),
            }
        )
    return pd.DataFrame(rows).fillna("")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="PetShop dataset/ dir")
    parser.add_argument("--split", choices=["train", "test", "both"], default="both")
    parser.add_argument("--no-specificity", action="store_true")
    parser.add_argument("--via-cli", action="store_true", help="run the CLI per issue")
    parser.add_argument("--details", action="store_true", help="print every issue's result")
    parser.add_argument(
        "--impute-mean", action="store_true", help="fill gaps with the normal data's means first"
    )
    parser.add_argument(
        "--time-series",
        action="store_true",
        help="also run time-series mode (noissue then the issue window as one series)",
    )
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f"PetShop data not found at {args.data} (use --data)", file=sys.stderr)
        return 2
    splits = ("train", "test") if args.split == "both" else (args.split,)
    start = time.perf_counter()
    methods = [causal_attrib_method, ranked_correlation]
    methods += [causal_attrib_series] if args.time_series else []
    results = evaluate(args.data, splits, methods, args.via_cli, args.impute_mean)
    elapsed = time.perf_counter() - start
    pd.set_option("display.width", 200)
    if args.details:
        print(results.drop(columns=["truth"]).to_string(index=False))
    print("\nTop-1 / top-3 recall (scenario x metric, per split and overall):")
    print(recall_table(results).to_string(index=False))
    per_method = results.groupby("method", sort=False).seconds.agg(["sum", "median"])
    print("\nWall time per method over the issues (s): total / median per issue")
    for method, row in per_method.iterrows():
        print(f"  {method:20s} {row['sum']:7.1f} / {row['median']:.2f}")
    print(f"  whole evaluation   {elapsed:7.1f}")
    if not args.no_specificity:
        spec = specificity(args.data, [causal_attrib_claims, ranked_correlation])
        print("\nSpecificity (share of normal-data splits where no root cause is claimed):")
        table = spec.assign(ok=~spec.claimed).groupby(["method", "scenario", "metric"]).ok.mean()
        print(table.round(2).to_string())
        print(spec.assign(ok=~spec.claimed).groupby("method").ok.mean().round(2).to_string())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nPeak memory (this process): {peak:.0f} MB; cores: {os.cpu_count()}")
    if args.via_cli:  # Linux reports the largest child's peak, not a sum
        child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"Peak memory of the largest causal-attrib process: {child:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
