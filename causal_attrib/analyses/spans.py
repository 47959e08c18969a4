"""Spans gathered from files and checked: who called whom, and each request's own time.

The rules, in the order they apply:

Spans are linked in flushes of complete traces (:class:`SpanLinker`), so that memory is
bounded for files in rough time order; the counts behind the notes add up over flushes.

- A span that ends before it starts (a negative duration) is left out, with a note.
- A span id seen twice in one trace keeps its first span, with a note.
- A span whose parent is not in the input (an orphan) starts its own tree, with a note.
- A span ending after its parent (an asynchronous call, or clock skew) is kept, with a note.
- A span whose parent runs in another service, or has no parent, is an **entry**: the start
  of a request to its service. Its parent's service called its service: one call.
- A request's **visit** is its entry span with the spans of the same service below it.
  Its **self time** is the entry span's duration less the time covered by the requests it
  made to other services (their entry spans, clipped to the visit, overlaps counted once).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputError
from ..inputs.traces import UNKNOWN_SERVICE, SpanSource


@dataclass
class Spans:
    """Linked spans as columns: ``service`` codes (:attr:`SpanLinker.names`), ``parent``
    positions (-1 for none), ``entry`` and ``visit`` (the position of the entry span of the
    visit a span belongs to), times in nanoseconds."""

    service: np.ndarray
    parent: np.ndarray
    start: np.ndarray
    end: np.ndarray
    error: np.ndarray
    entry: np.ndarray
    visit: np.ndarray

    def __len__(self) -> int:
        return len(self.service)

    def calls(self) -> dict[tuple[int, int], int]:
        """``{(caller, callee): calls}`` by service code: entry spans with a parent in
        another service."""
        called = self.entry & (self.parent >= 0)
        caller = self.service[self.parent[called]]
        callee = self.service[called]
        pairs, counts = np.unique(np.stack([caller, callee]), axis=1, return_counts=True)
        return {
            (a, b): int(n) for (a, b), n in zip(pairs.T.tolist(), counts.tolist(), strict=True)
        }

    def self_times(self) -> np.ndarray:
        """Each entry span's duration less the time covered by the calls its visit made
        (0 for spans that are not entries)."""
        called = np.flatnonzero(self.entry & (self.parent >= 0))
        owner = self.visit[self.parent[called]]
        lo = np.maximum(self.start[called], self.start[owner])
        hi = np.minimum(self.end[called], self.end[owner])
        keep = hi > lo
        covered = _covered(owner[keep], lo[keep], hi[keep], len(self))
        return np.where(self.entry, self.end - self.start - covered, 0)


def _covered(owner: np.ndarray, lo: np.ndarray, hi: np.ndarray, n: int) -> np.ndarray:
    """Per owner, the length of the union of its intervals ``[lo, hi)``."""
    out = np.zeros(n, dtype=np.int64)
    if len(owner) == 0:
        return out
    order = np.lexsort((lo, owner))
    owner, lo, hi = owner[order], lo[order], hi[order]
    reach = pd.Series(hi).groupby(owner).cummax().to_numpy()
    before = np.empty_like(reach)
    before[0] = np.iinfo(np.int64).min
    before[1:] = reach[:-1]
    first = np.ones(len(owner), dtype=bool)
    first[1:] = owner[1:] != owner[:-1]
    before[first] = np.iinfo(np.int64).min
    gain = np.maximum(0, hi - np.maximum(lo, before))
    np.add.at(out, owner, gain)
    return out


FIELDS = ("trace", "key", "parent", "service", "start", "end", "error")
FLUSH_ROWS = 500_000
"""Spans held before the traces that are complete are linked and handed on."""
HORIZON_NS = 600 * 10**9
"""A trace is complete when its newest span started this long before the newest span read
(10 minutes): spans are expected within this of the other spans of their trace."""


class SpanLinker:
    """Spans read from ``source`` in batches and handed on, linked, trace by trace.

    Spans are held until :data:`FLUSH_ROWS` of them are; then the traces whose newest span
    started more than ``horizon_ns`` before the newest span read are linked (see the
    module) and yielded as :class:`Spans`, and the rest are held on. So memory is bounded
    by the spans of ``horizon_ns`` and one flush, when files hold spans roughly in time
    order (as exporters write them). A span of a trace already handed on is linked with
    the spans that came with it (an orphan, if its parent went before). The counts of
    every rule are summed over the flushes for :meth:`notes`.
    """

    def __init__(
        self,
        source: SpanSource,
        progress: Callable[[str], None] | None = None,
        flush_rows: int | None = None,
        horizon_ns: int | None = None,
    ) -> None:
        self.source, self.progress = source, progress
        self.flush_rows = flush_rows or FLUSH_ROWS
        self.horizon_ns = HORIZON_NS if horizon_ns is None else horizon_ns
        self.codes: dict[str, int] = {}
        self.counts: dict[str, int] = {}
        self.seen = 0
        self.most_held = 0  # the most spans held at once: what memory grows with

    @property
    def names(self) -> list[str]:
        """Service names, by code."""
        return sorted(self.codes, key=self.codes.get)

    def __iter__(self) -> Iterator[tuple[Spans, int | None]]:
        """``(spans, bound)``: linked spans of complete traces, and the time (ns) before
        which no later span is expected to start (``None`` after the last)."""
        parts: dict[str, list[np.ndarray]] = {k: [] for k in FIELDS}
        held, flush_at = 0, self.flush_rows
        for batch in self.source.batches(self.progress):
            inverse, uniques = pd.factorize(batch.service)
            mapped = np.array([self.codes.setdefault(u, len(self.codes)) for u in uniques],
                              dtype=np.int32)  # fmt: skip
            parts["service"].append(mapped[inverse])
            for name in FIELDS:
                if name != "service":
                    parts[name].append(getattr(batch, name))
            held += len(batch)
            self.seen += len(batch)
            self.most_held = max(self.most_held, held)
            if held >= flush_at:
                cols = {k: np.concatenate(v) for k, v in parts.items()}
                done, bound = self._complete(cols)
                if done.any():
                    yield self._link({k: v[done] for k, v in cols.items()}), bound
                parts = {k: [v[~done]] for k, v in cols.items()}
                held = int((~done).sum())
                flush_at = max(self.flush_rows, 2 * held)  # few complete: wait for more
        if not self.seen:
            raise InputError(f"no spans in {', '.join(self.source.paths)}")
        if held:
            yield self._link({k: np.concatenate(v) for k, v in parts.items()}), None

    def _complete(self, cols: dict[str, np.ndarray]) -> tuple[np.ndarray, int]:
        """Spans of complete traces, and the start time before which all are complete."""
        cutoff = int(cols["start"].max()) - self.horizon_ns
        newest = pd.Series(cols["start"]).groupby(cols["trace"]).transform("max").to_numpy()
        done = newest < cutoff
        rest = cols["start"][~done]
        return done, min(cutoff, int(rest.min())) if len(rest) else cutoff

    def count(self, what: str, n: int) -> None:
        if n:
            self.counts[what] = self.counts.get(what, 0) + n

    def _link(self, cols: dict[str, np.ndarray]) -> Spans:
        """Drop negative durations and repeated ids, then link (see the module)."""
        bad = cols["end"] < cols["start"]
        self.count("negative", int(bad.sum()))
        cols = {k: v[~bad] for k, v in cols.items()}
        again = pd.Series(cols["key"]).duplicated().to_numpy()
        self.count("duplicate", int(again.sum()))
        cols = {k: v[~again] for k, v in cols.items()}
        return _link(cols, self.count)

    def notes(self) -> list[str]:
        """What the reader and the rules noticed, one note each."""
        notes = _reader_notes(self.source)
        texts = {
            "negative": "span(s) end before they start (negative duration): left out",
            "duplicate": "span id(s) appear again in the same trace: the first kept",
            "orphan": "span(s) name a parent that is not in the input (orphans): each "
            "starts a request of its own service, with no caller",
            "late child": "span(s) end after their parent (asynchronous calls or clock "
            "skew): kept",
        }
        notes += [f"{self.counts[k]:,} {text}" for k, text in texts.items() if k in self.counts]
        return notes


def _reader_notes(source: SpanSource) -> list[str]:
    notes = list(source.notes)
    counts = source.counts
    if "pods" in counts:
        notes.append(
            "services from pod names, without the suffix Kubernetes adds "
            "(frontend-579b9bff58-t2dbm is frontend); set --service-from to change"
        )
    if counts.get("no service"):
        notes.append(f"{counts['no service']:,} span(s) name no service: counted as "
                     f"{UNKNOWN_SERVICE!r}")  # fmt: skip
    if counts.get("no duration"):
        notes.append(f"{counts['no duration']:,} span(s) have no timestamp or duration "
                     "(unfinished): left out")  # fmt: skip
    return notes


def _drop(cols: dict[str, np.ndarray], bad: np.ndarray) -> tuple[dict[str, np.ndarray], int]:
    n = int(bad.sum())
    if not n:
        return cols, 0
    return {k: v[~bad] for k, v in cols.items()}, n


def _link(cols: dict[str, np.ndarray], count: Callable[[str, int], None]) -> Spans:
    """Parent positions, entries and visits; orphans and late children counted."""
    parent = pd.Index(cols["key"]).get_indexer(cols["parent"]).astype(np.int64)
    count("orphan", int(((cols["parent"] != 0) & (parent < 0)).sum()))
    service, start, end = cols["service"], cols["start"], cols["end"]
    linked = parent >= 0
    count("late child", int((end[linked] > end[parent[linked]]).sum()))
    parent_service = np.where(linked, service[np.where(linked, parent, 0)], -1)
    entry = parent_service != service
    visit = np.where(entry, np.arange(len(service)), parent)
    for _ in range(64):  # pointer jumping: depth doubles each pass
        nxt = visit[visit]
        if np.array_equal(nxt, visit):
            break
        visit = nxt
    else:
        raise InputError("span parents form a loop within one service: the input is corrupt")
    return Spans(service, parent, start, end, cols["error"], entry, visit)
