"""API answers are untrusted: redirects are refused, bodies are bounded, an exchange has a total deadline, and an
answer that cannot be used is Mailchimp's problem (exit 1, retried where it can help), never a plugin bug."""

from __future__ import annotations

import time

import pytest
from archives import deflate_bomb
from conftest import KEY, client
from hostile_server import Answer

from opus1_integrations.api import ExitCode, OperationFailed
from opus1_mailchimp.checks import merge_tags
from opus1_mailchimp.client import ApiError
from opus1_mailchimp.errors import MALFORMED, REDIRECT, UNAVAILABLE
from opus1_mailchimp.sender import SUBSCRIBE_FIELDS, SUBSCRIBE_SHAPE

AUDIENCE = "a1b2c3d4e5"


def test_a_redirect_on_post_batches_is_never_followed(hostile, elsewhere):
    elsewhere.route("POST", "/3.0/batches", Answer(200, {"id": "b1", "status": "pending"}))
    hostile.route("POST", "/3.0/batches", Answer(307, b"", headers={"Location": elsewhere.base_url + "/batches"}))
    mc = client(hostile)
    with pytest.raises(ApiError) as caught:
        mc.call(mc.batches.start, {"operations": [{"method": "PATCH", "path": "/lists/x/members/y", "body": "{}"}]})
    assert caught.value.kind == REDIRECT and "a redirect to 127.0.0.1 (not followed)" in str(caught.value)
    assert elsewhere.requests == []
    error = caught.value.to_host_error()
    assert isinstance(error, OperationFailed) and error.exit_code == ExitCode.FAILED


def test_a_redirected_member_listing_is_not_trusted(hostile, elsewhere):
    elsewhere.route("GET", f"/3.0/lists/{AUDIENCE}/members", Answer(200, {"members": [], "total_items": 0}))
    hostile.route("GET", f"/3.0/lists/{AUDIENCE}/members",
                  Answer(301, b"", headers={"Location": elsewhere.base_url + f"/lists/{AUDIENCE}/members"}))
    mc = client(hostile)
    with pytest.raises(ApiError) as caught:
        mc.call(mc.lists.get_list_members_info, AUDIENCE, count=1000)
    assert caught.value.kind == REDIRECT and elsewhere.requests == []


@pytest.mark.parametrize("answer, words", [
    (Answer(200, "<html><body>Service Unavailable</body></html>", content_type="text/html"),
     "content type text/html"),
    (Answer(200, '{"health_status": "Everyth', content_type="application/json"), "broken JSON"),
    (Answer(200, '{"health_status": "ok"}', content_type=None), "content type none"),
    (Answer(200, b"", content_type="application/json"), "0 bytes"),
    (Answer(200, b"[" * 100_000 + b"]" * 100_000), "broken JSON"),
], ids=["html-with-200", "broken-json", "no-content-type", "empty-200", "deeply-nested"])
def test_an_unusable_answer_is_retried_then_exits_1_saying_what_came_back(hostile, answer, words):
    hostile.route("GET", "/3.0/ping", answer)
    mc = client(hostile, retry_seconds=1)
    with pytest.raises(ApiError) as caught:
        mc.call(mc.ping.get)
    assert caught.value.kind == MALFORMED and words in str(caught.value)
    assert len(hostile.seen("GET", "/3.0/ping")) >= 2  # retried
    error = caught.value.to_host_error()
    assert isinstance(error, OperationFailed) and "/3.0/ping" in error.message and words in error.message


def test_what_came_back_is_escaped_and_bounded(hostile):
    hostile.route("GET", "/3.0/ping", Answer(200, "\x1b]0;pwned\x07\x1b[2J" + "A" * 5000, content_type="text/html"))
    mc = client(hostile)
    with pytest.raises(ApiError) as caught:
        mc.call(mc.ping.get)
    message = caught.value.to_host_error().message
    assert "\x1b" not in message and "\\x1b]0;pwned" in message and len(message) < 600


@pytest.mark.parametrize("answer, words", [
    ({"merge_fields": {"tag": "FNAME"}}, "the answer.merge_fields is an object, expected a list"),
    ({"merge_fields": [{"name": "First name"}]}, "the answer.merge_fields[0] has no 'tag'"),
    ({"merge_fields": [{"tag": 7}]}, "the answer.merge_fields[0].tag is a number, expected text"),
    (["FNAME"], "the answer is a list, expected an object"),
], ids=["dict-for-list", "missing-key", "wrong-type", "list-for-dict"])
def test_an_answer_of_another_shape_exits_1_without_retrying(hostile, answer, words):
    hostile.route("GET", f"/3.0/lists/{AUDIENCE}/merge-fields", Answer(200, answer))
    mc = client(hostile, retry_seconds=5)
    with pytest.raises(ApiError) as caught:
        merge_tags(mc, AUDIENCE)
    assert caught.value.kind == MALFORMED and words in str(caught.value)
    assert len(hostile.seen()) == 1
    assert f"/3.0/lists/{AUDIENCE}/merge-fields" in caught.value.to_host_error().message


def test_a_batch_subscribe_answer_of_another_shape_is_refused(hostile):
    hostile.route("POST", f"/3.0/lists/{AUDIENCE}", Answer(200, {"new_members": [{"email_address": None}],
                                                                 "errors": "none"}))
    mc = client(hostile)
    with pytest.raises(ApiError) as caught:
        mc.batch_subscribe(AUDIENCE, {"members": []}, SUBSCRIBE_FIELDS, SUBSCRIBE_SHAPE)
    assert caught.value.kind == MALFORMED


def test_an_answer_body_over_the_cap_is_refused_before_it_is_all_read(hostile):
    hostile.route("GET", "/3.0/ping", Answer(200, b'{"x": "' + b"A" * (40 * 1024 * 1024) + b'"}'))
    mc = client(hostile)
    with pytest.raises(ApiError) as caught:
        mc.call(mc.ping.get)
    assert caught.value.kind == MALFORMED and "too large" in str(caught.value)


def test_a_compressed_answer_is_bounded_as_decompressed(hostile):
    hostile.route("GET", "/3.0/ping", Answer(200, deflate_bomb(256 * 1024 * 1024),
                                             headers={"Content-Encoding": "gzip"}))
    mc = client(hostile)
    with pytest.raises(ApiError) as caught:
        mc.call(mc.ping.get)
    assert caught.value.kind == MALFORMED and "too large" in str(caught.value)


@pytest.mark.parametrize("trickle_head", [False, True], ids=["body", "headers"])
def test_a_trickling_api_answer_is_cut_off_at_the_total_deadline(hostile, trickle_head):
    hostile.route("GET", "/3.0/ping", Answer(200, '{"health_status": "Everything\'s Chimpy!"}', trickle=0.3,
                                             trickle_head=trickle_head))
    mc = client(hostile, timeout=1.5)
    started = time.monotonic()
    with pytest.raises(ApiError) as caught:
        mc.call(mc.ping.get)
    assert time.monotonic() - started < 4
    assert caught.value.kind == UNAVAILABLE and "no complete answer within 1.5 s" in str(caught.value)


def test_an_answer_echoing_the_key_never_shows_it(hostile):
    hostile.route("GET", "/3.0/ping", Answer(200, f"<html>your key {KEY} is fine</html>", content_type="text/html"))
    hostile.route("GET", "/3.0/", Answer(418, {"title": f"Teapot {KEY}", "detail": f"key={KEY}"},
                                         content_type="application/problem+json"))
    mc = client(hostile)
    for call in (mc.ping.get, mc.root.get_root):
        with pytest.raises(ApiError) as caught:
            mc.call(call)
        error = caught.value.to_host_error()
        assert KEY not in str(caught.value) + error.message + (error.hint or "")
