"""Looking at a plan before it is sent: the safety stop and the plan file (``--plan``). A dry run's plan is shown
by the host, from the run log.

A plan file lists every person of the export: each contact with its action and reason, then each person the host's
rules did not sync, with theirs. It holds names, emails and phones, so it is created readable by its owner only
(0600), and a CSV cell that a spreadsheet would run as a formula (one starting with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return) gets a leading ``'``.
"""

from __future__ import annotations

import csv
import json
import os
import textwrap
from collections.abc import Iterable, Iterator
from pathlib import Path

from opus1_integrations.api import ItemOutcome, UsageError, spreadsheet_safe

#: The columns of a plan file (``Action.as_row``, ``not_synced_rows``).
PLAN_COLUMNS = ["email", "action", "reason", "status", "merge_fields", "tags_add", "tags_remove", "old_email",
                "person_ids"]
#: The action of a person the host's rules did not sync, in a plan file.
NOT_SYNCED = "not_synced"
#: The people behind a contact (synced as that contact): not listed again.
SYNCED_REASONS = frozenset({"eligible", "shared_email"})
#: The first characters that make a spreadsheet read a cell as a formula (OWASP, "CSV Injection").
#: What the safety stop counts, in words.
_STOPPED = ((ItemOutcome.UNSUBSCRIBED, "unsubscribe"), (ItemOutcome.ARCHIVED, "archive"),
            (ItemOutcome.LEAVER_TAGGED, "tag as leavers"))


def safety_stop(counts: dict[ItemOutcome, int], base: int, threshold: float) -> str | None:
    """The refusal message when the plan (its ``counts`` per action) would unsubscribe, archive or tag as leavers
    more than ``threshold`` of the ``base`` members synced before and not yet left; else ``None``."""
    affected = sum(counts.get(outcome, 0) for outcome, _ in _STOPPED)
    if not affected or not base or affected <= threshold * base:
        return None
    what = " and ".join(f"{verb} {counts[outcome]}" for outcome, verb in _STOPPED if counts.get(outcome))
    return (f"safety stop: this run would {what} of {base} synced members "
            f"({affected / base:.0%}), more than the {threshold:.0%} limit")


def not_synced_rows(decisions: Iterable) -> Iterator[dict]:
    """The plan file's rows of the people the host's rules did not sync (``Audience.decisions()``), with their
    reason code and its words (which name the person); a child's email is left out (it is never used)."""
    for d in decisions:
        if d.reason in SYNCED_REASONS:
            continue
        yield {"email": "" if d.is_child else d.email or "", "action": NOT_SYNCED, "reason": f"{d.reason}: {d.detail}",
               "status": None, "merge_fields": {}, "tags_add": [], "tags_remove": [], "old_email": None,
               "person_ids": [d.person_id]}


def write_plan(path: Path, rows: Iterable[dict]) -> None:
    """Write the plan as CSV or JSON (by the file's extension), one row at a time, to a file only its owner may
    read (0600, also when it existed)."""
    suffix = path.suffix.lower()
    if suffix not in (".json", ".csv"):
        raise UsageError(f"--plan {path}: unknown file type", hint="end the file name with .csv or .json")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as exc:
        raise UsageError(f"--plan {path}: cannot write it ({exc.strerror})",
                         hint="choose a file in a folder you can write to") from None
    os.fchmod(fd, 0o600)
    with open(fd, "w", newline="" if suffix == ".csv" else None, encoding="utf-8") as f:
        if suffix == ".json":
            for chunk in _json_array(rows):  # the text json.dumps(list(rows), indent=2) gives, without the list
                f.write(chunk)
            return
        writer = csv.DictWriter(f, fieldnames=PLAN_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: spreadsheet_safe(_cell(v)) for k, v in row.items()})


def _cell(value: object) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else str(value)


def _json_array(rows: Iterable[dict]) -> Iterator[str]:
    first = True
    for row in rows:
        yield ("[\n" if first else ",\n") + textwrap.indent(json.dumps(row, indent=2, ensure_ascii=False), "  ")
        first = False
    yield "[]" if first else "\n]"
