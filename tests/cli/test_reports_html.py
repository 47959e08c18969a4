"""The HTML report: self-contained, well-formed, faithful to the result, and it renders.

The browser test renders each report in headless Chromium, takes a screenshot and checks
the picture (not blank, the changed node's highlight drawn) and the browser's console (no
errors). `.ci/run` installs Chromium; the test skips only when that was impossible.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from conftest import SAMPLE, SHOP

import causal_attrib as ca
from causal_attrib.rendering import render
from causal_attrib.rendering.svg import (
    CHANGED,
    MAX_DRAWN_NODES,
    histogram,
    layered_layout,
    layered_routes,
)

SHOP_DIR = SAMPLE / "shop"
VOID = {"meta", "br", "img", "input", "link", "hr", "col", "area", "base", "wbr", "source"}


class _Strict(HTMLParser):
    """Records the tag structure and fails on unbalanced tags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: dict[str, int] = {}

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def assert_well_formed_and_offline(html: str) -> _Strict:
    parser = _Strict()
    parser.feed(html)
    parser.close()
    assert not parser.errors and not parser.stack, (parser.errors, parser.stack)
    assert html.startswith("<!DOCTYPE html>")
    # self-contained: nothing fetched, nothing executed
    without_ns = html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert not re.search(r"https?://|src=|<script|<link|<iframe|@import", without_ns)
    assert not re.search(r"url\((?!#)", html)
    # every inline SVG is well-formed XML on its own
    for svg in re.findall(r"<svg.*?</svg>", html, flags=re.S):
        ET.fromstring(svg)
    return parser


@pytest.fixture(scope="module")
def shop_result():
    graph, before, after = SHOP
    return ca.explain(graph, before, after, "checkout", statistic="p95", bootstrap=40)


@pytest.fixture(scope="module")
def anomaly_result():
    return ca.attribute_anomalies(
        SHOP_DIR / "graph.dot",
        SHOP_DIR / "before.csv",
        SHOP_DIR / "incident.csv",
        "frontend",
        id_column="time",
    )


def _node_rect(html: str, node: str) -> str:
    """The SVG group of one node in the drawn graph."""
    match = re.search(rf"<g><title>{re.escape(node)}[:<].*?</g>", html)
    assert match, f"node {node} is not drawn"
    return match.group(0)


def test_explain_html_shows_graph_bars_distributions_and_settings(shop_result):
    html = render(shop_result, "html")
    parser = assert_well_formed_and_offline(html)
    assert parser.tags["svg"] >= 4  # graph, bar chart, two distributions
    assert shop_result.summary in html
    # the changed node is highlighted and labelled with its contribution; others are not
    changed = _node_rect(html, "payments_db")
    assert f'stroke="{CHANGED}"' in changed and 'stroke-width="3.0"' in changed
    contribution = next(n for n in shop_result.nodes if n.node == "payments_db").contribution
    assert f"+{contribution:.4g} (100 %)" in changed
    assert f'stroke="{CHANGED}"' not in _node_rect(html, "inventory")
    # a node that cannot reach the target is drawn dashed
    assert "stroke-dasharray" in _node_rect(html, "frontend")
    # bars with the bootstrap interval of the changed node, and the gap
    low, high = next(n.interval for n in shop_result.nodes if n.node == "payments_db")
    assert low < contribution < high
    assert "Whiskers are 95 % bootstrap intervals" in html and "unexplained gap" in html
    # distributions of the target and the changed node, before and after
    assert 'aria-label="checkout"' in html and 'aria-label="payments_db"' in html
    assert "before (2000)" in html and "after (2000)" in html
    assert "<td>n_samples</td><td>20000</td>" in html


def test_html_is_byte_identical_and_matches_the_library(cli, shop_args, tmp_path):
    first, second = tmp_path / "a.html", tmp_path / "b.html"
    for out in (first, second):
        assert cli(*shop_args, "--format", "html", "--output", out, "--seed", "4").exit_code == 0
    assert first.read_bytes() == second.read_bytes()
    graph, before, after = SHOP
    api = ca.explain(graph, before, after, "checkout", seed=4)
    assert render(api, "html") == first.read_text(encoding="utf-8")
    stdout = cli(*shop_args, "--format", "html", "--seed", "4").stdout
    assert stdout == first.read_text(encoding="utf-8")


def test_report_file_gets_the_usual_mode(cli, shop_args, tmp_path):
    out = tmp_path / "report.html"
    assert cli(*shop_args, "--format", "html", "--output", out).exit_code == 0
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask  # was 0600 (mkstemp's private mode)


def test_categorical_target_shows_level_shares(tmp_path):
    funnel = SAMPLE / "funnel"
    result = ca.explain(
        funnel / "graph.dagitty",
        funnel / "before.csv",
        funnel / "after.csv",
        "converted",
        target_level="yes",
    )
    html = render(result, "html")
    assert_well_formed_and_offline(html)
    before = pd.read_csv(funnel / "before.csv")
    share = (before["converted"] == "yes").mean() * 100
    assert f"{share:.1f} %" in html  # the before share of the level, drawn as a bar
    assert f'stroke="{CHANGED}"' in _node_rect(html, "converted")


def test_anomaly_html(anomaly_result):
    html = render(anomaly_result, "html")
    assert_well_formed_and_offline(html)
    assert "<code>inventory_db</code>" in html  # headline names set as code
    assert f'stroke="{CHANGED}"' in _node_rect(html, "inventory_db")
    assert f'stroke="{CHANGED}"' not in _node_rect(html, "payments")
    # one table row per anomalous-table row, the anomalous ones flagged
    flagged = re.findall(r'<tr class="flag"><td>([^<]+)</td>', html)
    assert flagged == anomaly_result.anomalous_rows
    # anomalous values far beyond the reference are counted, not silently clipped
    assert "beyond" in html


def test_check_html_draws_violations_and_suggestions(tmp_path):
    rng = np.random.default_rng(0)
    a = rng.normal(size=800)
    b = a + rng.normal(size=800)
    c = b + a + rng.normal(size=800)  # the graph below misses a -> c
    (tmp_path / "d.csv").write_text(pd.DataFrame({"a": a, "b": b, "c": c}).to_csv(index=False))
    result = ca.check_graph(nx.DiGraph([("a", "b"), ("b", "c")]), tmp_path / "d.csv")
    assert result.violations and result.suggestions
    html = render(result, "html")
    assert_well_formed_and_offline(html)
    assert ">violated<" in html or ">rejected<" in html
    assert "#1a9850" in html  # the suggested edge is drawn
    assert "1 violation(s)" in _node_rect(html, "c")
    assert result.baseline is not None and "Compared with random relabellings" in html
    assert html.count('aria-label="share of implications rejected (%)"') == 1


def test_check_html_of_a_cyclic_graph(tmp_path):
    (tmp_path / "d.csv").write_text(
        "a,b,c\n" + "\n".join(f"{i},{i % 3},{i % 5}" for i in range(30))
    )
    result = ca.check_graph(nx.DiGraph([("a", "b"), ("b", "c"), ("c", "a")]), tmp_path / "d.csv")
    assert result.verdict == "invalid"
    assert set(result.findings[0].nodes) == {"a", "b", "c"}  # the finding names the cycle
    html = render(result, "html")
    assert_well_formed_and_offline(html)
    for node in "abc":
        assert f'stroke="{CHANGED}"' in _node_rect(html, node)


def test_names_are_escaped(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=400)
    evil = '<script>alert("x")</script>'
    frame = pd.DataFrame({evil: x, "y & z": 2 * x + rng.normal(size=400)})
    after = frame.assign(**{"y & z": frame["y & z"] + 3})
    result = ca.explain(nx.DiGraph([(evil, "y & z")]), frame, after, "y & z")
    html = render(result, "html")
    assert_well_formed_and_offline(html)
    assert "&lt;script&gt;" in html and "y &amp; z" in html


def test_without_report_data_the_page_still_renders(shop_result):
    bare = dataclasses.replace(shop_result, report_data=None)
    assert bare == shop_result  # report_data is not part of the result's identity
    html = render(bare, "html")
    assert_well_formed_and_offline(html)
    assert shop_result.summary in html and "Causal graph" not in html
    assert "report_data" not in shop_result.to_dict()


def test_layout_puts_causes_above_effects_without_overlap():
    g = nx.gnp_random_graph(40, 0.1, seed=3, directed=True)
    g = nx.DiGraph([(u, v) for u, v in g.edges if u < v])
    g = nx.relabel_nodes(g, {n: f"n{n}" for n in g.nodes})
    widths = {n: 60.0 for n in g.nodes}
    pos = layered_layout(g, widths)
    assert set(pos) == set(g.nodes)
    assert all(pos[u][1] < pos[v][1] for u, v in g.edges)
    by_row: dict[float, list[float]] = {}
    for x, y in pos.values():
        by_row.setdefault(y, []).append(x)
    for xs in by_row.values():
        xs.sort()
        assert all(b - a >= 60.0 for a, b in zip(xs, xs[1:], strict=False))
    # a cycle is laid out too (check reports draw invalid graphs)
    cyc = layered_layout(nx.DiGraph([("a", "b"), ("b", "a")]), {"a": 60.0, "b": 60.0})
    assert cyc["a"] != cyc["b"]


def test_long_edges_pass_between_boxes_and_arrows_do_not_merge(shop_result):
    """The defects a user saw: ``auth -> checkout`` ran through ``catalog``, and three
    edges into ``frontend`` shared one arrowhead. A long edge now crosses each layer in a
    slot of its own, and each edge into a node ends at its own point of the border."""
    g = shop_result.report_data.graph
    widths = {n: 80.0 for n in g.nodes}
    pos, routes = layered_routes(g, widths)
    assert ("auth", "checkout") in routes
    for (u, v), points in routes.items():
        for x, y in points:
            for n, (nx_, ny) in pos.items():
                if abs(ny - y) < 1:  # a node of the layer the edge crosses
                    assert abs(x - nx_) >= widths[n] / 2, (u, v, n)
    svg = render(shop_result, "html")
    figure = svg[svg.index("<svg") : svg.index("</svg>")]
    ends = [
        tuple(d.split()[-1].split(","))
        for d in re.findall(r'<path d="([^"]+)" fill="none"', figure)
    ]
    assert len(ends) == len(set(ends))  # no two arrowheads on one point


def test_huge_graphs_are_not_drawn(shop_result):
    big = nx.path_graph(MAX_DRAWN_NODES + 1, create_using=nx.DiGraph)
    data = dataclasses.replace(shop_result.report_data, graph=big)
    html = render(dataclasses.replace(shop_result, report_data=data), "html")
    assert f"graphs over {MAX_DRAWN_NODES} are not drawn" in html


# --- the browser -------------------------------------------------------------------------


def chromium() -> str | None:
    """The Chromium (or Chrome) binary, if one is installed."""
    names = (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome")
    return next((shutil.which(n) for n in names if n and shutil.which(n)), None)


def browse(page: Path, png: Path, profile: Path) -> list[str]:
    """Render ``page`` headless into ``png`` with the network off; return console lines."""
    browser = chromium()
    proc = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--user-data-dir={profile}",
            "--window-size=1280,1800",
            f"--screenshot={png}",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return [line for line in proc.stderr.splitlines() if ":CONSOLE" in line or "net::ERR" in line]


@pytest.fixture
def need_chromium():
    if chromium() is None:
        reason = os.environ.get("CAUSAL_ATTRIB_NO_CHROMIUM")
        if os.environ.get("CI") and not reason:
            pytest.fail("CI runs .ci/run, which installs Chromium; it is not on PATH")
        pytest.skip(f"Chromium is not installed ({reason or 'not on PATH'}); .ci/run installs it")


def test_the_console_check_catches_a_broken_page(need_chromium, tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><p>x</p><script>undefinedFunction();</script>")
    errors = browse(bad, tmp_path / "bad.png", tmp_path / "profile")
    assert any("undefinedFunction" in line for line in errors)


@pytest.mark.slow  # two Chromium screenshots: CI runs it, -m 'not slow' skips it
def test_reports_render_in_headless_chromium(need_chromium, shop_result, anomaly_result, tmp_path):
    from PIL import Image

    pages = {"explain": shop_result, "anomaly": anomaly_result}
    for name, result in pages.items():
        page = tmp_path / f"{name}.html"
        page.write_text(render(result, "html"), encoding="utf-8")
        png = tmp_path / f"{name}.png"
        errors = browse(page, png, tmp_path / "profile")
        assert errors == [], errors
        pixels = np.asarray(Image.open(png).convert("RGB")).reshape(-1, 3).astype(int)
        assert len(pixels) == 1280 * 1800
        assert len(np.unique(pixels, axis=0)) > 50  # a picture, not a blank page
        # the highlight border of the changed node / the root cause is on screen
        red = np.array([int(CHANGED[i : i + 2], 16) for i in (1, 3, 5)])
        assert (np.abs(pixels - red).sum(axis=1) < 40).sum() > 200
        # and so are the histograms' "after" (or anomalous-value) colours
        assert (np.abs(pixels - [76, 114, 176]).sum(axis=1) < 30).sum() > 100


def test_clipped_tails_are_counted_and_titles_match_the_headline():
    """A tail beyond the drawn range is labelled with its count (it read as a second
    mode); a categorical target's page title names the level share, as the headline."""
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(size=2000), np.linspace(40.0, 60.0, 8)])
    picture = histogram("x", [(values, "#333", "all")], [])
    hi = float(np.quantile(values, 0.995))
    assert f"{int(np.sum(values > hi))} above" in picture  # the 8 far values among them
    funnel = ca.explain(
        SAMPLE / "funnel" / "graph.dagitty",
        SAMPLE / "funnel" / "before.csv",
        SAMPLE / "funnel" / "after.csv",
        "converted",
        target_level="yes",
    )
    html = render(funnel, "html")
    assert "<title>causal-attrib explain: share of converted = &#x27;yes&#x27;</title>" in html
    markdown = render(funnel, "markdown")
    ranks = [line.split("|")[1].strip() for line in markdown.splitlines() if line.startswith("| ")]
    ranks = [r for r in ranks if r.isdigit()]
    assert ranks == [str(k) for k in range(1, len(ranks) + 1)]


def test_check_page_shows_the_suggested_edge_on_top_and_the_graphs_share():
    result = ca.check_graph(SAMPLE / "shop" / "broken.dot", SAMPLE / "shop" / "before.csv")
    assert [(s.cause, s.effect) for s in result.suggestions] == [("payments_db", "payments")]
    html = render(result, "html")
    figure = html[html.index("<svg") : html.index("</svg>")]
    tips = re.findall(r"<title>([^<]*)</title></path>", figure)
    suggested = [k for k, t in enumerate(tips) if t.startswith("suggested edge payments_db")]
    assert suggested and suggested[-1] == len(tips) - 1  # drawn last: nothing hides it
    assert not any("payments_db ⟂ payments" == t for t in tips)  # no red link under it
    assert f"this graph ({result.baseline.given_share * 100:.1f} %)" in html


def test_edge_keys_are_strokes_and_row_counts_are_named(shop_result):
    result = ca.check_graph(SAMPLE / "shop" / "broken.dot", SAMPLE / "shop" / "before.csv")
    html = render(result, "html")
    legend = html[html.index('<p class="legend">') :]
    legend = legend[: legend.index("</p>")]
    assert legend.count("<line") == 3 and 'stroke-dasharray="4 3"' in legend  # edges as lines
    page = render(shop_result, "html")
    assert "before_total" not in page and "before, as given: 2000" in page


def _texts(svg: str) -> list[tuple[float, float, str, str]]:
    """(x, y, anchor, words) of each text of a picture."""
    out = []
    for attributes, words in re.findall(r"<text ([^>]*)>(.*?)</text>", svg):
        x, y = (float(re.search(rf'{a}="([-\d.]+)"', attributes).group(1)) for a in "xy")
        anchor = re.search(r'text-anchor="(\w+)"', attributes)
        words = re.sub(r"<title>.*?</title>", "", words)
        out.append((x, y, anchor.group(1) if anchor else "start", words))
    return out


def test_histogram_counts_sit_above_the_plot_where_no_line_or_bar_reaches():
    rng = np.random.default_rng(0)
    before, after = rng.normal(100, 10, 2000), rng.normal(120, 10, 2000)
    picture = histogram(
        "x",
        [(before, "#333", "before"), (after, "#c00", "after")],
        [(100.0, "#333", "mean before"), (120.0, "#c00", "mean after")],
    )
    plot_top = min(
        float(y) for y in re.findall(r'<line x1="[\d.]+" x2="[\d.]+" y1="([\d.]+)"', picture)
    )
    counts = [t for t in _texts(picture) if " below " in t[3] or " above " in t[3]]
    assert len(counts) == 2
    assert all(y + 3 < plot_top for _, y, _, _ in counts)  # was inside the plot, on the bars


def test_histogram_legend_and_ticks_stay_inside_the_picture():
    rng = np.random.default_rng(1)
    values = rng.uniform(0, 1000, 3000)
    picture = histogram(
        "x",
        [(values, "#333", "before"), (values + 5, "#c00", "after")],
        [(500.0, "#333", "mean before"), (1000.0, "#c00", "mean after")],
    )
    width = float(re.search(r'width="(\d+)"', picture).group(1))
    height = float(re.search(r'height="(\d+)"', picture).group(1))
    for x, y, anchor, words in _texts(picture):
        span = 6.2 * len(words)  # generous: 10 px system-ui is narrower
        end = x + span if anchor == "start" else x + span / 2 if anchor == "middle" else x
        assert end <= width and y <= height, words  # "mean aft", "1e+0" were cut off
    assert "mean after" in picture and "1e+03" in picture


def test_values_beyond_the_range_get_overflow_bins_not_the_edge_bins():
    values = np.concatenate([np.linspace(0.0, 1.0, 4000), np.full(19, 50.0)])
    picture = histogram("x", [(values, "#333", "all")], [])
    hi = float(np.quantile(values, 0.995))
    points = re.search(r'<polygon points="([^"]+)"', picture).group(1).split()
    heights = [float(points[0].split(",")[1]) - float(p.split(",")[1]) for p in points[1:-1]]
    # every bin of the uniform part is as high as the others: the 19 far values (and the
    # last 0.5 %) no longer pile up in the last bin, where they read as a peak
    assert max(heights) < 1.1 * float(np.median(heights))
    assert "above the range drawn" in picture  # they are in their own, marked bin
    assert f"{int(np.sum(values > hi))} above" in picture


def _path_points(d: str, steps: int = 24) -> list[tuple[float, float]]:
    """Points along an SVG path of M and C (cubic) commands."""
    numbers = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", d)]
    pairs = list(zip(numbers[::2], numbers[1::2], strict=True))
    out, (x0, y0) = [pairs[0]], pairs[0]
    for k in range(1, len(pairs) - 2, 3):
        (x1, y1), (x2, y2), (x3, y3) = pairs[k : k + 3]
        for i in range(1, steps + 1):
            t = i / steps
            a, b, c, e = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t**2, t**3
            out.append((a * x0 + b * x1 + c * x2 + e * x3, a * y0 + b * y1 + c * y2 + e * y3))
        x0, y0 = x3, y3
    return out


def crossed_boxes(figure: str) -> list[tuple[str, str]]:
    """(edge tooltip, node) for each edge or link drawn through a box it does not join."""
    boxes = {
        name: tuple(float(v) for v in box)
        for name, *box in re.findall(
            r'<g><title>([^<:]+)[^<]*</title><rect x="([-\d.]+)" y="([-\d.]+)" '
            r'width="([\d.]+)" height="([\d.]+)"',
            figure,
        )
    }

    def inside(box, x, y, pad):
        bx, by, bw, bh = box
        return bx + pad < x < bx + bw - pad and by + pad < y < by + bh - pad

    out = []
    for d, tip in re.findall(r'<path d="(M[^"]+)" fill="none"[^>]*>(?:<title>([^<]*))?', figure):
        points = _path_points(d)
        joined = {n for n, b in boxes.items() if any(inside(b, *p, -3) for p in points[::-1][:1])}
        joined |= {n for n, b in boxes.items() if inside(b, *points[0], -3)}
        out += [
            (tip, n)
            for n, b in boxes.items()
            if n not in joined and any(inside(b, x, y, 1) for x, y in points)
        ]
    return out


def test_check_links_go_around_the_boxes_they_do_not_join(tmp_path):
    """On broken.dot the red "payments_db ⟂ frontend" link crossed `checkout`."""
    result = ca.check_graph(SAMPLE / "shop" / "broken.dot", SAMPLE / "shop" / "before.csv")
    html = render(result, "html")
    figure = html[html.index("<svg") : html.index("</svg>")]
    assert "payments_db ⟂ frontend" in figure
    assert crossed_boxes(figure) == []


def test_time_mode_check_page_draws_lagged_edges_and_no_zero_count():
    from causal_attrib.synthetic_series import service_graph, simulate_series

    graph = service_graph(lagged=True)
    result = ca.check_graph(graph, simulate_series(graph, 800), time=ca.TimeSpec("t"))
    html = render(result, "html")
    assert "db -&gt; cache at lag 1" in html  # the lagged edge was left out of the picture
    assert "db -&gt; api at lag 2" in html
    assert "the 0 strongest" not in html
    if not result.violations:
        assert "No implication is violated" in html


def test_a_categorical_node_has_a_marked_effect_cell_and_a_footnote():
    funnel = SAMPLE / "funnel"
    result = ca.explain(
        funnel / "graph.dagitty", funnel / "before.csv", funnel / "after.csv", "revenue"
    )
    assert any(n.effect is None for n in result.nodes)  # converted is categorical
    for fmt in ("table", "markdown", "html"):
        out = render(result, fmt)
        assert "\u2014 = no effect size: a categorical node" in out, fmt
    table = render(result, "table")
    row = next(line for line in table.splitlines() if " converted " in line)
    assert "\u2014" in row  # was a blank cell
