"""Reading distributed-tracing spans: OTLP JSON, Jaeger JSON, Zipkin v2 JSON and flat CSV.

Every format is read into :class:`SpanBatch` es of at most ``chunk_rows`` spans, columns of
fixed-width numbers (ids hashed to 64 bits, times in Unix nanoseconds) and the service
name, so that what is kept of a span is a few dozen bytes whatever the format spent on it.

- **OTLP JSON**, as the OpenTelemetry Collector's file exporter writes it:
  ``resourceSpans[].scopeSpans[].spans[]``, the service from the resource attribute
  ``service.name``; one document, or one document per line (batches). Ids may be hex (the
  OTLP/JSON rule) or base64 (protobuf's generic JSON encoding): they are only compared.
- **Jaeger JSON**, the query API's and UI's export: ``data[].spans[]``, the parent from the
  first ``CHILD_OF`` reference (else ``FOLLOWS_FROM``), the service from
  ``processes[processID].serviceName``, times in microseconds.
- **Zipkin v2 JSON**: a list of spans (or a list of traces, each a list of spans) with
  ``traceId``, ``id``, ``parentId``, ``localEndpoint.serviceName``, microseconds. The server
  half of a shared span (``"shared": true``) is a child of its client half.
- **Span CSV**: one span per row; columns found by name (case-insensitive) or set with
  ``columns={"role": "name"}``: see :data:`CSV_COLUMNS`. Start and end are Unix
  nanoseconds; without an end column, a duration column in microseconds. A pod name column
  gives the service by :func:`service_of_pod` unless ``service_from`` is given.

Nothing in a file is executed: JSON is parsed with :mod:`json`, CSV with pandas.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..choices import TraceFormat, parse_choice
from ..errors import InputError

CHUNK_ROWS = 200_000
"""Spans per batch, unless a :class:`SpanSource` is given another number."""

UNKNOWN_SERVICE = "unknown_service"
"""The service of a span that names none (OpenTelemetry's own default)."""

CSV_COLUMNS = {
    "trace": ("traceid", "trace_id"),
    "span": ("spanid", "span_id", "id"),
    "parent": ("parentid", "parent_id", "parentspanid", "parent_span_id"),
    "service": ("servicename", "service_name", "service"),
    "pod": ("podname", "pod_name", "pod"),
    "start": ("starttimeunixnano", "start_time_unix_nano", "start_ns", "start"),
    "end": ("endtimeunixnano", "end_time_unix_nano", "end_ns", "end"),
    "duration": ("duration", "duration_us"),
    "status": ("statuscode", "status_code", "status", "error"),
}
"""Column roles of a span CSV and the header names each is found by (case-insensitive)."""

ERROR_VALUES = frozenset({"error", "status_code_error", "2", "true"})
"""Status cells (lowercased) that mark a failed span; ``1`` too in a column named ``error``."""

_ROOT_PARENTS = frozenset({"", "root", "null", "none", "nan"})
_MIX = np.uint64(0x9E3779B97F4A7C15)
_SNIFF_BYTES = 65_536
_POD = (
    re.compile(r"^(?P<service>.+)-[a-z0-9]{6,10}-[a-z0-9]{5}$"),  # Deployment
    re.compile(r"^(?P<service>.+)-\d+$"),  # StatefulSet
    re.compile(r"^(?P<service>.+)-[a-z0-9]{5}$"),  # DaemonSet, Job
)


@dataclass
class SpanBatch:
    """Spans as columns. ``trace`` is a 64-bit hash of the trace id, ``key`` and ``parent``
    of (trace id, span id) and (trace id, parent id); a root's ``parent`` is 0. ``error``
    is 1 for a failed span, 0 for a good one, -1 when the format says nothing."""

    trace: np.ndarray
    key: np.ndarray
    parent: np.ndarray
    service: np.ndarray
    start: np.ndarray
    end: np.ndarray
    error: np.ndarray

    def __len__(self) -> int:
        return len(self.key)


@dataclass
class SpanSource:
    """Span files of one format, and what reading them noticed.

    Parameters
    ----------
    paths
        The span files.
    trace_format
        A :class:`~causal_attrib.choices.TraceFormat`; ``auto`` (the default) sniffs each
        file, and files of different formats are refused.
    columns
        Span CSV only: ``{role: column name}`` for the roles of :data:`CSV_COLUMNS`.
    service_from
        A regular expression applied to the service (or pod) name; its group ``service``,
        else its first group, else the whole match is the service.
    chunk_rows
        Spans per batch (default :data:`CHUNK_ROWS`).
    """

    paths: list[str]
    trace_format: str | None = None
    columns: dict[str, str] | None = None
    service_from: str | None = None
    chunk_rows: int | None = None
    notes: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.paths:
            raise InputError("no span files given", parameter="paths")
        self.paths = [str(p) for p in self.paths]
        self.chunk_rows = self.chunk_rows or CHUNK_ROWS
        self.rule = _service_rule(self.service_from)
        fmt = parse_choice(TraceFormat, self.trace_format or "auto", "--trace-format")
        self.format = fmt.value if fmt != TraceFormat.AUTO else _one_format(self.paths)

    def batches(self, progress: Callable[[str], None] | None = None) -> Iterator[SpanBatch]:
        """Every span of every file, in batches; reading problems counted in ``counts``."""
        reader = {
            "otlp": self._otlp,
            "jaeger": self._jaeger,
            "zipkin": self._zipkin,
            "csv": self._csv,
        }[self.format]
        seen = 0
        for path in self.paths:
            _require_file(path)
            for batch in reader(path):
                seen += len(batch)
                if progress is not None:
                    progress(f"reading {Path(path).name}: {seen:,} spans")
                yield batch

    def count(self, what: str, n: int = 1) -> None:
        """Count a problem (``"no service"``, ``"no duration"``), said once as a note."""
        self.counts[what] = self.counts.get(what, 0) + n

    # JSON formats: rows of Python values, turned into batches of chunk_rows

    def _rows_to_batches(self, rows: Iterable[tuple]) -> Iterator[SpanBatch]:
        chunk: list[tuple] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) >= self.chunk_rows:
                yield self._batch_of_rows(chunk)
                chunk = []
        if chunk:
            yield self._batch_of_rows(chunk)

    def _batch_of_rows(self, rows: list[tuple]) -> SpanBatch:
        trace, span, parent, service, start, end, error = zip(*rows, strict=True)
        names = np.array([self._service(s) for s in service], dtype=object)
        return SpanBatch(
            *span_keys(trace, span, parent),
            service=names,
            start=np.array(start, dtype=np.int64),
            end=np.array(end, dtype=np.int64),
            error=np.array(error, dtype=np.int8),
        )

    def _service(self, name: object, rule: Callable[[str], str] | None = None) -> str:
        if name is None or str(name).strip() == "":
            self.count("no service")
            return UNKNOWN_SERVICE
        return (rule or self.rule)(str(name))

    def _otlp(self, path: str) -> Iterator[SpanBatch]:
        return self._rows_to_batches(
            row for doc in _json_documents(path, "OTLP JSON") for row in otlp_rows(doc, path)
        )

    def _jaeger(self, path: str) -> Iterator[SpanBatch]:
        doc = _json_document(path, "Jaeger JSON")
        return self._rows_to_batches(jaeger_rows(doc, path))

    def _zipkin(self, path: str) -> Iterator[SpanBatch]:
        doc = _json_document(path, "Zipkin JSON")
        return self._rows_to_batches(zipkin_rows(doc, path, self.count))

    def _csv(self, path: str) -> Iterator[SpanBatch]:
        roles = csv_roles(path, self.columns)
        usecols = sorted(set(roles.values()))
        text_roles = ("trace", "span", "parent", "service", "pod", "status")
        dtype = {roles[r]: str for r in text_roles if r in roles}
        try:
            chunks = pd.read_csv(
                path, usecols=usecols, dtype=dtype, chunksize=self.chunk_rows,
                keep_default_na=False, na_values=[], engine="c",
            )  # fmt: skip
            for chunk in chunks:
                yield self._csv_batch(chunk, roles, path)
        except InputError:
            raise
        except (ValueError, pd.errors.ParserError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(f"{path}: not a readable span CSV: {first}") from None

    def _csv_batch(self, chunk: pd.DataFrame, roles: dict[str, str], path: str) -> SpanBatch:
        start = _int_column(chunk[roles["start"]], path, roles["start"])
        if "end" in roles:
            end = _int_column(chunk[roles["end"]], path, roles["end"])
        else:
            end = start + _int_column(chunk[roles["duration"]], path, roles["duration"]) * 1000
        names = chunk[roles.get("service", roles.get("pod"))]
        codes, uniques = pd.factorize(names)
        by_pod = "service" not in roles and self.service_from is None
        if by_pod and "pods" not in self.counts:
            self.count("pods", 0)
        rule = service_of_pod if by_pod else None
        mapped = np.array([self._service(u, rule) for u in uniques], dtype=object)
        if "status" in roles:
            status = chunk[roles["status"]].str.strip().str.lower()
            bad = ERROR_VALUES | ({"1"} if roles["status"].lower() == "error" else set())
            error = status.isin(bad).to_numpy(dtype=np.int8)
        else:
            error = np.full(len(chunk), -1, dtype=np.int8)
        return SpanBatch(
            *span_keys(chunk[roles["trace"]], chunk[roles["span"]], chunk[roles["parent"]]),
            service=mapped[codes],
            start=start,
            end=end,
            error=error,
        )


def span_keys(trace, span, parent) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """64-bit hashes of the trace, and keys of (trace, span) and (trace, parent), from
    sequences of ids; 0 for a root's parent (no parent, ``root``, ``null``, ``none`` or all
    zeros)."""
    trace, span, parent = (_text(v) for v in (trace, span, parent))
    t = pd.util.hash_pandas_object(trace, index=False).to_numpy()
    s = pd.util.hash_pandas_object(span, index=False).to_numpy()
    p = pd.util.hash_pandas_object(parent, index=False).to_numpy()
    lowered = parent.str.strip().str.lower()
    root = (lowered.isin(_ROOT_PARENTS) | lowered.str.fullmatch("0+")).to_numpy(dtype=bool)
    key = t ^ (s * _MIX)
    parent_key = np.where(root, np.uint64(0), t ^ (p * _MIX))
    return t, key, parent_key


def _text(values) -> pd.Series:
    series = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    if series.hasnans:
        series = series.fillna("")
    return series.astype(str).reset_index(drop=True)


def service_of_pod(pod: str) -> str:
    """The service of a Kubernetes pod, by the name its controller gave it.

    ``frontend-579b9bff58-t2dbm`` (a Deployment's pod: name, pod-template hash of 6–10
    characters, 5 random characters) is ``frontend``; ``redis-0`` (a StatefulSet's) is
    ``redis``; ``agent-x7k2p`` (a DaemonSet's or Job's: 5 random characters) is ``agent``;
    any other name is its own service.
    """
    for pattern in _POD:
        found = pattern.match(pod)
        if found:
            return found.group("service")
    return pod


def _service_rule(service_from: str | None) -> Callable[[str], str]:
    if service_from is None:
        return _as_is
    try:
        pattern = re.compile(service_from)
    except re.error as exc:
        raise InputError(
            f"--service-from {service_from!r} is not a regular expression: {exc}",
            parameter="service_from",
        ) from None

    def rule(name: str) -> str:
        found = pattern.search(name)
        if found is None:
            raise InputError(
                f"--service-from {service_from!r} does not match the service name {name!r}",
                parameter="service_from",
            )
        if "service" in pattern.groupindex:
            return found.group("service")
        return found.group(1) if pattern.groups else found.group(0)

    return rule


def _as_is(name: str) -> str:
    return name


def csv_roles(path: str, columns: dict[str, str] | None) -> dict[str, str]:
    """The column of each role in a span CSV's header (given names first)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            header = next(csv.reader(fh), [])
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text") from None
    by_folded = {h.strip().lower(): h for h in header}
    roles: dict[str, str] = {}
    for role, name in (columns or {}).items():
        if role not in CSV_COLUMNS:
            raise InputError(
                f"unknown span column role {role!r}: use {', '.join(CSV_COLUMNS)}",
                parameter="columns",
            )
        if name.strip().lower() not in by_folded:
            raise InputError(f"{path} has no column {name!r} (for {role})", parameter="columns")
        roles[role] = by_folded[name.strip().lower()]
    for role, names in CSV_COLUMNS.items():
        if role not in roles:
            found = next((by_folded[n] for n in names if n in by_folded), None)
            if found is not None:
                roles[role] = found
    if "service" in roles and "pod" in roles and "service" not in (columns or {}):
        roles.pop("pod")
    missing = [r for r in ("trace", "span", "parent", "start") if r not in roles]
    if "service" not in roles and "pod" not in roles:
        missing.append("service (or pod)")
    if "end" not in roles and "duration" not in roles:
        missing.append("end (or duration)")
    if missing:
        raise InputError(
            f"{path}: the span CSV has no column for {', '.join(missing)} (header: "
            f"{', '.join(header[:12])}); name them with --span-column ROLE=NAME",
            parameter="columns",
        )
    return roles


def _int_column(column: pd.Series, path: str, name: str) -> np.ndarray:
    values = pd.to_numeric(column, errors="coerce")
    if values.isna().any():
        row = int(np.flatnonzero(values.isna().to_numpy())[0])
        raise InputError(f"{path}: column {name!r} is not a number in data row {row + 1}")
    return values.to_numpy(dtype=np.int64)


def _require_file(path: str) -> None:
    if path == "-":
        raise InputError("spans cannot be read from standard input ('-'): save them to a file")
    p = Path(path)
    if not p.exists():
        raise InputError(f"span file not found: {path}")
    if p.is_dir():
        raise InputError(f"{path} is a directory, not a span file")


def sniff_format(path: str) -> str:
    """A span file's format from its first bytes: ``otlp``, ``jaeger``, ``zipkin``, ``csv``."""
    _require_file(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(_SNIFF_BYTES).decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    except PermissionError:
        raise InputError(f"span file is not readable (permission denied): {path}") from None
    if not head:
        raise InputError(f"span file {path} is empty")
    if head[0] == "{":
        if re.search(r'"(resourceSpans|resource_spans)"', head):
            return "otlp"
        if re.search(r'"data"', head) and re.search(r'"(spans|processes)"', head):
            return "jaeger"
    elif head[0] == "[" and re.search(r'"traceId"', head):
        return "zipkin"
    elif "," in head.splitlines()[0]:
        return "csv"
    raise InputError(
        f"cannot tell the trace format of {path} (OTLP JSON, Jaeger JSON, Zipkin v2 JSON or "
        "span CSV); set --trace-format"
    )


def _one_format(paths: list[str]) -> str:
    formats = {p: sniff_format(p) for p in paths}
    kinds = sorted(set(formats.values()))
    if len(kinds) > 1:
        first = {k: next(p for p, f in formats.items() if f == k) for k in kinds}
        listed = ", ".join(f"{first[k]} is {k}" for k in kinds)
        raise InputError(
            f"span files of different formats in one call ({listed}): span ids join only "
            "within one format; convert them, or read each format separately"
        )
    return kinds[0]


def _json_document(path: str, kind: str) -> object:
    try:
        with open(path, encoding="utf-8-sig") as fh:
            return json.load(fh)
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid {kind}: {exc}") from None


def _json_documents(path: str, kind: str) -> Iterator[object]:
    """One JSON document, or one per line (newline-delimited batches), read line by line."""
    try:
        with open(path, encoding="utf-8-sig") as fh:
            first = fh.readline()
            try:
                doc = json.loads(first)
            except json.JSONDecodeError:  # a pretty-printed document: read it whole
                fh.seek(0)
                yield _json_document(path, kind)
                return
            yield doc
            for lineno, line in enumerate(fh, start=2):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise InputError(f"{path} line {lineno}: not valid {kind}: {exc}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text") from None


def _shape(ok: bool, path: str, what: str) -> None:
    if not ok:
        raise InputError(f"{path}: {what}")


def _ns(value: object, path: str, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InputError(f"{path}: {what} {value!r} is not a whole number") from None


def otlp_rows(doc: object, path: str) -> Iterator[tuple]:
    """(trace, span, parent, service, start ns, end ns, error) of an OTLP JSON document."""
    _shape(isinstance(doc, dict), path, "an OTLP JSON document is an object with resourceSpans")
    for resource_spans in doc.get("resourceSpans", doc.get("resource_spans")) or []:
        attributes = (resource_spans.get("resource") or {}).get("attributes") or []
        service = next(
            (_any_value(a.get("value")) for a in attributes if a.get("key") == "service.name"),
            None,
        )
        scopes = (
            resource_spans.get("scopeSpans")
            or resource_spans.get("scope_spans")
            or resource_spans.get("instrumentationLibrarySpans")
            or []
        )
        for scope in scopes:
            for span in scope.get("spans") or []:
                status = (span.get("status") or {}).get("code", 0)
                yield (
                    span.get("traceId", span.get("trace_id", "")),
                    span.get("spanId", span.get("span_id", "")),
                    span.get("parentSpanId", span.get("parent_span_id", "")),
                    service,
                    _ns(span.get("startTimeUnixNano", 0), path, "startTimeUnixNano"),
                    _ns(span.get("endTimeUnixNano", 0), path, "endTimeUnixNano"),
                    int(status in (2, "2", "STATUS_CODE_ERROR")),
                )


def _any_value(value: object) -> object:
    if isinstance(value, dict):
        return next(iter(value.values()), None)
    return value


def jaeger_rows(doc: object, path: str) -> Iterator[tuple]:
    """The rows of a Jaeger JSON export (``{"data": [trace, ...]}``)."""
    _shape(isinstance(doc, dict) and isinstance(doc.get("data"), list), path,
           "a Jaeger JSON export is an object with a 'data' list of traces")  # fmt: skip
    for trace in doc["data"]:
        processes = trace.get("processes") or {}
        for span in trace.get("spans") or []:
            process = span.get("process") or processes.get(span.get("processID")) or {}
            start = _ns(span.get("startTime"), path, "startTime") * 1000
            yield (
                span.get("traceID", ""),
                span.get("spanID", ""),
                _jaeger_parent(span),
                process.get("serviceName"),
                start,
                start + _ns(span.get("duration"), path, "duration") * 1000,
                int(_jaeger_failed(span.get("tags") or [])),
            )


def _jaeger_parent(span: dict) -> str:
    references = span.get("references") or []
    for kind in ("CHILD_OF", "FOLLOWS_FROM"):
        for ref in references:
            if ref.get("refType") == kind and ref.get("traceID", span.get("traceID")) == span.get(
                "traceID"
            ):
                return ref.get("spanID", "")
    return span.get("parentSpanID", "") or ""


def _jaeger_failed(tags: list) -> bool:
    for tag in tags:
        key, value = tag.get("key"), tag.get("value")
        if key == "error" and str(value).lower() == "true":
            return True
        if key == "otel.status_code" and str(value).upper() == "ERROR":
            return True
    return False


def zipkin_rows(doc: object, path: str, count: Callable[[str, int], None]) -> Iterator[tuple]:
    """The rows of a Zipkin v2 JSON list of spans (or list of traces)."""
    _shape(isinstance(doc, list), path, "a Zipkin v2 JSON file is a list of spans")
    for item in doc:
        for span in item if isinstance(item, list) else [item]:
            if not isinstance(span, dict):
                raise InputError(f"{path}: a Zipkin span is an object, not {span!r:.40}")
            if span.get("duration") is None or span.get("timestamp") is None:
                count("no duration", 1)  # an unfinished span: Zipkin leaves them out
                continue
            span_id, parent = span.get("id", ""), span.get("parentId", "")
            if span.get("shared"):  # the server half of an RPC: a child of its client half
                span_id, parent = f"{span_id}~server", span_id
            start = _ns(span["timestamp"], path, "timestamp") * 1000
            tags = span.get("tags") or {}
            yield (
                span.get("traceId", ""),
                span_id,
                parent,
                (span.get("localEndpoint") or {}).get("serviceName"),
                start,
                start + _ns(span["duration"], path, "duration") * 1000,
                int("error" in tags or str(tags.get("otel.status_code", "")).upper() == "ERROR"),
            )
