"""Every kind of HTML page, rendered in headless Chromium and measured: no edge or link
crosses a box it does not join, no label overlaps another label, a bar or a line, and no
text is clipped by its picture or its box.

The page is a copy with ``page_probe.js`` appended (reports themselves hold no script); the
probe reads the SVG geometry (``getBBox``, ``getPointAtLength``, ``isPointInFill``) and
writes its findings into the DOM, which ``chromium --dump-dom`` prints.
"""

from __future__ import annotations

import html as html_lib
import json
import re
import subprocess
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from conftest import SAMPLE, SHOP
from test_reports_html import chromium, need_chromium  # noqa: F401  (a fixture)

import causal_attrib as ca
from causal_attrib.rendering import render
from causal_attrib.synthetic_series import Planted, service_graph, simulate_series

PROBE = Path(__file__).with_name("page_probe.js")


def measure(page_html: str, tmp_path: Path, name: str) -> dict:
    """The probe's findings on one page."""
    script = f"<script>{PROBE.read_text(encoding='utf-8')}</script>"
    page = tmp_path / f"{name}.html"
    page.write_text(page_html.replace("</body>", script + "</body>"), encoding="utf-8")
    proc = subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1280,1800",
            "--virtual-time-budget=3000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    found = re.findall(r'<pre id="probe">(\{.*?)</pre>', proc.stdout, flags=re.S)
    assert found, f"the probe did not run on {name}: {proc.stderr[-1000:]}"
    return json.loads(html_lib.unescape(found[-1]))


def funnel_product(tmp_path: Path) -> tuple[nx.DiGraph, Path]:
    """A 9-node funnel whose graph misses edges, so violations and suggestions cross it."""
    rng = np.random.default_rng(3)
    n = 1500
    traffic = rng.normal(10, 1, n)
    ads = rng.normal(size=n)
    visits = traffic + ads + rng.normal(size=n)
    carts = visits + rng.normal(size=n)
    price = rng.normal(size=n)
    orders = carts - price + traffic + rng.normal(size=n)  # traffic -> orders is missing
    refunds = orders + rng.normal(size=n)
    revenue = orders + price + refunds + rng.normal(size=n)
    margin = revenue + ads + rng.normal(size=n)  # ads -> margin is missing
    frame = pd.DataFrame(
        dict(
            traffic=traffic,
            ads=ads,
            visits=visits,
            carts=carts,
            price=price,
            orders=orders,
            refunds=refunds,
            revenue=revenue,
            margin=margin,
        )
    )
    path = tmp_path / "funnel.csv"
    frame.to_csv(path, index=False)
    graph = nx.DiGraph(
        [
            ("traffic", "visits"),
            ("ads", "visits"),
            ("visits", "carts"),
            ("carts", "orders"),
            ("price", "orders"),
            ("orders", "refunds"),
            ("orders", "revenue"),
            ("price", "revenue"),
            ("refunds", "revenue"),
            ("revenue", "margin"),
        ]
    )
    return graph, path


def every_page(tmp_path: Path) -> dict[str, str]:
    """One page of each kind: explain, segments, anomaly, incident, check (two graphs),
    influence, time mode, comparison."""
    graph, before, after = SHOP
    shop = SAMPLE / "shop"
    pages = {}
    explained = ca.explain(graph, before, after, "checkout", statistic="p95", bootstrap=20)
    pages["explain"] = explained
    regions = SAMPLE / "regions"
    pages["segments"] = ca.explain_segments(
        regions / "graph.dot", regions / "before.csv", regions / "after.csv", "c", by="region"
    )
    anomaly = ca.attribute_anomalies(
        shop / "graph.dot",
        shop / "before.csv",
        shop / "incident.csv",
        "frontend",
        id_column="time",
    )
    pages["anomaly"] = anomaly
    pages["check"] = ca.check_graph(shop / "broken.dot", shop / "before.csv")
    funnel, data = funnel_product(tmp_path)
    pages["check funnel"] = ca.check_graph(funnel, data)
    pages["influence"] = ca.intrinsic_influence(graph, before, "checkout", edges=True)
    lagged = service_graph(lagged=True)
    frame = simulate_series(lagged, planted=(Planted("db", "shift", 3.0),))
    time = ca.TimeSpec("t", "1000")
    pages["time mode"] = ca.explain(lagged, data=frame, target="web", time=time, n_samples=2000)
    pages["time mode check"] = ca.check_graph(lagged, frame, time=ca.TimeSpec("t"))
    spiked = simulate_series(lagged, 1200, planted=(Planted("cache", "spike", 30.0, 1000, 3),))
    pages["incident"] = ca.attribute_incident(lagged, spiked, "web", time_column="t")
    pages["comparison"] = ca.compare_with_dowhy(
        ca.explain(graph, before, after, "checkout"), graph, before, after
    )
    return {name: render(result, "html") for name, result in pages.items()}


def test_the_probe_sees_crossings_overlaps_and_clipping(need_chromium, tmp_path):  # noqa: F811
    bad = (
        '<!DOCTYPE html><html><body><svg xmlns="http://www.w3.org/2000/svg" aria-label="bad" '
        'width="200" height="100" viewBox="0 0 200 100">'
        '<g><rect x="80" y="30" width="40" height="30"/><text x="100" y="50">in</text></g>'
        '<path d="M0,45 L200,45" fill="none" stroke="#000"/>'
        '<text x="10" y="20">one label</text><text x="15" y="20">another</text>'
        '<text x="190" y="90">clipped at the edge</text></svg></body></html>'
    )
    problems = measure(bad, tmp_path, "bad")["problems"]
    assert any("crosses the box in" in p for p in problems)
    assert any('"one label" overlaps "another"' in p for p in problems)
    assert any('"clipped at the edge" is clipped' in p for p in problems)


@pytest.mark.slow
def test_every_page_kind_is_clean_in_chromium(need_chromium, tmp_path):  # noqa: F811
    pytest.importorskip("dowhy", reason="the comparison page needs DoWhy (the test extra)")
    pages = every_page(tmp_path)
    assert len(pages) == 10
    found = {}
    for name, page_html in pages.items():
        probe = measure(page_html, tmp_path, name.replace(" ", "_"))
        assert probe["svgs"] >= 1, name  # the pictures were there to measure
        found[name] = probe["problems"]
    assert found == {name: [] for name in pages}
