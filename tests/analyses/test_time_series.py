"""Time-series mode of explain: calibrated on autocorrelated series, right on lagged causes.

Ground truth comes from :mod:`causal_attrib.synthetic_series`, whose generating process we
control: AR(1) nodes with inputs, planted changes at a known step.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from causal_attrib import explain
from causal_attrib.errors import InputError
from causal_attrib.inputs.periods import TimeSpec
from causal_attrib.synthetic_series import Planted, service_graph, simulate_series

SPLIT = TimeSpec("t", split_at="1000")
SEEDS = range(12)


def _flagged(frame: pd.DataFrame, graph, **kw) -> list[str]:
    result = explain(graph, data=frame, target="web", time=SPLIT, n_samples=2000, **kw)
    return [n.node for n in result.nodes if n.changed]


@pytest.mark.parametrize(
    "phi, cycle", [(0.5, None), (0.9, None), (0.97, None), (0.9, ("db", 288, 3.0))]
)
@pytest.mark.slow  # a calibration/accuracy loop: CI runs it, -m 'not slow' skips it
def test_no_change_flags_at_most_what_alpha_allows(phi, cycle):
    # 12 seeds, 4 nodes, nothing changed: a run flags with probability <= alpha = 0.05, so
    # 3 or more runs of 12 would happen by chance 2 % of the time
    runs = sum(
        bool(
            _flagged(
                simulate_series(service_graph(), phi=phi, cycle=cycle, seed=s), service_graph()
            )
        )
        for s in SEEDS
    )
    assert runs <= 2


def test_rows_as_independent_flag_autocorrelated_series_time_mode_does_not():
    # the measurement: phi = 0.9, nothing changed; i.i.d. rows flag nearly every run
    iid_runs = time_runs = 0
    for s in range(10):
        frame = simulate_series(service_graph(), phi=0.9, seed=s)
        before, after = frame[frame.t < 1000], frame[frame.t >= 1000]
        iid = explain(service_graph(), before, after, "web", n_samples=2000)
        iid_runs += any(n.changed for n in iid.nodes)
        time_runs += bool(_flagged(frame, service_graph()))
    assert iid_runs >= 8 and time_runs <= 2


@pytest.mark.parametrize("node", ["db", "cache", "api"])
def test_a_change_acting_through_lags_ranks_first(node):
    graph = service_graph(lagged=True)
    firsts = 0
    for s in range(10):
        frame = simulate_series(graph, planted=(Planted(node, "shift", 3.0, 1000),), seed=s)
        result = explain(graph, data=frame, target="web", time=SPLIT, n_samples=2000)
        firsts += result.nodes[0].node == node and result.nodes[0].changed
    assert firsts >= 9


def test_a_root_shift_reaches_the_target_through_memory_and_lags():
    # the root's level moves by 3 innovation SDs; its whole effect (through the children's
    # memory) must be attributed to it and match the observed change of the target's mean
    graph = service_graph(lagged=True)
    frame = simulate_series(graph, planted=(Planted("db", "shift", 3.0, 1000),), seed=5)
    result = explain(graph, data=frame, target="web", time=SPLIT)
    top = result.nodes[0]
    assert top.node == "db" and top.share == pytest.approx(1.0, abs=0.05)
    assert result.fitted_change == pytest.approx(result.observed_change, rel=0.25)


def test_time_mode_reports_lags_windows_and_burn_in():
    frame = simulate_series(service_graph(lagged=True), phi=0.9, seed=1)
    result = explain(service_graph(lagged=True), data=frame, target="web", time=SPLIT)
    mode = result.to_dict()["time_mode"]
    assert mode["lags"] == 1 and mode["lags_from"] == "BIC"
    assert min(mode["bic"], key=mode["bic"].get) == "1"
    assert mode["windows"] == {
        "before": {"start": "0", "end": "999"},
        "after": {"start": "1000", "end": "1999"},
    }
    assert mode["burn_in"] >= 50
    given = explain(
        service_graph(lagged=True), data=frame, target="web", time=TimeSpec("t", "1000", lags=2)
    )
    assert given.time_mode["lags"] == 2 and given.time_mode["lags_from"] == "--lags"


def test_same_seed_same_result_and_windows_equal_split():
    frame = simulate_series(service_graph(), planted=(Planted("cache", "shift", 3.0),), seed=2)
    a = explain(service_graph(), data=frame, target="web", time=SPLIT, n_samples=2000)
    b = explain(
        service_graph(),
        data=frame.sample(frac=1.0, random_state=0),  # shuffled rows: sorted back by t
        target="web",
        time=TimeSpec("t", before_window="/1000", after_window="1000/"),
        n_samples=2000,
    )
    assert a.to_dict()["nodes"] == b.to_dict()["nodes"]
    assert any("not in time order" in n for n in b.notes)


def test_two_tables_are_two_series():
    frame = simulate_series(service_graph(), planted=(Planted("api", "shift", 3.0),), seed=4)
    result = explain(
        service_graph(),
        frame[frame.t < 1000],
        frame[frame.t >= 1000],
        "web",
        time=TimeSpec("t"),
        n_samples=2000,
    )
    assert result.nodes[0].node == "api"
    # each table is its own series: the after table's first rows have no past
    assert any("left out" in n for n in result.notes)


def test_gaps_are_never_bridged_by_a_lag():
    frame = simulate_series(service_graph(), seed=0)
    holey = frame.drop(index=range(300, 310)).reset_index(drop=True)
    result = explain(service_graph(), data=holey, target="web", time=SPLIT, n_samples=2000)
    assert any("gap(s)" in n for n in result.notes)
    # the row right after the gap lacks its past: before rows = 1000 - 10 - 1 (first) - 1
    assert result.rows["before"] == 1000 - 10 - 2


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda f: pd.concat([f, f.iloc[[5]]]), "repeat a time"),
        (lambda f: f.assign(t=f.t.astype(str).radd("x")), "not a number or an ISO 8601"),
        (lambda f: f.assign(db=f.db.astype(object).where(f.t != 7, "n/a")), "holds text"),
        (lambda f: f.assign(db=f.db.where(f.t != 7)), "missing values"),
    ],
)
def test_bad_series_get_one_clear_error(change, message):
    frame = change(simulate_series(service_graph(), 400, seed=0))
    with pytest.raises(InputError, match=message):
        explain(service_graph(), data=frame, target="web", time=TimeSpec("t", split_at="200"))


def test_timestamps_with_and_without_zones():
    frame = simulate_series(service_graph(), 400, seed=0)
    stamps = pd.date_range("2026-11-01", periods=400, freq="5min")
    zoned = frame.assign(t=[s.isoformat() + "+00:00" for s in stamps])
    result = explain(
        service_graph(), data=zoned, target="web", time=TimeSpec("t", "2026-11-01T16:40:00Z")
    )
    assert result.time_mode["windows"]["after"]["start"] == "2026-11-01T16:40:00+00:00"
    mixed = zoned.copy()
    mixed.loc[3, "t"] = stamps[3].isoformat()
    with pytest.raises(InputError, match="mixes timestamps with a zone"):
        explain(service_graph(), data=mixed, target="web", time=TimeSpec("t", "2026-11-01T16:40"))


def test_lagged_edges_need_time_mode():
    frame = simulate_series(service_graph(lagged=True), 400, seed=0)
    with pytest.raises(InputError, match="lagged edges"):
        explain(service_graph(lagged=True), frame[:200], frame[200:], "web")


def test_feedback_through_a_lagged_edge_is_simulated_step_by_step():
    # web -> db one step later closes a loop: db and its descendants feed back
    graph = service_graph()
    graph.add_edge("web", "db", lags=(1,))
    rng = np.random.default_rng(0)
    n = 1200
    x = {k: np.zeros(n) for k in ("db", "cache", "api", "web")}
    for t in range(1, n):
        shift = 1.0 if t >= 600 else 0.0
        x["db"][t] = 0.5 * x["db"][t - 1] + 0.2 * x["web"][t - 1] + rng.normal() + shift
        x["cache"][t] = 0.8 * x["db"][t] + rng.normal()
        x["api"][t] = 0.5 * x["db"][t] + 0.7 * x["cache"][t] + rng.normal()
        x["web"][t] = 0.5 * x["api"][t] + rng.normal()
    frame = pd.DataFrame(x).assign(t=np.arange(n))
    result = explain(graph, data=frame, target="web", time=TimeSpec("t", "600"), n_samples=1000)
    assert result.nodes[0].node == "db" and result.nodes[0].changed
    assert result.fitted_change == pytest.approx(result.observed_change, rel=0.3)


def test_check_in_time_mode_tests_innovations_not_wandering_levels():
    from causal_attrib import check_graph

    graph = service_graph(lagged=True)
    frame = simulate_series(graph, 2000, phi=0.9, seed=0)
    as_rows = check_graph(service_graph(), frame.drop(columns="t"))
    in_time = check_graph(graph, frame, time=TimeSpec("t"))
    assert as_rows.failed and not in_time.failed
    # a missing lag-0 edge still shows on the innovations
    wrong = service_graph(lagged=True)
    wrong.remove_edge("api", "web")
    wrong.add_edge("cache", "web")
    assert check_graph(wrong, frame, time=TimeSpec("t")).failed


def test_explain_takes_a_five_row_after_window_and_names_what_it_could_not_test():
    graph = service_graph(lagged=True)
    planted = (Planted("cache", "shift", 6.0, 600),)
    frame = simulate_series(graph, 605, phi=0.5, seed=0, planted=planted)
    result = explain(graph, data=frame, target="web", time=TimeSpec("t", split_at="600"), seed=0)
    assert result.rows["after"] == 5
    assert "cache" in result.untested  # 5 rows cannot fill its parents' common range
    assert not any(n.changed for n in result.nodes)
    assert "could not be tested" in result.summary and "`cache`" in result.summary
    assert "within what chance allows" not in " ".join(result.notes)


def _wide_and_narrow(rows: int, seed: int) -> tuple:
    """``sink`` reads 9 parents; ``mem`` is an AR(1) root with phi 0.9 recorded in steps
    of 0.25 (a memory metric); the other parents are white noise."""
    import networkx as nx

    rng = np.random.default_rng(seed)
    mem = np.zeros(rows)
    for t in range(1, rows):
        mem[t] = 0.9 * mem[t - 1] + rng.normal()
    cols = {"mem": np.round(mem * 4) / 4}
    cols |= {f"p{i}": rng.normal(size=rows) for i in range(8)}
    cols["sink"] = sum(cols.values()) + rng.normal(size=rows)
    graph = nx.DiGraph([(p, "sink") for p in cols if p != "sink"])
    return graph, pd.DataFrame({"t": np.arange(rows), **cols})


def test_bic_gives_a_short_reference_memory_where_a_node_with_few_parents_can_afford_it():
    # 65 rows: one lag for the sink would cost 20 coefficients (too many for 60 rows), so
    # one order for all nodes was 0 lags, and the quantized AR(1) root was scored by its level
    from causal_attrib.analyses.lag_order import choose_lags
    from causal_attrib.inputs.periods import Periods, node_block
    from causal_attrib.inputs.series import read_series

    chosen, white = [], []
    for seed in range(10):
        graph, frame = _wide_and_narrow(65, seed)
        series = read_series(frame, "t", "the data")
        period = (np.arange(65) >= 60).astype(int)
        block = node_block(series, list(graph.nodes), period, "the data", False)
        orders, bic = choose_lags(graph, Periods((block,), {}, ()))
        assert orders["sink"] == 0  # 9 parents: no order it can afford but 0
        white += [orders[f"p{i}"] for i in range(8)]
        chosen.append(orders["mem"])
        assert set(bic) >= {0, 1}
    assert sum(k >= 1 for k in chosen) >= 9  # phi 0.9 is found in (nearly) every sample
    assert sum(k == 0 for k in white) >= 0.85 * len(white)  # white noise: BIC's few errors


def test_a_flat_node_takes_no_lags_by_an_accident_of_floating_point():
    from causal_attrib.analyses.lag_order import choose_lags
    from causal_attrib.inputs.periods import Periods, node_block
    from causal_attrib.inputs.series import read_series

    graph, frame = _wide_and_narrow(200, 0)
    frame["p0"] = 37.8203125  # a memory metric that never moved: every order fits it exactly
    frame["sink"] = frame[[c for c in frame if c not in ("t", "sink")]].sum(axis=1)
    series = read_series(frame, "t", "the data")
    block = node_block(series, list(graph.nodes), np.zeros(200, int), "the data", False)
    orders, _ = choose_lags(graph, Periods((block,), {}, ()))
    assert orders["p0"] == 0


def test_time_mode_json_reports_each_nodes_lag_order():
    import jsonschema

    from causal_attrib.analyses.incident import attribute_incident
    from causal_attrib.schemas import load_schema

    graph, frame = _wide_and_narrow(70, 1)
    frame.loc[62:, ["p3", "sink"]] += 8.0  # an incident at p3, which the sink follows
    result = attribute_incident(graph, frame, "sink", time_column="t", incident="62", seed=0)
    mode = result.to_dict()["time_mode"]
    jsonschema.validate(result.to_dict(), load_schema("anomaly"))
    assert mode["node_lags"].get("sink", 0) == 0
    assert mode["lags"] == max(mode["node_lags"].values(), default=0)
    assert result.top_cause == "p3"


def test_the_lag_choice_does_not_change_when_a_constant_is_added_to_the_data():
    # the regressions ran on raw columns: beside a level of 1e6 the solver's eigenvalue
    # cut-off threw the lag direction away (an AR(1) of 0.9 fitted as 0.5)
    from causal_attrib.analyses.lag_order import choose_lags
    from causal_attrib.inputs.periods import Periods, node_block
    from causal_attrib.inputs.series import read_series

    graph, frame = _wide_and_narrow(200, 3)
    chosen = []
    for offset in (0.0, 1e6, 1e8):
        shifted = frame.assign(**{c: frame[c] + offset for c in frame if c != "t"})
        series = read_series(shifted, "t", "the data")
        block = node_block(series, list(graph.nodes), np.zeros(200, int), "the data", False)
        chosen.append(choose_lags(graph, Periods((block,), {}, ()))[0])
    assert chosen[0]["mem"] >= 1
    assert chosen[1] == chosen[0] and chosen[2] == chosen[0]


def test_check_in_time_mode_keeps_its_vector_autoregression_within_what_its_rows_support():
    # per-node orders made the deepest one (an AR(2) root) the order of a regression of
    # every node on every node's past: 28 regressors on 48 rows rejected the true graph
    from causal_attrib import check_graph

    rejected = 0
    for seed in range(4):
        rng = np.random.default_rng(seed)
        n0 = np.zeros(50)
        for t in range(2, 50):
            n0[t] = 1.2 * n0[t - 1] - 0.5 * n0[t - 2] + rng.normal()
        cols = {"n0": n0} | {f"n{i}": rng.normal(size=50) for i in range(1, 14)}
        cols["y"] = sum(cols.values()) + rng.normal(size=50)
        graph = nx.DiGraph([(c, "y") for c in cols if c != "y"])
        frame = pd.DataFrame({"t": np.arange(50), **cols})
        result = check_graph(graph, frame, time=TimeSpec("t"))
        rejected += result.verdict.value == "rejected"
    assert rejected <= 1
