"""Every option with a fixed set of values, declared once as an enum.

The library validates with :func:`parse_choice` and the CLI builds its ``click.Choice`` from
the same enums, so a new value is added in one place and both accept it.
"""

from __future__ import annotations

from enum import StrEnum

from .errors import InputError


class Format(StrEnum):
    """How a result is rendered."""

    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"
    HTML = "html"


class GraphFormat(StrEnum):
    """Graph file formats :func:`causal_attrib.load_graph` reads."""

    DOT = "dot"
    DAGITTY = "dagitty"
    GML = "gml"
    GRAPHML = "graphml"
    JSON = "json"
    EDGELIST = "edgelist"
    ADJACENCY = "adjacency"


class AttributeTo(StrEnum):
    """Shapley players of ``explain``: flagged mechanisms only, or every ancestor."""

    CHANGED = "changed"
    ALL = "all"


class FitOn(StrEnum):
    """Rows ``anomaly`` fits mechanisms on."""

    BOTH = "both"
    REFERENCE = "reference"


class Direction(StrEnum):
    """Which deviations of an anomaly target count."""

    BOTH = "both"
    HIGH = "high"
    LOW = "low"


class AttributeRows(StrEnum):
    """Rows ``anomaly`` attributes: the anomalous ones, or all."""

    ANOMALOUS = "anomalous"
    ALL = "all"


class EngineKind(StrEnum):
    """Where independent units of work run."""

    THREADS = "threads"
    PROCESSES = "processes"
    DASK = "dask"


class Command(StrEnum):
    """The analyses whose JSON has a schema (``causal-attrib schema NAME``)."""

    EXPLAIN = "explain"
    ANOMALY = "anomaly"
    CHECK = "check"
    SEGMENTS = "segments"
    INFLUENCE = "influence"
    MODEL = "model"  # the document inside a saved model file (causal-attrib fit)


class Spread(StrEnum):
    """How ``influence`` measures the target's uncertainty."""

    VAR = "var"
    STD = "std"


class TraceFormat(StrEnum):
    """Span file formats ``graph`` and ``metrics`` read (``auto``: sniffed per file)."""

    AUTO = "auto"
    OTLP = "otlp"
    JAEGER = "jaeger"
    ZIPKIN = "zipkin"
    CSV = "csv"


class GraphOutput(StrEnum):
    """Formats ``graph`` writes: the graph formats the other commands read back."""

    DOT = "dot"
    CSV = "csv"
    JSON = "json"


class CycleRule(StrEnum):
    """What ``graph`` does with mutual calls: drop the rarer edge of each cycle, or keep it
    as an edge acting one time step later (time-series mode)."""

    DROP = "drop"
    LAG = "lag"


def values(choice: type[StrEnum]) -> tuple[str, ...]:
    """The allowed values of an enum, in declaration order."""
    return tuple(member.value for member in choice)


def parse_choice(choice: type[StrEnum], value: object, option: str) -> StrEnum:
    """``value`` as a member of ``choice``, or an :class:`InputError` naming ``option``
    (the Python parameter; the CLI says its flag)."""
    try:
        return choice(value)
    except (ValueError, TypeError):
        allowed = ", ".join(values(choice))
        shown = repr(value) if isinstance(value, str | int | float) else type(value).__name__
        raise InputError(
            f"{option} must be one of {allowed}, not {shown}", parameter=option
        ) from None
