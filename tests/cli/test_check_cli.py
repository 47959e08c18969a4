"""`causal-attrib check` (and `explain --check`) as users and CI scripts see them."""

from __future__ import annotations

import json

import pytest
from conftest import SAMPLE, SHOP

from causal_attrib import check_graph, explain
from causal_attrib.schemas import load_schema

GRAPH = SAMPLE / "shop" / "graph.dot"
DATA = SAMPLE / "shop" / "before.csv"
ARGS = ["check", "-g", GRAPH, "-d", DATA]


@pytest.fixture
def broken_graph(tmp_path):
    """The shop graph without payments_db -> payments, an edge the data clearly need."""
    text = GRAPH.read_text(encoding="utf-8").replace("payments_db -> payments;", "payments_db;")
    path = tmp_path / "broken.dot"
    path.write_text(text, encoding="utf-8")
    return path


def test_sample_graph_is_consistent_and_json_equals_api(cli):
    out = cli(*ARGS, "-t", "checkout", "--format", "json")
    assert out.exit_code == 0, out.stderr
    report = json.loads(out.stdout)
    assert report == check_graph(GRAPH, DATA, target="checkout").to_dict()
    assert report["verdict"] == "consistent"
    assert report["baseline"]["better_than"] >= 0.95
    # generate.py: frontend = auth + max(catalog, checkout) + noise, and checkout nearly
    # always wins the max, so catalog's edge carries no detectable dependence
    assert [(e["cause"], e["effect"]) for e in report["unsupported_edges"]] == [
        ("catalog", "frontend")
    ]
    idle = {f["kind"]: f["nodes"] for f in report["findings"]}["cannot_influence_target"]
    assert set(idle) == {"cache", "catalog", "catalog_db", "frontend"}


def test_a_missing_edge_fails_the_check_and_is_suggested(cli, broken_graph):
    out = cli("check", "-g", broken_graph, "-d", DATA, "--format", "json")
    assert out.exit_code == 0  # findings alone do not fail the command
    report = json.loads(out.stdout)
    assert report["verdict"] == "violated"
    top = report["violations"][0]
    assert {top["node"], top["other"]} == {"payments_db", "payments"}
    first = report["suggestions"][0]
    assert (first["cause"], first["effect"]) == ("payments_db", "payments")
    assert cli("check", "-g", broken_graph, "-d", DATA, "--fail-on-violation").exit_code == 1
    assert cli(*ARGS, "--fail-on-violation", "-q").exit_code == 0


def test_table_and_markdown_lead_with_the_summary(cli, broken_graph):
    table = cli("check", "-g", broken_graph, "-d", DATA, "--top", "2")
    assert table.exit_code == 0
    assert table.stdout.startswith("The data contradict ")
    assert "Violated implications (strongest first):" in table.stdout
    assert "more in the JSON report" in table.stdout
    assert "add payments_db -> payments" in table.stdout
    md = cli("check", "-g", broken_graph, "-d", DATA, "--format", "markdown")
    assert md.stdout.startswith("**The data contradict ")
    assert "| rank | implication | p-value | q-value |" in md.stdout
    assert "suggestion (not applied): add `payments_db` -> `payments`" in md.stdout


def test_a_cyclic_graph_is_reported_as_invalid(cli, tmp_path):
    cyclic = tmp_path / "cyclic.dot"
    cyclic.write_text("digraph { payments -> checkout; checkout -> payments; }\n")
    out = cli("check", "-g", cyclic, "-d", DATA, "--format", "json")
    assert out.exit_code == 0
    report = json.loads(out.stdout)
    assert report["verdict"] == "invalid"
    assert report["findings"][0]["kind"] == "not_a_dag"
    assert "cycle" in report["summary"]
    assert cli("check", "-g", cyclic, "-d", DATA, "--fail-on-violation").exit_code == 1
    table = cli("check", "-g", cyclic, "-d", DATA)
    assert table.stdout.startswith("The graph is not a DAG")


def test_same_seed_gives_byte_identical_output_and_rows_are_reported(cli):
    one = cli(*ARGS, "--format", "json", "--seed", "7", "--max-rows", "500")
    two = cli(*ARGS, "--format", "json", "--seed", "7", "--max-rows", "500")
    assert one.stdout == two.stdout
    report = json.loads(one.stdout)
    assert report["rows"] == {"total": 2000, "used": 500}
    assert "seeded sample of 500 of 2,000 rows" in one.stderr
    assert json.loads(cli(*ARGS, "--format", "json", "--max-rows", "0").stdout)["rows"] == {
        "total": 2000,
        "used": 2000,
    }


def test_graph_from_stdin(cli):
    out = cli("check", "-g", "-", "-d", DATA, "--format", "json", input=GRAPH.read_text("utf-8"))
    assert out.exit_code == 0
    assert json.loads(out.stdout)["verdict"] == "consistent"


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--alpha", "0"], "--alpha"),
        (["--permutations", "-1"], "--permutations"),
        (["--suggestions", "-1"], "--suggestions"),
        (["--max-rows", "5"], "--max-rows"),
        (["--top", "0"], "--top"),
        (["-t", "nope"], "target 'nope' is not a node"),
        (["-c", "nope"], "--categorical names columns that are not graph nodes"),
    ],
)
def test_bad_options_exit_2_with_one_line(cli, extra, message):
    out = cli(*ARGS, *extra)
    assert out.exit_code == 2
    assert message in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_bad_inputs_exit_2(cli, tmp_path):
    other = tmp_path / "other.csv"
    other.write_text("a,b\n" + "1,2\n" * 20)
    out = cli(*ARGS[:-1], other)
    assert out.exit_code == 2 and "no graph node is a column" in out.stderr
    assert cli(*ARGS[:-1], tmp_path / "missing.csv").exit_code == 2
    out = cli("check", "-g", "-", "-d", "-", input="digraph { a -> b }")
    assert out.exit_code == 2 and "only one input can read stdin" in out.stderr
    tiny = tmp_path / "tiny.csv"
    tiny.write_text(DATA.read_text().splitlines()[0] + "\n" + "1," * 10 + "1\n")
    out = cli(*ARGS[:-1], tiny)
    assert out.exit_code == 2 and "at least 10" in out.stderr


def test_unmeasured_node_is_a_warning_not_an_error(cli, tmp_path):
    lines = DATA.read_text().splitlines()
    header = lines[0].split(",")
    keep = [i for i, c in enumerate(header) if c != "fraud_check"]
    cut = tmp_path / "cut.csv"
    cut.write_text("\n".join(",".join(r.split(",")[i] for i in keep) for r in lines) + "\n")
    out = cli(*ARGS[:-1], cut, "--format", "json")
    assert out.exit_code == 0
    report = json.loads(out.stdout)
    assert report["implications"]["untestable"] > 0
    assert {f["kind"]: f["nodes"] for f in report["findings"]}["unmeasured"] == ["fraud_check"]


def test_explain_check_nests_the_graph_check(cli, validators):
    graph, before, after = SHOP
    args = ["explain", "-g", graph, "-b", before, "-a", after, "-t", "checkout", "--check"]
    out = cli(*args, "--format", "json")
    assert out.exit_code == 0, out.stderr
    report = json.loads(out.stdout)
    api = explain(graph, before, after, "checkout", check=True)
    assert report == api.to_dict()
    assert report["graph_check"]["verdict"] == "consistent"
    assert report["graph_check"]["rows"]["used"] == report["rows"]["before"]
    plain = cli(*args[:-1], "--format", "json")
    assert "graph_check" not in json.loads(plain.stdout)
    table = cli(*args)
    assert "Graph check (consistent): No implication of the graph is violated" in table.stdout


def test_schema_command_prints_the_check_schema(cli):
    out = cli("schema", "check")
    assert out.exit_code == 0
    assert json.loads(out.stdout) == load_schema("check")
