"""Standalone sign-in: one-time, expiring sign-in links and the sessions they open.

A link's token is ``<nonce>.<expires>.<signature>``: the signature is an HMAC-SHA256, keyed by a secret kept in a
0600 file under the state home, of the nonce, the expiry and who it signs in. Only the token's SHA-256 is stored, so
the database never holds a usable token; using it once marks it used. A session is a random id in an HttpOnly cookie,
stored hashed too. The tables live in the web's own migration set, in the state database.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import sqlite_utils

from .. import state
from ..clock import iso, parse, utcnow

SECRET_FILE = "web-secret"
LINK_LIFETIME = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=12)

migrations = sqlite_utils.Migrations("opus1_integrations_web")


@migrations()
def m001_tokens_and_sessions(db: sqlite_utils.Database) -> None:
    """Sign-in tokens and sessions, each stored as the SHA-256 of its secret."""
    db["web_tokens"].create({"token_hash": str, "business": str, "operator": int, "expires_at": str,
                             "used_at": str}, pk="token_hash")
    db["web_sessions"].create({"session_hash": str, "business": str, "operator": int, "created_at": str,
                               "expires_at": str}, pk="session_hash")


# The web's m002 made the run log's (run_id, outcome) index; the host's own migrations make it now (state.m006). A
# database that applied it keeps the record, which sqlite-utils ignores once the name is no longer in this set.


@dataclass(frozen=True)
class Principal:
    """Who is asking: the people of one business, or an operator, who sees every business."""

    business: str | None = None
    operator: bool = False
    name: str | None = None
    """How the page greets them (the embedding platform's user name), if known."""

    def may_see(self, business: str) -> bool:
        """Whether this principal may see (and change) ``business``'s pages."""
        return self.operator or (self.business is not None and hmac.compare_digest(self.business, business))

    @property
    def key(self) -> str:
        """A stable text naming the principal (CSRF tokens are bound to it)."""
        return "operator" if self.operator else f"business:{self.business}"


def secret_key() -> bytes:
    """The HMAC key: read from ``<home>/web-secret``, created (32 random bytes, mode 0600) on first use."""
    path = state.home() / SECRET_FILE
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        key = path.read_bytes()
        if len(key) < 32:
            raise RuntimeError(f"{path} is damaged (shorter than 32 bytes): delete it to make a new one") from None
        return key
    with os.fdopen(fd, "wb") as out:
        out.write(secrets.token_bytes(32))
    return path.read_bytes()


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _signature(key: bytes, nonce: str, expires: int, principal: Principal) -> str:
    message = f"{nonce}.{expires}.{principal.key}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def issue_link_token(db: sqlite_utils.Database, key: bytes, principal: Principal,
                     lifetime: timedelta = LINK_LIFETIME) -> str:
    """A new one-time sign-in token for ``principal``, valid for ``lifetime``; only its hash is stored."""
    state.apply_migrations(db, migrations)
    nonce, expires = secrets.token_urlsafe(24), int((utcnow() + lifetime).timestamp())
    token = f"{nonce}.{expires}.{_signature(key, nonce, expires, principal)}"
    with db.atomic():
        db["web_tokens"].insert({"token_hash": _digest(token), "business": principal.business,
                                 "operator": int(principal.operator), "expires_at": iso(datetime.fromtimestamp(expires, timezone.utc)),
                                 "used_at": None})
    return token


def use_link_token(db: sqlite_utils.Database, key: bytes, token: str) -> Principal | None:
    """The principal a token signs in, marking it used; ``None`` when it is forged, unknown, used or expired."""
    parts = token.split(".") if isinstance(token, str) and len(token) < 200 else []
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    row = db.execute("select business, operator, expires_at from web_tokens where token_hash = ? and used_at is null",
                     [_digest(token)]).fetchone()
    if row is None:
        return None
    principal = Principal(business=row[0], operator=bool(row[1]))
    expected = _signature(key, parts[0], int(parts[1]), principal)
    if not hmac.compare_digest(expected, parts[2]) or parse(row[2]) <= utcnow():
        return None
    with db.atomic():  # one use: the update wins once, however many requests race
        used = db.execute("update web_tokens set used_at = ? where token_hash = ? and used_at is null",
                          [iso(utcnow()), _digest(token)]).rowcount
    return principal if used == 1 else None


def open_session(db: sqlite_utils.Database, principal: Principal) -> str:
    """A new session for ``principal``: returns the id for the cookie; only its hash is stored."""
    session_id = secrets.token_urlsafe(32)
    now = utcnow()
    with db.atomic():
        db.execute("delete from web_sessions where expires_at <= ?", [iso(now)])
        db.execute("delete from web_tokens where expires_at <= ?", [iso(now - timedelta(days=1))])
        db["web_sessions"].insert({"session_hash": _digest(session_id), "business": principal.business,
                                   "operator": int(principal.operator), "created_at": iso(now),
                                   "expires_at": iso(now + SESSION_LIFETIME)})
    return session_id


def session_principal(db: sqlite_utils.Database, session_id: str | None) -> Principal | None:
    """Who a session cookie signs in, or ``None`` (no cookie, unknown or expired session)."""
    if not session_id or len(session_id) > 100:
        return None
    row = db.execute("select business, operator from web_sessions where session_hash = ? and expires_at > ?",
                     [_digest(session_id), iso(utcnow())]).fetchone()
    return Principal(business=row[0], operator=bool(row[1])) if row else None


def close_session(db: sqlite_utils.Database, session_id: str | None) -> None:
    """Forget a session (sign out)."""
    if session_id:
        with db.atomic():
            db.execute("delete from web_sessions where session_hash = ?", [_digest(session_id)])
