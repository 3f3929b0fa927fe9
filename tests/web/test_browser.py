"""The Integrations tab in a real browser (Debian's Chromium driven by Playwright) against the app served by uvicorn
and the Mailchimp sandbox: every item of issue 16's Tests section. The screenshots of docs/web.md come from here
(``OPUS1_SCREENSHOTS=docs/images``)."""

from __future__ import annotations

import pytest

from opus1_integrations import state
from opus1_integrations.host import Host
from opus1_integrations.services.sync import sync_business
from opus1_integrations.web import Principal

from .conftest import XSS, configured, link_token, studio_export

MARIA = "maria.lopez@gmail.com"  # the example studio's first account manager


@pytest.fixture
def html_seen(page):
    """Every HTML document the browser received in the test."""
    documents: list[str] = []

    def keep(response):
        if "text/html" in response.headers.get("content-type", ""):
            documents.append(response.text())

    page.on("response", keep)
    return documents


@pytest.fixture(autouse=True)
def key_never_in_html_or_logs(html_seen, mailchimp_sandbox, caplog, capfd):
    """After each test: the sandbox's API key is in no page the browser got, no log record and no server output."""
    yield
    assert html_seen and all(mailchimp_sandbox.api_key not in html for html in html_seen)
    out, err = capfd.readouterr()
    assert mailchimp_sandbox.api_key not in caplog.text + out + err


def sign_in(page, served, business="studio", operator=False):
    """Open a sign-in link in the browser; returns the link."""
    url = f"{served}/signin?token={link_token(Principal(business=None if operator else business, operator=operator))}"
    page.goto(url)
    return url


def fill_settings(page, sandbox, api_key, export=None):
    """Fill the Mailchimp form (opening "More settings" for the sandbox's URL and, for an operator, the export's
    path) and press Update Business."""
    page.fill("#in-user_id", sandbox.username)
    page.fill("#in-api_key", api_key)
    page.fill("#in-audience_id", sandbox.audience_id)
    page.click("summary")
    page.fill("#in-api_url", sandbox.base_url)
    if export is not None:
        page.fill("#in-contacts_path", str(export))
    page.click("text=Update Business")


def synced(plugins, sandbox, folder, *, xss=False, refused=None):
    """A business `studio` configured against the sandbox and synced once (``refused``: an address Mailchimp has
    permanently deleted, so it refuses it)."""
    if refused:
        sandbox.seed_member(refused, forgotten=True)
    configured(plugins, sandbox, studio_export(folder, xss=xss))
    result = sync_business(Host(plugins), "mailchimp", "studio")
    assert result.failure is None
    return result


def test_sign_in_from_a_link(page, served, html_seen, screenshot):
    sign_in(page, served)
    assert page.url == f"{served}/b/studio/integrations"  # the token is gone from the address bar
    assert page.inner_text("h1") == "Integrations"
    assert "not set up" in page.inner_text("#integration-mailchimp").lower()
    screenshot(page, "tab-not-set-up")


def test_a_wrong_key_shows_an_inline_error_and_saves_nothing(page, served, mailchimp_sandbox, html_seen, screenshot):
    sign_in(page, served)
    page.click("#integration-mailchimp >> text=Set up Mailchimp")
    fill_settings(page, mailchimp_sandbox, "0123456789abcdef0123456789abcdee-us1")
    error = page.inner_text("#field-api_key .field-error")
    assert "rejected the API key" in error and "To fix it" in error
    assert "Nothing was saved" in page.inner_text(".problem")
    assert page.input_value("#in-api_key") == ""  # the typed key is not sent back
    assert page.input_value("#in-user_id") == mailchimp_sandbox.username  # the rest is kept
    assert state.open_db()["integrations"].count == 0
    screenshot(page, "settings-wrong-key")


def test_right_settings_enable_the_integration_and_the_key_stays_write_only(page, served, mailchimp_sandbox, plugins,
                                                                           tmp_path, html_seen, screenshot):
    sign_in(page, served, operator=True)  # an operator also sets the export's path
    page.goto(f"{served}/b/studio/integrations/mailchimp/settings")
    fill_settings(page, mailchimp_sandbox, mailchimp_sandbox.api_key, export=studio_export(tmp_path))
    assert page.url.endswith("/b/studio/integrations?done=saved")
    assert "Settings saved" in page.inner_text(".note")
    assert page.inner_text("#integration-mailchimp .badge") == "ENABLED"
    screenshot(page, "tab-enabled")
    page.goto(f"{served}/b/studio/integrations/mailchimp/settings")
    assert "A value is saved. It is never shown." in page.inner_text("#field-api_key")
    screenshot(page, "settings")
    page.click("summary")
    page.fill("#in-tags", "opus1\nstudio")
    page.click("text=Update Business")  # the key field left empty: the saved key is kept
    assert page.url.endswith("?done=saved")
    stored = Host(plugins).stored("mailchimp", "studio")
    assert stored.settings["api_key"] == mailchimp_sandbox.api_key and stored.settings["tags"] == ["opus1", "studio"]


def test_sync_now_shows_the_run_and_its_counts(page, served, mailchimp_sandbox, plugins, tmp_path, html_seen,
                                               screenshot):
    mailchimp_sandbox.seed_member("amanda.murphy12@icloud.com", forgotten=True)
    configured(plugins, mailchimp_sandbox, studio_export(tmp_path))
    sign_in(page, served)
    page.click("#integration-mailchimp >> text=Sync now")
    page.wait_for_selector("#integration-mailchimp .last-sync .counts", timeout=30_000)  # the page refreshes itself
    last = page.inner_text("#integration-mailchimp .last-sync")
    assert "partial" in last and "added" in last and "1 contact refused" in last
    screenshot(page, "tab-synced")
    page.click("text=1 contact refused")
    rows = page.locator("table.items tbody tr")
    assert rows.count() == 1 and "amanda.murphy12@icloud.com" in rows.first.inner_text()
    page.click("nav.filters >> text=all")
    assert "refused" in page.locator("table.items tbody tr").first.inner_text()  # failures first
    screenshot(page, "run", full_page=False)


def test_an_error_shows_with_its_fix(page, served, mailchimp_sandbox, plugins, tmp_path, html_seen, screenshot):
    synced(plugins, mailchimp_sandbox, tmp_path, refused="amanda.murphy12@icloud.com")
    sign_in(page, served)
    page.click("text=Errors and notifications")
    finding = page.locator("li.finding.sev-error", has_text="amanda.murphy12@icloud.com")
    assert finding.count() == 1
    assert "How to fix it:" in finding.inner_text()
    screenshot(page, "errors")


def test_check_a_client(page, served, mailchimp_sandbox, plugins, tmp_path, html_seen, screenshot):
    synced(plugins, mailchimp_sandbox, tmp_path)
    sign_in(page, served)
    page.fill("#q-mailchimp", "Maria.Lopez@gmail.com")
    page.click("#integration-mailchimp button:has-text('Check')")
    answer = page.text_content(".answer")
    assert "Maria Lopez" in answer and "eligible" in answer
    assert "In Mailchimp now" in answer and "status subscribed" in answer
    assert "added" in answer  # what the last sync did to her
    screenshot(page, "check")


def test_verify_random_entries(page, served, mailchimp_sandbox, plugins, tmp_path, html_seen, screenshot):
    synced(plugins, mailchimp_sandbox, tmp_path)
    sign_in(page, served)
    page.fill("#n-mailchimp", "5")
    page.click("#integration-mailchimp button:has-text('Verify')")
    assert page.inner_text(".summary") == "Checked 5 contacts: 5 match, 0 differ."
    mailchimp_sandbox.seed_member(MARIA, status="subscribed", merge_fields={"FNAME": "Mary", "LNAME": "Lopez"})
    page.fill("#sample", "200")
    page.click("main button:has-text('Verify')")
    assert "1 differ" in page.inner_text(".summary")
    assert MARIA in page.inner_text(".differences") and "Mary" in page.inner_text(".differences")
    screenshot(page, "verify")


def test_another_business_and_replayed_or_expired_links_are_refused(page, browser, served, html_seen):
    link = sign_in(page, served)
    other = page.goto(f"{served}/b/other/integrations")
    assert other.status == 403 and "not signed in for this business" in page.inner_text("main")
    fresh = browser.new_context()
    try:
        tab = fresh.new_page()
        replay = tab.goto(link)
        assert replay.status == 403 and "already used" in tab.inner_text("main")
        expired = tab.goto(f"{served}/signin?token={link_token(Principal(business='studio'), seconds=-1)}")
        assert expired.status == 403
        assert tab.goto(f"{served}/b/studio/integrations").status == 401
    finally:
        fresh.close()


def test_a_post_without_the_csrf_token_is_refused(page, served, mailchimp_sandbox, plugins, tmp_path, html_seen):
    configured(plugins, mailchimp_sandbox, studio_export(tmp_path))
    sign_in(page, served)
    page.locator("#integration-mailchimp input[name=csrf_token]").evaluate("field => field.remove()")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.click("#integration-mailchimp >> text=Sync now")
    assert answer.value.status == 403
    assert "nothing was changed" in page.inner_text("main")
    assert state.open_db()["runs"].count == 0


def test_a_client_named_like_a_script_renders_as_text(page, served, mailchimp_sandbox, plugins, tmp_path, html_seen,
                                                      screenshot):
    synced(plugins, mailchimp_sandbox, tmp_path, xss=True)
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in(page, served)
    page.goto(f"{served}/b/studio/integrations/mailchimp/check?q={MARIA}")
    assert XSS in page.inner_text(".answer")
    assert page.locator("script").count() == 0 and dialogs == []
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html_seen[-1]
    page.goto(f"{served}/b/studio/errors")
    assert page.locator("script").count() == 0 and dialogs == []


def test_the_operator_view_lists_every_business(page, served, mailchimp_sandbox, plugins, tmp_path, html_seen,
                                                screenshot):
    synced(plugins, mailchimp_sandbox, tmp_path, refused="amanda.murphy12@icloud.com")
    configured(plugins, mailchimp_sandbox, studio_export(tmp_path), business="riverside-dance")
    sign_in(page, served, operator=True)
    assert page.url == f"{served}/"
    rows = page.locator("table.overview tbody tr")
    assert rows.count() == 2
    assert "partial" in rows.nth(1).inner_text() and "never run" in rows.nth(0).inner_text()
    page.click("th >> text=Refused contacts")
    page.click("th >> text=Refused contacts")  # descending: the most refused first
    assert "studio" in page.locator("table.overview tbody tr").first.inner_text()
    screenshot(page, "overview")
