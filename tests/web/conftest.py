"""Fixtures of the web tests: the app (installed plugins, the test's own state folder), a client, sign-in, an
example studio export, and Mailchimp settings pointing at the sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from opus1_integrations import state
from opus1_integrations.plugins import Plugins
from opus1_integrations.services.configure import configure
from opus1_integrations.host import Host
from opus1_integrations.web import Principal, create_app, signin

ROOT = Path(__file__).resolve().parents[2]
STUDIO_EXPORT = ROOT / "examples" / "studio" / "accounts.jsonl"
XSS = "<script>alert(1)</script>"


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


# -- the real browser ------------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
REQUIRE_BROWSER_ENV = "OPUS1_REQUIRE_BROWSER"
SCREENSHOTS_ENV = "OPUS1_SCREENSHOTS"


@pytest.fixture(scope="session")
def browser():
    """One headless Debian Chromium for the whole session, driven by Playwright. Without Chromium the browser tests
    skip with one line, unless ``OPUS1_REQUIRE_BROWSER=1`` (CI), where they fail."""
    import os
    import shutil

    executable = shutil.which("chromium") or (CHROMIUM if Path(CHROMIUM).exists() else None)
    if executable is None:
        message = "browser tests need Debian's chromium (apt-get install chromium chromium-driver)"
        if os.environ.get(REQUIRE_BROWSER_ENV) == "1":
            pytest.fail(f"{message}; {REQUIRE_BROWSER_ENV}=1 says they must run", pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def served(app):
    """The app served by uvicorn in a thread on a loopback port; its base URL."""
    from opus1_integrations.web.server import Background

    server = Background(app).start()
    try:
        yield server.url
    finally:
        app.state.web.jobs.wait(30)
        server.stop()


@pytest.fixture
def page(browser):
    """A fresh browser tab (its own cookies) sized for screenshots."""
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    try:
        yield tab
    finally:
        context.close()


@pytest.fixture
def screenshot(tmp_path):
    """Save a full-page PNG: into ``$OPUS1_SCREENSHOTS`` (docs/images for docs/web.md) when set, else tmp_path."""
    import os

    folder = Path(os.environ.get(SCREENSHOTS_ENV) or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)

    def take(tab, name: str, full_page: bool = True) -> Path:
        path = folder / f"{name}.png"
        tab.screenshot(path=str(path), full_page=full_page)
        assert path.stat().st_size > 1000
        return path

    return take
