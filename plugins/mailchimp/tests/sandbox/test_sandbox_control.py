"""The ``/_sandbox`` control surface, the command line, the state file and the pytest fixtures."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
import requests

from opus1_mailchimp.sandbox import Sandbox, main
from opus1_mailchimp.testing import refused, sdk_client, wait_for


def control(sb, method, path, body=None):
    return requests.request(method, f"{sb.root_url}/_sandbox{path}", timeout=5,
                            data=None if body is None else json.dumps(body))


# ---------------------------------------------------------------- control surface


def test_info_seed_and_read_members(sb):
    info = control(sb, "GET", "").json()
    assert info == {"base_url": sb.base_url, "api_key": sb.api_key, "audience_id": sb.audience_id,
                    "username": "studio_owner", "max_connections": 10, "latency_ms": 0.0, "per_member_ms": 0.0}
    one = control(sb, "POST", "/members", {"email": "ana@posteo.de", "status": "unsubscribed",
                                           "unsubscribed_by": "admin", "tags": ["T"]})
    assert one.status_code == 200 and one.json()["members"][0]["status"] == "unsubscribed"
    many = control(sb, "POST", "/members", [{"email": "ben@posteo.de", "merge_fields": {"FNAME": "Ben"}},
                                            {"email": "gone@posteo.de", "forgotten": True}])
    assert many.json()["members"][1] is None
    assert [m["email_address"] for m in control(sb, "GET", "/members").json()["members"]] == [
        "ana@posteo.de", "ben@posteo.de"]
    assert control(sb, "GET", "/members/ben@posteo.de").json()["merge_fields"]["FNAME"] == "Ben"
    assert control(sb, "GET", "/members/gone@posteo.de").status_code == 404
    assert sb.member("ana@posteo.de")["tags"][0]["name"] == "T"


@pytest.mark.parametrize("path, body, message", [
    ("/members", {"email": "ana@posteo.de", "colour": "red"}, "unknown keys colour"),
    ("/members", {"status": "subscribed"}, "email"),
    ("/members", {"email": "ana@posteo.de", "status": "gone"}, "status must be one of"),
    ("/members", {"email": "ana@posteo.de", "merge_fields": {"NOPE": "x"}}, "Your merge fields were invalid."),
    ("/faults", {"kind": "418"}, "unknown fault kind"),
])
def test_control_mistakes_are_400_with_a_message(sb, path, body, message):
    r = control(sb, "POST", path, body)
    assert r.status_code == 400 and message in r.json()["error"]


def test_requests_faults_latency_and_reset_over_http(sb, mc):
    assert control(sb, "POST", "/faults", {"kind": "500", "count": 1, "methods": ["GET"]}).status_code == 204
    assert control(sb, "GET", "/faults").json()["faults"] == [
        {"kind": "500", "rate": 1.0, "remaining": 1, "methods": ["GET"], "path_contains": None}]
    assert requests.get(f"{sb.base_url}/ping", auth=("u", sb.api_key), timeout=5).status_code == 500
    logged = control(sb, "GET", "/requests").json()["requests"]
    assert [(r["method"], r["path"], r["status"], r["headers"]["Authorization"]) for r in logged] == [
        ("GET", "/3.0/ping", 500, "[redacted]")]
    assert control(sb, "DELETE", "/requests").status_code == 204 and sb.requests == []
    control(sb, "POST", "/faults", {"kind": "503"})
    assert control(sb, "DELETE", "/faults").status_code == 204 and sb.fault_rules() == []
    assert control(sb, "PUT", "/latency", {"latency_ms": 5, "per_member_ms": 1}).json() == {
        "latency_ms": 5.0, "per_member_ms": 1.0}
    assert control(sb, "GET", "/latency").json()["latency_ms"] == 5.0
    sb.seed_member("ana@posteo.de")
    assert control(sb, "POST", "/reset").status_code == 204 and sb.members() == []
    assert control(sb, "GET", "/nothing").status_code == 404
    assert control(sb, "GET", "/batch-results/nope.tar.gz").status_code == 404


# ---------------------------------------------------------------- state file


def test_state_survives_a_restart(tmp_path):
    path = tmp_path / "state" / "sandbox.json"
    with Sandbox(state_file=path) as sb:
        mc = sdk_client(sb)
        sb.seed_member("gone@posteo.de", forgotten=True)
        ana = mc.lists.set_list_member(sb.audience_id, "ana@posteo.de", {
            "email_address": "ana@posteo.de", "status_if_new": "subscribed", "tags": ["Piano"]})
        sb.seed_member("ben@posteo.de", "unsubscribed", unsubscribed_by="contact")
        wait_for(lambda: path.exists() and "ben@posteo.de" in path.read_text())  # written while running
    assert [p.name for p in path.parent.iterdir()] == ["sandbox.json"]  # no temporary files left behind
    with Sandbox(state_file=path) as again:
        mc = sdk_client(again)
        assert _without_links(mc.lists.get_list_member(again.audience_id, "ana@posteo.de")) == _without_links(ana)
        code, problem = refused(mc.lists.update_list_member, again.audience_id, "ben@posteo.de", {"status": "subscribed"})
        assert problem["title"] == "Member In Compliance State"
        code, problem = refused(mc.lists.add_list_member, again.audience_id,
                                {"email_address": "gone@posteo.de", "status": "pending"})
        assert problem["title"] == "Forgotten Email Not Subscribed"
        added = mc.lists.add_list_member(again.audience_id, {"email_address": "cleo@posteo.de", "status": "subscribed"})
        assert added["contact_id"] not in {ana["contact_id"], again.member("ben@posteo.de")["contact_id"]}


def _without_links(member: dict) -> dict:
    return {k: v for k, v in member.items() if k != "_links"}


def test_an_unreadable_state_file_is_refused(tmp_path):
    path = tmp_path / "sandbox.json"
    path.write_text(json.dumps({"version": 99}))
    with pytest.raises(ValueError, match="unsupported sandbox state version"):
        Sandbox(state_file=path)


# ---------------------------------------------------------------- command line


def test_command_line_serves_until_sigterm(tmp_path):
    state = tmp_path / "cli.json"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "opus1_mailchimp.sandbox", "--port", "0", "--username", "freddie",
                             "--audience-id", "f00d", "--api-key", "abcdefabcdefabcdefabcdefabcdef12-us6",
                             "--state", str(state), "--latency-ms", "1", "--max-connections", "30"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        info = dict(proc.stdout.readline().rstrip("\n").split(": ", 1) for _ in range(5))
        assert info["api_key"] == "abcdefabcdefabcdefabcdefabcdef12-us6" and info["audience_id"] == "f00d"
        assert info["username"] == "freddie" and info["control_url"] == info["base_url"].replace("/3.0", "/_sandbox")
        auth = ("user", info["api_key"])
        assert requests.get(info["base_url"] + "/", auth=auth, timeout=5).json()["username"] == "freddie"
        assert requests.get(info["control_url"], timeout=5).json()["max_connections"] == 30
        requests.post(info["control_url"] + "/members", data=json.dumps({"email": "ana@posteo.de"}), timeout=5)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert "ana@posteo.de" in state.read_text() and "stopped" in proc.stderr.read()
    finally:
        proc.kill()
        proc.wait()


def test_main_rejects_bad_arguments(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--port", "not-a-number"])
    assert info.value.code == 2 and "--port" in capsys.readouterr().err


# ---------------------------------------------------------------- fixtures


@pytest.mark.mailchimp_sandbox(audience_id="abc1234567", latency_ms=2)
def test_the_fixture_is_configured_by_the_marker(mailchimp_sandbox, mailchimp_client):
    assert mailchimp_sandbox.audience_id == "abc1234567" and mailchimp_sandbox.info()["latency_ms"] == 2
    assert mailchimp_sandbox.host == "127.0.0.1" and mailchimp_sandbox.port > 0
    assert mailchimp_client.api_client.host == mailchimp_sandbox.base_url
    assert mailchimp_client.lists.get_list("abc1234567")["id"] == "abc1234567"
