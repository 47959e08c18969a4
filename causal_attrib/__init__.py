"""causal-attrib: explain why a metric changed, with a causal graph instead of a hunch.

The main entry points are :func:`explain` (why a statistic changed between two periods),
:func:`attribute_anomalies` (which node caused these anomalous rows) and
:func:`check_graph` (is the graph consistent with the data); loaders
(:func:`load_graph`, :func:`read_table`) and strategies (model families, change tests,
statistics) are importable for notebooks.
Heavy modules load on first use, so importing the package (and ``--help``) stays fast.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    "explain": "causal_attrib.distribution_change",
    "ExplainResult": "causal_attrib.distribution_change",
    "NodeResult": "causal_attrib.distribution_change",
    "attribute_anomalies": "causal_attrib.anomalies",
    "AnomalyResult": "causal_attrib.anomalies",
    "TailScorer": "causal_attrib.anomalies",
    "check_graph": "causal_attrib.graph_check",
    "CheckResult": "causal_attrib.graph_check",
    "GcmTest": "causal_attrib.graph_check",
    "load_graph": "causal_attrib.graph_io",
    "read_table": "causal_attrib.data_io",
    "split_periods": "causal_attrib.data_io",
    "Statistic": "causal_attrib.attribution",
    "parse_statistic": "causal_attrib.attribution",
    "AutoModels": "causal_attrib.mechanisms",
    "LinearModels": "causal_attrib.mechanisms",
    "SplineModels": "causal_attrib.mechanisms",
    "PairwiseModels": "causal_attrib.mechanisms",
    "EXPLAIN_MODELS": "causal_attrib.distribution_change",
    "ResidualChangeTest": "causal_attrib.change_tests",
    "CategoricalChangeTest": "causal_attrib.change_tests",
    "InputError": "causal_attrib.exit_codes",
    "load_schema": "causal_attrib.schemas",
    "render": "causal_attrib.reports",
    "ReportData": "causal_attrib.reports",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'causal_attrib' has no attribute {name!r}")
