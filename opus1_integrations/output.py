"""Where output goes: a command's results on stdout; progress, notices and errors on stderr; JSON on stdout.

Text that comes from outside (exports, services, business ids) goes through ``safe`` before it is printed: rich
markup in it is shown as written and terminal control characters are dropped.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class _Results(Console):
    """A console whose reader may go away (``| head``): that ends the command as a closed pipe, not as exit 1."""

    def on_broken_pipe(self) -> None:
        """Stop printing and let the front door end quietly (rich's default exits 1)."""
        self.quiet = True
        raise BrokenPipeError


def results() -> Console:
    """A rich console on stdout for a command's results (tables, reports): what ``| less`` or ``> file`` keeps."""
    return _Results(highlight=False, soft_wrap=True)


def messages() -> Console:
    """A rich console on stderr for progress, notices and errors meant for people (plugins write to one as
    ``Context.console``)."""
    return Console(stderr=True, highlight=False, soft_wrap=True)


def safe(text: object) -> str:
    """Outside text, safe to print on one line with rich: control characters (terminal escapes, line breaks)
    become spaces, markup is escaped."""
    return escape(_CONTROL.sub(" ", str(text)))


def emit_json(data: Any) -> None:
    """Print machine-readable JSON on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")
    sys.stdout.flush()


#: What makes a spreadsheet read a CSV cell as a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: str) -> str:
    """A CSV cell a spreadsheet shows as text: a leading ``'`` when it would start a formula."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell
