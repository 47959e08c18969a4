"""A parser of our own for DOT and dagitty text: it never executes anything and fails with a
line number, not a traceback."""

from __future__ import annotations

import re

import networkx as nx

from ..errors import InputError
from .edges import add_edges
from .lags import parse_lag

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>//[^\n]*|\#[^\n]*|/\*.*?\*/)
  | (?P<arrow><->|->|<-|--)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<id>-?(?:\d+\.?|\.\d)[\w.]*(?:(?<=[eE])[-+]\d+)?|[\w.]+)
  | (?P<punct>[\[\]{};,=:])
    """,
    re.VERBOSE | re.DOTALL,
)


_KEYWORDS = {"strict", "graph", "digraph", "node", "edge", "subgraph", "dag", "pdag", "mag", "pag"}


MAX_DOT_TOKENS = 2_000_000


def strip_comments(text: str) -> str:
    """The text without DOT comments (`//`, `/* */`, and `#` lines)."""
    # [ \t]*, not \s*: \s would run over every blank line from every line start (quadratic)
    return re.sub(r"//[^\n]*|/\*.*?\*/|^[ \t]*#[^\n]*", "", text, flags=re.DOTALL | re.MULTILINE)


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens: list[tuple[str, str, int]] = []
    pos, line = 0, 1
    while pos < len(text):
        if text[pos] == "<" and not text.startswith(("<-", "<->"), pos):
            end = _html_end(text, pos, line)  # an HTML string: <...> with nested <...>
            tokens.append(("id", text[pos + 1 : end - 1], line))
            line += text.count("\n", pos, end)
            pos = end
            continue
        m = _TOKEN.match(text, pos)
        if m is None:
            raise InputError(f"line {line}: unexpected character {text[pos]!r}")
        kind = m.lastgroup or ""
        value = m.group()
        if kind == "string":
            tokens.append(("id", _unescape(value[1:-1]), line))
        elif kind == "id":
            tokens.append(("id" if value.lower() not in _KEYWORDS else value.lower(), value, line))
        elif kind in ("arrow", "punct"):
            tokens.append((value, value, line))
        line += value.count("\n")
        pos = m.end()
        if len(tokens) > MAX_DOT_TOKENS:
            raise InputError("the graph file has too many tokens")
    return tokens


def _html_end(text: str, start: int, line: int) -> int:
    """The position after the ``>`` that closes the HTML string opened at ``start``."""
    depth = 0
    for pos in range(start, len(text)):
        depth += {"<": 1, ">": -1}.get(text[pos], 0)
        if depth == 0:
            return pos + 1
    raise InputError(f"line {line}: an HTML label '<...>' is not closed")


def _unescape(s: str) -> str:
    return re.sub(r'\\(["\\])', r"\1", s).replace("\\\n", "")


class _DotParser:
    """Recursive-descent parser for the DOT subset used for causal graphs, and for dagitty."""

    def __init__(self, tokens: list[tuple[str, str, int]]):
        self.tokens = tokens
        self.i = 0
        self.graph = nx.DiGraph()
        self.mentioned: list[list[str]] = []  # one list per open subgraph, innermost last
        self.edge_dir = "forward"  # from `edge [dir=...]` defaults
        self.edge_lag: str | None = None  # from `edge [lag=...]` defaults

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
            found = self.attributes()
            if kind == "edge":
                self.edge_dir = found.get("dir", self.edge_dir)
                self.edge_lag = found.get("lag", self.edge_lag)
            return
        if kind == "id" and self.peek(1) == "=":
            self.i += 3  # graph attribute a = b
            return
        left = self.operand()
        if self.peek() not in ("->", "<-", "--", "<->"):
            if self.peek() == "[":
                self.attributes()
            return
        line = self.line()
        pending = []
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
            pending += list(pairs)
            left = right
        lag = self.edge_attributes(line)  # checked before the edges count: dir=none is none
        add_edges(self.graph, pending, lag)

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
        while self.peek() == ":":  # a port and a compass point (a:p1:n): where edges attach
            self.i += 1
            self.expect("id")
        self.graph.add_node(name)
        for names in self.mentioned:
            names.append(name)
        return [name]

    def attributes(self) -> dict[str, str]:
        """``[key=value, ...]`` lists (several may follow each other), as a dict."""
        found: dict[str, str] = {}
        while self.peek() == "[":
            self.i += 1
            while self.peek() not in ("]", None):
                if self.peek() == "id" and self.peek(1) == "=" and self.peek(2) == "id":
                    found[self.tokens[self.i][1].lower()] = self.tokens[self.i + 2][1]
                    self.i += 3
                else:
                    self.i += 1
            self.expect("]")
        return found

    def edge_attributes(self, line: int) -> int:
        """An edge's lag (``lag=1``, ``lag=1e3``; else the ``edge [lag=k]`` default; 0
        without); ``dir=both`` or ``dir=none`` makes it not a causal edge."""
        found = self.attributes()
        direction = found.get("dir", self.edge_dir).lower()
        if direction in ("both", "none"):
            raise InputError(
                f"line {line}: an edge with dir={direction} is not a directed edge; a causal "
                "graph needs cause -> effect (model a confounder as a node)"
            )
        return parse_lag(found.get("lag", self.edge_lag), f"line {line}")


def parse_dot(text: str) -> nx.DiGraph:
    """Parse DOT (``digraph { a -> b }``) or dagitty (``dag { a -> b }``) text into a DiGraph."""
    tokens = _tokenize(text)
    if not tokens:
        raise InputError("the graph file is empty")
    return _DotParser(tokens).parse()
