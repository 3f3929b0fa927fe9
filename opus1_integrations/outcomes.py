"""Small value types that hooks return to the host: live checks, diagnose findings, sync options."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Check:
    """One live check of an integration's settings (``validate``)."""

    name: str
    ok: bool
    message: str
    hint: str | None = None


@dataclass(frozen=True)
class Finding:
    """One problem or note shown by ``diagnose``; ``severity`` is ``error``, ``warning`` or ``info``."""

    severity: str
    code: str
    message: str
    hint: str | None = None


@dataclass(frozen=True)
class SyncOptions:
    """What the command line asked of one sync."""

    dry_run: bool = False
    plan_path: Path | None = None
    force: bool = False
