"""Which path ranks the causes: the attribution when the target is anomalous, the
candidates' own unusualness (with the graph deciding between a cause and the nodes that
only followed it) when it is not. Ground truth from a process these tests control."""

from __future__ import annotations

import json

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from causal_attrib.analyses.anomaly import attribute_anomalies
from causal_attrib.analyses.incident import attribute_incident
from causal_attrib.schemas import load_schema

GRAPH = nx.DiGraph([("db", "api"), ("api", "web"), ("cache", "web"), ("auth", "web")])


def _rows(n: int, rng: np.random.Generator, db_shift: float = 0.0, web_weight: float = 1.0):
    db = rng.normal(size=n) + db_shift
    api = 2.0 * db + rng.normal(size=n)  # follows db
    cache, auth = rng.normal(size=n), rng.normal(size=n)
    web = web_weight * api + cache + auth + rng.normal(size=n)
    return pd.DataFrame({"db": db, "api": api, "cache": cache, "auth": auth, "web": web})


def test_rows_keep_the_lead_and_list_each_candidates_own_unusualness():
    by_lead = 0
    for seed in range(5):
        rng = np.random.default_rng(seed)
        reference = _rows(1000, rng, web_weight=0.01)
        incident = _rows(5, rng, db_shift=8.0, web_weight=0.01)  # web hardly notices
        result = attribute_anomalies(GRAPH, reference, incident, "web", seed=seed)
        by_lead += result.ranking.by == "lead"
        assert (result.ranking.by == "lead") == (not result.anomalous_rows)
        assert result.ranking.nodes[0].node == "db"  # api only followed db: typical noise
    assert by_lead >= 4  # a 5-row window raises a chance alarm about 5 % of the time


def test_an_anomalous_target_is_ranked_by_the_attribution():
    rng = np.random.default_rng(7)
    reference = _rows(1000, rng)
    incident = _rows(5, rng, db_shift=8.0)
    result = attribute_anomalies(GRAPH, reference, incident, "web", seed=0)
    assert result.anomalous_rows
    assert result.ranking.by == "attribution"
    assert result.top_cause == "db"
    assert [c.node for c in result.causes] == [c.node for c in sorted(
        result.causes, key=lambda c: -c.contribution)]  # fmt: skip


def test_the_json_says_which_path_ranked_and_validates():
    import jsonschema

    rng = np.random.default_rng(3)
    result = attribute_anomalies(
        GRAPH, _rows(500, rng, web_weight=0.05), _rows(3, rng, 8.0, 0.05), "web", seed=0
    )
    report = json.loads(json.dumps(result.to_dict()))
    jsonschema.validate(report, load_schema("anomaly"))
    assert report["ranking"]["by"] == "lead"
    assert report["ranking"]["nodes"][0]["node"] == "db"
    assert "lead rather than a finding" in report["summary"]


def _series(n: int, seed: int, shifts: dict[str, tuple[int, int, float]], web_weight=0.05):
    """An AR(1) per node, the graph's edges contemporaneous; ``shifts`` adds a level to a
    node's innovation over ``[start, end)``."""
    rng = np.random.default_rng(seed)
    e = {k: rng.normal(size=n) for k in ("db", "api", "cache", "auth", "web")}
    for node, (lo, hi, size) in shifts.items():
        e[node][lo:hi] += size
    x = {k: np.zeros(n) for k in e}
    for t in range(n):
        past = {k: x[k][t - 1] if t else 0.0 for k in e}
        x["db"][t] = 0.5 * past["db"] + e["db"][t]
        x["cache"][t] = 0.5 * past["cache"] + e["cache"][t]
        x["auth"][t] = 0.5 * past["auth"] + e["auth"][t]
        x["api"][t] = 0.5 * past["api"] + 2.0 * x["db"][t] + e["api"][t]
        x["web"][t] = 0.5 * past["web"] + web_weight * x["api"][t] + x["cache"][t] + e["web"][t]
    return pd.DataFrame({"t": np.arange(n), **x})


def test_auto_opens_the_most_recent_incident_at_an_ancestor():
    frame = _series(400, 0, {"cache": (200, 205, 12.0), "db": (380, 385, 12.0)})
    result = attribute_incident(GRAPH, frame, "web", time_column="t", seed=0)
    window = result.time_mode["incident"]
    assert 378 <= int(window["start"]) <= 382
    assert window["evidence"]["opened_by"] in {"db", "api"}
    assert window["evidence"]["earlier_runs"] >= 1
    assert result.top_cause == "db"


def test_since_searches_after_a_time_and_nothing_after_it_is_exit_2(cli, tmp_path):
    frame = _series(400, 1, {"cache": (200, 205, 12.0)})
    frame.to_csv(tmp_path / "s.csv", index=False)
    (tmp_path / "g.dot").write_text(
        "digraph { db -> api; api -> web; cache -> web; auth -> web }"
    )
    args = ["anomaly", "-g", tmp_path / "g.dot", "-d", tmp_path / "s.csv", "--time-column", "t",
            "-t", "web", "-f", "json"]  # fmt: skip
    found = cli(*args, "--since", "150")
    assert found.exit_code == 0, found.stderr
    assert 198 <= int(json.loads(found.stdout)["time_mode"]["incident"]["start"]) <= 202
    nothing = cli(*args, "--since", "260")
    assert nothing.exit_code == 2 and "found nothing unusual" in nothing.stderr


def test_auto_opens_at_a_later_onset_while_an_earlier_fault_still_holds_the_target_high():
    # cache's fault holds web's level up over rows 200-260; db's spike at 250 is a new onset
    # (a run of the target's level alarms must not stretch the window back to row 200)
    frame = _series(400, 2, {"cache": (200, 262, 6.0), "db": (250, 253, 12.0)})
    result = attribute_incident(GRAPH, frame, "web", time_column="t", since="100", seed=0)
    window = result.time_mode["incident"]
    assert 248 <= int(window["start"]) <= 252
    assert window["evidence"]["opened_by"] in {"db", "api"}


def test_auto_does_not_open_at_a_fault_ending():
    # db steps up at 300 and back at 330: the step back is the fault's end, not an onset
    frame = _series(400, 3, {"db": (300, 330, 8.0)})
    result = attribute_incident(GRAPH, frame, "web", time_column="t", seed=0)
    window = result.time_mode["incident"]
    assert 298 <= int(window["start"]) <= 302
    assert result.top_cause == "db"


def _slow_chain(seed: int, phi: float = 0.9, n: int = 200, at: int = 150) -> pd.DataFrame:
    """a -> b -> c, each an AR(1) with ``phi``; a's innovations get +10 for 3 steps at
    ``at``, so c's level builds up and crosses its alarm several steps later."""
    rng = np.random.default_rng(seed)
    e = {k: rng.normal(size=n) for k in "abc"}
    e["a"][at : at + 3] += 10.0
    x = {k: np.zeros(n) for k in "abc"}
    for t in range(n):
        x["a"][t] = (phi * x["a"][t - 1] if t else 0) + e["a"][t]
        x["b"][t] = (phi * x["b"][t - 1] if t else 0) + 0.8 * x["a"][t] + e["b"][t]
        x["c"][t] = (phi * x["c"][t - 1] if t else 0) + 0.8 * x["b"][t] + e["c"][t]
    return pd.DataFrame({"t": np.arange(n), **x})


@pytest.mark.slow  # 10 incidents
def test_auto_opens_at_the_cause_when_the_targets_level_crosses_later():
    # the target's level crossing 5-10 steps after a's innovation counted as a new onset:
    # the window opened after the cause (9 to 15 of 20 seeds at phi 0.8-0.95)
    graph = nx.DiGraph([("a", "b"), ("b", "c")])
    opened = []
    for seed in range(10):
        result = attribute_incident(graph, _slow_chain(seed), "c", time_column="t", seed=0)
        opened.append(int(result.time_mode["incident"]["start"]))
    assert sum(148 <= s <= 152 for s in opened) >= 9
PROBED = nx.DiGraph([("db", "api"), ("api", "web"), ("cache", "web"), ("probe", "web")])


def _probed(seed: int, db_shift: float, n: int = 400, at: int = 380, rows: int = 5):
    """AR(0.5) nodes; over ``rows`` steps from ``at`` db's innovation moves ``db_shift``
    SDs (web follows it through api) and probe's 40 SDs, of which web reads only 0.005
    (a fifth of one of web's SDs): db moved web, probe only stands out on its own."""
    rng = np.random.default_rng(seed)
    e = {k: rng.normal(size=n) for k in ("db", "api", "cache", "probe", "web")}
    e["db"][at : at + rows] += db_shift
    e["probe"][at : at + rows] += 40.0
    x = {k: np.zeros(n) for k in e}
    for t in range(n):
        past = {k: x[k][t - 1] if t else 0.0 for k in e}
        for k in ("db", "cache", "probe"):
            x[k][t] = 0.5 * past[k] + e[k][t]
        x["api"][t] = 0.5 * past["api"] + x["db"][t] + e["api"][t]
        x["web"][t] = (
            0.5 * past["web"] + 0.5 * x["api"][t] + x["cache"][t] + 0.005 * x["probe"][t]
            + e["web"][t]
        )  # fmt: skip
    return pd.DataFrame({"t": np.arange(n), **x})


@pytest.mark.slow  # ten incidents: CI runs it, -m 'not slow' skips it
def test_an_incident_whose_target_moved_below_the_window_threshold_is_ranked_by_the_lead():
    # web passes the single-row level in some row but not the window's: it moved, and the
    # graph's split names db; ranking by the candidates' own unusualness put probe (40 SDs
    # on its own, a fifth of an SD at web) first every time
    moved = named = 0
    for seed in range(10):
        result = attribute_incident(
            PROBED, _probed(seed, 2.0), "web", time_column="t", incident="380/385", seed=seed
        )
        if result.anomalous_rows or result.max_score < result.threshold:
            continue
        moved += 1
        assert result.ranking.by == "lead"
        assert result.ranking.nodes[0].node == "probe"  # the most unusual on its own
        listed = {c.node for c in result.causes}  # the lead, then the other unusual ones
        assert {u.node for u in result.ranking.nodes if u.deviation >= 1.0} <= listed
        named += result.top_cause == "db"
    assert moved >= 3
    assert named >= moved - 1


def test_an_incident_whose_target_did_not_move_is_ranked_by_unusualness():
    # web never reaches even the single-row level: a split of its score is a split of noise
    result = attribute_incident(
        PROBED, _probed(0, 0.0), "web", time_column="t", incident="380/385", seed=0
    )
    assert result.max_score < result.threshold
    assert result.ranking.by == "unusualness"
    assert result.top_cause == "probe"


@pytest.mark.parametrize("dropped", [[175], [148, 149]])
def test_a_gap_in_the_times_leaves_the_incidents_other_rows_attributed(dropped):
    # one missing time inside (or just before) the incident made every innovation score
    # NaN, so no node was a player and the incident had no cause at all
    graph = nx.DiGraph([("a", "b"), ("b", "c")])
    frame = _slow_chain(0, phi=0.6).drop(index=dropped)
    result = attribute_incident(graph, frame, "c", time_column="t", incident="150", lags=2)
    attributed = [r for r in result.rows if r.root_causes]
    assert len(attributed) >= 5
    assert result.top_cause == "a"
    assert any("cannot be traced" in n for n in result.notes)
