"""The client's host pinning and error handling, against the sandbox and on the URLs it would build."""

from __future__ import annotations

import json

import pytest

from opus1_integrations.api import ExitCode, OperationFailed, SettingsInvalid
from opus1_mailchimp.client import ApiError, Mailchimp, base_url
from opus1_mailchimp.errors import http_error

KEY = "0123456789abcdef0123456789abcdef-us6"


def test_a_valid_key_goes_to_its_mailchimp_datacenter_only():
    assert base_url(KEY) == "https://us6.api.mailchimp.com/3.0"


@pytest.mark.parametrize("crafted", ["abc-evil.example.com/x?", "abc-evil.example.com#", KEY.upper(), KEY + " ",
                                     KEY.replace("-us6", "-evil.example.com"), "0123-us6", "", KEY + "-us7"])
def test_a_crafted_key_builds_no_url(crafted):
    with pytest.raises(SettingsInvalid) as caught:
        base_url(crafted)
    assert crafted.strip() == "" or crafted.strip() not in str(caught.value.message)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8465/3.0", "http://localhost:1/3.0/", "http://[::1]:9/3.0"])
def test_loopback_sandbox_urls_are_accepted(url):
    assert base_url(KEY, url) == url.rstrip("/")


@pytest.mark.parametrize("url", ["https://us6.api.mailchimp.com.evil.example.com/3.0", "http://192.168.1.2/3.0",
                                 "http://127.0.0.1:8465/other", "file:///etc/passwd"])
def test_other_urls_are_refused(url):
    with pytest.raises(SettingsInvalid):
        base_url(KEY, url)


def test_the_client_never_sends_outside_its_host(mailchimp_sandbox):
    mc = Mailchimp(mailchimp_sandbox.api_key, mailchimp_sandbox.base_url)
    with pytest.raises(ValueError):
        mc.api.request("GET", "http://127.0.0.2:1/3.0/ping")
    assert mailchimp_sandbox.requests == []


def test_a_path_holding_the_word_server_is_not_rewritten(mailchimp_sandbox):
    mailchimp_sandbox.seed_member("server.admin@gmail.com")
    mc = Mailchimp(mailchimp_sandbox.api_key, mailchimp_sandbox.base_url)
    member = mc.call(mc.lists.get_list_member, mailchimp_sandbox.audience_id, "server.admin@gmail.com")
    assert member["email_address"] == "server.admin@gmail.com"


def test_connections_are_reused(mailchimp_sandbox):
    mc = Mailchimp(mailchimp_sandbox.api_key, mailchimp_sandbox.base_url, max_connections=1)
    for _ in range(5):
        mc.call(mc.ping.get)
    pools = mc.api.session.get_adapter(mailchimp_sandbox.base_url).poolmanager.pools
    (key,) = pools.keys()
    pool = pools[key]
    assert pool.num_requests == 5
    assert pool.num_connections == 1


def test_errors_arrive_as_mailchimps_title_and_detail(mailchimp_sandbox):
    mc = Mailchimp(mailchimp_sandbox.api_key, mailchimp_sandbox.base_url)
    with pytest.raises(ApiError) as caught:
        mc.call(mc.lists.get_list, "nosuchlist")
    assert caught.value.status == 404 and caught.value.title == "Resource Not Found"
    wrong = Mailchimp("f" * 32 + "-us1", mailchimp_sandbox.base_url)
    with pytest.raises(ApiError) as caught:
        wrong.call(wrong.ping.get)
    error = caught.value.to_host_error()
    assert isinstance(error, SettingsInvalid) and "API Key Invalid" in error.message
    assert "f" * 32 not in error.message + (error.hint or "")


def test_an_unreachable_host_is_a_network_error_after_bounded_retries(mailchimp_sandbox):
    url = mailchimp_sandbox.base_url
    mailchimp_sandbox.stop()
    mc = Mailchimp(mailchimp_sandbox.api_key, url, retry_seconds=0.5)
    with pytest.raises(ApiError) as caught:
        mc.call(mc.ping.get)
    assert caught.value.status is None
    assert isinstance(caught.value.to_host_error(), OperationFailed)
    assert mc.requests >= 2


def test_batch_subscribe_asks_only_for_the_fields_it_reads(mailchimp_sandbox):
    mailchimp_sandbox.seed_member("old@posteo.de")
    mc = Mailchimp(mailchimp_sandbox.api_key, mailchimp_sandbox.base_url)
    body = {"members": [{"email_address": a, "status": "subscribed"} for a in ("new@posteo.de", "old@posteo.de")]}
    answer = mc.batch_subscribe(mailchimp_sandbox.audience_id, body, ["new_members.email_address", "errors"])
    assert answer["new_members"] == [{"email_address": "new@posteo.de"}]
    assert [e["error_code"] for e in answer["errors"]] == ["ERROR_CONTACT_EXISTS"]
    assert answer.keys() == {"new_members", "errors"}
    [request] = mailchimp_sandbox.requests
    assert (request.method, request.path, request.query) == (
        "POST", f"/3.0/lists/{mailchimp_sandbox.audience_id}", {"fields": "new_members.email_address,errors"})


# ----------------------------------------------------------------- what Mailchimp answered, classified (issue 11)

USER = "studio_owner"


def configure(run_cli, sandbox, tmp_path, *extra):
    export = tmp_path / "accounts.jsonl"
    export.write_text(json.dumps({
        "account_id": "acc_1", "status": "active", "created_at": "2026-09-01T10:00:00Z",
        "updated_at": "2026-11-20T08:12:00Z", "students": [],
        "account_manager": {"person_id": "per_1", "first_name": "Maria", "last_name": "Lopez",
                            "email": "parent1@gmail.com", "phone": None}}) + "\n", encoding="utf-8")
    return run_cli("configure", "mailchimp", "--user-id", USER, "--api-key", sandbox.api_key, "--audience-id",
                   sandbox.audience_id, "--api-url", sandbox.base_url, "--contacts", export, *extra)


@pytest.mark.parametrize("kind", ["503", "500", "429", "429_nobody", "403_nobody", "drop_before"])
def test_an_outage_is_not_a_rejected_key(mailchimp_sandbox, kind):
    mailchimp_sandbox.inject(kind)
    mc = Mailchimp(mailchimp_sandbox.api_key, mailchimp_sandbox.base_url, retry_seconds=0)
    with pytest.raises(ApiError) as caught:
        mc.call(mc.ping.get)
    assert caught.value.unavailable and not caught.value.rejects_key
    error = caught.value.to_host_error()
    assert isinstance(error, OperationFailed) and error.exit_code == ExitCode.FAILED
    assert error.message.startswith("Mailchimp is unavailable") and "/3.0/ping" in error.message
    assert "nothing to change on your side" in error.hint and "key" not in error.message + error.hint


@pytest.mark.parametrize("title, status", [("API Key Invalid", 401), ("API Key Missing", 401),
                                           ("User Disabled", 403), ("Forbidden", 403)])
def test_mailchimps_key_titles_are_a_key_problem(title, status):
    error = http_error(status, {"title": title, "detail": "…"}, "us6.api.mailchimp.com/3.0/ping", "")
    assert error.rejects_key and error.to_host_error().exit_code == ExitCode.SETTINGS


def test_a_401_without_mailchimps_key_title_is_not_a_key_verdict():
    error = http_error(401, None, "us6.api.mailchimp.com/3.0/ping", "HTTP 401, content type text/html")
    assert not error.rejects_key and error.to_host_error().exit_code == ExitCode.FAILED


def test_diagnose_during_an_outage_says_mailchimp_is_unavailable_not_to_replace_the_key(
        run_cli, mailchimp_sandbox, tmp_path):
    assert configure(run_cli, mailchimp_sandbox, tmp_path).code == 0
    mailchimp_sandbox.inject("503")
    result = run_cli("diagnose", "mailchimp", "--json")
    assert result.code == 1
    messages = json.dumps(result.json())
    assert "Mailchimp is unavailable" in messages and "nothing to change on your side" in messages
    assert "/3.0/ping" in messages and "rejected the API key" not in messages and "create or copy" not in messages


def test_configure_during_an_outage_exits_1_and_saves_nothing(run_cli, mailchimp_sandbox, tmp_path):
    mailchimp_sandbox.inject("503")
    result = configure(run_cli, mailchimp_sandbox, tmp_path)
    assert result.code == 1, result.err
    assert "Mailchimp is unavailable" in result.err and mailchimp_sandbox.api_key not in result.err + result.out
    unsaved = run_cli("validate", "mailchimp")
    assert unsaved.code == ExitCode.SETTINGS and "not configured" in unsaved.err


def test_sync_and_check_during_an_outage_exit_1_naming_the_url(run_cli, mailchimp_sandbox, tmp_path):
    assert configure(run_cli, mailchimp_sandbox, tmp_path, "--retry-seconds", "0").code == 0
    mailchimp_sandbox.inject("503")
    for argv in (["sync", "mailchimp"], ["check", "mailchimp", "parent1@gmail.com"]):
        result = run_cli(*argv)
        assert result.code == 1, (argv, result.err)
        assert "Mailchimp is unavailable" in result.err and f"127.0.0.1:{mailchimp_sandbox.port}/3.0/" in result.err
        assert "bug" not in result.err and mailchimp_sandbox.api_key not in result.err + result.out


def test_a_rejected_key_in_the_middle_of_a_sync_is_still_exit_3(run_cli, mailchimp_sandbox, tmp_path):
    assert configure(run_cli, mailchimp_sandbox, tmp_path).code == 0
    mailchimp_sandbox.api_key, real = "f" * 32 + "-us1", mailchimp_sandbox.api_key  # the account's key was revoked
    result = run_cli("sync", "mailchimp")
    assert result.code == 3 and "Mailchimp rejected the API key (API Key Invalid" in result.err
    assert real not in result.err + result.out
