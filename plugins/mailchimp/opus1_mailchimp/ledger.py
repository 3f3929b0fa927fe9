"""What this plugin synced before, per business and audience: the memory behind leavers, email changes, tags and
consent withdrawals (with each member's status as last seen, and its accounts), and the stamp of the last complete
sync (its export, settings digest, quiet second and the audience's counts) behind the no-change path. The plugin's
migrations live here, those of the people who left in Mailchimp (``leavers``) included."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import NamedTuple

import sqlite_utils

from opus1_integrations.api import now

TABLE = "mailchimp_synced"
LAST_SYNC = "mailchimp_last_sync"
LEAVERS = "mailchimp_leavers"
migrations = sqlite_utils.Migrations("opus1_mailchimp")


@migrations()
def m001_synced_members(db: sqlite_utils.Database) -> None:
    """One row per member the plugin synced, with the people behind it and the tags it added."""
    db[TABLE].create(
        {
            "business": str,
            "audience_id": str,
            "key": str,
            "email": str,
            "person_ids": str,
            "managed_tags": str,
            "synced_at": str,
            "left": int,
        },
        pk=("business", "audience_id", "key"),
    )


@migrations()
def m002_last_sync(db: sqlite_utils.Database) -> None:
    """What the last complete sync of a business and audience started from: export, settings, and when it ended."""
    db[LAST_SYNC].create(
        {"business": str, "audience_id": str, "fingerprint": str, "settings": str, "ended_at": str, "counts": str},
        pk=("business", "audience_id"),
    )


@migrations()
def m003_statuses_accounts_and_leavers(db: sqlite_utils.Database) -> None:
    """Each synced member's status as last seen and its accounts; the audience's counts at the last complete sync;
    and one row per synced member who left in Mailchimp (unsubscribed, cleaned or archived there)."""
    db[TABLE].add_column("status", str)
    db[TABLE].add_column("account_ids", str)
    db[LAST_SYNC].add_column("audience_counts", str)
    db[LEAVERS].create(
        {
            "business": str,
            "audience_id": str,
            "key": str,
            "email": str,
            "person_ids": str,
            "account_ids": str,
            "status": str,
            "reason": str,
            "left_at": str,
            "noticed_at": str,
        },
    )
    db[LEAVERS].create_index(["business", "audience_id", "left_at"])


@dataclass(frozen=True)
class LastSync:
    """The last sync that finished with every contact in line."""

    fingerprint: str
    settings: str
    ended_at: str
    counts: dict
    audience_counts: dict | None = None
    """The audience's counts (``stats``) as Mailchimp gave them when the sync ended; ``None`` before they were kept."""


class Synced(NamedTuple):
    """A member this plugin synced earlier (a named tuple: a sync builds one per member, cheaply)."""

    key: str
    email: str
    person_ids: tuple[str, ...]
    managed_tags: frozenset[str]
    left: bool
    account_ids: tuple[str, ...] = ()
    status: str | None = None
    """Its status in Mailchimp as this plugin last saw or set it (``None``: stored before statuses were kept)."""


class Ledger:
    """Reads and updates the synced members of one business and audience."""

    def __init__(self, db: sqlite_utils.Database, business: str, audience_id: str):
        self.db = db
        self.business = business
        self.audience_id = audience_id

    def source(self, schema: str) -> tuple[str, str, list[str]]:
        """Where to copy the members synced before from: the ledger database's file, the query of its rows in key
        order as (key, email, person ids as JSON, managed tags as JSON, left, account ids as JSON, status) with that
        file attached as ``schema``, and the query's parameters."""
        file = next(row[2] for row in self.db.conn.execute("PRAGMA database_list") if row[1] == "main")
        return (file, f"SELECT {COLUMNS} FROM {schema}.{TABLE}"
                      " WHERE business = ? AND audience_id = ? ORDER BY key", [self.business, self.audience_id])

    def last_sync(self) -> LastSync | None:
        """The last complete sync, or ``None``."""
        rows = list(self.db[LAST_SYNC].rows_where("business = ? and audience_id = ?", [self.business, self.audience_id]))
        if not rows:
            return None
        row = rows[0]
        audience = json.loads(row["audience_counts"]) if row.get("audience_counts") else None
        return LastSync(row["fingerprint"], row["settings"], row["ended_at"], json.loads(row["counts"]), audience)

    def save_last_sync(self, fingerprint: str, settings: str, ended_at: str, counts: dict,
                       audience_counts: dict) -> None:
        """Remember a sync that finished with every contact in line, and the audience's counts at its end."""
        self.db[LAST_SYNC].upsert(
            {"business": self.business, "audience_id": self.audience_id, "fingerprint": fingerprint,
             "settings": settings, "ended_at": ended_at, "counts": json.dumps(counts),
             "audience_counts": json.dumps(audience_counts, sort_keys=True)},
            pk=("business", "audience_id"),
        )

    def forget_last_sync(self) -> None:
        """A run started that may change the audience: the next one must not skip."""
        self.db[LAST_SYNC].delete_where("business = ? and audience_id = ?", [self.business, self.audience_id])

    def remember(self, entries: Iterable[tuple[str, str, str, str, str, str | None]]) -> None:
        """Record members as synced now: (key, email, person ids, tags this plugin manages on them, account ids,
        status), the ids and tags as ``encode`` makes them, the status as sent or seen (``None`` keeps the one
        recorded)."""
        stamp = now()
        rows = [(self.business, self.audience_id, key, email, person_ids, tags, accounts, status, stamp)
                for key, email, person_ids, tags, accounts, status in entries]
        self._write(  # one statement per row (``upsert_all`` takes two, at twice the time)
            f"INSERT INTO {TABLE} (business, audience_id, key, email, person_ids, managed_tags, account_ids,"
            " status, synced_at, left) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)"
            " ON CONFLICT (business, audience_id, key) DO UPDATE SET email = excluded.email,"
            " person_ids = excluded.person_ids, managed_tags = excluded.managed_tags,"
            " account_ids = excluded.account_ids, status = coalesce(excluded.status, status),"
            " synced_at = excluded.synced_at, left = 0", rows)

    def mark_left(self, entries: Iterable[tuple[str, str | None, str | None]]) -> None:
        """Mark members as leavers already handled: (key, their managed tags now as ``encode`` makes them, or None
        to keep those recorded, their status now, or None to keep it)."""
        rows = [(tags, status, self.business, self.audience_id, key) for key, tags, status in entries]
        self._write(f"UPDATE {TABLE} SET left = 1, managed_tags = coalesce(?, managed_tags),"
                    " status = coalesce(?, status) WHERE business = ? AND audience_id = ? AND key = ?", rows)

    def set_status(self, entries: Iterable[tuple[str, str]]) -> None:
        """Record members' statuses as this plugin set or saw them: (key, status)."""
        rows = [(status, self.business, self.audience_id, key) for key, status in entries]
        self._write(f"UPDATE {TABLE} SET status = ? WHERE business = ? AND audience_id = ? AND key = ?", rows)

    def forget(self, keys: Iterable[str]) -> None:
        """Drop members that are gone from the audience or moved to another address."""
        rows = [(self.business, self.audience_id, key) for key in keys]
        self._write(f"DELETE FROM {TABLE} WHERE business = ? AND audience_id = ? AND key = ?", rows)

    def _write(self, sql: str, rows: list[tuple]) -> None:
        """Run ``sql`` once per row, in one transaction (a savepoint inside a caller's); nothing for no rows."""
        if rows:
            with self.db.atomic():
                self.db.conn.executemany(sql, rows)


#: The columns of a ledger row, in the order ``decode`` takes them.
COLUMNS = "key, email, person_ids, managed_tags, left, account_ids, status"


def encode(person_ids: Iterable[str], managed_tags: Iterable[str], account_ids: Iterable[str] = ()
           ) -> tuple[str, str, str]:
    """A member's person ids, managed tags and account ids as the ledger stores them (JSON texts)."""
    return json.dumps(list(person_ids)), json.dumps(sorted(managed_tags)), json.dumps(list(account_ids))


def decode(row: tuple) -> Synced:
    """A ledger row (``COLUMNS``, as ``Ledger.source`` reads them) as ``Synced``."""
    key, email, person_ids, tags, left, accounts, status = row
    return Synced(key, email, tuple(json.loads(person_ids)), tag_set(tags), bool(left),
                  tuple(json.loads(accounts)) if accounts else (), status)


@lru_cache(maxsize=4096)
def tag_set(text: str | None) -> frozenset[str]:
    """A JSON list of tag names as a set (cached: most members carry one of a few sets); empty for None."""
    return frozenset(json.loads(text)) if text else frozenset()


def settings_digest(settings: dict) -> str:
    """A digest of the settings that shape a sync (the key is left out: it does not change what is sent)."""
    shaping = {k: v for k, v in settings.items() if k != "api_key"}
    return hashlib.sha256(json.dumps(shaping, sort_keys=True).encode()).hexdigest()


def quiet_since(mc) -> str:
    """The second from which on a change in the audience is not this run's, by Mailchimp's clock (its ``Date``
    header, so an error of our own clock does not matter): the second after our last write, else the time of its
    latest answer; our clock if Mailchimp sent no date. Mailchimp stamps ``last_changed`` to the second, so a change
    made by someone else in the very second of our last write is taken for ours."""
    if mc.last_write_time is not None:
        return (mc.last_write_time + timedelta(seconds=1)).isoformat()
    return (mc.server_time or datetime.now(timezone.utc).replace(microsecond=0)).isoformat()
