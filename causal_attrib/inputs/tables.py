"""Reading tables: CSV, TSV, Parquet and JSON Lines files, stdin, or DataFrames."""

from __future__ import annotations

import csv
import io
import itertools
import sys
from collections import Counter
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import pandas as pd

from ..errors import CausalAttribError, InputError
from .names import describe_nodes
from .streams import read_stdin

_EXTENSIONS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}


def read_table(source: str | Path | pd.DataFrame, label: str = "data") -> pd.DataFrame:
    """Read a CSV, TSV, Parquet or JSON Lines file by extension (``"-"``: stdin, CSV or JSONL).

    Parameters
    ----------
    source
        Path, ``"-"``, or a DataFrame (returned as is, with column names made text).
    label
        How error messages name this input (``"--before"``).
    """
    if isinstance(source, pd.DataFrame):
        # graph node names are always text (load_graph), so column names must be too
        if not all(isinstance(c, str) for c in source.columns):
            source = source.rename(columns=str)
        return numbers_as_floats(source)
    name = str(source)
    if name != "-":
        path = Path(name)
        if not path.exists():
            raise InputError(f"{label} file not found: {name}")
        if path.is_dir():
            raise InputError(f"{label} {name} is a directory, not a file")
    fmt = _EXTENSIONS.get(Path(name).suffix.lower(), "csv") if name != "-" else None
    try:
        if name == "-" or not Path(name).is_file():  # stdin, a FIFO, <(process substitution)
            raw = read_stdin(label) if name == "-" else _read_stream(Path(name), label)
            fmt = _sniff(raw) if name == "-" or fmt == "csv" else fmt
            handle: object = io.BytesIO(raw)
        else:
            handle = name
        if fmt == "parquet":
            frame = pd.read_parquet(handle)
            _release_arrow_memory()
        elif fmt == "jsonl":
            if not isinstance(handle, io.BytesIO):
                with open(handle, "rb") as fh:
                    _reject_binary(fh.read(_SNIFF_BYTES), label)
            frame = pd.read_json(handle, lines=True, dtype=False)
        else:
            frame = _read_delimited(handle, "\t" if fmt == "tsv" else None, label)
    except CausalAttribError:
        raise
    except PermissionError:
        raise InputError(f"{label} file is not readable (permission denied): {name}") from None
    except pd.errors.EmptyDataError:
        raise InputError(f"{label} {name} is empty") from None
    except UnicodeDecodeError:
        raise InputError(f"{label} {name} is not UTF-8 text") from None
    except Exception as exc:  # parsers raise many types; to the user they all mean "malformed"
        msg = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise InputError(f"cannot read {label} {name} as {fmt}: {msg}") from None
    frame.columns = [str(c) for c in frame.columns]
    _reject_duplicates(list(frame.columns), label)
    return numbers_as_floats(frame)


def numbers_as_floats(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns of numbers that NumPy cannot hold natively, as floats: integers beyond 64
    bits (CSV) and decimals (Parquet ``decimal128``) come as Python objects, and would
    otherwise look like text, making a measured node categorical."""
    converted = {}
    for name in frame.columns:
        col = frame[name]
        if col.dtype != object:
            continue
        present = col.dropna()
        if len(present) and all(_is_big_number(v) for v in present) and _exact(present):
            converted[name] = present.map(float).reindex(col.index).astype(float)
    return frame.assign(**converted) if converted else frame


def _exact(present: pd.Series) -> bool:
    """Whether every number converts to a float unchanged; if not, the column stays exact
    (Python integers) and the analysis refuses it as a node with one line, instead of
    losing a small signal on top of 10**20."""
    return all(not isinstance(v, int) or int(float(v)) == v for v in present)


def _is_big_number(value) -> bool:
    return isinstance(value, int | Decimal) and not isinstance(value, bool)


_DELIMITERS = ",;\t|"


_SNIFF_BYTES = 1 << 16


_DECIMAL_COMMA = r"[+-]?(?:\d+(?:,\d*)?|,\d+)(?:[eE][+-]?\d+)?"


def _read_delimited(handle, sep: str | None, label: str) -> pd.DataFrame:
    """Read delimited text with pandas' fast parser, after choosing the delimiter ourselves.

    The delimiter is the candidate that splits the first rows into the most fields, the
    same number in every row. The header is read separately because pandas renames a
    repeated column (``a``, ``a.1``), which would hide the duplicate. With ``;`` or tab
    delimiters, columns written with decimal commas (``0,25``) are read as numbers.
    """
    size = _SNIFF_BYTES
    head = _read_head(handle, size)
    if len(head) == size and b"\n" not in head:  # a header row longer than the block
        size = MAX_HEADER_BYTES
        head = _read_head(handle, size)
    _reject_binary(head, label)
    whole = len(head) < size
    text = head.decode("utf-8-sig", errors="strict" if whole else "ignore")
    sep = sep or _choose_delimiter(text, whole)
    header = next(csv.reader(io.StringIO(text), delimiter=sep), [])
    _reject_duplicates(header, label)
    frame = pd.read_csv(handle, sep=sep, engine="c", encoding="utf-8-sig")
    if sep != ",":
        for column in frame.columns:
            col = frame[column]
            if col.dtype != object and not pd.api.types.is_string_dtype(col):
                continue
            present = col.dropna().astype(str)
            if len(present) and present.str.fullmatch(_DECIMAL_COMMA).all():
                if present.str.contains(",", regex=False).any():
                    frame[column] = pd.to_numeric(col.str.replace(",", ".", regex=False))
    return frame


MAX_HEADER_BYTES = 64 << 20
"""Most bytes read to find the end of a (very wide) header row."""
MAX_STREAM_BYTES = 4 << 30
"""Most bytes read from a FIFO, a device or a process substitution (they are read once,
into memory, since they cannot be read twice)."""


def _read_stream(path: Path, label: str) -> bytes:
    """All of a non-regular file, read once; refused at its first block if it is binary
    (``/dev/zero``), and beyond :data:`MAX_STREAM_BYTES`."""
    with open(path, "rb") as fh:
        head = fh.read(_SNIFF_BYTES)
        if path.suffix.lower() not in (".parquet", ".pq"):
            _reject_binary(head, label)
        rest = fh.read(MAX_STREAM_BYTES + 1 - len(head))
    if len(head) + len(rest) > MAX_STREAM_BYTES:
        raise InputError(f"{label} {path} is larger than {MAX_STREAM_BYTES >> 30} GiB")
    return head + rest


def _read_head(handle, size: int) -> bytes:
    if isinstance(handle, io.BytesIO):
        return handle.getvalue()[:size]
    with open(handle, "rb") as fh:
        return fh.read(size)


def _reject_binary(head: bytes, label: str) -> None:
    """Text tables hold no NUL bytes: zeros (``/dev/zero``, a sparse file) or a binary file
    are refused at their first block, before anything is parsed or held in memory."""
    if b"\x00" in head:
        raise InputError(f"{label} looks binary (it holds NUL bytes), not CSV, TSV or JSON Lines")


def _choose_delimiter(text: str, whole: bool) -> str:
    """The candidate that splits the first rows into the most fields, the same number in
    every row. Rows are read as CSV, so a quoted field may hold the delimiter or a newline;
    the last row of a cut-off head is left out (it may be cut in the middle)."""
    best, best_fields = ",", 1
    for candidate in _DELIMITERS:
        try:
            rows = list(itertools.islice(csv.reader(io.StringIO(text), delimiter=candidate), 51))
        except csv.Error:
            continue
        rows = rows if whole and len(rows) <= 50 else rows[:-1]
        counts = {len(row) for row in rows if row}
        if len(counts) == 1 and (fields := counts.pop()) > best_fields:
            best, best_fields = candidate, fields
    return best


def _reject_duplicates(columns: Sequence[str], label: str) -> None:
    counts = Counter(columns)  # list.count per column was quadratic: 40,000 columns took 50 s
    duplicated = sorted(c for c, k in counts.items() if k > 1)
    if duplicated:
        raise InputError(
            f"{label} has duplicate column names: {describe_nodes(duplicated)}; "
            "rename them so each column is named once"
        )


def _sniff(raw: bytes) -> str:
    if raw[:4] == b"PAR1":
        return "parquet"
    if raw.lstrip()[:1] == b"{":
        return "jsonl"
    return "csv"


def split_periods(
    table: pd.DataFrame, period_column: str, before_value: str, after_value: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split one table into before/after by the value of ``period_column``.

    Values are compared as text, so ``--before-value 2021`` matches an integer column.
    """
    if period_column not in table.columns:
        raise InputError(f"period column {period_column!r} is not in the data")
    labels = table[period_column].astype(str)
    before = table[labels == str(before_value)].drop(columns=[period_column])
    after = table[labels == str(after_value)].drop(columns=[period_column])
    for name, value, part in (("before", before_value, before), ("after", after_value, after)):
        if part.empty:
            seen = describe_nodes(sorted(labels.unique()), limit=8)
            raise InputError(
                f"no rows have {period_column} == {value!r} for the {name} period "
                f"(values present: {seen})"
            )
    return before.reset_index(drop=True), after.reset_index(drop=True)


def _release_arrow_memory() -> None:
    """Return the memory Arrow used while reading Parquet to the system. pandas copies
    the columns out, but Arrow's allocator keeps the freed buffers: at 100,000 rows x
    1,000 columns that is about 1 GB per table held for the whole analysis."""
    import pyarrow

    pyarrow.default_memory_pool().release_unused()


def release_reader_memory() -> None:
    """Return to the system what readers freed since (tables dropped once prepared may
    have been Arrow's); nothing to do when no Parquet file was read."""
    if "pyarrow" in sys.modules:
        _release_arrow_memory()
