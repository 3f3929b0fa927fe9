"""Generate a large synthetic opus1 accounts export, deterministic by ``--seed``, streamed to the file.

    python examples/generate_export.py big.jsonl --accounts 1000000 --seed 1
    python examples/generate_export.py big.csv --accounts 100000            # CSV: UTF-8 BOM, CRLF

or ``from generate_export import generate; generate(path, accounts, seed, fmt)``.

The mix, per account (about 1.5 people and 2.1 records per account):

- status: 82% active, 12% inactive, 6% archived;
- 62% an adult who manages their own account and studies (listed as account manager and as a student with the
  same person_id, is_child false);
- 28% a family: a parent manages, with 1 child (65%), 2 (27%) or 3 (8%);
- 4% a family with an adult student too (a spouse or grown child): own email 50%, the parent's email 30%, none 20%;
- 3% a second account of a recent family's parent: same email (a new person_id, or the same one 1 time in 4);
- 3% the spouse of a recent family opens their own account with the family's shared email;
- account managers: 3% without email, 2% with an invalid email (typos, a non-ASCII local part), 5% written in
  mixed case; 15% of people without phone; 3% of children hold an email (their own, or a parent's);
- students have 1 or 2 enrolments (program and teacher);
- adults' email consent: 80% granted, 4% denied, 8% "unknown", 8% without the field (also unknown); a granted or
  denied consent has a ``consent_at`` between 2019 and 2026. Children carry no consent. These draws use a random
  generator of their own, so the rest of an export is the same as without them.

Emails use common mail domains with a running number, so they never collide by accident. In CSV, 1 account in 20
has its student rows written a few accounts later (rows of one account are not always adjacent).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
from collections import deque
from datetime import datetime, timedelta, timezone
from pathlib import Path

ADULT_FIRST = (
    "Maria", "James", "Jennifer", "Michael", "Linda", "David", "Patricia", "Robert", "Elizabeth", "Daniel", "Susan",
    "Thomas", "Jessica", "Carlos", "Sarah", "Wei", "Karen", "Ahmed", "Nancy", "Hiroshi", "Lisa", "Olga", "Priya",
    "Andrew", "Emily", "Kevin", "Laura", "Brian", "Rachel", "Jorge", "Anna", "Samuel", "Fatima", "Peter", "Grace",
)
CHILD_FIRST = (
    "Leo", "Mia", "Noah", "Emma", "Liam", "Olivia", "Lucas", "Ava", "Ethan", "Sofia", "Mateo", "Isabella", "Aiden",
    "Chloe", "Ella", "Oliver", "Zoe", "Henry", "Lily", "Jack", "Aria", "Mason", "Nora", "Ravi", "Yuki", "Hana",
)
LAST = (
    "Lopez", "Smith", "Johnson", "Garcia", "Brown", "Kim", "Nguyen", "Patel", "Miller", "Davis", "Wilson", "Chen",
    "Anderson", "Taylor", "Thomas", "Moore", "Martin", "Lee", "Walker", "Hall", "Young", "Allen", "Wright", "Scott",
    "Rossi", "Müller", "Novak", "Kowalski", "O'Brien", "Silva", "Yamamoto", "Ivanova", "Haddad", "Okafor", "Singh",
)
DOMAINS = (
    ("gmail.com", 45), ("yahoo.com", 12), ("outlook.com", 10), ("hotmail.com", 8), ("icloud.com", 10),
    ("aol.com", 3), ("comcast.net", 4), ("protonmail.com", 2), ("me.com", 3), ("live.com", 3),
)
PROGRAMS = {
    "Piano": ("Ms. Kim", "Mr. Haddad"), "Violin": ("Ms. Novak",), "Guitar": ("Mr. Alvarez", "Ms. Okafor"),
    "Voice": ("Ms. Rossi",), "Drums": ("Mr. Walker",), "Cello": ("Ms. Novak",), "Ballet": ("Ms. Ivanova",),
    "Hip Hop": ("Mr. Young",), "Tap": ("Ms. Hall",), "Music Theory": ("Mr. Haddad",), "Math Tutoring": ("Mr. Singh",),
    "Flute": ("Ms. Chen",), "Saxophone": ("Mr. Scott",),
}
CSV_COLUMNS = (
    "account_id", "account_status", "person_id", "role", "first_name", "last_name", "email", "phone",
    "birth_date", "is_child", "created_at", "updated_at", "programs", "email_consent", "consent_at",
)
CONSENTS = (("granted", 80), ("denied", 4), ("unknown", 8), (None, 8))
_EPOCH = datetime(2019, 1, 1, tzinfo=timezone.utc)


class _Studio:
    """The random choices of one generated export."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.consent_rng = random.Random(f"consent-{seed}")
        self.people = 0
        self.serial = 1000
        self.recent: deque[dict] = deque(maxlen=500)
        self.domains = [d for d, _ in DOMAINS]
        self.weights = [w for _, w in DOMAINS]

    def person_id(self) -> str:
        self.people += 1
        return f"per_{self.people}"

    def email(self, first: str, last: str) -> str:
        rng = self.rng
        self.serial += rng.randint(1, 9)
        last = last.replace("'", "").replace("ü", "u").lower()
        local = rng.choice((f"{first.lower()}.{last}", f"{first.lower()}{last}", f"{first[0].lower()}{last}"))
        address = f"{local}{self.serial}@{rng.choices(self.domains, self.weights)[0]}"
        if rng.random() < 0.05:
            address = address[0].upper() + address[1:]
        return address

    def typo(self, address: str) -> str:
        local, _, domain = address.partition("@")
        return self.rng.choice((
            f"{local}@{domain.split('.')[0]}", f"{local}@@{domain}", f"{local} {domain}", f"{local}..x@{domain}",
            f"{local}é@{domain}", f"{local}@{domain.replace('.', ',')}", f"{local}@{domain}.",
        ))

    def phone(self) -> str | None:
        rng = self.rng
        return None if rng.random() < 0.15 else f"+1 {rng.randint(201, 989)} 555 {rng.randint(0, 9999):04d}"

    def enrollments(self) -> list[dict]:
        rng = self.rng
        chosen = rng.sample(sorted(PROGRAMS), rng.choice((1, 1, 1, 2)))
        return [{"program": p, "teacher": rng.choice(PROGRAMS[p]), "term": "Fall 2026"} for p in chosen]

    def adult(self, last: str | None = None) -> dict:
        rng = self.rng
        first, last = rng.choice(ADULT_FIRST), last or rng.choice(LAST)
        roll = rng.random()
        email = None if roll < 0.03 else self.email(first, last)
        if email and roll < 0.05:
            email = self.typo(email)
        person = {"person_id": self.person_id(), "first_name": first, "last_name": last, "email": email, "phone": self.phone()}
        return person | self.consent()

    def consent(self) -> dict:
        """An adult's ``email_consent`` and ``consent_at`` (none at all 8% of the time)."""
        rng = self.consent_rng
        consent = rng.choices([c for c, _ in CONSENTS], [w for _, w in CONSENTS])[0]
        if consent is None:
            return {}
        when = None
        if consent != "unknown":
            when = (_EPOCH + timedelta(seconds=rng.randint(0, 8 * 365 * 86400))).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {"email_consent": consent, "consent_at": when}

    def child(self, last: str, parent_email: str | None) -> dict:
        rng = self.rng
        first = rng.choice(CHILD_FIRST)
        email = None
        if rng.random() < 0.03:
            email = parent_email if parent_email and rng.random() < 0.5 else self.email(first, last)
        return {
            "person_id": self.person_id(), "first_name": first, "last_name": last,
            "birth_date": f"{rng.randint(2010, 2021)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "is_child": True, "email": email, "enrollments": self.enrollments(),
        }

    def student(self, adult: dict, birth_year: int) -> dict:
        rng = self.rng
        return {**adult, "birth_date": f"{birth_year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                "is_child": False, "enrollments": self.enrollments()}

    def kids(self, last: str, parent_email: str | None) -> list[dict]:
        count = self.rng.choices((1, 2, 3), (65, 27, 8))[0]
        return [self.child(last, parent_email) for _ in range(count)]

    def account(self, number: int) -> dict:
        rng = self.rng
        created = _EPOCH + timedelta(seconds=rng.randint(0, 7 * 365 * 86400))
        updated = created + timedelta(seconds=rng.randint(0, 300 * 86400))
        status = rng.choices(("active", "inactive", "archived"), (82, 12, 6))[0]
        kind = rng.random()
        if kind < 0.62:
            manager = self.adult()
            students = [self.student(manager, rng.randint(1950, 2006))]
        elif kind < 0.90:
            manager = self.adult()
            students = self.kids(manager["last_name"], manager["email"])
            self.recent.append(manager)
        elif kind < 0.94:
            manager = self.adult()
            other = self.adult(manager["last_name"])
            share = rng.random()
            if share < 0.3:
                other["email"] = manager["email"]
            elif share < 0.5:
                other["email"] = None
            students = [self.student(other, rng.randint(1970, 2006))] + self.kids(manager["last_name"], manager["email"])[:rng.randint(0, 2)]
            self.recent.append(manager)
        elif self.recent:
            family = rng.choice(self.recent)
            if kind < 0.97:
                same = rng.random() < 0.25
                manager = dict(family) if same else {**family, "person_id": self.person_id(), "phone": self.phone()}
            else:
                manager = self.adult(family["last_name"])
                manager["email"] = family["email"]
            students = self.kids(manager["last_name"], manager["email"])[:1]
        else:
            manager = self.adult()
            students = []
        return {
            "account_id": f"acc_{number}", "status": status,
            "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"), "updated_at": updated.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "account_manager": manager, "students": students,
        }


def csv_rows(account: dict) -> list[list[str]]:
    """The CSV rows of one account: the account manager's, then one per student."""
    head = (account["account_id"], account["status"])
    times = (account["created_at"], account["updated_at"])
    manager = account["account_manager"]
    rows = [[*head, manager["person_id"], "account_manager", manager["first_name"], manager["last_name"],
             manager.get("email") or "", manager.get("phone") or "", "", "", *times, "",
             manager.get("email_consent") or "", manager.get("consent_at") or ""]]
    for student in account["students"]:
        programs = ";".join(e["program"] for e in student.get("enrollments") or ())
        rows.append([*head, student["person_id"], "student", student["first_name"], student["last_name"],
                     student.get("email") or "", student.get("phone") or "", student.get("birth_date") or "",
                     "true" if student["is_child"] else "false", *times, programs,
                     student.get("email_consent") or "", student.get("consent_at") or ""])
    return rows


def generate(path: str | Path, accounts: int, seed: int = 0, fmt: str | None = None) -> None:
    """Write ``accounts`` synthetic accounts to ``path`` as ``jsonl`` or ``csv`` (default: by the file's extension)."""
    path = Path(path)
    fmt = fmt or ("csv" if path.suffix.lower() == ".csv" else "jsonl")
    studio = _Studio(seed)
    if fmt == "jsonl":
        with open(path, "w", encoding="utf-8", newline="\n") as out:
            for number in range(1, accounts + 1):
                out.write(json.dumps(studio.account(number), ensure_ascii=False) + "\n")
        return
    with open(path, "w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        held: deque[list[list[str]]] = deque()
        shuffle = random.Random(seed)  # its own generator, so both formats hold the same accounts
        for number in range(1, accounts + 1):
            manager_row, *student_rows = csv_rows(studio.account(number))
            writer.writerow(manager_row)
            if student_rows and shuffle.random() < 0.05:
                held.append(student_rows)
            else:
                writer.writerows(student_rows)
            if len(held) > 3:
                writer.writerows(held.popleft())
        for rows in held:
            writer.writerows(rows)


def main() -> None:
    """Command line: ``generate_export.py PATH --accounts N [--seed S] [--format jsonl|csv]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--format", choices=("jsonl", "csv"), default=None, help="default: by the file's extension")
    args = parser.parse_args()
    generate(args.path, args.accounts, args.seed, args.format)


if __name__ == "__main__":
    main()
