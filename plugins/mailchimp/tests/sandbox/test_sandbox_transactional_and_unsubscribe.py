"""Transactional ("non-subscribed") members and the unsubscribe transition, against the rows of docs/sandbox.md."""

from __future__ import annotations

import hashlib
import json

import pytest
import requests

from opus1_mailchimp.sandbox.clock import format_time
from opus1_mailchimp.testing import refused

ADMIN = "N/A (Unsubscribed by admin)"


def h(email: str) -> str:
    return hashlib.md5(email.lower().encode()).hexdigest()


def emails(page: dict) -> list[str]:
    return [m["email_address"] for m in page["members"]]


# ---------------------------------------------------------------- transactional


def test_transactional_members_are_created_by_post_put_and_batch_subscribe(sb, mc, aud):
    posted = mc.lists.add_list_member(aud, {"email_address": "ana@posteo.de", "status": "transactional"})
    put = mc.lists.set_list_member(aud, h("ben@posteo.de"), {"email_address": "ben@posteo.de",
                                                             "status_if_new": "transactional"})
    batch = mc.lists.batch_list_members(aud, {"members": [{"email_address": "cleo@posteo.de",
                                                           "status": "transactional"}]})
    for m in (posted, put, batch["new_members"][0]):
        assert (m["status"], m["timestamp_opt"]) == ("transactional", "") and "unsubscribe_reason" not in m
    stats = mc.lists.get_list(aud, include_total_contacts=True)["stats"]
    assert (stats["member_count"], stats["unsubscribe_count"], stats["total_contacts"]) == (0, 0, 3)
    assert mc.root.get_root()["total_subscribers"] == 0


def test_transactional_members_are_listed_and_filtered_by_status(sb, mc, aud):
    sb.seed_member("ana@posteo.de", "transactional")
    sb.seed_member("ben@posteo.de")
    sb.seed_member("cleo@posteo.de", "transactional", merge_fields={"FNAME": "Cleo"})
    assert emails(mc.lists.get_list_members_info(aud)) == ["ana@posteo.de", "ben@posteo.de", "cleo@posteo.de"]
    page = mc.lists.get_list_members_info(aud, status="transactional", count=1, offset=1)
    assert (emails(page), page["total_items"]) == (["cleo@posteo.de"], 2)
    assert mc.lists.get_list_member(aud, "cleo@posteo.de")["merge_fields"]["FNAME"] == "Cleo"


@pytest.mark.parametrize("how", ["PUT", "PATCH", "batch"])
def test_a_transactional_member_is_subscribed_by_status_subscribed(sb, mc, aud, clock, how):
    sb.seed_member("ana@posteo.de", "transactional")
    if how == "PUT":
        mc.lists.set_list_member(aud, h("ana@posteo.de"), {"email_address": "ana@posteo.de",
                                                           "status_if_new": "subscribed", "status": "subscribed"})
    elif how == "PATCH":
        mc.lists.update_list_member(aud, h("ana@posteo.de"), {"status": "subscribed"})
    else:
        answer = mc.lists.batch_list_members(aud, {"update_existing": True, "members": [
            {"email_address": "ana@posteo.de", "status": "subscribed"}]})
        assert answer["total_updated"] == 1
    m = sb.member("ana@posteo.de")
    assert m["status"] == "subscribed" and m["timestamp_opt"] == m["last_changed"] != ""
    assert mc.lists.get_list(aud)["stats"]["member_count"] == 1


def test_status_if_new_alone_leaves_a_transactional_member_transactional(sb, mc, aud):
    sb.seed_member("ana@posteo.de", "transactional")
    m = mc.lists.set_list_member(aud, h("ana@posteo.de"), {"email_address": "ana@posteo.de",
                                                           "status_if_new": "subscribed", "merge_fields": {"FNAME": "A"}})
    assert (m["status"], m["merge_fields"]["FNAME"]) == ("transactional", "A")


def test_a_subscribed_member_can_be_made_transactional(sb, mc, aud):
    sb.seed_member("ana@posteo.de")
    m = mc.lists.update_list_member(aud, h("ana@posteo.de"), {"status": "transactional"})
    assert m["status"] == "transactional" and mc.lists.get_list(aud)["stats"]["member_count"] == 0


def test_a_compliance_state_survives_a_detour_through_transactional(sb, mc, aud):
    sb.seed_member("ana@posteo.de", "unsubscribed", unsubscribed_by="contact")
    assert mc.lists.update_list_member(aud, h("ana@posteo.de"), {"status": "transactional"})["status"] == "transactional"
    code, problem = refused(mc.lists.update_list_member, aud, h("ana@posteo.de"), {"status": "subscribed"})
    assert (code, problem["title"]) == (400, "Member In Compliance State")


def test_transactional_members_are_seeded_over_the_control_surface(sb):
    r = requests.post(f"{sb.root_url}/_sandbox/members", timeout=5,
                      data=json.dumps({"email": "ana@posteo.de", "status": "transactional"}))
    assert r.json()["members"][0]["status"] == "transactional" and sb.member("ana@posteo.de")["status"] == "transactional"


# ---------------------------------------------------------------- unsubscribe


@pytest.mark.parametrize("how", ["PATCH", "PUT", "batch"])
def test_unsubscribing_a_subscribed_member_sets_the_reason_and_last_changed(sb, mc, aud, clock, how):
    sb.seed_member("ana@posteo.de")
    sb.seed_member("ben@posteo.de")
    clock.advance(3600)
    if how == "PATCH":
        m = mc.lists.update_list_member(aud, h("ana@posteo.de"), {"status": "unsubscribed"})
    elif how == "PUT":
        m = mc.lists.set_list_member(aud, h("ana@posteo.de"), {"email_address": "ana@posteo.de",
                                                               "status_if_new": "subscribed", "status": "unsubscribed"})
    else:
        m = mc.lists.batch_list_members(aud, {"update_existing": True, "members": [
            {"email_address": "ana@posteo.de", "status": "unsubscribed"}]})["updated_members"][0]
    now = format_time(clock.now)
    assert (m["status"], m["unsubscribe_reason"], m["last_changed"]) == ("unsubscribed", ADMIN, now)
    assert list(m)[list(m).index("status") + 1] == "unsubscribe_reason"  # where recorded answers have it
    assert sb.member("ben@posteo.de")["status"] == "subscribed"  # nobody else
    stats = mc.lists.get_list(aud)["stats"]
    assert (stats["member_count"], stats["unsubscribe_count"], stats["last_unsub_date"]) == (1, 1, now)
    changed = mc.lists.get_list_members_info(aud, since_last_changed=now)
    assert emails(changed) == ["ana@posteo.de"] and changed["members"][0]["unsubscribe_reason"] == ADMIN
    again = mc.lists.update_list_member(aud, h("ana@posteo.de"), {"status": "subscribed"})  # an API unsubscribe
    assert again["status"] == "subscribed" and "unsubscribe_reason" not in again


def test_unsubscribe_reason_shows_on_unsubscribed_members_only(sb, mc, aud):
    sb.seed_member("self@posteo.de", "unsubscribed", unsubscribed_by="contact")
    sb.seed_member("why@posteo.de", "unsubscribed", unsubscribe_reason="I never signed up for this mailing list")
    sb.seed_member("admin@posteo.de", "unsubscribed", unsubscribed_by="admin")
    for status in ("subscribed", "pending", "cleaned", "transactional", "archived"):
        sb.seed_member(f"{status}@posteo.de", status)
    reasons = {m["email_address"]: m.get("unsubscribe_reason") for m in sb.members()}
    assert reasons == {"self@posteo.de": "Unspecified", "why@posteo.de": "I never signed up for this mailing list",
                       "admin@posteo.de": ADMIN, "subscribed@posteo.de": None, "pending@posteo.de": None,
                       "cleaned@posteo.de": None, "transactional@posteo.de": None, "archived@posteo.de": None}
    picked = mc.lists.get_list_members_info(aud, status="unsubscribed", fields=["members.unsubscribe_reason"])
    assert picked == {"members": [{"unsubscribe_reason": r} for r in (
        "Unspecified", "I never signed up for this mailing list", ADMIN)]}


def test_a_self_unsubscribed_member_keeps_its_reason_when_the_api_touches_it(sb, mc, aud):
    sb.seed_member("ana@posteo.de", "unsubscribed", unsubscribe_reason="The emails are inappropriate")
    m = mc.lists.update_list_member(aud, h("ana@posteo.de"), {"merge_fields": {"FNAME": "Ana"}})
    assert (m["status"], m["unsubscribe_reason"]) == ("unsubscribed", "The emails are inappropriate")
    assert refused(mc.lists.update_list_member, aud, h("ana@posteo.de"), {"status": "subscribed"})[0] == 400
