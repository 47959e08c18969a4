"""The command group and the wrapper every command runs in: library errors become one
``error:`` line and a documented exit code (:mod:`causal_attrib.exit_codes`)."""

from __future__ import annotations

import functools
import signal
import sys
import threading
import traceback
import warnings
from collections.abc import Callable

import click

from ..errors import CausalAttribError
from ..exit_codes import BAD_INPUT, exit_code_for
from ..inputs.names import by_similarity
from .console import Console
from .flags import cli_message

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
INTERRUPTED = 130
"""The shell's code for a command stopped by Ctrl-C."""
TERMINATED = 143
"""The shell's code for a command stopped by SIGTERM."""


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so that cleanup runs (temporary report files,
    local worker processes) before the command ends."""


def _on_sigterm(_signum, _frame) -> None:
    raise Terminated


def _catch_sigterm():
    """Turn SIGTERM into :class:`Terminated` for one command; returns the handler to put
    back (the CLI may run inside a longer-lived process, a test runner or a notebook)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _on_sigterm)


def run_command(func: Callable[..., int]) -> Callable[..., None]:
    """Run a command with a fresh :class:`Console` (passed as ``console``), turning library
    errors into one-line messages and documented exit codes."""

    @functools.wraps(func)
    def wrapper(**kwargs):
        console = Console(quiet=kwargs.get("quiet", False))
        previous = _catch_sigterm()
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                code = func(console=console, **kwargs)
            console.clear()
            console.library_warnings(caught)
        except (click.exceptions.Exit, click.ClickException):
            console.clear()
            raise
        except KeyboardInterrupt:
            _stop_local_workers()
            console.say("interrupted")
            code = INTERRUPTED
        except Terminated:
            _stop_local_workers()
            console.say("terminated")
            code = TERMINATED
        except Exception as exc:
            code = _report_error(console, exc, kwargs.get("debug", False))
        finally:
            _close_clusters()
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
        sys.exit(code)

    return wrapper


def _report_error(console: Console, exc: Exception, debug: bool) -> int:
    """One line for the user (with the traceback under ``--debug``), and the exit code."""
    console.clear()
    if debug:
        traceback.print_exc()
    if isinstance(exc, CausalAttribError):
        console.say(f"error: {cli_message(str(exc), getattr(exc, 'parameter', None))}")
    else:  # anything else is a bug: say so, keep it to one line
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        console.say(
            f"internal error: {type(exc).__name__}: {first} (rerun with --debug and report it)"
        )
    return exit_code_for(error=exc)


def _stop_local_workers() -> None:
    """Stop the local worker processes a command started (loky keeps them for reuse, and
    they would outlive a terminated command)."""
    loky = sys.modules.get("joblib.externals.loky.reusable_executor")
    executor = getattr(loky, "_executor", None)  # None unless processes were started
    if executor is not None:
        executor.shutdown(wait=False, kill_workers=True)


def _close_clusters() -> None:
    """Close the Dask clients a command opened (only if the engine module was used)."""
    engine = sys.modules.get("causal_attrib.engine")
    if engine is not None:
        engine.close_dask_clients()


class OneLineErrors(click.Group):
    """A command group whose usage errors are one line on stderr, with exit code 2.

    Click prints a usage block and the error over several lines; scripts and CI logs read
    better with one ``error:`` line that names the problem and where to get help.
    """

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """Run the CLI; in standalone mode, exit with the documented code."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, False, **extra)
        except click.exceptions.Abort:
            click.echo("interrupted", err=True)
            sys.exit(INTERRUPTED)
        except click.exceptions.NoArgsIsHelpError as exc:  # bare command: help, as asked
            click.echo(exc.ctx.get_help(), err=True)
            sys.exit(BAD_INPUT)
        except click.ClickException as exc:
            message = " ".join(_message(exc).split())
            ctx = getattr(exc, "ctx", None)
            where = f" (see '{ctx.command_path} -h')" if ctx is not None else ""
            click.echo(f"error: {message}{where}", err=True)
            sys.exit(BAD_INPUT)
        sys.exit(result if isinstance(result, int) else 0)


def _message(exc: click.ClickException) -> str:
    """The exception's message; an unknown option's suggestions most similar first (Click
    sorts them alphabetically, so '--statstic' led with '--split-at')."""
    if isinstance(exc, click.exceptions.NoSuchOption) and len(exc.possibilities or ()) > 1:
        ordered = ", ".join(repr(p) for p in by_similarity(exc.option_name, exc.possibilities))
        return f"{exc.message} (Did you mean one of: {ordered}?)"
    return exc.format_message()
