"""Self-contained HTML reports: one file with inline CSS and SVG, no script, no network.

A report is for people who would rather look than read a table: the causal graph with the
changed (or anomalous, or contradicted) nodes highlighted, a bar chart of the
contributions with their intervals, and the before/after distributions of the target and
the nodes that matter. Everything is drawn here from the result object, with no plotting
library, so the file opens offline in any browser and is byte-identical for the same
result.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

import networkx as nx
import numpy as np

from . import __version__
from .reports import (
    _check_facts,
    _figures,
    _g,
    _headers,
    _q,
    _rows,
    _segment_figures,
    _segment_rows,
    _share,
    _value,
)

MAX_DRAWN_NODES = 400
"""Graphs larger than this are not drawn (the picture would be unreadable and heavy)."""

# colours: a warm scale for positive contributions, a cool one for negative ones
WARM = (215, 48, 31)
COOL = (43, 140, 190)
CHANGED = "#b30000"
MUTED = "#8c8c8c"
BEFORE = "#4c72b0"
AFTER = "#dd8452"

_CSS = """
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  margin: 0 auto; max-width: 1180px; padding: 24px; color: #1d1d1f; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.headline { font-size: 17px; font-weight: 600; margin: 10px 0 14px; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 8px 0; }
.card { border: 1px solid #ddd; border-radius: 8px; padding: 8px 12px; min-width: 170px; }
.card .label { color: #666; font-size: 12px; }
.card .value { font-size: 16px; font-weight: 600; }
table { border-collapse: collapse; margin: 6px 0; font-size: 13px; }
th, td { border-bottom: 1px solid #eee; padding: 3px 10px; text-align: left; vertical-align: top; }
th { background: #f6f6f6; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.flag td { color: #b30000; font-weight: 600; }
.figure { overflow-x: auto; margin: 4px 0; }
.grid { display: flex; flex-wrap: wrap; gap: 14px; }
.legend { font-size: 12px; color: #555; margin: 4px 0; }
.swatch { display: inline-block; width: 12px; height: 12px; vertical-align: -2px;
  border-radius: 2px; margin: 0 4px 0 12px; }
.note { color: #555; }
.verdict { display: inline-block; padding: 1px 8px; border-radius: 10px; color: #fff; }
footer { margin-top: 32px; color: #888; font-size: 12px; }
svg text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
"""


def render_html(result: Any, top: int = 10) -> str:
    """The HTML report of an explain, anomaly or check result (``top``: rows per ranking)."""
    if result.command == "anomaly":
        title, body = _anomaly(result, top)
    elif result.command == "check":
        title, body = _check(result, top)
    elif result.command == "segments":
        title, body = _segments(result, top)
    else:
        title, body = _explain(result, top)
    settings = dict(result.settings)
    footer = (
        f"causal-attrib {escape(__version__)} · {escape(result.command)} · "
        f"seed {escape(str(settings.get('seed', 0)))}"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"{body}\n<footer>{footer}</footer>\n</body>\n</html>\n"
    )


# --- explain -------------------------------------------------------------------------------


def _explain(result: Any, top: int) -> tuple[str, str]:
    data = result.report_data
    title = f"causal-attrib explain: {result.statistic} of {result.target}"
    parts = [f"<h1>{escape(title)}</h1>", f'<p class="headline">{escape(result.summary)}</p>']
    cards = [(label, text) for label, text in _figures(result)]
    if result.fitted_change_interval is not None:
        lo, hi = result.fitted_change_interval
        level = result.settings.get("confidence", 0.95) * 100
        cards.append((f"fitted change, {level:g} % interval", f"[{_g(lo)}, {_g(hi)}]"))
    parts.append(_cards(cards))

    by_node = {n.node: n for n in result.nodes}
    scale = max((abs(n.contribution) for n in result.nodes if n.ancestor), default=0.0)
    if data is not None:
        styles = {}
        for node in data.graph.nodes:
            n = by_node.get(node)
            if n is None:
                continue
            sub = ""
            if n.ancestor and n.contribution:
                sub = f"{_signed(n.contribution)}" + (
                    f" ({_share(n.share)})" if n.share is not None else ""
                )
            elif n.changed:
                sub = "changed"
            styles[node] = _NodeStyle(
                fill=_diverging(n.contribution / scale if scale and n.ancestor else 0.0),
                stroke=CHANGED if n.changed else ("#333" if n.ancestor else MUTED),
                width=3.0 if n.changed else 1.2,
                dashed=not n.ancestor,
                text="#1d1d1f" if n.ancestor else MUTED,
                sublabel=sub,
                bold=node == result.target,
                tooltip=(
                    f"{node}: contribution {_g(n.contribution)}, q-value {_q(n.q_value)}, "
                    f"{'changed' if n.changed else 'unchanged'}, {n.mechanism}"
                ),
            )
        parts.append("<h2>Causal graph</h2>")
        parts.append(_graph_figure(data.graph, styles, target=result.target))
        parts.append(
            _legend(
                [
                    (_diverging(1.0), "pushed the statistic up"),
                    (_diverging(-1.0), "pushed it down"),
                ],
                f"Colour depth is the size of the contribution; a thick "
                f'<span style="color:{CHANGED}">red border</span> marks a changed mechanism; '
                "dashed nodes cannot influence the target; the target has a bold label.",
            )
        )

    parts.append("<h2>Contributions</h2>")
    bars = [
        _Bar(n.node, n.contribution, n.interval, _bar_colour(n.contribution))
        for n in result.nodes
        if n.ancestor and (n.contribution or n.changed)
    ][:top]
    if bars:
        bars.append(_Bar("unexplained gap", result.gap, None, MUTED))
        level = result.settings.get("confidence", 0.95) * 100
        whisker = (
            f" Whiskers are {level:g} % bootstrap intervals."
            if any(b.interval for b in bars)
            else " Run with --bootstrap N for intervals."
        )
        parts.append(_bar_chart(bars))
        parts.append(
            f'<p class="legend">Shapley value of swapping in each node\'s new mechanism, in '
            f"units of the statistic; they add up to the fitted change.{whisker}</p>"
        )
    else:
        parts.append('<p class="note">No mechanism upstream of the target changed.</p>')

    if data is not None and data.samples:
        parts.append("<h2>Distributions before and after</h2>")
        figures = []
        for node, (before, after) in data.samples.items():
            marks = []
            if node == result.target and result.target_level is None:
                marks = [
                    (result.observed_before, BEFORE, f"{result.statistic} before"),
                    (result.observed_after, AFTER, f"{result.statistic} after"),
                ]
            figures.append(_distribution(node, before, after, data.periods, marks))
        parts.append(f'<div class="grid">{"".join(figures)}</div>')

    parts.append("<h2>All nodes</h2>")
    parts.append(_explain_table(result))
    if result.check is not None:
        parts.append("<h2>Graph check</h2>")
        parts.append(
            f"<p>{_verdict_badge(result.check.verdict)} {escape(result.check.summary)}</p>"
        )
    parts.append(_settings_section(result.settings, result.rows, result.notes))
    return title, "\n".join(parts)


def _explain_table(result: Any) -> str:
    """The terminal table's columns (shared with reports) plus each node's mechanism."""
    rows = [
        (
            [(c, i not in (1, 2)) for i, c in enumerate(row)] + [(n.mechanism, False)],
            n.changed,
        )
        for row, n in zip(_rows(result), result.nodes, strict=True)
    ]
    return _table([*_headers(result), "mechanism"], rows)


# --- anomaly -------------------------------------------------------------------------------


def _anomaly(result: Any, top: int) -> tuple[str, str]:
    data = result.report_data
    title = f"causal-attrib anomaly: {result.target}"
    parts = [f"<h1>{escape(title)}</h1>", f'<p class="headline">{_code(result.headline())}</p>']
    parts.append(
        _cards(
            [
                ("rows", f"{len(result.anomalous_rows)} anomalous of {len(result.rows)}"),
                ("highest target score", _g(result.max_score, 3)),
                ("row threshold", f"{result.row_threshold:.3g}"),
                ("top cause", result.top_cause or "none"),
            ]
        )
    )
    blame = result.blame_total
    causes = {c.node: c for c in result.summary}
    if data is not None:
        styles = {}
        for node in data.graph.nodes:
            c = causes.get(node)
            share = c.contribution / blame if c is not None and blame else 0.0
            lead = c is not None and share >= 0.05
            styles[node] = _NodeStyle(
                fill=_diverging(share),
                stroke=CHANGED if lead else "#333",
                width=3.0 if lead else 1.2,
                sublabel=f"{share * 100:.0f} % of blame" if abs(share) >= 0.005 else "",
                bold=node == result.target,
                tooltip=(
                    f"{node}: contribution {_g(c.contribution)}, node score {_g(c.score, 3)}"
                    if c is not None
                    else f"{node}: not attributed"
                ),
            )
        parts.append("<h2>Causal graph</h2>")
        parts.append(_graph_figure(data.graph, styles, target=result.target))
        parts.append(
            _legend(
                [(_diverging(1.0), "share of the blame"), (_diverging(-1.0), "negative share")],
                f'A thick <span style="color:{CHANGED}">red border</span> marks a node with '
                "at least 5 % of the blame; the target has a bold label.",
            )
        )
    parts.append("<h2>Root causes over the attributed rows</h2>")
    bars = [_Bar(c.node, c.contribution, None, _bar_colour(c.contribution)) for c in result.summary]
    if bars:
        parts.append(_bar_chart(bars[:top]))
        parts.append(
            '<p class="legend">Mean Shapley share of the target\'s anomaly score owed to each '
            "node's own noise.</p>"
        )
    else:
        parts.append('<p class="note">No row was attributed.</p>')

    parts.append("<h2>Rows</h2>")
    max_score = max(result.max_score, result.row_threshold, 1e-12)
    rows = []
    for r in result.rows:
        cells = [
            (r.row, False),
            (_value(r.target_value), True),
            (_g(r.target_score, 3), True),
            (_score_bar(r.target_score or 0.0, result.row_threshold, max_score), False),
            ("yes" if r.anomalous else "no", False),
            (r.root_causes[0].node if r.root_causes else "", False),
        ]
        rows.append((cells, r.anomalous))
    parts.append(
        _table(["row", "target value", "score", "", "anomalous", "top cause"], rows, raw={3})
    )

    if data is not None and data.samples:
        parts.append("<h2>Reference distributions and the anomalous values</h2>")
        figures = [
            _distribution(node, ref, anomalous, data.periods, [], rug=True)
            for node, (ref, anomalous) in data.samples.items()
        ]
        parts.append(f'<div class="grid">{"".join(figures)}</div>')
    settings = {k: v for k, v in result.settings.items() if k != "mechanisms"}
    parts.append(_settings_section(settings, None, result.notes))
    mechanisms = result.settings.get("mechanisms", {})
    if mechanisms:
        parts.append("<details><summary>Mechanisms</summary>")
        parts.append(
            _table(
                ["node", "mechanism"],
                [([(k, False), (v, False)], False) for k, v in mechanisms.items()],
            )
        )
        parts.append("</details>")
    return title, "\n".join(parts)


def _score_bar(score: float, threshold: float, top: float, width: int = 160) -> str:
    """A small inline bar of a row's score with the threshold marked."""
    w = width * min(max(score, 0.0), top) / top
    t = width * threshold / top
    colour = CHANGED if score >= threshold else MUTED
    return (
        f'<svg width="{width}" height="12" role="img" aria-label="score">'
        f'<rect x="0" y="2" width="{w:.1f}" height="8" fill="{colour}"/>'
        f'<line x1="{t:.1f}" x2="{t:.1f}" y1="0" y2="12" stroke="#000" stroke-width="1"/></svg>'
    )


# --- segments ------------------------------------------------------------------------------


def _segments(result: Any, top: int) -> tuple[str, str]:
    by = ", ".join(result.by)
    title = f"causal-attrib explain by {by}: {result.statistic} of {result.target}"
    parts = [f"<h1>{escape(title)}</h1>", f'<p class="headline">{escape(result.summary)}</p>']
    parts.append(_cards(_segment_figures(result)))
    parts.append("<h2>Largest parts of the overall change</h2>")
    bars = [
        _Bar(f"{p.node} @ {p.segment}", p.contribution, None, _bar_colour(p.contribution))
        for p in result.pairs[:top]
    ]
    if result.exact:
        bars += [
            _Bar("segments' gaps", result.gaps, None, MUTED),
            _Bar("mix of segments", result.mix, None, MUTED),
            _Bar("skipped segments", result.skipped_change, None, MUTED),
        ]
    if result.pairs:
        parts.append(_bar_chart(bars))
        parts.append(
            '<p class="legend">Each part is a changed node\'s contribution in its segment, '
            "weighted by the segment's share of the after rows"
            + (
                "; with the grey rows they add up to the overall change.</p>"
                if result.exact
                else " (approximate: this statistic does not add up over segments).</p>"
            )
        )
    else:
        parts.append('<p class="note">No changed mechanism upstream of the target.</p>')
    parts.append("<h2>Segments</h2>")
    rows = [
        (
            [(c, i in (1, 3)) for i, c in enumerate(row)],
            bool(s.result and s.result.changed_ancestors),
        )
        for row, s in zip(_segment_rows(result), result.segments, strict=True)
    ]
    parts.append(
        _table(["segment", "rows before/after", "statistic", "gap", "changed upstream"], rows)
    )
    for s in result.segments:
        parts.append(f"<details><summary>{escape(s.label)}</summary>")
        if s.result is None:
            parts.append(f'<p class="note">Skipped: {escape(s.skipped or "")}</p>')
        else:
            parts.append(f"<p>{escape(s.result.summary)}</p>{_explain_table(s.result)}")
        parts.append("</details>")
    parts.append(_settings_section(result.settings, None, result.notes))
    return title, "\n".join(parts)


# --- check ---------------------------------------------------------------------------------


def _check(result: Any, top: int) -> tuple[str, str]:
    data = result.report_data
    title = "causal-attrib check"
    parts = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="headline">{_verdict_badge(result.verdict)} {escape(result.summary)}</p>',
    ]
    parts.append(_cards([(label, text) for label, text in _check_facts(result)]))
    if data is not None:
        involved: dict[str, int] = {}
        for imp in result.violations:
            for node in (imp.node, imp.other):
                involved[node] = involved.get(node, 0) + 1
        cycle = set()
        if result.verdict == "invalid":
            cycle = {n for f in result.findings if f.kind == "not_a_dag" for n in f.nodes}
        most = max(involved.values(), default=0)
        styles = {
            node: _NodeStyle(
                fill=_diverging(involved.get(node, 0) / most if most else 0.0),
                stroke=CHANGED if node in cycle or involved.get(node) else "#333",
                width=3.0 if node in cycle or involved.get(node) else 1.2,
                sublabel=f"{involved[node]} violation(s)" if node in involved else "",
                bold=node == result.settings.get("target"),
                tooltip=f"{node}: in {involved.get(node, 0)} violated implication(s)",
            )
            for node in data.graph.nodes
        }
        edges = {
            (e.cause, e.effect): _EdgeStyle(MUTED, dashed=True, tooltip=f"p = {e.p_value:.2g}")
            for e in result.unsupported_edges
        }
        extra = [
            (s.cause, s.effect, _EdgeStyle("#1a9850", dashed=True, tooltip="suggested edge"))
            for s in result.suggestions
        ]
        extra += [
            (i.node, i.other, _EdgeStyle(CHANGED, dashed=True, arrow=False, tooltip=i.text))
            for i in result.violations[:top]
        ]
        parts.append("<h2>Causal graph</h2>")
        parts.append(_graph_figure(data.graph, styles, edges=edges, extra=extra))
        parts.append(
            _legend(
                [(_diverging(1.0), "in violated implications"), ("#1a9850", "suggested edge")],
                f"Red dashed links join the two sides of the {min(top, len(result.violations))} "
                "strongest violations; grey dashed edges show no detectable dependence.",
            )
        )
    b = result.baseline
    if b is not None and b.shares:
        parts.append("<h2>Compared with random relabellings</h2>")
        shares = np.asarray(b.shares, dtype=float) * 100
        parts.append(
            _histogram_svg(
                "share of implications rejected (%)",
                [(shares, MUTED, "relabellings")],
                [(b.given_share * 100, CHANGED, "this graph")],
            )
        )
    if result.findings:
        parts.append("<h2>Findings</h2>")
        parts.append(
            _table(
                ["severity", "finding"],
                [
                    ([(f.severity, False), (f.message, False)], f.severity == "error")
                    for f in result.findings
                ],
            )
        )
    if result.violations:
        parts.append("<h2>Violated implications</h2>")
        parts.append(
            _table(
                ["rank", "implication", "p-value", "q-value"],
                [
                    (
                        [
                            (str(k), True),
                            (i.text, False),
                            (_q(i.p_value), True),
                            (_q(i.q_value), True),
                        ],
                        False,
                    )
                    for k, i in enumerate(result.violations[:top], start=1)
                ],
            )
        )
        if len(result.violations) > top:
            more = len(result.violations) - top
            parts.append(f'<p class="note">{more} more in the JSON report.</p>')
    if result.suggestions:
        parts.append("<h2>Suggested edges (not applied)</h2>")
        parts.append(
            _table(
                ["edge", "violations before", "after"],
                [
                    (
                        [
                            (f"{s.cause} -> {s.effect}", False),
                            (str(s.violations_before), True),
                            (str(s.violations_after), True),
                        ],
                        False,
                    )
                    for s in result.suggestions
                ],
            )
        )
    parts.append(_settings_section(result.settings, result.rows, result.notes))
    return title, "\n".join(parts)


def _verdict_badge(verdict: str) -> str:
    colour = {"consistent": "#1a9850", "violated": "#d98c00"}.get(verdict, CHANGED)
    if verdict == "untestable":
        colour = MUTED
    return f'<span class="verdict" style="background:{colour}">{escape(verdict)}</span>'


# --- shared pieces -------------------------------------------------------------------------


def _code(text: str) -> str:
    """Escape, and show Markdown-style `names` as code."""
    pieces = escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(pieces))


def _cards(items: Iterable[tuple[str, str]]) -> str:
    cards = "".join(
        f'<div class="card"><div class="label">{escape(label)}</div>'
        f'<div class="value">{escape(text)}</div></div>'
        for label, text in items
    )
    return f'<div class="cards">{cards}</div>'


def _legend(swatches: Sequence[tuple[str, str]], text: str) -> str:
    keys = "".join(
        f'<span class="swatch" style="background:{c}"></span>{escape(label)}'
        for c, label in swatches
    )
    return f'<p class="legend">{keys}<br>{text}</p>'


def _table(
    head: Sequence[str], rows: Iterable[tuple[list[tuple[str, bool]], bool]], raw: set = frozenset()
) -> str:
    """An HTML table; each row is ([(text, numeric)], flagged). Columns in ``raw`` hold
    markup made here, everything else is escaped."""
    out = ["<table><thead><tr>", *(f"<th>{escape(h)}</th>" for h in head), "</tr></thead><tbody>"]
    for cells, flagged in rows:
        out.append('<tr class="flag">' if flagged else "<tr>")
        for i, (text, numeric) in enumerate(cells):
            content = text if i in raw else escape(text)
            out.append(f'<td class="num">{content}</td>' if numeric else f"<td>{content}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _settings_section(settings: Mapping, rows: Mapping | None, notes: Sequence[str]) -> str:
    parts = ["<h2>Settings</h2>"]
    items = [(k, _setting(v)) for k, v in settings.items()]
    if rows:
        items.append(("rows", ", ".join(f"{k} {v}" for k, v in rows.items())))
    parts.append(
        _table(["setting", "value"], [([(k, False), (v, False)], False) for k, v in items])
    )
    if notes:
        parts.append("<h2>Notes</h2><ul>")
        parts += [f'<li class="note">{escape(n)}</li>' for n in notes]
        parts.append("</ul>")
    return "\n".join(parts)


def _setting(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "none"
    return str(value)


def _signed(x: float) -> str:
    return f"+{_g(x)}" if x > 0 else _g(x)


def _diverging(t: float) -> str:
    """White at 0, warm towards +1 and cool towards -1 (t is clipped to [-1, 1])."""
    t = max(-1.0, min(1.0, float(t))) if math.isfinite(t) else 0.0
    base = WARM if t >= 0 else COOL
    a = 0.12 + 0.88 * abs(t) if t else 0.0
    r, g, b = (round(255 + (c - 255) * a) for c in base)
    return f"#{r:02x}{g:02x}{b:02x}"


def _dark(colour: str) -> bool:
    """Whether white text reads better than black on this ``#rrggbb`` fill."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.299 * r + 0.587 * g + 0.114 * b < 150


def _bar_colour(x: float) -> str:
    return _diverging(0.85 if x >= 0 else -0.85)


# --- the graph -----------------------------------------------------------------------------

NODE_H = 38
LAYER_GAP = 64
NODE_GAP = 22
MARGIN = 16


@dataclass(frozen=True)
class _NodeStyle:
    fill: str = "#ffffff"
    stroke: str = "#333"
    width: float = 1.2
    dashed: bool = False
    text: str = "#1d1d1f"
    sublabel: str = ""
    bold: bool = False
    tooltip: str = ""


@dataclass(frozen=True)
class _EdgeStyle:
    colour: str = "#777"
    dashed: bool = False
    arrow: bool = True
    tooltip: str = ""


def _node_width(label: str, sublabel: str) -> float:
    return max(64.0, 7.4 * len(label) + 18, 6.6 * len(sublabel) + 18)


def layered_layout(
    graph: nx.DiGraph, widths: Mapping[str, float], sweeps: int = 4
) -> dict[str, tuple[float, float]]:
    """Node centres of a top-down layered drawing (causes above their effects).

    Layers are longest-path depths; the order within a layer is refined by barycentre
    sweeps, down then up, to reduce crossings. Edges closing a cycle are ignored for the
    layering, so an invalid graph can still be drawn. Deterministic: ties break on the
    previous order, which starts from a lexicographic topological sort.
    """
    dag = nx.DiGraph(graph)
    while not nx.is_directed_acyclic_graph(dag):
        cycle = nx.find_cycle(dag)
        dag.remove_edge(*cycle[-1][:2])
    depth: dict[str, int] = {}
    for node in nx.lexicographical_topological_sort(dag):
        depth[node] = max((depth[p] + 1 for p in dag.predecessors(node)), default=0)
    layers: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for node in nx.lexicographical_topological_sort(dag):
        layers[depth[node]].append(node)
    index = {n: i for layer in layers for i, n in enumerate(layer)}

    def reorder(layer: list[str], neighbours) -> list[str]:
        def key(n: str) -> tuple[float, int]:
            near = [index[m] for m in neighbours(n)]
            return (sum(near) / len(near) if near else index[n], index[n])

        ordered = sorted(layer, key=key)
        index.update({n: i for i, n in enumerate(ordered)})
        return ordered

    for _ in range(sweeps):
        for i in range(1, len(layers)):
            layers[i] = reorder(layers[i], dag.predecessors)
        for i in range(len(layers) - 2, -1, -1):
            layers[i] = reorder(layers[i], dag.successors)

    span = [sum(widths[n] for n in layer) + NODE_GAP * (len(layer) - 1) for layer in layers]
    full = max(span, default=0.0)
    pos = {}
    for depth_i, layer in enumerate(layers):
        x = MARGIN + (full - span[depth_i]) / 2
        for n in layer:
            pos[n] = (x + widths[n] / 2, MARGIN + NODE_H / 2 + depth_i * (NODE_H + LAYER_GAP))
            x += widths[n] + NODE_GAP
    return pos


def _graph_figure(
    graph: nx.DiGraph,
    styles: Mapping[str, _NodeStyle],
    target: str | None = None,
    edges: Mapping[tuple[str, str], _EdgeStyle] | None = None,
    extra: Sequence[tuple[str, str, _EdgeStyle]] = (),
) -> str:
    """The causal graph as inline SVG, or a note when it is too large to draw."""
    if graph.number_of_nodes() > MAX_DRAWN_NODES:
        return (
            f'<p class="note">The graph has {graph.number_of_nodes()} nodes; graphs over '
            f"{MAX_DRAWN_NODES} are not drawn.</p>"
        )
    style = {n: styles.get(n, _NodeStyle()) for n in graph.nodes}
    widths = {n: _node_width(str(n), style[n].sublabel) for n in graph.nodes}
    pos = layered_layout(graph, widths)
    width = max((x + widths[n] / 2 for n, (x, _) in pos.items()), default=0) + MARGIN
    height = max((y for _, y in pos.values()), default=0) + NODE_H / 2 + MARGIN
    colours = sorted(
        {"#777"} | {s.colour for s in (edges or {}).values()} | {s.colour for *_, s in extra}
    )
    markers = "".join(
        f'<marker id="arrow{i}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" '
        f'fill="{c}"/></marker>'
        for i, c in enumerate(colours)
    )
    marker_of = {c: f"arrow{i}" for i, c in enumerate(colours)}
    out = [
        f'<div class="figure"><svg xmlns="http://www.w3.org/2000/svg" role="img" '
        f'aria-label="causal graph" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" style="max-width:100%;height:auto">'
        f"<defs>{markers}</defs>"
    ]
    for u, v in sorted(graph.edges):
        out.append(_edge(pos, u, v, (edges or {}).get((u, v), _EdgeStyle()), marker_of))
    for u, v, s in extra:
        if u in pos and v in pos:
            out.append(_edge(pos, u, v, s, marker_of))
    for n in sorted(graph.nodes, key=str):
        out.append(_node(n, pos[n], widths[n], style[n]))
    out.append("</svg></div>")
    return "".join(out)


def _edge(pos, u, v, style: _EdgeStyle, marker_of: Mapping[str, str]) -> str:
    (x1, y1), (x2, y2) = pos[u], pos[v]
    down = y2 >= y1
    y1 += NODE_H / 2 if down else -NODE_H / 2
    y2 += -NODE_H / 2 if down else NODE_H / 2
    if abs(y2 - y1) < 1:  # same layer (extra links): bow below
        y1 = y2 = pos[u][1] + NODE_H / 2
        bend = 28.0
        path = f"M{x1:.1f},{y1:.1f} C{x1:.1f},{y1 + bend:.1f} {x2:.1f},{y2 + bend:.1f} "
    else:
        mid = (y1 + y2) / 2
        path = f"M{x1:.1f},{y1:.1f} C{x1:.1f},{mid:.1f} {x2:.1f},{mid:.1f} "
    path += f"{x2:.1f},{y2:.1f}"
    dash = ' stroke-dasharray="5 4"' if style.dashed else ""
    arrow = f' marker-end="url(#{marker_of[style.colour]})"' if style.arrow else ""
    title = f"<title>{escape(style.tooltip)}</title>" if style.tooltip else ""
    return (
        f'<path d="{path}" fill="none" stroke="{style.colour}" stroke-width="1.4"{dash}'
        f"{arrow}>{title}</path>"
    )


def _node(name: str, centre: tuple[float, float], width: float, s: _NodeStyle) -> str:
    x, y = centre
    dash = ' stroke-dasharray="4 3"' if s.dashed else ""
    weight = "700" if s.bold else "500"
    text = "#ffffff" if _dark(s.fill) else s.text
    label_y = y - 3 if s.sublabel else y + 4
    out = [
        f"<g><title>{escape(s.tooltip or str(name))}</title>"
        f'<rect x="{x - width / 2:.1f}" y="{y - NODE_H / 2:.1f}" width="{width:.1f}" '
        f'height="{NODE_H}" rx="9" fill="{s.fill}" stroke="{s.stroke}" '
        f'stroke-width="{s.width}"{dash}/>'
        f'<text x="{x:.1f}" y="{label_y:.1f}" text-anchor="middle" font-size="12.5" '
        f'font-weight="{weight}" fill="{text}">{escape(str(name))}</text>'
    ]
    if s.sublabel:
        out.append(
            f'<text x="{x:.1f}" y="{y + 12:.1f}" text-anchor="middle" font-size="11" '
            f'fill="{text}">{escape(s.sublabel)}</text>'
        )
    out.append("</g>")
    return "".join(out)


# --- charts --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Bar:
    label: str
    value: float
    interval: tuple[float, float] | None
    colour: str


def _bar_chart(bars: Sequence[_Bar], width: int = 760) -> str:
    """Horizontal bars from a zero line, with interval whiskers and value labels."""
    label_w = min(260, max(60, max(7.2 * len(b.label) for b in bars) + 12))
    value_w = 90
    plot_w = width - label_w - 2 * value_w
    lo = min([0.0] + [b.value for b in bars] + [e for b in bars if b.interval for e in b.interval])
    hi = max([0.0] + [b.value for b in bars] + [e for b in bars if b.interval for e in b.interval])
    if hi == lo:
        hi = lo + 1.0

    def sx(v: float) -> float:
        return label_w + value_w + (v - lo) / (hi - lo) * plot_w

    row_h = 24
    height = row_h * len(bars) + 28
    zero = sx(0.0)
    out = [
        f'<div class="figure"><svg xmlns="http://www.w3.org/2000/svg" role="img" '
        f'aria-label="bar chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" style="max-width:100%;height:auto">'
    ]
    for i, b in enumerate(bars):
        y = 6 + i * row_h
        x0, x1 = sorted((zero, sx(b.value)))
        out.append(
            f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end" font-size="12">'
            f"{escape(b.label)}</text>"
            f'<rect x="{x0:.1f}" y="{y + 3}" width="{max(x1 - x0, 0.5):.1f}" height="14" '
            f'fill="{b.colour}"><title>{escape(b.label)}: {escape(_g(b.value))}</title></rect>'
        )
        if b.interval is not None:
            a, c = sx(b.interval[0]), sx(b.interval[1])
            out.append(
                f'<path d="M{a:.1f},{y + 10}H{c:.1f}M{a:.1f},{y + 5}V{y + 15}M{c:.1f},{y + 5}'
                f'V{y + 15}" stroke="#222" stroke-width="1.2" fill="none"/>'
            )
        right = max(x1, sx(b.interval[1]) if b.interval else x1)
        left = min(x0, sx(b.interval[0]) if b.interval else x0)
        if b.value >= 0:
            out.append(
                f'<text x="{right + 5:.1f}" y="{y + 14}" font-size="11">{_signed(b.value)}</text>'
            )
        else:
            out.append(
                f'<text x="{left - 5:.1f}" y="{y + 14}" font-size="11" text-anchor="end">'
                f"{_g(b.value)}</text>"
            )
    axis_y = 6 + len(bars) * row_h
    out.append(
        f'<line x1="{zero:.1f}" x2="{zero:.1f}" y1="2" y2="{axis_y}" stroke="#444"/>'
        f'<text x="{zero:.1f}" y="{axis_y + 14}" text-anchor="middle" font-size="11">0</text>'
        "</svg></div>"
    )
    return "".join(out)


def _finite(values: np.ndarray) -> np.ndarray:
    v = np.asarray(values)
    if v.dtype == object:
        v = np.asarray([x for x in v if x is not None and x == x], dtype=float)
    v = v.astype(float, copy=False)
    return v[np.isfinite(v)]


def _is_numeric(values: np.ndarray) -> bool:
    if np.asarray(values).dtype.kind in "fiub":
        return True
    try:
        _finite(values)
    except (TypeError, ValueError):
        return False
    return True


def _distribution(
    node: str,
    first: np.ndarray,
    second: np.ndarray,
    periods: tuple[str, str],
    marks: Sequence[tuple[float, str, str]],
    rug: bool = False,
) -> str:
    """Before/after (or reference/anomalous) values of one node, overlaid."""
    if not (_is_numeric(first) and _is_numeric(second)):
        return _level_shares(node, first, second, periods)
    a, b = _finite(first), _finite(second)
    if rug:
        series = [(a, BEFORE, periods[0])]
        ticks = [(float(v), CHANGED, "") for v in np.sort(b)[:200]]
        return _histogram_svg(node, series, list(marks) + ticks, legend_extra=(CHANGED, periods[1]))
    return _histogram_svg(node, [(a, BEFORE, periods[0]), (b, AFTER, periods[1])], marks)


def _histogram_svg(
    title: str,
    series: Sequence[tuple[np.ndarray, str, str]],
    marks: Sequence[tuple[float, str, str]],
    legend_extra: tuple[str, str] | None = None,
    width: int = 360,
    height: int = 210,
    bins: int = 40,
) -> str:
    """Overlaid histograms (as shares of each series' rows) with vertical marks.

    The range is the 0.5-99.5 % quantiles of all values together, so one extreme value
    does not squash the picture; values outside are counted in the edge bins.
    """
    pooled = np.concatenate([s for s, _, _ in series if len(s)] or [np.zeros(1)])
    lo, hi = (float(x) for x in np.quantile(pooled, [0.005, 0.995]))
    for value, _, _ in marks:
        if math.isfinite(value) and len(marks) <= 4:
            lo, hi = min(lo, value), max(hi, value)
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, bins + 1)
    left, right, top, bottom = 36, 10, 24, 36
    pw, ph = width - left - right, height - top - bottom
    shares = []
    for values, _, _ in series:
        counts = np.histogram(np.clip(values, lo, hi), bins=edges)[0] if len(values) else None
        shares.append(counts / max(len(values), 1) if counts is not None else np.zeros(bins))
    peak = max((float(s.max()) for s in shares), default=0.0) or 1.0

    def sx(v: float) -> float:
        return left + (v - lo) / (hi - lo) * pw

    def sy(s: float) -> float:
        return top + ph - s / peak * ph

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(title)}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
        f'<text x="{left}" y="15" font-size="13" font-weight="600">{escape(title)}</text>'
    ]
    for (values, colour, label), share in zip(series, shares, strict=True):
        points = [f"{sx(lo):.1f},{sy(0):.1f}"]
        for k in range(bins):
            points.append(f"{sx(edges[k]):.1f},{sy(share[k]):.1f}")
            points.append(f"{sx(edges[k + 1]):.1f},{sy(share[k]):.1f}")
        points.append(f"{sx(hi):.1f},{sy(0):.1f}")
        out.append(
            f'<polygon points="{" ".join(points)}" fill="{colour}" fill-opacity="0.28" '
            f'stroke="{colour}" stroke-width="1.3"><title>{escape(label)}: '
            f"{len(values)} values</title></polygon>"
        )
    for value, colour, label in marks:
        if not math.isfinite(value):
            continue
        x = sx(min(max(value, lo), hi))
        dash = ' stroke-dasharray="4 3"' if label else ""
        out.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + ph}" stroke="{colour}" '
            f'stroke-width="{1.6 if label else 1.0}"{dash}>'
            f"<title>{escape(label or 'value')}: {escape(_g(value))}</title></line>"
        )
    beyond = [sum(v < lo for v, *_ in marks), sum(v > hi for v, *_ in marks)]
    for side, count in zip((left + 2, left + pw - 2), beyond, strict=True):
        if count:
            anchor = "start" if side == left + 2 else "end"
            label = f"\u2190 {count} beyond" if anchor == "start" else f"{count} beyond \u2192"
            out.append(
                f'<text x="{side}" y="{top + 10}" font-size="10" fill="{CHANGED}" '
                f'text-anchor="{anchor}">{label}</text>'
            )
    out.append(
        f'<line x1="{left}" x2="{left + pw}" y1="{top + ph}" y2="{top + ph}" stroke="#444"/>'
    )
    for t in _ticks(lo, hi):
        out.append(
            f'<line x1="{sx(t):.1f}" x2="{sx(t):.1f}" y1="{top + ph}" y2="{top + ph + 4}" '
            f'stroke="#444"/><text x="{sx(t):.1f}" y="{top + ph + 15}" font-size="10" '
            f'text-anchor="middle">{escape(_g(t, 3))}</text>'
        )
    keys = [(c, f"{label} ({len(v)})") for v, c, label in series]
    keys += [(c, label) for _, c, label in marks if label]
    if legend_extra is not None:
        keys.append(legend_extra)
    out.append(_svg_keys(keys, left, height))
    out.append("</svg>")
    return "".join(out)


def _svg_keys(keys: Iterable[tuple[str, str]], x: float, height: float) -> str:
    """A one-line legend of colour swatches along the bottom of a chart."""
    out = []
    for colour, label in keys:
        out.append(
            f'<rect x="{x}" y="{height - 12}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + 13}" y="{height - 3}" font-size="10">{escape(label)}</text>'
        )
        x += 22 + 5.6 * len(label)
    return "".join(out)


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """Round tick values covering [lo, hi]."""
    raw = (hi - lo) / n
    step = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * step:
            step *= m
            break
    first = math.ceil(lo / step) * step
    return [first + k * step for k in range(int((hi - first) / step + 1e-9) + 1)]


def _level_shares(
    node: str, first: np.ndarray, second: np.ndarray, periods: tuple[str, str]
) -> str:
    """Shares of each level in the two tables, as paired horizontal bars."""

    def shares(values: np.ndarray) -> dict[str, float]:
        kept = [str(v) for v in values if v is not None and v == v]
        out: dict[str, float] = {}
        for v in kept:
            out[v] = out.get(v, 0) + 1
        return {k: c / max(len(kept), 1) for k, c in out.items()}

    s1, s2 = shares(first), shares(second)
    levels = sorted(set(s1) | set(s2), key=lambda k: (-(s1.get(k, 0) + s2.get(k, 0)), k))[:12]
    width, label_w, row_h = 360, 110, 26
    height = 24 + row_h * len(levels) + 18
    pw = width - label_w - 50
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(node)}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
        f'<text x="4" y="15" font-size="13" font-weight="600">{escape(node)}</text>'
    ]
    for i, level in enumerate(levels):
        y = 24 + i * row_h
        out.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" font-size="11">'
            f"{escape(level[:16])}</text>"
        )
        for j, (s, colour) in enumerate(((s1, BEFORE), (s2, AFTER))):
            w = pw * s.get(level, 0.0)
            out.append(
                f'<rect x="{label_w}" y="{y + 2 + j * 11}" width="{max(w, 0.5):.1f}" '
                f'height="10" fill="{colour}"/><text x="{label_w + w + 4:.1f}" '
                f'y="{y + 11 + j * 11}" font-size="9">{s.get(level, 0.0) * 100:.1f} %</text>'
            )
    out.append(_svg_keys(((BEFORE, periods[0]), (AFTER, periods[1])), 4, height))
    out.append("</svg>")
    return "".join(out)
