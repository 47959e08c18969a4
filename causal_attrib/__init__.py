"""causal-attrib: explain why a metric changed, with a causal graph instead of a hunch.

The main entry points are :func:`explain` (why a statistic changed between two periods),
:func:`fit` (one fitted causal model to ask ``anomalies`` of, saved and reloaded),
:func:`attribute_anomalies` (which node caused these anomalous rows) and
:func:`check_graph` (is the graph consistent with the data), with
:func:`explain_segments` for ``explain --by``; loaders (:func:`load_graph`,
:func:`read_table`), strategies (model families, change tests, statistics) and
:func:`render` are importable for notebooks. The package is laid out as the pipeline runs:
``inputs`` → ``models`` → ``stats`` → ``analyses`` → ``results`` → ``rendering`` → ``cli``.
Heavy modules load on first use, so importing the package (and ``--help``) stays fast.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    "explain": "causal_attrib.analyses.explain",
    "fit": "causal_attrib.analyses.model",
    "load_model": "causal_attrib.analyses.model",
    "arrow_strength": "causal_attrib.analyses.model",
    "ShapleyConfig": "causal_attrib.stats.shapley",
    "FittedModel": "causal_attrib.analyses.model",
    "FittedSCM": "causal_attrib.models.fitting",
    "Mechanism": "causal_attrib.models.mechanisms",
    "EXPLAIN_MODELS": "causal_attrib.models.bases",
    "ANOMALY_MODELS": "causal_attrib.models.bases",
    "compare_with_dowhy": "causal_attrib.bridges.compare",
    "QuadraticModels": "causal_attrib.models.bases",
    "to_dowhy": "causal_attrib.bridges.dowhy",
    "explain_segments": "causal_attrib.analyses.segments",
    "attribute_anomalies": "causal_attrib.analyses.anomaly",
    "attribute_incident": "causal_attrib.analyses.incident",
    "check_graph": "causal_attrib.analyses.check",
    "service_graph": "causal_attrib.analyses.traces",
    "trace_metrics": "causal_attrib.analyses.traces",
    "intrinsic_influence": "causal_attrib.analyses.influence",
    "InfluenceResult": "causal_attrib.results.influence",
    "ExplainResult": "causal_attrib.results.explain",
    "NodeResult": "causal_attrib.results.explain",
    "SegmentedResult": "causal_attrib.results.segments",
    "AnomalyResult": "causal_attrib.results.anomaly",
    "CheckResult": "causal_attrib.results.check",
    "Result": "causal_attrib.results.base",
    "ReportData": "causal_attrib.results.base",
    "load_graph": "causal_attrib.inputs.graphs",
    "read_graph": "causal_attrib.inputs.graphs",
    "read_table": "causal_attrib.inputs.tables",
    "split_periods": "causal_attrib.inputs.tables",
    "TimeSpec": "causal_attrib.inputs.periods",
    "simulate_series": "causal_attrib.synthetic_series",
    "Statistic": "causal_attrib.stats.statistics",
    "parse_statistic": "causal_attrib.stats.statistics",
    "TailScorer": "causal_attrib.stats.scores",
    "GcmTest": "causal_attrib.stats.independence",
    "ResidualChangeTest": "causal_attrib.stats.change_tests",
    "ConditionalChangeTest": "causal_attrib.stats.change_tests",
    "CategoricalChangeTest": "causal_attrib.stats.change_tests",
    "AutoModels": "causal_attrib.models.bases",
    "LinearModels": "causal_attrib.models.bases",
    "SplineModels": "causal_attrib.models.bases",
    "PairwiseModels": "causal_attrib.models.bases",
    "Engine": "causal_attrib.engine",
    "InputError": "causal_attrib.errors",
    "InputTypeError": "causal_attrib.errors",
    "ModelFileError": "causal_attrib.errors",
    "CausalAttribError": "causal_attrib.errors",
    "load_schema": "causal_attrib.schemas",
    "render": "causal_attrib.rendering.registry",
}

__all__ = ["__version__", *_LAZY]


def __dir__() -> list[str]:
    """The public API, lazy names included (so ``dir(ca)`` and tab completion list them)."""
    return sorted(set(globals()) | set(__all__))


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'causal_attrib' has no attribute {name!r}")
