"""Options and arguments shared by several commands, spelled once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

Business = Annotated[str, typer.Option("--business", "-b", help="The business (studio) id.")]
Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
Integration = Annotated[str, typer.Argument(help="The integration, e.g. mailchimp (see `opus1-int plugins`).")]
Contacts = Annotated[
    Optional[Path], typer.Option("--contacts", help="The opus1 accounts export to read instead of the saved one.")
]
