"""Time-series anomaly attribution: a spike in one node's innovation, acting through lags,
is named as the incident's root cause (explicit incident and ``--incident auto``)."""

from __future__ import annotations

import json

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from causal_attrib.analyses.incident import attribute_incident
from causal_attrib.errors import InputError
from causal_attrib.synthetic_series import Planted, service_graph, simulate_series

GRAPH = service_graph(lagged=True)


def _spike(seed: int, phi: float = 0.9, node: str = "db"):
    return simulate_series(
        GRAPH, 1200, phi=phi, seed=seed, planted=(Planted(node, "spike", 30.0, 1000, 3),)
    )


@pytest.mark.parametrize("phi", [0.5, 0.9])
@pytest.mark.slow  # a calibration/accuracy loop: CI runs it, -m 'not slow' skips it
def test_a_lagged_spike_is_named_with_an_explicit_incident(phi):
    named = sum(
        attribute_incident(
            GRAPH, _spike(s, phi), "web", time_column="t", incident="1000/1012"
        ).top_cause
        == "db"
        for s in range(10)
    )
    assert named >= 9


@pytest.mark.slow  # a calibration/accuracy loop: CI runs it, -m 'not slow' skips it
def test_a_lagged_spike_is_named_with_auto_incident():
    named = 0
    for phi in (0.5, 0.9):
        for s in range(5):
            try:
                result = attribute_incident(GRAPH, _spike(s, phi), "web", time_column="t")
            except InputError:
                continue
            named += result.top_cause == "db"
            assert result.time_mode["incident"]["auto"] is True
    assert named >= 8


def test_a_spike_in_a_middle_node_is_not_blamed_on_its_root():
    named = sum(
        attribute_incident(
            GRAPH, _spike(s, node="cache"), "web", time_column="t", incident="1000/1010"
        ).top_cause
        == "cache"
        for s in range(5)
    )
    assert named >= 4


def test_no_incident_no_auto_onset():
    quiet = [simulate_series(GRAPH, 1200, phi=0.9, seed=s) for s in range(5)]
    for frame in quiet:
        with pytest.raises(InputError, match="found nothing unusual"):
            attribute_incident(GRAPH, frame, "web", time_column="t")


def test_contributions_add_up_and_json_is_stable(cli, tmp_path):
    frame = _spike(3)
    data = tmp_path / "series.csv"
    frame.to_csv(data, index=False)
    graph = tmp_path / "g.dot"
    graph.write_text("digraph { db -> cache [lag=1]; db -> api [lag=2]; cache -> api; api -> web }")
    args = ["anomaly", "-g", graph, "-d", data, "--time-column", "t", "--incident", "1000/1010"]
    one = cli(*args, "-t", "web", "-f", "json")
    two = cli(*args, "-t", "web", "-f", "json")
    assert one.exit_code == 0 and one.stdout == two.stdout
    report = json.loads(one.stdout)
    api = attribute_incident(GRAPH, frame, "web", time_column="t", incident="1000/1010")
    assert report["causes"][0]["node"] == "db" == api.top_cause
    assert report["time_mode"]["incident"]["reference_rows"] == 1000
    assert report["causes"] == json.loads(json.dumps(api.to_dict()))["causes"]
    fail = cli(*args, "-t", "web", "--fail-on-anomaly")
    assert fail.exit_code == 1


def test_reference_and_anomalies_tables_join_in_time(cli, tmp_path):
    frame = _spike(1)
    frame[frame.t < 1000].to_csv(tmp_path / "ref.csv", index=False)
    frame[(frame.t >= 1000) & (frame.t < 1012)].to_csv(tmp_path / "inc.csv", index=False)
    graph = tmp_path / "g.dot"
    graph.write_text("digraph { db -> cache [lag=1]; db -> api [lag=2]; cache -> api; api -> web }")
    out = cli(
        "anomaly", "-g", graph, "-r", tmp_path / "ref.csv", "-a", tmp_path / "inc.csv",
        "--time-column", "t", "-t", "web", "-f", "json",
    )  # fmt: skip
    assert out.exit_code == 0, out.stderr
    assert json.loads(out.stdout)["causes"][0]["node"] == "db"


@pytest.mark.parametrize(
    "incident, message",
    [("5", "leaves 5 reference row(s)"), ("5000", "holds no rows"), ("soon", "not a number")],
)
def test_bad_incidents_one_line_exit_2(cli, tmp_path, incident, message):
    frame = simulate_series(GRAPH, 300, seed=0)
    frame.to_csv(tmp_path / "s.csv", index=False)
    graph = tmp_path / "g.dot"
    graph.write_text("digraph { db -> cache [lag=1]; db -> api [lag=2]; cache -> api; api -> web }")
    out = cli(
        "anomaly", "-g", graph, "-d", tmp_path / "s.csv", "--time-column", "t",
        "--incident", incident, "-t", "web",
    )  # fmt: skip
    assert out.exit_code == 2 and message in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_a_long_incident_is_attributed_where_it_starts_and_says_so():
    from causal_attrib.analyses.incident_game import MAX_INCIDENT_ROWS

    frame = _spike(2)
    result = attribute_incident(GRAPH, frame, "web", time_column="t", incident="600")
    assert len(result.rows) == MAX_INCIDENT_ROWS
    assert any(f"the first {MAX_INCIDENT_ROWS} are scored" in n for n in result.notes)


SIDE_NOISE = [f"n{i}" for i in range(6)]
SIDE_GRAPH = nx.DiGraph(
    [("db", "api"), ("api", "web"), ("side", "web"), *((n, "web") for n in SIDE_NOISE)]
)


def _cause_and_side(seed: int, n: int = 600, at: int = 500) -> pd.DataFrame:
    """AR(0.5) nodes; at ``at`` for 3 steps db's innovation jumps 40 SDs (web follows it
    one for one through api) and side's 60 SDs (web reads a tenth of side): db explains
    about 40 of web's 46 SDs of rise, side the rest. Six other parents of web stay normal."""
    rng = np.random.default_rng(seed)
    e = {k: rng.normal(size=n) for k in ["db", "api", "side", "web", *SIDE_NOISE]}
    e["db"][at : at + 3] += 40.0
    e["side"][at : at + 3] += 60.0
    x = {k: np.zeros(n) for k in e}
    for t in range(n):
        for k in ["db", "side", *SIDE_NOISE]:
            x[k][t] = 0.5 * (x[k][t - 1] if t else 0.0) + e[k][t]
        x["api"][t] = 0.5 * (x["api"][t - 1] if t else 0.0) + x["db"][t] + e["api"][t]
        x["web"][t] = (
            x["api"][t] + 0.1 * x["side"][t] + sum(x[k][t] for k in SIDE_NOISE) + e["web"][t]
        )
    return pd.DataFrame({"t": np.arange(n), **x})


def test_the_cause_that_explains_most_of_the_rise_gets_most_of_the_credit():
    # with the other nodes' innovations pinned to what was observed, the forecast of web
    # was as narrow as db's and side's luck: leaving out either one scored the rest at the
    # cap, the game became "both or nothing" and side took nearly half (db/side 1.0-2.2)
    for seed in range(5):
        result = attribute_incident(
            SIDE_GRAPH, _cause_and_side(seed), "web", time_column="t", incident="500/503",
            seed=seed,
        )  # fmt: skip
        share = {c.node: c.contribution for c in result.causes}
        assert result.top_cause == "db"
        assert share["db"] >= 2.5 * share["side"], share


def test_the_target_surprise_is_not_lost_to_a_long_forecast():
    # a spike pooled into the fit makes memories look like 0.95: drawing every luck afresh
    # over the 50 steps such a memory takes to fade made web's forecast so wide that the
    # incident surprised it by 0.005 nats, and every share was noise around zero. An
    # anomalous row must stay anomalous given its history (what the shares add up to).
    result = attribute_incident(
        SIDE_GRAPH, _cause_and_side(0), "web", time_column="t", incident="500/503", seed=0
    )
    assert all(row.anomalous for row in result.rows)
    for row in result.rows:
        surprise = sum(c.contribution for c in row.root_causes) + row.unattributed
        assert surprise >= result.row_threshold, (row.row, surprise)


STILL = ["a1", "a2", "a3", "a4"]
STILL_GRAPH = nx.DiGraph([("load", "web"), *((a, "web") for a in STILL)])


def _still_parents(seed: int, n: int = 400, at: int = 395) -> pd.DataFrame:
    """web reads load (an AR(0.5)) and a1 (twice its drop) at lag 0; a1..a4 sit at 100
    through the reference, like an availability. In the incident a1 drops; a2 dips the step
    before a1 does (web does not read it); a3 and a4 dip half a point once."""
    rng = np.random.default_rng(seed)
    x = {a: np.full(n, 100.0) for a in STILL}
    x["a1"][at:] -= [5.0, 8.0, 6.0, 4.0, 3.0]
    x["a2"][:-1] = 100.0 - 0.9 * (100.0 - x["a1"][1:])
    x["a3"][at + 1] -= 0.5
    x["a4"][at + 2] -= 0.5
    load, web = np.zeros(n), np.zeros(n)
    e, f = rng.normal(size=n), rng.normal(size=n)
    for t in range(n):
        load[t] = 0.5 * (load[t - 1] if t else 0.0) + e[t]
        web[t] = 0.5 * (web[t - 1] if t else 0.0) + load[t] + 2.0 * (x["a1"][t] - 100) + f[t]
    return pd.DataFrame({"t": np.arange(n), "load": load, "web": web, **x})


def test_a_parent_that_never_varied_is_not_fitted_to_the_incident_through_its_past():
    # with two past copies of every parent, a2's lag-1 copy was a1's drop exactly: fitted
    # on the incident's five rows (the only rows where either moved), it took a1's place
    for seed in range(5):
        result = attribute_incident(
            STILL_GRAPH, _still_parents(seed), "web", time_column="t", incident="395", lags=2,
            seed=seed,
        )  # fmt: skip
        assert result.top_cause == "a1"
