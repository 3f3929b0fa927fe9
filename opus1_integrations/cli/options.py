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
Jobs = Annotated[
    Optional[int],
    typer.Option("--jobs", min=1, metavar="N", help="How many businesses sync at once (default: 16 per worker "
                                                    "process, or per CPU with --processes 0)."),
]
Processes = Annotated[
    Optional[int],
    typer.Option("--processes", min=0, metavar="N", help="Worker processes that sync the businesses (default: one per "
                                                         "CPU); 0: threads of this process."),
]
