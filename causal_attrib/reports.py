"""Rendering results as a terminal table, JSON, Markdown or HTML.

Renderers take the result object and return text; they never compute anything new, so the
JSON printed by the CLI is exactly ``result.to_dict()`` serialised.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import networkx as nx
    import numpy as np

FORMATS = ("table", "json", "markdown", "html")


@dataclass(frozen=True)
class ReportData:
    """What a picture of a result needs beyond its JSON: the graph and some raw values.

    Results carry it in a ``report_data`` field that is left out of ``to_dict()``,
    equality and ``repr``, so the JSON report stays small and stable.

    Attributes
    ----------
    graph
        The causal graph the analysis used.
    samples
        Per node, the values of the two tables compared (before/after, or
        reference/anomalous rows): the target and the nodes that matter most.
    periods
        Names of the two tables, for legends.
    """

    graph: nx.DiGraph
    samples: Mapping[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    periods: tuple[str, str] = ("before", "after")


def stable_float(x: float | None) -> float | None:
    """Round to 12 significant digits so output is stable across BLAS builds and platforms;
    NaN and infinities become ``None`` (JSON has no such numbers)."""
    if x is None:
        return None
    x = float(x)
    return float(f"{x:.12g}") if math.isfinite(x) else None


def render(result: Any, fmt: str, color: bool = False, top: int = 10) -> str:
    """Render an explain, anomaly or check result in ``fmt`` (``top``: rows per ranking)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if fmt == "json":
        return to_json(result.to_dict())
    if fmt == "html":
        from .html_report import render_html

        return render_html(result, top=top)
    if result.command == "anomaly":
        if fmt == "markdown":
            return anomaly_markdown(result, top)
        return anomaly_table(result, top, color=color)
    if result.command == "check":
        if fmt == "markdown":
            return check_markdown(result, top)
        return check_table(result, top, color=color)
    if result.command == "segments":
        if fmt == "markdown":
            return segments_markdown(result, top)
        return segments_table(result, top)
    if fmt == "markdown":
        return explain_markdown(result)
    return explain_table(result, color=color)


def to_json(payload: dict) -> str:
    """Stable, human-diffable JSON (key order as built, two-space indent, UTF-8 kept)."""
    return json.dumps(payload, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _g(x: float | None, digits: int = 4) -> str:
    return "—" if x is None else f"{x:.{digits}g}"


def _q(x: float) -> str:
    return "<1e-16" if x < 1e-16 else f"{x:.2g}"


def _share(x: float | None) -> str:
    return "" if x is None else f"{x * 100:.0f} %"


def _rows(result: Any) -> list[list[str]]:
    has_interval = any(n.interval is not None for n in result.nodes)
    rows = []
    for rank, n in enumerate(result.nodes, start=1):
        contribution = _g(n.contribution) if n.ancestor else "n/a"
        row = [str(rank), n.node, "yes" if n.changed else "no", _q(n.q_value), contribution]
        if has_interval:
            row.append(f"[{_g(n.interval[0])}, {_g(n.interval[1])}]" if n.interval else "")
        row.append(_share(n.share) if n.ancestor and n.contribution else "")
        rows.append(row)
    return rows


def _headers(result: Any) -> list[str]:
    headers = ["rank", "node", "changed", "q-value", "contribution"]
    if any(n.interval is not None for n in result.nodes):
        level = result.settings.get("confidence", 0.95)
        headers.append(f"{level * 100:g} % interval")
    return headers + ["share"]


def _figures(result: Any) -> list[tuple[str, str]]:
    return [
        (
            "observed",
            f"{_g(result.observed_before)} -> {_g(result.observed_after)} "
            f"(change {_g(result.observed_change)})",
        ),
        (
            "fitted models",
            f"{_g(result.fitted_before)} -> {_g(result.fitted_after)} "
            f"(change {_g(result.fitted_change)} = sum of contributions)",
        ),
        ("unexplained gap", _g(result.gap)),
    ]


def explain_table(result: Any, color: bool = False) -> str:
    """A plain-text table for terminals; ``color`` highlights changed mechanisms."""
    headers, rows = _headers(result), _rows(result)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    numeric = {0, 3, 4, 5, 6}
    lines = [result.summary, ""]
    for label, text in _figures(result):
        lines.append(f"  {label + ':':17s}{text}")
    lines.append("")

    def fmt(cells: list[str]) -> str:
        out = []
        for i, (cell, w) in enumerate(zip(cells, widths, strict=True)):
            out.append(cell.rjust(w) if i in numeric and i != 1 else cell.ljust(w))
        return "  ".join(out).rstrip()

    lines.append(fmt(headers))
    lines.append("  ".join("-" * w for w in widths))
    for row, node in zip(rows, result.nodes, strict=True):
        line = fmt(row)
        if color and node.changed:
            line = f"\x1b[1;31m{line}\x1b[0m"
        lines.append(line)
    lines.append("")
    lines.append(
        f"changed = mechanism flagged at FDR alpha={result.settings['alpha']}; "
        "contribution = Shapley value of swapping in the node's new mechanism; "
        "n/a = not upstream of the target."
    )
    if result.check is not None:
        lines += ["", f"Graph check ({result.check.verdict}): {result.check.summary}"]
    return "\n".join(lines) + "\n"


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def explain_markdown(result: Any, max_rows: int = 10) -> str:
    """Short Markdown for CI job summaries and pull-request comments, headline first."""
    headers, rows = _headers(result), _rows(result)
    lines = [f"**{_md_escape(result.headline(markdown=True))}**", ""]
    lines.append("| " + " | ".join(headers) + " |")
    lines.append(
        "|" + "|".join("---:" if i in (0, 3, 4) else "---" for i in range(len(headers))) + "|"
    )
    shown = [r for r, n in zip(rows, result.nodes, strict=True) if n.ancestor or n.changed]
    for row in shown[:max_rows]:
        row = row.copy()
        row[1] = f"`{_md_escape(row[1])}`"
        lines.append("| " + " | ".join(row) + " |")
    if len(shown) > max_rows:
        lines.append(f"\n_{len(shown) - max_rows} more node(s) in the JSON report._")
    lines.append("")
    for label, text in _figures(result):
        lines.append(f"- {label}: {text}")
    if result.check is not None:
        lines.append(f"- graph check ({result.check.verdict}): {_md_escape(result.check.summary)}")
    for note in result.notes:
        lines.append(f"- note: {_md_escape(note)}")
    return "\n".join(lines) + "\n"


# --- anomaly -------------------------------------------------------------------------------


def _grid(headers: list[str], rows: list[list[str]], numeric: set[int]) -> list[str]:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]

    def fmt(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in numeric else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return [fmt(headers), "  ".join("-" * w for w in widths), *(fmt(r) for r in rows)]


def _cause_rows(causes: Any, total: float | None, top: int) -> list[list[str]]:
    rows = []
    for rank, c in enumerate(causes[:top], start=1):
        share = _share(c.contribution / total) if total else ""
        rows.append([str(rank), c.node, _g(c.contribution), share, _g(c.score, 3)])
    return rows


def _value(x: Any) -> str:
    return "—" if x is None else (x if isinstance(x, str) else _g(x))


def anomaly_table(result: Any, top: int = 10, color: bool = False) -> str:
    """Plain text: headline, the rows with their target scores, then the ranked causes."""
    lines = [result.headline(), ""]
    row_lines = _grid(
        ["row", "target value", "score", "anomalous", "top cause"],
        [
            [
                r.row,
                _value(r.target_value),
                _g(r.target_score, 3),
                "yes" if r.anomalous else "no",
                r.root_causes[0].node if r.root_causes else "",
            ]
            for r in result.rows
        ],
        {1, 2},
    )
    lines += row_lines[:2] + [
        f"\x1b[1;31m{ln}\x1b[0m" if color and r.anomalous else ln
        for ln, r in zip(row_lines[2:], result.rows, strict=True)
    ]
    if result.summary:
        attributed = [r for r in result.rows if r.root_causes]
        lines += ["", f"Root causes over {len(attributed)} attributed row(s):"]
        lines += _grid(
            ["rank", "node", "contribution", "share", "node score"],
            _cause_rows(result.summary, result.blame_total, top),
            {0, 2, 3, 4},
        )
        if len(result.summary) > top:
            lines.append(f"({len(result.summary) - top} more in the JSON report)")
    lines += [
        "",
        "score = -log P(a value at least this unusual) against the reference; a row is "
        f"anomalous from {result.row_threshold:.3g} (threshold {result.threshold:g} + ln rows); "
        "contribution = Shapley share of the target's score owed to the node's own noise; "
        "share = contribution / sum of the positive contributions.",
    ]
    return "\n".join(lines) + "\n"


def anomaly_markdown(result: Any, top: int = 5) -> str:
    """Short Markdown for CI summaries and incident tickets, headline first."""
    lines = [f"**{_md_escape(result.headline())}**", ""]
    if result.summary:
        lines += [
            "| rank | node | contribution | share | node score |",
            "|---:|---|---:|---:|---:|",
        ]
        for row in _cause_rows(result.summary, result.blame_total, top):
            row[1] = f"`{_md_escape(row[1])}`"
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    flagged = ", ".join(f"`{_md_escape(r)}`" for r in result.anomalous_rows[:20]) or "none"
    lines.append(f"- anomalous rows: {flagged}")
    for note in result.notes:
        lines.append(f"- note: {_md_escape(note)}")
    return "\n".join(lines) + "\n"


# --- check ---------------------------------------------------------------------------------

_EITHER = " (the reverse fits as well: the data cannot orient it)"
_VERDICT_COLOR = {"consistent": "32", "violated": "33", "rejected": "31", "invalid": "31"}


def _check_facts(result: Any) -> list[tuple[str, str]]:
    """Label/text pairs under the headline, shared by the table and the Markdown."""
    alpha = result.settings["alpha"]
    facts = [("verdict", result.verdict)]
    if result.verdict != "invalid":
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


def check_table(result: Any, top: int = 10, color: bool = False) -> str:
    """Plain text: headline, facts, findings, violations, unsupported edges, suggestions."""
    lines = [result.summary, ""]
    for label, text in _check_facts(result):
        if color and label == "verdict" and text in _VERDICT_COLOR:
            text = f"\x1b[1;{_VERDICT_COLOR[text]}m{text}\x1b[0m"
        lines.append(f"  {label + ':':15s}{text}")
    if result.findings:
        lines += ["", "Findings:"]
        lines += [f"  {f.severity:8s}{f.message}" for f in result.findings]
    violations = result.violations
    if violations:
        lines += ["", "Violated implications (strongest first):"]
        lines += _grid(
            ["rank", "implication", "p-value", "q-value"],
            [
                [str(k), i.text, _q(i.p_value), _q(i.q_value)]
                for k, i in enumerate(violations[:top], start=1)
            ],
            {0, 2, 3},
        )
        if len(violations) > top:
            lines.append(f"({len(violations) - top} more in the JSON report)")
    weak = result.unsupported_edges
    if weak:
        lines += ["", f"Edges without detectable dependence (p > {result.settings['alpha']:g}):"]
        lines += [f"  {e.cause} -> {e.effect}  (p = {e.p_value:.2g})" for e in weak[:top]]
        if len(weak) > top:
            lines.append(f"  ({len(weak) - top} more in the JSON report)")
    if result.suggestions:
        lines += ["", "Suggested edges (not applied; check they make sense before adding):"]
        lines += [
            f"  add {s.cause} -> {s.effect}: violations {s.violations_before} -> "
            f"{s.violations_after}{_EITHER if s.either_direction else ''}"
            for s in result.suggestions
        ]
    lines += [
        "",
        "implication = the graph's claim that a node is independent of a non-descendant given "
        "its parents; q-value = Benjamini-Hochberg; relabellings = the same graph with its "
        "node names shuffled.",
    ]
    return "\n".join(lines) + "\n"


def check_markdown(result: Any, top: int = 5) -> str:
    """Short Markdown for CI summaries: headline, facts, then the strongest violations."""
    lines = [f"**{_md_escape(result.summary)}**", ""]
    lines += [f"- {label}: {_md_escape(text)}" for label, text in _check_facts(result)]
    lines += [f"- {f.severity}: {_md_escape(f.message)}" for f in result.findings]
    if result.violations:
        lines += ["", "| rank | implication | p-value | q-value |", "|---:|---|---:|---:|"]
        for k, i in enumerate(result.violations[:top], start=1):
            lines.append(f"| {k} | `{_md_escape(i.text)}` | {_q(i.p_value)} | {_q(i.q_value)} |")
        if len(result.violations) > top:
            lines.append(f"\n_{len(result.violations) - top} more in the JSON report._")
    if result.suggestions:
        lines.append("")
        lines += [
            f"- suggestion (not applied): add `{_md_escape(s.cause)}` -> "
            f"`{_md_escape(s.effect)}` (violations {s.violations_before} -> "
            f"{s.violations_after}){_EITHER if s.either_direction else ''}"
            for s in result.suggestions
        ]
    for note in result.notes:
        lines.append(f"- note: {_md_escape(note)}")
    return "\n".join(lines) + "\n"


# --- segments ------------------------------------------------------------------------------


def _pair_rows(result: Any, top: int) -> list[list[str]]:
    return [
        [str(k), p.segment, p.node, _g(p.contribution), _share(p.share)]
        for k, p in enumerate(result.pairs[:top], start=1)
    ]


def _segment_rows(result: Any) -> list[list[str]]:
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
                f"{_g(r.observed_before)} -> {_g(r.observed_after)}",
                _g(r.gap),
                lead,
            ]
        )
    return rows


def _segment_figures(result: Any) -> list[tuple[str, str]]:
    figures = [
        (
            "overall",
            f"{_g(result.overall_before)} -> {_g(result.overall_after)} "
            f"(change {_g(result.overall_change)})",
        ),
        ("segment/node pairs", f"{_g(sum(p.contribution for p in result.pairs))}"),
    ]
    if result.exact:
        figures += [
            ("segments' gaps", _g(result.gaps)),
            ("mix of segments", _g(result.mix)),
            ("skipped segments", _g(result.skipped_change)),
        ]
    return figures


_SEGMENT_HEADERS = ["segment", "rows b/a", "statistic", "gap", "changed upstream"]


def segments_table(result: Any, top: int = 10) -> str:
    """Plain text: headline, figures, the top segment/node pairs, then every segment."""
    lines = [result.summary, ""]
    lines += [f"  {label + ':':20s}{text}" for label, text in _segment_figures(result)]
    lines += ["", "Largest parts of the overall change:"]
    lines += _grid(["rank", "segment", "node", "part", "share"], _pair_rows(result, top), {0, 3, 4})
    if len(result.pairs) > top:
        lines.append(f"({len(result.pairs) - top} more in the JSON report)")
    lines += ["", "Segments:"]
    lines += _grid(_SEGMENT_HEADERS, _segment_rows(result), {3})
    for s in result.skipped:
        lines.append(f"  skipped {s.label}: {s.skipped}")
    lines += [
        "",
        "part = the node's contribution in the segment times the segment's share of the after "
        "rows"
        + (
            "; parts, gaps, mix and skipped segments add up to the overall change."
            if result.exact
            else " (approximate: this statistic does not add up over segments)."
        ),
    ]
    return "\n".join(lines) + "\n"


def segments_markdown(result: Any, top: int = 5) -> str:
    """Short Markdown for CI summaries: headline, top pairs, segments, skipped."""
    lines = [f"**{_md_escape(result.summary)}**", ""]
    lines += ["| rank | segment | node | part | share |", "|---:|---|---|---:|---:|"]
    for row in _pair_rows(result, top):
        row[1], row[2] = f"`{_md_escape(row[1])}`", f"`{_md_escape(row[2])}`"
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    lines += [f"- {label}: {text}" for label, text in _segment_figures(result)]
    lines += [f"- skipped `{_md_escape(s.label)}`: {_md_escape(s.skipped)}" for s in result.skipped]
    lines += [f"- note: {_md_escape(n)}" for n in result.notes]
    return "\n".join(lines) + "\n"
