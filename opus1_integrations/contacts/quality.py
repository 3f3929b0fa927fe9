"""The data-quality report: source records to fix in opus1, each with its ids and a plain-language fix."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator

from .explain import full_name
from .model import QualityIssue
from .rules import MERGED


def _ids(accounts: str) -> tuple[str, ...]:
    return tuple(sorted(set(json.loads(accounts))))


def quality_issues(db: sqlite3.Connection) -> Iterator[QualityIssue]:
    """Yield the issues of a decided export: invalid emails, children holding emails, one email on several
    accounts, people with conflicting records (archived accounts are left out)."""
    for person_id, accounts, first, last, email, problem in db.execute(
        "SELECT person_id, accounts, first_name, last_name, email, email_problem FROM decisions"
        " WHERE reason = 'invalid_email' ORDER BY email_key, person_id"
    ):
        name, account_ids = full_name(first, last, person_id), _ids(accounts)
        yield QualityIssue(
            "invalid_email", email, account_ids, (person_id,),
            f"{name} ({person_id}) has the invalid email {email!r}: {problem}",
            f"Correct {name}'s email on account {', '.join(account_ids)} in opus1.",
        )
    for person_id, accounts, first, last, email, manager_id, manager_first, manager_last, manager_email in db.execute(
        "SELECT d.person_id, d.accounts, d.first_name, d.last_name, d.email, m.person_id, m.first_name, m.last_name, m.email"
        " FROM decisions d LEFT JOIN decisions m ON m.person_id = d.via"
        " WHERE d.is_child = 1 AND d.email IS NOT NULL AND d.live > 0 ORDER BY d.email_key, d.person_id"
    ):
        name, manager = full_name(first, last, person_id), full_name(manager_first, manager_last, manager_id or "")
        on_file = f" <{manager_email}>" if manager_email else " (no email on file)"
        yield QualityIssue(
            "child_has_email", email, _ids(accounts), (person_id,),
            f"Child {name} ({person_id}) has the email {email!r}; children are never synced.",
            f"If the address is a parent's, put it on the account manager {manager}{on_file}; otherwise remove it from {name}'s record.",
        )
    for key, email, first, last in db.execute(
        "SELECT key, email, first_name, last_name FROM contacts WHERE json_array_length(account_ids) > 1 ORDER BY key"
    ):
        people = db.execute(
            f"SELECT person_id, first_name, last_name, live_accounts FROM decisions"
            f" WHERE contact_key = ? AND reason IN {MERGED} ORDER BY person_id",
            (key,),
        ).fetchall()
        account_ids = tuple(sorted({a for *_, live in people for a in json.loads(live)}))
        if len(account_ids) < 2:
            continue
        listed = ", ".join(f"{full_name(f, l, p)} ({p})" for p, f, l, _ in people)
        yield QualityIssue(
            "email_on_several_accounts", email, account_ids, tuple(p for p, *_ in people),
            f"{key} is used on {len(account_ids)} accounts ({', '.join(account_ids)}) by {listed}.",
            f"They get one entry in each integration, named {full_name(first, last, key)}. If these accounts are one family, "
            "merge them in opus1; if they are different people, give each their own email.",
        )
    for person_id, accounts, chosen, first, last, email in db.execute(
        "SELECT person_id, accounts, account_id, first_name, last_name, email FROM decisions"
        " WHERE conflict AND live > 0 ORDER BY person_id"
    ):
        name, account_ids = full_name(first, last, person_id), _ids(accounts)
        yield QualityIssue(
            "conflicting_records", email, account_ids, (person_id,),
            f"{name} ({person_id}) has different names, emails, child flags or consents on {', '.join(account_ids)}; "
            f"the record on {chosen} was used.",
            f"Make {name}'s records agree in opus1.",
        )
