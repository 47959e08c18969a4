"""The options ``graph`` and ``metrics`` share: which span files, in which format, and how
a span's service is named."""

from __future__ import annotations

from collections.abc import Callable

import click

from ..choices import TraceFormat
from ..errors import InputError
from .options import choice


def span_files(opts: dict) -> list[str]:
    """``--from-traces FILE`` values and the files after them (``--from-traces *.json``)."""
    files = list(opts.pop("from_traces")) + list(opts.pop("more_files"))
    if not files:
        raise InputError("no span files: pass them with --from-traces FILE...")
    return files


def span_columns(pairs: tuple[str, ...]) -> dict[str, str] | None:
    """``--span-column ROLE=NAME`` pairs as a dict."""
    out = {}
    for pair in pairs:
        role, sep, name = pair.partition("=")
        if not sep or not role.strip() or not name.strip():
            raise InputError(f"--span-column {pair!r}: write ROLE=NAME, e.g. service=svc")
        out[role.strip().lower()] = name.strip()
    return out or None


def span_options(func: Callable) -> Callable:
    """``--from-traces``, ``--trace-format``, ``--service-from`` and ``--span-column``."""
    options = [
        click.option(
            "--from-traces",
            multiple=True,
            metavar="FILE...",
            help="Span files: OTLP JSON (one document or one per line), Jaeger JSON, "
            "Zipkin v2 JSON or span CSV. Files may follow: --from-traces spans/*.json",
        ),
        click.argument("more_files", nargs=-1, metavar="", type=click.Path()),
        click.option(
            "--trace-format",
            type=choice(TraceFormat),
            default=TraceFormat.AUTO.value,
            show_default=True,
            help="The span files' format (auto: sniffed; all files must have one format).",
        ),
        click.option(
            "--service-from",
            metavar="REGEX",
            help="Service = group 'service' (else group 1, else the match) of REGEX applied "
            "to each span's service or pod name [default: pod names lose Kubernetes' suffix].",
        ),
        click.option(
            "--span-column",
            multiple=True,
            metavar="ROLE=NAME",
            help="Span CSV: the column of a role (trace, span, parent, service, pod, start, "
            "end, duration, status); repeatable. Default: found by name.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def quiet_debug(func: Callable) -> Callable:
    """``--quiet`` and ``--debug``."""
    func = click.option("--debug", is_flag=True, help="Show a traceback on errors.")(func)
    return click.option("--quiet", "-q", is_flag=True, help="No progress messages or notes.")(
        func
    )


def notes(console, found: tuple[str, ...]) -> None:
    """The notes of a graph or a table, on stderr, unless quiet."""
    if not console.quiet:
        for note in found:
            console.say(f"note: {note}")
