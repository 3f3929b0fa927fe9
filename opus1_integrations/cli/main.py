"""The entry point: run the CLI and turn every error into ``Error:`` + hint + a documented exit code."""

from __future__ import annotations

import os
import signal
import sys
import traceback

import click
import typer

from ..errors import Opus1Error
from ..exit_codes import ExitCode
from ..host import Host
from ..output import messages, safe
from ..plugins import Plugins
from ..redaction import scrub
from .app import make_cli

DEBUG_ENV = "OPUS1_INT_DEBUG"


def main(argv: list[str] | None = None, plugins: Plugins | None = None) -> int:
    """Entry point of ``opus1-int``: run the CLI and map errors to documented exit codes.

    Tests pass their own ``plugins``; by default they load from the entry points.
    """
    signal.signal(signal.SIGTERM, _terminate)
    debug = os.environ.get(DEBUG_ENV) == "1"
    try:
        if plugins is None:
            plugins = Plugins()
            plugins.load_entry_points()
        cli = make_cli(plugins)
        result = cli.main(args=argv, prog_name="opus1-int", standalone_mode=False, obj=Host(plugins))
        if result == ExitCode.INTERRUPTED:  # typer turns KeyboardInterrupt into exit 130
            raise KeyboardInterrupt
        return result if isinstance(result, int) else ExitCode.OK
    except Opus1Error as exc:
        if debug:
            _print_traceback(exc)
        print_error(exc)
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except (click.ClickException, typer.TyperException) as exc:  # typer raises its own copy of click's errors
        exc.show()
        return exc.exit_code
    except (KeyboardInterrupt, click.exceptions.Abort, typer.Abort):
        messages().print("Interrupted; the run log marks the run as interrupted and the next run finishes the work.")
        return ExitCode.INTERRUPTED
    except BrokenPipeError:  # the reader went away (`| head`): not an error; say nothing more on a dead pipe
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitCode.OK
    except Exception as exc:
        if debug:
            _print_traceback(exc)
        print_error(Opus1Error(f"unexpected {type(exc).__name__}: {exc}",
                               hint=f"this is a bug; run again with {DEBUG_ENV}=1 and report the traceback"))
        return ExitCode.FAILED


def print_error(exc: Opus1Error) -> None:
    """``Error: message``, the problems it lists (an export's lines), and ``Hint: ...``, secrets scrubbed."""
    console = messages()
    console.print(f"[red]Error:[/] {safe(scrub(exc.message))}")
    problems = getattr(exc, "problems", None) or []
    for problem in problems:
        console.print(f"  - {safe(scrub(str(problem)))}")
    total = getattr(exc, "total", 0)
    if problems and total > len(problems):
        console.print(f"  ... and {total - len(problems)} more")
    if exc.hint:
        console.print(f"Hint: {safe(scrub(exc.hint))}")


def _print_traceback(exc: BaseException) -> None:
    """The traceback for ``OPUS1_INT_DEBUG=1``: no local variables, known secrets scrubbed."""
    sys.stderr.write(scrub("".join(traceback.format_exception(exc))))


def _terminate(signum, frame) -> None:
    raise KeyboardInterrupt
