"""A second opinion from DoWhy: its reference method on the inputs an analysis used.

:func:`compare_with_dowhy` takes an ``explain`` or ``anomaly`` result and the inputs it
came from, runs ``dowhy.gcm.distribution_change`` (mechanisms auto-assigned on the before
rows, as DoWhy's examples do, and our statistic as its difference) or
``dowhy.gcm.attribute_anomalies`` (an invertible model auto-assigned and fitted on the
reference rows), and returns the result with a
:class:`~causal_attrib.results.comparison.Comparison` beside it. DoWhy takes minutes where
we take seconds at 40 nodes, which is why this is an option, never a default.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace

import numpy as np
from scipy import stats

from ..analyses.opening import GraphSource, TableSource, open_analysis
from ..errors import InputTypeError
from ..inputs.preparation import prepare_anomaly_data, prepare_data
from ..results.anomaly import AnomalyResult
from ..results.comparison import Comparison
from ..results.explain import ExplainResult
from ..stats.statistics import parse_statistic, target_measure
from .dowhy import require_dowhy

SLOW_NODES = 15
"""From this many nodes, DoWhy's run takes minutes: the CLI warns before it starts."""


def compare_with_dowhy(
    result: ExplainResult | AnomalyResult,
    graph: GraphSource,
    first: TableSource,
    second: TableSource,
    *,
    categorical: Iterable[str] = (),
    id_column: str | None = None,
    progress: Callable[[str], None] | None = None,
):
    """The result with DoWhy's answer to the same question beside it (``.comparison``).

    Parameters
    ----------
    result
        What :func:`causal_attrib.explain` or :func:`causal_attrib.attribute_anomalies`
        returned.
    graph, first, second
        The inputs it was given: graph, then before/after tables (explain) or reference and
        anomalous rows (anomaly).
    categorical, id_column
        As given to the analysis (explain's are read back from its settings).
    progress
        Called with a message before DoWhy starts.

    Returns
    -------
    ExplainResult or AnomalyResult
        A copy with ``comparison`` set; when DoWhy fails, its error is in the comparison.
    """
    if not isinstance(result, ExplainResult | AnomalyResult) or getattr(result, "time_mode", None):
        what = type(result).__name__
        raise InputTypeError(
            f"compare_with_dowhy compares an explain or anomaly result (not a time-series "
            f"one) with DoWhy's method, not {what}",
            parameter="result",
        )
    gcm = require_dowhy()
    gcm.config.disable_progress_bars()
    if progress:
        progress(f"running DoWhy's reference method for comparison ({_method(result)})")
    if isinstance(result, ExplainResult):
        ours = {n.node: n.contribution for n in result.nodes if n.ancestor}
        run = _distribution_change(gcm, result, graph, first, second)
    else:
        ours = {c.node: c.contribution for c in result.causes}
        run = _attribute_anomalies(gcm, result, graph, first, second, categorical, id_column)
    start = time.perf_counter()
    try:
        theirs, error = {str(k): float(v) for k, v in run().items()}, None
    except Exception as err:  # DoWhy's failure is reported, not ours
        theirs, error = {}, f"{type(err).__name__}: {err}".splitlines()[0][:300]
    seconds = time.perf_counter() - start
    by_size = isinstance(result, ExplainResult)
    return replace(result, comparison=agreement(_method(result), ours, theirs, by_size, seconds,
                                                error))  # fmt: skip


def agreement(
    method: str,
    ours: Mapping[str, float],
    theirs: Mapping[str, float],
    by_size: bool = True,
    seconds: float = 0.0,
    error: str | None = None,
) -> Comparison:
    """Compare two sets of per-node figures: same top node, Spearman rank correlation."""
    comparison = Comparison(method, dict(ours), dict(theirs), None, None, seconds, error, by_size)
    if error or not ours or not theirs:
        return comparison
    same_top = comparison.ranking(ours)[0] == comparison.ranking(theirs)[0]
    common = sorted(set(ours) & set(theirs))
    rho = None
    a = [abs(ours[n]) if by_size else ours[n] for n in common]
    b = [abs(theirs[n]) if by_size else theirs[n] for n in common]
    if len(common) >= 3 and np.ptp(a) > 0 and np.ptp(b) > 0:
        rho = float(stats.spearmanr(a, b).statistic)
    return replace(comparison, same_top=same_top, rank_correlation=rho)


def _method(result) -> str:
    if isinstance(result, ExplainResult):
        return "dowhy.gcm.distribution_change"
    return "dowhy.gcm.attribute_anomalies"


def _distribution_change(gcm, result: ExplainResult, graph, before, after):
    """DoWhy's distribution_change on the rows explain used, with its statistic."""
    settings = result.settings
    opening = open_analysis(
        graph, {"--before": before, "--after": after}, result.target,
        max_rows=settings["max_rows"],
    )  # fmt: skip
    prepared = prepare_data(
        opening.graph, opening.tables["--before"], opening.tables["--after"],
        categorical=settings["categorical"], dropna=settings["dropna"],
        max_rows=settings["max_rows"], seed=settings["seed"],
    )  # fmt: skip
    target = result.target
    measure, _ = target_measure(
        parse_statistic(result.statistic), target, target in prepared.categorical,
        prepared.before[target].to_numpy(), prepared.after[target].to_numpy(),
        result.target_level,
    )  # fmt: skip

    def run():
        np.random.seed(settings["seed"] % 2**32)  # DoWhy draws from numpy's global generator
        model = gcm.ProbabilisticCausalModel(opening.graph)
        gcm.auto.assign_causal_mechanisms(model, prepared.before)  # DoWhy's defaults
        return gcm.distribution_change(
            model, prepared.before, prepared.after, target,
            difference_estimation_func=lambda old, new: measure(new) - measure(old),
        )  # fmt: skip

    return run


def _attribute_anomalies(gcm, result, graph, reference, anomalies, categorical, id_column):
    """DoWhy's attribute_anomalies on the rows anomaly attributed, summed over them."""
    settings = result.settings
    opening = open_analysis(
        graph, {"--reference": reference, "--anomalies": anomalies}, result.target,
        max_rows=settings["max_rows"],
    )  # fmt: skip
    data = prepare_anomaly_data(
        opening.graph, opening.tables["--reference"], opening.tables["--anomalies"],
        result.target, categorical=categorical, id_column=id_column,
        max_rows=settings["max_rows"], seed=settings["seed"],
    )  # fmt: skip
    attributed = [i for i, row in enumerate(result.rows) if row.root_causes]

    def run():
        if not attributed:
            raise ValueError("no row was attributed, so there is nothing to compare")
        np.random.seed(settings["seed"] % 2**32)
        model = gcm.InvertibleStructuralCausalModel(data.graph)
        gcm.auto.assign_causal_mechanisms(model, data.reference)
        gcm.fit(model, data.reference)
        rows = data.anomalies.iloc[attributed]
        scores = gcm.attribute_anomalies(model, result.target, anomaly_samples=rows)
        return {node: float(np.sum(values)) for node, values in scores.items()}

    return run
