"""Generate the bundled sample scenarios with documented ground truth.

Run ``python sample_data/generate.py`` to rewrite the files; the output is deterministic.

shop/  Microservice latencies (ms) of an online shop. The causal graph points from a callee
       to its caller (a slow dependency makes its caller slow). Ground truth: between
       ``before.csv`` and ``after.csv`` only the mechanism of ``payments_db`` changed: its
       own latency rose by 40 ms on average and got a heavier tail (a slow index). Every
       other mechanism is identical in both periods.

shop/incident.csv  Six 5-minute rows of the same shop (before-period mechanisms) with a
       ``time`` column. Ground truth: in rows 3-5 ``inventory_db`` itself got 150 ms slower
       (a lock); ``inventory``, ``checkout`` and ``frontend`` are slow only because of it.
       Use ``before.csv`` as the reference for ``causal-attrib anomaly``.

shop/broken.dot  The shop graph with the edge ``payments_db -> payments`` left out (the node
       stays, with no edges): ``causal-attrib check`` on ``before.csv`` finds the missing
       dependence.

regions/ Three services ``a -> b -> c``, ``a -> c``, one row per request with a ``region``
       column, for ``explain --by region``. Ground truth: only in ``region=eu`` did the
       mechanism of ``b`` change (+2 on average); ``us`` and ``asia`` are unchanged; the
       ``lab`` segment has 8 rows before and none after (it is skipped).

funnel/ A business funnel, one row per session. ``channel`` and ``device`` are categorical,
       ``converted`` is a categorical (yes/no) node with parents. Ground truth: two
       mechanisms changed. The channel mix (a root) moved towards ``ads``, and the checkout
       broke on mobile, so P(converted | pages_viewed, device) fell for mobile sessions.
       The second change moved ``revenue`` down most; the first lowered it too, less
       (ads sessions view fewer pages, so convert less). ``pages_viewed`` did not change.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent

SHOP_DOT = """\
// Online shop: edges point from a dependency to the service that calls it.
digraph shop {
  payments_db -> payments;
  fraud_check -> payments;
  payments -> checkout;
  inventory_db -> inventory;
  inventory -> checkout;
  auth -> checkout;
  cache -> catalog;
  catalog_db -> catalog;
  auth -> frontend;
  catalog -> frontend;
  checkout -> frontend;
}
"""

FUNNEL_DOT = """\
dag {
  channel -> pages_viewed
  device -> pages_viewed
  device -> converted
  pages_viewed -> converted
  converted -> revenue
  pages_viewed -> revenue
}
"""


def shop(
    rng: np.random.Generator, n: int, changed: bool, spike: dict | None = None
) -> pd.DataFrame:
    """Latencies in ms; ``changed`` switches payments_db to its slower mechanism; ``spike``
    adds extra latency (an array per node) to a node's own latency."""
    spike = spike or {}

    def gamma(mean: float, shape: float) -> np.ndarray:
        return rng.gamma(shape, mean / shape, n)

    payments_db = gamma(20, 4) + (rng.exponential(40, n) if changed else 0.0)
    fraud_check = gamma(15, 6)
    payments = np.maximum(payments_db, fraud_check) + gamma(10, 5)
    inventory_db = gamma(12, 4) + spike.get("inventory_db", 0.0)
    inventory = inventory_db + gamma(8, 5)
    auth = gamma(6, 8)
    checkout = payments + inventory + auth + gamma(15, 5)
    cache = gamma(2, 2)
    catalog_db = gamma(25, 3)
    catalog = 0.3 * catalog_db + cache + gamma(10, 5)
    frontend = auth + np.maximum(catalog, checkout) + gamma(5, 5)
    return pd.DataFrame(
        {
            "payments_db": payments_db,
            "fraud_check": fraud_check,
            "payments": payments,
            "inventory_db": inventory_db,
            "inventory": inventory,
            "auth": auth,
            "checkout": checkout,
            "cache": cache,
            "catalog_db": catalog_db,
            "catalog": catalog,
            "frontend": frontend,
        }
    ).round(3)


def funnel(rng: np.random.Generator, n: int, after: bool) -> pd.DataFrame:
    """Sessions; ``after`` shifts the channel mix and breaks mobile checkout."""
    mix = [0.45, 0.25, 0.30] if not after else [0.35, 0.40, 0.25]
    channel = rng.choice(["organic", "ads", "email"], size=n, p=mix)
    device = rng.choice(["mobile", "desktop"], size=n, p=[0.6, 0.4])
    base_pages = {"organic": 5.0, "ads": 3.5, "email": 6.0}
    pages = np.array([base_pages[c] for c in channel]) + 1.5 * (device == "desktop")
    pages = np.maximum(1.0, pages + rng.normal(0, 1.5, n)).round(0)
    logit = -3.0 + 0.45 * pages + 0.4 * (device == "desktop")
    if after:
        logit = logit - 1.2 * (device == "mobile")
    converted = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    revenue = 45.0 * (converted == "yes") + 1.5 * pages + rng.normal(0, 5, n)
    return pd.DataFrame(
        {
            "session_id": np.arange(n) + (100000 if after else 0),
            "channel": channel,
            "device": device,
            "pages_viewed": pages.astype(int),
            "converted": converted,
            "revenue": revenue.round(2),
        }
    )


def main() -> None:
    """Write both scenarios under ``sample_data/``."""
    rng = np.random.default_rng(20261122)
    (HERE / "shop").mkdir(exist_ok=True)
    (HERE / "shop" / "graph.dot").write_text(SHOP_DOT)
    shop(rng, 2000, changed=False).to_csv(HERE / "shop" / "before.csv", index=False)
    shop(rng, 2000, changed=True).to_csv(HERE / "shop" / "after.csv", index=False)
    (HERE / "funnel").mkdir(exist_ok=True)
    (HERE / "funnel" / "graph.dagitty").write_text(FUNNEL_DOT)
    funnel(rng, 3000, after=False).to_csv(HERE / "funnel" / "before.csv", index=False)
    funnel(rng, 3000, after=True).to_csv(HERE / "funnel" / "after.csv", index=False)
    incident_rng = np.random.default_rng(20261123)  # separate, so the files above stay put
    lock = np.array([0.0, 0.0, 150.0, 150.0, 150.0, 0.0])
    incident = shop(incident_rng, 6, changed=False, spike={"inventory_db": lock})
    times = pd.date_range("2026-11-20 14:00", periods=6, freq="5min").strftime("%H:%M")
    incident.insert(0, "time", times)
    incident.to_csv(HERE / "shop" / "incident.csv", index=False)
    broken = SHOP_DOT.replace(
        "  payments_db -> payments;\n", "  payments_db;  // its edge to payments left out\n"
    )
    (HERE / "shop" / "broken.dot").write_text(broken)
    regions_rng = np.random.default_rng(20261130)  # separate again: the files above stay put
    (HERE / "regions").mkdir(exist_ok=True)
    (HERE / "regions" / "graph.dot").write_text("digraph regions { a -> b; b -> c; a -> c; }\n")
    before = pd.concat([regions(regions_rng, 3000, 0.0), LAB], ignore_index=True)
    before.to_csv(HERE / "regions" / "before.csv", index=False)
    regions(regions_rng, 3000, 2.0).to_csv(HERE / "regions" / "after.csv", index=False)


LAB = pd.DataFrame({"region": ["lab"] * 8, "a": 10.0, "b": 5.0, "c": 20.0})
"""A test region with a few rows before and none after: too small to explain."""


def regions(rng: np.random.Generator, n: int, shift_eu: float) -> pd.DataFrame:
    """One period of the regions scenario: ``b`` shifts by ``shift_eu`` in region eu only."""
    region = rng.choice(["eu", "us", "asia"], size=n, p=[0.3, 0.5, 0.2])
    a = rng.normal(10, 2, n)
    b = 0.5 * a + rng.normal(0, 1, n) + np.where(region == "eu", shift_eu, 0.0)
    c = 2 * b + a + rng.normal(0, 1, n)
    return pd.DataFrame({"region": region, "a": a, "b": b, "c": c})


if __name__ == "__main__":
    main()
