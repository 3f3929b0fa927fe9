"""The API key never shows, and no key can send traffic anywhere but Mailchimp or a loopback sandbox."""

from __future__ import annotations

import pytest

from conftest import USER, account, db_text


def test_the_key_never_appears_in_output_or_the_run_log(cli, connect, export, mailchimp_sandbox, home):
    key = mailchimp_sandbox.api_key
    outputs = [connect(export([account(1), account(2)]))]
    for argv in (["validate", "mailchimp"], ["sync", "mailchimp"], ["sync", "mailchimp", "--json"],
                 ["diagnose", "mailchimp", "--json"], ["check", "mailchimp", "parent1@gmail.com", "--json"],
                 ["runs", "--json"], ["configure", "mailchimp", "--json", "--user-id", USER]):
        outputs.append(cli(*argv))
    for result in outputs:
        assert key not in result.out and key not in result.err
    assert key not in db_text(home)


def test_a_key_pasted_with_surrounding_spaces_is_trimmed_not_refused(cli, export, mailchimp_sandbox):
    result = cli("configure", "mailchimp", "--user-id", USER, "--api-key", f"  {mailchimp_sandbox.api_key}\t\n",
                 "--audience-id", mailchimp_sandbox.audience_id, "--api-url", mailchimp_sandbox.base_url,
                 "--contacts", export([account(1)]))
    assert result.code == 0, result.err
    assert cli("validate", "mailchimp").code == 0


def test_a_rejected_key_exits_3_without_echoing_it(cli, export, mailchimp_sandbox):
    wrong = "f" * 32 + "-us1"
    result = cli("configure", "mailchimp", "--user-id", USER, "--api-key", wrong, "--audience-id",
                 mailchimp_sandbox.audience_id, "--api-url", mailchimp_sandbox.base_url,
                 "--contacts", export([account(1)]))
    assert result.code == 3
    assert "API Key Invalid" in result.err and wrong not in result.err + result.out


@pytest.mark.parametrize("crafted", [
    "abc-evil.example.com/x?", "abc-evil.example.com#", "0123456789abcdef0123456789abcdef-evil.example.com",
    "0123456789abcdef0123456789abcdef-US6", "0123456789abcdef0123456789abcdef-us6\n-evil", "a-b-c",
])
def test_a_crafted_key_is_refused_before_any_request(cli, export, mailchimp_sandbox, crafted):
    mailchimp_sandbox.clear_requests()
    result = cli("configure", "mailchimp", "--user-id", USER, "--api-key", crafted, "--audience-id",
                 mailchimp_sandbox.audience_id, "--contacts", export([account(1)]))
    assert result.code == 3
    assert crafted.strip() not in result.err and "api_key" in result.err
    assert mailchimp_sandbox.requests == []


@pytest.mark.parametrize("url", ["http://evil.example.com/3.0", "http://10.0.0.5:8465/3.0",
                                 "http://127.0.0.1.evil.example.com/3.0", "ftp://127.0.0.1/3.0"])
def test_the_sandbox_url_must_be_loopback(cli, export, mailchimp_sandbox, url):
    result = cli("configure", "mailchimp", "--user-id", USER, "--api-key", mailchimp_sandbox.api_key,
                 "--audience-id", mailchimp_sandbox.audience_id, "--api-url", url, "--contacts", export([account(1)]))
    assert result.code == 3
    assert mailchimp_sandbox.api_key not in result.err


def test_a_key_kept_in_the_environment_is_stored_as_a_reference(cli, export, mailchimp_sandbox, home, monkeypatch):
    monkeypatch.setenv("STUDIO_MC_KEY", mailchimp_sandbox.api_key)
    result = cli("configure", "mailchimp", "--user-id", USER, "--api-key-env", "STUDIO_MC_KEY", "--audience-id",
                 mailchimp_sandbox.audience_id, "--api-url", mailchimp_sandbox.base_url,
                 "--contacts", export([account(1)]), "--json")
    assert result.code == 0, result.err
    assert result.json()["settings"]["api_key"] == {"$env": "STUDIO_MC_KEY"}
    assert mailchimp_sandbox.api_key.encode() not in (home / "opus1-integrations.db").read_bytes()
    assert cli("sync", "mailchimp").code == 0
    monkeypatch.delenv("STUDIO_MC_KEY")
    missing = cli("sync", "mailchimp")
    assert missing.code == 3 and "STUDIO_MC_KEY" in missing.err


def test_the_wrong_user_id_is_refused(cli, export, mailchimp_sandbox):
    result = cli("configure", "mailchimp", "--user-id", "someone_else", "--api-key", mailchimp_sandbox.api_key,
                 "--audience-id", mailchimp_sandbox.audience_id, "--api-url", mailchimp_sandbox.base_url,
                 "--contacts", export([account(1)]))
    assert result.code == 3 and "someone_else" in result.err


def test_an_unknown_audience_is_refused(cli, export, mailchimp_sandbox):
    result = cli("configure", "mailchimp", "--user-id", USER, "--api-key", mailchimp_sandbox.api_key,
                 "--audience-id", "nosuchlist", "--api-url", mailchimp_sandbox.base_url,
                 "--contacts", export([account(1)]))
    assert result.code == 3 and "not found" in result.err
