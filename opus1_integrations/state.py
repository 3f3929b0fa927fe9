"""The state database: one SQLite file under ``OPUS1_INT_HOME``, readable by its owner only."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs
import sqlite_utils

HOME_ENV = "OPUS1_INT_HOME"
DB_NAME = "opus1-integrations.db"

migrations = sqlite_utils.Migrations("opus1_integrations")


@migrations()
def m001_integrations_and_runs(db: sqlite_utils.Database) -> None:
    """Settings per business and integration, the run log and per-item results."""
    db["integrations"].create(
        {
            "business": str,
            "integration": str,
            "enabled": int,
            "settings": str,
            "contacts_path": str,
            "updated_at": str,
        },
        pk=("business", "integration"),
    )
    db["runs"].create(
        {
            "id": int,
            "business": str,
            "integration": str,
            "started_at": str,
            "finished_at": str,
            "status": str,
            "dry_run": int,
            "counts": str,
            "error": str,
            "pid": int,
        },
        pk="id",
    )
    db["runs"].create_index(["business", "integration", "started_at"])
    db["run_items"].create(
        {
            "run_id": int,
            "key": str,
            "outcome": str,
            "error_code": str,
            "message": str,
            "hint": str,
        },
        foreign_keys=[("run_id", "runs", "id")],
    )
    db["run_items"].create_index(["run_id", "key"])
    db["run_items"].create_index(["key"])


def home() -> Path:
    """The folder holding the state: ``$OPUS1_INT_HOME`` or the platform's user data dir."""
    value = os.environ.get(HOME_ENV)
    return Path(value) if value else platformdirs.user_data_path("opus1-integrations", appauthor=False)


def open_db(path: Path | None = None) -> sqlite_utils.Database:
    """Open (creating with mode 0600 if needed) the state database and apply the host's migrations."""
    path = path or home() / DB_NAME
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    db = sqlite_utils.Database(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA busy_timeout=30000")
    migrations.apply(db)
    return db
