"""Fixtures of the web tests: the app (installed plugins, the test's own state folder), a client, sign-in, an
example studio export, and Mailchimp settings pointing at the sandbox."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from opus1_integrations import state
from opus1_integrations.plugins import Plugins
from opus1_integrations.services.configure import configure
from opus1_integrations.host import Host
from opus1_integrations.web import Principal, create_app, signin

ROOT = Path(__file__).resolve().parents[2]
STUDIO_EXPORT = ROOT / "examples" / "studio" / "accounts.jsonl"
XSS = "<script>alert(1)</script>"


@pytest.fixture(autouse=True)
def isolated_home(opus1_home):
    """``OPUS1_INT_HOME`` points into the test's own tmp_path."""
    return opus1_home


@pytest.fixture
def plugins() -> Plugins:
    """The installed plugins (Mailchimp and the csv example)."""
    loaded = Plugins()
    loaded.load_entry_points()
    return loaded


@pytest.fixture
def app(plugins):
    """The standalone app."""
    return create_app(plugins)


@pytest.fixture
def client(app):
    """A TestClient of the standalone app (no redirects followed, so tests see them)."""
    from starlette.testclient import TestClient

    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


def link_token(principal: Principal, **lifetime) -> str:
    """A new sign-in token, as `opus1-int web link` makes one."""
    from datetime import timedelta

    db = state.open_db()
    try:
        return signin.issue_link_token(db, signin.secret_key(), principal,
                                       timedelta(**lifetime) if lifetime else signin.LINK_LIFETIME)
    finally:
        db.conn.close()


@pytest.fixture
def sign_in(client):
    """Sign the client in for a business (or as an operator) through a sign-in link."""

    def sign(business: str | None = "studio", operator: bool = False):
        token = link_token(Principal(business=None if operator else business, operator=operator))
        response = client.get(f"/signin?token={token}")
        assert response.status_code == 303, response.text
        return response

    return sign


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    marker = 'name="csrf_token" value="'
    return html.split(marker, 1)[1].split('"', 1)[0]


def studio_export(folder: Path, *, xss: bool = False) -> Path:
    """The example studio's export; with ``xss``, its first account manager is called ``<script>...``."""
    lines = STUDIO_EXPORT.read_text(encoding="utf-8").splitlines()
    if xss:
        first = json.loads(lines[0])
        first["account_manager"]["first_name"] = XSS
        lines[0] = json.dumps(first)
    path = folder / "accounts.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def mailchimp_settings(sandbox) -> dict:
    """Settings that pass the sandbox's live checks."""
    return {"user_id": sandbox.username,
            "api_key": sandbox.api_key, "audience_id": sandbox.audience_id, "api_url": sandbox.base_url}


def configured(plugins, sandbox, export: Path, business: str = "studio") -> None:
    """Save working Mailchimp settings for ``business`` through the service, as `configure` does."""
    db = state.open_db()
    try:
        configure(Host(plugins, db), "mailchimp", business, mailchimp_settings(sandbox), contacts_path=str(export))
    finally:
        db.conn.close()


def path_of(url: str) -> str:
    """The path and query of a URL."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")
