"""Looking at a plan before it is sent: the safety stop, the dry run's table and the plan file (``--plan``)."""

from __future__ import annotations

import csv
import json
import textwrap
from collections.abc import Iterable, Iterator
from pathlib import Path

from rich.table import Table

from opus1_integrations.api import ItemOutcome, UsageError

#: The columns of a plan file (``Action.as_row``).
PLAN_COLUMNS = ["email", "action", "reason", "merge_fields", "tags_add", "tags_remove", "old_email"]
#: The dry run's table lists this many changes at most; the plan file and the run log hold them all.
SHOWN = 1000


def safety_stop(counts: dict[ItemOutcome, int], base: int, threshold: float, policy: str) -> str | None:
    """The refusal message when the plan (its ``counts`` per action) would archive or tag as leavers more than
    ``threshold`` of the ``base`` members synced before and not yet left; else ``None``."""
    affected = counts.get(ItemOutcome.ARCHIVED, 0) + counts.get(ItemOutcome.LEAVER_TAGGED, 0)
    if not affected or not base or affected <= threshold * base:
        return None
    verb = "archive" if policy == "archive" else "tag as leavers"
    return (f"safety stop: this run would {verb} {affected} of {base} synced members "
            f"({affected / base:.0%}), more than the {threshold:.0%} limit")


def write_plan(path: Path, rows: Iterable[dict]) -> None:
    """Write the plan per contact as CSV or JSON (by the file's extension), one row at a time."""
    suffix = path.suffix.lower()
    if suffix not in (".json", ".csv"):
        raise UsageError(f"--plan {path}: unknown file type", hint="end the file name with .csv or .json")
    with path.open("w", newline="" if suffix == ".csv" else None, encoding="utf-8") as f:
        if suffix == ".json":
            for chunk in _json_array(rows):  # the text json.dumps(list(rows), indent=2) gives, without the list
                f.write(chunk)
            return
        writer = csv.DictWriter(f, fieldnames=PLAN_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in row.items()})


def _json_array(rows: Iterable[dict]) -> Iterator[str]:
    first = True
    for row in rows:
        yield ("[\n" if first else ",\n") + textwrap.indent(json.dumps(row, indent=2, ensure_ascii=False), "  ")
        first = False
    yield "[]" if first else "\n]"


def show_plan(console, listed: Iterable[tuple[str, ItemOutcome, str]], counts: dict[ItemOutcome, int],
              stop: str | None) -> None:
    """Print what a dry run would do: a table of the changes (at most ``SHOWN``; ``listed`` gives them as
    (email, action, reason)), the number of contacts already up to date, and the safety stop's verdict."""
    table = Table("email", "would", "why", title="Dry run: nothing was sent")
    shown = 0
    for email, action, reason in listed:
        table.add_row(email, action.value.replace("_", " "), reason)
        shown += 1
    console.print(table)
    unchanged = counts.get(ItemOutcome.UNCHANGED, 0)
    rest = sum(counts.values()) - unchanged - shown
    if rest > 0:
        console.print(f"{rest} more changes are not shown (all are in the run log and in --plan FILE).")
    console.print(f"{unchanged} contacts are already up to date (listed in --plan FILE).")
    if stop:
        console.print(f"[yellow]{stop}: a real run would refuse this unless --force[/]")
