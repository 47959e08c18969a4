"""Is the causal graph consistent with the data? Structure, testable implications, a baseline.

Every answer the tool gives rests on the user's DAG, and a wrong graph gives confident wrong
answers. A DAG implies conditional independences: each node is independent of its
non-descendants given its parents (the local Markov condition). This module tests those
implications with a fast conditional-independence test and controls the false discovery rate.

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
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

import networkx as nx
import numpy as np
import pandas as pd
from scipy import stats

from .change_tests import benjamini_hochberg
from .data_io import check_max_rows, prepare_check_data, read_table
from .exit_codes import InputError
from .graph_io import dag_cycle, dag_problem, describe_nodes, graph_notes, load_graph, require_node
from .mechanisms import ModelFamily, SplineModels, one_blas_thread
from .progress import Ticker, silent
from .reports import ReportData
from .reports import stable_float as _num

SCHEMA_VERSION = "1.0"
VERDICTS = ("consistent", "violated", "rejected", "invalid", "untestable")
FAILING = frozenset({"violated", "rejected", "invalid"})
BASELINE_STATEMENTS = 5000  # implications scored per relabelling at most

# --- the conditional-independence test (an injected strategy) ------------------------------


class BoundTest(Protocol):
    """A test bound to one data set: p-values of ``x ⟂ y | given`` for several ``y``."""

    def __call__(self, x: str, ys: Sequence[str], given: Sequence[str]) -> np.ndarray:
        """One p-value per ``y``, in order."""
        ...


class IndependenceTest(Protocol):
    """A conditional-independence test strategy."""

    name: str

    def bind(self, data: Mapping[str, np.ndarray], categorical: frozenset[str]) -> BoundTest:
        """Prepare the test for these columns (continuous as float, categorical as text)."""
        ...


@dataclass(frozen=True)
class GcmTest:
    """The generalised covariance measure (Shah & Peters 2020) with spline regressions.

    To test ``X ⟂ Y | Z``, features of X and of Y are regressed on a basis of Z (``models``)
    and the products of their residuals are tested for mean zero (a Wald chi-square over the
    feature pairs, robust to noise whose spread depends on Z). X enters standardised; Y adds
    a hinge at its median, so that a U-shaped dependence is seen too (``nonlinear``).
    Categorical variables enter as indicators of their ``max_levels`` most common levels.
    ``models`` must build its basis per parent without looking at the regressed variable
    (:class:`LinearModels`, :class:`SplineModels`): each variable's columns are built once.

    One least-squares solve per (X, Z) serves every Y, so a node's implications cost about
    one regression together.
    """

    models: ModelFamily = SplineModels()
    nonlinear: bool = True
    max_levels: int = 10
    name: str = "gcm"

    def bind(self, data, categorical) -> BoundTest:  # noqa: D102
        return _BoundGcm(self, data, categorical)


class _BoundGcm:
    """Per-variable feature rows are built once; each call only stacks, projects and tests.

    Everything is laid out features x rows, so gathering a variable's features copies
    contiguous rows and the batched products feed BLAS directly.
    """

    def __init__(self, spec: GcmTest, data: Mapping[str, np.ndarray], categorical: frozenset):
        self.spec = spec
        self.data = data
        self.categorical = categorical
        self.n = len(next(iter(data.values())))
        self._rows: dict[tuple[str, str], np.ndarray] = {}
        self._buf = np.empty((2, 64, self.n))

    def rows(self, name: str, role: str) -> np.ndarray:
        """Feature rows of ``name`` as the tested node (x), the other node (y) or in Z (z)."""
        key = (name, role)
        if key not in self._rows:
            self._rows[key] = np.ascontiguousarray(self._make(name, role).T)
        return self._rows[key]

    def _make(self, name: str, role: str) -> np.ndarray:
        x = self.data[name]
        if role == "z":  # the model family's basis columns for this parent, intercept dropped
            basis = self.spec.models.make_basis([name], self.data, x, self.categorical)
            columns = basis.transform({name: x}, self.n)[:, 1:]
            # standardised: hinges on values like 2e6 are nearly collinear with the linear
            # term otherwise, and the normal equations square that
            sd = columns.std(axis=0)
            return (columns - columns.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
        if name in self.categorical:
            counts = pd.Series(x).value_counts()
            # most common first, ties by name: which levels get indicators must not depend
            # on how pandas orders equal counts
            by_count = sorted(counts.index, key=lambda v: (-counts[v], str(v)))
            levels = by_count[: self.spec.max_levels + 1]
            if len(levels) < 2:
                return np.zeros((self.n, 1))
            return np.column_stack([(x == lv).astype(float) for lv in levels[1:]])
        sd = float(np.std(x))
        z = (x - float(np.mean(x))) / sd if sd > 0 else np.zeros(self.n)
        if role == "y" and self.spec.nonlinear:
            return np.column_stack([z, np.maximum(z - float(np.median(z)), 0.0)])
        return z[:, None]

    def __call__(self, x: str, ys: Sequence[str], given: Sequence[str]) -> np.ndarray:
        design = np.concatenate([np.ones((1, self.n))] + [self.rows(g, "z") for g in given])
        rx_rows = self.rows(x, "x")
        dx = rx_rows.shape[0]
        y_rows = [self.rows(y, "y") for y in ys]
        widths = np.array([r.shape[0] for r in y_rows])
        order = np.argsort(widths, kind="stable")  # equal widths side by side: groups are views
        blocks = [rx_rows] + [y_rows[i] for i in order]
        k = dx + int(widths.sum())
        stacked, fitted = self._buffers(k)
        np.concatenate(blocks, out=stacked)
        scale = np.sqrt(np.einsum("kn,kn->k", stacked, stacked))
        _residualise(design, stacked, fitted)
        # a variable the parents determine exactly (a total, a difference) leaves rounding
        # noise, which can correlate with magnitudes; it is independent of anything else
        left = np.sqrt(np.einsum("kn,kn->k", stacked, stacked))
        stacked[left <= 1e-6 * scale] = 0.0
        rx = stacked[:dx]
        stat, df = np.zeros(len(ys)), np.zeros(len(ys), dtype=int)
        start = dx
        for width in np.unique(widths):
            which = order[widths[order] == width]
            part = stacked[start : start + width * len(which)]
            start += width * len(which)
            if dx == 1:
                part *= rx  # the products of residuals, in place
                products = part.reshape(len(which), width, self.n)
            else:
                ry = part.reshape(len(which), 1, width, self.n)
                products = (rx[None, :, None, :] * ry).reshape(len(which), dx * width, self.n)
            stat[which], df[which] = _wald(products)
        out = np.ones(len(ys))
        ok = df > 0
        out[ok] = stats.chi2.sf(stat[ok], df[ok])
        return out

    def _buffers(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Two reusable k x n work arrays: fresh large arrays on every call cost page faults
        that took longer than the arithmetic."""
        if self._buf.shape[1] < k:
            self._buf = np.empty((2, k, self.n))
        return self._buf[0, :k], self._buf[1, :k]


def _residualise(design: np.ndarray, targets: np.ndarray, work: np.ndarray) -> None:
    """Replace the rows of ``targets`` by their residuals from a least-squares fit on the
    rows of ``design`` (``work``: scratch of the same shape).

    Normal equations on norm-scaled columns, inverted on the non-negligible eigenvalues, so a
    rank-deficient design (a constant or duplicated column) is handled, not fatal.
    """
    norms = np.sqrt(np.einsum("pn,pn->p", design, design))
    norms[norms == 0] = 1.0
    scaled = design / norms[:, None]
    eigval, eigvec = np.linalg.eigh(scaled @ scaled.T)
    keep = eigval > 1e-10 * eigval.max()
    inverse = (eigvec[:, keep] / eigval[keep]) @ eigvec[:, keep].T
    coef = inverse @ (scaled @ targets.T)
    np.matmul(coef.T, scaled, out=work)
    targets -= work


def _wald(products: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Wald statistics (and degrees of freedom) that each ``products[g]`` has mean zero.

    ``products`` is (tests, features, rows). The covariance is inverted on its numerically
    non-zero eigenvalues, so collinear features cost degrees of freedom instead of
    exploding; a constant residual gives df 0.
    """
    n = products.shape[2]
    mean = products.mean(axis=2)  # (g, k)
    cov = products @ products.swapaxes(1, 2) / n - mean[:, :, None] * mean[:, None, :]
    scale = np.maximum(np.einsum("gaa->ga", cov).max(axis=1), 1e-300)
    eigval, eigvec = np.linalg.eigh(cov / scale[:, None, None])
    top = eigval.max(axis=1, keepdims=True)
    keep = (eigval > 1e-10 * top) & (top > 1e-12)
    proj = np.einsum("gak,ga->gk", eigvec, mean / np.sqrt(scale)[:, None])
    safe = np.where(keep, eigval, 1.0)
    stat = n * np.sum(np.where(keep, proj**2 / safe, 0.0), axis=1)
    return stat, keep.sum(axis=1)


# --- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """Something about the graph's structure or its match with the data.

    ``severity`` is ``error`` (no test is possible), ``warning`` (weakens the check) or
    ``info``.
    """

    kind: str
    severity: str
    message: str
    nodes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:  # noqa: D102
        return {
            "kind": self.kind,
            "severity": self.severity,
            "message": self.message,
            "nodes": list(self.nodes),
        }


@dataclass(frozen=True)
class Implication:
    """One tested implication ``node ⟂ other | given`` and what the data said."""

    node: str
    other: str
    given: tuple[str, ...]
    p_value: float
    q_value: float
    violated: bool

    @property
    def text(self) -> str:
        """The statement in the usual notation."""
        given = f" | {', '.join(self.given)}" if self.given else ""
        return f"{self.node} ⟂ {self.other}{given}"

    def to_dict(self) -> dict[str, Any]:  # noqa: D102
        return {
            "node": self.node,
            "other": self.other,
            "given": list(self.given),
            "statement": self.text,
            "p_value": _num(self.p_value),
            "q_value": _num(self.q_value),
            "violated": self.violated,
        }


@dataclass(frozen=True)
class EdgeSupport:
    """Whether the data shows the dependence an edge claims (given the child's other parents).

    Not being supported is weak evidence: the dependence may be real but too small for the
    rows at hand, or cancel out on average.
    """

    cause: str
    effect: str
    p_value: float
    supported: bool

    def to_dict(self) -> dict[str, Any]:  # noqa: D102
        return {
            "cause": self.cause,
            "effect": self.effect,
            "p_value": _num(self.p_value),
            "supported": self.supported,
        }


@dataclass(frozen=True)
class Baseline:
    """How the graph compares with random relabellings of its nodes.

    Attributes
    ----------
    permutations
        Relabellings compared (every one of them when ``exhaustive``).
    statements
        Implications scored per graph: all of them, or a seeded subset of
        :data:`BASELINE_STATEMENTS` positions shared by every graph on large graphs.
    given_share
        Share of the graph's testable implications rejected at level ``alpha`` (raw p).
    shares
        The same share for each relabelling.
    better_than
        Fraction of relabellings whose share is strictly larger (that fit worse).
    p_value
        Permutation p-value of "the graph fits no better than a random relabelling".
    equivalent
        Fraction of relabellings Markov-equivalent to the graph (they imply the same
        independences, so they cannot be told apart); at ``alpha`` or above the comparison
        is uninformative.
    """

    permutations: int
    exhaustive: bool
    statements: int
    given_share: float
    shares: tuple[float, ...]
    better_than: float
    p_value: float
    equivalent: float
    informative: bool

    def to_dict(self) -> dict[str, Any]:  # noqa: D102
        shares = np.asarray(self.shares) if self.shares else np.zeros(1)
        return {
            "permutations": self.permutations,
            "exhaustive": self.exhaustive,
            "statements": self.statements,
            "given_share": _num(self.given_share),
            "median_share": _num(float(np.median(shares))),
            "share_quantiles": {
                k: _num(float(np.quantile(shares, q)))
                for k, q in (("p05", 0.05), ("p25", 0.25), ("p75", 0.75), ("p95", 0.95))
            },
            "better_than": _num(self.better_than),
            "p_value": _num(self.p_value),
            "equivalent": _num(self.equivalent),
            "informative": self.informative,
        }


@dataclass(frozen=True)
class Suggestion:
    """An added edge that would remove violations (a suggestion; nothing is applied).

    ``either_direction``: the reversed edge fits as well. Observational data cannot orient
    an edge unless it forms a collider, so the direction is then the user's call.
    """

    cause: str
    effect: str
    violations_before: int
    violations_after: int
    either_direction: bool = False

    def to_dict(self) -> dict[str, Any]:  # noqa: D102
        return {
            "cause": self.cause,
            "effect": self.effect,
            "violations_before": self.violations_before,
            "violations_after": self.violations_after,
            "either_direction": self.either_direction,
        }


@dataclass(frozen=True)
class CheckResult:
    """The answer of :func:`check_graph`.

    ``verdict`` is one of :data:`VERDICTS`: ``consistent`` (no implication violated),
    ``violated`` (some are, but the graph fits clearly better than random relabellings),
    ``rejected`` (it does not), ``invalid`` (not a DAG) or ``untestable`` (no implication
    can be tested with these columns).
    """

    command: ClassVar[str] = "check"

    verdict: str
    n_nodes: int
    n_edges: int
    findings: tuple[Finding, ...]
    implications: tuple[Implication, ...]
    untestable: int
    edges: tuple[EdgeSupport, ...]
    baseline: Baseline | None
    suggestions: tuple[Suggestion, ...]
    settings: Mapping[str, Any]
    rows: Mapping[str, int]
    notes: tuple[str, ...] = field(default=())
    report_data: ReportData | None = field(default=None, repr=False, compare=False)

    @property
    def violations(self) -> list[Implication]:
        """Violated implications, strongest (smallest p) first."""
        return [i for i in self.implications if i.violated]

    @property
    def unsupported_edges(self) -> list[EdgeSupport]:
        """Edges without detectable dependence, weakest first."""
        return [e for e in self.edges if not e.supported]

    @property
    def failed(self) -> bool:
        """What ``--fail-on-violation`` checks: invalid, violated or rejected."""
        return self.verdict in FAILING

    @property
    def summary(self) -> str:
        """One plain-language sentence for the top of a report."""
        n = len(self.implications)
        k = len(self.violations)
        alpha = self.settings["alpha"]
        fdr = f"FDR {alpha * 100:g} %"
        if self.verdict == "invalid":
            return f"The graph is not a DAG ({self.findings[0].message}); fix it first."
        if self.verdict == "untestable":
            return (
                "The graph implies no independence these columns can test, so the data can "
                "neither support nor contradict it."
            )
        compare = ""
        if self.baseline is not None:
            b = self.baseline
            compare = (
                f"it fits better than {b.better_than * 100:.0f} % of "
                f"{b.permutations} random relabellings of its nodes"
            )
            if not b.informative:
                compare += " (but many relabellings are equivalent, so that says little)"
        if self.verdict == "consistent":
            head = f"No implication of the graph is violated ({n} tested, {fdr})"
            return f"{head}; {compare}." if compare else f"{head}."
        top = self.violations[0]
        head = f"The data contradict {k} of {n} implications of the graph ({fdr}), first {top.text}"
        if self.verdict == "rejected":
            return f"{head}; the graph fits no better than random relabellings ({compare})."
        return f"{head}; still, {compare}."

    def to_dict(self) -> dict[str, Any]:
        """The JSON report as a dict (what ``--format json`` prints)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "command": self.command,
            "verdict": self.verdict,
            "summary": self.summary,
            "graph": {"nodes": self.n_nodes, "edges": self.n_edges},
            "rows": dict(self.rows),
            "settings": dict(self.settings),
            "findings": [f.to_dict() for f in self.findings],
            "implications": {
                "tested": len(self.implications),
                "violated": len(self.violations),
                "untestable": self.untestable,
            },
            "violations": [i.to_dict() for i in self.violations],
            "unsupported_edges": [e.to_dict() for e in self.unsupported_edges],
            "baseline": None if self.baseline is None else self.baseline.to_dict(),
            "suggestions": [s.to_dict() for s in self.suggestions],
            "notes": list(self.notes),
        }

    def to_frame(self) -> pd.DataFrame:
        """Every tested implication as a row, violations first."""
        rows = [
            {
                "node": i.node,
                "other": i.other,
                "given": ", ".join(i.given),
                "p_value": i.p_value,
                "q_value": i.q_value,
                "violated": i.violated,
            }
            for i in self.implications
        ]
        columns = ["node", "other", "given", "p_value", "q_value", "violated"]
        return pd.DataFrame(rows, columns=columns)


# --- the implications of a graph, by position -----------------------------------------------

Triple = tuple[int, int, tuple[int, ...]]


def _triples(nodes: Sequence[str], graph: nx.DiGraph) -> list[Triple]:
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


class _Tester:
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


def _label(triples: Iterable[Triple], names: Sequence[str]) -> list[tuple[str, str, tuple]]:
    return [(names[i], names[j], tuple(sorted(names[k] for k in pa))) for i, j, pa in triples]


def _rejected_share(p: np.ndarray, alpha: float) -> float:
    tested = p[~np.isnan(p)]
    return float(np.mean(tested <= alpha)) if len(tested) else 0.0


def _q_values(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg over the tested statements; NaN stays NaN (untestable)."""
    q = np.full(len(p), np.nan)
    tested = ~np.isnan(p)
    q[tested] = benjamini_hochberg(p[tested])
    return q


def _n_violated(p: np.ndarray, alpha: float) -> int:
    return int(np.sum(_q_values(p) <= alpha))


def _implications(statements, p: np.ndarray, alpha: float) -> list[Implication]:
    """The tested statements as results, strongest evidence against them first."""
    q = _q_values(p)
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


# --- the entry point ----------------------------------------------------------------------


@one_blas_thread
def check_graph(
    graph: str | Path | nx.DiGraph,
    data: str | Path | pd.DataFrame,
    *,
    target: str | None = None,
    categorical: Iterable[str] = (),
    alpha: float = 0.05,
    test: IndependenceTest | None = None,
    n_permutations: int = 100,
    max_suggestions: int = 3,
    dropna: bool = False,
    max_rows: int | None = 20_000,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
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
    _check_options(alpha, n_permutations, max_suggestions, max_rows)
    say = progress or silent
    test = test or GcmTest()
    graph = load_graph(graph, validate=False)
    if target is not None:
        require_node(graph, target)
    table = read_table(data, "--data")
    prepared = prepare_check_data(graph, table, categorical, dropna, max_rows, seed)
    nodes = sorted(graph.nodes)
    settings = {
        "alpha": alpha,
        "test": test.name,
        "permutations": n_permutations,
        "max_suggestions": max_suggestions,
        "max_rows": max_rows,
        "target": target,
        "seed": seed,
    }
    rows = {"total": prepared.rows_total, "used": len(prepared.data)}
    findings = _structure(graph, prepared.data, prepared.unmeasured, target)
    common = dict(
        n_nodes=graph.number_of_nodes(),
        n_edges=graph.number_of_edges(),
        settings=settings,
        rows=rows,
        notes=graph_notes(graph) + prepared.notes,
        report_data=ReportData(graph),
    )
    problem = dag_problem(graph)
    if problem:
        invalid = Finding("not_a_dag", "error", problem, dag_cycle(graph))
        return CheckResult(
            "invalid",
            findings=(invalid, *findings),
            implications=(),
            untestable=0,
            edges=(),
            baseline=None,
            suggestions=(),
            **common,
        )

    columns = {c: prepared.data[c].to_numpy() for c in prepared.data.columns}
    tester = _Tester(test.bind(columns, prepared.categorical), set(columns))
    triples = _triples(nodes, graph)
    statements = _label(triples, nodes)
    say(f"testing {len(statements)} implications on {len(prepared.data)} rows")
    p = tester.p_values(statements)
    implications = _implications(statements, p, alpha)
    untestable = int(np.isnan(p).sum())
    if untestable:
        findings.append(
            Finding(
                "untestable",
                "warning",
                f"{untestable} of {len(statements)} implications mention an unmeasured node "
                "and were not tested",
            )
        )
    edges = _edge_support(graph, tester, alpha)
    baseline = None
    if n_permutations and implications:
        baseline = _baseline(graph, nodes, triples, tester, alpha, n_permutations, seed, say)
    suggestions: tuple[Suggestion, ...] = ()
    if max_suggestions and any(i.violated for i in implications):
        say("searching for edges that would remove violations")
        suggestions = _suggest(graph, nodes, tester, alpha, implications, max_suggestions)
    verdict = _verdict(len(implications), sum(i.violated for i in implications), baseline, alpha)
    return CheckResult(
        verdict,
        findings=tuple(findings),
        implications=tuple(implications),
        untestable=untestable,
        edges=edges,
        baseline=baseline,
        suggestions=suggestions,
        **common,
    )


def _verdict(n_tested: int, n_violated: int, baseline: Baseline | None, alpha: float) -> str:
    """Pure decision from the counts: see :class:`CheckResult`."""
    if n_tested == 0:
        return "untestable"
    if n_violated == 0:
        return "consistent"
    if baseline is not None and baseline.p_value >= alpha:
        return "rejected"
    return "violated"


def _check_options(alpha, n_permutations, max_suggestions, max_rows) -> None:
    if not 0 < alpha < 1:
        raise InputError(f"--alpha must be between 0 and 1 (exclusive), not {alpha}")
    if n_permutations < 0:
        raise InputError(f"--permutations must be 0 or more, not {n_permutations}")
    if max_suggestions < 0:
        raise InputError(f"--suggestions must be 0 or more, not {max_suggestions}")
    check_max_rows(max_rows)


def _structure(
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


def _edge_support(graph: nx.DiGraph, tester: _Tester, alpha: float) -> tuple[EdgeSupport, ...]:
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


def _permutations(n: int, count: int, rng: np.random.Generator):
    """All relabellings when there are at most ``count``, else ``count`` random ones."""
    if math.factorial(n) <= count:
        return [np.array(p) for p in itertools.permutations(range(n))], True
    return [rng.permutation(n) for _ in range(count)], False


def _baseline(graph, nodes, triples, tester, alpha, count, seed, say) -> Baseline:
    """Compare the rejected share with that of relabellings of the same shape.

    Beyond :data:`BASELINE_STATEMENTS` implications, every graph (given and relabelled) is
    scored on the same seeded subset of statement positions: the share is then an estimate
    whose noise (about 0.7 points) is far below the gaps the comparison is about.
    """
    rng = np.random.default_rng(seed)
    if len(triples) > BASELINE_STATEMENTS:
        keep = np.sort(rng.choice(len(triples), BASELINE_STATEMENTS, replace=False))
        triples = [triples[i] for i in keep]
    given = _rejected_share(tester.p_values(_label(triples, nodes)), alpha)
    signature = _markov_signature(graph.edges)
    index = {n: i for i, n in enumerate(nodes)}
    perms, exhaustive = _permutations(len(nodes), count, rng)
    ticker = Ticker(say, "random relabellings", len(perms))
    shares, equivalent = [], 0
    for perm in perms:
        names = [nodes[i] for i in perm]
        p = tester.p_values(_label(triples, names), remember=False)
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


def _suggest(graph, nodes, tester, alpha, implications, limit) -> tuple[Suggestion, ...]:
    """Greedily add the edge (other -> node of a violation) that removes most violations.

    The other node is a non-descendant, so the added edge never makes a cycle. Candidates
    come from the ten strongest remaining violations.
    """
    work = graph.copy()
    current = sum(i.violated for i in implications)
    violated = [i for i in implications if i.violated]
    out = []

    def evaluate(u: str, v: str):
        trial = work.copy()
        trial.add_edge(u, v)
        if not nx.is_directed_acyclic_graph(trial):
            return None
        statements = _label(_triples(nodes, trial), nodes)
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
