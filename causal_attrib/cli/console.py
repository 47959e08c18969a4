"""Where a command's output goes: results to stdout (or ``--output``), progress, notes,
warnings and errors to stderr. One :class:`Console` per command run, instead of globals."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import click

from ..errors import InputError
from ..rendering import render
from ..rendering.cells import printable
from ..results.base import Result


class StatusLine:
    """Progress on a terminal: one stderr line, rewritten at each message, cleared when the
    command prints anything else (notes, errors) or ends. Dim unless ``NO_COLOR`` is set."""

    def __init__(self, dim: bool) -> None:
        self.start = time.monotonic()
        self.shown = False
        self.dim = dim
        self._lock = threading.Lock()

    def __call__(self, message: str) -> None:
        text = f"… {message} [{time.monotonic() - self.start:.0f} s]"
        if self.dim:
            text = f"\x1b[2m{text}\x1b[0m"
        with self._lock:
            click.echo(f"\r\x1b[2K{text}", err=True, nl=False)
            self.shown = True

    def clear(self) -> None:
        """Remove the status line, so what follows starts on a clean line."""
        with self._lock:
            if self.shown:
                click.echo("\r\x1b[2K", err=True, nl=False)
                self.shown = False


class Console:
    """One command's output streams and manners.

    Parameters
    ----------
    quiet
        No progress, notes or warnings (errors are always said).
    """

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.no_color = bool(os.environ.get("NO_COLOR"))
        self.status: StatusLine | None = None

    def progress(self) -> StatusLine | None:
        """The progress callable for the library: a status line on a terminal only."""
        if self.quiet or not is_terminal(sys.stderr):
            return None
        self.status = StatusLine(dim=not self.no_color)
        return self.status

    def clear(self) -> None:
        """Clear the progress line, if one is showing."""
        if self.status is not None:
            self.status.clear()

    def say(self, line: str) -> None:
        """One line on stderr, after clearing the progress line (control characters in
        names written out, so a name cannot drive the terminal)."""
        self.clear()
        click.echo(printable(line), err=True)

    def library_warnings(self, caught: list[warnings.WarningMessage]) -> None:
        """Library warnings as one deduplicated ``warning:`` line each, unless quiet."""
        if self.quiet:
            return
        for line in warning_lines(caught):
            self.say(line)

    def use_color(self, output: Path | None) -> bool:
        """Colour only on a terminal, never into files, and never when NO_COLOR is set."""
        return output is None and is_terminal(sys.stdout) and not self.no_color

    def report(self, result: Result, fmt: str, output: Path | None, top: int = 10) -> None:
        """Notes to stderr (unless quiet), then the rendered result to stdout or ``output``."""
        self.clear()
        if not self.quiet:
            for note in result.notes:
                click.echo(printable(f"note: {note}"), err=True)
        text = render(result, fmt, color=self.use_color(output), top=top)
        write_output(text, output)


    def save_model(self, model, output: Path) -> None:
        """Notes to stderr (unless quiet), the model to ``output``, and one line saying so."""
        self.clear()
        if not self.quiet:
            for note in model.notes:
                click.echo(printable(f"note: {note}"), err=True)
        model.save(output)
        if not self.quiet:
            nodes, rows = len(model.mechanisms), len(model.reference)
            click.echo(f"saved a model of {nodes} nodes fitted on {rows:,} rows to {output}",
                       err=True)  # fmt: skip


def is_terminal(stream) -> bool:
    """Whether a standard stream is open and a terminal (a closed one is ``None``)."""
    return stream is not None and stream.isatty()


def warning_lines(caught: list[warnings.WarningMessage]) -> list[str]:
    """Warnings as one ``warning:`` line each, deduplicated, in order of first sight."""
    lines: dict[str, None] = {}
    for w in caught:
        text = " ".join(str(w.message).split())
        lines[f"warning: {text} ({w.category.__name__})"] = None
    return list(lines)


def emit(text: str) -> None:
    """Write ``text`` to standard output, all of it, or fail saying why: a full disk or a
    closed stream must not pass for a report (exit 2, not a truncated file and exit 0).

    Python's buffered streams can lose a short write's error (4,096 bytes land on a nearly
    full filesystem, the rest vanish, nothing is raised), so the bytes go to the file
    descriptor with :func:`write_all`, which checks every write; a regular file that
    received part of the report is cut back to where it was."""
    stream = sys.stdout
    if stream is None:
        raise InputError("cannot write the report: standard output is closed")
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (a test runner's buffer)
        fd = None
    try:
        stream.flush()
        if fd is None:
            stream.write(text)
            stream.flush()
        else:
            _write_or_undo(fd, text.encode(getattr(stream, "encoding", None) or "utf-8"))
    except BrokenPipeError:
        _silence_stdout()
        raise InputError("standard output was closed before the whole report was written") from None
    except OSError as exc:
        _silence_stdout()
        reason = exc.strerror or exc
        raise InputError(f"cannot write the report to standard output: {reason}") from None


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` to ``fd``; a write that makes no progress or fails is
    an :class:`OSError` (``ENOSPC`` on a full disk)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view = view[written:]


def _write_or_undo(fd: int, data: bytes) -> None:
    """:func:`write_all`, and on failure cut a regular file back to its length before."""
    try:
        start = os.lseek(fd, 0, os.SEEK_CUR) if stat.S_ISREG(os.fstat(fd).st_mode) else None
    except OSError:
        start = None
    try:
        write_all(fd, data)
    except OSError:
        if start is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, start)
        raise


def _silence_stdout() -> None:
    """Point file descriptor 1 at /dev/null, so that Python's final flush of what is left
    in the buffer does not print a second error at exit."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (a test runner's buffer)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def write_output(text: str, output: Path | None) -> None:
    """Write to stdout, or to ``output``: a regular file is replaced atomically (nothing
    half-written is left behind, even when the command is interrupted); a symbolic link
    keeps pointing where it did, at the new report; a FIFO or a device is written into, as
    a shell redirection would, never replaced by a file."""
    if output is None:
        emit(text)
        return
    target = output.resolve()
    if not target.parent.is_dir():
        raise InputError(
            f"cannot write --output {output}: directory {target.parent} does not exist"
        )
    try:
        if target.exists() and not target.is_file():
            fd = os.open(target, os.O_WRONLY)
            try:
                write_all(fd, text.encode("utf-8"))
            finally:
                os.close(fd)
            return
        _replace(text, target)
    except OSError as exc:
        raise InputError(f"cannot write --output {output}: {exc.strerror or exc}") from None


def _replace(text: str, target: Path) -> None:
    """Write a temporary file beside ``target`` and rename it over ``target``."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        try:
            write_all(fd, text.encode("utf-8"))
            os.fsync(fd)  # the final flush: a full disk or a network filesystem says so here
        finally:
            os.close(fd)
        # mkstemp makes the file private (0600); a report gets the mode any new file gets
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:  # an error, Ctrl-C or SIGTERM: no temporary file left behind
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
