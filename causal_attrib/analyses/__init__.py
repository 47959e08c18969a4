"""Analyses: the questions asked of data and a graph. ``explain`` (and ``explain --by``),
``anomaly`` (rows and incidents), ``check``, ``influence``, and :mod:`.model`, the fitted
model they can share (``ca.fit``). Each opens its inputs the same way
(:mod:`causal_attrib.analyses.opening`) and gets its mechanisms from
:mod:`causal_attrib.models.fitting`."""
