"""The incident game: nodes' innovations as players, the series simulated forward.

:class:`IncidentModel` fits every relevant node's mechanism with memory on the reference,
reads off its innovations everywhere, and values coalitions by simulating the incident
from the observed history before it (see :mod:`causal_attrib.analyses.incident`).

Every node outside a coalition draws its innovations afresh, players and the other nodes
alike, as the nodes row mode prunes stay random
(:func:`~causal_attrib.analyses.anomaly.typical_pruned`): the distribution the target's
score is read against is then its forecast from the history, the same whichever nodes are
players. Pinning the non-players to their observed innovations instead made that forecast
as narrow as the few players' luck: on PetShop a coalition holding the true cause, which
explained most of the target's rise, scored the rest as 100 nats (the cap) while the empty
coalition scored 3, so the cause's Shapley share came out negative and the nodes that
explained the last few percent took the credit.
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
from ..models.interventions import ar_coefficients, largest_root
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
    reference: dict[str, np.ndarray] = field(default_factory=dict)
    """Sorted reference innovations per node: what fresh draws are drawn from."""
    lookback: int = 0
    """Steps before an incident whose innovations still count: the longest chain of lags to
    the target (a cause acts through lags)."""
    settle: int = 0
    """Steps the slowest memory takes to fade to a tenth: how long before the lookback a
    cause's innovation can still move the series, so the fit leaves those rows out
    (:func:`~causal_attrib.analyses.incident.fit_clean`). The game does not draw them
    afresh: a forecast that many steps ahead (50 for a memory of 0.95) is about as wide
    as the node's whole range, and no incident is surprising against it."""

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
        values = {n: block.values[n].to_numpy(dtype=float) for n in block.values.columns}
        reference = block.period == BEFORE
        features = past_trimmed(lag_features(graph, lags), values, reference)
        summary = summary_graph(features)
        relevant = nx.ancestors(summary, target) | {target}
        order = [
            n for n in nx.lexicographical_topological_sort(contemporaneous(graph)) if n in relevant
        ]
        columns = _lag_columns(block, values, features, relevant)
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
        return cls(
            target, order, features, mechanisms, values, innovations, scorers, target_scorer,
            ref, lookback(features, order), memory(mechanisms, features),
        )  # fmt: skip

    def _known(self, start: int, stop: int) -> np.ndarray:
        """Rows whose innovations are known at every node (not after a gap in the times)."""
        return np.all([np.isfinite(self.innovations[n][start:stop]) for n in self.order], axis=0)

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
        # a gap in the times leaves rows whose past, so whose innovations, are unknown (the
        # report's gap note says so): the game simulates one unbroken run of known rows,
        # the first in the incident, from known innovations only
        known = self._known(0, stop)
        runs = np.flatnonzero(known[start:stop])
        first = int(runs[0]) if runs.size else stop - start
        blind = np.flatnonzero(~known[start + first : stop])
        traced = np.zeros(stop - start, dtype=bool)
        traced[first : first + (int(blind[0]) if blind.size else stop - start)] = True
        chosen = np.flatnonzero(anomalous & traced)
        if not chosen.size:
            by_score = np.argsort(-np.where(traced, t_scores, -np.inf), kind="stable")
            chosen = np.sort(by_score[: min(MOST_UNUSUAL, int(traced.sum()))])
        if not chosen.size:
            return [
                RowResult(labels[start + i], float(observed[i]), float(t_scores[i]),
                          bool(anomalous[i]), (), None, ())
                for i in range(stop - start)
            ]  # fmt: skip
        # a cause acts through lags: its innovations from `lookback` steps before the
        # start count too, and the simulation starts there
        begin = max(0, start + first - self.lookback)
        unknown = np.flatnonzero(~known[begin : start + first])
        if unknown.size:  # never simulate from an unknown innovation
            begin += int(unknown[-1]) + 1
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
        left = game.scores(frozenset(players), chosen + shift, observed[chosen])

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
            rows.append(RowResult(*head, causes, float(left[j]), ()))
        return rows


def past_trimmed(features: dict[str, tuple], values: dict, reference: np.ndarray) -> dict:
    """``features`` without the past copies of nodes that never varied in the reference.

    A column constant over the reference tells the fit nothing there; its past copies
    (a parent's lags beyond its edge's, a node's own lags) can be fitted to the incident's
    few rows alone, where together they reproduce any incident exactly and leave no
    innovation to attribute (PetShop's availability: 11 of the target's 13 parents at 100
    throughout the reference, three copies each, five incident rows). Such a node is read
    at its edges' lags only, and not at its own past."""
    still = {
        n for n, v in values.items()
        if np.isfinite(v[reference]).any() and np.nanmin(v[reference]) == np.nanmax(v[reference])
    }  # fmt: skip
    out = {}
    for node, feats in features.items():
        first = {}
        for p, k in feats:
            first[p] = min(k, first.get(p, k))
        out[node] = tuple(
            (p, k) for p, k in feats
            if p not in still or (p != node and k == first[p])
        )  # fmt: skip
    return out


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


def memory(mechanisms: dict[str, Mechanism], features: dict[str, tuple]) -> int:
    """Steps until the slowest node's own memory has faded to a tenth: an innovation that
    long ago still moves the node (an AR(1) with 0.9 keeps 10 % for 22 steps)."""
    rho = 0.0
    for node, mech in mechanisms.items():
        own = [k for p, k in features[node] if p == node]
        rho = max(rho, largest_root(ar_coefficients(mech, node, own)))
    return min(MAX_LOOKBACK, math.ceil(math.log(0.1) / math.log(rho))) if rho > 0.1 else 0


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


DRAWS_HELD = 1 << 22
"""Most fresh innovations (floats, 32 MB) the game keeps between coalitions; the rest are
drawn again from their seed, identically."""


class _Game:
    """Simulates the incident forward for any coalition: the coalition's nodes keep their
    observed innovations, every other node's are drawn afresh (the same draws for every
    coalition: common random numbers)."""

    def __init__(self, model: IncidentModel, start: int, last: int, players, n_samples, seed):
        self.model, self.start, self.last, self.players = model, start, last, frozenset(players)
        self.n, self.seed = n_samples, seed
        self.index = {n: i for i, n in enumerate(model.order)}
        deepest = max((k for fs in model.features.values() for _, k in fs), default=0)
        self.depth = deepest + 1  # simulated steps a node's mechanism reads back
        self.draws: dict[tuple[str, int], np.ndarray] = {}
        self.held = 0

    def scores(self, coalition: frozenset, rows: np.ndarray, observed: np.ndarray) -> np.ndarray:
        """The target's score at each of ``rows`` (steps from the simulation's start)
        against its simulated values."""
        m = self.model
        wanted = {int(r): i for i, r in enumerate(rows)}
        sims = {node: np.empty((self.depth, self.n)) for node in m.order}
        out = np.zeros(len(rows))
        for j in range(self.last + 1):
            a = self.start + j
            for node in m.order:
                data = {lag_name(p, k): self._value(p, a - k, sims) for p, k in m.features[node]}
                noise = m.innovations[node][a] if node in coalition else self._fresh(node, j)
                sims[node][j % self.depth] = m.base(node, data, a) + noise
            i = wanted.get(j)
            if i is not None:
                out[i] = m.target_scorer.score_sample(sims[m.target][j % self.depth], observed[i])
        return out

    def _fresh(self, node: str, j: int) -> np.ndarray:
        """The node's fresh innovations at step ``j``: drawn from its reference innovations
        by a generator seeded with the node and the step, so any coalition sees the same."""
        key = (node, j)
        held = self.draws.get(key)
        if held is not None:
            return held
        rng = np.random.default_rng([self.seed, self.index[node], j])
        draws = pick(self.model.reference[node], latin_uniforms(rng, self.n))
        if self.held + draws.size <= DRAWS_HELD:
            self.draws[key] = draws
            self.held += draws.size
        return draws

    def _value(self, node: str, a: int, sims) -> np.ndarray:
        j = a - self.start
        if 0 <= j <= self.last:
            return sims[node][j % self.depth]
        return np.full(self.n, self.model.values[node][a])
