"""Where output goes: data for machines on stdout, everything meant for people on stderr."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console


def people() -> Console:
    """A rich console on stderr for messages, tables and progress meant for people."""
    return Console(stderr=True, highlight=False, soft_wrap=True)


def emit_json(data: Any) -> None:
    """Print machine-readable JSON on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")
    sys.stdout.flush()
