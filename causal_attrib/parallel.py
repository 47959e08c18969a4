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
  address (``tcp://host:8786``) or the :data:`SCHEDULER_ENV` variable. Needs the ``dask``
  extra (``pip install 'causal-attrib[dask]'``) here and causal-attrib on the workers.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .exit_codes import InputError

SCHEDULER_ENV = "CAUSAL_ATTRIB_SCHEDULER"
KINDS = ("threads", "processes", "dask")


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

    kind: str = "threads"
    n_jobs: int | None = None
    scheduler: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InputError(f"engine must be one of {', '.join(KINDS)}, not {self.kind!r}")
        if self.n_jobs is not None and self.n_jobs < 1:
            raise InputError(f"--jobs must be at least 1, got {self.n_jobs}")
        if self.kind == "dask" and not self.scheduler:
            raise InputError(f"the dask engine needs a scheduler address (or {SCHEDULER_ENV})")

    @property
    def jobs(self) -> int:
        """Local workers (threads or processes) this engine uses."""
        return self.n_jobs or available_cores()

    @property
    def local(self) -> bool:
        """Whether work stays in this process (threads), sharing memory."""
        return self.kind == "threads"

    def map(self, func: Callable, items: Sequence) -> list:
        """``[func(x) for x in items]``, in order, on this engine."""
        items = list(items)
        if self.kind == "threads":
            return _thread_map(func, items, self.jobs)
        if self.kind == "processes" and (self.jobs == 1 or len(items) <= 1):
            return [_pinned(func, x) for x in items]
        import joblib

        tasks = [joblib.delayed(_pinned)(func, x) for x in items]
        if self.kind == "processes":
            return joblib.Parallel(n_jobs=self.jobs, backend="loky")(tasks)
        client = dask_client(self.scheduler)
        with joblib.parallel_config(backend="dask", client=client, wait_for_workers_timeout=60):
            return joblib.Parallel(n_jobs=-1)(tasks)

    def describe(self) -> str:
        """A short human description, for notes and benchmark tables."""
        if self.kind == "dask":
            return f"dask cluster at {self.scheduler}"
        return f"{self.jobs} local {self.kind}"


def resolve_engine(
    engine: Engine | str | None = None,
    n_jobs: int | None = None,
    scheduler: str | None = None,
    default: str = "threads",
) -> Engine:
    """The engine from the options: a scheduler address (or :data:`SCHEDULER_ENV`) means
    Dask; otherwise ``engine`` or ``default``."""
    if isinstance(engine, Engine):
        return engine
    scheduler = scheduler or os.environ.get(SCHEDULER_ENV) or None
    if scheduler:
        return Engine("dask", n_jobs, scheduler)
    return Engine(engine or default, n_jobs)


def _thread_map(func: Callable, items: list, n_jobs: int) -> list:
    if n_jobs <= 1 or len(items) <= 1:
        return [func(x) for x in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=n_jobs) as pool:
        return list(pool.map(func, items))


def _pinned(func: Callable, item: Any) -> Any:
    """Run one unit with single-threaded BLAS, so its floating-point order is fixed."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
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
