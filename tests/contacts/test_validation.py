"""The fast paths give exactly the libraries' outcomes: jsonschema for accounts, email-validator for addresses."""

from __future__ import annotations

import copy
import random

import pytest
from email_validator import EmailNotValidError, validate_email
from jsonschema import Draft202012Validator

from opus1_integrations.contacts.emails import EXAMPLE_DOMAINS, EmailChecker
from opus1_integrations.contacts.validation import _fast_account, check_account, load_schema, timestamp

VALID = {
    "account_id": "acc_1", "status": "active", "created_at": "2026-09-01T10:00:00Z", "updated_at": "2026-11-20T08:12:00.5+01:00",
    "account_manager": {"person_id": "per_1", "first_name": "Maria", "last_name": "Lopez", "email": "m@gmail.com", "phone": None,
                        "email_consent": "granted", "consent_at": "2026-09-01T10:00:00Z"},
    "students": [{"person_id": "per_2", "first_name": "Leo", "last_name": "Lopez", "is_child": True, "birth_date": "2016-04-02",
                  "email": None, "enrollments": [{"program": "Piano", "teacher": "Ms. Kim", "term": None}],
                  "email_consent": None, "consent_at": None}],
}
ODD_VALUES = [
    None, "", " ", "x", 0, 1, 1.5, True, False, [], {}, [{}], {"program": "Piano"}, "active", "archived", "closed",
    "granted", "denied", "unknown", "Granted",
    "2026-02-30T10:00:00Z", "2026-11-20t08:12:00z", "2026-11-20T08:12:00Z\n", "2026-11-20T24:00:00Z", "2026-11-20T08:12:60Z",
    "2026-11-20T08:12:00+24:00", "2026-11-20T08:12:00.123456789Z", "0000-01-01T00:00:00Z", "2026-11-20", "2026-11-20 08:12:00Z",
    "2026-11-20T08:12:00", "２０２６-11-20T08:12:00Z", "2024-02-29T23:59:59-23:59",
]


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, prefix + (index,))


def _mutations(rng: random.Random, count: int):
    paths = [p for p in _paths(VALID) if p]
    for _ in range(count):
        account = copy.deepcopy(VALID)
        for _ in range(rng.choice((1, 1, 2))):
            path = rng.choice(paths)
            try:
                parent = account
                for step in path[:-1]:
                    parent = parent[step]
                action = rng.random()
                if action < 0.2 and isinstance(parent, dict):
                    del parent[path[-1]]
                elif action < 0.3 and isinstance(parent, dict):
                    parent["extra"] = rng.choice(ODD_VALUES)
                else:
                    parent[path[-1]] = copy.deepcopy(rng.choice(ODD_VALUES))
            except (KeyError, IndexError, TypeError):
                continue
        yield account


def test_fast_account_check_accepts_only_what_the_schema_accepts():
    validator = Draft202012Validator(load_schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)
    fast_accepted = 0
    for account in _mutations(random.Random(7), 3000):
        schema_valid = validator.is_valid(account)
        try:
            fast = _fast_account(account)
        except (KeyError, TypeError):
            fast = False
        assert not fast or schema_valid, account
        assert (check_account(account) == []) == schema_valid, account
        if schema_valid:
            timestamp(account["updated_at"])  # every timestamp the schema accepts can be ordered
        fast_accepted += fast
    assert fast_accepted > 100  # the mutations do exercise the fast path


def test_every_schema_valid_timestamp_can_be_ordered():
    base = timestamp("2026-11-20T08:12:00Z")
    assert timestamp("2026-11-20t09:12:00+01:00") == base
    assert timestamp("2026-11-20T08:12:00z\n") == base
    assert timestamp("2026-11-20T08:12:00.123456789Z") == pytest.approx(base + 0.123456)


LOCALS = ["a", "A.b", "a..b", ".a", "a.", "a+tag", "a b", "é", '"ab"', "a\\b", "info", "x" * 64, "x" * 250,
          "a!#$%&'*+-/=?^_`{|}~", "Anna.Kowalski", "", "a<b", "a>b", "a,b"]
DOMAINS = ["gmail.com", "GMAIL.COM", "xn--bcher-kva.de", "bücher.de", "gmail", "-a.com", "a-.com", "ab--cd.com",
           "xn--a.com", "localhost", "a.invalid", "x" * 64 + ".com", "y" * 240 + ".com", "1.2.3.4", "[1.2.3.4]",
           "gmail.com.", "a_b.com", "gmail..com", "example.com", "mail.EXAMPLE.org", "@gmail.com", "", "a.123"]


def _reference(address: str) -> bool:
    try:
        valid = validate_email(address, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        return False
    return not any(valid.ascii_domain == d or valid.ascii_domain.endswith("." + d) for d in EXAMPLE_DOMAINS)


def test_email_checker_matches_email_validator_with_a_warm_domain_cache():
    addresses = [f"{local}@{domain}" for local in LOCALS for domain in DOMAINS]
    addresses += ["x" * n + "@gmail.com" for n in (243, 244, 245)] + ["no-at-sign", "a@b@gmail.com", "Ａ@gmail.com"]
    random.Random(3).shuffle(addresses)
    checker = EmailChecker()
    for _ in range(2):  # the second round answers from the cache of accepted domains
        for address in addresses:
            assert (checker.problem(address) is None) == _reference(address), address
    assert "Internationalized characters" in checker.problem("josé@gmail.com")
