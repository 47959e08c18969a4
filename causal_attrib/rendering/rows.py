"""The rows and figures of each result, as text cells: the terminal table, the Markdown and
the HTML page show the same ones."""

from __future__ import annotations

from collections.abc import Sequence

from ..results.anomaly import RootCause
from ..results.check import CheckResult, Verdict
from ..results.comparison import Comparison
from ..results.explain import ExplainResult
from ..results.influence import InfluenceResult
from ..results.segments import SegmentedResult
from .cells import number, q_value, share


def explain_rows(result: ExplainResult) -> list[list[str]]:
    """The node table's cells, one row per node in ranking order."""
    has_interval = any(n.interval is not None for n in result.nodes)
    sampled = _sampled(result)
    rows = []
    for rank, n in enumerate(result.nodes, start=1):
        contribution = number(n.contribution) if n.ancestor else "n/a"
        if n.extrapolated and n.contribution:
            contribution += EXTRAPOLATED
        effect = NO_EFFECT if n.effect is None else number(n.effect, 2)
        row = [str(rank), n.node, "yes" if n.changed else "no", q_value(n.q_value), effect]
        row.append(contribution)
        if sampled:
            row.append(_error_cell(n.standard_error, n.contribution, result.fitted_change))
        if has_interval:
            row.append(f"[{number(n.interval[0])}, {number(n.interval[1])}]" if n.interval else "")
        row.append(share(n.share) if n.ancestor and n.contribution else "")
        rows.append(row)
    return rows


def _error_cell(error: float | None, contribution: float, change: float) -> str:
    """A contribution's standard error; 0 below rounding of the fitted change (a node
    whose marginal contribution is the same along every ordering)."""
    if error is None or not contribution:
        return ""
    return "0" if error <= 1e-12 * max(abs(change), 1e-300) else number(error, 2)


def _sampled(result: ExplainResult) -> bool:
    """Whether the contributions were sampled (they then carry standard errors)."""
    return any(n.standard_error is not None for n in result.nodes)


NO_EFFECT = "\u2014"
"""The effect cell of a node without an effect size (a categorical node)."""


EXTRAPOLATED = " *"
"""The mark of a contribution that rests on extrapolation (see :func:`explain_legend`)."""


def explain_legend(result: ExplainResult) -> str:
    """What the node table's columns mean, in one paragraph."""
    text = (
        f"changed = mechanism flagged at FDR alpha={result.settings['alpha']}"
        + (
            f" with effect >= {result.settings['min_effect']:g}"
            if result.settings.get("min_effect")
            else ""
        )
        + "; effect = size of the change in noise standard deviations (or log ratio of "
        "noise spreads), whatever its significance; contribution = Shapley value of "
        "swapping in the node's new mechanism; n/a = not upstream of the target."
    )
    if _sampled(result):
        text += (
            " s.e. = standard error of a contribution (more players than exact Shapley values "
            f"take: {result.settings.get('orderings', 0)} orderings were sampled)."
        )
    if any(n.effect is None for n in result.nodes):
        text += (
            f" {NO_EFFECT} = no effect size: a categorical node's change is not measured in "
            "noise standard deviations (its q-value comes from a chi-square or likelihood-ratio "
            "test)."
        )
    if any(n.extrapolated and n.contribution for n in result.nodes):
        text += (
            " * = rests on extrapolation: parents on its way to the target left the range "
            "the other period saw."
        )
    return text


def explain_headers(result: ExplainResult) -> list[str]:
    """The node table's column names."""
    headers = ["rank", "node", "changed", "q-value", "effect", "contribution"]
    if _sampled(result):
        headers.append("s.e.")
    if any(n.interval is not None for n in result.nodes):
        level = result.settings.get("confidence", 0.95)
        headers.append(f"{level * 100:g} % interval")
    return headers + ["share"]


def explain_figures(result: ExplainResult) -> list[tuple[str, str]]:
    """Observed change, fitted change and gap, as label/text pairs."""
    return [
        (
            "observed",
            f"{number(result.observed_before)} -> {number(result.observed_after)} "
            f"(change {number(result.observed_change)})",
        ),
        (
            "fitted models",
            f"{number(result.fitted_before)} -> {number(result.fitted_after)} "
            f"(change {number(result.fitted_change)} = sum of contributions)",
        ),
        ("unexplained gap", number(result.gap)),
    ] + time_figures(result.time_mode)


def time_figures(mode) -> list[tuple[str, str]]:
    """Time-series mode in one line: the lag order, how it was chosen, and the windows."""
    if not mode:
        return []
    windows = mode.get("windows", {})
    spans = [f"{k} {w['start']} to {w['end']}" for k, w in windows.items()]
    how = "by BIC" if mode["lags_from"] == "BIC" else "given"
    lags = f"lags {mode['lags']} ({how})"
    if "node_lags" in mode:
        reading = len(mode["node_lags"])
        lags = f"lags per node up to {mode['lags']} ({how}; {reading} node(s) read their past)"
    return [("time series", f"{mode['time_column']}, {lags}; " + "; ".join(spans))]


ROWS_SHOWN = 20
"""Anomaly rows a table or page lists at most (``--top`` raises it); the JSON has all."""


def shown_rows(rows: Sequence, top: int) -> tuple[list, str]:
    """The rows a table lists: all, or the ``max(top, ROWS_SHOWN)`` with the highest
    target scores, in row order; and a line saying what was left out ('' for none)."""
    limit = max(top, ROWS_SHOWN)
    if len(rows) <= limit:
        return list(rows), ""
    order = sorted(range(len(rows)), key=lambda i: (-(rows[i].target_score or 0.0), i))
    keep = sorted(order[:limit])
    flagged = sum(r.anomalous for i, r in enumerate(rows) if i not in set(keep))
    left = len(rows) - limit
    return [rows[i] for i in keep], (
        f"the {limit} highest-scoring of {len(rows)} rows are listed; {left} more "
        f"({flagged} of them anomalous) are in the JSON report"
    )


def shown_causes(
    causes: Sequence[RootCause], top: int
) -> tuple[list[tuple[int, RootCause]], list[RootCause]]:
    """The ``top`` causes largest in size (a large negative one is news too), with their
    ranks, in rank order; and the causes left out."""
    ranked_causes = list(enumerate(causes, start=1))
    keep = sorted(ranked_causes, key=lambda rc: (-abs(rc[1].contribution), rc[0]))[:top]
    kept = {rank for rank, _ in keep}
    return sorted(keep, key=lambda rc: rc[0]), [c for r, c in ranked_causes if r not in kept]


def hidden_causes(hidden: Sequence[RootCause]) -> str:
    """What the left-out causes are, in words ('' for none)."""
    if not hidden:
        return ""
    largest = max(abs(c.contribution) for c in hidden)
    return (
        f"{len(hidden)} more node(s), each at most {number(largest)} in size, "
        "are in the JSON report"
    )


def cause_rows(causes: Sequence[RootCause], total: float | None, top: int) -> list[list[str]]:
    """The cells of the ``top`` causes largest in size (see :func:`shown_causes`); shares
    relative to ``total``."""
    rows = []
    for rank, c in shown_causes(causes, top)[0]:
        part = share(c.contribution / total) if total else ""
        rows.append([str(rank), c.node, number(c.contribution), part, number(c.score, 3)])
    return rows


EITHER = " (the reverse fits as well: the data cannot orient it)"


def check_facts(result: CheckResult) -> list[tuple[str, str]]:
    """Label/text pairs under the headline, shared by the table and the Markdown."""
    alpha = result.settings["alpha"]
    facts = [("verdict", result.verdict)]
    if result.verdict is not Verdict.INVALID:
        facts.append(
            (
                "implications",
                f"{len(result.implications)} tested, {len(result.violations)} violated at FDR "
                f"{alpha:g}, {result.untestable} untestable",
            )
        )
    b = result.baseline
    if b is not None:
        shown = b.to_dict()
        q = shown["share_quantiles"]
        which = f"all {b.permutations}" if b.exhaustive else f"{b.permutations} random"
        facts.append(
            (
                "baseline",
                f"{b.given_share * 100:.1f} % of implications rejected at p <= {alpha:g}; "
                f"{which} relabellings: median "
                f"{shown['median_share'] * 100:.1f} % (5-95 %: {q['p05'] * 100:.1f}-"
                f"{q['p95'] * 100:.1f} %); better than {b.better_than * 100:.0f} % of them "
                f"(p = {b.p_value:.2g})",
            )
        )
        if not b.informative:
            facts.append(
                (
                    "caution",
                    f"{b.equivalent * 100:.0f} % of relabellings are Markov equivalent to the "
                    "graph, so the comparison cannot tell them apart",
                )
            )
    facts.append(("rows", f"{result.rows['used']} used of {result.rows['total']}"))
    return facts


def pair_rows(result: SegmentedResult, top: int) -> list[list[str]]:
    """The top (segment, node) pairs' cells."""
    return [
        [str(k), p.segment, p.node, number(p.contribution), share(p.share)]
        for k, p in enumerate(result.pairs[:top], start=1)
    ]


def segment_rows(result: SegmentedResult) -> list[list[str]]:
    """One row of cells per segment."""
    rows = []
    for s in result.segments:
        r = s.result
        if r is None:
            rows.append([s.label, f"{s.rows['before']}/{s.rows['after']}", "", "", "skipped"])
            continue
        lead = ", ".join(r.changed_ancestors[:3]) or "none"
        rows.append(
            [
                s.label,
                f"{s.rows['before']}/{s.rows['after']}",
                f"{number(r.observed_before)} -> {number(r.observed_after)}",
                number(r.gap),
                lead,
            ]
        )
    return rows


def segment_figures(result: SegmentedResult) -> list[tuple[str, str]]:
    """The overall change and how it splits, as label/text pairs."""
    figures = [
        (
            "overall",
            f"{number(result.overall_before)} -> {number(result.overall_after)} "
            f"(change {number(result.overall_change)})",
        ),
        ("segment/node pairs", f"{number(sum(p.contribution for p in result.pairs))}"),
    ]
    if result.exact:
        figures += [
            ("segments' gaps", number(result.gaps)),
            ("mix of segments", number(result.mix)),
            ("skipped segments", number(result.skipped_change)),
        ]
    return figures


SEGMENT_HEADERS = ["segment", "rows b/a", "statistic", "gap", "changed upstream"]


def influence_rows(result: InfluenceResult, top: int) -> list[list[str]]:
    """The top nodes' cells: rank, node, contribution, share."""
    return [
        [str(k), n.node, number(n.contribution), share(n.share)]
        for k, n in enumerate(result.nodes[:top], start=1)
    ]


COMPARISON_HEADERS = ["node", "ours", "rank", "DoWhy", "rank"]


def comparison_rows(comparison: Comparison, top: int) -> list[list[str]]:
    """The second opinion's cells: each node's figure and rank, ours and DoWhy's, in our
    ranking order (nodes only DoWhy ranks after)."""
    rows = []
    for item in comparison.to_dict()["nodes"][:top]:
        rows.append(
            [
                item["node"],
                number(item["ours"]),
                "" if item["rank_ours"] is None else str(item["rank_ours"]),
                number(item["dowhy"]),
                "" if item["rank_dowhy"] is None else str(item["rank_dowhy"]),
            ]
        )
    return rows


EDGE_HEADERS = ["edge", "strength", "share of child"]


def edge_rows(result: InfluenceResult, top: int) -> list[list[str]]:
    """The strongest edges' cells (all edges when ``top`` covers them), by strength."""
    edges = sorted(result.edges or (), key=lambda e: (-e.strength, e.source, e.target))
    return [[f"{e.source} -> {e.target}", number(e.strength), share(e.share)] for e in edges[:top]]


EDGE_LEGEND = (
    "strength = growth of the child's variance when the edge is cut (the parent fed an "
    "independent draw of itself), as dowhy.gcm.arrow_strength; share = strength / the "
    "child's variance."
)
