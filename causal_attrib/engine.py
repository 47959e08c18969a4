"""Where independent units of work run: threads, local processes, or a Dask cluster.

An :class:`Engine` maps a function over items and returns the results in order. The
analyses hand it units that do not depend on each other (per-node fits and change tests,
bootstrap resamples, batches of Shapley coalitions, segments), with every random draw made
before the work is sent out, and each unit runs with single-threaded BLAS. So where the
work runs changes how long it takes, never the answer.

- ``threads`` (the default for one analysis): no copying; numpy releases the GIL in the
  products that dominate.
- ``processes``: local worker processes through joblib's loky backend; the default for
  segments, which are large independent jobs.
- ``dask``: a Dask distributed cluster through joblib's Dask backend, from a scheduler
  address (``tcp://host:8786``). Needs the ``dask`` extra here and causal-attrib on the
  workers. The library never picks a cluster by itself: only the CLI reads
  ``CAUSAL_ATTRIB_SCHEDULER``.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from .choices import EngineKind, parse_choice
from .errors import InputError
from .limits import MAX_COUNT, require_count


def available_cores() -> int:
    """Cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on every platform
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Engine:
    """How to run independent units of work.

    Attributes
    ----------
    kind
        ``threads``, ``processes`` or ``dask``.
    n_jobs
        Workers for threads and processes (``None``: one per available core); Dask uses
        every worker of the cluster.
    scheduler
        Address of the Dask scheduler (``dask`` only).
    """

    kind: EngineKind = EngineKind.THREADS
    n_jobs: int | None = None
    scheduler: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", parse_choice(EngineKind, self.kind, "engine"))
        if self.n_jobs is not None:
            require_count(self.n_jobs, "n_jobs", 1, MAX_COUNT)
        if self.kind is EngineKind.DASK:
            check_scheduler_address(self.scheduler)

    @property
    def jobs(self) -> int:
        """Local workers (threads or processes) this engine uses."""
        return self.n_jobs or available_cores()

    @property
    def local(self) -> bool:
        """Whether work stays in this process (threads), sharing memory."""
        return self.kind is EngineKind.THREADS

    def map(self, func: Callable, items: Sequence) -> list:
        """``[func(x) for x in items]``, in order, on this engine."""
        items = list(items)
        if self.kind is EngineKind.THREADS:
            return _thread_map(func, items, self.jobs)
        if self.kind is EngineKind.PROCESSES and (self.jobs == 1 or len(items) <= 1):
            return [pinned(func, x) for x in items]
        import joblib

        tasks = [joblib.delayed(pinned)(func, x) for x in items]
        if self.kind is EngineKind.PROCESSES:
            return joblib.Parallel(n_jobs=self.jobs, backend="loky")(tasks)
        client = dask_client(self.scheduler)
        with joblib.parallel_config(backend="dask", client=client, wait_for_workers_timeout=60):
            return joblib.Parallel(n_jobs=-1)(tasks)

    def describe(self) -> str:
        """A short human description, for notes and benchmark tables."""
        if self.kind is EngineKind.DASK:
            return f"dask cluster at {self.scheduler}"
        return f"{self.jobs} local {self.kind}"


_ADDRESS = re.compile(r"(?:(tcp|tls|ucx|ws|wss)://)?(\[[0-9a-fA-F:.]+\]|[\w.-]+):(\d{1,5})/?")


def check_scheduler_address(address: str | None) -> str:
    """``address`` if it can name a Dask scheduler (``tcp://host:8786``, ``host:8786``, or
    the tls, ucx, ws and wss schemes); an :class:`InputError` at once otherwise, before any
    data is read or any connection is tried (a host name without a port, a dashboard URL)."""
    if not address:
        raise InputError(
            "the dask engine needs a scheduler address (scheduler)", parameter="scheduler"
        )
    match = _ADDRESS.fullmatch(address.strip())
    if match is None or not 0 < int(match.group(3)) < 65536:
        hint = " (that is a web address: the scheduler listens on tcp://, by default port 8786)"
        raise InputError(
            f"scheduler {address!r} is not a Dask scheduler address; use tcp://HOST:PORT"
            + (hint if address.startswith(("http://", "https://")) else ""),
            parameter="scheduler",
        )
    return address


def _thread_map(func: Callable, items: list, n_jobs: int) -> list:
    if n_jobs <= 1 or len(items) <= 1:
        return [func(x) for x in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=n_jobs) as pool:
        return list(pool.map(func, items))


@contextmanager
def single_threaded_blas():
    """Run the block with single-threaded BLAS.

    The analyses are thousands of small products, where BLAS threads cost more than they
    give (3-6x slower on 2 busy cores), and one thread makes the floating-point order, and
    so the output, independent of the machine's core count.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        yield


def one_blas_thread(func: Callable) -> Callable:
    """``func`` run under :func:`single_threaded_blas` (a decorator for analyses)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with single_threaded_blas():
            return func(*args, **kwargs)

    return wrapper


def pinned(func: Callable, item: Any) -> Any:
    """Run one unit of work with single-threaded BLAS, so its floating-point order is fixed."""
    with single_threaded_blas():
        return func(item)


_CLIENTS: dict[str, Any] = {}


def dask_client(address: str):
    """A client of the Dask scheduler at ``address`` (one per address and process)."""
    try:
        from distributed import Client
    except ImportError:
        raise InputError(
            "a Dask scheduler was given, but dask.distributed is not installed: "
            "pip install 'causal-attrib[dask]'"
        ) from None
    client = _CLIENTS.get(address)
    if client is None or client.status not in ("running", "connecting"):
        try:
            client = Client(address, timeout="20s", set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise InputError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
        _CLIENTS[address] = client
    return client


def close_dask_clients() -> None:
    """Close every client :func:`dask_client` opened (the CLI does at the end of a command;
    a notebook may, or leave them for the next call)."""
    while _CLIENTS:
        _, client = _CLIENTS.popitem()
        with suppress(Exception):  # best effort: a lost scheduler must not mask the answer
            client.close()
