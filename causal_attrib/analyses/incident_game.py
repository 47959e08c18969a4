"""The incident game: nodes' innovations as players, the series simulated forward.

:class:`IncidentModel` fits every relevant node's mechanism with memory on the reference,
reads off its innovations everywhere, and values coalitions by simulating the incident
from the observed history before it (see :mod:`causal_attrib.analyses.incident`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from ..choices import Direction
from ..inputs.lags import contemporaneous, lag_features, lag_name, summary_graph
from ..inputs.periods import AFTER, BEFORE, Block
from ..models.bases import ModelFamily
from ..models.fitting import fit_node
from ..models.mechanisms import Mechanism, pick
from ..progress import Progress
from ..results.anomaly import RootCause, RowResult, ranked
from ..stats.sampling import latin_uniforms
from ..stats.scores import FittedTail, TailScorer
from ..stats.shapley import shapley_values

TYPICAL = 2.0
"""Innovation score (nats) below which a node's behaviour in the incident counts as typical."""

MAX_PLAYERS = 8
"""Most players per incident (the nodes with the most unusual innovations); exact Shapley."""

MAX_INCIDENT_ROWS = 200
"""Most incident rows attributed (the first ones: where the incident starts)."""

MOST_UNUSUAL = 10
"""Rows attributed when none passes the threshold: the most unusual ones."""


@dataclass
class IncidentModel:
    """Mechanisms with memory over the target's influencers, their innovations on every
    row, and scorers of each node's innovations and of the target's values."""

    target: str
    order: list[str]
    features: dict[str, tuple]
    mechanisms: dict[str, Mechanism]
    values: dict[str, np.ndarray]
    innovations: dict[str, np.ndarray]
    scorers: dict[str, FittedTail]
    target_scorer: FittedTail
    reach: dict[str, set[str]]
    reference: dict[str, np.ndarray] = field(default_factory=dict)
    """Sorted reference innovations per node: what fresh draws are drawn from."""
    lookback: int = 0
    """Steps before an incident whose innovations still count: the longest chain of lags to
    the target (how long an innovation takes to reach it). A node's own memory does not
    reach further back: an innovation long before the onset belongs to an earlier episode
    (a real reference holds earlier faults), and the simulation starts from the observed
    history, which already carries that memory."""

    @classmethod
    def fit(
        cls, graph: nx.DiGraph, block: Block, target: str, lags: int, models: ModelFamily,
        scorer: TailScorer, pooled: bool = True,
    ) -> IncidentModel:  # fmt: skip
        """Fit each influencer of ``target`` on the rows with their whole past: the
        reference and, when ``pooled``, the incident (the mechanisms did not change, only
        innovations were unusual, and the incident is where a parent moved far enough to
        show how much its child follows it). Innovation distributions come from the
        reference alone."""
        features = lag_features(graph, lags)
        summary = summary_graph(features)
        relevant = nx.ancestors(summary, target) | {target}
        order = [
            n for n in nx.lexicographical_topological_sort(contemporaneous(graph)) if n in relevant
        ]
        values = {n: block.values[n].to_numpy(dtype=float) for n in block.values.columns}
        columns = _lag_columns(block, values, features, relevant)
        reference = block.period == BEFORE
        fitted = reference | (block.period == AFTER)
        node_scorer = TailScorer(direction=Direction.BOTH)
        mechanisms, innovations, scorers, ref = {}, {}, {}, {}
        for node in order:
            names = [lag_name(p, k) for p, k in features[node]]
            present = np.all([np.isfinite(columns[c]) for c in [node, *names]], axis=0)
            complete = reference & present
            fit_rows = (fitted & present) if pooled else complete
            mechanisms[node], innovations[node] = _fit_node(
                node, names, columns, fit_rows, models, features[node]
            )
            ref[node] = np.sort(innovations[node][complete])
            scorers[node] = node_scorer.fit(ref[node])
        target_scorer = scorer.fit(values[target][reference])
        reach = {n: (nx.descendants(summary, n) & relevant) | {n} for n in order}
        return cls(
            target, order, features, mechanisms, values, innovations, scorers, target_scorer,
            reach, ref, lookback(features, order),
        )  # fmt: skip

    def base(self, node: str, data: dict, row: int) -> np.ndarray | float:
        """The node's value without its innovation: its mechanism's prediction, or (a node
        that reads nothing) its value minus its innovation."""
        if data:
            return self.mechanisms[node].predict(data)
        return float(self.values[node][row] - self.innovations[node][row])

    def attribute(
        self, window, labels, threshold: float, n_samples: int, n_permutations: int, seed: int,
        say: Progress,
    ) -> list[RowResult]:  # fmt: skip
        """Score every incident row and attribute the anomalous ones (or, if none, the most
        unusual: a lead) to the players' innovations."""
        start = window.start
        stop = min(window.end, start + MAX_INCIDENT_ROWS)
        observed = self.values[self.target][start:stop]
        t_scores = self.target_scorer.score(observed)
        row_threshold = threshold + math.log(max(1, window.end - start))
        anomalous = t_scores >= row_threshold
        chosen = np.flatnonzero(anomalous)
        if not chosen.size:
            chosen = np.sort(np.argsort(-t_scores, kind="stable")[:MOST_UNUSUAL])
        # a cause acts through lags: its innovations from `lookback` steps before the
        # start count too, and the simulation starts there
        begin = max(0, start - self.lookback)
        shift = start - begin
        last = int(chosen[-1]) + shift
        innovation_scores = {
            n: self.scorers[n].score(self.innovations[n][begin : begin + last + 1])
            for n in self.order
        }
        players = _players(innovation_scores)
        say(f"attributing {len(chosen)} incident row(s) to {len(players)} node(s)")
        game = _Game(self, begin, last, players, n_samples, seed)

        # the value of a coalition: how much of the target's surprise *given its history*
        # (its score against the simulation where every player's luck is fresh) the
        # coalition's observed innovations explain; all of them explain all of it
        surprise = game.scores(frozenset(), chosen + shift, observed[chosen])

        def value(coalition: frozenset) -> np.ndarray:
            return surprise - game.scores(coalition, chosen + shift, observed[chosen])

        rng = np.random.default_rng([seed, 1])
        phi = shapley_values(
            players, value, max_exact=MAX_PLAYERS, n_permutations=n_permutations, rng=rng
        )
        attributed = {int(i): j for j, i in enumerate(chosen)}
        rows = []
        for i in range(stop - start):
            head = (labels[start + i], float(observed[i]), float(t_scores[i]), bool(anomalous[i]))
            j = attributed.get(i)
            if j is None:
                rows.append(RowResult(*head, (), None, ()))
                continue
            causes = ranked(
                RootCause(p, float(phi[p][j]), float(np.max(innovation_scores[p][: i + shift + 1])))
                for p in players
            )
            rows.append(RowResult(*head, causes, None, ()))
        return rows


MAX_LOOKBACK = 50
"""Longest lookback before an incident, in steps."""


def lookback(features: dict[str, tuple], order: list[str]) -> int:
    """The longest chain of lags down ``order`` (each node read at its deepest lag): how
    long ago an innovation can still reach the last node; at least one step, feedback
    loops cut at :data:`MAX_LOOKBACK`."""
    depth = dict.fromkeys(order, 0)
    for _ in range(len(order)):  # relaxation: longest paths, bounded
        changed = False
        for node in order:
            for p, k in features[node]:
                if p != node and p in depth and depth[node] + k > depth[p]:
                    depth[p] = min(MAX_LOOKBACK, depth[node] + k)
                    changed = True
        if not changed:
            break
    return max(1, max(depth.values(), default=0))


def _players(scores: dict[str, np.ndarray]) -> list[str]:
    """The nodes whose innovations were unusual during the incident, most unusual first."""
    peak = {n: float(np.max(s)) if s.size else 0.0 for n, s in scores.items()}
    unusual = sorted((n for n in peak if peak[n] >= TYPICAL), key=lambda n: (-peak[n], n))
    return sorted(unusual[:MAX_PLAYERS])


def _lag_columns(block: Block, values, features, relevant) -> dict[str, np.ndarray]:
    """Node columns and the lag columns the relevant nodes read (NaN where the past is
    missing or across a gap)."""
    columns = dict(values)
    for node in relevant:
        for p, k in features[node]:
            if k == 0 or lag_name(p, k) in columns:
                continue
            col = np.full(len(block.times), np.nan)
            if k < len(col):
                col[k:] = values[p][:-k]
            col[~block.axis.lag_valid(block.times, k)] = np.nan
            columns[lag_name(p, k)] = col
    return columns


def _fit_node(node, names, columns, complete, models: ModelFamily, feats):
    """A node's mechanism (fitted on the ``complete`` rows) and its innovations on every
    row (NaN where its past is missing)."""
    y = columns[node]
    if not names:
        mech = fit_node((), {}, y[complete], models=models)
        return mech, y - float(np.median(y[complete]))
    pdata = {c: columns[c][complete] for c in names}
    own = [lag_name(p, k) for p, k in feats if p == node]
    mech = fit_node(names, pdata, y[complete], models=models, linear=own)
    ok = np.all([np.isfinite(columns[c]) for c in names], axis=0)
    innovations = np.full(len(y), np.nan)
    innovations[ok] = y[ok] - mech.predict({c: columns[c][ok] for c in names})
    return mech, innovations


class _Game:
    """Simulates the incident forward for any coalition, with shared draws."""

    def __init__(self, model: IncidentModel, start: int, last: int, players, n_samples, seed):
        self.model, self.start, self.last, self.players = model, start, last, frozenset(players)
        rng = np.random.default_rng(seed)
        self.draws = {}
        for p in sorted(players):
            u = np.stack([latin_uniforms(rng, n_samples) for _ in range(last + 1)])
            self.draws[p] = pick(model.reference[p], u)
        self.n = n_samples

    def scores(self, coalition: frozenset, rows: np.ndarray, observed: np.ndarray) -> np.ndarray:
        """The target's score at each of ``rows`` against its simulated values."""
        m = self.model
        random = self.players - coalition
        simulate = set().union(*(m.reach[p] for p in random)) if random else set()
        sims: dict[str, np.ndarray] = {}
        for j in range(self.last + 1):
            a = self.start + j
            for node in m.order:
                if node not in simulate:
                    continue
                sims.setdefault(node, np.empty((self.last + 1, self.n)))
                data = {lag_name(p, k): self._value(p, a - k, sims) for p, k in m.features[node]}
                noise = self.draws[node][j] if node in random else m.innovations[node][a]
                sims[node][j] = m.base(node, data, a) + noise
        out = np.empty(len(rows))
        for i, row in enumerate(rows):
            if m.target in sims:
                out[i] = m.target_scorer.score_sample(sims[m.target][row], observed[i])
            else:  # no fresh luck reaches the target: it is what was observed
                out[i] = 0.0
        return out

    def _value(self, node: str, a: int, sims) -> np.ndarray:
        j = a - self.start
        if node in sims and 0 <= j <= self.last:
            return sims[node][j]
        return np.full(self.n, self.model.values[node][a])
