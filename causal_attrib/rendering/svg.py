"""Pictures as inline SVG, drawn without a plotting library: the causal graph in layers,
bar charts with intervals, histograms and level shares. Deterministic, so a report is
byte-identical for the same result."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from html import escape

import networkx as nx
import numpy as np

from .cells import number, signed

MAX_DRAWN_NODES = 400
"""Graphs larger than this are not drawn (the picture would be unreadable and heavy)."""


# colours: a warm scale for positive contributions, a cool one for negative ones
WARM = (215, 48, 31)


COOL = (43, 140, 190)


CHANGED = "#b30000"


MUTED = "#8c8c8c"


BEFORE = "#4c72b0"


AFTER = "#dd8452"


def diverging(t: float) -> str:
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


def bar_colour(x: float) -> str:
    """The fill of a bar: warm for positive values, cool for negative ones."""
    return diverging(0.85 if x >= 0 else -0.85)


NODE_H = 38


LAYER_GAP = 64


NODE_GAP = 22


MARGIN = 16


@dataclass(frozen=True)
class NodeStyle:
    """How one node of the graph figure is drawn."""

    fill: str = "#ffffff"
    stroke: str = "#333"
    width: float = 1.2
    dashed: bool = False
    text: str = "#1d1d1f"
    sublabel: str = ""
    bold: bool = False
    tooltip: str = ""


@dataclass(frozen=True)
class EdgeStyle:
    """How one edge (or extra link) of the graph figure is drawn."""

    colour: str = "#777"
    dashed: bool = False
    arrow: bool = True
    tooltip: str = ""


def _node_width(label: str, sublabel: str) -> float:
    return max(64.0, 7.4 * len(label) + 18, 6.6 * len(sublabel) + 18)


def layered_layout(
    graph: nx.DiGraph, widths: Mapping[str, float], sweeps: int = 4
) -> dict[str, tuple[float, float]]:
    """Node centres of a top-down layered drawing (see :func:`layered_routes`)."""
    return layered_routes(graph, widths, sweeps)[0]


DUMMY_W = 14.0
"""Width of the slot a long edge takes in each layer it crosses."""


def layered_routes(
    graph: nx.DiGraph, widths: Mapping[str, float], sweeps: int = 4
) -> tuple[dict[str, tuple[float, float]], dict[tuple, list[tuple[float, float]]]]:
    """Node centres of a top-down layered drawing (causes above their effects), and the
    waypoints of every edge that spans more than one layer.

    Layers are longest-path depths. An edge that skips layers gets a dummy slot in each
    layer it crosses, ordered with the nodes, so it is drawn through a gap of its own
    instead of through the boxes in between. The order within a layer is refined by
    barycentre sweeps, down then up, to reduce crossings. Edges closing a cycle are ignored
    for the layering, so an invalid graph can still be drawn. Deterministic: ties break on
    the previous order, which starts from a lexicographic topological sort.
    """
    dag = nx.DiGraph(graph)
    while not nx.is_directed_acyclic_graph(dag):
        cycle = nx.find_cycle(dag)
        dag.remove_edge(*cycle[-1][:2])
    depth: dict = {}
    for node in nx.lexicographical_topological_sort(dag):
        depth[node] = max((depth[p] + 1 for p in dag.predecessors(node)), default=0)
    chain = nx.DiGraph()
    chain.add_nodes_from(dag.nodes)
    dummies: dict[tuple, list[tuple]] = {}
    for u, v in sorted(dag.edges, key=lambda e: (str(e[0]), str(e[1]))):
        steps = [("~", u, v, k) for k in range(depth[u] + 1, depth[v])]
        for d, k in zip(steps, range(depth[u] + 1, depth[v]), strict=True):
            depth[d] = k
        nx.add_path(chain, [u, *steps, v])
        if steps:
            dummies[(u, v)] = steps
    layers = _ordered_layers(chain, depth, sweeps)
    width = {n: DUMMY_W if isinstance(n, tuple) and n[:1] == ("~",) else widths[n] for n in depth}
    span = [sum(width[n] for n in layer) + NODE_GAP * (len(layer) - 1) for layer in layers]
    full = max(span, default=0.0)
    pos = {}
    for depth_i, layer in enumerate(layers):
        x = MARGIN + (full - span[depth_i]) / 2
        for n in layer:
            pos[n] = (x + width[n] / 2, MARGIN + NODE_H / 2 + depth_i * (NODE_H + LAYER_GAP))
            x += width[n] + NODE_GAP
    routes = {edge: [pos.pop(d) for d in steps] for edge, steps in dummies.items()}
    return pos, routes


def _ordered_layers(chain: nx.DiGraph, depth: Mapping, sweeps: int) -> list[list]:
    """Nodes per layer, ordered by barycentre sweeps over ``chain`` (edges between
    adjacent layers only)."""
    order = {n: i for i, n in enumerate(nx.lexicographical_topological_sort(chain, key=str))}
    layers: list[list] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for node in sorted(depth, key=order.get):
        layers[depth[node]].append(node)
    index = {n: i for layer in layers for i, n in enumerate(layer)}

    def reorder(layer: list, neighbours) -> list:
        def key(n) -> tuple[float, int]:
            near = [index[m] for m in neighbours(n)]
            return (sum(near) / len(near) if near else index[n], index[n])

        ordered = sorted(layer, key=key)
        index.update({n: i for i, n in enumerate(ordered)})
        return ordered

    for _ in range(sweeps):
        for i in range(1, len(layers)):
            layers[i] = reorder(layers[i], chain.predecessors)
        for i in range(len(layers) - 2, -1, -1):
            layers[i] = reorder(layers[i], chain.successors)
    return layers


def graph_figure(
    graph: nx.DiGraph,
    styles: Mapping[str, NodeStyle],
    target: str | None = None,
    edges: Mapping[tuple[str, str], EdgeStyle] | None = None,
    extra: Sequence[tuple[str, str, EdgeStyle]] = (),
) -> str:
    """The causal graph as inline SVG, or a note when it is too large to draw."""
    if graph.number_of_nodes() > MAX_DRAWN_NODES:
        return (
            f'<p class="note">The graph has {graph.number_of_nodes()} nodes; graphs over '
            f"{MAX_DRAWN_NODES} are not drawn.</p>"
        )
    graph, placed, delayed = _layout_of_delays(graph)
    extra = [(u, v, s) for u, v, s in [*extra, *delayed] if u in graph and v in graph]
    edges = {**placed, **(edges or {})}
    style = {n: styles.get(n, NodeStyle()) for n in graph.nodes}
    widths = {n: _node_width(str(n), style[n].sublabel) for n in graph.nodes}
    layout, links = _with_links(graph, extra)
    pos, routes = layered_routes(layout, widths)
    width = max((x + widths[n] / 2 for n, (x, _) in pos.items()), default=0) + MARGIN
    width = max([width] + [x + DUMMY_W + MARGIN for points in routes.values() for x, _ in points])
    height = max((y for _, y in pos.values()), default=0) + NODE_H / 2 + MARGIN
    colours = sorted({"#777"} | {s.colour for s in edges.values()} | {s.colour for *_, s in extra})
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
    ports = _ports(layout, pos, widths, routes)
    for u, v in sorted(graph.edges):
        style_uv = edges.get((u, v), EdgeStyle())
        if (u, v) in ports:
            out.append(_route(ports[(u, v)], style_uv, marker_of))
        else:
            out.append(_edge(pos, u, v, style_uv, marker_of))
    for (u, v, s), (key, backwards) in zip(extra, links, strict=True):
        if key in ports:
            points = ports[key]
            out.append(_route(points[::-1] if backwards else points, s, marker_of))
        else:
            out.append(_edge(pos, u, v, s, marker_of))
    for n in sorted(graph.nodes, key=str):
        out.append(_node(n, pos[n], widths[n], style[n]))
    out.append("</svg></div>")
    return "".join(out)


def _with_links(
    graph: nx.DiGraph, extra: Sequence[tuple[str, str, EdgeStyle]]
) -> tuple[nx.DiGraph, list[tuple[tuple[str, str], bool]]]:
    """The graph to lay out: the drawn graph plus each extra link (a violation, a suggested
    or a feedback edge) as an edge, pointing down where the graph allows, so that the
    layering gives it slots between the boxes like any long edge. Each link's edge in the
    layout, and whether it runs against the link."""
    layout = graph.copy()
    links = []
    for u, v, _ in extra:
        if u == v:
            links.append(((u, v), False))
        elif layout.has_edge(u, v) or layout.has_edge(v, u):
            links.append(((u, v), False) if layout.has_edge(u, v) else ((v, u), True))
        elif not nx.has_path(layout, v, u):
            layout.add_edge(u, v)
            links.append(((u, v), False))
        elif not nx.has_path(layout, u, v):
            layout.add_edge(v, u)
            links.append(((v, u), True))
        else:
            links.append(((u, v), False))
    return layout, links


def _layout_of_delays(
    graph: nx.DiGraph,
) -> tuple[nx.DiGraph, dict[tuple[str, str], EdgeStyle], list[tuple[str, str, EdgeStyle]]]:
    """A temporal graph's layout: lag-0 edges, plus each delayed edge that points down
    (drawn dashed in the layers); delayed edges that point back (feedback) are drawn dashed
    on top. A node's own past is not drawn (every node reads it)."""
    delayed = sorted(
        (u, v, tuple(d["lags"]))
        for u, v, d in graph.edges(data=True)
        if "lags" in d and 0 not in d["lags"]
    )
    if not delayed:
        return graph, {}, []
    layout = graph.copy()
    layout.remove_edges_from((u, v) for u, v, _ in delayed)
    placed, back = {}, []
    for u, v, lags in delayed:
        style = EdgeStyle(dashed=True, tooltip=f"{u} -> {v} at lag {', '.join(map(str, lags))}")
        if u == v:
            continue
        if nx.has_path(layout, v, u):
            back.append((u, v, style))
        else:
            layout.add_edge(u, v)
            placed[(u, v)] = style
    return layout, placed, back


def _ports(graph, pos, widths, routes) -> dict[tuple, list[tuple[float, float]]]:
    """Each downward edge's points: from a port on the source's bottom border, through its
    waypoints, to a port on the target's top border. Ports are spread along the border in
    the order of where the edges come from or go to, so arrows into one node do not merge
    into one arrowhead."""
    down = [(u, v) for u, v in graph.edges if pos[v][1] > pos[u][1]]
    first = {e: (routes.get(e) or [pos[e[1]]])[0][0] for e in down}
    last = {e: (routes.get(e) or [pos[e[0]]])[-1][0] for e in down}
    start, end = {}, {}
    for node in graph.nodes:
        outgoing = sorted((e for e in down if e[0] == node), key=lambda e: (first[e], str(e)))
        incoming = sorted((e for e in down if e[1] == node), key=lambda e: (last[e], str(e)))
        for edges, where, sign in ((outgoing, start, 1), (incoming, end, -1)):
            x, y = pos[node]
            room = max(widths[node] / 2 - 12.0, 0.0)
            for i, e in enumerate(edges):
                offset = 0.0 if len(edges) == 1 else room * (2 * i / (len(edges) - 1) - 1)
                where[e] = (x + offset, y + sign * NODE_H / 2)
    return {e: [start[e], *routes.get(e, []), end[e]] for e in down}


def _route(points: list[tuple[float, float]], style: EdgeStyle, marker_of) -> str:
    """A smooth path through ``points``: vertical tangents at each, so it leaves and enters
    layers straight."""
    (x0, y0), *rest = points
    path = f"M{x0:.1f},{y0:.1f}"
    for x1, y1 in rest:
        mid = (y0 + y1) / 2
        path += f" C{x0:.1f},{mid:.1f} {x1:.1f},{mid:.1f} {x1:.1f},{y1:.1f}"
        x0, y0 = x1, y1
    return _path(path, style, marker_of)


def _path(path: str, style: EdgeStyle, marker_of) -> str:
    dash = ' stroke-dasharray="5 4"' if style.dashed else ""
    arrow = f' marker-end="url(#{marker_of[style.colour]})"' if style.arrow else ""
    title = f"<title>{escape(style.tooltip)}</title>" if style.tooltip else ""
    return (
        f'<path d="{path}" fill="none" stroke="{style.colour}" stroke-width="1.4"{dash}'
        f"{arrow}>{title}</path>"
    )


def _edge(pos, u, v, style: EdgeStyle, marker_of: Mapping[str, str]) -> str:
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
    return _path(path, style, marker_of)


def _node(name: str, centre: tuple[float, float], width: float, s: NodeStyle) -> str:
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


@dataclass(frozen=True)
class Bar:
    """One bar of :func:`bar_chart`: a value with an optional interval."""

    label: str
    value: float
    interval: tuple[float, float] | None
    colour: str


def bar_chart(bars: Sequence[Bar], width: int = 760) -> str:
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
            f'fill="{b.colour}"><title>{escape(b.label)}: {escape(number(b.value))}</title></rect>'
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
                f'<text x="{right + 5:.1f}" y="{y + 14}" font-size="11">{signed(b.value)}</text>'
            )
        else:
            out.append(
                f'<text x="{left - 5:.1f}" y="{y + 14}" font-size="11" text-anchor="end">'
                f"{number(b.value)}</text>"
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


def distribution(
    node: str,
    first: np.ndarray,
    second: np.ndarray,
    periods: tuple[str, str],
    marks: Sequence[tuple[float, str, str]],
    rug: bool = False,
) -> str:
    """Before/after (or reference/anomalous) values of one node, overlaid."""
    if not (_is_numeric(first) and _is_numeric(second)):
        return level_shares(node, first, second, periods)
    a, b = _finite(first), _finite(second)
    if rug:
        series = [(a, BEFORE, periods[0])]
        ticks = [(float(v), CHANGED, "") for v in np.sort(b)[:200]]
        return histogram(node, series, list(marks) + ticks, legend_extra=(CHANGED, periods[1]))
    return histogram(node, [(a, BEFORE, periods[0]), (b, AFTER, periods[1])], marks)


def histogram(
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
    does not squash the picture. Values outside are not piled into the edge bins (they read
    as a mode there): each side's are drawn in a separate overflow bin past a gap, and a line
    above the plot says how many lie below or above which value. Labels sit above the plot,
    where no bar and no mark line reaches, and the legend wraps onto as many lines as it needs.
    """
    pooled = np.concatenate([s for s, _, _ in series if len(s)] or [np.zeros(1)])
    lo, hi = (float(x) for x in np.quantile(pooled, [0.005, 0.995]))
    for value, _, _ in marks:
        if math.isfinite(value) and len(marks) <= 4:
            lo, hi = min(lo, value), max(hi, value)
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, bins + 1)
    below = [int(np.sum(v < lo)) for v, *_ in series]
    above = [int(np.sum(v > hi)) for v, *_ in series]
    beyond = (sum(v < lo for v, *_ in marks), sum(v > hi for v, *_ in marks))
    notes = _overflow_notes(sum(below), sum(above), beyond, lo, hi)
    keys = [(c, f"{label} ({len(v)})") for v, c, label in series]
    keys += [(c, label) for _, c, label in marks if label]
    if legend_extra is not None:
        keys.append(legend_extra)
    left, right, bottom = 36, 10, 22
    legend = _key_rows(keys, left, width - 4)
    top = 24 + 13 * max((len(side) for side in notes), default=0)
    ph = height - 24 - bottom - 14
    height = top + ph + bottom + 14 * len(legend)
    slot = OVERFLOW_W + OVERFLOW_GAP
    x0 = left + (slot if any(below) or beyond[0] else 0)
    pw = width - right - x0 - (slot if any(above) or beyond[1] else 0)
    shares, spill = [], []
    for (values, _, _), b, a in zip(series, below, above, strict=True):
        n = max(len(values), 1)
        counts = np.histogram(values, bins=edges)[0] if len(values) else np.zeros(bins)
        shares.append(counts / n)
        spill.append((b / n, a / n))
    peak = max([float(s.max()) for s in shares] + [max(p) for p in spill] + [0.0]) or 1.0

    def sx(v: float) -> float:
        return x0 + (v - lo) / (hi - lo) * pw

    def sy(s: float) -> float:
        return top + ph - s / peak * ph

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(title)}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
        f'<text x="4" y="15" font-size="13" font-weight="600">{escape(title)}</text>'
    ]
    for (values, colour, label), share, (b, a) in zip(series, shares, spill, strict=True):
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
        for part, at, what in ((b, left, "below"), (a, width - right - OVERFLOW_W, "above")):
            if part:
                out.append(
                    f'<rect x="{at}" y="{sy(part):.1f}" width="{OVERFLOW_W}" '
                    f'height="{sy(0) - sy(part):.1f}" fill="{colour}" fill-opacity="0.28" '
                    f'stroke="{colour}" stroke-width="1.3"><title>{escape(label)}: '
                    f"{part * 100:.1f} % of its values lie {what} the range drawn</title></rect>"
                )
    out += _histogram_marks(marks, lo, hi, sx, (top, ph), (left, width - right))
    out += _histogram_notes(notes, (left, width - right), top)
    sides = (bool(any(below) or beyond[0]), bool(any(above) or beyond[1]))
    out.append(_axis(x0, pw, top + ph, (left, width - right), *sides))
    for t in _ticks(lo, hi):
        text_w = 5.8 * len(number(t, 3))
        at = min(max(sx(t), text_w / 2 + 1), width - text_w / 2 - 1)
        out.append(
            f'<line x1="{sx(t):.1f}" x2="{sx(t):.1f}" y1="{top + ph}" y2="{top + ph + 4}" '
            f'stroke="#444"/><text x="{at:.1f}" y="{top + ph + 15}" font-size="10" '
            f'text-anchor="middle">{escape(number(t, 3))}</text>'
        )
    out.append(_svg_key_rows(legend, top + ph + bottom))
    out.append("</svg>")
    return "".join(out)


OVERFLOW_W = 12
"""Width of a histogram's overflow bin (the values beyond the drawn range on one side)."""


OVERFLOW_GAP = 6
"""The gap between the drawn range and an overflow bin."""


def _overflow_notes(
    below: int, above: int, beyond: tuple[int, int], lo: float, hi: float
) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """The lines above a histogram, per side: (text, colour, tooltip)."""
    left: list[tuple[str, str, str]] = []
    right: list[tuple[str, str, str]] = []
    if below:
        what = f"{below} below {number(lo)}"
        left.append((f"\u2190 {what}", "#555", f"{what}: drawn in the overflow bin at the left"))
    if above:
        what = f"{above} above {number(hi)}"
        right.append((f"{what} \u2192", "#555", f"{what}: drawn in the overflow bin at the right"))
    if beyond[0]:
        left.append((f"\u2190 {beyond[0]} marked beyond", CHANGED, "marks below the range"))
    if beyond[1]:
        right.append((f"{beyond[1]} marked beyond \u2192", CHANGED, "marks above the range"))
    return left, right


def _histogram_notes(notes, span: tuple[float, float], top: float) -> list[str]:
    out = []
    for side, anchor, x in zip(notes, ("start", "end"), span, strict=True):
        for k, (text, colour, tip) in enumerate(side):
            y = top - 5 - 13 * (len(side) - 1 - k)
            out.append(
                f'<text x="{x}" y="{y}" font-size="10" fill="{colour}" text-anchor="{anchor}">'
                f"{escape(text)}<title>{escape(tip)}</title></text>"
            )
    return out


def _histogram_marks(marks, lo: float, hi: float, sx, plot, span) -> list[str]:
    """Vertical mark lines; a mark beyond the range is drawn in its side's overflow bin."""
    top, ph = plot
    out = []
    for value, colour, label in marks:
        if not math.isfinite(value):
            continue
        if value < lo:
            x = span[0] + OVERFLOW_W / 2
        elif value > hi:
            x = span[1] - OVERFLOW_W / 2
        else:
            x = sx(value)
        dash = ' stroke-dasharray="4 3"' if label else ""
        out.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + ph}" stroke="{colour}" '
            f'stroke-width="{1.6 if label else 1.0}"{dash}>'
            f"<title>{escape(label or 'value')}: {escape(number(value))}</title></line>"
        )
    return out


def _axis(x0: float, pw: float, y: float, span, low: bool, high: bool) -> str:
    """The base line of the drawn range, and of each overflow bin."""
    parts = [(x0, x0 + pw)]
    if low:
        parts.append((span[0], span[0] + OVERFLOW_W))
    if high:
        parts.append((span[1] - OVERFLOW_W, span[1]))
    return "".join(
        f'<line x1="{a:.1f}" x2="{b:.1f}" y1="{y}" y2="{y}" stroke="#444"/>' for a, b in parts
    )


def series_chart(
    title: str,
    values: np.ndarray,
    windows: Sequence[tuple[int, int, str, str]],
    span: tuple[str, str],
    width: int = 760,
    height: int = 170,
    points: int = 600,
) -> str:
    """One node's series in time order, with its periods (or incident) shaded.

    Long series are drawn as the mean of each of ``points`` buckets over a band from the
    bucket's minimum to its maximum, so a spike stays visible at any length."""
    y = np.asarray(values, dtype=float)
    n = len(y)
    buckets = np.array_split(np.arange(n), min(points, max(n, 1)))
    finite = y[np.isfinite(y)]
    lo, hi = (float(np.min(finite)), float(np.max(finite))) if finite.size else (0.0, 1.0)
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    left, right, top, bottom = 48, 10, 22, 34
    pw, ph = width - left - right, height - top - bottom

    def sx(i: float) -> float:
        return left + i / max(n - 1, 1) * pw

    def sy(v: float) -> float:
        return top + ph - (v - lo) / (hi - lo) * ph

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(title)} '
        f'over time" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
        f'<text x="{left}" y="14" font-size="13" font-weight="600">{escape(title)}</text>'
    ]
    for start, end, colour, label in windows:
        x0, x1 = sx(start), sx(max(end - 1, start))
        out.append(
            f'<rect x="{x0:.1f}" y="{top}" width="{max(x1 - x0, 2):.1f}" height="{ph}" '
            f'fill="{colour}" fill-opacity="0.13"><title>{escape(label)}</title></rect>'
        )
    mids = [int(b[len(b) // 2]) for b in buckets if len(b)]
    lows = [float(np.nanmin(y[b])) for b in buckets if len(b)]
    highs = [float(np.nanmax(y[b])) for b in buckets if len(b)]
    means = [float(np.nanmean(y[b])) for b in buckets if len(b)]
    if len(buckets) < n:
        band = [f"{sx(i):.1f},{sy(v):.1f}" for i, v in zip(mids, highs, strict=True)]
        band += [
            f"{sx(i):.1f},{sy(v):.1f}" for i, v in reversed(list(zip(mids, lows, strict=True)))
        ]
        out.append(f'<polygon points="{" ".join(band)}" fill="#333" fill-opacity="0.15"/>')
    line = " ".join(f"{sx(i):.1f},{sy(v):.1f}" for i, v in zip(mids, means, strict=True))
    out.append(f'<polyline points="{line}" fill="none" stroke="#333" stroke-width="1.1"/>')
    for t in _ticks(lo, hi, 3):
        out.append(
            f'<text x="{left - 4}" y="{sy(t) + 3:.1f}" font-size="10" text-anchor="end">'
            f"{escape(number(t, 3))}</text>"
        )
    out.append(
        f'<text x="{left}" y="{top + ph + 14}" font-size="10">{escape(span[0])}</text>'
        f'<text x="{left + pw}" y="{top + ph + 14}" font-size="10" text-anchor="end">'
        f"{escape(span[1])}</text>"
    )
    out.append(_svg_keys([(c, label) for _, _, c, label in windows], left, height, width))
    out.append("</svg>")
    return "".join(out)


KEY_CHAR_W = 6.2
"""A generous width of one character of a 10 px legend label, to wrap before clipping."""


def _key_rows(
    keys: Iterable[tuple[str, str]], x: float, right: float
) -> list[list[tuple[float, str, str]]]:
    """Legend keys (colour, label) placed along lines that end before ``right``."""
    rows: list[list[tuple[float, str, str]]] = [[]]
    at = x
    for colour, label in keys:
        need = 13 + KEY_CHAR_W * len(label)
        if rows[-1] and at + need > right:
            rows.append([])
            at = x
        rows[-1].append((at, colour, label))
        at += need + 12
    return rows if rows[0] else []


def _svg_key_rows(rows: Sequence[Sequence[tuple[float, str, str]]], y: float) -> str:
    """The legend's lines of colour swatches, the first with its top at ``y``."""
    out = []
    for k, row in enumerate(rows):
        for x, colour, label in row:
            out.append(
                f'<rect x="{x:.1f}" y="{y + 14 * k}" width="10" height="10" fill="{colour}"/>'
                f'<text x="{x + 13:.1f}" y="{y + 14 * k + 9}" font-size="10">'
                f"{escape(label)}</text>"
            )
    return "".join(out)


def _svg_keys(keys: Iterable[tuple[str, str]], x: float, height: float, width: float) -> str:
    """A legend along the bottom of a chart whose height left room for one line."""
    return _svg_key_rows(_key_rows(keys, x, width - 4), height - 12)


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


def level_shares(node: str, first: np.ndarray, second: np.ndarray, periods: tuple[str, str]) -> str:
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
    out.append(_svg_keys(((BEFORE, periods[0]), (AFTER, periods[1])), 4, height, width))
    out.append("</svg>")
    return "".join(out)


def score_bar(score: float, threshold: float, top: float, width: int = 160) -> str:
    """A small inline bar of a row's score with the threshold marked."""
    w = width * min(max(score, 0.0), top) / top
    t = width * threshold / top
    colour = CHANGED if score >= threshold else MUTED
    return (
        f'<svg width="{width}" height="12" role="img" aria-label="score">'
        f'<rect x="0" y="2" width="{w:.1f}" height="8" fill="{colour}"/>'
        f'<line x1="{t:.1f}" x2="{t:.1f}" y1="0" y2="12" stroke="#000" stroke-width="1"/></svg>'
    )
