"""Is the causal graph consistent with the data? Structure, testable implications, a baseline.

Every answer the tool gives rests on the user's DAG, and a wrong graph gives confident wrong
answers. A DAG implies conditional independences: each node is independent of its
non-descendants given its parents (the local Markov condition). :func:`check_graph` tests
those implications with a fast conditional-independence test
(:mod:`causal_attrib.stats.independence`) and controls the false discovery rate.

With enough rows every real graph violates something, so a raw violation count is hard to
read. The comparison that makes it readable is the one of Eulig et al. (2023), which DoWhy's
``falsify_graph`` implements: the share of implications the data rejects, for the given graph
and for random relabellings of its nodes (same shape, wrong names). A graph that encodes real
knowledge fits much better than its relabellings. The module also lists edges the data shows
no dependence for, and suggests the few added edges that would remove most violations.
Suggestions are reported, never applied.

Speed comes from the test (one least-squares solve per node and conditioning set serves all
of that node's implications) and from caching the p-values that recur: those of the given
graph, and the unconditional ones that relabellings share.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd

from ..engine import one_blas_thread
from ..inputs.graphs import dag_cycle, dag_problem
from ..inputs.names import describe_nodes
from ..inputs.periods import TimeSpec
from ..inputs.preparation import CheckData, prepare_check_data
from ..limits import MAX_COUNT, MAX_PERMUTATIONS, require_count, require_number, require_seed
from ..progress import Progress, Ticker, silent
from ..results.base import ReportData
from ..results.check import (
    Baseline,
    CheckResult,
    EdgeSupport,
    Finding,
    Implication,
    Suggestion,
    Verdict,
)
from ..stats.fdr import q_values_of_tested
from ..stats.independence import BoundTest, GcmTest, IndependenceTest
from ..stats.sampling import every_permutation
from .opening import GraphSource, TableSource, open_analysis
from .options import require_max_rows, require_target, require_time
from .time_mode import series_innovations


@one_blas_thread
def check_graph(
    graph: GraphSource,
    data: TableSource,
    *,
    target: str | None = None,
    categorical: Iterable[str] = (),
    alpha: float = 0.05,
    test: IndependenceTest | None = None,
    n_permutations: int = 100,
    max_suggestions: int = 3,
    dropna: bool = False,
    na_values: Sequence[str] = (),
    max_rows: int | None = 20_000,
    seed: int = 0,
    progress: Progress | None = None,
    time: TimeSpec | None = None,
) -> CheckResult:
    """Test whether the data are consistent with the causal graph, and how far to trust it.

    Parameters
    ----------
    graph
        The causal graph (path, ``"-"`` or ``networkx.DiGraph``). Cycles and self-loops are
        reported (verdict ``invalid``), not raised.
    data
        Observations of the graph's nodes (path or DataFrame); columns that are not nodes are
        ignored, nodes without a column make their implications untestable.
    target
        Optional node of interest: nodes that cannot influence it are reported.
    categorical
        Columns to treat as categorical even if numeric.
    alpha
        False discovery rate for violated implications, level of the edge-support tests and
        of the comparison with random relabellings.
    test
        Conditional-independence test strategy; :class:`GcmTest` by default.
    n_permutations
        Random relabellings to compare with (all of them when there are fewer); 0 skips the
        comparison.
    max_suggestions
        Added edges to suggest at most (0: none).
    dropna
        Drop rows with missing values instead of failing.
    na_values
        Cell values that mean "missing" beside empty cells (``--na-values``); text such
        as ``None`` or ``NA`` is otherwise a level (see :func:`causal_attrib.read_table`).
    max_rows
        Test on a seeded sample of at most this many rows (``None``: all).
    seed
        Seed for the row sample and the relabellings; the same seed gives the same result.
    progress
        Called with short messages about slow steps.

    Returns
    -------
    CheckResult
        Verdict, findings, tested implications, edge support, baseline and suggestions.
    """
    _check_options(alpha, n_permutations, max_suggestions, seed)
    max_rows = require_max_rows(max_rows)
    time = require_time(time)
    if target is not None:
        require_target(target)
    say = progress or silent
    test = test or GcmTest()
    temporal = time is not None
    opening = open_analysis(
        graph, {"--data": data}, target, max_rows=max_rows, validate=False, temporal=temporal,
        na_values=na_values,
    )  # fmt: skip
    graph, table = opening.graph, opening.tables["--data"]
    series_notes: tuple[str, ...] = ()
    drawn = graph  # the report draws every edge, the lagged ones too
    if temporal:  # the within-step graph, checked on innovations (autocorrelation removed)
        graph, table, series_notes = series_innovations(graph, table, time, dropna)
    prepared = prepare_check_data(graph, table, categorical, dropna, max_rows, seed)
    settings = {
        "alpha": alpha,
        "test": test.name,
        "permutations": n_permutations,
        "max_suggestions": max_suggestions,
        "max_rows": max_rows,
        "target": target,
        "seed": seed,
    }
    common = dict(
        n_nodes=graph.number_of_nodes(),
        n_edges=graph.number_of_edges(),
        settings=settings,
        rows={"total": prepared.rows_total, "used": len(prepared.data)},
        notes=opening.notes + series_notes + prepared.notes,
        report_data=ReportData(drawn),
    )
    findings = structure_findings(graph, prepared.data, prepared.unmeasured, target)
    problem = dag_problem(graph)
    if problem:
        invalid = Finding("not_a_dag", "error", problem, dag_cycle(graph))
        return CheckResult(
            Verdict.INVALID,
            findings=(invalid, *findings),
            implications=(),
            untestable=0,
            edges=(),
            baseline=None,
            suggestions=(),
            **common,
        )
    tests = test_implications(graph, prepared, test, alpha, say)
    findings += tests.findings
    edges = edge_support(graph, tests.tester, alpha)
    baseline = None
    if n_permutations and tests.implications:
        baseline = relabelling_baseline(graph, tests, alpha, n_permutations, seed, say)
    suggestions: tuple[Suggestion, ...] = ()
    if max_suggestions and any(i.violated for i in tests.implications):
        say("searching for edges that would remove violations")
        suggestions = suggest_edges(graph, tests, alpha, max_suggestions)
    violated = sum(i.violated for i in tests.implications)
    return CheckResult(
        verdict(len(tests.implications), violated, baseline, alpha),
        findings=tuple(findings),
        implications=tuple(tests.implications),
        untestable=tests.untestable,
        edges=edges,
        baseline=baseline,
        suggestions=suggestions,
        **common,
    )


@dataclass
class Tested:
    """The graph's implications, tested: the tester (with its cache of p-values), the
    statements by node position, and the results."""

    tester: Tester
    nodes: list[str]
    triples: list[Triple]
    implications: list[Implication]
    untestable: int
    findings: list[Finding]
    rebind: Callable[[np.ndarray], Tester] | None = None
    """A tester on a subset of the rows (what the relabelling baseline scores on)."""
    rows: int = 0


def test_implications(
    graph: nx.DiGraph, prepared: CheckData, test: IndependenceTest, alpha: float, say: Progress
) -> Tested:
    """Test every local Markov implication of the graph, with FDR control at ``alpha``."""
    nodes = sorted(graph.nodes)
    columns = {c: prepared.data[c].to_numpy() for c in prepared.data.columns}
    tester = Tester(test.bind(columns, prepared.categorical), set(columns))
    triples = implied_triples(nodes, graph)
    statements = label_triples(triples, nodes)
    say(f"testing {len(statements)} implications on {len(prepared.data)} rows")
    p = tester.p_values(statements)
    untestable = int(np.isnan(p).sum())
    findings = []
    if untestable:
        findings.append(
            Finding(
                "untestable",
                "warning",
                f"{untestable} of {len(statements)} implications mention an unmeasured node "
                "and were not tested",
            )
        )
    implications = _implications(statements, p, alpha)

    def rebind(rows: np.ndarray) -> Tester:
        subset = {c: v[rows] for c, v in columns.items()}
        return Tester(test.bind(subset, prepared.categorical), set(columns))

    n_rows = len(prepared.data)
    return Tested(tester, nodes, triples, implications, untestable, findings, rebind, n_rows)


BASELINE_STATEMENTS = 5000  # implications scored per relabelling at most
BASELINE_ROWS = 2000
"""Rows the relabelling baseline scores on at most (a seeded sample, the same for the given
graph and every relabelling). The baseline compares shares of rejected statements between
graphs, which a few thousand rows resolve; the graph's own verdict uses every row."""


Triple = tuple[int, int, tuple[int, ...]]


def implied_triples(nodes: Sequence[str], graph: nx.DiGraph) -> list[Triple]:
    """Local Markov implications as (node, non-descendant, parents) positions in ``nodes``.

    A statement implied twice (two nodes with the same parents, each a non-descendant of the
    other, e.g. two roots) is kept once.
    """
    index = {n: i for i, n in enumerate(nodes)}
    parents = [tuple(sorted(index[p] for p in graph.predecessors(n))) for n in nodes]
    others: list[set[int]] = []
    for i, n in enumerate(nodes):
        excluded = {index[d] for d in nx.descendants(graph, n)} | {i} | set(parents[i])
        others.append(set(range(len(nodes))) - excluded)
    out = []
    for i in range(len(nodes)):
        for j in sorted(others[i]):
            if j < i and i in others[j] and parents[i] == parents[j]:
                continue
            out.append((i, j, parents[i]))
    return out


class Tester:
    """Computes and caches p-values of labelled implications (shared by all relabellings)."""

    def __init__(self, bound: BoundTest, measured: set[str]):
        self.bound = bound
        self.measured = measured
        self.cache: dict[tuple[str, str, tuple[str, ...]], float] = {}

    def p_values(
        self, statements: Sequence[tuple[str, str, tuple[str, ...]]], remember: bool = True
    ) -> np.ndarray:
        """p-values in order; NaN for statements that mention an unmeasured node.

        ``remember=False`` keeps only unconditional statements (at most nodes squared):
        they recur across relabellings, while conditional ones rarely do, and caching those
        would grow with graph size squared times relabellings.
        """
        todo: dict[tuple[str, tuple[str, ...]], dict[str, None]] = {}
        for x, y, given in statements:
            key = (x, y, given)
            if key not in self.cache and self.testable(key):
                todo.setdefault((x, given), {})[y] = None  # an ordered set of ys
        fresh: dict[tuple[str, str, tuple[str, ...]], float] = {}
        for (x, given), ys in todo.items():
            store = self.cache if remember or not given else fresh
            for y, p in zip(ys, self.bound(x, list(ys), given), strict=True):
                store[(x, y, given)] = float(p)
        return np.array([self.cache.get(s, fresh.get(s, np.nan)) for s in statements])

    def testable(self, statement: tuple[str, str, tuple[str, ...]]) -> bool:
        x, y, given = statement
        return x in self.measured and y in self.measured and all(g in self.measured for g in given)


def label_triples(triples: Iterable[Triple], names: Sequence[str]) -> list[tuple[str, str, tuple]]:
    return [(names[i], names[j], tuple(sorted(names[k] for k in pa))) for i, j, pa in triples]


def _rejected_share(p: np.ndarray, alpha: float) -> float:
    tested = p[~np.isnan(p)]
    return float(np.mean(tested <= alpha)) if len(tested) else 0.0


def _n_violated(p: np.ndarray, alpha: float) -> int:
    return int(np.sum(q_values_of_tested(p) <= alpha))


def _implications(statements, p: np.ndarray, alpha: float) -> list[Implication]:
    """The tested statements as results, strongest evidence against them first."""
    q = q_values_of_tested(p)
    out = [
        Implication(x, y, given, float(p[k]), float(q[k]), bool(q[k] <= alpha))
        for k, (x, y, given) in enumerate(statements)
        if not np.isnan(p[k])
    ]
    return sorted(out, key=lambda i: (i.p_value, i.node, i.other))


def _markov_signature(edges: Iterable[tuple[str, str]]) -> tuple[frozenset, frozenset]:
    """Skeleton and v-structures: two DAGs are Markov equivalent iff both agree."""
    edges = list(edges)
    skeleton = frozenset(frozenset(e) for e in edges)
    parents: dict[str, list[str]] = {}
    for u, v in edges:
        parents.setdefault(v, []).append(u)
    colliders = frozenset(
        (frozenset((a, b)), v)
        for v, ps in parents.items()
        for a, b in itertools.combinations(sorted(ps), 2)
        if frozenset((a, b)) not in skeleton
    )
    return skeleton, colliders


def verdict(n_tested: int, n_violated: int, baseline: Baseline | None, alpha: float) -> Verdict:
    """Pure decision from the counts: see :class:`CheckResult`."""
    if n_tested == 0:
        return Verdict.UNTESTABLE
    if n_violated == 0:
        return Verdict.CONSISTENT
    if baseline is not None and baseline.p_value >= alpha:
        return Verdict.REJECTED
    return Verdict.VIOLATED


def _check_options(alpha, n_permutations, max_suggestions, seed) -> None:
    require_number(alpha, "alpha", 0, 1, open_low=True, open_high=True)
    require_count(n_permutations, "n_permutations", 0, MAX_PERMUTATIONS)
    require_count(max_suggestions, "max_suggestions", 0, MAX_COUNT)
    require_seed(seed)


def structure_findings(
    graph: nx.DiGraph, data: pd.DataFrame, unmeasured: Sequence[str], target: str | None
) -> list[Finding]:
    """Findings about the graph itself and its match with the columns."""
    out = []
    if unmeasured:
        out.append(
            Finding(
                "unmeasured",
                "warning",
                f"{len(unmeasured)} node(s) have no values in the data: "
                f"{describe_nodes(unmeasured)}",
                tuple(unmeasured),
            )
        )
    constant = sorted(c for c in data.columns if data[c].nunique() <= 1)
    if constant:
        out.append(
            Finding(
                "constant",
                "warning",
                f"{len(constant)} node(s) never vary, so every independence involving them holds "
                f"trivially: {describe_nodes(constant)}",
                tuple(constant),
            )
        )
    if graph.number_of_nodes() > 1:
        isolated = sorted(nx.isolates(graph))
        if isolated:
            out.append(
                Finding(
                    "isolated",
                    "warning",
                    f"{len(isolated)} node(s) have no edges; the graph claims they are "
                    f"independent of everything: {describe_nodes(isolated)}",
                    tuple(isolated),
                )
            )
        parts = [c for c in nx.weakly_connected_components(graph) if len(c) > 1]
        if len(parts) > 1:
            out.append(
                Finding(
                    "disconnected",
                    "info",
                    f"the graph has {len(parts)} separate parts with edges; the graph claims "
                    "they are independent of each other",
                )
            )
    if target is not None and nx.is_directed_acyclic_graph(graph):
        ancestors = nx.ancestors(graph, target)
        if not ancestors:
            out.append(
                Finding(
                    "target_without_causes",
                    "warning",
                    f"the target {target!r} has no ancestors: no node can explain its changes",
                    (target,),
                )
            )
        idle = sorted(set(graph.nodes) - ancestors - {target})
        if idle:
            out.append(
                Finding(
                    "cannot_influence_target",
                    "info",
                    f"{len(idle)} node(s) cannot influence {target!r} (no path to it): "
                    f"{describe_nodes(idle)}",
                    tuple(idle),
                )
            )
    return out


def edge_support(graph: nx.DiGraph, tester: Tester, alpha: float) -> tuple[EdgeSupport, ...]:
    """Test each edge's dependence given the child's other parents; weakest first."""
    statements = []
    for u, v in sorted(graph.edges):
        others = tuple(sorted(p for p in graph.predecessors(v) if p != u))
        statements.append((v, u, others))
    p = tester.p_values(statements)
    out = [
        EdgeSupport(u, v, float(pk), bool(pk <= alpha))
        for (v, u, _), pk in zip(statements, p, strict=True)
        if not np.isnan(pk)
    ]
    return tuple(sorted(out, key=lambda e: (-e.p_value, e.cause, e.effect)))


def relabelling_baseline(
    graph: nx.DiGraph, tests: Tested, alpha: float, count: int, seed: int, say: Progress
) -> Baseline:
    """Compare the rejected share with that of relabellings of the same shape.

    Beyond :data:`BASELINE_STATEMENTS` implications, every graph (given and relabelled) is
    scored on the same seeded subset of statement positions: the share is then an estimate
    whose noise (about 0.7 points) is far below the gaps the comparison is about. Beyond
    :data:`BASELINE_ROWS` rows, every graph is scored on the same seeded sample of rows.
    """
    nodes, triples, tester = tests.nodes, tests.triples, tests.tester
    rng = np.random.default_rng(seed)
    if len(triples) > BASELINE_STATEMENTS:
        keep = np.sort(rng.choice(len(triples), BASELINE_STATEMENTS, replace=False))
        triples = [triples[i] for i in keep]
    if tests.rebind is not None and tests.rows > BASELINE_ROWS:
        rows = np.sort(rng.choice(tests.rows, BASELINE_ROWS, replace=False))
        tester = tests.rebind(rows)
    given = _rejected_share(tester.p_values(label_triples(triples, nodes)), alpha)
    signature = _markov_signature(graph.edges)
    index = {n: i for i, n in enumerate(nodes)}
    every = every_permutation(len(nodes), count)
    exhaustive = every is not None
    perms = (
        [np.array(p) for p in every]
        if exhaustive
        else [rng.permutation(len(nodes)) for _ in range(count)]
    )
    ticker = Ticker(say, "random relabellings", len(perms))
    shares, equivalent = [], 0
    for perm in perms:
        names = [nodes[i] for i in perm]
        p = tester.p_values(label_triples(triples, names), remember=False)
        shares.append(_rejected_share(p, alpha))
        relabelled = ((names[index[u]], names[index[v]]) for u, v in graph.edges)
        equivalent += _markov_signature(relabelled) == signature
        ticker.tick()
    arr = np.array(shares)
    at_most = int(np.sum(arr <= given))
    p_value = at_most / len(arr) if exhaustive else (1 + at_most) / (1 + len(arr))
    return Baseline(
        permutations=len(perms),
        exhaustive=exhaustive,
        statements=len(triples),
        given_share=given,
        shares=tuple(shares),
        better_than=float(np.mean(arr > given)),
        p_value=float(p_value),
        equivalent=equivalent / len(perms),
        informative=equivalent / len(perms) < alpha,
    )


def suggest_edges(
    graph: nx.DiGraph, tests: Tested, alpha: float, limit: int
) -> tuple[Suggestion, ...]:
    """Greedily add the edge (other -> node of a violation) that removes most violations.

    The other node is a non-descendant, so the added edge never makes a cycle. Candidates
    come from the ten strongest remaining violations.
    """
    nodes, tester = tests.nodes, tests.tester
    work = graph.copy()
    current = sum(i.violated for i in tests.implications)
    violated = [i for i in tests.implications if i.violated]
    out = []

    def evaluate(u: str, v: str):
        trial = work.copy()
        trial.add_edge(u, v)
        if not nx.is_directed_acyclic_graph(trial):
            return None
        statements = label_triples(implied_triples(nodes, trial), nodes)
        return _n_violated(tester.p_values(statements), alpha), trial, statements

    for _ in range(limit):
        candidates = list(dict.fromkeys((i.other, i.node) for i in violated[:10]))
        best = None
        for u, v in candidates:
            count, trial, statements = evaluate(u, v)
            if count < current and (best is None or count < best[0]):
                best = (count, u, v, trial, statements)
        if best is None:
            break
        count, u, v, trial, statements = best
        flipped = evaluate(v, u)
        either = flipped is not None and flipped[0] == count
        work = trial
        out.append(Suggestion(u, v, current, count, either))
        current = count
        if count == 0:
            break
        violated = [
            i for i in _implications(statements, tester.p_values(statements), alpha) if i.violated
        ]
    return tuple(out)
