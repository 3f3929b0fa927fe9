"""HTTP behaviour: auth, content types and headers, keep-alive, the connection limit, latency, faults, the log."""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import threading
import time

import pytest
import requests
from mailchimp_marketing.api_client import ApiClientError

from opus1_mailchimp.sandbox import FAULT_KINDS, Sandbox
from opus1_mailchimp.testing import refused, sdk_client, wait_for

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
PROBLEM = "application/problem+json; charset=utf-8"
JSON = "application/json; charset=utf-8"


def get(sb, path, **kwargs):
    kwargs.setdefault("auth", ("anyone", sb.api_key))
    return requests.get(f"{sb.base_url}{path}", timeout=5, **kwargs)


# ---------------------------------------------------------------- auth


def test_missing_key_is_401_api_key_missing(sb):
    r = get(sb, "/ping", auth=None)
    assert (r.status_code, r.headers["Content-Type"]) == (401, PROBLEM)
    assert (r.json()["title"], r.json()["detail"]) == ("API Key Missing", "Your request did not include an API key.")


@pytest.mark.parametrize("headers", [{"Authorization": "Bearer 0123456789abcdef0123456789abcdef-us1"},
                                     {"Authorization": "Basic !!!not-base64"}])
def test_unusable_authorization_is_api_key_invalid(sb, headers):
    r = get(sb, "/ping", auth=None, headers=headers)
    assert (r.status_code, r.json()["title"]) == (401, "API Key Invalid")


def test_wrong_key_is_401_api_key_invalid(sb):
    code, problem = refused(sdk_client(sb, api_key="ffffffffffffffffffffffffffffffff-us1").ping.get)
    assert (code, problem["title"]) == (401, "API Key Invalid")
    assert problem["detail"] == "Your API key may be invalid, or you've attempted to access the wrong datacenter."


@pytest.mark.mailchimp_sandbox(api_key="abcdefabcdefabcdefabcdefabcdef12-us6")
def test_the_key_is_configurable(sb, mc):
    assert mc.ping.get()["health_status"] == "Everything's Chimpy!"
    assert refused(sdk_client(sb, api_key="0123456789abcdef0123456789abcdef-us1").ping.get)[0] == 401


# ---------------------------------------------------------------- content types and headers


def test_success_and_error_content_types_and_headers(sb, aud):
    ok = get(sb, "/ping")
    assert (ok.status_code, ok.headers["Content-Type"]) == (200, JSON)
    missing = get(sb, f"/lists/{aud}/members/0123456789abcdef0123456789abcdef")
    assert (missing.status_code, missing.headers["Content-Type"]) == (404, PROBLEM)
    problem = missing.json()
    assert problem == {"type": "https://mailchimp.com/developer/marketing/docs/errors/", "title": "Resource Not Found",
                       "status": 404, "detail": "The requested resource could not be found.",
                       "instance": problem["instance"]}
    assert UUID.match(problem["instance"]) and missing.headers["X-Request-Id"] == problem["instance"]
    assert missing.headers["Link"] == ('<https://us1.api.mailchimp.com/schema/3.0/ProblemDetailDocument.json>; '
                                       'rel="describedBy"')


def test_the_sdk_gets_errors_as_strings_and_204_as_a_response_object(sb, mc, aud):
    sb.seed_member("ana@posteo.de")
    with pytest.raises(ApiClientError) as info:
        mc.lists.get_list_member(aud, "nobody@posteo.de")
    assert isinstance(info.value.text, str) and info.value.status_code == 404
    response = mc.lists.delete_list_member(aud, "ana@posteo.de")
    assert isinstance(response, requests.Response) and response.content == b""


def test_unknown_paths_and_methods(sb, aud):
    assert get(sb, "/campaigns").json()["title"] == "Resource Not Found"
    outside = requests.get(f"{sb.root_url}/2.0/ping", auth=("u", sb.api_key), timeout=5)
    assert (outside.status_code, outside.json()["title"]) == (404, "Resource Not Found")
    r = requests.put(f"{sb.base_url}/lists/{aud}/members", auth=("u", sb.api_key), data="{}", timeout=5)
    assert (r.status_code, r.json()["title"], r.headers["Allow"]) == (405, "Method Not Allowed", "GET, POST")


def test_body_that_is_not_json_is_a_json_parse_error(sb, aud):
    r = requests.post(f"{sb.base_url}/lists/{aud}/members", auth=("u", sb.api_key), data="{nope", timeout=5)
    assert (r.status_code, r.json()["title"]) == (400, "JSON Parse Error")
    assert r.json()["detail"] == "We encountered an unspecified JSON parsing error."
    r = requests.post(f"{sb.base_url}/lists/{aud}/members", auth=("u", sb.api_key), data="[]", timeout=5)
    assert (r.status_code, r.json()["title"]) == (400, "Invalid Resource")


def test_connections_are_kept_alive(sb):
    conn = http.client.HTTPConnection(sb.host, sb.port, timeout=5)
    try:
        conn.request("GET", "/3.0/ping", headers={"Authorization": "Basic " + _basic(sb.api_key)})
        first = conn.getresponse()
        first.read()
        sock = conn.sock
        for _ in range(3):
            conn.request("GET", "/3.0/ping", headers={"Authorization": "Basic " + _basic(sb.api_key)})
            response = conn.getresponse()
            assert response.status == 200 and json.loads(response.read())["health_status"]
            assert conn.sock is sock and response.getheader("Connection") != "close"
    finally:
        conn.close()


def _basic(key: str) -> str:
    return base64.b64encode(f"user:{key}".encode()).decode()


# ---------------------------------------------------------------- connection limit and latency


def _concurrently(n: int, call) -> list:
    barrier = threading.Barrier(n)
    outcomes: list = [None] * n

    def run(i):
        barrier.wait()
        try:
            outcomes[i] = call()
        except ApiClientError as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


@pytest.mark.mailchimp_sandbox(latency_ms=600)
def test_eleven_requests_in_flight_get_one_429(sb, mc):
    outcomes = _concurrently(11, mc.ping.get)
    errors = [o for o in outcomes if isinstance(o, ApiClientError)]
    assert len(errors) == 1 and errors[0].status_code == 429
    problem = json.loads(errors[0].text)
    assert (problem["title"], problem["detail"]) == ("Too Many Requests",
                                                     "You have exceeded the limit of 10 simultaneous connections.")
    assert sorted(r.status for r in sb.requests) == [200] * 10 + [429]


@pytest.mark.mailchimp_sandbox(latency_ms=300, max_connections=2)
def test_max_connections_is_configurable(mc):
    outcomes = _concurrently(3, mc.ping.get)
    assert sum(isinstance(o, ApiClientError) and o.status_code == 429 for o in outcomes) == 1


@pytest.mark.mailchimp_sandbox(latency_ms=10)
def test_a_client_that_keeps_within_the_limit_never_sees_429(sb):
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=10))

    def worker():
        return [session.get(f"{sb.base_url}/ping", auth=("u", sb.api_key), timeout=5).status_code for _ in range(8)]

    assert _concurrently(10, worker) == [[200] * 8] * 10


def test_latency_applies_to_every_request(sb, mc):
    sb.set_latency(150)
    started = time.monotonic()
    mc.ping.get()
    assert time.monotonic() - started >= 0.15
    sb.set_latency(0)
    with pytest.raises(ValueError):
        sb.set_latency(-1)


# ---------------------------------------------------------------- faults


@pytest.mark.parametrize("kind, title", [("429", "Too Many Requests"), ("500", "Internal Server Error"),
                                         ("503", "Service Unavailable")])
def test_faults_with_a_problem_body(sb, mc, kind, title):
    sb.inject(kind)
    code, problem = refused(mc.ping.get)
    assert (code, problem["title"]) == (int(kind), title)


@pytest.mark.parametrize("kind", ["429_nobody", "403_nobody"])
def test_faults_without_a_body_reach_the_sdk_as_a_response(sb, mc, kind):
    sb.inject(kind)
    response = mc.ping.get()  # the SDK treats an empty error body as success and returns the Response
    assert isinstance(response, requests.Response)
    assert (response.status_code, response.content) == (int(kind[:3]), b"")


def _add(mc, aud, email):
    return mc.lists.add_list_member(aud, {"email_address": email, "status": "subscribed"})


def test_drop_before_closes_the_connection_without_applying(sb, aud):
    sb.inject("drop_before")
    with pytest.raises(ApiClientError) as info:
        _add(sdk_client(sb), aud, "ana@posteo.de")
    assert info.value.status_code is None and isinstance(info.value.text, requests.ConnectionError)
    assert sb.member("ana@posteo.de") is None and sb.requests[-1].status is None


def test_drop_after_applies_the_write_then_closes_the_connection(sb, aud):
    sb.inject("drop_after")
    with pytest.raises(ApiClientError) as info:
        _add(sdk_client(sb), aud, "ana@posteo.de")
    assert isinstance(info.value.text, requests.ConnectionError)
    assert sb.member("ana@posteo.de")["status"] == "subscribed"


def test_timeout_holds_the_request_until_the_client_gives_up(sb, aud):
    sb.inject("timeout", count=1)
    with pytest.raises(ApiClientError) as info:
        _add(sdk_client(sb, timeout=0.3), aud, "ana@posteo.de")
    assert isinstance(info.value.text, requests.Timeout)
    wait_for(lambda: sb.requests)  # logged once the sandbox sees the client hang up
    assert sb.requests[-1].status is None and sb.member("ana@posteo.de") is None
    assert _add(sdk_client(sb), aud, "ana@posteo.de")["status"] == "subscribed"


def test_fault_count_methods_and_path_filters(sb, mc, aud):
    sb.seed_member("ana@posteo.de")
    sb.inject("500", count=2, methods=["put", "PATCH"], path_contains="/members/")
    assert mc.lists.get_list_member(aud, "ana@posteo.de")["status"] == "subscribed"
    for _ in range(2):
        assert refused(mc.lists.update_list_member, aud, "ana@posteo.de", {"vip": True})[0] == 500
    assert mc.lists.update_list_member(aud, "ana@posteo.de", {"vip": True})["vip"] is True
    assert sb.fault_rules()[0]["remaining"] == 0
    sb.inject("503")
    sb.clear_faults()
    assert mc.ping.get()["health_status"]


def test_fault_rate_is_deterministic_by_seed(sb):
    def pattern(seed: int) -> list[int]:
        with Sandbox(seed=seed) as other:
            other.inject("500", rate=0.5)
            return [get(other, "/ping").status_code for _ in range(20)]

    first = pattern(7)
    assert first == pattern(7) and first != pattern(8)
    assert 3 <= first.count(500) <= 17


def test_unknown_fault_kind_is_refused(sb):
    with pytest.raises(ValueError, match="unknown fault kind"):
        sb.inject("418")
    assert len(FAULT_KINDS) == 8


# ---------------------------------------------------------------- request log and reset


def test_every_api_request_is_logged_with_the_key_redacted(sb, mc, aud):
    mc.lists.get_list_members_info(aud, count=5, fields=["total_items"])
    mc.lists.add_list_member(aud, {"email_address": "ana@posteo.de", "status": "subscribed"})
    requests.get(f"{sb.root_url}/_sandbox/members", timeout=5)  # control requests are not logged
    listing, added = sb.requests
    assert (listing.method, listing.path, listing.query, listing.status) == (
        "GET", f"/3.0/lists/{aud}/members", {"count": "5", "fields": "total_items"}, 200)
    assert listing.headers["Authorization"] == "[redacted]" and sb.api_key not in str(listing)
    assert (added.method, added.json(), added.status) == ("POST", {"email_address": "ana@posteo.de",
                                                                   "status": "subscribed"}, 200)
    sb.clear_requests()
    assert sb.requests == []


def test_reset_empties_everything_but_keeps_latency(sb, mc):
    sb.seed_member("ana@posteo.de")
    mc.batches.start({"operations": []})
    sb.inject("500", path_contains="/lists/")
    sb.set_latency(1)
    sb.reset()
    assert sb.members() == [] and sb.requests == [] and sb.fault_rules() == []
    assert mc.batches.list()["total_items"] == 0 and sb.info()["latency_ms"] == 1


# ---------------------------------------------------------------- idle cost


def _wakeups(threads: list[threading.Thread]) -> int:
    """How often these threads were scheduled so far (voluntary and involuntary context switches, from /proc)."""
    total = 0
    for thread in threads:
        with open(f"/proc/self/task/{thread.native_id}/status", encoding="ascii") as status:
            total += sum(int(line.split()[1]) for line in status if "ctxt_switches" in line)
    return total


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="needs Linux /proc")
def test_an_idle_sandbox_wakes_no_thread(tmp_path):
    with Sandbox(state_file=tmp_path / "state.json") as sb:
        session = requests.Session()
        assert session.get(f"{sb.base_url}/ping", auth=("u", sb.api_key), timeout=5).status_code == 200  # keep-alive
        threads = [t for t in threading.enumerate()
                   if t.name.startswith("mailchimp-sandbox") or "process_request_thread" in t.name]
        assert len(threads) == 4  # accept loop, batch worker, state writer, the open connection
        time.sleep(0.2)
        before = _wakeups(threads)
        time.sleep(0.5)
        assert _wakeups(threads) == before
        session.close()
