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


def read_table(
    source: str | Path | pd.DataFrame, label: str = "data", na_values: Sequence[str] = ()
) -> pd.DataFrame:
    """Read a CSV, TSV, Parquet or JSON Lines file by extension (``"-"``: stdin, CSV or JSONL).

    Missing values are a narrow, documented set, the same in every format: an empty cell
    (an empty string, JSON ``null``, a null in Parquet or a DataFrame) and the tokens in
    ``na_values``. Text such as ``None``, ``NA`` or ``null`` in a column of text is a
    level; in a column of numbers it is a gap, as in pandas. Booleans keep their spelling
    as level labels: ``TRUE``/``FALSE`` in CSV stay so, JSON's are ``true``/``false``,
    Parquet's and a DataFrame's ``True``/``False``.

    Parameters
    ----------
    source
        Path, ``"-"``, or a DataFrame (column names made text, ``na_values`` applied).
    label
        How error messages name this input (``"--before"``).
    na_values
        Further cell values that mean "missing" (``--na-values``).
    """
    na_values = _na_tokens(na_values)
    if isinstance(source, pd.DataFrame):
        # graph node names are always text (load_graph), so column names must be too
        if not all(isinstance(c, str) for c in source.columns):
            source = source.rename(columns=str)
        return numbers_as_floats(missing_as_na(source, na_values))
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
            frame = _json_booleans(pd.read_json(handle, lines=True, dtype=False))
        else:
            frame = _read_delimited(handle, "\t" if fmt == "tsv" else None, label, na_values)
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
    return numbers_as_floats(missing_as_na(frame, na_values))


def _na_tokens(na_values) -> tuple[str, ...]:
    """The user's missing-value tokens, checked: a sequence of strings (not one string)."""
    if isinstance(na_values, str) or not all(isinstance(v, str) for v in na_values):
        raise InputError(
            "na_values must be a list of strings (the cell values that mean missing)",
            parameter="na_values",
        )
    return tuple(na_values)


def missing_as_na(frame: pd.DataFrame, na_values: Sequence[str] = ()) -> pd.DataFrame:
    """Text cells that are empty or one of ``na_values`` as missing, in every text column;
    nothing else is (``None``, ``NA`` or ``null`` as text are levels)."""
    tokens = {"", *na_values}
    converted = {}
    for name in text_columns(frame):
        col = frame[name]
        gaps = col.isin(tokens) & col.notna()
        if gaps.any():
            converted[name] = col.mask(gaps)
    return frame.assign(**converted) if converted else frame


def _json_booleans(frame: pd.DataFrame) -> pd.DataFrame:
    """JSON ``true``/``false`` as level labels spelled as in the file (a bool column, or
    one mixing booleans and nulls)."""
    converted = {}
    for name in text_columns(frame, booleans=True):
        col = frame[name]
        if pd.api.types.is_bool_dtype(col) or _holds_bools(col):
            converted[name] = col.map(_json_spelling)
    return frame.assign(**converted) if converted else frame


def _json_spelling(value):
    return ("true" if value else "false") if isinstance(value, bool) else value


def text_columns(frame: pd.DataFrame, booleans: bool = False) -> list[str]:
    """Names of the columns that may hold text (object or string dtype), and with
    ``booleans`` of bool dtype; read off the dtypes at once (a wide table has 100,000)."""
    kinds = "Ob" if booleans else "O"  # StringDtype's kind is "O" too
    return [name for name, dtype in frame.dtypes.items() if dtype.kind in kinds]


def _holds_bools(col: pd.Series) -> bool:
    return col.dtype == object and any(isinstance(v, bool) for v in col.dropna())


def numbers_as_floats(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns of numbers that NumPy cannot hold natively, as floats: integers beyond 64
    bits (CSV) and decimals (Parquet ``decimal128``) come as Python objects, and would
    otherwise look like text, making a measured node categorical."""
    converted = {}
    for name in text_columns(frame):
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


def _read_delimited(
    handle, sep: str | None, label: str, na_values: Sequence[str] = ()
) -> pd.DataFrame:
    """Read delimited text with pandas' fast parser, after choosing the delimiter ourselves.

    The delimiter is the candidate that splits the first rows into the most fields, the
    same number in every row. The header is read separately because pandas renames a
    repeated column (``a``, ``a.1``), which would hide the duplicate. With ``;`` or tab
    delimiters, columns written with decimal commas (``0,25``) are read as numbers.
    Missing values are empty cells and ``na_values`` only (pandas' list of NA tokens
    applies to columns of numbers alone, see :func:`_numbers_with_tokens`), and columns
    pandas would read as booleans are read again as text, keeping their spelling.
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
    na = ["", *na_values]
    options = dict(sep=sep, engine="c", encoding="utf-8-sig", keep_default_na=False)
    frame = pd.read_csv(handle, na_values=na, **options)
    maybe = text_columns(frame, booleans=True)
    booleans = [c for c in maybe if frame[c].dtype == bool or _holds_bools(frame[c])]
    if booleans:  # TRUE/True/true would all become True: read those columns as text
        if isinstance(handle, io.BytesIO):
            handle.seek(0)
        text = pd.read_csv(handle, na_values=na, usecols=booleans, dtype=str, **options)
        frame = frame.assign(**{c: text[c] for c in booleans})
    frame = _numbers_with_tokens(frame)
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


_PANDAS_NA = frozenset(
    ("#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN")
    + ("<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null")
)
"""pandas' NA tokens: gaps in a column of numbers (an export's ``NaN``), levels in text."""


def _numbers_with_tokens(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns whose cells are all numbers or pandas NA tokens (some numbers), as
    numbers with gaps: a numeric export that writes ``NaN`` or ``NA`` stays numeric."""
    converted = {}
    for name in text_columns(frame):
        col = frame[name]
        present = col.dropna()
        tokens = present.isin(_PANDAS_NA)
        if not tokens.any() or tokens.all():
            continue
        numbers = pd.to_numeric(present[~tokens], errors="coerce")
        if numbers.notna().all():
            converted[name] = pd.to_numeric(col.mask(col.isin(_PANDAS_NA)), errors="coerce")
    return frame.assign(**converted) if converted else frame


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
