"""The one place where the library's Python parameter names become the CLI's flags.

Library errors name the Python parameter (``n_samples must be at least 100``) and carry it
as ``error.parameter``; :func:`cli_message` says the flag instead (``--samples must be at
least 100``) before the CLI prints the error.
"""

from __future__ import annotations

import re

FLAGS = {
    "after_window": "--after-window",
    "alpha": "--alpha",
    "anomalies": "--anomalies",
    "attribute": "--attribute",
    "attribute_to": "--attribute-to",
    "before_window": "--before-window",
    "bootstrap": "--bootstrap",
    "by": "--by",
    "data": "--data",
    "categorical": "--categorical",
    "confidence": "--confidence",
    "direction": "--direction",
    "dropna": "--dropna",
    "engine": "--engine",
    "fit_on": "--fit-on",
    "format": "--format",
    "graph_format": "--graph-format",
    "id_column": "--id-column",
    "incident": "--incident",
    "lags": "--lags",
    "max_rows": "--max-rows",
    "max_suggestions": "--suggestions",
    "metric": "--metric",
    "model": "--model",
    "na_values": "--na-values",
    "min_effect": "--min-effect",
    "min_rows": "--min-segment-rows",
    "n_jobs": "--jobs",
    "n_permutations": "--permutations",
    "n_samples": "--samples",
    "scheduler": "--scheduler",
    "seed": "--seed",
    "service_from": "--service-from",
    "since": "--since",
    "split_at": "--split-at",
    "statistic": "--statistic",
    "target": "--target",
    "target_level": "--target-level",
    "threshold": "--threshold",
    "time_column": "--time-column",
    "trace_format": "--trace-format",
    "window": "--window",
}
"""Python parameter -> CLI flag, for every parameter the CLI exposes."""


def cli_message(message: str, parameter: str | None) -> str:
    """``message`` with the Python parameter names the CLI knows by a flag written as
    flags: a keyword argument ``name='value'`` (``--name value``), every ``snake_case``
    name (unambiguous), and ``parameter`` itself where it opens the message (a one-word
    name like ``alpha`` elsewhere may be a plain word)."""

    def flag(match: re.Match) -> str:
        return FLAGS.get(match.group(), match.group())

    def keyword(match: re.Match) -> str:  # incident='auto' -> --incident auto
        return f"{FLAGS[match.group(1)]} {match.group(2)}"

    known = "|".join(sorted(FLAGS, key=len, reverse=True))
    out = re.sub(rf"(?<![\w'-])({known})='([^']*)'", keyword, message)
    out = re.sub(r"(?<![\w'-])[a-z]+(?:_[a-z]+)+(?![\w'-])", flag, out)
    if parameter in FLAGS and re.match(rf"{re.escape(parameter)}\b", out):
        out = FLAGS[parameter] + out[len(parameter) :]
    return out
