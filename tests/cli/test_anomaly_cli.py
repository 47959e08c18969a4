"""`causal-attrib anomaly` as users and CI scripts see it: output, exit codes, errors."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from conftest import SAMPLE

from causal_attrib import attribute_anomalies
from causal_attrib.schemas import load_schema

GRAPH = SAMPLE / "shop" / "graph.dot"
REFERENCE = SAMPLE / "shop" / "before.csv"
INCIDENT = SAMPLE / "shop" / "incident.csv"
ARGS = ["anomaly", "-g", GRAPH, "-r", REFERENCE, "-a", INCIDENT, "-t", "frontend"]


def test_sample_incident_finds_the_planted_cause_and_json_equals_api(cli):
    out = cli(*ARGS, "--id-column", "time", "--format", "json")
    assert out.exit_code == 0, out.stderr
    report = json.loads(out.stdout)
    api = attribute_anomalies(GRAPH, REFERENCE, INCIDENT, "frontend", id_column="time")
    assert report == api.to_dict()
    assert report["anomalous_rows"] == ["14:10", "14:15", "14:20"]  # the planted lock
    assert report["causes"][0]["node"] == "inventory_db"
    for row in report["anomalies"]:
        assert (row["root_causes"] != []) == row["anomalous"]


def test_sampled_rows_report_their_errors_in_schema(cli):
    # issue 22: rows with more players than --permutations allows sample orderings and
    # report each contribution's standard error; with a single pair there is no spread to
    # estimate it from, and the JSON says null (it said nothing the schema allowed)
    for permutations, known in (("120", True), ("2", False)):
        out = cli(*ARGS, "--permutations", permutations, "--format", "json")  # validated
        assert out.exit_code == 0, out.stderr
        causes = [c for row in json.loads(out.stdout)["anomalies"] for c in row["root_causes"]]
        assert causes and all("standard_error" in c for c in causes)
        assert all((c["standard_error"] is not None) == known for c in causes)


def test_fail_on_anomaly_exit_codes(cli, tmp_path):
    assert cli(*ARGS, "--fail-on-anomaly", "-q").exit_code == 1
    calm = tmp_path / "calm.csv"
    pd.read_csv(INCIDENT).iloc[[0, 1, 5]].to_csv(calm, index=False)
    out = cli(
        "anomaly",
        "-g",
        GRAPH,
        "-r",
        REFERENCE,
        "-a",
        calm,
        "-t",
        "frontend",
        "--fail-on-anomaly",
        "--format",
        "json",
    )
    assert out.exit_code == 0
    report = json.loads(out.stdout)
    assert report["anomalous_rows"] == [] and report["causes_below_threshold"] is True
    assert report["causes"] and "not significantly anomalous" in report["summary"]
    assert not any(row["anomalous"] for row in report["anomalies"])


def test_table_markdown_and_determinism(cli):
    table = cli(*ARGS, "--id-column", "time", "--top", "3")
    assert table.exit_code == 0
    assert table.stdout.startswith("`frontend` is anomalous in 3 of 6 rows")
    assert "inventory_db" in table.stdout
    assert "(8 more node(s), each at most " in table.stdout  # and how large they are
    md = cli(*ARGS, "--format", "markdown", "--seed", "2")
    assert md.stdout.startswith("**`frontend` is anomalous")
    assert "| 1 | `inventory_db` |" in md.stdout
    assert cli(*ARGS, "--format", "markdown", "--seed", "2").stdout == md.stdout
    assert (
        cli(*ARGS, "--format", "json", "--seed", "2").stdout
        == cli(*ARGS, "--format", "json", "--seed", "2").stdout
    )


def test_reverse_reads_a_call_graph(cli, tmp_path):
    """The same graph written caller -> callee, with --reverse, gives the same answer."""
    from causal_attrib.inputs.graphs import load_graph

    calls = tmp_path / "calls.csv"
    g = load_graph(GRAPH)
    pd.DataFrame(list(g.reverse().edges), columns=["source", "target"]).to_csv(calls, index=False)
    normal = cli(*ARGS, "--format", "json")
    flipped = cli(
        "anomaly",
        "-g",
        calls,
        "--reverse",
        "-r",
        REFERENCE,
        "-a",
        INCIDENT,
        "-t",
        "frontend",
        "--format",
        "json",
    )
    assert flipped.exit_code == 0, flipped.stderr
    a, b = json.loads(normal.stdout), json.loads(flipped.stdout)
    assert a["causes"] == b["causes"] and a["anomalies"] == b["anomalies"]


def test_notes_go_to_stderr_and_quiet_silences_them(cli, tmp_path):
    partial = tmp_path / "partial.csv"
    pd.read_csv(INCIDENT).drop(columns=["cache"]).to_csv(partial, index=False)
    args = ["anomaly", "-g", GRAPH, "-r", REFERENCE, "-a", partial, "-t", "frontend"]
    out = cli(*args, "--format", "json")
    assert "note: 1 node(s) are not measured in the anomalous rows" in out.stderr
    assert "'cache'" in out.stderr and "note:" not in out.stdout
    assert all("cache" in r["unmeasured"] for r in json.loads(out.stdout)["anomalies"])
    assert cli(*args, "-q").stderr == ""


@pytest.mark.parametrize(
    "extra,message",
    [
        (["-t", "nope"], "target 'nope' is not a node of the graph"),
        (["--threshold", "-1"], "threshold must be a non-negative number"),
        (["--top", "0"], "--top must be at least 1"),
        (["--samples", "5"], "samples must be at least 100"),
        (["--permutations", "1"], "permutations must be at least 2"),
        (["--id-column", "when"], "--id-column 'when' is not a column of the anomalies table"),
        (["-c", "ghost"], "--categorical names columns that are not graph nodes"),
    ],
)
def test_bad_options_are_one_line_errors(cli, extra, message):
    out = cli(*ARGS, *extra)
    assert out.exit_code == 2
    assert message in out.stderr and out.stderr.count("\n") == 1


def test_bad_inputs_are_one_line_errors(cli, tmp_path):
    no_target = tmp_path / "no_target.csv"
    pd.read_csv(INCIDENT).drop(columns=["frontend"]).to_csv(no_target, index=False)
    out = cli("anomaly", "-g", GRAPH, "-r", REFERENCE, "-a", no_target, "-t", "frontend")
    assert out.exit_code == 2 and "no column for the target 'frontend'" in out.stderr

    tiny = tmp_path / "tiny.csv"
    pd.read_csv(REFERENCE).head(4).to_csv(tiny, index=False)
    out = cli("anomaly", "-g", GRAPH, "-r", tiny, "-a", INCIDENT, "-t", "frontend")
    assert out.exit_code == 2 and "at least 10 normal rows are needed" in out.stderr

    junk = tmp_path / "junk.csv"
    frame = pd.read_csv(INCIDENT).astype({"auth": object})
    frame.loc[3, "auth"] = "n/a ms"
    frame.to_csv(junk, index=False)
    out = cli("anomaly", "-g", GRAPH, "-r", REFERENCE, "-a", junk, "-t", "frontend")
    assert out.exit_code == 2
    assert "column 'auth' of the anomalies data is numeric but data row 4" in out.stderr

    out = cli("anomaly", "-g", GRAPH, "-r", "-", "-a", "-", "-t", "frontend", input="a\n1\n")
    assert out.exit_code == 2 and "only one input can read stdin" in out.stderr

    out = cli(
        "anomaly", "-g", GRAPH, "-r", tmp_path / "missing.csv", "-a", INCIDENT, "-t", "frontend"
    )
    assert out.exit_code == 2 and out.stderr.startswith("error:")


def test_schema_command_prints_the_anomaly_schema(cli):
    out = cli("schema", "anomaly")
    assert out.exit_code == 0
    assert json.loads(out.stdout) == load_schema("anomaly")


def test_blame_shares_agree_across_formats(cli):
    """The same result must give each cause the same share in every format (the Markdown
    once divided by the mean target score instead of the blame total: 141 % against 98 %)."""
    args = [*ARGS, "--id-column", "time", "-q"]
    report = json.loads(cli(*args, "--format", "json").stdout)
    causes = report["causes"]
    blame = sum(c["contribution"] for c in causes if c["contribution"] > 0)
    largest = sorted(causes, key=lambda c: -abs(c["contribution"]))[:3]  # what --top 3 shows
    expected = {c["node"]: f"{c['contribution'] / blame * 100:.0f} %" for c in largest}
    table = cli(*args, "--top", "3").stdout
    markdown = cli(*args, "--format", "markdown", "--top", "3").stdout
    for node, share in expected.items():
        assert re.search(rf"^\s*\d+\s+{node}\s+\S+\s+{share}", table, re.M), (node, table)
        assert re.search(rf"\| `{node}` \| [^|]+ \| {share} \|", markdown), (node, markdown)
    lead = causes[0]["node"]
    headline = f"root cause: `{lead}` ({expected[lead].replace(' %', '')} % of the blame)"
    assert headline in report["summary"]
    assert headline in markdown and headline in table


def test_a_saved_model_scores_the_incident_and_its_json_equals_the_api(cli, tmp_path):
    import causal_attrib as ca

    model_file = tmp_path / "shop.model"
    out = cli("fit", "-g", GRAPH, "-d", REFERENCE, "-o", model_file)
    assert out.exit_code == 0, out.stderr
    assert out.stdout == "" and "saved a model of 11 nodes" in out.stderr
    out = cli("anomaly", "--model", model_file, "-a", INCIDENT, "-t", "frontend",
              "--id-column", "time", "--format", "json")  # fmt: skip
    assert out.exit_code == 0, out.stderr
    report = json.loads(out.stdout)
    api = ca.fit(GRAPH, REFERENCE).anomalies(INCIDENT, "frontend", id_column="time")
    assert report == api.to_dict()
    assert report["causes"][0]["node"] == "inventory_db"  # the planted lock
    assert report["settings"]["fit_on"] == "reference"


@pytest.mark.parametrize(
    "extra, message",
    [
        (["-r", REFERENCE], "--reference does not go with --model"),
        (["-g", GRAPH], "--graph does not go with --model"),
        ([], "--model needs --anomalies"),
        (["--fit-on", "both"], "--fit-on does not go with --model"),  # was silently ignored
        (["--max-rows", "100"], "--max-rows does not go with --model"),
    ],
)
def test_model_option_conflicts_are_one_line_errors(cli, tmp_path, extra, message):
    model_file = tmp_path / "shop.model"
    assert cli("fit", "-g", GRAPH, "-d", REFERENCE, "-o", model_file, "-q").exit_code == 0
    args = ["anomaly", "--model", model_file, "-t", "frontend", *extra]
    if message != "--model needs --anomalies":
        args += ["-a", INCIDENT]
    out = cli(*args)
    assert out.exit_code == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {message}")


def test_a_file_that_is_not_a_model_is_exit_2_with_one_line(cli, tmp_path):
    out = cli("anomaly", "--model", REFERENCE, "-a", INCIDENT, "-t", "frontend")
    assert out.exit_code == 2
    assert len(out.stderr.strip().splitlines()) == 1
    assert "not a causal-attrib model file" in out.stderr


def test_fit_writes_nothing_when_the_directory_is_missing(cli, tmp_path):
    out = cli("fit", "-g", GRAPH, "-d", REFERENCE, "-o", tmp_path / "nope" / "m.model")
    assert out.exit_code == 2 and "does not exist" in out.stderr
    assert not (tmp_path / "nope").exists()
def test_the_chart_and_table_keep_the_largest_causes_in_size_and_name_what_is_hidden():
    """On the bundled sample the bar chart kept the top 10 by signed value and hid
    `payments_db` (-3.82), larger in size than the visible `checkout` (-2.86)."""
    import dataclasses

    from causal_attrib.rendering import render
    from causal_attrib.results.anomaly import RootCause

    result = attribute_anomalies(
        SAMPLE / "shop" / "graph.dot",
        SAMPLE / "shop" / "before.csv",
        SAMPLE / "shop" / "incident.csv",
        "frontend",
        id_column="time",
    )
    causes = (
        RootCause("a", 9.0, 5.0),
        RootCause("b", 1.0, 1.0),
        RootCause("c", 0.5, 1.0),
        RootCause("d", -4.0, 1.0),
    )
    staged = dataclasses.replace(result, causes=causes)
    html = render(staged, "html", top=2)
    chart = html[html.index("Root causes over") :]
    chart = chart[: chart.index("</svg>")]
    assert ">a<" in chart and ">d<" in chart and ">b<" not in chart  # -4 beats +1
    assert "2 more node(s), each at most 1 in size" in html
    table = render(staged, "table", top=2)
    assert "\n    2  d " not in table and "  d  " in table and "  b  " not in table
    assert "2 more node(s), each at most 1 in size" in table


def test_scores_never_read_minus_zero_and_summaries_say_given_once():
    from causal_attrib.rendering.cells import number

    assert number(-0.0) == "0" and number(-1e-9, 3) == "-1e-09" and number(-0.00001) == "-1e-05"
    result = attribute_anomalies(
        SAMPLE / "shop" / "graph.dot",
        SAMPLE / "shop" / "before.csv",
        pd.read_csv(SAMPLE / "shop" / "before.csv").head(40),
        "frontend",
        direction="low",
    )
    import dataclasses

    incident = {"start": "5", "end": "9", "auto": False}
    timed = dataclasses.replace(result, rows=result.rows[:3], time_mode={"incident": incident})
    if not timed.anomalous_rows:
        assert "(as given) given" not in timed.summary
        assert "(as given) (highest" in timed.summary
    assert " -0 " not in render_table(result)


def render_table(result) -> str:
    from causal_attrib.rendering import render

    return render(result, "table") + render(result, "markdown")


def test_a_long_incident_lists_the_highest_scoring_rows_and_says_how_many_more():
    """`--incident START` printed every incident row (200 lines); --top limited only the causes."""
    import dataclasses

    from causal_attrib.rendering import render

    result = attribute_anomalies(
        SAMPLE / "shop" / "graph.dot",
        SAMPLE / "shop" / "before.csv",
        pd.read_csv(SAMPLE / "shop" / "before.csv").head(60),
        "frontend",
    )
    assert len(result.rows) == 60
    table = render(result, "table", top=3)
    listed = [line for line in table.splitlines() if re.match(r"^\d+\s", line)]
    assert len(listed) == 20
    more = len(result.rows) - 20
    assert f"the 20 highest-scoring of {len(result.rows)} rows are listed; {more} more" in table
    html = render(result, "html", top=3)
    assert html.count("<td>yes</td>") + html.count("<td>no</td>") == 20
    big = render(dataclasses.replace(result), "table", top=len(result.rows))
    assert "highest-scoring" not in big


def _lagged_chain(tmp_path):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    a = rng.normal(size=200)
    a[150:153] += 10.0
    b = np.r_[0.0, 0.0, a[:-2]] + rng.normal(size=200)
    frame = pd.DataFrame({"t": np.arange(200), "a": a, "b": b, "c": b + rng.normal(size=200)})
    frame.to_csv(tmp_path / "s.csv", index=False)
    return tmp_path / "s.csv"


@pytest.mark.parametrize(
    "graph, extra, message",
    [
        # a lag as deep as the reference left a node no reference innovation: exit 3 before
        ("digraph { a -> b [lag=100]; b -> c; }", [], "--lags: the reference has 0 row(s)"),
        ("digraph { a -> b; b -> c; }", ["--lags", "100"], "--lags: the reference has 0 row(s)"),
        # options that time mode does not use were silently ignored
        ("digraph { a -> b; b -> c; }", ["--max-rows", "50"], "--max-rows does not go with"),
        ("digraph { a -> b; b -> c; }", ["--attribute", "all"], "--attribute does not go with"),
    ],
)
def test_time_mode_refuses_what_it_cannot_use_with_one_line(cli, tmp_path, graph, extra, message):
    (tmp_path / "g.dot").write_text(graph)
    data = _lagged_chain(tmp_path)
    out = cli("anomaly", "-g", tmp_path / "g.dot", "-d", data, "--time-column", "t", "-t", "c",
              "--incident", "150", "--samples", "200", *extra)  # fmt: skip
    assert out.exit_code == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {message}")
