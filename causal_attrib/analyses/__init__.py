"""Analyses: ``explain`` (and ``explain --by``), ``anomaly`` and ``check``, each a short
function of named steps over one shared opening (:mod:`causal_attrib.analyses.opening`)."""
