"""An example integration: keeps a CSV file in line with a studio's contacts.

It is the code of the plugin-author tutorial (docs/plugins.md): a real, tiny integration
that implements every hook the host calls.
"""

from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path

from opus1_integrations.api import Check, Finding, ItemOutcome, OperationFailed, SettingsInvalid, hookimpl

FIELDS = ["email", "first_name", "last_name", "phone", "account_ids"]


@hookimpl
def settings_schema():
    """One setting: where the CSV file goes."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "description": "Write the studio's contacts to a CSV file.",
        "properties": {
            "path": {"type": "string", "minLength": 1, "description": "The CSV file to keep up to date."},
        },
        "required": ["path"],
        "additionalProperties": False,
    }


@hookimpl
def configure(context, settings):
    """Refuse a folder that does not exist or cannot be written."""
    folder = Path(settings["path"]).expanduser().resolve().parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise SettingsInvalid(f"cannot write to folder {folder}", hint="create it, or choose another --path")
    return {**settings, "path": str(Path(settings["path"]).expanduser().resolve())}


@hookimpl
def validate(context, settings):
    """Check that the file's folder is writable."""
    folder = Path(settings["path"]).parent
    ok = folder.is_dir() and os.access(folder, os.W_OK)
    return [Check(name="folder", ok=ok, message=f"{folder} is {'writable' if ok else 'not writable'}",
                  hint=None if ok else f"create {folder}, or choose another --path")]


@hookimpl
def sync(context, settings, audience, run, options):
    """Write every contact, recording what changed since the last file."""
    path = Path(settings["path"])
    before = _read(path)
    rows = {}
    counts = {ItemOutcome.CREATED: 0, ItemOutcome.UPDATED: 0, ItemOutcome.UNCHANGED: 0, ItemOutcome.REMOVED: 0}
    for contact in audience.contacts():
        row = {
            "email": contact.email,
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "phone": contact.phone or "",
            "account_ids": ";".join(contact.account_ids),
        }
        rows[contact.key] = row
        if contact.key not in before:
            outcome = ItemOutcome.CREATED
        else:
            outcome = ItemOutcome.UNCHANGED if before[contact.key] == row else ItemOutcome.UPDATED
        counts[outcome] += 1
        run.record(contact.key, outcome)
    for key in before.keys() - rows.keys():
        counts[ItemOutcome.REMOVED] += 1
        run.record(key, ItemOutcome.REMOVED)
    if not options.dry_run:
        _write(path, rows.values())
    return {outcome.value: n for outcome, n in counts.items()}


@hookimpl
def diagnose(context, settings):
    """A missing file is worth knowing about before the first sync."""
    if not Path(settings["path"]).exists():
        return [Finding(severity="warning", code="no_file", message=f"{settings['path']} does not exist yet",
                        hint="run `opus1-int sync csv` to write it")]
    return []


@hookimpl
def lookup(context, settings, keys):
    """The row of each contact in the file, or None."""
    rows = _read(Path(settings["path"]))
    return {key: rows.get(key) for key in keys}


@hookimpl
def verify(context, settings, contacts):
    """Each sampled contact must be in the file with its current name."""
    rows = _read(Path(settings["path"]))
    results = []
    for contact in contacts:
        row = rows.get(contact.key)
        problems = [] if row else ["missing from the file"]
        if row and (row["first_name"], row["last_name"]) != (contact.first_name, contact.last_name):
            problems.append("name differs")
        results.append({"key": contact.key, "ok": not problems, "problems": problems})
    return results


def _read(path: Path) -> dict[str, dict]:
    if not path.exists():
        return {}
    try:
        with path.open(newline="", encoding="utf-8") as f:
            return {row["email"].strip().lower(): row for row in csv.DictReader(f)}
    except (OSError, KeyError, csv.Error) as exc:
        raise OperationFailed(f"cannot read {path}: {exc}", hint="move the damaged file away; the next sync rewrites it")


def _write(path: Path, rows) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)
