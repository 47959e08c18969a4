"""Matching tables to the graph: which columns are nodes, their types, gaps and samples.

A column is *categorical* when it holds text or booleans, or when the user names it with
``categorical=``; every other column is continuous. Integer counts stay continuous on purpose:
their changes are shifts in level, which additive-noise models describe well, and treating a
count with a few hundred values as categories would throw that structure away.

The three analyses' preparations share one core (names matched, extra columns noted, types
decided, levels checked) and differ where their questions differ: ``explain`` needs complete
rows in both periods, ``anomaly`` keeps gaps (monitoring data has them), and ``check`` tests
what is measured.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import pandas as pd

from ..errors import InputError
from .graphs import project_out
from .names import closest, describe_nodes
from .tables import release_reader_memory


@dataclass(frozen=True)
class PreparedData:
    """The node columns of the before and after tables, typed and checked.

    Attributes
    ----------
    before, after
        Frames with exactly the graph's nodes as columns: float for continuous nodes,
        strings for categorical ones.
    categorical
        Names of the categorical nodes.
    notes
        Things the user should know (ignored columns, dropped rows), for stderr.
    """

    before: pd.DataFrame
    after: pd.DataFrame
    categorical: frozenset[str]
    notes: tuple[str, ...] = field(default=())
    totals: tuple[int, int] = (0, 0)
    """Rows of the before and after tables as given, before dropping and sampling."""
    level_changes: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = field(
        default_factory=dict
    )
    """Categorical nodes whose support changed: the levels that appeared in the after data
    and those that vanished from it."""


def prepare_data(
    graph: nx.DiGraph,
    before: pd.DataFrame,
    after: pd.DataFrame,
    categorical: Iterable[str] = (),
    dropna: bool = False,
    min_rows: int = 5,
    max_rows: int | None = None,
    seed: int = 0,
) -> PreparedData:
    """Select the graph's nodes from both tables, decide their types and check values.

    Parameters
    ----------
    graph
        The causal DAG; every node must be a column of both tables.
    before, after
        The two periods' measurements.
    categorical
        Column names to treat as categorical even if numeric.
    dropna
        Drop rows with a missing value in a node column instead of failing.
    min_rows
        Fewest rows each period must keep.
    max_rows
        Use a seeded uniform sample of at most this many rows per period (``None``: all).
        Millions of rows cost memory and time and make tests flag changes too small to
        matter; the notes say how many rows were used.
    seed
        Seed of that sample.
    """
    nodes = list(graph.nodes)
    match = _match({"before": before, "after": after}, nodes, categorical)
    for name, frame in match.frames.items():
        missing = [n for n in nodes if n not in frame.columns]
        if missing:
            raise _missing_columns(name, frame, missing)
    frames = {k: f[nodes].reset_index(drop=True) for k, f in match.frames.items()}
    cat_nodes, notes = _typing(match, frames, nodes, extra_from=match.frames.values())
    # the tables as given are not needed beyond this point; at 1,000 nodes x 100,000 rows
    # per period each copy is 0.8 GB, so no third copy is held while the typed one is built
    # (the selected columns may still share the reader's buffers until then)
    del before, after
    match.frames.clear()
    for name, frame in frames.items():
        _reject_empty(name, frame)
    frames = _complete_rows(frames, dropna, notes)
    totals = (len(frames["before"]), len(frames["after"]))
    notes += _copy_notes(frames, cat_nodes)
    out = {}
    for name, frame in frames.items():
        frame, note = sample_rows(frame, max_rows, seed, f"{name} rows")
        notes += [note] if note else []
        out[name] = _typed(frame, nodes, cat_nodes, name)
        frames[name] = frame = None  # the selected columns may still be Arrow's buffers
        if len(out[name]) < min_rows:
            raise InputError(
                f"the {name} data has {len(out[name])} usable row(s); at least {min_rows} are "
                "needed to fit and test mechanisms"
            )
    release_reader_memory()  # now nothing of the tables as read is left
    changes = level_changes(out["before"], out["after"], cat_nodes)
    notes += level_change_notes(changes)
    return PreparedData(
        out["before"], out["after"], frozenset(cat_nodes), tuple(notes), totals, changes
    )


def _complete_rows(
    frames: dict[str, pd.DataFrame], dropna: bool, notes: list[str]
) -> dict[str, pd.DataFrame]:
    """Both periods without missing values: dropped (and counted in a note) or refused."""
    if not dropna:
        for name, frame in frames.items():
            _reject_missing(name, frame)
        return frames
    out, dropped = {}, {}
    for name, frame in frames.items():
        out[name], dropped[name] = _drop_incomplete(frame)
    if any(dropped.values()):
        notes.append(
            f"dropped {dropped['before']} before row(s) and {dropped['after']} after row(s) "
            "with missing values"
        )
    return out


COPIES = 0.05
"""Share of exact copies among rows with a continuous node beyond which a note warns."""


def _copy_notes(frames: Mapping[str, pd.DataFrame], cat_nodes: set[str]) -> list[str]:
    """Say when many rows are exact copies of others. With a continuous node, exact copies
    are a join or an export that repeated rows, not new measurements; every test counts
    them as new information, so p-values come out far too small."""
    notes = []
    for name, frame in frames.items():
        if len(frame) < 2 or set(frame.columns) <= set(cat_nodes):
            continue  # categorical rows repeat by nature
        copies = int(frame.duplicated().sum())
        if copies > COPIES * len(frame):
            notes.append(
                f"{copies:,} of {len(frame):,} rows of {_the(name)} are exact copies of other "
                "rows; the tests count each copy as new information, so their p-values are too "
                "small (remove the copies if they are not real repeated measurements)"
            )
    return notes


def level_changes(
    before: pd.DataFrame, after: pd.DataFrame, cat_nodes: Iterable[str]
) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """Per categorical node whose support changed: levels that appeared, levels that vanished."""
    out = {}
    for node in sorted(cat_nodes):
        old, new = set(before[node]), set(after[node])
        if old != new:
            out[node] = (tuple(sorted(new - old)), tuple(sorted(old - new)))
    return out


def level_change_notes(changes: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]]) -> list:
    """A note per node whose levels appeared or vanished."""
    notes = []
    for node, (appeared, vanished) in changes.items():
        if appeared:
            notes.append(
                f"level(s) of {node!r} appeared in the after data: {describe_nodes(appeared, 5)}; "
                "its children's old mechanisms take their behaviour at a new level from the "
                "after rows, so the new level counts as a change of "
                f"{node!r} itself"
            )
        if vanished:
            notes.append(
                f"level(s) of {node!r} vanished from the after data: {describe_nodes(vanished, 5)}"
            )
    return notes


@dataclass
class _Match:
    """The tables with columns matched to node names, the declared categorical nodes, and
    the notes so far: the start every preparation shares."""

    frames: dict[str, pd.DataFrame]
    declared: set[str]
    notes: list[str]


def _match(frames: dict[str, pd.DataFrame], nodes: Sequence[str], categorical) -> _Match:
    declared = _declared_categorical(categorical, nodes)
    matched, notes = _match_names(frames, nodes)
    return _Match(matched, declared, notes)


def _typing(
    match: _Match,
    frames: Mapping[str, pd.DataFrame],
    nodes: Sequence[str],
    extra_from: Iterable[pd.DataFrame],
    extra_what: str = "column(s)",
    not_extra: Iterable[str] = (),
) -> tuple[set[str], list[str]]:
    """The notes on columns that are not nodes, then the categorical nodes and their level
    notes (too many levels is an error)."""
    notes = list(match.notes)
    columns = set().union(*(f.columns for f in extra_from))
    extra = sorted(columns - set(nodes) - set(not_extra))
    if extra:
        notes.append(
            f"ignoring {len(extra)} {extra_what} that are not graph nodes: {describe_nodes(extra)}"
        )
    cat_nodes = _categorical_nodes(frames, nodes, match.declared)
    notes += _level_notes(frames, cat_nodes)
    return cat_nodes, notes


@dataclass(frozen=True)
class AnomalyData:
    """Reference and anomalous rows matched to the graph, gaps kept as NaN (None if text).

    Attributes
    ----------
    graph
        The graph with never-measured nodes projected out (their parents wired to their
        children, so causal paths survive).
    reference, anomalies
        Frames with exactly ``graph``'s nodes as columns; float for continuous nodes, object
        for categorical ones. A node the anomalous rows do not measure is all missing.
    categorical
        Names of the categorical nodes.
    labels
        One label per anomalous row (the ``id_column`` value, or the 1-based row number).
    notes
        Things the user should know (projected nodes, gaps, ignored columns), for stderr.
    """

    graph: nx.DiGraph
    reference: pd.DataFrame
    anomalies: pd.DataFrame
    categorical: frozenset[str]
    labels: tuple[str, ...]
    notes: tuple[str, ...] = field(default=())


def prepare_anomaly_data(
    graph: nx.DiGraph,
    reference: pd.DataFrame,
    anomalies: pd.DataFrame,
    target: str,
    categorical: Iterable[str] = (),
    id_column: str | None = None,
    min_rows: int = 10,
    max_rows: int | None = None,
    seed: int = 0,
) -> AnomalyData:
    """Match monitoring-style tables to the graph, where gaps are normal rather than errors.

    A node the reference never measures cannot get a mechanism, so it is projected out of
    the graph; gaps elsewhere stay missing and are handled by the analysis (and reported).
    The target must be measured in the reference, with at least ``min_rows`` values.
    ``max_rows`` caps the reference rows used (a seeded sample, noted); anomalous rows are
    all kept because they are the question.
    """
    nodes = list(graph.nodes)
    match = _match({"reference": reference, "anomalies": anomalies}, nodes, categorical)
    reference, anomalies = match.frames["reference"], match.frames["anomalies"]
    reference, note = sample_rows(reference, max_rows, seed, "reference rows", "fitting")
    match.notes += [note] if note else []
    labels = _row_labels(anomalies, id_column)
    if target not in reference.columns:
        raise InputError(
            f"the reference data does not measure the target {target!r}"
            f"{closest(target, reference.columns)}"
        )
    graph, unmeasured = _bypass_unmeasured(graph, reference, target, match.notes)
    nodes = list(graph.nodes)
    _note_absent(anomalies, nodes, target, match.notes)
    frames = {
        "reference": reference.reindex(columns=nodes).reset_index(drop=True),
        "anomalies": anomalies.reindex(columns=nodes).reset_index(drop=True),
    }
    cat_nodes, notes = _typing(
        match,
        frames,
        nodes,
        extra_from=[anomalies],
        extra_what="anomaly column(s)",
        not_extra=[*unmeasured, id_column],
    )
    typed = {name: _typed_with_gaps(f, nodes, cat_nodes, name) for name, f in frames.items()}
    _require_target_values(typed, target, min_rows)
    notes += _gap_notes(typed, target, labels)
    return AnomalyData(
        graph, typed["reference"], typed["anomalies"], frozenset(cat_nodes), labels, tuple(notes)
    )


@dataclass(frozen=True)
class ReferenceData:
    """One table of normal operation matched to the graph, gaps kept (as for anomalies):
    what a saved model is fitted on. ``rows_total`` counts the rows before ``max_rows``."""

    graph: nx.DiGraph
    reference: pd.DataFrame
    categorical: frozenset[str]
    rows_total: int
    notes: tuple[str, ...] = field(default=())


def prepare_reference_data(
    graph: nx.DiGraph,
    reference: pd.DataFrame,
    categorical: Iterable[str] = (),
    max_rows: int | None = None,
    seed: int = 0,
    min_rows: int = 10,
) -> ReferenceData:
    """Match a reference table to the graph as :func:`prepare_anomaly_data` does (nodes it
    never measures bypassed, gaps kept, a seeded sample of ``max_rows`` rows), for a model
    fitted before any anomaly is known."""
    nodes = list(graph.nodes)
    match = _match({"reference": reference}, nodes, categorical)
    frame = match.frames["reference"]
    total = len(frame)
    frame, note = sample_rows(frame, max_rows, seed, "reference rows", "fitting")
    match.notes += [note] if note else []
    if len(frame) < min_rows:
        raise InputError(
            f"the reference data has {len(frame)} row(s); at least {min_rows} are needed",
            parameter="data",
        )
    graph, unmeasured = _bypass_unmeasured(graph, frame, None, match.notes)
    nodes = list(graph.nodes)
    frames = {"reference": frame.reindex(columns=nodes).reset_index(drop=True)}
    cat_nodes, notes = _typing(match, frames, nodes, extra_from=[frame], not_extra=unmeasured)
    typed = _typed_with_gaps(frames["reference"], nodes, cat_nodes, "reference")
    return ReferenceData(graph, typed, frozenset(cat_nodes), total, tuple(notes))


def _row_labels(anomalies: pd.DataFrame, id_column: str | None) -> tuple[str, ...]:
    """One label per anomalous row: its ``id_column`` value, or its 1-based number."""
    if id_column is not None and id_column not in anomalies.columns:
        raise InputError(
            f"id_column {id_column!r} is not a column of the anomalies table"
            f"{closest(id_column, anomalies.columns)}",
            parameter="id_column",
        )
    return tuple(
        str(v) for v in (anomalies[id_column] if id_column else range(1, len(anomalies) + 1))
    )


def _bypass_unmeasured(
    graph: nx.DiGraph, reference: pd.DataFrame, target: str | None, notes: list[str]
) -> tuple[nx.DiGraph, list[str]]:
    """The graph without the nodes the reference (almost) never measures, parents wired to
    children; the target is never bypassed (too few values of it is an error instead)."""
    unmeasured = [
        n
        for n in graph.nodes
        if n != target and (n not in reference.columns or reference[n].notna().sum() < 2)
    ]
    if unmeasured:
        graph = project_out(graph, unmeasured)
        notes.append(
            f"{len(unmeasured)} node(s) have (almost) no values in the reference data and were "
            f"bypassed (parents wired to children): {describe_nodes(unmeasured)}"
        )
    return graph, unmeasured


def _note_absent(anomalies: pd.DataFrame, nodes: Sequence[str], target: str, notes: list[str]):
    absent = [n for n in nodes if n not in anomalies.columns]
    if target in absent:
        raise InputError(f"the anomalies table has no column for the target {target!r}")
    if absent:
        notes.append(
            f"{len(absent)} node(s) are not measured in the anomalous rows and cannot be "
            f"named as root causes: {describe_nodes(absent)}"
        )


def _typed_with_gaps(
    frame: pd.DataFrame, nodes: Sequence[str], cat_nodes: set[str], name: str
) -> pd.DataFrame:
    """Text (``None`` for gaps) for categorical nodes, floats (NaN for gaps) for others."""
    cols = {}
    for node in nodes:
        col = frame[node]
        if node in cat_nodes:
            cols[node] = level_labels(col)
        else:
            values = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
            cols[node] = _reject_infinite(values, np.isinf(values), name, node)
    return pd.DataFrame(cols, columns=nodes)


def _require_target_values(typed: Mapping[str, pd.DataFrame], target: str, min_rows: int):
    n_target = int(typed["reference"][target].notna().sum())
    if n_target < min_rows:
        raise InputError(
            f"the reference data has {n_target} value(s) of the target {target!r}; at least "
            f"{min_rows} normal rows are needed to tell an anomaly from noise"
        )
    if len(typed["anomalies"]) == 0:
        raise InputError("the anomalies table has no rows")


def _gap_notes(typed: Mapping[str, pd.DataFrame], target: str, labels: Sequence[str]) -> list[str]:
    notes = []
    blank = typed["anomalies"][target].isna().to_numpy()
    if blank.any():
        shown = describe_nodes([labels[i] for i in np.flatnonzero(blank)], limit=5)
        notes.append(
            f"{int(blank.sum())} anomalous row(s) have no value of the target {target!r} and "
            f"cannot be scored: {shown}"
        )
    gaps = typed["reference"].isna().sum()
    gaps = gaps[gaps > 0]
    if len(gaps):
        notes.append(
            f"the reference data has gaps in {len(gaps)} node(s) ({int(gaps.sum())} cells); "
            "each mechanism is fitted on the rows that measure its node, with missing parent "
            "values filled by the parent's median (most common level)"
        )
    return notes


@dataclass(frozen=True)
class CheckData:
    """One table matched to a graph whose consistency with it is to be checked.

    Attributes
    ----------
    data
        The measured graph nodes as columns (float, or text for categorical nodes), complete
        rows only, at most ``max_rows`` of them.
    categorical
        Names of the categorical nodes.
    unmeasured
        Graph nodes without a column (or with no values): implications that mention them
        cannot be tested.
    rows_total
        Rows of the table before dropping incomplete rows and sampling.
    notes
        Things the user should know (ignored columns, dropped or sampled rows), for stderr.
    """

    data: pd.DataFrame
    categorical: frozenset[str]
    unmeasured: tuple[str, ...]
    rows_total: int
    notes: tuple[str, ...] = field(default=())


def prepare_check_data(
    graph: nx.DiGraph,
    table: pd.DataFrame,
    categorical: Iterable[str] = (),
    dropna: bool = False,
    max_rows: int | None = None,
    seed: int = 0,
    min_rows: int = 10,
) -> CheckData:
    """Select, type and (if asked) sample the columns of ``table`` that are graph nodes.

    Unlike :func:`prepare_data`, a node without a column is not an error: checking the graph
    tells the user about it and tests what can be tested. ``max_rows`` caps the rows used
    (a seeded uniform sample, in the original order) because conditional-independence tests
    on millions of rows cost time and detect differences too small to matter.
    """
    nodes = [str(n) for n in graph.nodes]
    match = _match({"data": table}, nodes, categorical)
    table = match.frames["data"]
    unmeasured = [n for n in nodes if n not in table.columns or table[n].isna().all()]
    measured = [n for n in nodes if n not in unmeasured]
    if not measured:
        raise InputError(
            "no graph node is a column of the data; check that node names match the header"
            f"{closest(nodes[0], table.columns)}"
        )
    frame = table[measured].reset_index(drop=True)
    cat_nodes, notes = _typing(
        match, {"data": frame}, measured, extra_from=[table], not_extra=unmeasured
    )
    if dropna:
        frame, dropped = _drop_incomplete(frame)
        if dropped:
            notes.append(f"dropped {dropped} row(s) with missing values")
    else:
        _reject_missing("", frame)
    if len(frame) < min_rows:
        raise InputError(
            f"the data has {len(frame)} usable row(s); at least {min_rows} are needed to test "
            "independences"
        )
    notes += _copy_notes({"": frame}, cat_nodes)
    frame, note = sample_rows(frame, max_rows, seed, "rows", "testing")
    notes += [note] if note else []
    typed = _typed(frame, measured, cat_nodes, "")
    return CheckData(typed, frozenset(cat_nodes), tuple(unmeasured), len(table), tuple(notes))


def _match_names(
    frames: dict[str, pd.DataFrame], nodes: Sequence[str]
) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Match columns to nodes whose names differ only by surrounding whitespace.

    Spreadsheet exports often pad headers (``a, b, c``); a padded column that is the only
    candidate for a node is used for it, with a note. Exact names always win.
    """
    node_set = set(nodes)
    renamed: dict[str, str] = {}
    out = {}
    for name, frame in frames.items():
        mapping = {}
        for node in nodes:
            if node in frame.columns:
                continue
            near = [c for c in frame.columns if c not in node_set and c.strip() == node.strip()]
            if len(near) == 1:
                mapping[near[0]] = node
                renamed[near[0]] = node
        out[name] = frame.rename(columns=mapping) if mapping else frame
    notes = []
    if renamed:
        pairs = ", ".join(f"{c!r} as {n!r}" for c, n in list(renamed.items())[:5])
        more = f" and {len(renamed) - 5} more" if len(renamed) > 5 else ""
        notes.append(f"matched column(s) to nodes ignoring surrounding spaces: {pairs}{more}")
    return out, notes


def _missing_columns(name: str, frame: pd.DataFrame, missing: Sequence[str]) -> InputError:
    return InputError(
        f"the {name} data lacks columns for graph nodes: {describe_nodes(missing)}"
        f"{closest(missing[0], frame.columns)}"
    )


MAX_MAGNITUDE = 1e100
"""Largest (and, inverted, smallest) column scale accepted: squares and sums of squares of
values beyond it overflow (or underflow) double precision, which would corrupt fits silently."""


def check_max_rows(max_rows: int | None) -> None:
    """Reject a row cap too small to fit or test anything (``None`` means no cap)."""
    if max_rows is not None and max_rows < 10:
        raise InputError(
            f"max_rows must be at least 10 (or 0 for all rows), not {max_rows}",
            parameter="max_rows",
        )


def sample_rows(
    frame: pd.DataFrame,
    max_rows: int | None,
    seed: int,
    what: str,
    use: str = "fitting and testing",
) -> tuple[pd.DataFrame, str | None]:
    """A seeded uniform sample of ``max_rows`` rows in their original order, and a note."""
    if max_rows is None or len(frame) <= max_rows:
        return frame, None
    keep = np.sort(np.random.default_rng(seed).choice(len(frame), max_rows, replace=False))
    note = f"{use} on a seeded sample of {max_rows:,} of {len(frame):,} {what} (--max-rows)"
    return frame.iloc[keep].reset_index(drop=True), note


def _reject_infinite(values: np.ndarray, bad: np.ndarray, name: str, node: str) -> np.ndarray:
    """Return ``values``, or fail naming the first ``bad`` (infinite) cell or an unusable scale."""
    if bad.any():
        row = int(np.flatnonzero(bad)[0]) + 1
        raise InputError(f"{_the(name)} has an infinite value in {node!r} at data row {row}")
    return check_scale(values, node, _the(name))


def check_scale(values: np.ndarray, node: str, where: str) -> np.ndarray:
    """``values``, or an error when the column's scale (its largest magnitude) is outside
    1/:data:`MAX_MAGNITUDE` to :data:`MAX_MAGNITUDE`, in every mode (time series too)."""
    finite = values[np.isfinite(values)]
    scale = float(np.max(np.abs(finite))) if finite.size else 0.0
    if scale > MAX_MAGNITUDE or 0.0 < scale < 1.0 / MAX_MAGNITUDE:
        raise InputError(
            f"column {node!r} of {where} has values of size {scale:.3g}; "
            f"this tool computes in double precision and needs column scales between "
            f"{1 / MAX_MAGNITUDE:g} and {MAX_MAGNITUDE:g}: rescale the column (other units)"
        )
    return values


def _kind(col: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(col):
        return "bool"
    if pd.api.types.is_numeric_dtype(col):
        return "numeric"
    return "text"


def is_text(col: pd.Series) -> bool:
    """Whether a column holds text or booleans (ignoring gaps): always categorical."""
    return _kind(col.dropna()) != "numeric"


def level_labels(col: pd.Series, missing: str | None = None) -> np.ndarray:
    """A categorical column's values as the level labels the analyses use.

    Whole numbers read as floats (a 0/1 column with one blank cell is read as 0.0/1.0)
    get the labels of the integers they are, so that a level is the same in a table with
    a gap and in one without. Missing cells become ``missing``.
    """
    present = col.notna().to_numpy()
    values = col
    if pd.api.types.is_float_dtype(col):
        kept = col.to_numpy(dtype=float)[present]
        if np.all(np.isfinite(kept)) and np.all(kept == np.round(kept)):
            values = col.astype("Int64")
    labels = values.astype(str).to_numpy(dtype=object)
    labels[~present] = missing
    return labels


def _declared_categorical(categorical: Iterable[str], nodes: Sequence[str]) -> set[str]:
    """The user's ``--categorical`` names, all of which must be graph nodes."""
    declared = set(categorical)
    unknown = sorted(declared - set(nodes))
    if unknown:
        raise InputError(
            f"categorical names columns that are not graph nodes: {describe_nodes(unknown)}",
            parameter="categorical",
        )
    return declared


def _categorical_nodes(
    frames: Mapping[str, pd.DataFrame], nodes: Sequence[str], declared: set[str]
) -> set[str]:
    """Declared nodes plus those holding text or booleans in any frame (gaps ignored).

    A mostly numeric column with a few junk cells is an error naming the first bad cell,
    not a silent switch to categories.
    """
    cat_nodes = set(declared) & set(nodes)
    for node in nodes:
        if node in declared:
            continue
        columns = {name: frame[node] for name, frame in frames.items()}
        if {_kind(col.dropna()) for col in columns.values()} & {"text", "bool"}:
            junk = _numeric_junk(columns, node)
            if junk is not None:
                raise InputError(junk)
            cat_nodes.add(node)
    return cat_nodes


MAX_LEVELS = 500
"""Most levels a categorical node may have. A classifier over thousands of levels needs
rows x levels memory and learns little; such columns are identifiers or garbled numbers."""


MANY_LEVELS = 50


def _level_notes(frames: Mapping[str, pd.DataFrame], cat_nodes: Iterable[str]) -> list[str]:
    """Reject categorical nodes with more than :data:`MAX_LEVELS` levels; note the many."""
    notes = []
    for node in sorted(cat_nodes):
        values = pd.concat([f[node].dropna().astype(str) for f in frames.values()])
        n_levels = values.nunique()
        if n_levels > MAX_LEVELS:
            raise InputError(
                f"column {node!r} has {n_levels} distinct text values, more than the "
                f"{MAX_LEVELS} levels a categorical node may have; if it holds numbers, fix "
                "their format, and if it is an identifier, leave it out of the graph"
            )
        if n_levels > MANY_LEVELS:
            notes.append(
                f"categorical node {node!r} has {n_levels} levels; its mechanisms are slow to "
                "fit and need many rows per level"
            )
    return notes


def _the(name: str) -> str:
    return f"the {name} data" if name else "the data"


def _reject_empty(name: str, frame: pd.DataFrame) -> None:
    """A node column without a single value is a broken export, not something to drop rows for."""
    empty = [c for c in frame.columns if frame[c].isna().all()]
    if empty and len(frame):
        raise InputError(
            f"{_the(name)} has no values at all in {describe_nodes(empty)} "
            f"(all {len(frame)} rows are empty); check the export or remove the node"
        )


def _reject_missing(name: str, frame: pd.DataFrame) -> None:
    counts = frame.isna().sum()
    counts = counts[counts > 0]
    if len(counts):
        listed = ", ".join(f"{c!r} ({k})" for c, k in counts.items())
        raise InputError(
            f"{_the(name)} has missing values in {listed}; "
            "fill them or drop incomplete rows (dropna=True; --dropna in explain, check and "
            "influence)"
        )


def _typed(frame: pd.DataFrame, nodes: Sequence[str], cat_nodes: set[str], name: str):
    """Complete rows typed: text for categorical nodes, finite floats for the others."""
    typed = {}
    for node in nodes:
        col = frame[node]
        if node in cat_nodes:
            typed[node] = level_labels(col)
        else:
            values = col.to_numpy(dtype=float)
            typed[node] = _reject_infinite(values, ~np.isfinite(values), name, node)
    return pd.DataFrame(typed, columns=list(nodes))


def _numeric_junk(columns: Mapping[str, pd.Series], node: str) -> str | None:
    """Name the first non-number of a column that should hold numbers, if there is one.

    A column should hold numbers when most of its cells parse as numbers, or when another
    table (the other period) holds only numbers in it: a mismatch between periods would
    otherwise make the node silently categorical with every level unseen.
    """
    numeric_in = [
        name for name, col in columns.items() if len(col.dropna()) and _kind(col) == "numeric"
    ]
    for name, col in columns.items():
        present = col.dropna()
        if _kind(col) != "text" or not len(present):
            continue
        parsed = pd.to_numeric(present, errors="coerce")
        share = parsed.notna().mean() if len(present) else 0.0
        if (0.5 <= share < 1.0) or (numeric_in and share < 1.0):
            bad = parsed.isna().to_numpy()
            idx = present.index[np.flatnonzero(bad)[0]]
            value, row = str(col.loc[idx]), int(idx) + 1
            if share < 0.5:  # numeric only in the other table
                problem = (
                    f"column {node!r} is numeric in the {numeric_in[0]} data but data row {row} "
                    f"of the {name} data holds {value!r}"
                )
            else:
                problem = f"column {node!r} of the {name} data is numeric but data row {row} "
                problem += f"holds {value!r}"
            return f"{problem}; fix the value or declare the column categorical (--categorical)"
    return None


def _drop_incomplete(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    keep = frame.notna().all(axis=1)
    return frame[keep].reset_index(drop=True), int((~keep).sum())
