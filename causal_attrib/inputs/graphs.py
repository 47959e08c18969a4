"""Loading causal graphs from the formats people keep them in, and checking they are DAGs.

Supported: DOT (``.dot``/``.gv``), dagitty's ``dag { a -> b }`` text, GML, GraphML,
networkx node-link JSON, an edge-list CSV/TSV (``cause,effect`` columns) and a square 0/1
adjacency-matrix CSV (row = cause, column = effect). DOT and dagitty are read by our own
parser (:mod:`causal_attrib.inputs.dot`).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np

from ..choices import GraphFormat, values
from ..errors import InputError, InputTypeError
from .dot import parse_dot, strip_comments
from .edges import REPEATED, add_edges
from .lags import LAGS, contemporaneous, copy_lags, is_temporal, parse_lag
from .names import closest, describe_nodes
from .streams import read_stdin

_EXTENSIONS = {
    ".dot": "dot",
    ".gv": "dot",
    ".dagitty": "dagitty",
    ".gml": "gml",
    ".graphml": "graphml",
    ".xml": "graphml",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": None,
}


_EDGE_COLUMNS = (("cause", "effect"), ("source", "target"), ("from", "to"), ("parent", "child"))


MAX_GRAPH_BYTES = 50_000_000


@dataclass(frozen=True)
class LoadedGraph:
    """A causal graph and what its loader noticed (edges listed twice), for the notes of
    the analysis that uses it."""

    graph: nx.DiGraph
    notes: tuple[str, ...] = ()


def read_graph(
    source: str | Path | nx.DiGraph | LoadedGraph,
    graph_format: str | None = None,
    reverse: bool = False,
    validate: bool = True,
) -> LoadedGraph:
    """Read a causal DAG from a file (``"-"`` for stdin), with what the loader noticed.

    Parameters
    ----------
    source
        Path, ``"-"`` for standard input, an existing ``networkx.DiGraph``, a graph read
        before (its notes are kept), or a ``dowhy.gcm`` causal model (its graph).
    graph_format
        A :class:`~causal_attrib.choices.GraphFormat`; by default taken from the extension,
        else sniffed.
    reverse
        Flip every edge. Call graphs point from caller to callee, while latency and errors
        flow from callee to caller, so a call graph is the causal graph reversed.
    validate
        Reject cycles and self-loops. ``check`` turns this off to report them as findings
        instead; an empty graph is rejected either way.

    Returns
    -------
    LoadedGraph
        A validated DAG whose node names are strings, and notes for the user.

    Raises
    ------
    InputError
        When the file cannot be read or parsed, or the graph is not a non-empty DAG.
    """
    if isinstance(source, LoadedGraph):
        return LoadedGraph(_finish(source.graph, reverse, validate), source.notes)
    if _is_dowhy_model(source):  # a dowhy.gcm causal model: its graph
        return LoadedGraph(_finish(_directed_copy(source.graph, "DoWhy"), reverse, validate))
    if isinstance(source, nx.Graph):
        return LoadedGraph(_finish(_directed_copy(source, "networkx"), reverse, validate))
    if not isinstance(source, str | Path):
        raise InputTypeError(
            f"graph must be a file path, '-', a networkx DiGraph or a graph from read_graph, "
            f"not {type(source).__name__}",
            parameter="graph",
        )
    name = str(source)
    text = _read_text(name)
    fmt = graph_format or _format_from_name(name) or _sniff(text)
    guessed = graph_format is None and fmt != _format_from_name(name)
    if fmt == "csv":
        fmt = _sniff_csv(text)
    if fmt not in values(GraphFormat):
        raise InputError(
            f"unknown graph format {fmt!r}: use one of {', '.join(values(GraphFormat))} "
            "(--graph-format)"
        )
    parser = {
        "dot": parse_dot,
        "dagitty": parse_dot,
        "gml": _parse_gml,
        "graphml": _parse_graphml,
        "json": _parse_json,
        "edgelist": _parse_edgelist,
        "adjacency": _parse_adjacency,
    }[fmt]
    how = f" (read as {fmt}, guessed from the content; set --graph-format)" if guessed else ""
    try:
        graph = parser(text)
    except InputError as exc:
        raise InputError(f"{_label(name)}: {exc}{how}") from None
    except Exception as exc:  # third-party parsers raise many types; all mean "malformed"
        raise InputError(
            f"{_label(name)}: not a valid {fmt} graph ({_first_line(exc)}){how}"
        ) from None
    repeated = graph.graph.pop(REPEATED, [])
    notes: tuple[str, ...] = ()
    if repeated:
        listed = describe_nodes((f"{u} -> {v}" for u, v in repeated), limit=5)
        notes = (f"the graph lists {len(repeated)} edge(s) more than once, kept once: {listed}",)
    return LoadedGraph(_finish(graph, reverse, validate), notes)


def load_graph(
    source: str | Path | nx.DiGraph | LoadedGraph,
    graph_format: str | None = None,
    reverse: bool = False,
    validate: bool = True,
) -> nx.DiGraph:
    """The graph of :func:`read_graph` alone (for notebooks that need no notes)."""
    return read_graph(source, graph_format, reverse, validate).graph


def _finish(graph: nx.DiGraph, reverse: bool, validate: bool) -> nx.DiGraph:
    graph = graph.reverse(copy=True) if reverse else graph
    if validate:
        return validate_dag(graph)
    if graph.number_of_nodes() == 0:
        raise InputError("the graph has no nodes")
    return graph


def project_out(graph: nx.DiGraph, nodes: Iterable[str]) -> nx.DiGraph:
    """Remove ``nodes``, wiring each one's parents to its children.

    This keeps every causal path between the remaining nodes (a node that is never measured
    still transmits effects), so ancestors stay ancestors.
    """
    out = graph.copy()
    for node in nodes:
        parents, children = list(out.predecessors(node)), list(out.successors(node))
        out.add_edges_from((p, c) for p in parents for c in children)
        out.remove_node(node)
    return out


def validate_dag(graph: nx.DiGraph) -> nx.DiGraph:
    """Reject empty graphs, self-loops and cycles with a message that names the culprit.

    In a temporal graph only the lag-0 edges must form a DAG: lagged edges may point back
    (feedback over time) and a node may depend on its own past."""
    if graph.number_of_nodes() == 0:
        raise InputError("the graph has no nodes")
    problem = dag_problem(contemporaneous(graph) if is_temporal(graph) else graph)
    if problem:
        raise InputError(problem)
    return graph


def dag_cycle(graph: nx.DiGraph) -> tuple[str, ...]:
    """The nodes of a self-loop or of one cycle, in order (empty for a DAG)."""
    loops = sorted(u for u, v in nx.selfloop_edges(graph))
    if loops:
        return (loops[0],)
    if not nx.is_directed_acyclic_graph(graph):
        return tuple(u for u, _ in nx.find_cycle(graph))
    return ()


def dag_problem(graph: nx.DiGraph) -> str | None:
    """Why ``graph`` is not a DAG (naming the self-loop or one cycle), or ``None``."""
    cycle = dag_cycle(graph)
    if len(cycle) == 1:
        return f"self-loop on node {cycle[0]!r}: a variable cannot cause itself"
    if cycle:
        return f"the graph has a cycle: {' -> '.join([*cycle, cycle[0]])}"
    return None


def require_node(graph: nx.DiGraph, name: str, role: str = "target") -> None:
    """Fail unless ``name`` is a node, suggesting the node the user probably meant."""
    if name in graph:
        return
    hint = closest(name, graph.nodes)
    raise InputError(f"{role} {name!r} is not a node of the graph{hint}")


def _label(name: str) -> str:
    return "graph (stdin)" if name == "-" else f"graph {name}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def _read_text(name: str) -> str:

    try:
        if name == "-":
            raw = read_stdin("--graph", MAX_GRAPH_BYTES)
        else:
            path = Path(name)
            if path.is_dir():
                raise InputError(f"graph {name} is a directory, not a file")
            with path.open("rb") as fh:
                raw = fh.read(MAX_GRAPH_BYTES + 1)
    except FileNotFoundError:
        raise InputError(f"graph file not found: {name}") from None
    except PermissionError:
        raise InputError(f"graph file is not readable (permission denied): {name}") from None
    except OSError as exc:
        raise InputError(f"cannot read graph {name}: {exc.strerror or exc}") from None
    if len(raw) > MAX_GRAPH_BYTES:
        raise InputError(f"{_label(name)} is larger than {MAX_GRAPH_BYTES // 1_000_000} MB")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{_label(name)} is not UTF-8 text") from None
    if "\x00" in text:
        raise InputError(f"{_label(name)} looks binary, not a graph file")
    return text


def _format_from_name(name: str) -> str | None:
    return _EXTENSIONS.get(Path(name).suffix.lower()) if name != "-" else None


def _sniff(text: str) -> str:
    head = strip_comments(text).lstrip()[:200].lower()
    if re.match(r"(p?dag|mag|pag)\s*\{", head):
        return "dagitty"
    if re.match(r"(strict\s+)?(di)?graph\b[^\[]*\{", head):
        return "dot"
    if head.startswith("graph") and "[" in head:
        return "gml"
    if head.startswith("<"):
        return "graphml"
    if head.startswith("{"):
        return "json"
    return "csv"


def _sniff_csv(text: str) -> str:
    rows = _csv_rows(text)
    if not rows:
        raise InputError("the graph file is empty")
    header = [h.strip().lower() for h in rows[0]]
    if any(c in header and e in header for c, e in _EDGE_COLUMNS):
        return "edgelist"
    return "adjacency"


def _csv_rows(text: str) -> list[list[str]]:
    sample = text[:4096]
    delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
    try:
        return [row for row in csv.reader(io.StringIO(text), delimiter=delimiter) if any(row)]
    except csv.Error as exc:  # e.g. a field past the csv module's 128 KB limit
        raise InputError(f"the graph file is not a readable CSV: {exc}") from None


def _parse_edgelist(text: str) -> nx.DiGraph:
    rows = _csv_rows(text)
    if not rows:
        raise InputError("the edge list is empty")
    header = [h.strip().lower() for h in rows[0]]
    for cause, effect in _EDGE_COLUMNS:
        if cause in header and effect in header:
            i, j = header.index(cause), header.index(effect)
            body = rows[1:]
            break
    else:
        raise InputError("an edge-list CSV needs 'cause' and 'effect' columns")
    k = header.index("lag") if "lag" in header else None
    graph = nx.DiGraph()
    for lineno, row in enumerate(body, start=2):
        if len(row) <= max(i, j):
            raise InputError(
                f"edge list row {lineno} has {len(row)} fields, expected cause and effect"
            )
        u, v = row[i].strip(), row[j].strip()
        if not u:
            raise InputError(f"edge list row {lineno} has an empty cause")
        if v:
            lag = parse_lag(row[k] if k is not None and k < len(row) else "", f"row {lineno}")
            add_edges(graph, [(u, v)], lag)
        else:
            graph.add_node(u)  # a row with only a cause declares an isolated node
    return graph


def _parse_adjacency(text: str) -> nx.DiGraph:
    rows = _csv_rows(text)
    if not rows:
        raise InputError("the adjacency matrix is empty")
    header = [h.strip() for h in rows[0]]
    body = rows[1:]
    labelled_rows = len(header) == len(body) + 1
    names = header[1:] if labelled_rows else header
    if len(body) != len(names) or not names:
        raise InputError(
            f"adjacency matrix is not square: {len(names)} columns but {len(body)} rows "
            "(for an edge list, name the columns 'cause' and 'effect')"
        )
    graph = nx.DiGraph()
    graph.add_nodes_from(names)
    for r, row in enumerate(body):
        cells = row[1:] if labelled_rows else row
        source = row[0].strip() if labelled_rows else names[r]
        if labelled_rows and source != names[r]:
            raise InputError(
                f"adjacency matrix row {r + 2} is labelled {source!r} but column {r + 1} "
                f"is {names[r]!r}: rows and columns must list the nodes in the same order "
                "(for an edge list, name the columns 'cause' and 'effect')"
            )
        if len(cells) != len(names):
            raise InputError(
                f"adjacency matrix row {r + 2} has {len(cells)} cells, expected {len(names)}"
            )
        for c, cell in enumerate(cells):
            value = cell.strip()
            if value in ("", "0", "0.0", "False", "false"):
                continue
            if value not in ("1", "1.0", "True", "true"):
                raise InputError(
                    f"adjacency matrix cell ({source!r}, {names[c]!r}) is {value!r}; use 0 or 1"
                )
            graph.add_edge(source, names[c])
    return graph


def _parse_gml(text: str) -> nx.DiGraph:
    try:
        graph = nx.parse_gml(text, label="label")
    except nx.NetworkXError:
        graph = nx.parse_gml(text, label="id")
    return _directed_copy(graph, "GML")


def _parse_graphml(text: str) -> nx.DiGraph:
    if "<!ENTITY" in text or "<!DOCTYPE" in text:
        raise InputError("GraphML with a DOCTYPE or entity declarations is not accepted")
    graph = nx.parse_graphml(text)
    return _directed_copy(graph, "GraphML")


def _parse_json(text: str) -> nx.DiGraph:
    data = json.loads(text)
    if not isinstance(data, dict) or "nodes" not in data:
        raise InputError("JSON graphs must be networkx node-link objects with 'nodes' and 'edges'")
    edges_key = "edges" if "edges" in data else "links"
    if "directed" in data and not data["directed"]:  # false, 0, null, "": not directed
        raise InputError(
            f"the JSON graph says directed: {json.dumps(data['directed'])}; a causal graph "
            "needs directed edges"
        )
    data = {**data, "directed": True, "multigraph": False}
    graph = _directed_copy(nx.node_link_graph(data, edges=edges_key), "JSON")
    links = data.get(edges_key) or []
    copy_lags(links, graph, "JSON")
    keys = [
        (str(e.get("source")), str(e.get("target")), str(e.get("lag") or 0))
        for e in links
        if isinstance(e, dict)
    ]
    seen: set[tuple[str, str, str]] = set()
    for key in keys:
        if key in seen:
            graph.graph.setdefault(REPEATED, []).append(key[:2])
        seen.add(key)
    return graph


def _is_dowhy_model(source: object) -> bool:
    """Whether ``source`` is a ``dowhy.gcm`` causal model (known without importing DoWhy)."""
    module = type(source).__module__
    return module.startswith("dowhy.") and isinstance(getattr(source, "graph", None), nx.Graph)


def _directed_copy(graph: nx.Graph, kind: str) -> nx.DiGraph:
    """``graph`` with string node names and every edge's lags; a multigraph's parallel
    edges between one pair are one edge with all their lags (an edge without a lag is lag
    0). Nodes whose names collide as strings (``1`` and ``"1"``) and labels that are not
    names (tuples, ``None``) are refused, never merged or mangled."""
    if not graph.is_directed():
        raise InputError(f"the {kind} graph is undirected: a causal graph needs directed edges")
    names = {node: _node_name(node, kind) for node in graph.nodes}
    if len(set(names.values())) < len(names):
        seen: dict[str, object] = {}
        for node, name in names.items():
            if name in seen:
                raise InputError(
                    f"the {kind} graph has nodes {seen[name]!r} and {node!r}, both named "
                    f"{name!r} as text; rename one",
                    parameter="graph",
                )
            seen[name] = node
    out = nx.DiGraph()
    out.add_nodes_from(names.values())
    found: dict[tuple[str, str], set[int]] = {}
    for u, v, attrs in graph.edges(data=True):
        pair = (names[u], names[v])
        out.add_edge(*pair)
        given = attrs.get(LAGS, attrs.get("lag"))
        listed = given if isinstance(given, list | tuple | set | frozenset) else [given]
        where = f"{kind} edge {pair[0]} -> {pair[1]}"
        found.setdefault(pair, set()).update(parse_lag(k, where) for k in listed)
    for pair, lags in found.items():
        if lags != {0}:
            out.edges[pair][LAGS] = tuple(sorted(lags))
    return out


def _node_name(node: object, kind: str) -> str:
    """A node's name as text: strings as they are, whole numbers written out."""
    if isinstance(node, str):
        return node
    if isinstance(node, int | np.integer) and not isinstance(node, bool):
        return str(int(node))
    raise InputTypeError(
        f"the {kind} graph has a node labelled {node!r} ({type(node).__name__}); node labels "
        "must be names (strings, or whole numbers)",
        parameter="graph",
    )
