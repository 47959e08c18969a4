"""Every supported graph format yields the same DAG; broken graphs fail with a named reason."""

from __future__ import annotations

import json
import subprocess
import sys

import networkx as nx
import pytest

from causal_attrib.errors import InputError
from causal_attrib.inputs.dot import parse_dot
from causal_attrib.inputs.graphs import load_graph

EDGES = {
    ("Customer DB", "Auth Service"),
    ("Auth Service", "www"),
    ("API", "www"),
    ("www", "Website"),
}


def write_all_formats(tmp_path):
    g = nx.DiGraph(sorted(EDGES))
    files = {}
    files["dot"] = tmp_path / "g.dot"
    files["dot"].write_text(
        "digraph G {\n  rankdir=LR; node [shape=box];\n"
        '  "Customer DB" -> "Auth Service" -> www [color=red];\n'
        "  API -> www; // comment\n  www -> Website;\n}\n"
    )
    files["dagitty"] = tmp_path / "g.dagitty"
    files["dagitty"].write_text(
        'dag {\n"Customer DB" [exposure]\n"Customer DB" -> "Auth Service"\n'
        'www <- "Auth Service"\nAPI -> www -> Website\n}\n'
    )
    files["gml"] = tmp_path / "g.gml"
    nx.write_gml(g, files["gml"])
    files["graphml"] = tmp_path / "g.graphml"
    nx.write_graphml(g, files["graphml"])
    files["json"] = tmp_path / "g.json"
    files["json"].write_text(json.dumps(nx.node_link_data(g, edges="edges")))
    files["edgelist"] = tmp_path / "edges.csv"
    files["edgelist"].write_text("cause,effect\n" + "".join(f'"{u}",{v}\n' for u, v in EDGES))
    files["tsv"] = tmp_path / "edges.tsv"
    files["tsv"].write_text("cause\teffect\n" + "".join(f"{u}\t{v}\n" for u, v in EDGES))
    nodes = sorted(g.nodes)
    adj = nx.to_pandas_adjacency(g, nodelist=nodes, dtype=int)
    files["adjacency"] = tmp_path / "adj.csv"
    adj.to_csv(files["adjacency"])
    return files


def test_all_formats_give_the_same_graph(tmp_path):
    files = write_all_formats(tmp_path)
    for name, path in files.items():
        g = load_graph(path)
        assert set(g.edges) == EDGES, name
        assert set(g.nodes) == {n for e in EDGES for n in e}, name


def test_format_override_and_sniffing(tmp_path):
    path = tmp_path / "graph.txt"
    path.write_text("digraph { a -> b }")
    assert set(load_graph(path).edges) == {("a", "b")}
    assert set(load_graph(path, "dot").edges) == {("a", "b")}
    with pytest.raises(InputError, match="unknown graph format"):
        load_graph(path, "yaml")


@pytest.mark.parametrize(
    "text, message",
    [
        ("digraph { a -> b -> c -> a }", "cycle: a -> b -> c -> a"),
        ("digraph { a -> a }", "self-loop on node 'a'"),
        ("graph { a -- b }", "undirected"),
        ("digraph { a -> b", "expected '}'"),
        ("digraph { a -> }", "line 1: expected a node name"),
        ("dag { a <-> b }", "bidirected"),
        ("digraph { }", "no nodes"),
    ],
)
def test_broken_dot_graphs(tmp_path, text, message):
    path = tmp_path / "g.dot"
    path.write_text(text)
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        load_graph(path)


def test_cycle_is_named_across_formats(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("cause,effect\nx,y\ny,z\nz,x\n")
    with pytest.raises(InputError, match="cycle") as err:
        load_graph(path)
    assert {"x", "y", "z"} <= set(str(err.value).replace(">", " ").split())


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("g.json", "{not json", "not a valid json graph"),
        ("g.graphml", "<graphml><graph", "not a valid graphml graph"),
        ("g.dot", b"\x00\x01\x02garbage", "binary"),
        ("adj.csv", ",a,b\na,0,1\n", "not square"),
        ("adj2.csv", ",a,b\na,0,2\nb,0,0\n", "use 0 or 1"),
        ("g.json", '{"directed": false, "nodes": [], "edges": []}', "directed"),
    ],
)
def test_malformed_files(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(InputError, match=message):
        load_graph(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_graph(tmp_path / "nope.dot")
    with pytest.raises(InputError, match="directory"):
        load_graph(tmp_path)


def test_dot_quoting_and_subgraphs():
    g = parse_dot(
        'digraph { "a \\"quoted\\" name" -> "ünï cødé"; {x y} -> z; subgraph s { p -> q } }'
    )
    assert ('a "quoted" name', "ünï cødé") in g.edges
    assert {("x", "z"), ("y", "z"), ("p", "q")} <= set(g.edges)


def test_subgraph_operand_includes_nodes_seen_before():
    """`{a b} -> c` means a -> c too, even when `a` appeared earlier in the file."""
    g = parse_dot("digraph { x -> a; {a b} -> c; d -> {a c} }")
    assert set(g.edges) == {("x", "a"), ("a", "c"), ("b", "c"), ("d", "a"), ("d", "c")}


def test_undirected_networkx_graph_rejected():
    with pytest.raises(InputError, match="undirected"):
        load_graph(nx.Graph([("a", "b")]))


def test_reverse_flips_edges_and_project_out_keeps_paths():
    import networkx as nx

    from causal_attrib.inputs.graphs import load_graph, project_out

    g = nx.DiGraph([("a", "b"), ("b", "c"), ("x", "b")])
    flipped = load_graph(g, reverse=True)
    assert set(flipped.edges) == {("b", "a"), ("c", "b"), ("b", "x")}
    bypassed = project_out(g, ["b"])
    assert set(bypassed.edges) == {("a", "c"), ("x", "c")}
    assert set(g.edges) == {("a", "b"), ("b", "c"), ("x", "b")}  # the input is untouched


def _within(seconds: float, code: str) -> str:
    """Run ``code`` in a fresh interpreter; fail if it takes longer than ``seconds`` (a
    guard against hangs and quadratic blow-ups, far above the time it needs)."""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=seconds
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_blank_lines_before_a_graph_are_not_quadratic(tmp_path):
    """Sniffing used ^\\s*# with MULTILINE: 200,000 blank lines took about a minute."""
    path = tmp_path / "g.txt"
    path.write_text("\n" * 200_000 + "digraph { a -> b }\n")
    code = f"from causal_attrib import load_graph; print(sorted(load_graph({str(path)!r}).edges))"
    assert _within(20, code).strip() == "[('a', 'b')]"


def test_a_csv_field_past_the_csv_limit_is_an_input_error(tmp_path):
    """The csv module's 128 KB field limit ended in exit 3."""
    path = tmp_path / "g.csv"
    path.write_text("cause,effect\n" + "a" * 200_000 + ",b\n")
    with pytest.raises(InputError, match="not a readable CSV: field larger than field limit"):
        load_graph(path)


def test_html_labels_and_ports_are_valid_dot():
    """`a [label=<<b>A</b>>]` and `a:p1:n -> b` were refused."""
    graph = parse_dot("digraph { a [label=<<b>A</b> &amp; <i>x</i>>]; a:p1:n -> b:w; b -> c }")
    assert sorted(graph.edges) == [("a", "b"), ("b", "c")]
    with pytest.raises(InputError, match="HTML label"):
        parse_dot("digraph { a [label=<<b>A</b>] }")


@pytest.mark.parametrize(
    "text",
    [
        "digraph { a -> b [dir=both] }",
        'digraph { a -> b [color=red, dir="none"] }',
        "digraph { edge [dir=none]; a -> b }",
    ],
)
def test_edges_drawn_without_a_direction_are_refused(text):
    """[dir=both] and [dir=none] were read as directed edges."""
    with pytest.raises(InputError, match="is not a directed edge"):
        parse_dot(text)


@pytest.mark.parametrize("flag", [0, None, ""])
def test_a_json_graph_that_says_it_is_not_directed_is_refused(tmp_path, flag):
    """`"directed": 0` was read as directed (only false was caught)."""
    path = tmp_path / "g.json"
    graph = {"directed": flag, "nodes": [{"id": "a"}, {"id": "b"}], "links": []}
    path.write_text(json.dumps({**graph, "links": [{"source": "a", "target": "b"}]}))
    with pytest.raises(InputError, match="needs directed edges"):
        load_graph(path)
