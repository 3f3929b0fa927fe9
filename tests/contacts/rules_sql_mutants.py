"""Hand-made mutants of the SQL in ``opus1_integrations/contacts/rules.py``, for ``make mutation``.

mutmut mutates Python; the rules are SQL text, where its string mutants are either syntax errors or case changes
that SQL ignores. So each mutant here changes one rule the way a slip would (a sort order, a condition, a
priority), and the contacts tests must fail on it. Each runs in a copy of the package (the working tree is never
changed), with the tests that pin the rules; a mutant survives when they all pass.

    python tests/contacts/rules_sql_mutants.py [--jobs 2]

Exits 1 when a mutant survives that is not in ``EQUIVALENT`` (docs/testing.md explains those).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RULES = "opus1_integrations/contacts/rules.py"
TESTS = [f"tests/contacts/{name}.py" for name in
         ("test_rules_table", "test_consent", "test_rules", "test_examples", "test_properties", "test_readers")]

#: (name, text in rules.py, its replacement); each text occurs exactly once.
MUTANTS = [
    ("the manager's record is not preferred for a person", "* 2 + role) *", "* 2 + (1 - role)) *"),
    ("the oldest record is preferred for a person", '" - MIN(MAX(CAST(updated_at', '" - 17179869183 + MIN(MAX(CAST(updated_at'),
    ("an archived record is not last for a person", "(((status = 'archived') * 2 + role)", "(((0) * 2 + role)"),
    ("archived people are not ranked last for an address", "ORDER BY live > 0 DESC, manages DESC", "ORDER BY manages DESC"),
    ("a manager does not name an address first", "live > 0 DESC, manages DESC, last_update", "live > 0 DESC, last_update"),
    ("the oldest names an address", "manages DESC, last_update DESC", "manages DESC, last_update ASC"),
    ("person ids are compared as text", "last_update DESC, length(person_id), person_id)", "last_update DESC, person_id)"),
    ("an address shared by archived people only is reachable", "FIRST_VALUE(live > 0)", "FIRST_VALUE(1)"),
    ("children's addresses are candidates", '_VALID = "is_child = 0 AND email', '_VALID = "email'),
    ("invalid addresses are candidates", 'email IS NOT NULL AND email_problem IS NULL"', 'email IS NOT NULL"'),
    ("the email comes from the least preferred record", "MIN(CASE WHEN email IS NOT NULL", "MAX(CASE WHEN email IS NOT NULL"),
    ("the phone comes from the least preferred record", "MIN(CASE WHEN phone IS NOT NULL", "MAX(CASE WHEN phone IS NOT NULL"),
    ("a differing email is no conflict", "MIN(email_key) != MAX(email_key) OR ", ""),
    ("a differing first name is no conflict", "OR MIN(first_name) != MAX(first_name)", ""),
    ("a differing last name is no conflict", "OR MIN(last_name) != MAX(last_name)", ""),
    ("a differing child flag is no conflict", "OR MIN(is_child) != MAX(is_child)", ""),
    ("a differing consent is no conflict", "OR MIN(NULLIF(consent, 0)) != MAX(NULLIF(consent, 0))", ""),
    ("a shared contact is made for an unreachable address", "WHERE h.rank = 1 AND h.reachable", "WHERE h.rank = 1"),
    ("no_email comes before account_archived",
     "WHEN p.live = 0 THEN 'account_archived'\n             WHEN p.email IS NULL THEN 'no_email'",
     "WHEN p.email IS NULL THEN 'no_email'\n             WHEN p.live = 0 THEN 'account_archived'"),
    ("an archived person alone on an address is eligible", "WHEN c.person_id IS NULL AND p.live > 0 AND", "WHEN c.person_id IS NULL AND"),
    ("a child is reached through a student", "r.account_id = p.account_id AND r.role = 0", "r.account_id = p.account_id AND r.role = 1"),
    ("programs of archived accounts count", "t.person_id = g.person_id AND t.status != 'archived'", "t.person_id = g.person_id"),
    ("a CSV manager gets the programs of adult students", "(r.rec = m.rec OR r.is_child = 1))", "(r.rec = m.rec OR r.is_child = 0))"),
    ("an inactive account of a shared contact wins", 'CASE WHEN {_OF_SHARED.format(value="MAX(c.active)")}',
     'CASE WHEN {_OF_SHARED.format(value="MIN(c.active)")}'),
    ("a shared contact without the namer's phone has none", 'COALESCE(h.phone, {_OF_SHARED.format(value="MAX(c.phone)")})', "h.phone"),
    ("a contact's consent is the lowest-ranked", "ORDER BY c.consent DESC, c.consent_time DESC NULLS LAST, c.rank",
     "ORDER BY c.consent ASC, c.consent_time DESC NULLS LAST, c.rank"),
    ("a contact's consent_at is not the latest", "ORDER BY c.consent DESC, c.consent_time DESC NULLS LAST, c.rank",
     "ORDER BY c.consent DESC, c.rank"),
    ("a person's consent is the lowest-ranked", "ORDER BY c.consent DESC, c.consent_time DESC NULLS LAST, c.rec",
     "ORDER BY c.consent ASC, c.consent_time DESC NULLS LAST, c.rec"),
    ("a person's consent_at is not the latest", "ORDER BY c.consent DESC, c.consent_time DESC NULLS LAST, c.rec",
     "ORDER BY c.consent DESC, c.rec"),
    ("a person's accounts lose the archived ones", "json_group_array(DISTINCT account_id) AS accounts",
     "json_group_array(DISTINCT account_id) FILTER (WHERE status != 'archived') AS accounts"),
    ("the contacts are written in another order", "WHERE h.rank = 1 AND h.reachable\nORDER BY key", "WHERE h.rank = 1 AND h.reachable\nORDER BY key DESC"),
    ("a person listed again is not grouped", "GROUP BY person_id HAVING COUNT(*) > 1", "GROUP BY person_id HAVING COUNT(*) > 2"),
]

#: Survivors that no behaviour can tell apart from the rules, each with the reason (also in docs/testing.md).
EQUIVALENT = {
    "archived people are not ranked last for an address":
        "an archived person never manages (manages needs a current account) and has no last_update (NULL sorts "
        "last), so the next keys already rank them after every current person; the key states the intent",
    "the contacts are written in another order":
        "Audience.contacts() reads them ORDER BY key; writing the table in key order only lets that read walk it in order",
}


def _run(mutant: tuple[str, str, str], python: str) -> tuple[str, bool]:
    name, old, new = mutant
    with tempfile.TemporaryDirectory(prefix="rules-mutant-") as folder:
        shutil.copytree(ROOT / "opus1_integrations", Path(folder) / "opus1_integrations")
        shutil.copytree(ROOT / "schemas", Path(folder) / "schemas")
        rules = Path(folder) / RULES
        rules.write_text(rules.read_text().replace(old, new))
        env = {**os.environ, "PYTHONPATH": folder, "OPUS1_PROPERTY_EXAMPLES": "40"}
        result = subprocess.run([python, "-P", "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *TESTS],
                                cwd=ROOT, env=env, capture_output=True, text=True)
        return name, result.returncode != 0


def main() -> int:
    """Run every mutant; print which the tests killed; exit 1 on an unexplained survivor."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    source = (ROOT / RULES).read_text()
    wrong = [name for name, old, _ in MUTANTS if source.count(old) != 1]
    if wrong:
        print(f"these mutants no longer match {RULES} exactly once; update them: {wrong}")
        return 1
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda m: _run(m, sys.executable), MUTANTS))
    survivors = [name for name, killed in results if not killed]
    for name, killed in results:
        print(f"{'killed' if killed else 'SURVIVED':9} {name}" + (f" (equivalent: {EQUIVALENT[name]})" if name in EQUIVALENT else ""))
    killed = len(results) - len(survivors)
    print(f"{RULES} (SQL): {killed} of {len(results)} hand-made mutants killed ({100 * killed / len(results):.1f}%), "
          f"{len(survivors)} survived of which {len(set(survivors) & set(EQUIVALENT))} are equivalent")
    return 1 if set(survivors) - set(EQUIVALENT) else 0


if __name__ == "__main__":
    sys.exit(main())
