"""The settings form over plain HTTP: secrets write-only, values read back by the schema's types, only operators
set the export's path; and what the pages say when there is nothing yet."""

from __future__ import annotations

import re

import pytest

from opus1_integrations import state
from opus1_integrations.host import Host
from opus1_integrations.services.configure import configure

from .conftest import csrf_of, mailchimp_settings, studio_export

SETTINGS = "/b/studio/integrations/mailchimp/settings"


def post_settings(client, **values):
    """Submit the settings form as a browser would (hidden `false` before each tick box)."""
    token = csrf_of(client.get(SETTINGS).text)
    data = {"csrf_token": token, "enabled": ["false", "true"], "program_tags": "false", **values}
    return client.post(SETTINGS, data=data)


@pytest.fixture
def saved(plugins, mailchimp_sandbox, tmp_path):
    """Working Mailchimp settings for `studio`, saved through the service."""
    db = state.open_db()
    configure(Host(plugins, db), "mailchimp", "studio", mailchimp_settings(mailchimp_sandbox),
              contacts_path=str(studio_export(tmp_path)))
    return mailchimp_sandbox


def stored(plugins):
    return Host(plugins, state.open_db()).stored("mailchimp", "studio")


def test_a_saved_secret_is_never_rendered_not_even_partly(client, sign_in, saved):
    sign_in("studio")
    html = client.get(SETTINGS).text
    key = saved.api_key
    assert not any(key[i:i + 6] in html for i in range(len(key) - 5))
    assert "A value is saved. It is never shown." in html
    assert re.search(r'<input id="in-api_key" name="api_key" type="password"[^>]*value=""', html)


def test_a_secret_kept_in_the_environment_shows_only_the_variable_s_name(client, sign_in, saved, plugins, monkeypatch):
    monkeypatch.setenv("STUDIO_MAILCHIMP_KEY", saved.api_key)
    configure(Host(plugins, state.open_db()), "mailchimp", "studio", {"api_key": {"$env": "STUDIO_MAILCHIMP_KEY"}})
    sign_in("studio")
    html = client.get(SETTINGS).text
    assert "environment variable STUDIO_MAILCHIMP_KEY" in html and saved.api_key not in html


def test_an_empty_secret_field_keeps_the_saved_one(client, sign_in, saved, plugins):
    sign_in("studio")
    response = post_settings(client, user_id=saved.username, api_key="", audience_id=saved.audience_id,
                             api_url=saved.base_url, leaver_policy="tag")
    assert response.status_code == 303 and response.headers["location"].endswith("?done=saved")
    assert stored(plugins).settings["api_key"] == saved.api_key
    assert stored(plugins).settings["leaver_policy"] == "tag"


def test_a_number_field_holding_words_is_refused_beside_it_and_nothing_is_saved(client, sign_in, saved, plugins):
    sign_in("studio")
    before = stored(plugins)
    response = post_settings(client, user_id="someone", api_key="", audience_id=saved.audience_id,
                             api_url=saved.base_url, max_connections="ten")
    assert response.status_code == 422
    assert re.search(r'id="field-max_connections">.*must be a number', response.text, re.S)
    assert stored(plugins).settings == before.settings


def test_a_value_the_schema_refuses_is_explained_in_its_words_beside_the_field(client, sign_in, saved, plugins):
    sign_in("studio")
    response = post_settings(client, user_id=saved.username, api_key="not-a-key", audience_id=saved.audience_id,
                             api_url=saved.base_url)
    assert response.status_code == 422
    field = response.text.split('id="field-api_key"', 1)[1].split('id="field-', 1)[0]
    assert "32 lowercase hex characters" in field and "not-a-key" not in response.text
    assert stored(plugins).settings["api_key"] == saved.api_key


def test_an_emptied_optional_setting_goes_back_to_its_default(client, sign_in, saved, plugins):
    sign_in("studio")
    post_settings(client, user_id=saved.username, audience_id=saved.audience_id, api_url=saved.base_url,
                  leaver_tag="gone")
    assert stored(plugins).settings["leaver_tag"] == "gone"
    post_settings(client, user_id=saved.username, audience_id=saved.audience_id, api_url=saved.base_url,
                  leaver_tag="")
    assert "leaver_tag" not in stored(plugins).settings


def test_only_operators_set_the_export_s_path(client, sign_in, saved, plugins, tmp_path):
    path = stored(plugins).contacts_path
    sign_in("studio")
    assert 'name="contacts_path"' not in client.get(SETTINGS).text
    post_settings(client, user_id=saved.username, audience_id=saved.audience_id, api_url=saved.base_url,
                  contacts_path="/etc/passwd")
    assert stored(plugins).contacts_path == path
    sign_in(operator=True)
    (tmp_path / "other").mkdir()
    other = studio_export(tmp_path / "other")
    post_settings(client, user_id=saved.username, audience_id=saved.audience_id, api_url=saved.base_url,
                  contacts_path=str(other))
    assert stored(plugins).contacts_path == str(other)


def test_disabling_skips_the_live_checks_and_stops_sync_now(client, sign_in, saved, plugins):
    sign_in("studio")
    token = csrf_of(client.get(SETTINGS).text)
    response = client.post(SETTINGS, data={"csrf_token": token, "enabled": "false", "user_id": saved.username,
                                           "audience_id": saved.audience_id, "api_url": saved.base_url})
    assert response.headers["location"].endswith("?done=saved-disabled")
    assert not stored(plugins).enabled
    tab = client.get("/b/studio/integrations").text
    assert "Sync now" not in tab and "disabled" in tab
    assert client.post("/b/studio/integrations/mailchimp/sync", data={"csrf_token": token}).status_code == 409


def test_pages_with_nothing_set_up_say_so(client, sign_in):
    sign_in("studio")
    assert "has no integration configured" in client.get("/b/studio/errors").text
    assert "No runs yet" in client.get("/b/studio/integrations/mailchimp/runs").text
    answer = client.get("/b/studio/integrations/mailchimp/check?q=ana@example.org")
    assert answer.status_code == 409 and "not configured" in answer.text
    assert client.get("/b/studio/integrations/nosuch/settings").status_code == 404


def test_times_are_shown_to_the_second_in_utc(client, sign_in, saved, plugins):
    from opus1_integrations.services.sync import sync_business

    run = sync_business(Host(plugins), "mailchimp", "studio")
    sign_in("studio")
    for page in ("/b/studio/integrations", f"/b/studio/runs/{run.run_id}"):
        html = client.get(page).text
        assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", html), page
        assert not re.search(r":\d\d\.\d+", html), page  # no fractions of a second
