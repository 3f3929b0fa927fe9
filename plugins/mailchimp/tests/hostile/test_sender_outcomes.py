"""How the sender turns Mailchimp's answers into each member's outcome (``sender.Sender``: batch subscribe,
address changes, /batches jobs), asserted exactly against a fake Mailchimp on loopback that answers what each test
scripts, and the hint a studio owner gets for each of Mailchimp's refusals (``sender.hint_for``)."""

from __future__ import annotations

import hashlib
import json

import pytest
from archives import good
from conftest import KEY
from hostile_server import Answer

from opus1_integrations.api import ItemOutcome, SettingsInvalid
from opus1_mailchimp.client import Mailchimp
from opus1_mailchimp.errors import SHOWN_TEXT_MAX
from opus1_mailchimp.planner import ARCHIVED, CREATED, EMAIL_CHANGED, LEAVER_TAGGED, UPDATED, Action
from opus1_mailchimp.sender import Sender, Sent, hint_for

AUDIENCE = "a1b2c3d4e5"
FAILED, LEFT_ALONE, UNCHANGED = ItemOutcome.FAILED, ItemOutcome.LEFT_ALONE, ItemOutcome.UNCHANGED
FAKE = "ann@example.com looks fake or invalid, please enter a real email address."
KEY_INVALID = Answer(401, {"title": "API Key Invalid", "status": 401, "detail": "Your API key may be invalid."},
                     content_type="application/problem+json")
INVALID = Answer(400, {"title": "Invalid Resource", "status": 400, "detail": "Your merge fields were invalid."},
                 content_type="application/problem+json")


def sender(hostile) -> Sender:
    return Sender(Mailchimp(KEY, hostile.base_url, retry_seconds=0), AUDIENCE, poll_seconds=0.01)


def new(email: str, status: str = "pending", **more) -> Action:
    """A planned new member (with the status consent gave it, as the planner names one for every new member)."""
    return Action(key=email.strip().lower(), email=email, action=CREATED, reason="new",
                  merge_fields={"FNAME": "Ann"}, tags_add=frozenset({"opus1", "families"}), status=status, **more)


def md5(email: str) -> str:
    return hashlib.md5(email.encode()).hexdigest()


def moved(email: str, old: str) -> Action:
    return Action(key=email, email=email, action=EMAIL_CHANGED, reason="moved", merge_fields={"FNAME": "Ann"},
                  old_key=old)


def change(email: str, action, **more) -> Action:
    return Action(key=email, email=email, action=action, reason="changed", **more)


def created(hostile, actions: list[Action]) -> dict[str, Sent]:
    """The outcomes ``Sender.create`` settles, by key."""
    outcomes = {}
    sender(hostile).create(actions, settle=lambda chunk, sent: outcomes.update(sent))
    return outcomes


def test_batch_subscribe_outcomes_by_address_whatever_its_case_and_spaces(hostile):
    hostile.route("POST", f"/3.0/lists/{AUDIENCE}", Answer(200, {
        "new_members": [{"email_address": "ann@gmail.com"}, {"email_address": " Bo@Gmail.com "}],
        "errors": [
            {"email_address": "CY@gmail.com", "error": "cy@gmail.com is already a list member.",
             "error_code": "ERROR_CONTACT_EXISTS"},
            {"email_address": "di@example.com", "error": FAKE, "error_code": "ERROR_GENERIC"},
            {"email_address": "ed@gmail.com", "error_code": "ERROR_GENERIC"},
            {"email_address": "fay@gmail.com", "error": "fay@gmail.com has signed up to a lot of lists very recently"},
            {"email_address": "hal@gmail.com", "error": "Something new.", "error_code": "ERROR_NOT_YET_DOCUMENTED"},
            {"error": "an error naming no address", "error_code": "ERROR_GENERIC"},
        ],
        "total_created": 2, "error_count": 6}))
    emails = ["Ann@Gmail.com", "bo@gmail.com", "cy@gmail.com", "di@example.com", "ed@gmail.com", "fay@gmail.com",
              "gus@gmail.com", "hal@gmail.com"]
    assert created(hostile, [new(e) for e in emails]) == {
        "ann@gmail.com": Sent(ItemOutcome.CREATED),
        "bo@gmail.com": Sent(ItemOutcome.CREATED),
        "cy@gmail.com": Sent(UNCHANGED, message="already a member (added by an earlier attempt)"),
        "di@example.com": Sent(FAILED, "ERROR_GENERIC", FAKE, hint_for(FAKE)),
        "ed@gmail.com": Sent(FAILED, "ERROR_GENERIC", None, hint_for("")),
        "fay@gmail.com": Sent(FAILED, "ERROR_GENERIC", "fay@gmail.com has signed up to a lot of lists very recently",
                              "Mailchimp is throttling this address; the next run tries again"),
        "gus@gmail.com": Sent(FAILED, "unconfirmed", "Mailchimp did not confirm this member",
                              "the next run checks again"),
        "hal@gmail.com": Sent(FAILED, "ERROR_NOT_YET_DOCUMENTED", "Something new.", hint_for("Something new.")),
    }
    [request] = hostile.seen("POST", f"/3.0/lists/{AUDIENCE}")
    body = json.loads(request.body)
    assert body["update_existing"] is False
    assert body["members"][0] == {"email_address": "Ann@Gmail.com", "status": "pending",
                                  "merge_fields": {"FNAME": "Ann"}, "tags": ["families", "opus1"]}


def test_a_refused_batch_subscribe_fails_its_members_and_is_kept_among_the_failures(hostile):
    hostile.route("POST", f"/3.0/lists/{AUDIENCE}", INVALID)
    send = sender(hostile)
    outcomes = {}
    send.create([new("ann@gmail.com"), new("bo@gmail.com")], settle=lambda chunk, sent: outcomes.update(sent))
    failed = Sent(FAILED, "Invalid Resource", "the request failed: Invalid Resource: Your merge fields were invalid.",
                  "the next run tries again")
    assert outcomes == {"ann@gmail.com": failed, "bo@gmail.com": failed}
    assert send.failures == [f"Invalid Resource: Your merge fields were invalid. (127.0.0.1:"
                             f"{hostile.root_url.rsplit(':', 1)[1]}/3.0/lists/{AUDIENCE})"]


def test_a_rejected_key_stops_the_sync_instead_of_failing_members(hostile):
    hostile.route("POST", f"/3.0/lists/{AUDIENCE}", KEY_INVALID)
    with pytest.raises(SettingsInvalid):
        created(hostile, [new("ann@gmail.com")])
    hostile.route("PATCH", f"/3.0/lists/{AUDIENCE}/members/{md5('old@gmail.com')}", KEY_INVALID)
    with pytest.raises(SettingsInvalid):
        list(sender(hostile).change_emails([moved("new@gmail.com", "old@gmail.com")]))
    hostile.route("POST", "/3.0/batches", KEY_INVALID)
    with pytest.raises(SettingsInvalid):
        list(sender(hostile).apply([change("ann@gmail.com", UPDATED, merge_fields={"FNAME": "Ann"})]))


def test_an_address_change_is_one_patch_of_the_old_member_and_its_outcome(hostile):
    hostile.route("PATCH", f"/3.0/lists/{AUDIENCE}/members/{md5('old@gmail.com')}",
                  Answer(200, {"email_address": "new@gmail.com", "status": "subscribed"}))
    hostile.route("PATCH", f"/3.0/lists/{AUDIENCE}/members/{md5('gone@gmail.com')}",
                  Answer(404, {"title": "Resource Not Found", "status": 404, "detail": "The member is gone."},
                         content_type="application/problem+json"))
    actions = [moved("new@gmail.com", "old@gmail.com"), moved("other@gmail.com", "gone@gmail.com")]
    assert list(sender(hostile).change_emails(actions)) == [
        (actions[0], Sent(EMAIL_CHANGED, message="moved from old@gmail.com")),
        (actions[1], Sent(FAILED, "Resource Not Found",
                          "could not change the address from gone@gmail.com: The member is gone.",
                          hint_for("The member is gone."))),
    ]
    assert json.loads(hostile.seen("PATCH")[0].body) == {"email_address": "new@gmail.com",
                                                         "merge_fields": {"FNAME": "Ann"}}


# -- /batches jobs -------------------------------------------------------------------------------------------------

def batch_answers(hostile, items: list[dict]) -> None:
    """/batches answers: a job finished at once, whose results are ``items``."""
    hostile.route("POST", "/3.0/batches", Answer(200, {"id": "b1", "status": "pending"}))
    hostile.route("GET", "/3.0/batches/b1", Answer(200, {"id": "b1", "status": "finished", "total_operations": 9,
                                                         "response_body_url": hostile.root_url + "/r.tar.gz"}))
    hostile.route("GET", "/r.tar.gz", Answer(200, good(items), content_type="application/x-tar"))


def result(op: int, status: int, response: str = "{}") -> dict:
    return {"status_code": status, "operation_id": str(op), "response": response}


def applied(hostile, actions: list[Action]) -> list[tuple[str, Sent]]:
    return [(a.key, sent) for job in sender(hostile).apply(actions) for a, sent in job]


def test_each_change_of_a_job_gets_the_outcome_of_its_operations(hostile):
    actions = [
        change("fields@gmail.com", UPDATED, merge_fields={"FNAME": "Ann"}, tags_add=frozenset({"opus1"})),  # ops 0, 1
        change("tagged@gmail.com", LEAVER_TAGGED, tags_add=frozenset({"opus1-left"})),  # op 2
        change("archived@gmail.com", ARCHIVED),  # op 3
        change("stuck@gmail.com", ARCHIVED),  # op 4: Mailchimp cannot archive it now
        change("refused@gmail.com", UPDATED, merge_fields={"PHONE": "x"}),  # op 5: 405 on an update is a failure
        change("gone@gmail.com", UPDATED, tags_remove=frozenset({"Program: Tap"})),  # op 6
        change("bad@gmail.com", UPDATED, merge_fields={"FNAME": "B"}),  # op 7: 400, the lowest failure
        change("lost@gmail.com", LEAVER_TAGGED, tags_add=frozenset({"opus1-left"})),  # op 8: no result
    ]
    batch_answers(hostile, [result(0, 200), result(1, 204), result(2, 204), result(3, 204), result(4, 405),
                            result(5, 405, '{"detail": "Method Not Allowed here"}'),
                            result(6, 404, '{"title": "Resource Not Found", "detail": "gone.parent is gone"}'),
                            result(7, 400, '{"detail": "Your merge fields were invalid."}')])
    assert applied(hostile, actions) == [
        ("fields@gmail.com", Sent(UPDATED)),
        ("tagged@gmail.com", Sent(LEAVER_TAGGED)),
        ("archived@gmail.com", Sent(ARCHIVED)),
        ("stuck@gmail.com", Sent(LEFT_ALONE, message="Mailchimp cannot archive it in its current state")),
        ("refused@gmail.com", Sent(FAILED, "http_405", "Method Not Allowed here", hint_for("Method Not Allowed here"))),
        ("gone@gmail.com", Sent(FAILED, "http_404", "gone.parent is gone", hint_for("gone.parent is gone"))),
        ("bad@gmail.com", Sent(FAILED, "http_400", "Your merge fields were invalid.",
                               "check the audience's required fields in Mailchimp (only FNAME, LNAME and PHONE are "
                               "filled by opus1)")),
        ("lost@gmail.com", Sent(FAILED, "no_result", "Mailchimp's batch result did not include this change",
                                "the next run tries again")),
    ]
    operations = json.loads(hostile.seen("POST", "/3.0/batches")[0].body)["operations"]
    assert [(op["operation_id"], op["method"], op["path"].rsplit("/", 1)[-1]) for op in operations][:5] == [
        ("0", "PATCH", md5("fields@gmail.com")), ("1", "POST", "tags"), ("2", "POST", "tags"),
        ("3", "DELETE", md5("archived@gmail.com")), ("4", "DELETE", md5("stuck@gmail.com"))]


def test_a_change_fails_when_any_of_its_operations_fails(hostile):
    batch_answers(hostile, [result(0, 400, '{"detail": "Invalid merge fields"}'), result(1, 200),
                            result(2, 200), result(3, 404, '{"detail": "Tag gone"}')])
    actions = [change("a@gmail.com", UPDATED, merge_fields={"FNAME": "A"}, tags_add=frozenset({"opus1"})),
               change("b@gmail.com", UPDATED, merge_fields={"FNAME": "B"}, tags_add=frozenset({"opus1"}))]
    assert applied(hostile, actions) == [
        ("a@gmail.com", Sent(FAILED, "http_400", "Invalid merge fields", hint_for("Invalid merge fields"))),
        ("b@gmail.com", Sent(FAILED, "http_404", "Tag gone", hint_for("Tag gone")))]


@pytest.mark.parametrize("response, detail", [
    ('{"title": "Forgotten Email Not Subscribed", "detail": ""}', "Forgotten Email Not Subscribed"),
    ('{"title": "Member Exists"}', "Member Exists"),
    ('{"detail": 42}', "Mailchimp refused the change"),
    ('["detail"]', "Mailchimp refused the change"),
    ("<html>Bad gateway</html>", "Mailchimp refused the change"),
    ("", "Mailchimp refused the change"),
    ('{"detail": "' + "[" * 100_000 + '"}', "[" * SHOWN_TEXT_MAX + "…"),
    ('{"detail": "red \\u001b[31m alert"}', "red \\x1b[31m alert"),
])
def test_a_failed_operation_is_explained_by_its_detail_or_title_escaped_and_bounded(hostile, response, detail):
    batch_answers(hostile, [result(0, 422, response)])
    [(_, sent)] = applied(hostile, [change("a@gmail.com", ARCHIVED)])
    assert sent.outcome is FAILED and sent.error_code == "http_422"
    assert sent == Sent(FAILED, "http_422", detail, hint_for(detail))


def test_a_failed_job_fails_the_changes_it_held_and_only_those(hostile):
    hostile.route("POST", "/3.0/batches", INVALID)
    readdressed = change("moved@gmail.com", EMAIL_CHANGED, old_key="old@gmail.com")  # no tags: no operation
    actions = [change("a@gmail.com", UPDATED, merge_fields={"FNAME": "A"}, tags_add=frozenset({"opus1"})),
               readdressed, change("b@gmail.com", ARCHIVED)]
    failed = Sent(FAILED, "Invalid Resource", "the request failed: Invalid Resource: Your merge fields were invalid.",
                  "the next run tries again")
    assert applied(hostile, actions) == [("a@gmail.com", failed), ("moved@gmail.com", Sent(EMAIL_CHANGED)),
                                         ("b@gmail.com", failed)]


def test_a_job_without_operations_sends_nothing(hostile):
    readdressed = change("moved@gmail.com", EMAIL_CHANGED, old_key="old@gmail.com")
    assert applied(hostile, [readdressed]) == [("moved@gmail.com", Sent(EMAIL_CHANGED))]
    assert hostile.requests == []


# -- what a studio owner is told to do ----------------------------------------------------------------------------

@pytest.mark.parametrize("message, hint", [
    (FAKE, "Mailchimp refuses this address; ask the client for their real address and fix it in opus1"),
    ("Please provide a valid email address.",
     "Mailchimp refuses this address; ask the client for their real address and fix it in opus1"),
    ("LOOKS FAKE OR INVALID", "Mailchimp refuses this address; ask the client for their real address and fix it in "
                              "opus1"),
    ("ann@gmail.com was permanently deleted and cannot be re-imported.",
     "this person was permanently deleted in Mailchimp; only they can rejoin, through a Mailchimp signup form"),
    ("ann@gmail.com is in a compliance state due to unsubscribe, bounce, or compliance review and cannot be "
     "subscribed.", "the person unsubscribed or bounced; opus1 never re-subscribes them"),
    ("Your merge fields were invalid.",
     "check the audience's required fields in Mailchimp (only FNAME, LNAME and PHONE are filled by opus1)"),
    ("The resource submitted could not be validated.",
     "check the audience's required fields in Mailchimp (only FNAME, LNAME and PHONE are filled by opus1)"),
    ("ann@gmail.com has signed up to a lot of lists very recently; we're not allowing more signups for now",
     "Mailchimp is throttling this address; the next run tries again"),
    ("Something else went wrong.", "the next run tries again; if it keeps failing, check the contact in Mailchimp"),
    ("", "the next run tries again; if it keeps failing, check the contact in Mailchimp"),
])
def test_each_refusal_comes_with_what_to_do(message, hint):
    assert hint_for(message) == hint
