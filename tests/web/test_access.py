"""Who gets in: sign-in links (one-time, expiring, signed, stored hashed), sessions, one business per session, CSRF
on every POST, security headers on every response; plain HTTP against the app."""

from __future__ import annotations

import logging
import stat

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from opus1_integrations import state
from opus1_integrations.web import Principal, create_app, signin

from .conftest import configured, csrf_of, link_token, studio_export

POST_ROUTES = ["/b/studio/integrations/mailchimp/settings", "/b/studio/integrations/mailchimp/sync", "/signout"]
GET_PAGES = ["/b/studio/integrations", "/b/studio/errors", "/b/studio/integrations/mailchimp/settings",
             "/b/studio/integrations/mailchimp/runs", "/b/studio/integrations/mailchimp/check",
             "/b/studio/integrations/mailchimp/verify"]


def test_a_sign_in_link_opens_a_session_and_redirects_to_the_tab_without_the_token(client):
    token = link_token(Principal(business="studio"))
    response = client.get(f"/signin?token={token}")
    assert response.status_code == 303
    assert response.headers["location"] == "/b/studio/integrations"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("opus1_int_session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # served over http here
    assert client.get("/b/studio/integrations").status_code == 200


def test_the_session_cookie_is_secure_over_https(app):
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as secure:
        response = secure.get(f"/signin?token={link_token(Principal(business='studio'))}")
    assert all("Secure" in c for c in response.headers.get_list("set-cookie"))


def test_a_sign_in_link_works_once(client):
    token = link_token(Principal(business="studio"))
    assert client.get(f"/signin?token={token}").status_code == 303
    client.cookies.clear()
    replay = client.get(f"/signin?token={token}")
    assert replay.status_code == 403
    assert "already used" in replay.text
    assert "opus1_int_session" not in replay.headers.get("set-cookie", "")


def test_an_expired_link_is_refused(client):
    token = link_token(Principal(business="studio"), seconds=-1)
    assert client.get(f"/signin?token={token}").status_code == 403
    assert client.get("/b/studio/integrations").status_code == 401


@pytest.mark.parametrize("forge", [
    lambda t: t[:-1] + ("0" if t[-1] != "0" else "1"),  # a changed signature
    lambda t: t.split(".")[0] + "." + str(int(t.split(".")[1]) + 3600) + "." + t.split(".")[2],  # a later expiry
    lambda t: "not-a-token",
    lambda t: "",
])
def test_a_forged_link_is_refused(client, forge):
    token = link_token(Principal(business="studio"))
    assert client.get("/signin", params={"token": forge(token)}).status_code == 403
    assert client.get(f"/signin?token={token}").status_code == 303  # the real one still works


def test_tokens_and_sessions_are_stored_hashed_and_the_key_file_is_private(client, opus1_home):
    token = link_token(Principal(business="studio"))
    client.get(f"/signin?token={token}")
    session = client.cookies["opus1_int_session"]
    raw = b"".join(p.read_bytes() for p in opus1_home.glob(state.DB_NAME + "*"))
    assert token.encode() not in raw and token.split(".")[0].encode() not in raw
    assert session.encode() not in raw
    mode = stat.S_IMODE((opus1_home / signin.SECRET_FILE).stat().st_mode)
    assert mode == 0o600
    assert len((opus1_home / signin.SECRET_FILE).read_bytes()) == 32


@pytest.mark.parametrize("path", GET_PAGES + ["/"])
def test_pages_need_a_signed_in_user(client, path):
    response = client.get(path)
    assert response.status_code == 401
    assert "sign-in link" in response.text


@pytest.mark.parametrize("path", GET_PAGES + ["/b/studio/runs/1"])
def test_another_business_s_pages_are_refused(client, sign_in, path):
    sign_in("other")
    response = client.get(path)
    assert response.status_code == 403
    assert "not signed in for this business" in response.text


def test_a_run_of_another_business_is_not_found_by_its_id(client, sign_in, plugins, mailchimp_sandbox, tmp_path):
    configured(plugins, mailchimp_sandbox, studio_export(tmp_path), business="other")
    from opus1_integrations.host import Host
    from opus1_integrations.services.sync import sync_business

    run = sync_business(Host(plugins), "mailchimp", "other")
    sign_in("studio")
    response = client.get(f"/b/studio/runs/{run.run_id}")
    assert response.status_code == 404
    assert "no run" in response.text


def test_a_business_is_sent_from_the_operator_view_to_its_own_tab(client, sign_in):
    sign_in("studio")
    response = client.get("/")
    assert response.status_code == 303 and response.headers["location"] == "/b/studio/integrations"


def test_an_operator_sees_every_business(client, sign_in, plugins, mailchimp_sandbox, tmp_path):
    configured(plugins, mailchimp_sandbox, studio_export(tmp_path), business="a-studio")
    configured(plugins, mailchimp_sandbox, studio_export(tmp_path), business="b-studio")
    sign_in(operator=True)
    overview = client.get("/")
    assert overview.status_code == 200
    assert overview.text.index("a-studio") < overview.text.index("b-studio")
    descending = client.get("/?sort=business&order=desc").text
    assert descending.index("b-studio") < descending.index("a-studio")
    assert client.get("/b/a-studio/integrations").status_code == 200


@pytest.mark.parametrize("path", POST_ROUTES)
@pytest.mark.parametrize("token", [None, "wrong"])
def test_every_post_without_the_right_csrf_token_is_refused_and_changes_nothing(client, sign_in, path, token,
                                                                                 plugins, mailchimp_sandbox, tmp_path):
    configured(plugins, mailchimp_sandbox, studio_export(tmp_path))
    sign_in("studio")
    data = {"user_id": "someone_else", "enabled": "false"} | ({"csrf_token": token} if token else {})
    response = client.post(path, data=data)
    assert response.status_code == 403
    assert "nothing was changed" in response.text
    db = state.open_db()
    assert db["integrations"].get(("studio", "mailchimp"))["enabled"] == 1
    assert "someone_else" not in db["integrations"].get(("studio", "mailchimp"))["settings"]
    assert db["runs"].count == 0
    assert client.get("/b/studio/integrations").status_code == 200  # still signed in


def test_a_csrf_token_of_another_browser_is_refused(app, client, sign_in):
    sign_in("studio")
    token = csrf_of(client.get("/b/studio/integrations").text)
    with TestClient(app, follow_redirects=False) as other:
        other.get(f"/signin?token={link_token(Principal(business='studio'))}")
        assert other.post("/signout", data={"csrf_token": token}).status_code == 403
    assert client.post("/signout", data={"csrf_token": token}).status_code == 200


def test_the_csrf_cookie_is_read_beside_a_platforms_cookie_the_strict_parser_refuses(client, sign_in):
    sign_in("studio")
    client.get("/b/studio/integrations")
    csrf = client.cookies.get("opus1_int_csrf")
    client.cookies.set("platform", '{"a":1}')  # JSON in a cookie, as platforms that embed the tab set them
    page = client.get("/b/studio/integrations")
    assert not any(c.startswith("opus1_int_csrf=") for c in page.headers.get_list("set-cookie"))  # kept, not renewed
    assert client.cookies.get("opus1_int_csrf") == csrf
    assert client.post("/signout", data={"csrf_token": csrf_of(page.text)}).status_code == 200


def test_signing_out_ends_the_session(client, sign_in):
    sign_in("studio")
    token = csrf_of(client.get("/b/studio/integrations").text)
    assert client.post("/signout", data={"csrf_token": token}).status_code == 200
    assert client.get("/b/studio/integrations").status_code == 401


@pytest.mark.parametrize("path", GET_PAGES + ["/", "/static/style.css", "/nowhere", "/signin?token=x"])
def test_every_response_carries_the_security_headers(client, sign_in, path):
    sign_in(operator=True)
    response = client.get(path)
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "script-src" not in csp and "unsafe-inline" not in csp  # no script at all
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    if not path.startswith("/static/"):
        assert response.headers["cache-control"] == "no-store"


def test_the_pages_hold_no_inline_script_or_style(client, sign_in):
    sign_in(operator=True)
    for path in GET_PAGES + ["/"]:
        html = client.get(path).text.lower()
        assert "<script" not in html and " style=" not in html and " on" + "click=" not in html


def test_the_access_log_has_no_query_strings(client, caplog):
    token = link_token(Principal(business="studio"))
    with caplog.at_level(logging.INFO, logger="opus1_integrations.web.access"):
        client.get(f"/signin?token={token}")
        client.get("/b/studio/integrations/mailchimp/check?q=maria%40example.org")
    lines = [r.getMessage() for r in caplog.records if r.name == "opus1_integrations.web.access"]
    assert lines == [lines[0], lines[1]] and lines[0].startswith("GET /signin 303")
    assert token not in caplog.text and "maria" not in caplog.text and "?" not in caplog.text


def test_mounted_in_a_platform_the_app_takes_the_user_from_identify(plugins):
    def identify(request):
        business = request.headers.get("x-test-business")
        return Principal(business=business, name="Ana") if business else None

    tab = create_app(plugins, identify=identify, frame_ancestors="https://opus1.example")
    platform = Starlette(routes=[Mount("/settings/integrations", app=tab)])
    with TestClient(platform, follow_redirects=False) as browser:
        first = browser.get("/settings/integrations/b/studio/integrations")
        assert first.status_code == 401
        assert "Path=/settings/integrations" in first.headers["set-cookie"]  # the CSRF cookie, under the mount
        page = browser.get("/settings/integrations/b/studio/integrations", headers={"x-test-business": "studio"})
        assert page.status_code == 200
        assert 'href="/settings/integrations/b/studio/integrations/mailchimp/settings"' in page.text
        assert 'href="/settings/integrations/static/style.css"' in page.text
        assert "Ana" in page.text
        assert "frame-ancestors https://opus1.example" in page.headers["content-security-policy"]
        assert "x-frame-options" not in page.headers
        assert browser.get("/settings/integrations/b/other/integrations",
                           headers={"x-test-business": "studio"}).status_code == 403
        # no sign-in links or sessions of its own when mounted
        assert browser.get(f"/settings/integrations/signin?token={link_token(Principal(business='studio'))}"
                           ).status_code == 403
        token = csrf_of(browser.get("/settings/integrations/b/studio/integrations/mailchimp/settings",
                                    headers={"x-test-business": "studio"}).text)
        sync = browser.post("/settings/integrations/b/studio/integrations/mailchimp/sync",
                            data={"csrf_token": token}, headers={"x-test-business": "studio"})
        assert sync.status_code == 409  # not set up yet: refused in words, after the CSRF check passed
        assert "not configured" in sync.text
