"""Loading causal graphs from the formats people keep them in, and checking they are DAGs.

Supported: DOT (``.dot``/``.gv``), dagitty's ``dag { a -> b }`` text, GML, GraphML,
networkx node-link JSON, an edge-list CSV/TSV (``cause,effect`` columns) and a square 0/1
adjacency-matrix CSV (row = cause, column = effect). DOT and dagitty are read by a small
parser of our own: it never executes anything and fails with a line number, not a traceback.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from pathlib import Path

import networkx as nx

from .exit_codes import InputError

GRAPH_FORMATS = ("dot", "dagitty", "gml", "graphml", "json", "edgelist", "adjacency")
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


def load_graph(
    source: str | Path | nx.DiGraph,
    graph_format: str | None = None,
    reverse: bool = False,
    validate: bool = True,
) -> nx.DiGraph:
    """Read a causal DAG from a file (``"-"`` for stdin) or accept a ``networkx.DiGraph``.

    Parameters
    ----------
    source
        Path, ``"-"`` for standard input, or an existing ``networkx.DiGraph``.
    graph_format
        One of :data:`GRAPH_FORMATS`; by default taken from the extension or sniffed.
    reverse
        Flip every edge. Call graphs point from caller to callee, while latency and errors
        flow from callee to caller, so a call graph is the causal graph reversed.
    validate
        Reject cycles and self-loops. ``check`` turns this off to report them as findings
        instead; an empty graph is rejected either way.

    Returns
    -------
    networkx.DiGraph
        A validated DAG whose node names are strings.

    Raises
    ------
    InputError
        When the file cannot be read or parsed, or the graph is not a non-empty DAG.
    """
    if isinstance(source, nx.Graph):
        graph = _directed_copy(source, "networkx")
        return _finish(graph, reverse, validate)
    name = str(source)
    text = _read_text(name)
    fmt = graph_format or _format_from_name(name) or _sniff(text)
    guessed = graph_format is None and fmt != _format_from_name(name)
    if fmt == "csv":
        fmt = _sniff_csv(text)
    if fmt not in GRAPH_FORMATS:
        raise InputError(
            f"unknown graph format {fmt!r}: use one of {', '.join(GRAPH_FORMATS)} (--graph-format)"
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
    repeated = graph.graph.pop("repeated", [])
    if repeated:
        listed = describe_nodes((f"{u} -> {v}" for u, v in repeated), limit=5)
        graph.graph["notes"] = [
            f"the graph lists {len(repeated)} edge(s) more than once, kept once: {listed}"
        ]
    return _finish(graph, reverse, validate)


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
    """Reject empty graphs, self-loops and cycles with a message that names the culprit."""
    if graph.number_of_nodes() == 0:
        raise InputError("the graph has no nodes")
    problem = dag_problem(graph)
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


def _label(name: str) -> str:
    return "graph (stdin)" if name == "-" else f"graph {name}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def _read_text(name: str) -> str:
    import sys

    try:
        if name == "-":
            raw = sys.stdin.buffer.read(MAX_GRAPH_BYTES + 1)
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
    head = _strip_comments(text).lstrip()[:200].lower()
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
    return [row for row in csv.reader(io.StringIO(text), delimiter=delimiter) if any(row)]


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
            _add_edges(graph, [(u, v)])
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
    if data.get("directed") is False:
        raise InputError("the JSON graph says directed: false; a causal graph needs directed edges")
    data = {**data, "directed": True, "multigraph": False}
    graph = _directed_copy(nx.node_link_graph(data, edges=edges_key), "JSON")
    links = data.get(edges_key) or []
    pairs = [(str(e.get("source")), str(e.get("target"))) for e in links if isinstance(e, dict)]
    seen: set[tuple[str, str]] = set()
    for pair in pairs:
        if pair in seen:
            graph.graph.setdefault("repeated", []).append(pair)
        seen.add(pair)
    return graph


def _add_edges(graph: nx.DiGraph, pairs: Iterable[tuple[str, str]]) -> None:
    """Add edges, remembering the ones already present (reported as a note, not an error)."""
    for u, v in pairs:
        if graph.has_edge(u, v):
            graph.graph.setdefault("repeated", []).append((u, v))
        graph.add_edge(u, v)


def _directed_copy(graph: nx.Graph, kind: str) -> nx.DiGraph:
    if not graph.is_directed():
        raise InputError(f"the {kind} graph is undirected: a causal graph needs directed edges")
    out = nx.DiGraph()
    if graph.graph.get("notes"):  # a graph we loaded before keeps what its loader noticed
        out.graph["notes"] = list(graph.graph["notes"])
    out.add_nodes_from(str(n) for n in graph.nodes)
    out.add_edges_from((str(u), str(v)) for u, v in graph.edges())
    return out


# --- DOT and dagitty -------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>//[^\n]*|\#[^\n]*|/\*.*?\*/)
  | (?P<arrow><->|->|<-|--)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<html><[^<>]*>)
  | (?P<id>-?\d+(?:\.\d+)?|[\w.]+)
  | (?P<punct>[\[\]{};,=:])
    """,
    re.VERBOSE | re.DOTALL,
)
_KEYWORDS = {"strict", "graph", "digraph", "node", "edge", "subgraph", "dag", "pdag", "mag", "pag"}
MAX_DOT_TOKENS = 2_000_000


def _strip_comments(text: str) -> str:
    return re.sub(r"//[^\n]*|/\*.*?\*/|^\s*#[^\n]*", "", text, flags=re.DOTALL | re.MULTILINE)


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens: list[tuple[str, str, int]] = []
    pos, line = 0, 1
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise InputError(f"line {line}: unexpected character {text[pos]!r}")
        kind = m.lastgroup or ""
        value = m.group()
        if kind == "string":
            tokens.append(("id", _unescape(value[1:-1]), line))
        elif kind == "html":
            tokens.append(("id", value[1:-1], line))
        elif kind == "id":
            tokens.append(("id" if value.lower() not in _KEYWORDS else value.lower(), value, line))
        elif kind in ("arrow", "punct"):
            tokens.append((value, value, line))
        line += value.count("\n")
        pos = m.end()
        if len(tokens) > MAX_DOT_TOKENS:
            raise InputError("the graph file has too many tokens")
    return tokens


def _unescape(s: str) -> str:
    return re.sub(r'\\(["\\])', r"\1", s).replace("\\\n", "")


class _DotParser:
    """Recursive-descent parser for the DOT subset used for causal graphs, and for dagitty."""

    def __init__(self, tokens: list[tuple[str, str, int]]):
        self.tokens = tokens
        self.i = 0
        self.graph = nx.DiGraph()
        self.mentioned: list[list[str]] = []  # one list per open subgraph, innermost last

    def peek(self, k: int = 0) -> str | None:
        j = self.i + k
        return self.tokens[j][0] if j < len(self.tokens) else None

    def line(self) -> int:
        if self.i < len(self.tokens):
            return self.tokens[self.i][2]
        return self.tokens[-1][2] if self.tokens else 1

    def expect(self, kind: str) -> str:
        if self.peek() != kind:
            got = "end of file" if self.peek() is None else repr(self.tokens[self.i][1])
            wanted = "a node name" if kind == "id" else repr(kind)
            raise InputError(f"line {self.line()}: expected {wanted}, found {got}")
        value = self.tokens[self.i][1]
        self.i += 1
        return value

    def parse(self) -> nx.DiGraph:
        if self.peek() == "strict":
            self.i += 1
        head = self.peek()
        if head == "graph":
            raise InputError("the DOT graph is undirected ('graph'); use 'digraph' with '->' edges")
        if head in ("pdag", "mag", "pag"):
            raise InputError(f"dagitty '{head}' graphs are not DAGs; use 'dag {{ ... }}'")
        if head not in ("digraph", "dag"):
            raise InputError(f"line {self.line()}: expected 'digraph' or 'dag' at the start")
        self.i += 1
        if self.peek() == "id":
            self.i += 1
        self.expect("{")
        self.statements()
        self.expect("}")
        if self.peek() is not None:
            raise InputError(f"line {self.line()}: unexpected text after the closing '}}'")
        return self.graph

    def statements(self) -> None:
        while self.peek() not in ("}", None):
            if self.peek() in (";", ","):
                self.i += 1
                continue
            self.statement()

    def statement(self) -> None:
        kind = self.peek()
        if kind in ("graph", "node", "edge") and self.peek(1) == "[":
            self.i += 1
            self.attributes()
            return
        if kind == "id" and self.peek(1) == "=":
            self.i += 3  # graph attribute a = b
            return
        left = self.operand()
        if self.peek() not in ("->", "<-", "--", "<->"):
            if self.peek() == "[":
                self.attributes()
            return
        while self.peek() in ("->", "<-", "--", "<->"):
            arrow = self.tokens[self.i][1]
            if arrow == "--":
                raise InputError(f"line {self.line()}: undirected edge '--'; use '->'")
            if arrow == "<->":
                raise InputError(
                    f"line {self.line()}: bidirected edge '<->' (a latent confounder) is not "
                    "supported; model the confounder as a node or drop the edge"
                )
            self.i += 1
            right = self.operand()
            pairs = (
                ((u, v) for u in left for v in right)
                if arrow == "->"
                else ((v, u) for u in left for v in right)
            )
            _add_edges(self.graph, pairs)
            left = right
        if self.peek() == "[":
            self.attributes()

    def operand(self) -> list[str]:
        if self.peek() == "subgraph":
            self.i += 1
            if self.peek() == "id":
                self.i += 1
        if self.peek() == "{":
            if len(self.mentioned) >= 100:
                raise InputError(f"line {self.line()}: subgraphs nested more than 100 deep")
            self.i += 1
            self.mentioned.append([])
            self.statements()
            self.expect("}")
            return list(dict.fromkeys(self.mentioned.pop()))  # every node named inside
        name = self.expect("id")
        if self.peek() == ":":  # port, ignored
            self.i += 2
        self.graph.add_node(name)
        for names in self.mentioned:
            names.append(name)
        return [name]

    def attributes(self) -> None:
        while self.peek() == "[":
            self.i += 1
            while self.peek() not in ("]", None):
                self.i += 1
            self.expect("]")


def parse_dot(text: str) -> nx.DiGraph:
    """Parse DOT (``digraph { a -> b }``) or dagitty (``dag { a -> b }``) text into a DiGraph."""
    tokens = _tokenize(text)
    if not tokens:
        raise InputError("the graph file is empty")
    return _DotParser(tokens).parse()


def require_node(graph: nx.DiGraph, name: str, role: str = "target") -> None:
    """Fail unless ``name`` is a node, suggesting the node the user probably meant."""
    if name in graph:
        return
    hint = closest(name, graph.nodes)
    raise InputError(f"{role} {name!r} is not a node of the graph{hint}")


def closest(name: str, candidates: Iterable[str]) -> str:
    """``" (did you mean 'x'?)"`` for a near miss among ``candidates``, else ``""``.

    Near misses are names equal up to case and surrounding whitespace, then close
    spellings; exported spreadsheets and hand-written graphs differ in exactly these ways.
    """
    import difflib

    candidates = [str(c) for c in candidates if str(c) != name]
    folded = name.strip().casefold()
    same = sorted(c for c in candidates if c.strip().casefold() == folded)
    near = same or difflib.get_close_matches(name, candidates, n=1, cutoff=0.75)
    return f" (did you mean {near[0]!r}?)" if near else ""


def graph_notes(graph: nx.DiGraph) -> tuple[str, ...]:
    """Notes the loader left on the graph (e.g. repeated edges), for the result's notes."""
    return tuple(graph.graph.get("notes", ()))


def describe_nodes(nodes: Iterable[str], limit: int = 10) -> str:
    """Render a node list for an error message, shortened when long."""
    nodes = list(nodes)
    shown = ", ".join(repr(n) for n in nodes[:limit])
    return shown + (f" and {len(nodes) - limit} more" if len(nodes) > limit else "")
