"""The entry point: run the CLI and turn every error into ``Error:`` + hint + a documented exit code."""

from __future__ import annotations

import errno
import logging
import os
import signal
import sqlite3
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
from ..state import DB_NAME, home, unusable
from .app import make_cli

DEBUG_ENV = "OPUS1_INT_DEBUG"


def main(argv: list[str] | None = None, plugins: Plugins | None = None) -> int:
    """Entry point of ``opus1-int``: run the CLI and map errors to documented exit codes.

    Tests pass their own ``plugins``; by default they load from the entry points.
    """
    signal.signal(signal.SIGTERM, _terminate)
    _log_to_stderr()
    debug = os.environ.get(DEBUG_ENV) == "1"
    host = None
    try:
        if plugins is None:
            plugins = Plugins()
            plugins.load_entry_points()
        cli = make_cli(plugins)
        host = Host(plugins)
        result = cli.main(args=argv, prog_name="opus1-int", standalone_mode=False, obj=host)
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
    except sqlite3.Error as exc:  # the state database went bad under a command (a full disk, a corrupt page)
        if debug:
            _print_traceback(exc)
        print_error(unusable(home() / DB_NAME, exc))
        return ExitCode.FAILED
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
        print_error(Opus1Error(f"no space left on the device holding {exc.filename or 'a temporary file'}",
                               hint="free space there (or set TMPDIR to a roomier folder); nothing was lost: the "
                                    "next run redoes what this one did not finish"))
        return ExitCode.FAILED
    except Exception as exc:
        if debug:
            _print_traceback(exc)
        print_error(Opus1Error(f"unexpected {type(exc).__name__}: {exc}",
                               hint=f"this is a bug; run again with {DEBUG_ENV}=1 and report the traceback"))
        return ExitCode.FAILED
    finally:
        if host is not None:
            host.close()


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


class _Stderr(logging.Handler):
    """Log records as ``opus1-int: message`` on whatever ``sys.stderr`` is now (tests swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        sys.stderr.write(f"opus1-int: {scrub(record.getMessage())}\n")


def _log_to_stderr() -> None:
    """Show the host's warnings (a new state folder, ...) on stderr, once per process."""
    logger = logging.getLogger("opus1_integrations")
    if not any(isinstance(h, _Stderr) for h in logger.handlers):
        logger.addHandler(_Stderr(level=logging.WARNING))
        logger.propagate = False


def _terminate(signum, frame) -> None:
    raise KeyboardInterrupt
