"""Fit once, query many: :func:`fit` gives a :class:`FittedModel` that answers ``anomaly``
and ``influence`` questions without fitting again, and saves to a file that answers the
same after a restart.

A notebook session is two lines::

    model = ca.fit("shop.dot", last_week)
    model.anomalies(incident_rows, "latency")

A model is fitted on one table of normal operation (the reference), gaps allowed; the
anomaly game then uses those mechanisms as they are (``fit_on="reference"`` in
:func:`~causal_attrib.analyses.anomaly.attribute_anomalies` terms: the anomalous rows are
not pooled into the fit, since they are not known when the model is fitted).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd

from ..choices import AttributeRows, Direction, Spread, parse_choice
from ..engine import one_blas_thread
from ..errors import InputError, ModelFileError
from ..inputs.names import closest
from ..inputs.preparation import prepare_anomaly_data, prepare_reference_data
from ..limits import MAX_SAMPLES, require_count, require_seed
from ..models.bases import ANOMALY_MODELS, ModelFamily
from ..models.fitting import FittedSCM, fit_scm
from ..models.saving import read_model, write_model
from ..progress import silent
from ..results.anomaly import AnomalyResult
from ..results.base import stable_float
from ..results.influence import InfluenceResult
from ..stats.scores import TailScorer
from ..stats.shapley import ShapleyConfig
from ..stats.spreads import NestedSpread, parse_spread
from .anomaly import NoiseModel, attribute_model, check_anomaly_options, typical_value
from .arrows import arrow_strengths
from .influence import influence_of
from .opening import GraphSource, TableSource, open_analysis


@dataclass(frozen=True)
class FittedModel:
    """A structural causal model fitted on reference data, with that data's layout.

    Attributes
    ----------
    scm
        The graph (nodes the data never measures bypassed) and one mechanism per node.
    reference
        The reference rows, typed (float, or text for categorical nodes; gaps kept): the
        targets' normal values and the layout new rows are matched to.
    settings
        How it was fitted: model family, rows, seed, row cap.
    notes
        What the user should know about the fit (bypassed nodes, gaps, sampled rows).
    """

    scm: FittedSCM
    reference: pd.DataFrame
    settings: dict
    notes: tuple[str, ...] = ()

    @property
    def graph(self) -> nx.DiGraph:
        """The modelled graph."""
        return self.scm.graph

    @property
    def mechanisms(self):
        """Each node's fitted mechanism."""
        return self.scm.mechanisms

    def __dir__(self):
        public = {"anomalies", "influence", "arrow_strength", "save", "graph", "mechanisms"}
        return sorted(set(super().__dir__()) | public)

    def anomalies(
        self,
        anomalies: TableSource,
        target: str | None = None,
        *,
        threshold: float = 3.0,
        direction: Direction | str = Direction.BOTH,
        attribute: AttributeRows | str = AttributeRows.ANOMALOUS,
        scorer: TailScorer | None = None,
        id_column: str | None = None,
        n_samples: int = 2000,
        n_permutations: int = 120,
        seed: int = 0,
        na_values: Sequence[str] = (),
        progress: Callable[[str], None] | None = None,
    ) -> AnomalyResult:
        """Root causes of the target's anomaly in each of ``anomalies``' rows, with this
        model's mechanisms (see :func:`~causal_attrib.analyses.anomaly.attribute_anomalies`
        for the options). ``target`` defaults to the graph's only sink."""
        target = self._target(target)
        attribute = parse_choice(AttributeRows, attribute, "attribute")
        check_anomaly_options(threshold, n_samples, n_permutations, seed)
        opening = open_analysis(
            self.graph, {"--anomalies": anomalies}, target, na_values=na_values
        )
        data = prepare_anomaly_data(
            self.graph, self.reference, opening.tables["--anomalies"], target,
            categorical=self.scm.categorical, id_column=id_column,
        )  # fmt: skip
        changed = sorted(data.categorical ^ (self.scm.categorical & set(data.graph)))
        if changed:
            raise InputError(
                f"the anomalous rows type {changed[0]!r} differently from the data the model "
                "was fitted on (text in one, numbers in the other)",
                parameter="anomalies",
            )
        scorer = scorer or TailScorer(direction=direction)
        model = NoiseModel.build(self.scm, self.reference[target].to_numpy(), target, scorer)
        settings = {
            "threshold": stable_float(threshold),
            "direction": scorer.direction.value,
            "fit_on": "reference",
            "attribute": attribute.value,
            "models": self.settings["models"],
            "samples": n_samples,
            "permutations": n_permutations,
            "seed": seed,
            "max_rows": self.settings["max_rows"],
        }
        return attribute_model(
            model, data, threshold, attribute, settings, self.notes, n_samples, n_permutations,
            seed, progress or silent,
        )  # fmt: skip

    def influence(
        self,
        target: str | None = None,
        *,
        statistic: Spread | NestedSpread | str = Spread.VAR,
        target_level: str | None = None,
        shapley: ShapleyConfig | None = None,
        n_samples: int = 20_000,
        seed: int = 0,
        edges: bool = False,
        progress: Callable[[str], None] | None = None,
    ) -> InfluenceResult:
        """Each node's own noise's share of ``target``'s spread, with this model's
        mechanisms (see :func:`~causal_attrib.analyses.influence.intrinsic_influence`); the
        spread observed is that of the reference rows that measure the target and its
        ancestors."""
        target = self._target(target)
        statistic = parse_spread(statistic)
        require_count(n_samples, "n_samples", 100, MAX_SAMPLES)
        require_seed(seed)
        columns, rows = self._complete(target)
        return influence_of(
            self.scm, target, columns, statistic, target_level, shapley or ShapleyConfig(),
            n_samples, seed, edges, progress or silent,
            fitted={"models": self.settings["models"], "dropna": True,
                    "max_rows": self.settings["max_rows"]},
            rows=rows, notes=self.notes,
        )  # fmt: skip

    def arrow_strength(self, target: str | None = None, *, seed: int = 0):
        """The strength of every edge into ``target`` and its ancestors (as
        ``dowhy.gcm.arrow_strength``), on the reference rows that measure them."""
        target = self._target(target)
        require_seed(seed)
        columns, _ = self._complete(target)
        order = [n for n in self.scm.order if n in columns]
        return arrow_strengths(self.graph, order, self.mechanisms, columns, seed)

    def _complete(self, target: str) -> tuple[dict[str, np.ndarray], dict]:
        """The reference rows measuring ``target`` and all its ancestors, as columns."""
        nodes = [n for n in self.scm.order if n in nx.ancestors(self.graph, target) | {target}]
        frame = self.reference[nodes].dropna()
        if len(frame) < 10:
            raise InputError(
                f"only {len(frame)} reference row(s) measure {target!r} and all its causes; "
                "at least 10 are needed",
                parameter="target",
            )
        columns = {n: frame[n].to_numpy() for n in nodes}
        return columns, {"used": len(frame), "total": len(self.reference)}

    def save(self, path: str | Path) -> None:
        """Write the model to ``path`` (see :mod:`causal_attrib.models.saving`)."""
        document, content = _to_file(self)
        write_model(path, document, content)

    @classmethod
    def load(cls, path: str | Path) -> FittedModel:
        """A model saved by :meth:`save` (refused with one line when it cannot be used)."""
        document, content = read_model(path)
        return _from_file(document, content, path)

    def _target(self, target: str | None) -> str:
        if target is None:
            sinks = sorted(n for n in self.graph if self.graph.out_degree(n) == 0)
            if len(sinks) != 1:
                raise InputError(
                    f"target is needed: the graph has {len(sinks)} nodes without children",
                    parameter="target",
                )
            return sinks[0]
        if not isinstance(target, str):
            raise InputError(f"target must be a node name, not {target!r}", parameter="target")
        if target not in self.scm.mechanisms:
            raise InputError(
                f"target {target!r} is not a modelled node{closest(target, self.graph.nodes)}",
                parameter="target",
            )
        return target

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(n)}</td><td>{len(self.scm.parents(n))}</td>"
            f"<td>{html.escape(self.mechanisms[n].label)}</td></tr>"
            for n in self.scm.order
        )
        head = (
            f"<p>Fitted causal model: {self.graph.number_of_nodes()} nodes, "
            f"{self.graph.number_of_edges()} edges, {len(self.reference):,} reference rows "
            f"({html.escape(str(self.settings['models']))})</p>"
        )
        header = "<tr><th>node</th><th>parents</th><th>mechanism</th></tr>"
        return f"{head}<table>{header}{rows}</table>"

    def __repr__(self) -> str:
        return (
            f"FittedModel({self.graph.number_of_nodes()} nodes, "
            f"{self.graph.number_of_edges()} edges, {len(self.reference)} reference rows)"
        )


@one_blas_thread
def fit(
    graph: GraphSource,
    data: TableSource,
    *,
    categorical: Iterable[str] = (),
    models: ModelFamily | None = None,
    max_rows: int | None = 250_000,
    seed: int = 0,
    na_values: Sequence[str] = (),
    progress: Callable[[str], None] | None = None,
) -> FittedModel:
    """Fit one mechanism per node of ``graph`` on ``data`` (normal operation).

    Parameters
    ----------
    graph
        Causal DAG: a file path, a ``networkx.DiGraph``, or a graph read by
        :func:`causal_attrib.read_graph`.
    data
        The reference table (file path or DataFrame), one column per node; gaps are allowed
        (each node is fitted on the rows that measure it, missing parents filled with their
        median or most common level); a node it never measures is bypassed.
    categorical
        Numeric columns to treat as categorical (text and boolean columns always are).
    models
        Model family strategy (default :data:`~causal_attrib.models.bases.ANOMALY_MODELS`).
    max_rows
        Fit on a seeded sample of at most this many rows (``None``: all).
    seed
        Seed of the row sample; the same inputs and seed give the same model.
    na_values
        Cell values read as missing, besides empty cells.
    """
    say = progress or silent
    opening = open_analysis(graph, {"--data": data}, None, max_rows=max_rows, na_values=na_values)
    prepared = prepare_reference_data(
        opening.graph, opening.tables["--data"], categorical, max_rows, seed
    )
    models = models or ANOMALY_MODELS
    frame, cat = prepared.reference, prepared.categorical
    fill = {n: typical_value(frame[n], n in cat) for n in frame.columns}
    say(f"fitting {len(frame.columns)} mechanisms")
    scm = fit_scm(
        prepared.graph, {n: frame[n].to_numpy() for n in frame.columns}, models=models,
        categorical=cat, fill=fill,
    )  # fmt: skip
    settings = {
        "models": getattr(models, "name", type(models).__name__),
        "rows": len(frame),
        "rows_total": prepared.rows_total,
        "max_rows": max_rows,
        "seed": seed,
    }
    return FittedModel(scm, frame, settings, opening.notes + prepared.notes)


def load_model(path: str | Path) -> FittedModel:
    """A model saved by :meth:`FittedModel.save`."""
    return FittedModel.load(path)


def _to_file(model: FittedModel) -> tuple[dict, dict]:
    """The model as a document (what a reader checks) and content (arrays and mechanisms)."""
    from .. import __version__

    g, frame, cat = model.graph, model.reference, model.scm.categorical
    gaps = {n: frame[n].isna().to_numpy() for n in frame.columns}
    columns = {
        n: np.array(["" if g_ else v for v, g_ in zip(frame[n], gaps[n], strict=True)],
                    dtype=object) if n in cat else frame[n].to_numpy(dtype=float)
        for n in frame.columns
    }  # fmt: skip
    document = {
        "library": {
            "causal_attrib": __version__, "numpy": np.__version__, "pandas": pd.__version__
        },
        "graph": {"nodes": list(g.nodes), "edges": [list(e) for e in g.edges]},
        "columns": list(frame.columns),
        "categorical": sorted(cat),
        "levels": {n: sorted({v for v in frame[n].dropna()}) for n in sorted(cat)},
        "settings": model.settings,
        "notes": list(model.notes),
    }
    content = {"mechanisms": dict(model.mechanisms), "reference": columns, "gaps": gaps}
    return document, content


def _from_file(document: dict, content, path) -> FittedModel:
    try:
        g = nx.DiGraph()
        g.add_nodes_from(document["graph"]["nodes"])
        g.add_edges_from(tuple(e) for e in document["graph"]["edges"])
        names, cat = list(document["columns"]), frozenset(document["categorical"])
        mechanisms = content["mechanisms"]
        frame = pd.DataFrame(
            {n: _column(content["reference"][n], content["gaps"][n], n in cat) for n in names},
            columns=names,
        )
        settings, notes = dict(document["settings"]), tuple(document["notes"])
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as error:
        raise ModelFileError(f"{str(path)!r}: the model document is incomplete ({error})",
                             parameter="model") from None  # fmt: skip
    if set(mechanisms) != set(g.nodes) or not nx.is_directed_acyclic_graph(g):
        raise ModelFileError(f"{str(path)!r}: its mechanisms do not match its graph",
                             parameter="model")  # fmt: skip
    if not isinstance(settings.get("models"), str) or "max_rows" not in settings:
        raise ModelFileError(f"{str(path)!r}: its settings are incomplete", parameter="model")
    order = tuple(nx.lexicographical_topological_sort(g))
    scm = FittedSCM(g, mechanisms, cat, order)
    _self_check(scm, path)
    return FittedModel(scm, frame, settings, notes)


def _self_check(scm: FittedSCM, path) -> None:
    """Simulate a few rows and read their noise back with every mechanism: a file whose
    arrays were edited into shapes or types its mechanisms cannot use is refused here, with
    one line, instead of failing in the middle of an analysis."""
    u = np.linspace(0.05, 0.95, 8)
    values: dict[str, np.ndarray] = {}
    node = None
    try:
        for node in scm.order:
            parents = {p: values[p] for p in scm.parents(node)}
            v = values[node] = scm.mechanisms[node].sample(parents, u)
            numeric = node not in scm.categorical
            if len(v) != 8 or (numeric and not np.all(np.isfinite(np.asarray(v, dtype=float)))):
                raise ValueError("it does not simulate")
            if len(scm.mechanisms[node].noise_of(parents, v)) != 8:
                raise ValueError("it does not give its noise")
    except Exception as error:  # an edited file can break a mechanism in any way
        raise ModelFileError(
            f"{str(path)!r}: the mechanism of {node!r} does not work ({type(error).__name__}: "
            f"{error})".replace("\n", " ")[:300],
            parameter="model",
        ) from None


def _column(values: np.ndarray, gaps: np.ndarray, categorical: bool) -> np.ndarray:
    if not categorical:
        return values
    out = values.astype(object)
    out[gaps.astype(bool)] = None
    return out


def arrow_strength(graph: GraphSource, data: TableSource, target: str, **fit_options):
    """The strength of every edge into ``target`` and its ancestors (as
    ``dowhy.gcm.arrow_strength(causal_model, target_node)``): :func:`fit`, then ask."""
    return fit(graph, data, **fit_options).arrow_strength(target)
