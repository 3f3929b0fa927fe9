"""``opus1-int leavers INTEGRATION``: the synced people who left in the service (unsubscribed, bounced, archived)
since a time, one line per person, or as JSON or CSV for opus1 to record."""

from __future__ import annotations

import csv
import sys
from typing import Annotated

import typer

from ..errors import UsageError
from ..output import emit_json, results, safe, spreadsheet_safe
from ..services.leavers import LeaversAnswer, leavers
from .options import Business, Integration, Json
from .render import minute, plural

#: The columns of ``--csv``.
CSV_COLUMNS = ("person_id", "account_ids", "email", "status", "reason", "left_at")
#: The first characters that make a spreadsheet read a cell as a formula: such a cell gets a leading ``'``.
WIDTH = 80
#: The widest person and account cells, so that the email keeps most of the line.
ID_WIDTH = 14


def leavers_command(
    ctx: typer.Context,
    integration: Integration,
    business: Business = "default",
    since: Annotated[
        str, typer.Option("--since", metavar="WHEN", help="Who left since WHEN: an age (90m, 24h, 7d) or a time "
                                                          "(2026-11-20, 2026-11-20T08:00:00+00:00).")
    ] = "7d",
    as_json: Json = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV on stdout (a header, one row per person).")] = False,
) -> None:
    """List the synced people who unsubscribed, bounced or were archived in the service since a time, with the
    opus1 person and accounts they belong to, when and how. A sync notices them, so the list is as recent as the
    last sync."""
    if as_json and as_csv:
        raise UsageError("--json and --csv cannot be combined", hint="give one of them")
    answer = leavers(ctx.obj, integration, business, since)
    if as_json:
        emit_json(answer.to_dict())
    elif as_csv:
        _write_csv(answer)
    else:
        _show(answer)


def _show(answer: LeaversAnswer) -> None:
    """One line per person, fitting 80 columns: when, how, person, accounts, email."""
    out = results()
    if not answer.leavers:
        out.print(f"nobody left in {answer.integration} since {minute(answer.since)} UTC")
        return
    rows = [["left (UTC)", "how", "person", "account", "email"]] + [
        [minute(p.left_at), p.status, p.person_id,
         p.account_ids[0] + (f" +{len(p.account_ids) - 1}" if len(p.account_ids) > 1 else "") if p.account_ids else "",
         p.email] for p in answer.leavers]
    rows = [[_cut(cell, ID_WIDTH) if i in (1, 2, 3) else cell for i, cell in enumerate(row)] for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    room = max(WIDTH - sum(widths) - 2 * len(widths), 10)
    for row in rows:
        cells = [cell.ljust(w) for cell, w in zip(row, widths)] + [_cut(row[4], room)]
        out.print(safe("  ".join(cells).rstrip()))
    out.print(f"{plural(len(answer.leavers), 'person')} left in {safe(answer.integration)} since "
              f"{minute(answer.since)} UTC; --json adds the reasons")


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def _write_csv(answer: LeaversAnswer) -> None:
    writer = csv.writer(sys.stdout)
    writer.writerow(CSV_COLUMNS)
    for p in answer.leavers:
        writer.writerow([spreadsheet_safe(cell) for cell in (
            p.person_id, ";".join(p.account_ids), p.email, p.status, p.reason or "", p.left_at)])
    sys.stdout.flush()
