"""What the host hands to an integration's hooks: who it works for and where it keeps state."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlite_utils
from rich.console import Console

from .output import messages


@dataclass
class Context:
    """One business and one integration, with the state database and a console for people."""

    business: str
    integration: str
    db: sqlite_utils.Database
    console: Console = field(default_factory=messages)
    show_progress: bool = True
