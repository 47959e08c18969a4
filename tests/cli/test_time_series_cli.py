"""``--time-column`` on the command line: the JSON is the library's result, bad series get
one line and exit 2, and temporal graphs read from every format."""

from __future__ import annotations

import json

import pytest

from causal_attrib import TimeSpec, explain
from causal_attrib.inputs.graphs import load_graph
from causal_attrib.inputs.lags import edge_lags
from causal_attrib.synthetic_series import Planted, service_graph, simulate_series

DOT = "digraph { db -> cache [lag=1]; db -> api [lag=2]; cache -> api; api -> web }"


@pytest.fixture
def series(tmp_path):
    frame = simulate_series(service_graph(lagged=True), planted=(Planted("db", "shift", 3.0),))
    data = tmp_path / "series.csv"
    frame.to_csv(data, index=False)
    graph = tmp_path / "g.dot"
    graph.write_text(DOT)
    return graph, data, frame


def test_cli_json_equals_api_result_in_time_mode(cli, series):
    graph, data, frame = series
    args = ["explain", "-g", graph, "-d", data, "--time-column", "t", "--split-at", "1000"]
    out = cli(*args, "-t", "web", "--samples", "2000", "-f", "json")
    assert out.exit_code == 0, out.stderr
    api = explain(
        load_graph(graph), data=frame, target="web", time=TimeSpec("t", "1000"), n_samples=2000
    )
    assert json.loads(out.stdout) == api.to_dict()
    assert json.loads(out.stdout)["nodes"][0]["node"] == "db"


def test_fail_on_change_and_table_output(cli, series):
    graph, data, _ = series
    args = ["explain", "-g", graph, "-d", data, "--time-column", "t", "--split-at", "1000"]
    out = cli(*args, "-t", "web", "--samples", "2000", "--fail-on-change")
    assert out.exit_code == 1
    assert "db" in out.stdout.splitlines()[0]


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--split-at", "99999"], "after period (t >= 99999) holds no rows"),
        (["--before-window", "0/500"], "--split-at TIME, or --before-window and --after-window"),
        (["--split-at", "1000", "--lags", "-1"], "--lags must be"),
        (["--split-at", "soon"], "is not a number"),
        (["--split-at", "1000", "--by", "db"], "--by is not available in time-series mode"),
    ],
)
def test_bad_time_options_one_line_exit_2(cli, series, extra, message):
    graph, data, _ = series
    out = cli("explain", "-g", graph, "-d", data, "--time-column", "t", "-t", "web", *extra)
    assert out.exit_code == 2
    assert message in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_time_options_without_time_column(cli, series):
    graph, data, _ = series
    out = cli("explain", "-g", graph, "-d", data, "--split-at", "1000", "-t", "web")
    assert out.exit_code == 2 and "needs --time-column" in out.stderr


def test_lagged_graph_without_time_mode_is_refused(cli, series, tmp_path):
    graph, data, frame = series
    frame[frame.t < 1000].to_csv(tmp_path / "b.csv", index=False)
    frame[frame.t >= 1000].to_csv(tmp_path / "a.csv", index=False)
    out = cli(
        "explain", "-g", graph, "-b", tmp_path / "b.csv", "-a", tmp_path / "a.csv", "-t", "web"
    )
    assert out.exit_code == 2 and "give a time column (--time-column)" in out.stderr


def test_lags_in_every_graph_format(tmp_path):
    files = {
        "g.dot": DOT,
        "g.csv": "cause,effect,lag\ndb,cache,1\ndb,api,2\ncache,api,0\napi,web,\n",
        "g.json": json.dumps(
            {
                "directed": True,
                "nodes": [{"id": n} for n in ("db", "cache", "api", "web")],
                "edges": [
                    {"source": "db", "target": "cache", "lag": 1},
                    {"source": "db", "target": "api", "lag": 2},
                    {"source": "cache", "target": "api"},
                    {"source": "api", "target": "web", "lag": 0},
                ],
            }
        ),
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
        g = load_graph(tmp_path / name)
        assert edge_lags(g, "db", "cache") == (1,) and edge_lags(g, "db", "api") == (2,)
        assert edge_lags(g, "cache", "api") == (0,) and edge_lags(g, "api", "web") == (0,)


def test_lagged_edges_may_point_back_lag_zero_may_not(tmp_path):
    ok = tmp_path / "ok.dot"
    ok.write_text("digraph { a -> b; b -> a [lag=1]; a -> a [lag=2] }")
    g = load_graph(ok)
    assert edge_lags(g, "b", "a") == (1,) and edge_lags(g, "a", "a") == (2,)
    bad = tmp_path / "bad.dot"
    bad.write_text("digraph { a -> b; b -> c; c -> a [lag=0]; c -> a [lag=3] }")
    with pytest.raises(Exception, match="cycle: a -> b -> c -> a"):
        load_graph(bad)
    worse = tmp_path / "worse.csv"
    worse.write_text("cause,effect,lag\na,b,1.5\n")
    with pytest.raises(Exception, match="lag '1.5' is not a whole number"):
        load_graph(worse)


def test_html_report_draws_the_series_with_both_periods(cli, series, tmp_path):
    graph, data, _ = series
    out_file = tmp_path / "r.html"
    args = ["explain", "-g", graph, "-d", data, "--time-column", "t", "--split-at", "1000"]
    out = cli(*args, "-t", "web", "--samples", "2000", "-f", "html", "-o", out_file)
    assert out.exit_code == 0
    page = out_file.read_text()
    assert "<h2>Series</h2>" in page and 'aria-label="web over time"' in page
    assert "<title>before</title>" in page and "<title>after</title>" in page


def test_html_draws_delayed_and_feedback_edges_dashed(cli, tmp_path):
    # a lag-1 edge back from web to db closes a loop a layered layout cannot place
    frame = simulate_series(service_graph(lagged=True), 600, seed=0)
    frame.to_csv(tmp_path / "s.csv", index=False)
    graph = tmp_path / "fb.dot"
    graph.write_text(DOT.replace("api -> web }", "api -> web; web -> db [lag=1] }"))
    out_file = tmp_path / "r.html"
    args = ["explain", "-g", graph, "-d", tmp_path / "s.csv", "--time-column", "t"]
    out = cli(
        *args, "--split-at", "300", "-t", "web", "--samples", "500", "-f", "html", "-o", out_file
    )
    assert out.exit_code == 0, out.stderr
    page = out_file.read_text()
    assert "<title>web -&gt; db at lag 1</title>" in page  # the feedback edge, on top
    assert "<title>db -&gt; api at lag 2</title>" in page  # a delayed edge in the layers
    assert "Dashed edges act with a delay" in page


def test_incident_help_says_end_is_excluded_and_top_limits_the_rows(cli):
    out = " ".join(cli("anomaly", "--help").stdout.split())
    assert "START[/END] of the incident, END excluded" in out
    assert "the rows table lists the highest-scoring max(TOP, 20) rows" in out
